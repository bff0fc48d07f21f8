"""SMTP AUTH over TLS against a real posternd: UTF-8 credentials through
`postern send` with every mechanism (the -PLUS ones bound to the TLS
channel), an explicit `--auth` SCRAM without -PLUS while the server offers
-PLUS (RFC 5802 §6), the auth_channel_binding key, and mutt, whose default
choice of SCRAM-SHA-256-PLUS needs that key.

Run: POSTERND=build/test/posternd POSTERN=build/test/postern \\
     /usr/bin/python3 -m pytest tests/interop/test_auth_tls.py"""

import os
import subprocess

import pytest

from conftest import CLIENT_TIMEOUT, b64, check, free_port, need
from scram import scram_exchange
from test_auth import (PASSWORD, UNAME, UNAME_NFD, UPASS, UPASS_GSASL, UPASS_NFD, USER,
                       log_auth_lines, postern_bin, utf8_users)
from test_tls import cert, ctx, ehlo_auth_mechs, tls_bin, tls_server, tls_session  # noqa: F401 (fixtures)

PLUS = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"]


def send(srv, mode, user, password, mech=None, extra=()):
    """`postern send` to srv over STARTTLS or implicit TLS; (status, output)."""
    port = srv.port if mode == "--starttls" else srv.tls_port
    argv = [postern_bin(), "send", "--server", "127.0.0.1:%d" % port, mode,
            "--cafile", srv.pair.cert, "--from", "a@example.org", "--to", "b@localhost",
            "--user", user] + (["--auth", mech] if mech else []) + list(extra)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANG", "LC_"))}
    env.update(LC_ALL="C.UTF-8", POSTERN_PASSWORD=password)
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=CLIENT_TIMEOUT)
    return p.returncode, p.stdout.decode("utf-8", "replace")


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN", "SCRAM-SHA-1", "SCRAM-SHA-256",
                                  "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS", None])
def test_postern_send_utf8(tls_server, tmp_path, mech):
    """pässwörd-🔑 for jürgen, as `postern passwd` stored it, typed composed
    or decomposed (SASLprep's NFKC makes them one), over STARTTLS and
    implicit TLS."""
    srv = tls_server(config={"users": utf8_users(tmp_path), "auth_delay_max": "0"})
    for mode, user, password in (("--starttls", UNAME, UPASS), ("--starttls", UNAME_NFD, UPASS_NFD),
                                 ("--tls", UNAME_NFD, UPASS)):
        rc, out = send(srv, mode, user, password, mech)
        assert rc == 0, out
    rc, out = send(srv, "--starttls", UNAME, "p\u00e4ssw\u00f6rd-", mech)
    assert rc == 65 and "535 5.7.8" in out, out
    lines = log_auth_lines(srv)
    used = mech or "SCRAM-SHA-256-PLUS"  # the strongest offered
    assert len(lines) == 4 and all("mech=%s " % used in l and 'user="%s"' % UNAME in l
                                   for l in lines), lines
    assert ["result=ok" in l for l in lines] == [True, True, True, False], lines
    assert len(srv.messages("b@localhost")) == 3


@pytest.mark.parametrize("mode", ["--starttls", "--tls"])
@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-1"])
def test_explicit_scram_without_plus(tls_server, mode, mech):
    """`--auth SCRAM-SHA-256` is used as asked while the server offers the
    -PLUS twins: the client says "n" (it does not bind in this exchange);
    "y" would tell the server that a downgrade happened (RFC 5802 §6)."""
    srv = tls_server(users=True)
    rc, out = send(srv, mode, USER, PASSWORD, mech, ["-v"])
    assert rc == 0, out
    assert "%s-PLUS" % mech in out  # offered...
    assert "C: AUTH %s " % mech in out  # ...and not taken
    assert '"n,,n=%s,r=' % USER in out, out  # the GS2 header, decoded by -v
    lines = log_auth_lines(srv)
    assert len(lines) == 1 and "mech=%s " % mech in lines[0] and "result=ok" in lines[0], lines


@pytest.mark.parametrize("binding", ["yes", "no"])
def test_auth_channel_binding_key(tls_server, ctx, binding):
    """auth_channel_binding = no leaves the -PLUS mechanisms out of EHLO and
    refuses them with 504 5.5.4; a client's "y" then is no downgrade."""
    srv = tls_server(users=True, config={"auth_channel_binding": binding})
    c, r = tls_session(srv, ctx)
    with c:
        mechs = ehlo_auth_mechs(r)
        assert ("SCRAM-SHA-256-PLUS" in mechs) == (binding == "yes"), r.raw
        assert ("SCRAM-SHA-1-PLUS" in mechs) == (binding == "yes"), r.raw
        assert "SCRAM-SHA-256" in mechs and "PLAIN" in mechs, r.raw
        for mech in PLUS:
            cf = b64("p=tls-exporter,,n=%s,r=abcdefghijkl" % USER)
            if binding == "no":
                check(c.cmd("AUTH %s %s" % (mech, cf)), 504, "5.5.4")
            else:
                check(c.cmd("AUTH %s %s" % (mech, cf)), 334)
                check(c.cmd("*"), 501, "5.7.0")
    c, _ = tls_session(srv, ctx)
    with c:
        r = scram_exchange(c, "SCRAM-SHA-256", USER, PASSWORD, "y,,")
        if binding == "no":
            check(r, 235, "2.7.0")
        else:
            check(r, 535, "5.7.8")
    # postern send picks the strongest mechanism offered
    rc, out = send(srv, "--starttls", USER, PASSWORD)
    assert rc == 0, out
    used = "SCRAM-SHA-256-PLUS" if binding == "yes" else "SCRAM-SHA-256"
    assert "mech=%s " % used in log_auth_lines(srv)[-1]


def test_auth_channel_binding_bad_value(tls_bin, tmp_path):
    conf = tmp_path / "posternd.conf"
    conf.write_text("auth_channel_binding = maybe\n")
    p = subprocess.run([tls_bin, "--config", str(conf), "--listen", "127.0.0.1:%d" % free_port()],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=CLIENT_TIMEOUT)
    assert p.returncode == 2 and b"auth_channel_binding" in p.stdout, p.stdout


def test_mutt_default_settings(tls_server, tmp_path):
    """mutt 2.2 (GNU SASL inside) picks SCRAM-SHA-256-PLUS when offered and
    cannot complete it; with auth_channel_binding = no it logs in with
    SCRAM-SHA-256 over STARTTLS, its settings left at their defaults."""
    mutt = need("mutt")
    users = utf8_users(tmp_path, password=UPASS_GSASL)  # mutt's gsasl refuses emoji
    srv = tls_server(config={"users": users, "auth_delay_max": "0",
                             "auth_channel_binding": "no"})
    home = tmp_path / "mutthome"
    for sub in ("cur", "new", "tmp"):
        os.makedirs(home / "Mail" / sub)
    muttrc = home / "muttrc"
    muttrc.write_text("\n".join([
        'set smtp_url="smtp://%s@localhost:%d/"' % (UNAME, srv.port),
        'set smtp_pass="%s"' % UPASS_GSASL,
        'set ssl_starttls=yes', 'set ssl_force_tls=yes',
        'set ssl_ca_certificates_file="%s"' % srv.pair.cert,
        'set certificate_file="%s"' % (home / "certificates"),
        'set from="alice@example.org"', 'set use_from=yes', 'set record=""',
        'set hostname="client.example"', 'set mbox_type=Maildir',
        'set folder="%s"' % (home / "Mail"), 'set spoolfile="%s"' % (home / "Mail"), ""]),
        encoding="utf-8")
    env = dict(os.environ, HOME=str(home), LC_ALL="C.UTF-8")
    p = subprocess.run([mutt, "-n", "-F", str(muttrc), "-s", "from mutt", "b@localhost"],
                       input=b"hello from mutt\n", env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=CLIENT_TIMEOUT)
    assert p.returncode == 0, p.stdout
    lines = log_auth_lines(srv)
    assert len(lines) == 1 and "mech=SCRAM-SHA-256 " in lines[0] and "result=ok" in lines[0], lines
    m = srv.only_message("b@localhost")
    assert m.with_ == "ESMTPSA" and b"hello from mutt" in m.body
    assert b"Subject: from mutt" in m.body
