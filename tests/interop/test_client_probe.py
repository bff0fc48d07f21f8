"""`postern probe` against a real posternd and against Debian's
python3-aiosmtpd (plain and with STARTTLS), a scripted server that fails
the checks, and the bad-input cases.

Run: POSTERND=build/client/posternd POSTERN=build/client/postern \\
     /usr/bin/python3 -m pytest tests/interop/test_client_probe.py"""

import json
import ssl
import subprocess

import pytest

from conftest import FakeServer, free_port
from test_client_send import ScriptServer, cert, out, postern  # noqa: F401 (fixture)


def probe(*args, timeout=60):
    return postern("probe", *args, timeout=timeout)


def checks(report):
    return {c["check"]: c for c in report["checks"]}


def test_probe_posternd_text(server):
    p = probe("127.0.0.1:%d" % server.port)
    t = out(p)
    assert p.returncode == 0, t
    assert "banner: 220 mx.test ESMTP postern" in t
    assert "PIPELINING" in t and "(RFC 2920)" in t
    assert "PASS  500 to an unknown command" in t
    assert "PASS  500 to a 513-octet command line" in t
    assert "PASS  bare-LF end of data" in t
    assert "SKIP  STARTTLS with a pipelined NOOP" in t
    # the bare-LF check delivered one message to postmaster, whole
    msgs = server.messages("postmaster")
    assert len(msgs) == 1 and b"XPOSTERNPROBE" in msgs[0].body


def test_probe_posternd_json(server):
    p = probe("127.0.0.1:%d" % server.port, "--json")
    assert p.returncode == 0, out(p)
    r = json.loads(p.stdout)
    assert r["banner"].startswith("220 ")
    assert r["size"] > 0
    c = checks(r)
    assert c["PIPELINING honoured (three commands in one write, three replies)"]["result"] == "PASS"
    assert c["500 to a 513-octet command line"]["seen"].startswith("500")


def test_probe_posternd_tls(posternd_bin, start_server, cert):
    h = subprocess.run([posternd_bin, "--help"], capture_output=True).stdout.decode()
    assert "--tls-cert" in h, "posternd --help does not mention --tls-cert"
    srv = start_server(args=["--tls-cert", cert[0], "--tls-key", cert[1]])
    p = probe("127.0.0.1:%d" % srv.port, "--cafile", cert[0], "--json")
    assert p.returncode == 0, out(p)
    r = json.loads(p.stdout)
    assert r["tls"]["version"].startswith("TLSv1.")
    c = checks(r)
    assert c["STARTTLS answered with 220, and nothing before the TLS handshake"]["result"] == "PASS"
    assert c["STARTTLS not hidden: it works only when EHLO offers it"]["result"] == "PASS"
    assert any(k["keyword"] == "STARTTLS" for k in r["capabilities_before_starttls"])
    assert not any(k["keyword"] == "STARTTLS" for k in r["capabilities"])
    p = probe("127.0.0.1:%d" % srv.port, "--cafile", cert[0])
    t = out(p)
    assert "EHLO capabilities before STARTTLS:" in t and "EHLO capabilities after STARTTLS:" in t
    assert checks(r)["STARTTLS with a pipelined NOOP: NOOP not answered after TLS"]["result"] == "PASS"


import aiosmtpd.controller as aiosmtpd  # noqa: E402  python3-aiosmtpd, scripts/deps


class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def test_probe_aiosmtpd_starttls(cert):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert)
    port = free_port()
    c = aiosmtpd.Controller(Sink(), hostname="127.0.0.1", port=port, tls_context=ctx)
    c.start()
    try:
        p = probe("127.0.0.1:%d" % port, "--cafile", cert[0], "--json")
        r = json.loads(p.stdout)
        assert r["starttls"] is True
        assert r["tls"]["version"].startswith("TLSv1."), r
        assert "CN" in r["tls"]["subject"] and r["tls"]["expires"]
        assert r["tls"]["verify"] == "ok"
        c_ = checks(r)
        assert c_["500 to an unknown command"]["result"] == "PASS", r
        assert c_["STARTTLS with a pipelined NOOP: NOOP not answered after TLS"]["result"] in ("PASS", "FAIL")
        # without --cafile the self-signed certificate fails verification
        p = probe("127.0.0.1:%d" % port)
        assert p.returncode == 69, out(p)
        p = probe("127.0.0.1:%d" % port, "--insecure")
        assert "verification: self-signed certificate" in out(p), out(p)
    finally:
        c.stop()


class Smuggler(FakeServer):
    """A server that ends DATA at <LF>.<LF> and ignores length limits: the
    probe must report FAIL for both."""

    def serve(self, c):
        f = c.makefile("rb")
        c.sendall(b"220 smuggler\r\n")
        data = False
        try:
            for line in f:
                if data:
                    if line in (b".\n", b".\r\n"):
                        data = False
                        c.sendall(b"250 queued\r\n")
                    continue
                v = line.strip().upper()
                if v.startswith(b"EHLO"):
                    c.sendall(b"250-smuggler\r\n250 PIPELINING\r\n")
                elif v == b"DATA":
                    data = True
                    c.sendall(b"354 go\r\n")
                elif v == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    break
                else:
                    c.sendall(b"250 ok\r\n")
        finally:
            c.close()


def test_probe_reports_failures():
    s = Smuggler()
    try:
        p = probe("127.0.0.1:%d" % s.port, "--json", "--timeout", "5")
    finally:
        s.close()
    assert p.returncode == 1, out(p)
    c = checks(json.loads(p.stdout))
    assert c["500 to an unknown command"]["result"] == "FAIL"
    # RFC 5321 4.5.3.1 lets a server take longer lines: information, not a failure
    assert c["500 to a 513-octet command line"]["result"] == "INFO"
    assert "RFC 5321 4.5.3.1 allows" in c["500 to a 513-octet command line"]["seen"]
    assert c["bare-LF end of data (<LF>.<LF>) not accepted"]["result"] == "FAIL"


@pytest.mark.parametrize("script,code", [
    (b"", 69),
    (b"HTTP/1.1 400 Bad Request\r\n", 76),
    (b"220 " + b"y" * 900 + b"\r\n", 76),
])
def test_probe_bad_servers(script, code):
    s = ScriptServer(script)
    try:
        p = probe("127.0.0.1:%d" % s.port, "--timeout", "2", timeout=20)
    finally:
        s.close()
    assert p.returncode == code, out(p)
    assert "postern probe: " in out(p)


def test_probe_refused_and_usage():
    for extra in ((), ("--json",)):
        p = probe("127.0.0.1:%d" % free_port(), *extra)
        assert p.returncode == 69 and "refused" in out(p), out(p)
        # one clear error, no partial report
        assert p.stdout == b""
        assert p.stderr.decode().count("\n") == 1, out(p)
    assert probe().returncode == 64
    assert probe("h:0").returncode == 64
    assert probe("a", "b").returncode == 64


class StarttlsTrick(FakeServer):
    """A server with one STARTTLS flaw: "refuse" (offered, then 454), "inject"
    (220 and a plaintext reply in the same packet), "hidden" (not offered,
    but 220), or "empty" (an empty EHLO keyword line, no STARTTLS)."""

    def __init__(self, mode):
        self.mode = mode
        super().__init__()

    def serve(self, c):
        f = c.makefile("rb")
        try:
            c.sendall(b"220 trick ESMTP\r\n")
            for line in f:
                v = line.strip().upper()
                if v.startswith(b"EHLO"):
                    offer = b"" if self.mode in ("hidden", "empty") else b"250-STARTTLS\r\n"
                    empty = b"250-\r\n" if self.mode == "empty" else b""
                    c.sendall(b"250-trick\r\n" + empty + offer + b"250 PIPELINING\r\n")
                elif v == b"STARTTLS":
                    if self.mode == "refuse":
                        c.sendall(b"454 4.7.0 TLS not available\r\n")
                    elif self.mode == "inject":
                        c.sendall(b"220 go ahead\r\n250 injected\r\n")
                    elif self.mode == "hidden":
                        c.sendall(b"220 go ahead\r\n")
                    else:
                        c.sendall(b"502 5.5.1 no\r\n")
                elif v == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    return
                elif v.startswith(b"XPOSTERNPROBE") or v.startswith(b"NOOP X"):
                    c.sendall(b"500 5.5.2 what\r\n")
                else:
                    c.sendall(b"250 ok\r\n")
        except OSError:
            pass
        finally:
            c.close()


@pytest.mark.parametrize("mode,check,result,seen", [
    ("refuse", "STARTTLS answered with 220, and nothing before the TLS handshake", "FAIL", "454"),
    ("inject", "STARTTLS answered with 220, and nothing before the TLS handshake", "FAIL", "response injection"),
    ("hidden", "STARTTLS not hidden: it works only when EHLO offers it", "FAIL", "does not offer it"),
    ("empty", "STARTTLS not hidden: it works only when EHLO offers it", "INFO", "in the clear"),
])
def test_probe_starttls_safety(mode, check, result, seen):
    s = StarttlsTrick(mode)
    try:
        p = probe("127.0.0.1:%d" % s.port, "--json", "--timeout", "3", timeout=30)
    finally:
        s.close()
    r = json.loads(p.stdout)
    c = checks(r)
    assert c[check]["result"] == result, r
    assert seen in c[check]["seen"], r
    assert (p.returncode != 0) == (result == "FAIL"), out(p)
    # an empty keyword line is no capability
    assert all(k["keyword"] for k in r["capabilities"]), r
    assert [k["keyword"] for k in r["capabilities"]][-1] == "PIPELINING"
