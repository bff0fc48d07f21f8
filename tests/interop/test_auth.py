"""SMTP AUTH (RFC 4954, SPEC §3) against a real posternd: the 334 exchange
byte for byte, the failure and recovery rules, the per-address delay, the
users file (written here, by `gsasl --mkpasswd`, `openssl passwd` and by
`postern passwd`), SIGHUP reloads, and clients nobody here wrote: swaks,
curl, msmtp, Python's smtplib and GNU SASL's own `gsasl`.

TLS does not exist yet, so the servers run with --auth-plaintext where PLAIN
and LOGIN are used."""

import base64
import hashlib
import hmac
import os
import re
import signal
import smtplib
import stat
import subprocess
import time
import unicodedata

import pytest

from conftest import CLIENT_TIMEOUT, TIMEOUT, b64, check, free_port, need
from conftest import run_client as run
from scram import Scram, hash_of, scram_exchange

POSTERN = os.environ.get(
    "POSTERN",
    os.path.join(os.path.dirname(__file__), "..", "..", "build", "test", "postern"),
)

USER = "alice"
PASSWORD = "correct horse battery"
OTHER = "bob@example.org"          # a user name with @, as submission clients send
OTHER_PASSWORD = "Tr0ub4dor&3"

MESSAGE = (b"From: Alice <alice@example.org>\r\n"
           b"To: a@localhost\r\n"
           b"Subject: authenticated\r\n"
           b"\r\n"
           b"hello\r\n")


# ---------------------------------------------------------------- users file


def scram_keys(hname, password, salt, iterations):
    """RFC 5802 §3, written from the RFC (independently of the server)."""
    salted = hashlib.pbkdf2_hmac(hname, password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hname).digest()
    stored = hashlib.new(hname, client_key).digest()
    server = hmac.new(salted, b"Server Key", hname).digest()
    return salted, stored, server


def scram_field(hname, password, salt, iterations=4096):
    _, stored, server = scram_keys(hname, password, salt, iterations)
    return "%d,%s,%s,%s" % (iterations, b64(salt), b64(stored), b64(server))


def openssl_sha512_crypt(password):
    out = subprocess.run([need("openssl"), "passwd", "-6", "-stdin"], input=password.encode(),
                         stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    assert out.startswith("$6$"), out
    return out


def gsasl_mkpasswd(mech, password):
    """`gsasl --mkpasswd` prints "{MECH}iter,salt,stored,server": the users
    file takes it as is."""
    out = subprocess.run([need("gsasl"), "--mkpasswd", "--mechanism", mech, "--password", password,
                          "--iteration-count", "4096"],
                         stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    assert out.startswith("{%s}" % mech), out
    return out


def write_users(path, cram=True):
    """alice: every form (sha512-crypt from openssl, SCRAM keys computed
    here, the CRAM-MD5 secret); bob@example.org: SCRAM from gsasl --mkpasswd."""
    alice = "%s:%s:%s:%s%s" % (
        USER, openssl_sha512_crypt(PASSWORD),
        scram_field("sha256", PASSWORD, os.urandom(16)),
        scram_field("sha1", PASSWORD, os.urandom(16)),
        (":" + b64(PASSWORD)) if cram else "")
    bob = "%s:%s:%s:%s" % (OTHER, openssl_sha512_crypt(OTHER_PASSWORD),
                           gsasl_mkpasswd("SCRAM-SHA-256", OTHER_PASSWORD),
                           gsasl_mkpasswd("SCRAM-SHA-1", OTHER_PASSWORD))
    with open(path, "w") as f:
        f.write("# postern users: name:crypt:scram-sha-256:scram-sha-1[:cram-md5]\n\n")
        f.write(alice + "\n" + bob + "\n")
    os.chmod(path, 0o600)
    return path


@pytest.fixture
def auth_server(start_server, tmp_path):
    """Factory: a posternd with a users file. plaintext adds --auth-plaintext;
    the delay before a 535 is capped low unless a test wants it."""
    def start(config=None, plaintext=True, cram=False, users=None, args=(), **kw):
        path = users or write_users(str(tmp_path / ("users%d" % len(os.listdir(tmp_path)))))
        cfg = {"users": path, "auth_delay_max": "0"}
        if cram:
            cfg["cram_md5"] = "yes"
        cfg.update(config or {})
        argv = list(args) + (["--auth-plaintext"] if plaintext else [])
        srv = start_server(config=cfg, args=argv, **kw)
        srv.users = path
        return srv
    return start


def plain_ir(user=USER, password=PASSWORD, authzid=""):
    return b64("%s\0%s\0%s" % (authzid, user, password))


def auth_plain(c, user=USER, password=PASSWORD):
    return c.cmd("AUTH PLAIN " + plain_ir(user, password))


def log_auth_lines(srv):
    return [l for l in srv.log().splitlines() if "event=auth " in l]


def sighup_and_wait(srv, event="users_reloaded"):
    """SIGHUP, then poll the log until one more event=<event> line appears."""
    before = srv.log().count("event=%s" % event)
    srv.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while srv.log().count("event=%s" % event) == before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.log().count("event=%s" % event) > before, srv.log()[-2000:]


# ---------------------------------------------------------------- policy and advertisement

def ehlo_auth_line(c):
    r = c.ehlo()
    lines = [t.decode() for _, t in r.lines if t.startswith(b"AUTH")]
    return lines[0] if lines else None


def test_no_users_file_means_no_auth(server):
    with server.connect() as c:
        assert ehlo_auth_line(c) is None
        check(c.cmd("AUTH PLAIN " + plain_ir()), 502, "5.5.1")


def test_advertised_in_configured_order(auth_server):
    srv = auth_server(plaintext=False)
    with srv.connect() as c:
        # before TLS only what never exposes the password
        assert ehlo_auth_line(c) == "AUTH SCRAM-SHA-256 SCRAM-SHA-1"
    srv = auth_server()
    with srv.connect() as c:
        assert ehlo_auth_line(c) == "AUTH SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN"
    srv = auth_server(cram=True, config={"auth_mechanisms": "login, PLAIN CRAM-MD5 scram-sha-1"})
    with srv.connect() as c:
        assert ehlo_auth_line(c) == "AUTH LOGIN PLAIN CRAM-MD5 SCRAM-SHA-1"
        # configured away: not offered
        check(c.cmd("AUTH SCRAM-SHA-256"), 504, "5.5.4")


def test_policy_refusals(auth_server):
    srv = auth_server(plaintext=False)
    with srv.connect() as c:
        c.greeting()
        check(c.cmd("AUTH PLAIN " + plain_ir()), 503, "5.5.1")  # before EHLO
        c.cmd("EHLO client.example")
        check(c.cmd("AUTH PLAIN " + plain_ir()), 538, "5.7.11", "encryption required")
        check(c.cmd("AUTH LOGIN"), 538, "5.7.11")
        check(c.cmd("AUTH CRAM-MD5"), 534, "5.7.9")  # known, too weak for this policy
        for mech in ("DIGEST-MD5", "NTLM", "GSSAPI", "XOAUTH2", "SCRAM-SHA-256-PLUS", "BOGUS"):
            check(c.cmd("AUTH " + mech), 504, "5.5.4")
        check(c.cmd("NOOP"), 250)


def test_bad_users_file_exits_2(posternd_bin, tmp_path):
    bad = tmp_path / "users"
    bad.write_text("# users\nalice:%s\nthis line has no colon\n" % openssl_sha512_crypt("x"))
    p = subprocess.run([posternd_bin, "--listen", "127.0.0.1:%d" % free_port(), "--maildir",
                        str(tmp_path / "md"), "--users", str(bad)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=CLIENT_TIMEOUT)
    assert p.returncode == 2
    err = p.stderr.decode()
    assert "line 3" in err and str(bad) in err, err
    p = subprocess.run([posternd_bin, "--listen", "127.0.0.1:%d" % free_port(), "--maildir",
                        str(tmp_path / "md"), "--users", str(tmp_path / "missing")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=CLIENT_TIMEOUT)
    assert p.returncode == 2
    assert "No such file" in p.stderr.decode()
    # require_auth without users, and CRAM-MD5 listed while disabled
    conf = tmp_path / "c.conf"
    for text, want in (("require_auth = yes\n", "require_auth"),
                       ("users = %s\nauth_mechanisms = CRAM-MD5\n" % bad, "cram_md5"),
                       ("auth_mechanisms = DIGEST-MD5\n", "DIGEST-MD5")):
        conf.write_text(text)
        p = subprocess.run([posternd_bin, "--config", str(conf)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=CLIENT_TIMEOUT)
        assert p.returncode == 2, text
        assert want in p.stderr.decode(), p.stderr


# ---------------------------------------------------------------- the 334 exchange, byte for byte

def test_plain_exchange_bytes(auth_server):
    srv = auth_server()
    with srv.connect() as c:
        c.ehlo()
        r = c.cmd("AUTH PLAIN")
        assert r.raw == b"334 \r\n"  # the empty challenge keeps its space
        r = c.cmd(plain_ir())
        assert r.raw == b"235 2.7.0 Authentication successful\r\n"
        check(c.cmd("AUTH PLAIN " + plain_ir()), 503, "5.5.1")  # AUTH after success
    with srv.connect() as c:
        c.ehlo()
        check(c.cmd("AUTH PLAIN ="), 535, "5.7.8")  # "=": an empty initial response
        check(auth_plain(c), 235, "2.7.0")
    with srv.connect() as c:
        c.ehlo()
        # PLAIN's authzid: the user itself is fine, anyone else is refused
        check(c.cmd("AUTH PLAIN " + plain_ir(authzid="postmaster")), 535, "5.7.8")
        check(c.cmd("AUTH PLAIN " + plain_ir(authzid=USER)), 235)
    with srv.connect() as c:
        c.ehlo()
        check(c.cmd("AUTH PLAIN " + b64("\0al\x01ice\0" + PASSWORD)), 535, "5.7.8")
        check(c.cmd("MAIL FROM:<a@example.org>"), 250)
        check(c.cmd("AUTH PLAIN " + plain_ir()), 503, "5.5.1")  # in a transaction


@pytest.mark.parametrize("ttl", ["3600", "0"])
def test_password_cache(auth_server, ttl):
    """A password checked good is not hashed again while cached; a wrong one
    always is, and never enters the cache; ttl 0 turns it off."""
    srv = auth_server(config={"auth_cache_ttl": ttl})
    for password in (PASSWORD, PASSWORD, "wrong", PASSWORD):
        with srv.connect() as c:
            c.ehlo()
            check(auth_plain(c, password=password), 235 if password == PASSWORD else 535)
    with srv.connect() as c:  # LOGIN shares it
        c.ehlo()
        check(c.cmd("AUTH LOGIN " + b64(USER)), 334)
        check(c.cmd(b64(PASSWORD)), 235)
    lines = log_auth_lines(srv)
    cached = [("reason=\"password cache\"" in l or "reason=password" in l) for l in lines]
    assert len(lines) == 5, lines
    if ttl == "0":
        assert not any(cached), lines
    else:
        assert cached == [False, True, False, True, True], lines
    assert "result=failed" in lines[2]


def test_login_exchange_bytes(auth_server):
    srv = auth_server()
    with srv.connect() as c:
        c.ehlo()
        assert c.cmd("AUTH LOGIN").raw == b"334 VXNlcm5hbWU6\r\n"  # "Username:"
        assert c.cmd(b64(USER)).raw == b"334 UGFzc3dvcmQ6\r\n"  # "Password:"
        check(c.cmd(b64(PASSWORD)), 235, "2.7.0")
    with srv.connect() as c:
        c.ehlo()
        assert c.cmd("AUTH LOGIN " + b64(OTHER)).raw == b"334 UGFzc3dvcmQ6\r\n"
        check(c.cmd(b64(OTHER_PASSWORD)), 235)


def test_cram_md5_exchange(auth_server):
    srv = auth_server(cram=True)
    with srv.connect() as c:
        c.ehlo()
        before = int(time.time())
        r = check(c.cmd("AUTH CRAM-MD5"), 334)
        challenge = base64.b64decode(r.text)
        # SPEC §3, RFC 2195 §2: <random.timestamp@hostname>, this server's name
        m = re.fullmatch(rb"<(\d+)\.(\d+)@([^>]+)>", challenge)
        assert m, challenge
        assert before <= int(m.group(2)) <= time.time()
        assert m.group(3).decode() == srv.hostname
        digest = hmac.new(PASSWORD.encode(), challenge, "md5").hexdigest()
        check(c.cmd(b64("%s %s" % (USER, digest))), 235, "2.7.0")
    with srv.connect() as c:
        c.ehlo()
        # RFC 4954 §4: an initial response to a mechanism the server begins
        check(c.cmd("AUTH CRAM-MD5 " + b64("x")), 501, "5.7.0")
        check(c.cmd("AUTH CRAM-MD5 ="), 501, "5.7.0")
        # and the session goes on
        r = check(c.cmd("AUTH CRAM-MD5"), 334)
        digest = hmac.new(PASSWORD.encode(), base64.b64decode(r.text), "md5").hexdigest()
        check(c.cmd(b64("%s %s" % (USER, digest.upper()))), 235, "2.7.0")
    with srv.connect() as c:
        c.ehlo()
        # bob has no CRAM-MD5 secret: refused like a wrong password
        r = check(c.cmd("AUTH CRAM-MD5"), 334)
        digest = hmac.new(OTHER_PASSWORD.encode(), base64.b64decode(r.text), "md5").hexdigest()
        check(c.cmd(b64("%s %s" % (OTHER, digest))), 535, "5.7.8")


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-1"])
def test_scram_exchange(auth_server, mech):
    srv = auth_server(plaintext=False)  # SCRAM needs no TLS: the password never crosses
    for user, password in ((USER, PASSWORD), (OTHER, OTHER_PASSWORD)):
        with srv.connect() as c:
            c.ehlo()
            check(scram_exchange(c, mech, user, password), 235, "2.7.0")
    with srv.connect() as c:
        c.ehlo()
        check(scram_exchange(c, mech, USER, "wrong"), 535, "5.7.8")
        check(scram_exchange(c, mech, "nobody", "wrong"), 535, "5.7.8")
        # without an initial response: an empty challenge first
        s = Scram(hash_of(mech), USER, PASSWORD)
        assert c.cmd("AUTH " + mech).raw == b"334 \r\n"
        r = check(c.cmd(b64(s.client_first())), 334)
        r = check(c.cmd(b64(s.client_final(base64.b64decode(r.text).decode()))), 334)
        assert base64.b64decode(r.text).decode() == s.verifier
        check(c.cmd(""), 235)


# ---------------------------------------------------------------- failures, recovery, limits

def test_every_failure_leaves_the_session_usable(auth_server):
    # a 535 and each "*" count toward max_auth_failures: room for all of them here
    srv = auth_server(config={"max_auth_failures": "5"})
    with srv.connect() as c:
        c.ehlo()
        check(auth_plain(c, password="wrong"), 535, "5.7.8", "authentication failed")
        check(c.cmd("AUTH LOGIN"), 334)
        check(c.cmd("*"), 501, "5.7.0", "cancelled")
        check(c.cmd("AUTH PLAIN !!!!"), 501, "5.5.2")
        check(c.cmd("AUTH LOGIN"), 334)
        check(c.cmd("not base64 at all"), 501, "5.5.2")
        check(c.cmd("AUTH PLAIN *"), 501, "5.7.0")
        # a response over 12288 octets (RFC 4954 §4)
        check(c.cmd("AUTH LOGIN"), 334)
        check(c.cmd("A" * 12400), 500, "5.5.6")
        check(c.cmd("AUTH PLAIN " + "A" * 12400), 500, "5.5.6")
        check(c.cmd("NOOP"), 250)
        # a second wrong password is the fourth failure (two cancels): the session goes on
        check(auth_plain(c, user="nobody"), 535, "5.7.8")
        check(auth_plain(c), 235, "2.7.0")
        check(c.cmd("MAIL FROM:<alice@example.org>"), 250)


def test_three_failures_close_with_421(auth_server):
    srv = auth_server()
    with srv.connect() as c:
        c.ehlo()
        check(auth_plain(c, password="x1"), 535)
        check(scram_exchange(c, "SCRAM-SHA-1", USER, "x2"), 535)
        c.send(("AUTH PLAIN %s\r\n" % plain_ir(password="x3")).encode())
        check(c.reply(), 535, "5.7.8")
        check(c.reply(), 421, "4.7.0")
        c.expect_closed()
    # configurable
    srv = auth_server(config={"max_auth_failures": "1"})
    with srv.connect() as c:
        c.ehlo()
        c.send(("AUTH PLAIN %s\r\n" % plain_ir(password="x")).encode())
        check(c.reply(), 535)
        check(c.reply(), 421, "4.7.0")
        c.expect_closed()


def test_require_auth_530_then_esmtpa(auth_server):
    srv = auth_server(config={"require_auth": "yes"})
    with srv.connect() as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<alice@example.org>"), 530, "5.7.0", "authentication required")
        check(auth_plain(c), 235)
        check(c.cmd("MAIL FROM:<alice@example.org> AUTH=<>"), 250, "2.1.0")  # RFC 4954 §5
        check(c.cmd("RCPT TO:<a@localhost>"), 250)
        # authenticated, but relaying is not built: other domains are refused
        check(c.cmd("RCPT TO:<someone@elsewhere.example>"), 554, "5.7.1")
        check(c.cmd("DATA"), 354)
        c.send(MESSAGE + b".\r\n")
        check(c.reply(), 250, "2.0.0")
    st = srv.only_message("a@localhost")
    assert st.with_ == "ESMTPA"
    assert st.body == MESSAGE


def test_unknown_user_and_wrong_password_look_alike(auth_server, tmp_path):
    """Same reply and the same log line. (That both cost one real hash check
    is proven without a clock in test_creds.c: unknown_user_costs_a_real_check.)"""
    postern = postern_bin()
    users = str(tmp_path / "yusers")
    run_passwd(postern, ["add", USER, "--file", users, "--stdin"], PASSWORD)
    srv = auth_server(users=users)

    def attempt(user, password):
        with srv.connect() as c:
            c.ehlo()
            return auth_plain(c, user, password)

    r1 = attempt(USER, "wrong")
    r2 = attempt("nobody", "wrong")
    assert r1.raw == r2.raw == b"535 5.7.8 Error: authentication failed\r\n"


def wait_log(srv, text, timeout=30):
    deadline = time.monotonic() + timeout
    while text not in srv.log():
        assert time.monotonic() < deadline, "%r not logged:\n%s" % (text, srv.log()[-2000:])
        time.sleep(0.02)


def test_failures_from_one_address_are_delayed_more_and_more(auth_server):
    """The schedule is read from the log (delay_ms), so nothing here depends
    on how busy the machine is; wall time is only checked from below (a
    535 can never come before its delay)."""
    srv = auth_server(config={"auth_delay_max": "1200"})
    times = []
    with srv.connect() as c, srv.connect() as other:
        c.ehlo()
        other.ehlo()
        for _ in range(2):
            t = time.monotonic()
            check(auth_plain(c, password="wrong"), 535)
            times.append(time.monotonic() - t)
        # the third: while its 535 waits, the loop serves another connection,
        # whose NOOP is answered before that 535 arrives
        t = time.monotonic()
        c.send(("AUTH PLAIN %s\r\n" % plain_ir(password="wrong")).encode())
        wait_log(srv, "delay_ms=1000")
        check(other.cmd("NOOP"), 250)
        c.sock.setblocking(False)
        try:
            early = c.sock.recv(1)
        except BlockingIOError:
            early = b""
        finally:
            c.sock.setblocking(True)
        assert early == b"", "the 535 came before the other session's NOOP"
        check(c.reply(), 535)
        times.append(time.monotonic() - t)
        check(c.reply(), 421)
    # 250 ms, 500 ms, then 1000 ms
    assert times[0] >= 0.25 and times[1] >= 0.5 and times[2] >= 1.0, times
    # a new connection from the same address: capped at auth_delay_max
    with srv.connect() as c:
        c.ehlo()
        t = time.monotonic()
        check(auth_plain(c, password="wrong"), 535)
        assert time.monotonic() - t >= 1.2
        # success is not delayed
        check(auth_plain(c), 235)
    delays = [int(m) for m in re.findall(r"event=auth .*result=failed .*delay_ms=(\d+)", srv.log())]
    assert delays == [250, 500, 1000, 1200], delays
    ok = [l for l in srv.log().splitlines() if "event=auth " in l and "result=ok" in l]
    assert len(ok) == 1 and "delay_ms=0" in ok[0], ok


def test_noop_answered_while_20_sessions_authenticate(auth_server, tmp_path):
    """Password checks run on the pool: the loop keeps answering."""
    postern = postern_bin()
    users = str(tmp_path / "yusers")
    run_passwd(postern, ["add", USER, "--file", users, "--stdin"], PASSWORD)
    srv = auth_server(users=users)
    conns = []
    for _ in range(20):
        c = srv.connect()
        c.ehlo()
        conns.append(c)
    with srv.connect() as probe:
        probe.ehlo()
        line = ("AUTH PLAIN %s\r\n" % plain_ir()).encode()
        for c in conns:
            c.send(line)
        worst = 0
        for _ in range(5):
            t = time.monotonic()
            check(probe.cmd("NOOP"), 250)
            worst = max(worst, time.monotonic() - t)
        for c in conns:
            check(c.reply(), 235)
            c.close()
    assert worst < 1.0, worst


def test_logs_name_mechanism_user_result_and_never_secrets(auth_server):
    srv = auth_server(cram=True)
    secrets = set()
    with srv.connect() as c:
        c.ehlo()
        check(auth_plain(c), 235)
        secrets |= {plain_ir(), PASSWORD}
    with srv.connect() as c:
        c.ehlo()
        check(c.cmd("AUTH LOGIN " + b64(USER)), 334)
        check(c.cmd(b64("Wr0ng-Secret-9")), 535)
        secrets |= {b64("Wr0ng-Secret-9"), "Wr0ng-Secret-9"}
        s = Scram("sha256", USER, PASSWORD)
        r = c.cmd("AUTH SCRAM-SHA-256 " + b64(s.client_first()))
        final = s.client_final(base64.b64decode(r.text).decode())
        r = c.cmd(b64(final))
        secrets |= {b64(final), final.split(",p=")[1], r.text, base64.b64decode(r.text).decode()}
        check(c.cmd(""), 235)
    with srv.connect() as c:
        c.ehlo()
        r = c.cmd("AUTH CRAM-MD5")
        secrets |= {r.text, base64.b64decode(r.text).decode()}
        check(c.cmd("*"), 501)
    srv.stop()
    log = srv.log()
    for s in secrets:
        assert s not in log, "secret %r in the log" % s
    lines = log_auth_lines(srv)
    assert any("mech=PLAIN user=\"alice\" result=ok" in l for l in lines), lines
    assert any("mech=LOGIN user=\"alice\" result=failed" in l and "reason=\"wrong password\"" in l
               for l in lines), lines
    assert any("mech=SCRAM-SHA-256 user=\"alice\" result=ok" in l for l in lines), lines
    assert any("mech=CRAM-MD5" in l and "result=aborted" in l for l in lines), lines


# ---------------------------------------------------------------- SIGHUP

def test_sighup_reloads_users_without_dropping_sessions(auth_server, tmp_path):
    srv = auth_server()
    with srv.connect() as old:
        old.ehlo()
        check(auth_plain(old), 235)
        # a new user appears; the file is replaced as an editor would
        tmp = srv.users + ".new"
        with open(srv.users) as f:
            text = f.read()
        with open(tmp, "w") as f:
            f.write(text + "carol:%s\n" % openssl_sha512_crypt("carol-pw"))
        os.rename(tmp, srv.users)
        sighup_and_wait(srv)
        with srv.connect() as c:
            c.ehlo()
            check(auth_plain(c, "carol", "carol-pw"), 235)
        # a broken file: logged, the previous one stays in force
        with open(srv.users, "a") as f:
            f.write("broken line\n")
        sighup_and_wait(srv, "reload_failed")
        log = srv.log()
        assert "event=reload_failed" in log and "line 6" in log, log[-2000:]
        with srv.connect() as c:
            c.ehlo()
            check(auth_plain(c, "carol", "carol-pw"), 235)
        # the session opened before both reloads carries on
        check(old.cmd("MAIL FROM:<alice@example.org>"), 250)
        check(old.cmd("RCPT TO:<a@localhost>"), 250)
        check(old.cmd("DATA"), 354)
        old.send(MESSAGE + b".\r\n")
        check(old.reply(), 250)
    assert srv.only_message("a@localhost").with_ == "ESMTPA"


# ---------------------------------------------------------------- clients nobody here wrote


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_swaks(auth_server, mech):
    swaks = need("swaks")
    srv = auth_server(cram=True)
    _, out = run([swaks, "--server", "%s:%d" % (srv.host, srv.port), "--helo", "client.example",
                  "--auth", mech, "--auth-user", USER, "--auth-password", PASSWORD,
                  "--from", "alice@example.org", "--to", "a@localhost", "--timeout", "10"])
    assert "235 2.7.0" in out
    assert srv.only_message("a@localhost").with_ == "ESMTPA"
    rc, out = run([swaks, "--server", "%s:%d" % (srv.host, srv.port), "--auth", mech,
                   "--auth-user", USER, "--auth-password", "wrong", "--from", "alice@example.org",
                   "--to", "a@localhost", "--timeout", "10"], ok=False)
    assert rc != 0 and "535 5.7.8" in out


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN", "CRAM-MD5", "*"])
def test_curl(auth_server, tmp_path, mech):
    """curl 7.88 (Debian's, without GNU SASL) speaks PLAIN, LOGIN and
    CRAM-MD5 of ours; "*" lets it pick from what EHLO offers."""
    curl = need("curl")
    srv = auth_server(cram=True)
    msg = tmp_path / "msg"
    msg.write_bytes(MESSAGE)
    run([curl, "-sS", "--url", "smtp://%s:%d" % (srv.host, srv.port), "--mail-from",
         "alice@example.org", "--mail-rcpt", "a@localhost", "--user", "%s:%s" % (USER, PASSWORD),
         "--login-options", "AUTH=" + mech, "-T", str(msg)])
    st = srv.only_message("a@localhost")
    assert st.with_ == "ESMTPA" and st.body == MESSAGE
    rc, _ = run([curl, "-sS", "--url", "smtp://%s:%d" % (srv.host, srv.port), "--mail-from",
                 "alice@example.org", "--mail-rcpt", "a@localhost", "--user", USER + ":wrong",
                 "--login-options", "AUTH=" + mech, "-T", str(msg)], ok=False)
    assert rc == 67  # CURLE_LOGIN_DENIED


@pytest.mark.parametrize("mech", ["plain", "login", "cram-md5", "scram-sha-1", "scram-sha-256"])
def test_msmtp(auth_server, tmp_path, mech):
    msmtp = need("msmtp")
    srv = auth_server(cram=True)
    argv = [msmtp, "--host=" + srv.host, "--port=%d" % srv.port, "--tls=off", "--auth=" + mech,
            "--user=" + OTHER if mech.startswith("scram") else "--user=" + USER,
            "--passwordeval=cat " + str(tmp_path / "pw"), "--from=alice@example.org",
            "--domain=client.example", "a@localhost"]
    (tmp_path / "pw").write_text(OTHER_PASSWORD if mech.startswith("scram") else PASSWORD)
    run(argv, input=MESSAGE)
    st = srv.only_message("a@localhost")
    assert st.with_ == "ESMTPA"
    (tmp_path / "pw").write_text("wrong")
    rc, out = run(argv, input=MESSAGE, ok=False)
    assert rc != 0, out
    assert len(srv.messages("a@localhost")) == 1


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_smtplib(auth_server, mech):
    srv = auth_server(cram=True)
    with smtplib.SMTP(srv.host, srv.port, local_hostname="client.example", timeout=TIMEOUT) as s:
        s.ehlo()
        assert mech in s.esmtp_features["auth"].split()
        s.user, s.password = USER, PASSWORD
        obj = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login, "CRAM-MD5": s.auth_cram_md5}[mech]
        code, resp = s.auth(mech, obj, initial_response_ok=(mech != "CRAM-MD5"))
        assert code == 235, resp
        assert s.sendmail("alice@example.org", ["a@localhost"], MESSAGE) == {}
    assert srv.only_message("a@localhost").with_ == "ESMTPA"
    with smtplib.SMTP(srv.host, srv.port, timeout=TIMEOUT) as s:
        s.ehlo()
        s.user, s.password = USER, "wrong"
        obj = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login, "CRAM-MD5": s.auth_cram_md5}[mech]
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.auth(mech, obj)
        assert e.value.smtp_code == 535


@pytest.mark.parametrize("mech", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_gsasl_client_scram(auth_server, mech):
    gsasl = need("gsasl")
    srv = auth_server(plaintext=False)
    for user, password in ((USER, PASSWORD), (OTHER, OTHER_PASSWORD)):
        rc, out = run([gsasl, "--smtp", "--client", "--no-starttls", "--mechanism", mech,
                       "--authentication-id", user, "--password", password, "--quiet",
                       "--connect", "%s:%d" % (srv.host, srv.port)], input=b"")
        assert "235 2.7.0" in out, out
    rc, out = run([gsasl, "--smtp", "--client", "--no-starttls", "--mechanism", mech,
                   "--authentication-id", USER, "--password", "wrong", "--quiet",
                   "--connect", "%s:%d" % (srv.host, srv.port)], input=b"", ok=False)
    assert rc != 0 and "535 5.7.8" in out, out
    lines = log_auth_lines(srv)
    assert sum("mech=%s" % mech in l and "result=ok" in l for l in lines) == 2, lines


# ---------------------------------------------------------------- postern passwd

def postern_bin():
    path = os.path.abspath(POSTERN)
    assert os.access(path, os.X_OK), "postern is not built at %s (set POSTERN)" % path
    return path


def run_passwd(postern, args, password=None, ok=True):
    p = subprocess.run([postern, "passwd"] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=CLIENT_TIMEOUT,
                       input=b"" if password is None else (password + "\n").encode())
    if ok:
        assert p.returncode == 0, (args, p.stderr.decode())
    return p


def test_postern_passwd_and_posternd(auth_server, tmp_path):
    postern = postern_bin()
    users = str(tmp_path / "etc" / "users")
    os.mkdir(tmp_path / "etc")
    run_passwd(postern, ["add", USER, "--file", users, "--stdin", "--cram-md5"], PASSWORD)
    run_passwd(postern, ["add", OTHER, "--file", users, "--stdin", "--scheme", "bcrypt"],
               OTHER_PASSWORD)
    assert stat.S_IMODE(os.stat(users).st_mode) == 0o600
    assert os.listdir(tmp_path / "etc") == ["users"]  # no temporary file left
    text = open(users).read()
    assert PASSWORD not in text and OTHER_PASSWORD not in text
    fields = text.splitlines()[0].split(":")
    assert fields[0] == USER and fields[1].startswith("$y$") and len(fields) == 5
    out = run_passwd(postern, ["list", "--file", users]).stdout.decode()
    assert out == ("%s\tyescrypt scram-sha-256 scram-sha-1 cram-md5\n"
                   "%s\tbcrypt scram-sha-256 scram-sha-1\n" % (USER, OTHER))
    # the file written is the one posternd reads: every mechanism works
    srv = auth_server(users=users, cram=True)
    with srv.connect() as c:
        c.ehlo()
        check(auth_plain(c), 235)
    with srv.connect() as c:
        c.ehlo()
        check(scram_exchange(c, "SCRAM-SHA-256", OTHER, OTHER_PASSWORD), 235)
    with srv.connect() as c:
        c.ehlo()
        check(scram_exchange(c, "SCRAM-SHA-1", USER, PASSWORD), 235)
    with srv.connect() as c:
        c.ehlo()
        r = check(c.cmd("AUTH CRAM-MD5"), 334)
        digest = hmac.new(PASSWORD.encode(), base64.b64decode(r.text), "md5").hexdigest()
        check(c.cmd(b64("%s %s" % (USER, digest))), 235)
    # set: the old password stops working after a reload
    run_passwd(postern, ["set", USER, "--file", users, "--stdin"], "new password")
    assert stat.S_IMODE(os.stat(users).st_mode) == 0o600
    sighup_and_wait(srv)
    with srv.connect() as c:
        c.ehlo()
        check(auth_plain(c), 535)
        check(auth_plain(c, USER, "new password"), 235)
    # errors: exit 1 with a reason, the file untouched
    before = open(users).read()
    p = run_passwd(postern, ["add", USER, "--file", users, "--stdin"], "x", ok=False)
    assert p.returncode == 1 and b"exists" in p.stderr
    p = run_passwd(postern, ["set", "nobody", "--file", users, "--stdin"], "x", ok=False)
    assert p.returncode == 1 and b"no user" in p.stderr
    p = run_passwd(postern, ["add", "carol", "--file", users, "--stdin"], "", ok=False)
    assert p.returncode == 1
    p = run_passwd(postern, ["add", "bad:name", "--file", users, "--stdin"], "x", ok=False)
    assert p.returncode == 2
    p = run_passwd(postern, ["frobnicate", USER, "--file", users], ok=False)
    assert p.returncode == 2
    p = subprocess.run([postern, "passwd", "add", "carol", "--file", users], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=CLIENT_TIMEOUT,
                       start_new_session=True)  # no controlling terminal
    assert p.returncode == 1 and b"--stdin" in p.stderr
    assert open(users).read() == before
    # del
    run_passwd(postern, ["del", OTHER, "--file", users])
    out = run_passwd(postern, ["list", "--file", users]).stdout.decode()
    assert out.splitlines() == ["%s\tyescrypt scram-sha-256 scram-sha-1" % USER]
    p = run_passwd(postern, ["list", OTHER, "--file", users], ok=False)
    assert p.returncode == 1


# ---------------------------------------------------------------- UTF-8 (SASLprep, RFC 4013)

UNAME = "j\u00fcrgen"                       # jürgen, as `postern passwd` stores it
UNAME_NFD = "ju\u0308rgen"                  # the same, decomposed: SASLprep's NFKC joins it
UPASS = "p\u00e4ssw\u00f6rd-\U0001F511"     # pässwörd-🔑 (the key is unassigned in Unicode 3.2)
UPASS_NFD = "pa\u0308sswo\u0308rd-\U0001F511"
UPASS_GSASL = "p\u00e4ssw\u00f6rd-\u00df\u20ac"  # no emoji: gsasl's own SCRAM client refuses those


def utf8_users(tmp_path, name=UNAME, password=UPASS, extra=()):
    """A users file written by `postern passwd` for one UTF-8 user."""
    users = str(tmp_path / "utf8-users")
    p = run_passwd(postern_bin(), ["add", name, "--file", users, "--stdin"] + list(extra), password)
    if "\U0001F511" in password:
        # passwd says which clients refuse such a password
        assert b"Unicode 3.2" in p.stderr, p.stderr
    return users


def plain_bytes(user, password, authzid=""):
    return base64.b64encode(("%s\0%s\0%s" % (authzid, user, password)).encode()).decode()


@pytest.mark.parametrize("user,password", [(UNAME, UPASS), (UNAME_NFD, UPASS_NFD)],
                         ids=["composed", "decomposed"])
def test_utf8_plain_login_smtplib(auth_server, tmp_path, user, password):
    """smtplib's own auth() sends ASCII only (CPython gh-73936), so its
    docmd() carries the UTF-8 exchange: PLAIN and LOGIN, the name and the
    password composed or decomposed."""
    srv = auth_server(users=utf8_users(tmp_path))
    with smtplib.SMTP(srv.host, srv.port, local_hostname="client.example", timeout=TIMEOUT) as s:
        s.ehlo()
        code, resp = s.docmd("AUTH", "PLAIN " + plain_bytes(user, password))
        assert code == 235, resp
        assert s.sendmail("alice@example.org", ["a@localhost"], MESSAGE) == {}
    with smtplib.SMTP(srv.host, srv.port, local_hostname="client.example", timeout=TIMEOUT) as s:
        s.ehlo()
        assert s.docmd("AUTH", "LOGIN")[0] == 334
        assert s.docmd(b64(user.encode()))[0] == 334
        code, resp = s.docmd(b64(password.encode()))
        assert code == 235, resp
    with smtplib.SMTP(srv.host, srv.port, local_hostname="client.example", timeout=TIMEOUT) as s:
        s.ehlo()
        code, _ = s.docmd("AUTH", "PLAIN " + plain_bytes(user, "p\u00e4ssw\u00f6rd-"))
        assert code == 535
    lines = log_auth_lines(srv)
    assert len(lines) == 3, lines
    assert all('user="%s"' % UNAME in l for l in lines), lines  # the prepared name
    assert ["result=ok" in l for l in lines] == [True, True, False], lines
    assert "wrong password" in lines[2] and "malformed" not in lines[2], lines


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_utf8_swaks(auth_server, tmp_path, mech):
    swaks = need("swaks")
    srv = auth_server(users=utf8_users(tmp_path))
    for user, password in ((UNAME, UPASS), (UNAME_NFD, UPASS_NFD)):
        _, out = run([swaks, "--server", "%s:%d" % (srv.host, srv.port), "--helo", "client.example",
                      "--auth", mech, "--auth-user", user, "--auth-password", password,
                      "--from", "alice@example.org", "--to", "a@localhost", "--timeout", "10"])
        assert "235 2.7.0" in out, out
    assert len(srv.messages("a@localhost")) == 2


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN", "SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_utf8_gsasl(auth_server, tmp_path, mech):
    """GNU SASL's gsasl: PLAIN and LOGIN with the emoji password; its SCRAM
    client prepares the password itself and refuses code points Unicode 3.2
    did not assign, so SCRAM gets a password without them."""
    gsasl = need("gsasl")
    password = UPASS if not mech.startswith("SCRAM") else UPASS_GSASL
    srv = auth_server(users=utf8_users(tmp_path, password=password))
    for user, pw in ((UNAME, password), (UNAME_NFD, unicodedata.normalize("NFD", password))):
        _, out = run([gsasl, "--smtp", "--client", "--no-starttls", "--mechanism", mech,
                      "--authentication-id", user, "--password", pw, "--quiet",
                      "--connect", "%s:%d" % (srv.host, srv.port)], input=b"")
        assert "235 2.7.0" in out, out
    lines = log_auth_lines(srv)
    assert len(lines) == 2 and all("result=ok" in l and 'user="%s"' % UNAME in l
                                   for l in lines), lines


@pytest.mark.parametrize("mech", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_utf8_scram_by_hand(auth_server, tmp_path, mech):
    """SCRAM written from the RFC (scram.py): the salted password is made
    from the prepared password (RFC 5802 §2.2), while a name the client
    did not prepare (§5.1 says SHOULD) is prepared by the server."""
    srv = auth_server(users=utf8_users(tmp_path), plaintext=False)
    with srv.connect() as c:
        c.ehlo()
        check(scram_exchange(c, mech, UNAME_NFD, UPASS), 235, "2.7.0")
    with srv.connect() as c:
        c.ehlo()
        check(scram_exchange(c, mech, UNAME, UPASS_NFD), 535, "5.7.8")  # not prepared: wrong


# ---------------------------------------------------------------- user enumeration

def scram_probe(c, user, mech="SCRAM-SHA-256"):
    """AUTH with a client-first for user: the server-first's attributes."""
    r = check(c.cmd("AUTH %s %s" % (mech, b64("n,,n=%s,r=abcdefghijklmnop" % user))), 334)
    return dict(kv.split("=", 1) for kv in base64.b64decode(r.text).decode().split(","))


def server_first(c, user, mech="SCRAM-SHA-256"):
    """The salt and iteration count the server gives user; then "*"."""
    attrs = scram_probe(c, user, mech)
    check(c.cmd("*"), 501, "5.7.0")
    return attrs["s"], attrs["i"]


def test_unknown_user_salt_survives_restart_and_reload(auth_server, tmp_path):
    """An unknown user's salt comes from a secret kept beside the users file
    (created 0600 at the first start): the same after SIGHUP and after a
    restart, like a real user's; and its iteration count is the real users'."""
    users = str(tmp_path / "users")
    run_passwd(postern_bin(), ["add", USER, "--file", users, "--stdin", "--iterations", "8192"],
               PASSWORD)
    seen = []
    for restart in range(2):
        srv = auth_server(users=users, plaintext=False, config={"max_auth_failures": "10"})
        assert stat.S_IMODE(os.stat(users + ".secret").st_mode) == 0o600
        with srv.connect() as c:
            c.ehlo()
            salts = [server_first(c, u) for u in (USER, "nobody", "nobody2")]
        assert salts[0][1] == salts[1][1] == salts[2][1] == "8192"  # the real users' count
        assert len(base64.b64decode(salts[1][0])) == len(base64.b64decode(salts[0][0]))
        assert salts[1][0] != salts[2][0]
        sighup_and_wait(srv)
        with srv.connect() as c:
            c.ehlo()
            assert server_first(c, "nobody") == salts[1]
        srv.stop()
        seen.append(salts)
    assert seen[0] == seen[1]  # a restart changes nothing: unknown names look real


def test_secret_file_refused_when_exposed(posternd_bin, tmp_path):
    users = write_users(str(tmp_path / "users"))
    with open(users + ".secret", "w") as f:
        f.write(b64(bytes(32)) + "\n")
    os.chmod(users + ".secret", 0o644)
    p = subprocess.run([posternd_bin, "--users", users, "--listen", "127.0.0.1:%d" % free_port()],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=CLIENT_TIMEOUT)
    assert p.returncode == 2, p.stdout
    assert b"readable by others" in p.stdout and b".secret" in p.stdout, p.stdout


@pytest.mark.parametrize("how", ["response", "initial-response"])
def test_cancel_flood_gets_421(auth_server, how):
    """AUTH answered with "*" counts toward max_auth_failures (3): the
    third cancel is followed by 421 4.7.0 and the close, so a thousand
    probes cannot ride one connection."""
    srv = auth_server(plaintext=False)
    with srv.connect() as c:
        c.ehlo()
        for i in range(3):
            if how == "response":
                scram_probe(c, "probe%d" % i)
                r = c.cmd("*")
            else:
                r = c.cmd("AUTH SCRAM-SHA-256 *")
            check(r, 501, "5.7.0")
        check(c.reply(), 421, "4.7.0", "too many failed authentications")
        c.expect_closed()


def test_failures_take_the_same_time_in_a_mixed_users_file(auth_server, tmp_path):
    """SPEC §3: the same 535 after the same time for unknown users and wrong
    passwords. A users file mixing a cheap hash (sha512-crypt, first) with
    a costly one (bcrypt): an unknown user was checked against the first
    line's, so its failure was as fast as carol's and bob's was 35 times
    slower (a black-box test told users apart by that). Now every failure
    waits for twice the file's slowest check; the medians stay within 2x
    of each other (the bug made them 35x apart)."""
    postern = postern_bin()
    users = str(tmp_path / "users")
    run_passwd(postern, ["add", "carol", "--file", users, "--stdin", "--scheme", "sha512-crypt"],
               "carol-pw-1")
    run_passwd(postern, ["add", "bob", "--file", users, "--stdin", "--scheme", "bcrypt"], "bob-pw-1")
    srv = auth_server(users=users, config={"auth_cache_ttl": "0"})

    def median_failure(user):
        times = []
        for _ in range(5):
            with srv.connect() as c:
                c.ehlo()
                t0 = time.monotonic()
                check(auth_plain(c, user, "wrong"), 535, "5.7.8")
                times.append(time.monotonic() - t0)
        return sorted(times)[2]

    carol, bob, nobody = (median_failure(u) for u in ("carol", "bob", "nobody"))
    fastest, slowest = min(carol, bob, nobody), max(carol, bob, nobody)
    assert slowest < 2 * fastest, (carol, bob, nobody)
    with srv.connect() as c:  # and the right passwords still do
        c.ehlo()
        check(auth_plain(c, "bob", "bob-pw-1"), 235)
