"""`postern send` against a real posternd (every AUTH mechanism it has) and
against Debian's python3-aiosmtpd (plain, STARTTLS with a self-signed
certificate, implicit TLS), plus the bad-input cases: refused connection,
a silent server, garbage and over-long replies, usage errors.

Run: POSTERND=build/client/posternd POSTERN=build/client/postern \\
     /usr/bin/python3 -m pytest tests/interop/test_client_send.py"""

import email
import email.policy
import os
import ssl
import subprocess

import pytest

from conftest import FakeServer, free_port

POSTERN = os.environ.get(
    "POSTERN",
    os.path.join(os.path.dirname(__file__), "..", "..", "build", "test", "postern"),
)
TOP = os.path.join(os.path.dirname(__file__), "..", "..")
USER = "alice"
PASSWORD = "correct horse battery"
EX_USAGE, EX_PERM, EX_UNAVAILABLE, EX_TEMPFAIL, EX_PROTOCOL = 64, 65, 69, 75, 76


def postern(*args, password=None, stdin=None, timeout=60):
    if not os.access(POSTERN, os.X_OK):
        pytest.fail("postern is not built at %s (set POSTERN)" % POSTERN)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANG", "LC_"))}
    env.pop("POSTERN_PASSWORD", None)
    env["LC_ALL"] = "C"
    if password is not None:
        env["POSTERN_PASSWORD"] = password
    return subprocess.run([POSTERN, *args], env=env, input=stdin, capture_output=True,
                          timeout=timeout)


def out(p):
    return p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


# ---------------------------------------------------------------- posternd

@pytest.fixture
def users_file(tmp_path):
    path = str(tmp_path / "users")
    p = postern("passwd", "add", USER, "--file", path, "--stdin", "--cram-md5",
                stdin=(PASSWORD + "\n").encode())
    assert p.returncode == 0, out(p)
    return path


@pytest.fixture
def auth_posternd(start_server, users_file):
    return start_server(config={"users": users_file, "cram_md5": "yes", "auth_delay_max": "0",
                                "auth_mechanisms": "SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN"},
                        args=["--auth-plaintext"])


def send_args(srv, *extra, to="b@localhost"):
    return ["send", "--server", "127.0.0.1:%d" % srv.port, "--from", "a@example.org",
            "--to", to, *extra]


def test_send_plain_message_is_stored(server):
    p = postern(*send_args(server, "--subject", "hello", "--body", "line one\n.dot line\n"))
    assert p.returncode == 0, out(p)
    assert "accepted by 127.0.0.1 for 1 of 1 recipients: 250 2.0.0" in out(p)
    m = server.only_message("b@localhost")
    assert b"Subject: hello\r\n" in m.body
    assert b"\r\n.dot line\r\n" in m.body  # dot-stuffed on the wire, unstuffed on disk
    assert b"Message-ID: <" in m.body and b"Date: " in m.body


def test_send_file_bare_lf_becomes_crlf_and_bdat(server, tmp_path):
    f = tmp_path / "msg"
    f.write_bytes(b"Subject: file\n\nbare lf\n.\nend")
    p = postern(*send_args(server, "--bdat", "-v", str(f)))
    assert p.returncode == 0, out(p)
    assert "C: BDAT" in out(p)
    m = server.only_message("b@localhost")
    assert m.body.endswith(b"Subject: file\r\n\r\nbare lf\r\n.\r\nend\r\n")


def test_send_stdin_and_pipelining(server):
    p = postern(*send_args(server, "-v", "-"), stdin=b"Subject: stdin\r\n\r\nbody\r\n")
    assert p.returncode == 0, out(p)
    t = out(p)
    # MAIL, RCPT and DATA written before the first reply is read (RFC 2920)
    i = t.index("C: MAIL FROM")
    assert t[i:].split("\n")[1].startswith("C: RCPT TO:<b@localhost>")
    assert t[i:].split("\n")[2] == "C: DATA"
    server.only_message("b@localhost")


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN", None])
def test_send_auth_every_mechanism(auth_posternd, mech):
    extra = ["--user", USER, "-v"] + (["--auth", mech] if mech else [])
    p = postern(*send_args(auth_posternd, *extra), password=PASSWORD)
    assert p.returncode == 0, out(p)
    t = out(p)
    assert "S: 235 2.7.0" in t
    assert PASSWORD not in t
    if mech is None:  # the strongest offered that needs no TLS
        assert "C: AUTH SCRAM-SHA-256 " in t
    assert auth_posternd.only_message("b@localhost").with_ == "ESMTPA"


def test_login_transcript_decodes_prompts_and_masks(auth_posternd):
    p = postern(*send_args(auth_posternd, "--user", USER, "--auth", "LOGIN", "-v"), password=PASSWORD)
    t = out(p)
    assert p.returncode == 0, t
    assert 'S: 334 VXNlcm5hbWU6   \u2190 "Username:"' in t
    assert 'S: 334 UGFzc3dvcmQ6   \u2190 "Password:"' in t
    assert 'C: YWxpY2U=   \u2190 "alice"' in t
    assert 'C: ********   \u2190 "********"' in t
    import base64
    assert base64.b64encode(PASSWORD.encode()).decode() not in t


def test_wrong_password_explained(auth_posternd):
    p = postern(*send_args(auth_posternd, "--user", USER, "--auth", "PLAIN"), password="nope")
    assert p.returncode == EX_PERM, out(p)
    assert "failed at AUTH: 535 5.7.8" in out(p)
    assert "credentials rejected; check them, and use a mechanism the server offers " \
           "(it offered: SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN)" in out(p)


def test_plain_refused_in_clear_unless_forced(start_server, users_file):
    srv = start_server(config={"users": users_file, "auth_delay_max": "0",
                               "auth_mechanisms": "PLAIN LOGIN"}, args=["--auth-plaintext"])
    p = postern(*send_args(srv, "--user", USER), password=PASSWORD)
    assert p.returncode == EX_PERM, out(p)
    assert "would send your password in the clear" in out(p)
    p = postern(*send_args(srv, "--user", USER, "--auth", "PLAIN"), password=PASSWORD)
    assert p.returncode == 0, out(p)


def test_538_says_add_starttls(start_server, users_file):
    srv = start_server(config={"users": users_file, "auth_delay_max": "0"})
    p = postern(*send_args(srv, "--user", USER, "--auth", "PLAIN"), password=PASSWORD)
    assert p.returncode == EX_PERM, out(p)
    assert "the server wants TLS first: add --starttls" in out(p)


def test_password_file(auth_posternd, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    p = postern(*send_args(auth_posternd, "--user", USER, "--password-file", str(pw)))
    assert p.returncode == 0, out(p)
    p = postern(*send_args(auth_posternd, "--user", USER, "--password-file", str(tmp_path / "none")))
    assert p.returncode == 66, out(p)


def test_relay_denied_is_5xx(server):
    p = postern(*send_args(server, to="x@elsewhere.example"))
    assert p.returncode == EX_PERM, out(p)
    assert "relay access denied" in out(p)


def test_starttls_not_offered(server):
    p = postern(*send_args(server, "--starttls"))
    assert p.returncode == EX_UNAVAILABLE, out(p)
    assert "does not offer STARTTLS" in out(p)


def posternd_has_tls(posternd_bin):
    h = subprocess.run([posternd_bin, "--help"], capture_output=True).stdout.decode()
    return "--tls-cert" in h


@pytest.fixture
def cert(tmp_path):
    d = tmp_path / "tls"
    subprocess.run([os.path.join(TOP, "scripts", "make-cert"), str(d)], check=True)
    return str(d / "cert.pem"), str(d / "key.pem")


def test_posternd_starttls_and_scram_plus(posternd_bin, start_server, users_file, cert):
    assert posternd_has_tls(posternd_bin), "posternd --help does not mention --tls-cert"
    srv = start_server(config={"users": users_file, "auth_delay_max": "0"},
                       args=["--tls-cert", cert[0], "--tls-key", cert[1]])
    p = postern(*send_args(srv, "--starttls", "--cafile", cert[0], "--user", USER, "-v"),
                password=PASSWORD)
    assert p.returncode == 0, out(p)
    assert "-- TLS: TLSv1." in out(p)
    p = postern(*send_args(srv, "--starttls", "--user", USER), password=PASSWORD)
    assert p.returncode == EX_UNAVAILABLE, out(p)  # self-signed, no --cafile
    assert "certificate" in out(p)


# ---------------------------------------------------------------- aiosmtpd

import aiosmtpd.controller as aiosmtpd  # noqa: E402  python3-aiosmtpd, scripts/deps


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK stored"


@pytest.fixture
def aio(cert):
    started = []

    def start(tls=None, **kw):
        handler = Sink()
        port = free_port()
        ctx = None
        if tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*cert)
        if tls == "implicit":
            c = aiosmtpd.Controller(handler, hostname="127.0.0.1", port=port, ssl_context=ctx, **kw)
        elif tls == "starttls":
            c = aiosmtpd.Controller(handler, hostname="127.0.0.1", port=port, tls_context=ctx,
                                    require_starttls=True, **kw)
        else:
            c = aiosmtpd.Controller(handler, hostname="127.0.0.1", port=port, **kw)
        c.start()
        started.append(c)
        return c, handler, port

    yield start
    for c in started:
        c.stop()


def test_aiosmtpd_plain(aio):
    _, h, port = aio()
    p = postern("send", "--server", "127.0.0.1:%d" % port, "--from", "a@example.org",
                "--to", "b@example.org", "--to", "c@example.org", "--subject", "aio")
    assert p.returncode == 0, out(p)
    assert h.messages[0].rcpt_tos == ["b@example.org", "c@example.org"]


def test_aiosmtpd_starttls(aio, cert):
    _, h, port = aio(tls="starttls")
    p = postern("send", "--server", "127.0.0.1:%d" % port, "--starttls", "--cafile", cert[0],
                "--from", "a@example.org", "--to", "b@example.org", "-v")
    assert p.returncode == 0, out(p)
    t = out(p)
    assert "S: 220 Ready to start TLS" in t and t.count("C: EHLO") == 2
    assert len(h.messages) == 1
    # without trust in the self-signed certificate: a TLS failure, exit 69
    p = postern("send", "--server", "127.0.0.1:%d" % port, "--starttls",
                "--from", "a@example.org", "--to", "b@example.org")
    assert p.returncode == EX_UNAVAILABLE, out(p)
    assert "certificate does not verify" in out(p)
    p = postern("send", "--server", "127.0.0.1:%d" % port, "--starttls", "--insecure",
                "--from", "a@example.org", "--to", "b@example.org")
    assert p.returncode == 0, out(p)


def test_aiosmtpd_implicit_tls(aio, cert):
    _, h, port = aio(tls="implicit")
    p = postern("send", "--server", "127.0.0.1:%d" % port, "--tls", "--cafile", cert[0],
                "--from", "a@example.org", "--to", "b@example.org")
    assert p.returncode == 0, out(p)
    assert len(h.messages) == 1


# ---------------------------------------------------------------- bad input

class ScriptServer(FakeServer):
    """Answers each connection with fixed bytes, then keeps it open (silent)
    until closed."""

    def __init__(self, script):
        self.script = script
        super().__init__()

    def serve(self, c):
        try:
            c.sendall(self.script)
        except OSError:
            pass


@pytest.mark.parametrize("script,code,text", [
    (b"", EX_UNAVAILABLE, "sent nothing for 2 s"),
    (b"SSH-2.0-OpenSSH_9.2\r\n", EX_PROTOCOL, "not an SMTP reply"),
    (b"220 " + b"x" * 2000 + b"\r\n", EX_PROTOCOL, "longer than 512 octets"),
    (b"220-x\r\n" * 150, EX_PROTOCOL, "more than 100 lines"),
    (b"421 4.3.2 go away\r\n", EX_TEMPFAIL, "421 4.3.2"),
    (b"554 5.7.1 no\r\n", EX_PERM, "554 5.7.1"),
])
def test_bad_servers(script, code, text):
    s = ScriptServer(script)
    try:
        p = postern("send", "--server", "127.0.0.1:%d" % s.port, "--timeout", "2",
                    "--from", "a@example.org", "--to", "b@example.org", timeout=20)
    finally:
        s.close()
    assert p.returncode == code, out(p)
    assert text in out(p)


def test_refused_and_unresolvable():
    p = postern("send", "--server", "127.0.0.1:%d" % free_port(), "--from", "a@example.org",
                "--to", "b@example.org")
    assert p.returncode == EX_UNAVAILABLE and "refused" in out(p), out(p)
    p = postern("send", "--server", "no-such-host.invalid", "--from", "a@example.org",
                "--to", "b@example.org")
    assert p.returncode == EX_UNAVAILABLE and "cannot resolve" in out(p), out(p)


@pytest.mark.parametrize("args", [
    [],
    ["--server", "h", "--from", "a@b.c"],
    ["--server", "h:99999", "--from", "a@b.c", "--to", "d@e.f"],
    ["--server", "h", "--from", "a@b.c", "--to", "d@e.f", "--starttls", "--tls"],
    ["--server", "h", "--from", "a@b.c", "--to", "not an address"],
    ["--server", "h", "--from", "a@b.c", "--to", "d@e.f", "--auth", "NTLM", "--user", "u"],
    ["--server", "h", "--from", "a@b.c", "--to", "d@e.f", "--timeout", "0"],
    ["--server", "h", "--from", "a@b.c", "--to", "d@e.f", "--quit-after", "data"],
    ["--server", "h", "--from", "a@b.c", "--to", "d@e.f", "--tls-version", "1.1"],
    ["--server", "h", "--from", "a@b.c", "--to", "d@e.f", "--tls-optional", "--tls"],
    ["--server", "h", "--from", "a@b.c", "--to", "d@e.f", "--header", "no colon"],
    ["--server", "h", "--from", "a@b.c", "--to", "d@e.f", "--header", "Bad Name: x"],
    ["--server", "h", "--from", "a@b.c", "--to", "d@e.f", "--data", "f", "--attach", "g"],
    ["--server", "h", "--from", "a@b.c", "--to", "d@e.f", "--body", "x", "--body-file", "f"],
    ["--server", "h", "--from", "a@b.c", "--to", "d@e.f", "--key", "k"],
    ["--server", "h", "--from", "a@b.c", "--to", "d@e.f", "--show-data"],
    ["--bogus"],
])
def test_usage_errors(args):
    p = postern("send", *args)
    assert p.returncode == EX_USAGE, out(p)


def test_help_lists_exit_codes():
    p = postern("send", "--help")
    assert p.returncode == 0
    for code in ("64", "65", "69", "75", "76"):
        assert code in out(p)


def test_thai_messages(server):
    p = postern("send", "--lang", "th", "--server", "127.0.0.1:%d" % server.port,
                "--from", "a@example.org", "--to", "x@elsewhere.example")
    assert p.returncode == EX_PERM, out(p)
    assert "ไม่อนุญาตให้ส่งต่อ" in out(p)


# ---------------------------------------------------------------- the options swaks users reach for

def parsed(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_attach_and_header_mime(server, tmp_path):
    """--attach builds multipart/mixed with base64 parts (GMime); Python's
    email parser reads it back; --header adds and replaces fields."""
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 40)
    txt = tmp_path / "notes.txt"
    txt.write_text("first line\nsecond \u0e44\u0e17\u0e22 line\n")
    p = postern(*send_args(server, "--subject", "original", "--body", "see attached\n.dot\n",
                           "--attach", str(pdf), "--attach", str(txt),
                           "--header", "X-Mailer-Test: yes", "--header", "Subject: replaced"))
    assert p.returncode == 0, out(p)
    raw = server.only_message("b@localhost").body
    m = parsed(raw)
    assert m["Subject"] == "replaced" and m["X-Mailer-Test"] == "yes"
    assert m["From"] == "a@example.org" and m["To"] == "b@localhost" and m["Message-ID"]
    assert m.get_content_type() == "multipart/mixed"
    parts = list(m.iter_parts())
    assert [x.get_content_type() for x in parts] == ["text/plain", "application/pdf", "text/plain"]
    assert parts[0].get_content().replace("\r\n", "\n") == "see attached\n.dot\n"
    assert parts[1].get_filename() == "report.pdf"
    assert parts[1]["Content-Transfer-Encoding"] == "base64"
    assert parts[1].get_content() == pdf.read_bytes()
    assert parts[2].get_filename() == "notes.txt"
    assert parts[2].get_content().replace("\r\n", "\n") == txt.read_text()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_attach_missing_file(server, tmp_path):
    p = postern(*send_args(server, "--attach", str(tmp_path / "nope")))
    assert p.returncode == 66, out(p)
    assert "nope" in out(p)


def test_body_file_and_data(aio, tmp_path):
    _, h, port = aio()
    body = tmp_path / "body"
    body.write_text("from a file\n")
    p = postern("send", "--server", "127.0.0.1:%d" % port, "--from", "a@example.org",
                "--to", "b@example.org", "--subject", "bf", "--body-file", str(body))
    assert p.returncode == 0, out(p)
    m = parsed(h.messages[0].original_content)
    assert m["Subject"] == "bf" and m.get_content().replace("\r\n", "\n") == "from a file\n"
    ready = tmp_path / "ready.eml"
    ready.write_bytes(b"Subject: as is\r\nX-Kept: 1\r\n\r\nbody\r\n")
    p = postern("send", "--server", "127.0.0.1:%d" % port, "--from", "a@example.org",
                "--to", "b@example.org", "--data", str(ready))
    assert p.returncode == 0, out(p)
    assert h.messages[1].original_content.replace(b"\r\n", b"\n") == b"Subject: as is\nX-Kept: 1\n\nbody\n"
    p = postern("send", "--server", "127.0.0.1:%d" % port, "--from", "a@example.org",
                "--to", "b@example.org", "--data", "-", stdin=b"Subject: stdin\n\nx\n")
    assert p.returncode == 0, out(p)
    assert b"Subject: stdin" in h.messages[2].original_content


@pytest.mark.parametrize("stage,last", [
    ("banner", None), ("ehlo", "C: EHLO"), ("tls", "C: EHLO"), ("auth", "C: EHLO"),
    ("mail", "C: MAIL FROM:<a@example.org>"), ("rcpt", "C: RCPT TO:<b@localhost>"),
])
def test_quit_after(server, stage, last):
    p = postern(*send_args(server, "-v", "--quit-after", stage))
    assert p.returncode == 0, out(p)
    t = out(p)
    assert "stopped after %s, as --quit-after asked" % stage in t
    cmds = [line for line in t.split("\n") if line.startswith("C: ")]
    assert cmds[-1] == "C: QUIT"
    if last is None:
        assert cmds == ["C: QUIT"]
    else:
        assert cmds[-2].startswith(last), cmds
    assert "C: DATA" not in t
    assert server.messages("b@localhost") == []


def test_quit_after_connect(server):
    p = postern(*send_args(server, "--quit-after", "connect", "-v"))
    assert p.returncode == 0, out(p)
    assert "S: 220" not in out(p) and "stopped after connect" in out(p)


def test_tls_optional(aio, cert):
    _, h, port = aio()
    p = postern("send", "--server", "127.0.0.1:%d" % port, "--tls-optional", "-v",
                "--from", "a@example.org", "--to", "b@example.org")
    assert p.returncode == 0, out(p)
    assert "C: STARTTLS" not in out(p) and len(h.messages) == 1
    _, h, port = aio(tls="starttls")
    p = postern("send", "--server", "127.0.0.1:%d" % port, "--tls-optional", "--cafile", cert[0],
                "-v", "--from", "a@example.org", "--to", "b@example.org")
    assert p.returncode == 0, out(p)
    t = out(p)
    assert "C: STARTTLS" in t and "TLS: TLSv1." in t
    # the EHLO after STARTTLS is labelled as such
    assert "EHLO again after STARTTLS" in t
    assert len(h.messages) == 1


def test_show_data(aio):
    _, h, port = aio()
    p = postern("send", "--server", "127.0.0.1:%d" % port, "-v", "--show-data", "--subject", "shown",
                "--body", "the body line\n", "--from", "a@example.org", "--to", "b@example.org")
    assert p.returncode == 0, out(p)
    assert "C: Subject: shown" in out(p) and "C: the body line" in out(p)
    p = postern("send", "--server", "127.0.0.1:%d" % port, "-v", "--subject", "hidden",
                "--from", "a@example.org", "--to", "b@example.org")
    assert "C: Subject: hidden" not in out(p)


def test_wrong_tls_mode_hints(aio, cert):
    """--tls on a STARTTLS port, --starttls on an implicit-TLS port: say
    which mode to try (not just "wrong version number", or silence)."""
    _, h, port = aio(tls="starttls")
    p = postern("send", "--server", "127.0.0.1:%d" % port, "--tls", "--cafile", cert[0],
                "--from", "a@example.org", "--to", "b@example.org")
    assert p.returncode == EX_UNAVAILABLE, out(p)
    assert "try --starttls instead of --tls" in out(p)
    _, h, port = aio(tls="implicit")
    p = postern("send", "--server", "127.0.0.1:%d" % port, "--starttls", "--timeout", "2",
                "--from", "a@example.org", "--to", "b@example.org", timeout=30)
    assert p.returncode == EX_UNAVAILABLE, out(p)
    assert "try --tls" in out(p)


def tls_aio(cert, client_ca=None, seen=None):
    """aiosmtpd with implicit TLS, recording SNI, optionally wanting a client
    certificate that client_ca signed."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    if seen is not None:
        ctx.sni_callback = lambda sock, name, c: seen.append(name)
    handler = Sink()
    port = free_port()
    c = aiosmtpd.Controller(handler, hostname="127.0.0.1", port=port, ssl_context=ctx)
    c.start()
    return c, handler, port


def test_sni_and_tls_version(cert):
    seen = []
    c, h, port = tls_aio(cert, seen=seen)
    try:
        p = postern("send", "--server", "127.0.0.1:%d" % port, "--tls", "--insecure", "-v",
                    "--sni", "mail.example.net", "--tls-version", "1.2",
                    "--from", "a@example.org", "--to", "b@example.org")
        assert p.returncode == 0, out(p)
        assert seen[-1] == "mail.example.net"  # (the first is aiosmtpd's own start check)
        assert "TLS: TLSv1.2 " in out(p)
        p = postern("send", "--server", "127.0.0.1:%d" % port, "--tls", "--insecure", "-v",
                    "--tls-version", "1.3", "--from", "a@example.org", "--to", "b@example.org")
        assert p.returncode == 0, out(p)
        assert "TLS: TLSv1.3 " in out(p)
    finally:
        c.stop()


@pytest.fixture
def client_cert(tmp_path):
    """A self-signed certificate for TLS client authentication."""
    crt, key = str(tmp_path / "client.pem"), str(tmp_path / "client.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=postern client",
                    "-addext", "extendedKeyUsage=clientAuth"], check=True, capture_output=True)
    return crt, key


def test_client_certificate(cert, client_cert):
    c, h, port = tls_aio(cert, client_ca=client_cert[0])
    try:
        p = postern("send", "--server", "127.0.0.1:%d" % port, "--tls", "--cafile", cert[0],
                    "--from", "a@example.org", "--to", "b@example.org", timeout=30)
        assert p.returncode == EX_UNAVAILABLE, out(p)
        p = postern("send", "--server", "127.0.0.1:%d" % port, "--tls", "--cafile", cert[0],
                    "--cert", client_cert[0], "--key", client_cert[1],
                    "--from", "a@example.org", "--to", "b@example.org")
        assert p.returncode == 0, out(p)
        assert len(h.messages) == 1
    finally:
        c.stop()


class InjectingServer(FakeServer):
    """Offers STARTTLS, then answers it with 220 and, in the same packet,
    a plaintext reply that a man in the middle slipped in."""

    def serve(self, c):
        f = c.makefile("rb")
        try:
            c.sendall(b"220 fake ESMTP\r\n")
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.strip().upper()
                if cmd.startswith(b"EHLO"):
                    c.sendall(b"250-fake\r\n250 STARTTLS\r\n")
                elif cmd == b"STARTTLS":
                    c.sendall(b"220 go ahead\r\n250 injected\r\n")
                else:
                    c.sendall(b"502 no\r\n")
        except OSError:
            pass


def test_starttls_response_injection_refused():
    s = InjectingServer()
    try:
        p = postern("send", "--server", "127.0.0.1:%d" % s.port, "--starttls", "--timeout", "5",
                    "--from", "a@example.org", "--to", "b@example.org", timeout=30)
    finally:
        s.close()
    assert p.returncode == EX_PROTOCOL, out(p)
    assert "injected" in out(p)


def test_relay_refused_when_logged_in_does_not_say_user(auth_posternd):
    p = postern(*send_args(auth_posternd, "--user", USER, "--auth", "PLAIN", to="x@elsewhere.example"),
                password=PASSWORD)
    if p.returncode == 0:
        pytest.fail("posternd relayed for an authenticated user; this test needs a refusal: " + out(p))
    assert "--user" not in p.stderr.decode().split("refused", 1)[-1], out(p)


# ---------------------------------------------------------------- MX lookup (c-ares)
# dnsmasq and unbound are not installed here (scripts/deps lists neither), so
# the tests answer DNS with this small loopback responder: never the system's.

import socket  # noqa: E402
import struct  # noqa: E402
import threading  # noqa: E402


def dns_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".") if p) + b"\0"


class DnsServer:
    """Answers A and MX queries from a table, NXDOMAIN for unknown names,
    NODATA for a known name without the asked type; counts queries."""

    def __init__(self, records):
        self.records = records  # {(name, "A"|"MX"): [value, ...]}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                q, peer = self.sock.recvfrom(512)
            except OSError:
                return
            self.sock.sendto(self.answer(q), peer)

    def answer(self, q):
        qid, flags, qd = struct.unpack("!HHH", q[:6])
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode())
            i += 1 + q[i]
        qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
        question = q[12:i + 5]
        name = ".".join(labels).lower()
        kind = {1: "A", 15: "MX"}.get(qtype)
        self.queries.append((name, kind))
        known = any(n == name for n, _ in self.records)
        values = self.records.get((name, kind), [])
        answers = b""
        for v in values:
            if kind == "A":
                rdata = socket.inet_aton(v)
            else:
                pref, host = v
                rdata = struct.pack("!H", pref) + dns_name(host)
            answers += dns_name(name) + struct.pack("!HHIH", qtype, 1, 60, len(rdata)) + rdata
        rcode = 0 if known else 3
        return struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, len(values), 0, 0) + question + answers

    def close(self):
        self.sock.close()


def test_mx_lookup_delivers_to_best_reachable_mx(server):
    dead = free_port()  # nobody listens: the preferred MX is down
    dns = DnsServer({
        ("example.test", "MX"): [(20, "mx2.example.test"), (10, "mx1.example.test")],
        ("mx1.example.test", "A"): ["127.0.0.2"],
        ("mx2.example.test", "A"): ["127.0.0.1"],
    })
    try:
        # mx1 (127.0.0.2) refuses on the port; mx2 (127.0.0.1) is posternd
        p = postern("send", "--resolver", "127.0.0.1:%d" % dns.port, "--port", str(server.port),
                    "--from", "a@example.org", "--to", "b@example.test", "-v", timeout=30)
    finally:
        dns.close()
    t = out(p)
    assert "-- MX of example.test: mx1.example.test (127.0.0.2), preference 10" in t
    assert "-- MX of example.test: mx2.example.test (127.0.0.1), preference 20" in t
    assert t.index("mx1.example.test") < t.index("mx2.example.test")
    assert ("example.test", "MX") in dns.queries
    # posternd refuses to relay for example.test: the point is that mx2 was reached
    assert "S: 220 " in t and "RCPT TO:<b@example.test>" in t, t
    del dead


def test_mx_null_and_implicit(server):
    dns = DnsServer({
        ("null.test", "MX"): [(0, ".")],
        ("plain.test", "A"): ["127.0.0.1"],
    })
    try:
        p = postern("send", "--resolver", "127.0.0.1:%d" % dns.port, "--from", "a@example.org",
                    "--to", "b@null.test", timeout=30)
        assert p.returncode == EX_UNAVAILABLE, out(p)
        assert "null MX" in out(p)
        # no MX record: the domain itself is the exchanger (RFC 5321 5.1)
        p = postern("send", "--resolver", "127.0.0.1:%d" % dns.port, "--port", str(server.port),
                    "--from", "a@example.org", "--to", "b@plain.test", "-v", timeout=30)
        assert "-- MX of plain.test: plain.test (127.0.0.1)" in out(p), out(p)
        p = postern("send", "--resolver", "127.0.0.1:%d" % dns.port, "--from", "a@example.org",
                    "--to", "b@nowhere.test", timeout=30)
        assert p.returncode == EX_UNAVAILABLE and "nowhere.test" in out(p), out(p)
    finally:
        dns.close()


# ---------------------------------------------------------------- LMTP (RFC 2033)

class LmtpSink:
    """Delivers to every recipient but one, answering per recipient."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "\r\n".join("550 5.1.1 <%s> no such user" % r if r.startswith("nobody@")
                           else "250 2.0.0 <%s> delivered" % r for r in envelope.rcpt_tos)


def test_lmtp_per_recipient_replies():
    from aiosmtpd.lmtp import LMTP

    class LmtpController(aiosmtpd.Controller):
        def factory(self):
            return LMTP(self.handler)

    handler = LmtpSink()
    port = free_port()
    c = LmtpController(handler, hostname="127.0.0.1", port=port)
    c.start()
    try:
        p = postern("send", "--server", "127.0.0.1:%d" % port, "--protocol", "lmtp", "-v",
                    "--from", "a@example.org", "--to", "b@example.org", "--to", "nobody@example.org",
                    "--to", "c@example.org")
        t = out(p)
        assert "C: LHLO " in t and "C: EHLO" not in t
        # one reply per recipient after the message; the one refused is named
        assert "accepted by 127.0.0.1 for 2 of 3 recipients: 250 2.0.0 <c@example.org> delivered" in t
        assert "refused <nobody@example.org>: 550 5.1.1 <nobody@example.org> no such user" in t
        assert p.returncode == EX_PERM, t
        assert len(handler.messages) == 1
        p = postern("send", "--server", "127.0.0.1:%d" % port, "--protocol", "lmtp",
                    "--from", "a@example.org", "--to", "b@example.org")
        assert p.returncode == 0, out(p)
        assert "for 1 of 1 recipients: 250 2.0.0 <b@example.org> delivered" in out(p)
    finally:
        c.stop()
