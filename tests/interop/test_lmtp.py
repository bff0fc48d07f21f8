"""The LMTP store backend against a real Dovecot (RFC 2033), fed by the
queue: the client gets 250 once the message is queued, the queue manager
hands it to Dovecot, and each recipient's answer decides its fate there
(delivered; 4xx: deferred; 5xx: failed, kept visible).

Each test starts its own `dovecot -F -c <config>` with its own base_dir, a
loopback port and a unix socket, a passwd-file userdb and a Maildir mail
location under a temporary directory, never the system service. Mail is read
back from Dovecot's Maildir. Dovecot refuses uid 0 for mail, so as root the
mailboxes belong to "nobody" (the tests' files stay readable by root)."""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import FakeServer, check, free_port, queue_id
from test_faults import small_fs  # noqa: F401 (a fixture: a 256 KiB tmpfs)

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
START_TIMEOUT = 15.0

USERS = ("alice", "bob", "carol")
CASED_USERS = ("Erin", "erin")  # two mailboxes: Dovecot's passwd-file tells case apart
BROKEN_USER = "broken"  # its Maildir would be below a regular file: a 4xx after DATA


class Dovecot:
    def __init__(self):
        if not os.access(DOVECOT, os.X_OK):
            pytest.fail("dovecot is not installed (scripts/deps installs dovecot-core and "
                        "dovecot-lmtpd)")
        self.base = tempfile.mkdtemp(prefix="postern-dovecot-")
        os.chmod(self.base, 0o755)  # the mail user must reach its mailbox
        me = pwd.getpwuid(os.getuid())
        mail = pwd.getpwnam("nobody") if os.getuid() == 0 else me
        self.mail_root = os.path.join(self.base, "mail")
        os.mkdir(self.mail_root)
        os.chown(self.mail_root, mail.pw_uid, mail.pw_gid)
        self.port = free_port()
        self.socket = os.path.join(self.base, "lmtp.sock")
        self.log_path = os.path.join(self.base, "dovecot.log")
        users = "".join("%s:{PLAIN}unused:%d:%d::%s/home/%s::\n"
                        % (u, mail.pw_uid, mail.pw_gid, self.base, u)
                        for u in USERS + CASED_USERS)
        users += "%s:{PLAIN}unused:%d:%d::%s/home/%s::userdb_mail=maildir:%s/users/nomail\n" % (
            BROKEN_USER, mail.pw_uid, mail.pw_gid, self.base, BROKEN_USER, self.base)
        with open(os.path.join(self.base, "users"), "w") as f:
            f.write(users)
        conf = os.path.join(self.base, "dovecot.conf")
        with open(conf, "w") as f:
            f.write("""
base_dir = {b}/run
state_dir = {b}/state
log_path = {b}/dovecot.log
protocols = lmtp
ssl = no
listen = 127.0.0.1
default_internal_user = {me}
default_internal_group = {group}
default_login_user = {me}
first_valid_uid = 1
mail_location = maildir:{b}/mail/%n
auth_username_format = %n
postmaster_address = postmaster@localhost
passdb {{
  driver = passwd-file
  args = {b}/users
}}
userdb {{
  driver = passwd-file
  args = {b}/users
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {port}
  }}
  unix_listener {sock} {{
    mode = 0666
  }}
}}
""".format(b=self.base, me=me.pw_name, group=_group_name(me.pw_gid), port=self.port,
           sock=self.socket))
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _greets(self, family, addr):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(addr)
                data = b""
                while b"\r\n" not in data:
                    chunk = s.recv(512)
                    if not chunk:
                        return False
                    data += chunk
                s.sendall(b"QUIT\r\n")
                return data.startswith(b"220 ")
        except OSError:
            return False

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode("utf-8", "replace")
                pytest.fail("dovecot exited at start:\n%s\n%s" % (out, self.log()))
            if (self._greets(socket.AF_INET, ("127.0.0.1", self.port))
                    and self._greets(socket.AF_UNIX, self.socket)):
                return
            time.sleep(0.02)
        pytest.fail("dovecot not ready on port %d and %s:\n%s" % (self.port, self.socket, self.log()))

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def connections(self):
        """LMTP connections Dovecot has seen (less the readiness probes)."""
        return self.log().count("Connect from 127.0.0.1") + self.log().count("Connect from local")

    def messages(self, user):
        """The files Dovecot delivered to user, as bytes."""
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.mail_root, user, sub)
            if os.path.isdir(d):
                for name in sorted(os.listdir(d)):
                    with open(os.path.join(d, name), "rb") as f:
                        out.append(f.read())
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        shutil.rmtree(self.base, ignore_errors=True)


def _group_name(gid):
    import grp
    return grp.getgrgid(gid).gr_name


@pytest.fixture
def dovecot():
    d = Dovecot()
    yield d
    d.stop()


def lmtp_server(start_server, target):
    return start_server(config={"store": "lmtp", "lmtp": target})


BODY = (b"From: Sender <s@example.org>\r\nSubject: via lmtp\r\n\r\n"
        b"first line\r\n.a line that starts with a dot\r\nlast line\r\n")


def sent(c, rcpts, body=BODY):
    """One transaction on an open session; returns the final reply."""
    check(c.cmd("MAIL FROM:<s@example.org>"), 250, "2.1.0")
    for r in rcpts:
        check(c.cmd("RCPT TO:<%s>" % r), 250, "2.1.5")
    check(c.cmd("DATA"), 354)
    c.send(body.replace(b"\r\n.", b"\r\n..") + b".\r\n")
    return c.reply()


def check_delivered(data, qid, body=BODY):
    """Dovecot's own Return-Path and Received, then ours, then the message
    with LF line ends (as Dovecot stores Maildir files)."""
    text = data.replace(b"\r\n", b"\n")
    assert text.count(b"Return-Path:") == 1, data[:600]
    assert text.startswith(b"Return-Path: <s@example.org>\n"), data[:600]
    assert b"(postern) with ESMTP id %s" % qid.encode() in text, data[:600]
    assert text.endswith(b"\n\n" + body.split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n")) \
        or text.endswith(body.replace(b"\r\n", b"\n")), data[-400:]
    assert b"\nSubject: via lmtp\n" in text


def test_single_recipient_over_tcp(start_server, dovecot):
    srv = lmtp_server(start_server, "127.0.0.1:%d" % dovecot.port)
    with srv.connect() as c:
        c.ehlo()
        qid = queue_id(sent(c, ["alice@localhost"]))
    srv.drain()
    [msg] = dovecot.messages("alice")
    check_delivered(msg, qid)
    assert dovecot.messages("bob") == []
    # posternd's own Maildir stays untouched
    assert srv.all_files("new") == []


def test_many_recipients_over_a_unix_socket(start_server, dovecot):
    srv = lmtp_server(start_server, "unix:" + dovecot.socket)
    with srv.connect() as c:
        c.ehlo()
        # "alice" quoted and unquoted are one mailbox: delivered once
        qid = queue_id(sent(c, ["alice@localhost", "bob@localhost", "carol@localhost",
                                '"alice"@localhost']))
    srv.drain()
    for user in USERS:
        [msg] = dovecot.messages(user)
        check_delivered(msg, qid)


def test_local_parts_differing_in_case_are_two_recipients(start_server, dovecot):
    """RFC 5321 §2.4: a local part's case is for the host that has the
    mailbox to judge. Dovecot here keeps Erin and erin apart, so each gets
    its own RCPT and its own copy; the domain's case does not matter."""
    srv = lmtp_server(start_server, "127.0.0.1:%d" % dovecot.port)
    with srv.connect() as c:
        c.ehlo()
        qid = queue_id(sent(c, ["Erin@localhost", "erin@localhost", "erin@LOCALHOST"]))
    srv.drain()
    for user in CASED_USERS:
        [msg] = dovecot.messages(user)
        check_delivered(msg, qid)
    log = srv.log()
    for rcpt in ("Erin@localhost", "erin@localhost", "erin@LOCALHOST"):
        assert 'event=delivered queue_id=%s to="<%s>" target="lmtp"' % (qid, rcpt) in log, log


def test_connection_reused(start_server, dovecot):
    srv = lmtp_server(start_server, "127.0.0.1:%d" % dovecot.port)
    before = dovecot.connections()
    qids = []
    with srv.connect() as c:
        c.ehlo()
        for _ in range(3):
            qids.append(queue_id(sent(c, ["bob@localhost"])))
            srv.drain()  # one delivery at a time: one connection is enough
    with srv.connect() as c:
        c.ehlo()
        qids.append(queue_id(sent(c, ["bob@localhost"])))
    srv.drain()
    msgs = dovecot.messages("bob")
    assert len(msgs) == 4
    for qid in qids:
        assert any(b" id %s" % qid.encode() in m for m in msgs), qid
    # four messages, one LMTP connection
    assert dovecot.connections() - before == 1, dovecot.log()


def queue_line(srv, qid):
    out = srv.queue("show " + qid)
    assert out.startswith("ok"), out
    return out


def test_recipient_refused_by_dovecot(start_server, dovecot):
    """An unknown user: Dovecot answers 550 5.1.1 at RCPT. The message was
    queued (250); the known recipient has it, the refused one fails with
    Dovecot's reply and stays visible in the queue (a bounce, with relay)."""
    srv = lmtp_server(start_server, "127.0.0.1:%d" % dovecot.port)
    with srv.connect() as c:
        c.ehlo()
        qid = queue_id(sent(c, ["alice@localhost", "dave@localhost"]))
        qid2 = queue_id(sent(c, ["carol@localhost"]))
    srv.drain()
    assert len(dovecot.messages("alice")) == 1
    [msg] = dovecot.messages("carol")
    check_delivered(msg, qid2)
    out = queue_line(srv, qid)
    assert "state=failed" in out, out
    assert 'to="alice@localhost" status=delivered' in out, out
    assert 'to="dave@localhost" status=failed reply="' in out, out
    assert "550 5.1.1 <dave@localhost> User doesn't exist" in out, out
    log = srv.log()
    assert 'event=failed queue_id=%s to="<dave@localhost>" target="lmtp"' % qid in log, log
    assert 'event=delivered queue_id=%s to="<alice@localhost>" target="lmtp"' % qid in log, log


def sent_binarymime(c, rcpt, body):
    """A BODY=BINARYMIME transaction in one BDAT LAST; the final reply."""
    check(c.cmd("MAIL FROM:<s@example.org> BODY=BINARYMIME"), 250, "2.1.0")
    check(c.cmd("RCPT TO:<%s>" % rcpt), 250, "2.1.5")
    c.send(b"BDAT %d LAST\r\n" % len(body) + body)
    return c.reply()


def test_binarymime_over_lmtp(start_server, dovecot):
    """RFC 3030 section 3: BINARYMIME content goes on only to a server that
    offers BINARYMIME, or converted, or it is returned. Dovecot offers
    8BITMIME and CHUNKING, not BINARYMIME: a BINARYMIME body that is text
    after all (CRLF lines of at most 998 octets, no NUL) goes on over DATA
    as 8BITMIME; a binary one (a NUL, a bare LF) fails for good with 5.6.3,
    visible in the queue, instead of going through DATA altered."""
    srv = lmtp_server(start_server, "127.0.0.1:%d" % dovecot.port)
    text = b"Subject: via lmtp\r\n\r\ntext after all\r\n\xc3\xa9t\xc3\xa9\r\n"
    binary = b"Subject: binary\r\n\r\nraw\x00bytes\nand a bare LF\r\n"
    with srv.connect() as c:
        c.ehlo()
        q1 = queue_id(sent_binarymime(c, "alice@localhost", text))
        q2 = queue_id(sent_binarymime(c, "bob@localhost", binary))
    srv.drain()
    [msg] = dovecot.messages("alice")
    assert msg.replace(b"\r\n", b"\n").endswith(b"text after all\n\xc3\xa9t\xc3\xa9\n"), msg[-200:]
    assert dovecot.messages("bob") == []
    out = queue_line(srv, q2)
    assert "state=failed" in out and "554 5.6.3 the message is binary" in out, out
    assert q1 not in srv.queue("list")  # delivered: gone from the queue


def test_smtputf8_message_needs_smtputf8_at_the_lmtp_server(start_server, dovecot):
    """RFC 6531 section 3.2 and RFC 6532: a message sent with SMTPUTF8 whose
    headers are UTF-8 needs SMTPUTF8 at the next hop too; Dovecot's LMTP
    offers none, and postern does not downgrade, so it fails for good with
    5.6.7 (it went through). The same headers without SMTPUTF8 (the
    client's own doing) and an SMTPUTF8 message with ASCII headers go."""
    srv = lmtp_server(start_server, "127.0.0.1:%d" % dovecot.port)
    utf8 = "Subject: caf\u00e9\r\n\r\nbody\r\n".encode()
    with srv.connect() as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<s@example.org> SMTPUTF8"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<alice@localhost>"), 250, "2.1.5")
        check(c.cmd("DATA"), 354)
        c.send(utf8 + b".\r\n")
        q1 = queue_id(c.reply())
        check(c.cmd("MAIL FROM:<s@example.org> SMTPUTF8"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<bob@localhost>"), 250, "2.1.5")
        check(c.cmd("DATA"), 354)
        c.send(b"Subject: plain\r\n\r\nbody\r\n.\r\n")
        queue_id(c.reply())
    srv.drain()
    out = queue_line(srv, q1)
    assert "state=failed" in out and "553 5.6.7" in out, out
    assert dovecot.messages("alice") == []
    assert len(dovecot.messages("bob")) == 1


def test_temporary_failure_deferred(start_server, dovecot):
    """Dovecot's 451 4.2.0 after the body for one recipient (its Maildir
    cannot be made) and a 550 at RCPT for another: one delivered, one
    deferred (retried later), one failed; the client had its 250. list's
    last error is the deferred one's (the latest attempt's), not the
    failure of the recipient that comes first."""
    srv = lmtp_server(start_server, "127.0.0.1:%d" % dovecot.port)
    with srv.connect() as c:
        c.ehlo()
        qid = queue_id(sent(c, ["bob@localhost", "dave@localhost", BROKEN_USER + "@localhost"]))
    srv.drain()
    [line] = [l for l in srv.queue("list").splitlines() if l.startswith("id=%s " % qid)]
    assert re.search(r'last_error="lmtp [^"]*: 451 4.2.0 <%s@localhost>' % BROKEN_USER, line), line
    assert len(dovecot.messages("bob")) == 1
    out = queue_line(srv, qid)
    assert "state=deferred" in out, out
    assert 'to="%s@localhost" status=pending reply="' % BROKEN_USER in out, out
    assert "451 4.2.0 <%s@localhost>" % BROKEN_USER in out, out
    assert 'to="dave@localhost" status=failed reply="' in out and "550 5.1.1" in out, out
    assert "event=deferred queue_id=%s" % qid in srv.log()


def test_lmtp_server_down(start_server, tmp_path):
    srv = lmtp_server(start_server, "127.0.0.1:%d" % free_port())
    with srv.connect() as c:
        c.ehlo()
        qid = queue_id(sent(c, ["alice@localhost"]))
    srv.drain()
    assert "state=deferred" in queue_line(srv, qid)
    log = srv.log()
    assert "connect: Connection refused" in log, log
    srv2 = lmtp_server(start_server, "unix:%s/nothing.sock" % tmp_path)
    with srv2.connect() as c:
        c.ehlo()
        queue_id(sent(c, ["alice@localhost"]))
    srv2.drain()
    assert "connect: No such file or directory" in srv2.log()


def test_spool_disk_full(start_server, dovecot, small_fs, monkeypatch):
    """The LMTP spool lives in $TMPDIR: when that fills, the delivery is
    deferred (the message was queued: 250) with a log line that names the
    place; nothing reaches Dovecot, and a smaller message goes."""
    monkeypatch.setenv("TMPDIR", str(small_fs))
    srv = lmtp_server(start_server, "127.0.0.1:%d" % dovecot.port)
    big = b"Subject: big\r\n\r\n" + (b"x" * 78 + b"\r\n") * 5000  # 400 KB
    with srv.connect() as c:
        c.ehlo()
        qid = queue_id(sent(c, ["alice@localhost"], big))
        srv.drain()
        assert "state=deferred" in queue_line(srv, qid)
        queue_id(sent(c, ["alice@localhost"]))
    srv.drain()
    assert len(dovecot.messages("alice")) == 1
    log = srv.log()
    assert "write the LMTP spool in %s: No space left on device" % small_fs in log, log
    assert "event=deferred queue_id=%s" % qid in log, log


@pytest.mark.parametrize("target", ["", "localhost", "[::1", "::1:24", "h:0", "h:65536",
                                    "h:x", "unix:relative/path"])
def test_bad_lmtp_target(posternd_bin, tmp_path, target):
    conf = tmp_path / "posternd.conf"
    conf.write_text("store = lmtp\nlmtp = %s\n" % target)
    p = subprocess.run([posternd_bin, "--config", str(conf), "--listen",
                        "127.0.0.1:%d" % free_port(), "--maildir", str(tmp_path / "md")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    err = p.stderr.decode()
    assert p.returncode != 0, err
    assert "lmtp" in err, err


def test_store_lmtp_needs_a_target(posternd_bin, tmp_path):
    p = subprocess.run([posternd_bin, "--store", "lmtp", "--listen",
                        "127.0.0.1:%d" % free_port(), "--maildir", str(tmp_path / "md")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    assert p.returncode == 2, p.stderr
    assert b"store = lmtp needs an LMTP server" in p.stderr


class FakeLmtp(FakeServer):
    """A small LMTP server with PIPELINING that takes every recipient;
    subclasses say what becomes of each message (delivered, called before
    its replies) and when a connection dies (hang_up, before a command)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.nconn = 0
        super().__init__()

    def hang_up(self, n, done):
        return False

    def delivered(self, n, body):
        pass

    def final_replies(self, n, rcpts):
        return b"250 2.0.0 saved\r\n" * rcpts

    def serve(self, c):
        with self.lock:
            self.nconn += 1
            n = self.nconn
        f = c.makefile("rb")
        c.sendall(b"220 fake LMTP\r\n")
        rcpts = 0
        done = 0
        while True:
            line = f.readline()
            if not line or self.hang_up(n, done):
                break
            verb = line[:4].upper()
            if verb == b"LHLO":
                c.sendall(b"250-fake\r\n250 PIPELINING\r\n")
            elif verb in (b"MAIL", b"RSET"):
                rcpts = 0
                c.sendall(b"250 2.1.0 OK\r\n")
            elif verb == b"RCPT":
                rcpts += 1
                c.sendall(b"250 2.1.5 OK\r\n")
            elif verb == b"DATA":
                c.sendall(b"354 go\r\n")
                body = b""
                while not body.endswith(b"\r\n.\r\n"):
                    chunk = f.readline()
                    if not chunk:
                        return
                    body += chunk
                self.delivered(n, body)
                done += 1
                c.sendall(self.final_replies(n, rcpts))
            elif verb == b"QUIT":
                c.sendall(b"221 bye\r\n")
                break
            else:
                c.sendall(b"500 what\r\n")
        c.close()


class RecordingLmtp(FakeLmtp):
    """Keeps what it got: (connection number, body) per message."""

    def __init__(self):
        self.messages = []
        super().__init__()

    def delivered(self, n, body):
        self.messages.append((n, body))


class FlakyLmtp(RecordingLmtp):
    """Its first connection dies after one message, as one that closes idle
    connections would: the next message must go through a fresh
    connection, once."""

    def hang_up(self, n, done):
        return n == 1 and done == 1  # gone without a word, as after an idle timeout


def two_messages_two_connections(srv, fake):
    """One message, then a second once the first is delivered: each must
    reach the fake server whole, the second on a new connection."""
    with srv.connect() as c:
        c.ehlo()
        q1 = queue_id(sent(c, ["alice@localhost"]))
        srv.drain()
        q2 = queue_id(sent(c, ["alice@localhost", "bob@localhost"]))
    srv.drain()
    assert [n for n, _ in fake.messages] == [1, 2]
    assert b" id %s" % q1.encode() in fake.messages[0][1]
    assert b" id %s" % q2.encode() in fake.messages[1][1]


def test_reconnects_when_an_idle_connection_died(start_server):
    fake = FlakyLmtp()
    try:
        srv = lmtp_server(start_server, "127.0.0.1:%d" % fake.port)
        two_messages_two_connections(srv, fake)
        # dot-stuffed on the way, Return-Path left to the LMTP server
        assert b"\r\n..a line that starts with a dot\r\n" in fake.messages[1][1]
        assert not fake.messages[1][1].startswith(b"Return-Path:")
    finally:
        fake.close()


class StrayReplyLmtp(RecordingLmtp):
    """Sends one reply more than it was asked for after its first message
    (a broken or confused server): that connection must not carry the next
    message, whose replies would all be off by one (a review found the next
    message "delivered" without its body ever being sent)."""

    def final_replies(self, n, rcpts):
        extra = b"250 2.0.0 stray\r\n" if len(self.messages) == 1 else b""
        return super().final_replies(n, rcpts) + extra


def test_reply_beyond_the_last_is_not_taken_for_the_next(start_server):
    fake = StrayReplyLmtp()
    try:
        two_messages_two_connections(lmtp_server(start_server, "127.0.0.1:%d" % fake.port), fake)
    finally:
        fake.close()


class HoldingLmtp(FakeLmtp):
    """Keeps each message's replies until the test releases them, counting
    the connections and the messages held at once."""

    def __init__(self):
        self.release = threading.Event()
        self.held = 0
        self.max_held = 0
        self.bodies = []
        super().__init__()

    def delivered(self, n, body):
        with self.lock:
            self.held += 1
            self.max_held = max(self.max_held, self.held)
            self.bodies.append(body)
        self.release.wait(DRAIN_WAIT)
        with self.lock:
            self.held -= 1


DRAIN_WAIT = 30.0


def wait_for(cond, what, timeout=DRAIN_WAIT):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_lmtp_concurrency_bounds_deliveries_and_keeps_connections(start_server):
    """lmtp_concurrency = 2: while the LMTP server holds two messages, the
    other three queued ones wait for a connection (none more is opened),
    and when it lets go all five go through the same two connections."""
    fake = HoldingLmtp()
    try:
        srv = start_server(config={"store": "lmtp", "lmtp": "127.0.0.1:%d" % fake.port,
                                   "lmtp_concurrency": "2"})
        qids = []
        with srv.connect() as c:
            c.ehlo()
            for _ in range(5):
                qids.append(queue_id(sent(c, ["alice@localhost"])))
        wait_for(lambda: fake.held == 2, "two messages held at the LMTP server")
        # every message is queued and due: a third delivery would have a
        # message to take now; the queue says which ones are in flight
        out = srv.queue("list")
        assert out.count(" state=active") == 2, out
        fake.release.set()
        srv.drain()
        assert len(fake.bodies) == 5
        for qid in qids:
            assert any(b" id %s" % qid.encode() in b for b in fake.bodies), qid
        assert fake.max_held == 2
        assert fake.nconn == 2, fake.nconn
    finally:
        fake.release.set()
        fake.close()


def test_large_message_streamed_whole(start_server, dovecot):
    """A body past the 64 KiB kept in memory goes through the spool file in
    chunks: dot-stuffing across the chunk boundaries, and the end marker
    after the last chunk; Dovecot stores it whole."""
    srv = lmtp_server(start_server, "127.0.0.1:%d" % dovecot.port)
    lines = []
    for i in range(8000):  # ~300 KB; lines of varied length, some starting with "."
        lines.append((b"." if i % 7 == 0 else b"") + (b"%d " % i) * (1 + i % 13))
    body = b"From: Sender <s@example.org>\r\nSubject: via lmtp\r\n\r\n" + b"\r\n".join(lines) + b"\r\n"
    assert len(body) > 4 * 65536
    with srv.connect() as c:
        c.ehlo()
        qid = queue_id(sent(c, ["carol@localhost"], body))
    srv.drain()
    [msg] = dovecot.messages("carol")
    check_delivered(msg, qid, body)


class SlowLmtp(RecordingLmtp):
    """Answers late or not at all: RCPT never on a connection in
    mute_rcpt, and the replies to the final dot after dot_delay seconds
    (None: never). A mute connection waits until the client gives up."""

    def __init__(self, mute_rcpt=(), dot_delay=0.0):
        self.mute_rcpt = set(mute_rcpt)
        self.dot_delay = dot_delay
        self.gone = threading.Event()
        super().__init__()

    def serve(self, c):
        if self.nconn + 1 in self.mute_rcpt:
            f = c.makefile("rb")
            c.sendall(b"220 fake LMTP\r\n")
            f.readline()
            c.sendall(b"250 fake\r\n")  # no PIPELINING: MAIL and RCPT one by one
            f.readline()
            c.sendall(b"250 2.1.0 OK\r\n")
            with self.lock:
                self.nconn += 1
            f.readline()  # RCPT: no answer
            f.read()      # until posternd closes
            c.close()
            return
        super().serve(c)

    def final_replies(self, n, rcpts):
        if self.dot_delay is None:
            self.gone.wait(DRAIN_WAIT)
            return b""
        time.sleep(self.dot_delay)
        return super().final_replies(n, rcpts)

    def close(self):
        self.gone.set()
        super().close()


def deferred_reply(srv, qid):
    wait_for(lambda: "event=deferred queue_id=%s" % qid in srv.log(), "deferred: " + qid)
    [line] = [l for l in srv.log().splitlines() if "event=deferred queue_id=%s" % qid in l]
    return line


def slow_lmtp_server(start_server, fake, **timeouts):
    config = {"store": "lmtp", "lmtp": "127.0.0.1:%d" % fake.port, "lmtp_concurrency": "1"}
    config.update({k: str(v) for k, v in timeouts.items()})
    return start_server(config=config)


def test_lmtp_timeout_gives_up_on_a_mute_server(start_server):
    """A server that never answers RCPT holds a delivery thread only for
    lmtp_timeout: the message is deferred, and the log says which setting
    gave up; the next message, on a new connection, goes through."""
    fake = SlowLmtp(mute_rcpt={1})
    try:
        srv = slow_lmtp_server(start_server, fake, lmtp_timeout=1)
        with srv.connect() as c:
            c.ehlo()
            q1 = queue_id(sent(c, ["alice@localhost"]))
            line = deferred_reply(srv, q1)
            assert "no reply in 1 s (lmtp_timeout)" in line, line
            q2 = queue_id(sent(c, ["bob@localhost"]))
        wait_for(lambda: len(fake.messages) == 1, "the second message delivered")
        assert b" id %s" % q2.encode() in fake.messages[0][1]
        assert "state=deferred" in queue_line(srv, q1)
    finally:
        fake.close()


def test_replies_to_the_dot_get_lmtp_data_done_timeout(start_server):
    """The replies to the final dot wait lmtp_data_done_timeout, not
    lmtp_timeout (RFC 5321 4.5.3.2.6: the server may be storing the
    message): a 2 s delay passes with 1 s and 5 s, and a server that never
    answers is given up after 2 s with 1 s and 2 s."""
    fake = SlowLmtp(dot_delay=2.0)
    try:
        srv = slow_lmtp_server(start_server, fake, lmtp_timeout=1, lmtp_data_done_timeout=5)
        with srv.connect() as c:
            c.ehlo()
            queue_id(sent(c, ["alice@localhost"]))
        srv.drain()
        assert len(fake.messages) == 1
        assert "event=delivered" in srv.log()
    finally:
        fake.close()
    fake = SlowLmtp(dot_delay=None)
    try:
        srv = slow_lmtp_server(start_server, fake, lmtp_timeout=1, lmtp_data_done_timeout=2)
        with srv.connect() as c:
            c.ehlo()
            qid = queue_id(sent(c, ["alice@localhost"]))
        line = deferred_reply(srv, qid)
        assert "no reply in 2 s (lmtp_data_done_timeout)" in line, line
    finally:
        fake.close()


def test_shutdown_gives_up_a_delivery_the_lmtp_server_holds(start_server, tmp_path):
    """SIGTERM while the LMTP server holds a message's final replies (it
    would wait lmtp_data_done_timeout, 10 minutes): after shutdown_timeout
    the delivery gives up, posternd stops, and the message stays queued;
    the next start delivers it at once (not an attempt that failed: no
    retry delay) (a black-box test saw a stop wait 40 s and more, past
    systemd's patience)."""
    fake = SlowLmtp(dot_delay=None)
    qdir = str(tmp_path / "queue")
    try:
        srv = start_server(config={"store": "lmtp", "lmtp": "127.0.0.1:%d" % fake.port,
                                   "shutdown_timeout": "1"}, queue_dir=qdir)
        with srv.connect() as c:
            c.ehlo()
            qid = queue_id(sent(c, ["alice@localhost"]))
        wait_for(lambda: len(fake.messages) == 1, "the message at the LMTP server")
        started = time.monotonic()
        srv.stop()
        assert time.monotonic() - started < 10
        log = srv.log()
        assert "event=shutdown_deliveries_given_up deliveries=1" in log, log[-2000:]
        assert "given up at shutdown" in log, log[-2000:]
    finally:
        fake.close()
    fake = RecordingLmtp()
    try:
        srv = start_server(config={"store": "lmtp", "lmtp": "127.0.0.1:%d" % fake.port},
                           queue_dir=qdir)
        wait_for(lambda: len(fake.messages) == 1, "delivered at once after the start")
        assert len(fake.messages) == 1 and b" id %s" % qid.encode() in fake.messages[0][1]
    finally:
        fake.close()


class SilentLmtp(FakeServer):
    """Takes connections and never says a word (no greeting)."""

    def __init__(self):
        self.gone = threading.Event()
        super().__init__()

    def serve(self, c):
        self.gone.wait(DRAIN_WAIT)

    def close(self):
        self.gone.set()
        super().close()


def test_shutdown_gives_up_a_delivery_waiting_for_the_greeting(start_server):
    """The same while the delivery still waits for a new connection's
    greeting (lmtp_timeout, 5 minutes), where ending the connection does
    not wake the wait: it looks at the stop every second."""
    fake = SilentLmtp()
    try:
        srv = start_server(config={"store": "lmtp", "lmtp": "127.0.0.1:%d" % fake.port,
                                   "shutdown_timeout": "1"})
        with srv.connect() as c:
            c.ehlo()
            qid = queue_id(sent(c, ["alice@localhost"]))
        wait_for(lambda: fake.conns, "a connection to the LMTP server")
        started = time.monotonic()
        srv.stop()
        assert time.monotonic() - started < 10
        log = srv.log()
        assert "event=shutdown_deliveries_given_up deliveries=1" in log, log[-2000:]
        assert "event=deferred queue_id=%s" % qid in log and "given up at shutdown" in log, log[-2000:]
    finally:
        fake.close()
