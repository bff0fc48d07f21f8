"""Submission listeners (RFC 6409, RFC 8314 §3.3) next to a plain SMTP one in
one posternd: --listen-submission wants STARTTLS (when a certificate is set)
and AUTH before MAIL (530 5.7.0), --listen-submissions the same over implicit
TLS, while --listen goes on taking mail for local domains without AUTH.
Driven by the raw client, Python's smtplib and swaks."""

import smtplib
import ssl
import subprocess

import pytest

from conftest import Raw, check, free_port, need
from scram import scram_exchange
from test_auth import PASSWORD, USER, plain_ir, write_users
from tls_util import check_tls_stored, client_ctx, connect_tls, make_cert, starttls

MESSAGE = (b"From: alice@localhost\r\n"
           b"To: sub@localhost\r\n"
           b"Subject: submitted\r\n"
           b"\r\n"
           b"hello from the submission port\r\n")


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    need("openssl")
    return make_cert(tmp_path_factory.mktemp("subtls") / "pair")


@pytest.fixture
def sub_server(start_server, cert, tmp_path):
    """Factory: posternd with a users file, --listen (srv.port) and
    --listen-submission (srv.sub_port); with tls=True also a certificate and
    --listen-submissions (srv.subs_port)."""
    def start(tls=True, args=()):
        users = write_users(str(tmp_path / "users"))
        sub, subs = free_port(), free_port()
        argv = ["--users", users, "--listen-submission", "127.0.0.1:%d" % sub]
        if tls:
            argv += ["--tls-cert", cert.cert, "--tls-key", cert.key,
                     "--listen-submissions", "127.0.0.1:%d" % subs]
        srv = start_server(config={"auth_delay_max": "0"}, args=argv + list(args))
        srv.sub_port, srv.subs_port = sub, subs if tls else None
        return srv
    return start


def raw(srv, port):
    return Raw(srv.host, port)


def test_plain_listener_still_takes_local_mail(sub_server):
    srv = sub_server()
    with raw(srv, srv.port) as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<s@example.org>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<t@localhost>"), 250, "2.1.5")
        check(c.cmd("QUIT"), 221)


def test_submission_wants_tls_then_auth(sub_server, cert):
    srv = sub_server()
    ctx = client_ctx(cert.cert)
    with raw(srv, srv.sub_port) as c:
        r = c.ehlo()
        assert any(t.upper() == b"STARTTLS" for _, t in r.lines[1:]), r
        # AUTH is not offered while it could only get 530 (as Postfix's
        # smtpd_tls_auth_only)
        assert not any(t.upper().startswith(b"AUTH") for _, t in r.lines[1:]), r
        # before TLS: nothing but EHLO, HELO, STARTTLS, NOOP, RSET, QUIT
        check(c.cmd("MAIL FROM:<alice@localhost>"), 530, "5.7.0")
        check(c.cmd("AUTH PLAIN " + plain_ir()), 530, "5.7.0")
        check(c.cmd("NOOP"), 250)
        starttls(c, ctx)
        r = check(c.cmd("EHLO client.example"), 250)
        assert any(t.upper().startswith(b"AUTH ") for _, t in r.lines[1:]), r
        # after TLS: AUTH before MAIL (RFC 6409 §4.3, RFC 4954 §6)
        check(c.cmd("MAIL FROM:<alice@localhost>"), 530, "5.7.0", "authentication required")
        check(c.cmd("RCPT TO:<sub@localhost>"), 503, "5.5.1")
        check(c.cmd("AUTH PLAIN " + plain_ir()), 235, "2.7.0")
        check(c.cmd("MAIL FROM:<alice@localhost>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<sub@localhost>"), 250, "2.1.5")
        check(c.cmd("DATA"), 354)
        c.send(MESSAGE + b".\r\n")
        check(c.reply(), 250, "2.0.0")
        check(c.cmd("QUIT"), 221)
    check_tls_stored(srv.only_message("sub@localhost"), MESSAGE, "ESMTPSA")


def test_submissions_is_implicit_tls_with_auth(sub_server, cert):
    srv = sub_server()
    with connect_tls(srv.host, srv.subs_port, client_ctx(cert.cert)) as c:
        r = c.ehlo()
        assert not any(t.upper() == b"STARTTLS" for _, t in r.lines[1:]), r
        check(c.cmd("MAIL FROM:<alice@localhost>"), 530, "5.7.0")
        check(scram_exchange(c, "SCRAM-SHA-256", USER, PASSWORD), 235, "2.7.0")
        check(c.cmd("MAIL FROM:<alice@localhost>"), 250)
        check(c.cmd("RCPT TO:<sub@localhost>"), 250)
        check(c.cmd("DATA"), 354)
        c.send(MESSAGE + b".\r\n")
        check(c.reply(), 250, "2.0.0")
    check_tls_stored(srv.only_message("sub@localhost"), MESSAGE, "ESMTPSA")


def test_failed_auth_does_not_open_submission(sub_server, cert):
    srv = sub_server()
    with connect_tls(srv.host, srv.subs_port, client_ctx(cert.cert)) as c:
        c.ehlo()
        check(c.cmd("AUTH PLAIN " + plain_ir(password="wrong")), 535, "5.7.8")
        check(c.cmd("MAIL FROM:<alice@localhost>"), 530, "5.7.0")


def test_smtplib_submission_starttls_login(sub_server, cert):
    srv = sub_server()
    with smtplib.SMTP(srv.host, srv.sub_port, local_hostname="client.example", timeout=10) as s:
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail("alice@localhost", ["sub@localhost"], MESSAGE)
        assert e.value.smtp_code == 530
        s.starttls(context=ssl.create_default_context(cafile=cert.cert))
        s.login(USER, PASSWORD)
        assert s.sendmail("alice@localhost", ["sub@localhost"], MESSAGE) == {}
    st = srv.only_message("sub@localhost")
    assert st.with_ == "ESMTPSA" and st.body == MESSAGE


def test_swaks_submissions(sub_server, cert, tmp_path):
    swaks = need("swaks")
    srv = sub_server()
    f = tmp_path / "msg.eml"
    f.write_bytes(MESSAGE)
    p = subprocess.run([swaks, "--server", "%s:%d" % (srv.host, srv.subs_port), "--tlsc",
                        "--tls-verify", "--tls-ca-path", cert.cert, "--tls-sni", "localhost",
                        "--auth", "PLAIN", "--auth-user", USER, "--auth-password", PASSWORD,
                        "--helo", "client.example", "--from", "alice@localhost",
                        "--to", "sub@localhost", "--data", "@" + str(f), "--timeout", "10"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, out
    assert "235 2.7.0" in out and "250 2.0.0" in out, out
    assert srv.only_message("sub@localhost").with_ == "ESMTPSA"


def test_submission_without_certificate_wants_auth_only(sub_server):
    srv = sub_server(tls=False)
    with raw(srv, srv.sub_port) as c:
        r = c.ehlo()
        assert not any(t.upper() == b"STARTTLS" for _, t in r.lines[1:]), r
        check(c.cmd("MAIL FROM:<alice@localhost>"), 530, "5.7.0", "authentication required")
        # PLAIN is refused in the clear (538), SCRAM never shows the password
        check(c.cmd("AUTH PLAIN " + plain_ir()), 538, "5.7.11")
        check(scram_exchange(c, "SCRAM-SHA-256", USER, PASSWORD), 235, "2.7.0")
        check(c.cmd("MAIL FROM:<alice@localhost>"), 250)


def test_submission_needs_users(posternd_bin):
    p = subprocess.run([posternd_bin, "--listen-submission", "127.0.0.1:%d" % free_port()],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    assert p.returncode == 2
    assert b"listen_submission" in p.stdout and b"users" in p.stdout, p.stdout
