"""STARTTLS (RFC 3207) and implicit TLS (RFC 8314) against a real posternd,
SPEC §4 and the TLS rows of §3: the replies around STARTTLS, the injection
defence (CVE-2011-0411 class), the session reset after the handshake, the
AUTH policy before and after TLS, require_tls, SCRAM-*-PLUS channel binding,
TLS 1.2 / 1.3 and what is refused, handshake timeouts and broken clients,
certificate reload on SIGHUP, session resumption, the Received header; and
clients nobody here wrote: openssl s_client, swaks, curl, msmtp, smtplib,
gsasl.

The client programs come from scripts/deps: a missing one fails the test
that needs it (never a skip). tls_util.py holds the TLS plumbing (certificates, TLS over
conftest's Raw, the Received parser, an `openssl s_client` driver, a SCRAM
client with channel binding).

Run: POSTERND=build/test/posternd /usr/bin/python3 -m pytest tests/interop/test_tls.py"""

import os
import shutil
import signal
import smtplib
import socket
import ssl
import struct
import subprocess
import threading
import time
import warnings

import pytest

from conftest import (CLIENT_TIMEOUT, HOSTNAME, TIMEOUT, ConnectionClosed, Raw, Server, b64,
                      check, free_port, need, sanitizer_env)
from conftest import run_client as run
from scram import scram_exchange
from test_auth import PASSWORD, USER, plain_ir, write_users
from tls_util import (SClient, client_ctx, client_hello, check_tls_stored, connect_tls,
                      fingerprint_of, make_cert, only_tls_alerts, read_until_close, s_client_run,
                      starttls)

HANDSHAKE_TIMEOUT = 1  # seconds, for the servers that test it
GSASL_TIMEOUT = 4

MESSAGE = (b"From: Sender <s@example.org>\r\n"
           b"To: t@localhost\r\n"
           b"Subject: over TLS\r\n"
           b"Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
           b"Message-ID: <tls@example.org>\r\n"
           b"\r\n"
           b"first line\r\n"
           b".a line that starts with a dot\r\n"
           b"..two dots\r\n"
           b".\r\n"
           b"\r\n"
           b"last line\r\n")


def dot_stuffed(body):
    lines = body.split(b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines)




def ehlo_keywords(reply):
    """EHLO keywords (first word of every line but the first), upper case."""
    return [t.split()[0].decode().upper() for _, t in reply.lines[1:] if t.split()]


def ehlo_auth_mechs(reply):
    for _, t in reply.lines[1:]:
        words = t.decode().split()
        if words and words[0].upper() == "AUTH":
            return words[1:]
    return None


def wait_for(pred, timeout=5.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def tls_bin(posternd_bin):
    return posternd_bin


@pytest.fixture(scope="session")
def cert(tmp_path_factory):
    need("openssl")
    return make_cert(tmp_path_factory.mktemp("tls") / "pair")


@pytest.fixture
def ctx(cert):
    return client_ctx(cert.cert)


def wait_tls_ready(srv, cafile):
    """The implicit-TLS listener answers: handshake, 220, QUIT."""
    ctx = client_ctx(cafile)
    deadline = time.monotonic() + 3  # the plaintext port is up: every listener is bound
    last = None
    while time.monotonic() < deadline:
        if srv.proc.poll() is not None:
            raise AssertionError("posternd exited with %s:\n%s" % (srv.proc.returncode, srv.log()))
        try:
            with connect_tls(srv.host, srv.tls_port, ctx, timeout=2) as c:
                c.greeting()
                check(c.cmd("QUIT"), 221)
                return
        except (OSError, ConnectionClosed, AssertionError) as e:
            last = e
        time.sleep(0.02)
    raise AssertionError("implicit TLS port %d not ready: %r\n%s" % (srv.tls_port, last, srv.log()))


@pytest.fixture
def tls_server(tls_bin, start_server, cert, tmp_path):
    """Factory: a posternd with --tls-cert/--tls-key, STARTTLS on its
    --listen port and, unless implicit=False, an implicit-TLS port
    (srv.tls_port). users=True adds the users file of test_auth (alice with
    PASSWORD; bob@example.org). config entries go to the config file."""
    def start(config=None, args=(), implicit=True, users=False, plaintext=False, pair=None):
        pair = pair or cert
        cfg = dict(config or {})
        argv = ["--tls-cert", pair.cert, "--tls-key", pair.key]
        tls_port = None
        if implicit:
            tls_port = free_port()
            argv += ["--listen-tls", "127.0.0.1:%d" % tls_port]
        if users:
            n = len([x for x in os.listdir(tmp_path) if x.startswith("users")])
            cfg["users"] = write_users(str(tmp_path / ("users%d" % n)))
            cfg["auth_delay_max"] = "0"
        if plaintext:
            argv.append("--auth-plaintext")
        srv = start_server(config=cfg or None, args=argv + list(args))
        srv.tls_port = tls_port
        srv.pair = pair
        if implicit:
            wait_tls_ready(srv, pair.cert)
        return srv
    return start


def tls_session(srv, ctx, implicit=False, name="client.example"):
    """A Raw client in TLS, greeted (implicit) or after STARTTLS, EHLO done
    over TLS; returns (client, EHLO reply)."""
    if implicit:
        c = connect_tls(srv.host, srv.tls_port, ctx)
        c.greeting()
    else:
        c = srv.connect()
        c.ehlo(name)
        starttls(c, ctx)
    return c, check(c.cmd("EHLO " + name), 250)


def deliver(c, rcpt, body=MESSAGE, mail_from="s@example.org"):
    check(c.cmd("MAIL FROM:<%s>" % mail_from), 250, "2.1.0")
    check(c.cmd("RCPT TO:<%s>" % rcpt), 250, "2.1.5")
    check(c.cmd("DATA"), 354)
    c.send(dot_stuffed(body) + b".\r\n")
    return check(c.reply(), 250, "2.0.0")


def assert_alive_and_serving(srv, ctx, rcpt="alive@localhost"):
    """The process runs, and a full STARTTLS session and an implicit one deliver."""
    assert srv.proc.poll() is None, "posternd died:\n" + srv.log()[-3000:]
    before = len(srv.messages(rcpt))
    for implicit in ((False, True) if srv.tls_port else (False,)):
        c, _ = tls_session(srv, ctx, implicit=implicit)
        with c:
            deliver(c, rcpt)
            check(c.cmd("QUIT"), 221, "2.0.0")
    assert len(srv.messages(rcpt)) == before + (2 if srv.tls_port else 1)


# ---------------------------------------------------------------- STARTTLS replies (SPEC §4)

def test_no_certificate_no_starttls(server):
    """Without a certificate STARTTLS is not offered and answers 502 5.5.1."""
    with server.connect() as c:
        r = c.ehlo()
        assert "STARTTLS" not in ehlo_keywords(r), r.raw
        check(c.cmd("STARTTLS"), 502, "5.5.1")
        check(c.cmd("NOOP"), 250, "2.0.0")


def test_starttls_replies_and_session_reset(tls_server, ctx):
    srv = tls_server(implicit=False)
    with srv.connect() as c:
        c.greeting()
        check(c.cmd("STARTTLS"), 503, "5.5.1")  # before EHLO
        check(c.cmd("HELO client.example"), 250)
        r = check(c.cmd("STARTTLS"), 503, "5.5.1")  # HELO offers no extension
        assert r.text == "Error: send EHLO first", r.raw
        r = check(c.cmd("EHLO client.example"), 250)
        kw = ehlo_keywords(r)
        assert "STARTTLS" in kw, r.raw
        assert r.lines[0][1].split()[0].decode() == HOSTNAME
        check(c.cmd("STARTTLS now"), 501, "5.5.4")
        # inside a transaction: refused, the transaction stays
        check(c.cmd("MAIL FROM:<early@example.org>"), 250, "2.1.0")
        check(c.cmd("STARTTLS"), 503, "5.5.1")
        check(c.cmd("RSET"), 250, "2.0.0")
        # a transaction before STARTTLS does not survive it
        check(c.cmd("MAIL FROM:<early@example.org>"), 250, "2.1.0")
        check(c.cmd("RSET"), 250, "2.0.0")
        starttls(c, ctx)
        assert c.sock.version() == "TLSv1.3"
        cipher = c.sock.cipher()[0]
        # the session is back at the greeting: EHLO is required, no greeting is sent
        c.expect_silence(0.2)
        check(c.cmd("MAIL FROM:<a@example.org>"), 503, "5.5.1")
        check(c.cmd("STARTTLS"), 503, "5.5.1")
        r = check(c.cmd("EHLO client.example"), 250)
        kw = ehlo_keywords(r)
        assert "STARTTLS" not in kw, r.raw
        for ext in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES"):
            assert ext in kw, r.raw
        check(c.cmd("STARTTLS"), 503, "5.5.1")  # TLS already active
        check(c.cmd("STARTTLS x"), 501, "5.5.4")
        deliver(c, "t@localhost")
        check(c.cmd("QUIT"), 221, "2.0.0")
        c.expect_closed()
    st = srv.only_message("t@localhost")
    check_tls_stored(st, MESSAGE, "ESMTPS", "TLSv1.3")
    assert st.return_path == "s@example.org"
    assert "from client.example " in st.unfolded
    assert "(using TLSv1.3 with cipher %s " % cipher in st.unfolded, st.trace


def test_implicit_tls_greets_after_handshake(tls_server, ctx):
    srv = tls_server()
    # nothing in plaintext: the server waits for a ClientHello
    with Raw(srv.host, srv.tls_port) as c:
        c.expect_silence(0.3)
        c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
        r = c.greeting()
        assert r.raw.startswith(b"220 " + HOSTNAME.encode() + b" "), r.raw
        r = check(c.cmd("EHLO client.example"), 250)
        assert "STARTTLS" not in ehlo_keywords(r), r.raw
        check(c.cmd("STARTTLS"), 503, "5.5.1")
        deliver(c, "t@localhost")
        check(c.cmd("QUIT"), 221, "2.0.0")
        c.expect_closed()
    check_tls_stored(srv.only_message("t@localhost"), MESSAGE, "ESMTPS", "TLSv1.3")
    # the STARTTLS listener still speaks plaintext first
    with srv.connect() as c:
        assert "STARTTLS" in ehlo_keywords(c.ehlo())


def test_pipelined_transaction_over_tls(tls_server, ctx):
    """PIPELINING through the TLS layer: one write, replies in order."""
    srv = tls_server(implicit=False)
    c, _ = tls_session(srv, ctx)
    with c:
        c.send(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<p1@localhost>\r\n"
               b"RCPT TO:<p2@localhost>\r\nDATA\r\n")
        r = c.replies(4)
        assert [x.code for x in r] == [250, 250, 250, 354], [x.raw for x in r]
        big = MESSAGE + b"".join(b"line %06d " % i + b"x" * 70 + b"\r\n" for i in range(3000))
        c.send(dot_stuffed(big) + b".\r\nNOOP\r\nQUIT\r\n")
        check(c.reply(), 250, "2.0.0")
        check(c.reply(), 250, "2.0.0")
        check(c.reply(), 221, "2.0.0")
    check_tls_stored(srv.only_message("p1@localhost"), big)
    check_tls_stored(srv.only_message("p2@localhost"), big)


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit"])
def test_command_split_across_tls_records(tls_server, ctx, implicit):
    """A command line may come in pieces, one TLS record each (gsasl sends
    the text and the CRLF as two records): the server waits for the rest of
    the line as it does in plaintext. Every send() here is one record."""
    srv = tls_server()
    if implicit:
        c = connect_tls(srv.host, srv.tls_port, ctx, timeout=2)
        c.greeting()
    else:
        c = srv.connect(timeout=2)
        c.ehlo()
        starttls(c, ctx)
    steps = [
        ([b"EHLO client.example", b"\r\n"], [250]),
        ([b"NO", b"OP", b"\r\n"], [250]),
        ([b"NOOP\r", b"\n"], [250]),
        ([b"MAIL FROM:<s@example.org>\r\nRCPT TO:<t@lo", b"calhost>\r\n"], [250, 250]),
        ([b"DATA\r\n"], [354]),
        ([MESSAGE[:7], MESSAGE[7:50], dot_stuffed(MESSAGE[50:]), b".", b"\r\n"], [250]),
        ([b"QU", b"IT\r\n"], [221]),
    ]
    with c:
        for pieces, codes in steps:
            for piece in pieces:
                c.send(piece)
                time.sleep(0.02)
            for code in codes:
                try:
                    r = c.reply()
                except socket.timeout:
                    raise AssertionError("no reply to %r sent as %d TLS records"
                                         % (b"".join(pieces), len(pieces))) from None
                assert r.code == code, (pieces, r.raw)
    check_tls_stored(srv.only_message("t@localhost"), MESSAGE)


def test_bdat_over_tls(tls_server, ctx):
    """CHUNKING through TLS: chunk data split over records, two chunks."""
    srv = tls_server(implicit=False)
    c, r = tls_session(srv, ctx)
    with c:
        assert "CHUNKING" in ehlo_keywords(r)
        check(c.cmd("MAIL FROM:<s@example.org>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<bdat@localhost>"), 250, "2.1.5")
        first, second = MESSAGE[:100], MESSAGE[100:]
        c.send(b"BDAT %d\r\n" % len(first) + first[:10])
        time.sleep(0.02)
        c.send(first[10:])
        check(c.reply(), 250, "2.0.0")
        c.send(b"BDAT %d LAST\r\n" % len(second))
        time.sleep(0.02)
        c.send(second)
        check(c.reply(), 250, "2.0.0")
    check_tls_stored(srv.only_message("bdat@localhost"), MESSAGE)


# ---------------------------------------------------------------- the injection defence

def test_injection_noop_never_answered(tls_server, ctx):
    """STARTTLS\\r\\nNOOP\\r\\n in one write: 220, then the NOOP is discarded
    (not answered in plaintext, not answered after the handshake)."""
    srv = tls_server(implicit=False)
    with srv.connect() as c:
        c.ehlo()
        c.send(b"STARTTLS\r\nNOOP\r\n")
        r = check(c.reply(), 220, "2.0.0")
        assert c.buf == b"", "plaintext after the 220: %r" % c.buf
        c.expect_silence(0.2)
        c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
        c.expect_silence(0.5)  # the NOOP's 250 never comes
        r = check(c.cmd("EHLO client.example"), 250)
        assert "STARTTLS" not in ehlo_keywords(r)
        check(c.cmd("NOOP"), 250, "2.0.0")
        c.expect_silence(0.2)


def test_injection_of_commands_does_not_take_effect(tls_server, ctx):
    """Injected EHLO/MAIL/RCPT are discarded: after the handshake the session
    still needs EHLO, and no transaction exists."""
    srv = tls_server(implicit=False)
    with srv.connect() as c:
        c.ehlo()
        c.send(b"STARTTLS\r\nEHLO evil.example\r\nMAIL FROM:<evil@example.org>\r\n"
               b"RCPT TO:<victim@localhost>\r\n")
        check(c.reply(), 220, "2.0.0")
        assert c.buf == b""
        c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
        c.expect_silence(0.3)
        check(c.cmd("MAIL FROM:<a@example.org>"), 503, "5.5.1")  # no EHLO took effect
        check(c.cmd("EHLO client.example"), 250)
        check(c.cmd("DATA"), 503, "5.5.1")  # no transaction took effect
        deliver(c, "t@localhost")
    st = srv.only_message("t@localhost")
    assert "evil" not in st.unfolded and st.return_path == "s@example.org"
    assert srv.new_files("victim@localhost") == []


# ---------------------------------------------------------------- AUTH policy (SPEC §3)

def test_auth_plain_538_before_tls_235_after(tls_server, ctx):
    srv = tls_server(users=True)
    with srv.connect() as c:
        r = c.ehlo()
        assert "STARTTLS" in ehlo_keywords(r), r.raw
        mechs = ehlo_auth_mechs(r)
        assert mechs is not None, r.raw
        for m in ("PLAIN", "LOGIN", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"):
            assert m not in mechs, r.raw
        assert "SCRAM-SHA-256" in mechs, r.raw
        check(c.cmd("AUTH PLAIN " + plain_ir()), 538, "5.7.11")
        check(c.cmd("AUTH LOGIN"), 538, "5.7.11")
        check(c.cmd("AUTH SCRAM-SHA-256-PLUS"), 504, "5.5.4")
        starttls(c, ctx)
        r = check(c.cmd("EHLO client.example"), 250)
        assert "STARTTLS" not in ehlo_keywords(r), r.raw
        mechs = ehlo_auth_mechs(r)
        assert mechs is not None, r.raw
        assert sorted(mechs) == sorted(["SCRAM-SHA-256", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS",
                                        "SCRAM-SHA-1-PLUS", "PLAIN", "LOGIN"]), r.raw
        check(c.cmd("AUTH PLAIN " + plain_ir(password="wrong")), 535, "5.7.8")
        check(c.cmd("AUTH PLAIN " + plain_ir()), 235, "2.7.0")
        deliver(c, "t@localhost", mail_from="alice@example.org")
    check_tls_stored(srv.only_message("t@localhost"), MESSAGE, "ESMTPSA", "TLSv1.3")
    # AUTH LOGIN over implicit TLS
    c, r = tls_session(srv, ctx, implicit=True)
    with c:
        assert "LOGIN" in ehlo_auth_mechs(r)
        check(c.cmd("AUTH LOGIN"), 334)
        check(c.cmd(b64(USER)), 334)
        check(c.cmd(b64(PASSWORD)), 235, "2.7.0")


def test_auth_before_starttls_is_forgotten(tls_server, ctx):
    """SCRAM before TLS succeeds; the handshake resets the session, so AUTH
    is allowed again (not 503) and mail without it is not ESMTPSA."""
    srv = tls_server(implicit=False, users=True)
    with srv.connect() as c:
        c.ehlo()
        check(scram_exchange(c, "SCRAM-SHA-256", USER, PASSWORD), 235, "2.7.0")
        starttls(c, ctx)
        check(c.cmd("EHLO client.example"), 250)
        deliver(c, "anon@localhost")
        check(c.cmd("AUTH PLAIN " + plain_ir()), 235, "2.7.0")
        deliver(c, "authed@localhost")
    assert srv.only_message("anon@localhost").with_ == "ESMTPS"
    assert srv.only_message("authed@localhost").with_ == "ESMTPSA"


def test_auth_plaintext_allows_plain_before_tls(tls_server):
    srv = tls_server(implicit=False, users=True, plaintext=True)
    with srv.connect() as c:
        mechs = ehlo_auth_mechs(c.ehlo())
        assert "PLAIN" in mechs and "LOGIN" in mechs, mechs
        assert "SCRAM-SHA-256-PLUS" not in mechs, mechs
        check(c.cmd("AUTH PLAIN " + plain_ir()), 235, "2.7.0")


# ---------------------------------------------------------------- SCRAM-PLUS, channel binding

def test_scram_plus_tls_unique_tls12(tls_server, cert):
    """SCRAM-SHA-256-PLUS with tls-unique (RFC 5929) on TLS 1.2, from a
    client written here; a wrong binding, a downgrade ("y" while the server
    offers -PLUS) and -PLUS with "n" all fail with 535."""
    srv = tls_server(implicit=False, users=True)
    ctx12 = client_ctx(cert.cert, maximum=ssl.TLSVersion.TLSv1_2)

    def session():
        c, r = tls_session(srv, ctx12)
        assert c.sock.version() == "TLSv1.2"
        assert "SCRAM-SHA-256-PLUS" in ehlo_auth_mechs(r), r.raw
        return c

    for mech in ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"):
        with session() as c:
            cb = c.sock.get_channel_binding("tls-unique")
            assert cb and len(cb) == 12
            check(scram_exchange(c, mech, USER, PASSWORD, "p=tls-unique,,", cb), 235, "2.7.0")
            deliver(c, "plus@localhost", mail_from="alice@example.org")
    assert [m.with_ for m in srv.messages("plus@localhost")] == ["ESMTPSA", "ESMTPSA"]
    with session() as c:
        cb = bytearray(c.sock.get_channel_binding("tls-unique"))
        cb[0] ^= 1
        check(scram_exchange(c, "SCRAM-SHA-256-PLUS", USER, PASSWORD, "p=tls-unique,,",
                                  bytes(cb)), 535, "5.7.8")
    with session() as c:
        # RFC 5802 §6: "y" while the server supports channel binding is a downgrade
        check(scram_exchange(c, "SCRAM-SHA-256", USER, PASSWORD, "y,,"), 535, "5.7.8")
    with session() as c:
        check(scram_exchange(c, "SCRAM-SHA-256-PLUS", USER, PASSWORD, "n,,"), 535)
    with session() as c:
        # plain SCRAM without channel binding stays available over TLS
        check(scram_exchange(c, "SCRAM-SHA-256", USER, PASSWORD, "n,,"), 235, "2.7.0")


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"])
@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_gsasl_scram_plus_over_starttls(tls_server, cert, mech, version):
    """GNU SASL's client: tls-exporter on TLS 1.3, tls-unique on TLS 1.2."""
    gsasl = need("gsasl")
    srv = tls_server(implicit=False, users=True)
    # gsasl's default is STARTTLS when offered, after EHLO (its --starttls
    # sends STARTTLS before EHLO, which SPEC §4 answers 503)
    argv = [gsasl, "--smtp", "--client", "--x509-ca-file", cert.cert,
            "--mechanism", mech, "--authentication-id", USER, "--password", PASSWORD,
            "--connect", "%s:%d" % (srv.host, srv.port)]
    if version == "TLSv1.2":
        argv[-2:-2] = ["--priority", "NORMAL:-VERS-TLS-ALL:+VERS-TLS1.2"]
    try:
        _, out = run(argv, input=b"", timeout=GSASL_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("gsasl got no reply within %ss (it sends each line as two TLS "
                             "records: the text, then CRLF):\n%s"
                             % (GSASL_TIMEOUT, (e.output or b"").decode("utf-8", "replace")))
    assert "220 2.0.0 Ready to start TLS" in out, out
    assert "235 2.7.0" in out, out
    rc, out = run([a if a != PASSWORD else "wrong" for a in argv], input=b"", ok=False,
                  timeout=GSASL_TIMEOUT)
    assert rc != 0 and "535 5.7.8" in out, out
    lines = [l for l in srv.log().splitlines() if "event=auth " in l]
    assert sum("mech=%s " % mech in l and "result=ok" in l for l in lines) == 1, lines
    binding = "tls-exporter" if version == "TLSv1.3" else "tls-unique"
    tls = [l for l in srv.log().splitlines() if "event=tls " in l]
    assert len(tls) == 2 and all("version=%s " % version in l and "binding=%s" % binding in l
                                 for l in tls), tls


# ---------------------------------------------------------------- require_tls

@pytest.mark.parametrize("how", ["config", "flag"])
def test_require_tls(tls_server, ctx, how):
    if how == "config":
        srv = tls_server(config={"require_tls": "yes"}, users=True)
    else:
        srv = tls_server(args=["--require-tls"], users=True)
    with srv.connect() as c:
        c.greeting()
        check(c.cmd("NOOP"), 250, "2.0.0")
        check(c.cmd("HELO client.example"), 250)
        r = check(c.cmd("EHLO client.example"), 250)
        assert "STARTTLS" in ehlo_keywords(r)
        r = check(c.cmd("MAIL FROM:<s@example.org>"), 530, "5.7.0")
        assert r.text == "Must issue a STARTTLS command first", r.raw
        for cmd in ("RCPT TO:<t@localhost>", "DATA", "VRFY postmaster", "HELP",
                    "AUTH SCRAM-SHA-256 " + b64("n,,n=alice,r=abcdefgh")):
            check(c.cmd(cmd), 530, "5.7.0")
        # RFC 3030 §2: a refused BDAT's octets are read and thrown away, never
        # run as commands: the reply after BDAT's 530 is HELP's, not RSET's
        c.send(b"BDAT 12\r\nRSET\r\nNOOP\r\nHELP\r\n")
        check(c.reply(), 530, "5.7.0")
        check(c.reply(), 530, "5.7.0")
        check(c.cmd("NOOP"), 250, "2.0.0")
        check(c.cmd("RSET"), 250, "2.0.0")
        starttls(c, ctx)
        check(c.cmd("EHLO client.example"), 250)
        deliver(c, "t@localhost")
        check(c.cmd("QUIT"), 221, "2.0.0")
    check_tls_stored(srv.only_message("t@localhost"), MESSAGE)
    # implicit TLS satisfies it from the start
    c, _ = tls_session(srv, ctx, implicit=True)
    with c:
        deliver(c, "t2@localhost")
    with srv.connect() as c:
        c.greeting()
        check(c.cmd("QUIT"), 221, "2.0.0")
        c.expect_closed()


# ---------------------------------------------------------------- openssl s_client

def s_client_argv(srv, cert, implicit, extra=()):
    argv = [need("openssl"), "s_client", "-connect", "%s:%d" % (srv.host, srv.tls_port if implicit
                                                                 else srv.port),
            "-brief", "-ign_eof", "-nocommands", "-crlf", "-CAfile", cert.cert,
            "-verify_return_error", "-verify_hostname", "localhost", "-servername", "localhost"]
    if not implicit:
        argv += ["-starttls", "smtp", "-name", "client.example"]
    return argv + list(extra)


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit"])
@pytest.mark.parametrize("version", ["default", "tls1_2"])
def test_openssl_s_client(tls_server, cert, implicit, version):
    srv = tls_server()
    extra = ["-tls1_2"] if version == "tls1_2" else []
    sc = SClient(s_client_argv(srv, cert, implicit, extra))
    try:
        if implicit:
            check(sc.reply(), 220)
        r = check(sc.cmd("EHLO client.example"), 250)
        assert "STARTTLS" not in ehlo_keywords(r), r.raw
        check(sc.cmd("MAIL FROM:<s@example.org>"), 250, "2.1.0")
        check(sc.cmd("RCPT TO:<sc@localhost>"), 250, "2.1.5")
        check(sc.cmd("DATA"), 354)
        sc.send(dot_stuffed(MESSAGE).replace(b"\r\n", b"\n") + b".\n")
        check(sc.reply(), 250, "2.0.0")
        check(sc.cmd("QUIT"), 221, "2.0.0")
        assert sc.finish() == 0, sc.stderr()
    finally:
        sc.kill()
    err = sc.stderr()
    want = "TLSv1.2" if version == "tls1_2" else "TLSv1.3"
    assert "Protocol version: " + want in err, err
    assert "Verification: OK" in err, err
    check_tls_stored(srv.only_message("sc@localhost"), MESSAGE, "ESMTPS", want)


def test_tls12_renegotiation_refused(tls_server, cert, ctx):
    """A client asking to renegotiate TLS 1.2 is refused and cut off; the
    server goes on."""
    srv = tls_server()
    argv = [need("openssl"), "s_client", "-connect", "%s:%d" % (srv.host, srv.tls_port),
            "-tls1_2", "-crlf", "-quiet", "-no_ign_eof", "-CAfile", cert.cert,
            "-verify_return_error"]
    sc = SClient(argv, timeout=5)
    try:
        check(sc.reply(), 220)
        check(sc.cmd("EHLO client.example"), 250)
        sc.send(b"R\n")  # s_client's command letter: renegotiate
        rc = sc.p.wait(5)  # stdin stays open: s_client ends because the server closed
    finally:
        sc.kill()
    assert rc != 0 and "no renegotiation" in sc.stderr(), (rc, sc.stderr())
    assert "event=tls_failed" in srv.log()
    assert_alive_and_serving(srv, ctx)


def test_tls11_refused(tls_server, cert, ctx):
    """TLS 1.1 (and 1.0) ClientHellos are refused with a protocol_version
    alert; the server goes on serving. SECLEVEL=0 makes OpenSSL 3 really
    offer TLS 1.1 instead of failing before it sends anything."""
    srv = tls_server()
    openssl = need("openssl")
    rc, out = s_client_run([openssl, "s_client", "-connect", "%s:%d" % (srv.host, srv.tls_port),
                            "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-brief"])
    assert rc != 0 and "CONNECTION ESTABLISHED" not in out, out
    assert "alert protocol version" in out, out
    rc, out = s_client_run(s_client_argv(srv, cert, False, ["-tls1_1", "-cipher",
                                                             "DEFAULT@SECLEVEL=0"]))
    assert rc != 0 and "CONNECTION ESTABLISHED" not in out, out
    assert "alert protocol version" in out, out
    for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.load_verify_locations(cert.cert)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            old.minimum_version = v
            old.maximum_version = v
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
        with pytest.raises(ssl.SSLError) as e:
            connect_tls(srv.host, srv.tls_port, old).close()
        assert e.value.reason == "TLSV1_ALERT_PROTOCOL_VERSION", repr(e.value)
        with srv.connect() as c:
            c.ehlo()
            check(c.cmd("STARTTLS"), 220, "2.0.0")
            with pytest.raises(ssl.SSLError) as e:
                c.sock = old.wrap_socket(c.sock, server_hostname="localhost")
            assert e.value.reason == "TLSV1_ALERT_PROTOCOL_VERSION", repr(e.value)
    assert_alive_and_serving(srv, ctx)


def test_tls12_only_modern_ciphers(tls_server, cert, ctx):
    """TLS 1.2 negotiates ECDHE with an AEAD cipher; a client offering only
    CBC or only static-RSA key exchange is refused."""
    srv = tls_server()
    c, _ = tls_session(srv, client_ctx(cert.cert, maximum=ssl.TLSVersion.TLSv1_2), implicit=True)
    with c:
        name, version, _ = c.sock.cipher()
        assert version == "TLSv1.2"
        assert name.startswith("ECDHE-") and ("GCM" in name or "CHACHA20" in name), name
    for ciphers in ("ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA384", "AES128-GCM-SHA256"):
        weak = client_ctx(cert.cert, maximum=ssl.TLSVersion.TLSv1_2)
        weak.set_ciphers(ciphers)
        with pytest.raises(ssl.SSLError) as e:
            connect_tls(srv.host, srv.tls_port, weak).close()
        assert "HANDSHAKE_FAILURE" in (e.value.reason or ""), repr(e.value)
    assert_alive_and_serving(srv, ctx)


def test_alpn_http_refused(tls_server, cert, ctx):
    """ALPACA defence: a client asking for HTTP by ALPN gets no session."""
    srv = tls_server()
    http = client_ctx(cert.cert)
    http.set_alpn_protocols(["http/1.1"])
    with pytest.raises(ssl.SSLError):
        connect_tls(srv.host, srv.tls_port, http).close()
    assert srv.proc.poll() is None


# ---------------------------------------------------------------- swaks, curl, msmtp

@pytest.mark.parametrize("mode", ["--tls", "--tlsc"])
def test_swaks(tls_server, cert, tmp_path, mode):
    swaks = need("swaks")
    srv = tls_server()
    f = tmp_path / "msg.eml"
    f.write_bytes(MESSAGE + b".\r\n")
    port = srv.tls_port if mode == "--tlsc" else srv.port
    _, out = run([swaks, "--server", "%s:%d" % (srv.host, port), mode,
                  "--tls-verify", "--tls-ca-path", cert.cert, "--tls-sni", "localhost",
                  "--helo", "client.example", "--from", "s@example.org", "--to", "sw@localhost",
                  "--data", "@" + str(f), "--timeout", "10"])
    assert "=== TLS started with cipher TLSv1.3" in out, out
    if mode == "--tls":
        assert "<-  220 2.0.0" in out, out
    assert "250 2.0.0 Ok: queued as" in out, out
    check_tls_stored(srv.only_message("sw@localhost"), MESSAGE, "ESMTPS", "TLSv1.3")


def test_swaks_auth_plain_after_starttls(tls_server, cert):
    swaks = need("swaks")
    srv = tls_server(implicit=False, users=True)
    _, out = run([swaks, "--server", "%s:%d" % (srv.host, srv.port), "--tls",
                  "--auth", "PLAIN", "--auth-user", USER, "--auth-password", PASSWORD,
                  "--from", "alice@example.org", "--to", "sw@localhost", "--timeout", "10"])
    assert "235 2.7.0" in out, out
    assert srv.only_message("sw@localhost").with_ == "ESMTPSA"


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
def test_curl(tls_server, cert, tmp_path, scheme):
    curl = need("curl")
    srv = tls_server(users=True)
    f = tmp_path / "msg.eml"
    f.write_bytes(MESSAGE)
    port = srv.tls_port if scheme == "smtps" else srv.port
    url = "%s://localhost:%d/client.example" % (scheme, port)
    argv = [curl, "-sS", "--max-time", "10", "--cacert", cert.cert, "--url", url,
            "--mail-from", "s@example.org", "--mail-rcpt", "curl@localhost", "-T", str(f)]
    if scheme == "smtp":
        argv.insert(1, "--ssl-reqd")
    run(argv)
    check_tls_stored(srv.only_message("curl@localhost"), MESSAGE, "ESMTPS", "TLSv1.3")
    # with AUTH PLAIN (only offered over TLS)
    run(argv[:-4] + ["--user", "%s:%s" % (USER, PASSWORD), "--login-options", "AUTH=PLAIN",
                     "--mail-from", "alice@example.org", "--mail-rcpt", "curla@localhost",
                     "-T", str(f)])
    check_tls_stored(srv.only_message("curla@localhost"), MESSAGE, "ESMTPSA")
    # an untrusted server certificate: curl refuses (60: CURLE_PEER_FAILED_VERIFICATION)
    other = make_cert(tmp_path / "other")
    rc, out = run([a if a != cert.cert else other.cert for a in argv], ok=False)
    assert rc == 60, out


@pytest.mark.parametrize("starttls_mode", ["on", "off"])
def test_msmtp(tls_server, cert, tmp_path, starttls_mode):
    msmtp = need("msmtp")
    srv = tls_server(users=True)
    port = srv.port if starttls_mode == "on" else srv.tls_port
    conf = tmp_path / "msmtprc"
    conf.write_text("account default\n"
                    "host localhost\n"
                    "port %d\n"
                    "from alice@example.org\n"
                    "domain client.example\n"
                    "auth plain\n"
                    "user %s\n"
                    "passwordeval cat %s\n"
                    "tls on\n"
                    "tls_starttls %s\n"
                    "tls_trust_file %s\n"
                    "timeout 10\n" % (port, USER, tmp_path / "pw", starttls_mode, cert.cert))
    os.chmod(conf, 0o600)
    (tmp_path / "pw").write_text(PASSWORD)
    local = MESSAGE.replace(b"\r\n", b"\n")
    run([msmtp, "-C", str(conf), "--", "m@localhost"], input=local)
    st = srv.only_message("m@localhost")
    check_tls_stored(st, MESSAGE, "ESMTPSA", "TLSv1.3")
    assert "from client.example " in st.unfolded


# ---------------------------------------------------------------- Python smtplib

@pytest.mark.parametrize("maximum", [None, ssl.TLSVersion.TLSv1_2], ids=["default", "tls12"])
def test_smtplib_starttls(tls_server, cert, maximum):
    srv = tls_server(implicit=False, users=True)
    ctx = client_ctx(cert.cert, maximum=maximum)
    want = "TLSv1.2" if maximum else "TLSv1.3"
    with smtplib.SMTP(srv.host, srv.port, local_hostname="client.example", timeout=TIMEOUT) as s:
        s.ehlo()
        assert s.has_extn("starttls")
        assert "PLAIN" not in (s.esmtp_features.get("auth") or "").split()
        code, resp = s.starttls(context=ctx)
        assert code == 220 and resp == b"2.0.0 Ready to start TLS", (code, resp)
        assert s.sock.version() == want
        s.ehlo()
        assert not s.has_extn("starttls")
        assert s.sendmail("s@example.org", ["py@localhost"], MESSAGE) == {}
        code, resp = s.login(USER, PASSWORD)
        assert code == 235, resp
        assert s.sendmail("alice@example.org", ["pya@localhost"], MESSAGE) == {}
    check_tls_stored(srv.only_message("py@localhost"), MESSAGE, "ESMTPS", want)
    check_tls_stored(srv.only_message("pya@localhost"), MESSAGE, "ESMTPSA", want)


def test_smtplib_smtp_ssl(tls_server, cert):
    srv = tls_server(users=True)
    ctx = client_ctx(cert.cert)
    with smtplib.SMTP_SSL(srv.host, srv.tls_port, local_hostname="client.example",
                          timeout=TIMEOUT, context=ctx) as s:
        code, _ = s.ehlo()
        assert code == 250 and not s.has_extn("starttls")
        assert "PLAIN" in s.esmtp_features["auth"].split()
        s.login(USER, PASSWORD)
        assert s.sendmail("alice@example.org", ["ssl@localhost"], MESSAGE) == {}
    check_tls_stored(srv.only_message("ssl@localhost"), MESSAGE, "ESMTPSA", "TLSv1.3")
    # the certificate is checked by name: the IP literal is in the SAN too
    wrong = client_ctx(cert.cert)
    with pytest.raises(ssl.SSLCertVerificationError):
        connect_tls(srv.host, srv.tls_port, wrong, server_hostname="mx.elsewhere.example")


def test_concurrent_starttls_sessions(tls_server, cert, ctx):
    """16 clients at once, half STARTTLS, half implicit, each delivering."""
    srv = tls_server()
    errors = []

    def one(i):
        try:
            c, _ = tls_session(srv, ctx, implicit=bool(i % 2))
            with c:
                deliver(c, "c%d@localhost" % i)
                check(c.cmd("QUIT"), 221, "2.0.0")
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append("client %d: %r" % (i, e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    for i in range(16):
        check_tls_stored(srv.only_message("c%d@localhost" % i), MESSAGE)


# ---------------------------------------------------------------- broken and slow clients

@pytest.fixture
def timeout_server(tls_server):
    return tls_server(config={"tls_handshake_timeout": str(HANDSHAKE_TIMEOUT)})


def assert_timeout_logged(srv):
    wait_for(lambda: "event=tls_failed" in srv.log(), 2, "a tls_failed log line")
    lines = [l for l in srv.log().splitlines() if "event=tls_failed" in l]
    assert len(lines) == 1 and "timeout" in lines[0], lines


def test_handshake_timeout_implicit(timeout_server, ctx):
    srv = timeout_server
    with Raw(srv.host, srv.tls_port) as c:
        data, secs = read_until_close(c.sock, HANDSHAKE_TIMEOUT + 4)
        assert only_tls_alerts(data), data
        assert secs >= HANDSHAKE_TIMEOUT - 0.3, secs
    assert_timeout_logged(srv)
    assert_alive_and_serving(srv, ctx)


def test_handshake_timeout_after_starttls(timeout_server, ctx):
    srv = timeout_server
    with srv.connect() as c:
        c.ehlo()
        check(c.cmd("STARTTLS"), 220, "2.0.0")
        data, secs = read_until_close(c.sock, HANDSHAKE_TIMEOUT + 4)
        assert only_tls_alerts(data), data
        assert secs >= HANDSHAKE_TIMEOUT - 0.3, secs
    assert_timeout_logged(srv)
    assert_alive_and_serving(srv, ctx)


def test_handshake_timeout_is_a_deadline(timeout_server, ctx):
    """A client dribbling its ClientHello one byte at a time is still cut
    off: the handshake timeout does not restart with every byte."""
    srv = timeout_server
    hello = client_hello()
    with Raw(srv.host, srv.tls_port) as c:
        t0 = time.monotonic()
        closed = False
        for i in range(len(hello) - 1):
            try:
                c.sock.sendall(hello[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            c.sock.settimeout(0.25)
            try:
                c.sock.recv(65536)  # EOF or an alert: either way the server gave up
                closed = True
                break
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = True
                break
            if time.monotonic() - t0 > HANDSHAKE_TIMEOUT + 4:
                break
        secs = time.monotonic() - t0
        assert closed, "still open after %.1fs of a dribbled ClientHello" % secs
        assert secs < HANDSHAKE_TIMEOUT + 3, secs
    assert_timeout_logged(srv)
    assert_alive_and_serving(srv, ctx)


GARBAGE = {
    "plaintext-smtp": b"EHLO client.example\r\n",
    "http": b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "bad-handshake-record": b"\x16\x03\x01\x00\x30" + bytes(range(0x30)),
    "sslv2-hello": (b"\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10"
                    + b"\x07\x00\xc0" * 7 + b"\x00" * 16),
    "random": bytes((i * 37 + 11) % 256 for i in range(600)),
}


@pytest.mark.parametrize("where", ["implicit", "starttls"])
def test_garbage_instead_of_client_hello(tls_server, ctx, where):
    """Each kind of garbage is logged and the connection closed, with at most
    a TLS alert and never a plaintext reply; other sessions are unaffected."""
    srv = tls_server()
    bystander, _ = tls_session(srv, ctx)  # an established session through it all
    with bystander:
        log_before = len(srv.log().splitlines())
        for name, junk in GARBAGE.items():
            if where == "implicit":
                c = Raw(srv.host, srv.tls_port)
            else:
                c = srv.connect()
                c.ehlo()
                check(c.cmd("STARTTLS"), 220, "2.0.0")
            with c:
                try:
                    c.send(junk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                data, _ = read_until_close(c.sock, 4)
                assert only_tls_alerts(data), "%s: got %r" % (name, data)
            check(bystander.cmd("NOOP"), 250, "2.0.0")
        new_log = srv.log().splitlines()[log_before:]
        failed = [l for l in new_log if "event=tls_failed" in l]
        assert len(failed) == len(GARBAGE), "\n".join(new_log)
        deliver(bystander, "bystander@localhost")
    assert_alive_and_serving(srv, ctx)


@pytest.mark.parametrize("where", ["implicit", "starttls"])
def test_client_closes_mid_handshake(tls_server, ctx, where):
    srv = tls_server()
    hello = client_hello()
    for how in ("half-hello-fin", "half-hello-rst", "after-server-hello-fin",
                "after-server-hello-rst"):
        if where == "implicit":
            c = Raw(srv.host, srv.tls_port)
        else:
            c = srv.connect()
            c.ehlo()
            check(c.cmd("STARTTLS"), 220, "2.0.0")
        if how.startswith("half"):
            c.send(hello[:len(hello) // 2])
        else:
            c.send(hello)
            c.sock.settimeout(5)
            assert c.sock.recv(5)[:1] == b"\x16", how  # the ServerHello record starts
        if how.endswith("rst"):
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        assert srv.proc.poll() is None, how
    wait_for(lambda: srv.log().count("event=tls_failed") == 4, 5, "4 tls_failed log lines")
    assert_alive_and_serving(srv, ctx)


# ---------------------------------------------------------------- certificate reload

def test_sighup_reloads_certificate(tls_server, tmp_path):
    first = make_cert(tmp_path / "live")
    second = make_cert(tmp_path / "next")
    assert first.fingerprint() != second.fingerprint()
    both = tmp_path / "both.pem"
    both.write_text(open(first.cert).read() + open(second.cert).read())
    ctx = client_ctx(str(both))
    srv = tls_server(pair=first)

    def fingerprints():
        c, _ = tls_session(srv, ctx, implicit=True)
        with c:
            a = fingerprint_of(c.sock)
        c, _ = tls_session(srv, ctx)
        with c:
            b = fingerprint_of(c.sock)
        return a, b

    assert fingerprints() == (first.fingerprint(),) * 2
    old, _ = tls_session(srv, ctx)  # a session that lives through the reload
    resumable = connect_tls(srv.host, srv.tls_port, ctx)
    with resumable:
        resumable.greeting()
        check(resumable.cmd("QUIT"), 221)
        session = resumable.sock.session
    # replace the pair in place (each file atomically), then SIGHUP
    for name in ("key.pem", "cert.pem"):
        shutil.copy(os.path.join(second.dir, name), os.path.join(first.dir, name + ".new"))
        os.replace(os.path.join(first.dir, name + ".new"), os.path.join(first.dir, name))
    srv.signal(signal.SIGHUP)
    wait_for(lambda: fingerprints() == (second.fingerprint(),) * 2, 5, "the new certificate")
    with old:
        check(old.cmd("NOOP"), 250, "2.0.0")
        deliver(old, "old@localhost")
    # tickets issued before the reload still resume
    with connect_tls(srv.host, srv.tls_port, ctx, session=session) as c:
        assert c.sock.session_reused, "a session from before SIGHUP was not resumed"
        c.greeting()
    # a broken pair on disk: the reload fails, the current certificate stays
    with open(first.cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    n = srv.log().count("reload_failed")
    srv.signal(signal.SIGHUP)
    wait_for(lambda: srv.log().count("reload_failed") > n, 5, "a reload_failed log line")
    assert fingerprints() == (second.fingerprint(),) * 2
    assert_alive_and_serving(srv, ctx)


def test_bad_tls_configuration_exits_2(tls_bin, cert, tmp_path):
    other = make_cert(tmp_path / "other")
    missing = str(tmp_path / "missing.pem")
    cases = [
        (["--tls-cert", missing, "--tls-key", cert.key], missing),
        (["--tls-cert", cert.cert, "--tls-key", missing], missing),
        (["--tls-cert", cert.cert, "--tls-key", other.key], ""),  # a key of another pair
        (["--listen-tls", "127.0.0.1:%d" % free_port()], "tls"),
    ]
    for args, want in cases:
        p = subprocess.run([tls_bin, "--listen", "127.0.0.1:%d" % free_port(), "--maildir",
                            str(tmp_path / "md")] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=CLIENT_TIMEOUT)
        err = p.stderr.decode("utf-8", "replace")
        assert p.returncode == 2, (args, p.returncode, err)
        assert want.lower() in err.lower(), (args, err)


def test_config_file_keys(tls_bin, cert, ctx, tmp_path):
    """listen, listen_tls, tls_cert and tls_key from the config file alone."""
    port, tls_port = free_port(), free_port()
    conf = tmp_path / "posternd.conf"
    conf.write_text("listen = 127.0.0.1:%d\nlisten_tls = 127.0.0.1:%d\ntls_cert = %s\n"
                    "tls_key = %s\nmaildir = %s\nhostname = %s\nworkers = 2\n"
                    "queue_dir = %s\ncontrol = %s\n"
                    % (port, tls_port, cert.cert, cert.key, tmp_path / "Maildir", HOSTNAME,
                       tmp_path / "queue", tmp_path / "control.sock"))
    srv = Server(str(tmp_path), port, str(tmp_path / "Maildir"),
                 [tls_bin, "--config", str(conf)], sanitizer_env(),
                 queue_dir=str(tmp_path / "queue"), control=str(tmp_path / "control.sock"))
    try:
        srv.wait_ready()
        srv.tls_port = tls_port
        wait_tls_ready(srv, cert.cert)
        with srv.connect() as c:
            assert "STARTTLS" in ehlo_keywords(c.ehlo())
        assert_alive_and_serving(srv, ctx)
    finally:
        srv.stop()


def test_listen_flags_in_any_order(tls_server, cert, ctx):
    """--listen, --listen-tls, --listen: all three listeners exist (a later
    --listen does not drop the --listen-tls before it)."""
    second = free_port()
    srv = tls_server(args=["--listen", "127.0.0.1:%d" % second])
    listening = [l for l in srv.log().splitlines() if "event=listening" in l]
    assert len(listening) == 3, listening
    with Raw(srv.host, second) as c:
        assert "STARTTLS" in ehlo_keywords(c.ehlo())


def test_make_cert_is_idempotent(tmp_path):
    need("openssl")
    pair = make_cert(tmp_path / "c")
    fp = pair.fingerprint()
    assert oct(os.stat(pair.key).st_mode & 0o777) == "0o600"
    assert make_cert(tmp_path / "c").fingerprint() == fp  # kept
    with open(pair.key, "w") as f:
        f.write("garbage\n")
    assert make_cert(tmp_path / "c").fingerprint() != fp  # a broken pair is replaced
    # the certificate names localhost and 127.0.0.1 and verifies against itself
    out = subprocess.run(["openssl", "x509", "-in", pair.cert, "-noout", "-ext", "subjectAltName"],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    assert "DNS:localhost" in out and "IP Address:127.0.0.1" in out, out


# ---------------------------------------------------------------- session resumption

@pytest.mark.parametrize("maximum", [None, ssl.TLSVersion.TLSv1_2], ids=["tls13", "tls12"])
def test_session_resumption(tls_server, cert, maximum):
    srv = tls_server()
    ctx = client_ctx(cert.cert, maximum=maximum)
    want = "TLSv1.2" if maximum else "TLSv1.3"
    # implicit TLS: the tickets arrive with (or before) the greeting
    c = connect_tls(srv.host, srv.tls_port, ctx)
    with c:
        c.greeting()
        assert c.sock.version() == want and not c.sock.session_reused
        check(c.cmd("QUIT"), 221)
        session = c.sock.session
    assert session is not None
    with connect_tls(srv.host, srv.tls_port, ctx, session=session) as c:
        assert c.sock.session_reused, "implicit TLS session not resumed"
        c.greeting()
        check(c.cmd("EHLO client.example"), 250)
        deliver(c, "resumed@localhost")
    tls = [l for l in srv.log().splitlines() if "event=tls " in l]
    assert "resumed=no" in tls[-2] and "resumed=yes" in tls[-1], tls
    check_tls_stored(srv.only_message("resumed@localhost"), MESSAGE, "ESMTPS", want)
    # STARTTLS: a session from one connection resumes on the next
    c, _ = tls_session(srv, ctx)
    with c:
        check(c.cmd("NOOP"), 250)
        session = c.sock.session
    with srv.connect() as c:
        c.ehlo()
        starttls(c, ctx, session=session)
        assert c.sock.session_reused, "STARTTLS session not resumed"
        check(c.cmd("EHLO client.example"), 250)
        check(c.cmd("NOOP"), 250, "2.0.0")


# ---------------------------------------------------------------- thread names

def test_threads_named_for_their_work(tls_server, ctx):
    """top -H and perf show what each thread does. A new thread takes the
    name of the one that made it: libuv's pool, whose first work here is a
    TLS handshake step on an event loop, must still say uv-pool."""
    srv = tls_server(implicit=False)
    c, _ = tls_session(srv, ctx)
    with c:
        deliver(c, "named@localhost")
        check(c.cmd("QUIT"), 221, "2.0.0")
    task = "/proc/%d/task" % srv.proc.pid
    names = {}
    for tid in os.listdir(task):
        with open(os.path.join(task, tid, "comm")) as f:
            name = f.read().strip()
        names[name] = names.get(name, 0) + 1
    assert names.get("smtp-0") == 1 and names.get("smtp-1") == 1, names
    assert names.get("queue-flush") == 1 and names.get("uv-pool", 0) >= 4, names
    assert names.get("queue-deliver", 0) >= 2, names
    assert set(names) <= {"posternd", "smtp-0", "smtp-1", "queue-flush", "uv-pool",
                          "queue-deliver", "cpu-pool"}, names
