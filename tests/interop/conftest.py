"""Shared fixtures for the interop tests.

Every test talks to a real posternd started on a free loopback port with its
own Maildir, queue directory and control socket. Accepted mail goes through
the queue: a test that reads a Maildir first waits (polling the control
socket) until the queue manager has delivered what is due. Readiness is detected by polling the port (connect, read the
greeting, QUIT, wait for the close), never by sleeping a fixed time. On
teardown the server gets SIGTERM and the test fails if it does not exit
cleanly or if a sanitizer wrote a report on stderr.

Run: POSTERND=build/test/posternd /usr/bin/python3 -m pytest tests/interop
"""

import base64
import email.utils
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

import logfmt

POSTERND = os.environ.get(
    "POSTERND",
    os.path.join(os.path.dirname(__file__), "..", "..", "build", "test", "posternd"),
)
HOSTNAME = "mx.test"
TIMEOUT = 5.0  # every socket operation
START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0

SANITIZER_MARKS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
)


def sanitizer_env():
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


def free_port():
    """A loopback port nobody listens on right now (bind to 0, release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sanitizer_report(text):
    for mark in SANITIZER_MARKS:
        i = text.find(mark)
        if i >= 0:
            return text[max(0, i - 200):i + 4000]
    return None


# ---------------------------------------------------------------- replies

REPLY_LINE = re.compile(rb"^(\d{3})([ -])(.*)$", re.S)
ESC_RE = re.compile(rb"^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)")


class Reply:
    """One SMTP reply, possibly multi-line."""

    def __init__(self, raw, lines):
        self.raw = raw          # exact bytes, CRLFs included
        self.lines = lines      # list of (code, text) with text after "ddd-" / "ddd "
        self.code = lines[0][0]
        first = lines[0][1]
        m = ESC_RE.match(first)
        self.esc = m.group(0).strip().decode() if m else None
        # the text without the enhanced code, all lines joined by "\n"
        texts = []
        for _, t in lines:
            m = ESC_RE.match(t)
            texts.append(t[m.end():] if m else t)
        self.text = b"\n".join(texts).decode("utf-8", "replace")

    def line_escs(self):
        out = []
        for _, t in self.lines:
            m = ESC_RE.match(t)
            out.append(m.group(0).strip().decode() if m else None)
        return out

    def __repr__(self):
        return "Reply(%r)" % self.raw


def read_reply(read_line):
    """One complete reply from read_line() (a line without its CRLF per call)."""
    raw = b""
    lines = []
    while True:
        line = read_line()
        raw += line + b"\r\n"
        m = REPLY_LINE.match(line)
        assert m, "malformed reply line %r (so far %r)" % (line, raw)
        lines.append((int(m.group(1)), m.group(3)))
        if m.group(2) == b" ":
            return Reply(raw, lines)


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def check(reply, code, esc=None, text=None):
    """Assert the basic code, the enhanced code (on every line) and a piece of text."""
    assert reply is not None, "no reply (connection closed?)"
    assert reply.code == code, "expected %d %s, got %r" % (code, esc or "", reply.raw)
    if esc is not None:
        assert reply.line_escs() == [esc] * len(reply.lines), \
            "expected enhanced code %s on every line, got %r" % (esc, reply.raw)
    if text is not None:
        assert text.lower() in reply.text.lower(), \
            "expected %r in the reply text, got %r" % (text, reply.raw)
    return reply


class ConnectionClosed(Exception):
    pass


class Raw:
    """A raw-socket SMTP client: send exact bytes, read whole replies."""

    def __init__(self, host, port, timeout=TIMEOUT, source=None):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=source)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.timeout = timeout

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise ConnectionClosed("connection closed; unread: %r" % self.buf)
        self.buf += chunk

    def read_line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        """Read one complete reply (all its continuation lines)."""
        return read_reply(self.read_line)

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def cmd(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.reply()

    def greeting(self):
        return check(self.reply(), 220)

    def ehlo(self, name="client.example"):
        self.greeting()
        return check(self.cmd("EHLO " + name), 250)

    def expect_closed(self, timeout=TIMEOUT):
        """The server closes the connection; nothing more was sent."""
        self.sock.settimeout(timeout)
        assert self.buf == b"", "unexpected bytes before close: %r" % self.buf
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        assert data == b"", "expected close, got %r" % data

    def expect_silence(self, wait=0.3):
        """Nothing more to read for a little while (no extra replies)."""
        assert self.buf == b"", "unexpected extra bytes: %r" % self.buf
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            data = None
        finally:
            self.sock.settimeout(self.timeout)
        assert data is None, "unexpected extra bytes: %r" % data

    def send_message(self, mail_from, rcpts, body, ehlo=True):
        """A whole transaction, one command at a time; returns the final reply."""
        if ehlo:
            self.ehlo()
        check(self.cmd("MAIL FROM:<%s>" % mail_from), 250, "2.1.0")
        for r in rcpts:
            check(self.cmd("RCPT TO:<%s>" % r), 250, "2.1.5")
        check(self.cmd("DATA"), 354)
        self.send(body)
        return self.reply()


QUEUED_RE = re.compile(r"^Ok: queued as (\S+)$")


def queue_id(reply):
    """The queue id of a "250 2.0.0 Ok: queued as ID" reply."""
    check(reply, 250, "2.0.0")
    m = QUEUED_RE.match(reply.text)
    assert m, "expected 'Ok: queued as <id>', got %r" % reply.raw
    return m.group(1)


# ---------------------------------------------------------------- other people's clients

CLIENT_TIMEOUT = 30  # seconds a client program (swaks, curl, gsasl...) may take


def need(tool):
    """The path of a client program. scripts/deps installs every one, so a
    missing one fails the test that needs it: a skip would hide it."""
    path = shutil.which(tool)
    if not path:
        pytest.fail("%s is not installed (scripts/deps installs it)" % tool, pytrace=False)
    return path


def run_client(argv, input=None, ok=True, timeout=CLIENT_TIMEOUT):
    """Run a client program; returns (exit status, stdout and stderr as text).
    With ok, a non-zero exit fails the test with the output."""
    p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    if ok:
        assert p.returncode == 0, "%s exited %d:\n%s" % (argv[0], p.returncode, out)
    return p.returncode, out


# ---------------------------------------------------------------- a stand-in server

class FakeServer:
    """A loopback listener that hands each connection to serve(conn) on a
    thread of its own (for clients' tests against misbehaving servers).
    Subclasses override serve; close() closes the listener and every
    connection still open."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        raise NotImplementedError

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


# ---------------------------------------------------------------- Maildir

def ascii_lower(s):
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in s)


TRACE_RE = re.compile(
    rb"^Return-Path: <(?P<rp>[^>\r\n]*)>\r\n"
    rb"Received: from (?P<helo>\S+) \((?P<tcpinfo>[^)\r\n]*)\)\r\n"
    rb"\tby (?P<by>\S+) \(postern\) with (?P<with>[A-Z0-9]+)"
    # the TLS comment nests one level: (using TLSv1.3 with cipher X (256/256 bits))
    rb"(?:\r\n\t\((?P<tls>(?:[^()\r\n]|\([^()\r\n]*\))*)\))? id (?P<id>[^\s;]+)"
    rb"(?:\r\n\tfor <(?P<for>[^>\r\n]*)>)?; (?P<date>[^\r\n]+)\r\n"
)


class Stored:
    """A delivered file split into its trace headers and the message.

    A Maildir file has LF line ends (SPEC §5), and since the session turns
    every bare CR and LF into CRLF (or refuses the message), a stored file
    holds no CR at all: that is asserted, and then `data`, `trace` and `body`
    give the message with CRLF again, as it was sent (dot-unstuffed), so
    tests compare it with what they sent. `raw` is the file as stored."""

    def __init__(self, path, data):
        self.path = path
        self.raw = data
        assert b"\r" not in data, "stored file has CR octets (CRLF line ends?): %r" % data[:400]
        data = data.replace(b"\n", b"\r\n")
        self.data = data
        m = TRACE_RE.match(data)
        assert m, "stored file does not start with Return-Path and Received: %r" % data[:400]
        self.trace = m.group(0)
        self.body = data[m.end():]
        self.return_path = m.group("rp").decode("utf-8")
        self.helo = m.group("helo").decode("utf-8")
        self.tcpinfo = m.group("tcpinfo").decode()
        self.by = m.group("by").decode()
        self.with_ = m.group("with").decode()
        self.id = m.group("id").decode()
        self.for_ = m.group("for").decode("utf-8") if m.group("for") else None
        self.date = m.group("date").decode()
        self.tls = m.group("tls").decode() if m.group("tls") else None
        v = re.search(r"\b(TLSv1(?:\.\d)?)\b", self.tls or "")
        self.tls_version = v.group(1) if v else None
        # the trace headers on one line each (folds undone), for substring checks
        self.unfolded = re.sub(r"\r\n[ \t]+", " ", self.trace.decode("utf-8"))

    def check_date(self):
        dt = email.utils.parsedate_to_datetime(self.date)
        assert dt.tzinfo is not None, self.date
        assert abs(dt.timestamp() - time.time()) < 300, self.date


DRAIN_TIMEOUT = 15.0


def control_command(path, line, timeout=TIMEOUT):
    """One command over posternd's control socket; the whole answer as text."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(line.encode() + b"\n")
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out.decode("utf-8", "replace")
            out += chunk


class Server:
    def __init__(self, workdir, port, maildir, argv, env, queue_dir=None, control=None):
        self.host = "127.0.0.1"
        self.port = port
        self.hostname = HOSTNAME
        self.maildir = maildir
        self.queue_dir = queue_dir
        self.control = control
        self.workdir = workdir
        self.argv = argv
        self.stderr_path = os.path.join(workdir, "posternd.stderr")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._err,
                                     stderr=self._err, env=env)
        self.stopped = False
        self.killed = False
        self.signalled = False  # the test sent SIGTERM/SIGINT itself

    # ---- process

    def log(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("posternd exited with %s at start:\n%s"
                                     % (self.proc.returncode, self.log()))
            try:
                with Raw(self.host, self.port, timeout=2) as c:
                    r = c.reply()
                    c.send(b"QUIT\r\n")
                    c.reply()
                    c.expect_closed()
                    if r.code == 220:
                        return
                    last = r
            except (OSError, ConnectionClosed, AssertionError) as e:
                last = e
            time.sleep(0.02)
        raise AssertionError("posternd not ready on port %d: %r\n%s" % (self.port, last, self.log()))

    def signal(self, sig):
        if sig in (signal.SIGTERM, signal.SIGINT):
            # a second one during a graceful shutdown may legitimately kill
            # the process at once: stop() will only wait
            self.signalled = True
        self.proc.send_signal(sig)

    def kill9(self):
        self.killed = True
        self.proc.kill()
        self.proc.wait(STOP_TIMEOUT)
        self._err.close()

    def stop(self, check_exit=True):
        """SIGTERM, wait, then fail on a sanitizer report or an unclean exit."""
        if self.stopped:
            return
        self.stopped = True
        if self.killed:
            report = sanitizer_report(self.log())
            assert report is None, "sanitizer report:\n" + report
            return
        if self.proc.poll() is None and not self.signalled:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._err.close()
            raise AssertionError("posternd did not exit within %ss of SIGTERM:\n%s"
                                 % (STOP_TIMEOUT, self.log()[-3000:]))
        self._err.close()
        log = self.log()
        report = sanitizer_report(log)
        assert report is None, "sanitizer report:\n" + report
        bad = logfmt.bad_lines(log)
        assert not bad, "log lines a logfmt parser cannot read:\n" + "\n".join(bad[:5])
        if check_exit:
            assert rc == 0, "posternd exited with %d after SIGTERM:\n%s" % (rc, log[-3000:])

    # ---- clients

    def connect(self, **kw):
        return Raw(self.host, self.port, **kw)

    # ---- the queue

    def queue(self, line):
        return control_command(self.control, line)

    def drain(self, timeout=DRAIN_TIMEOUT):
        """Wait until the queue holds nothing that is queued or being
        delivered (deferred, held and failed messages may stay)."""
        if not self.control or self.stopped or self.killed or self.proc.poll() is not None:
            return
        deadline = time.monotonic() + timeout
        while True:
            out = self.queue("list")
            assert out.startswith("ok"), out
            busy = [l for l in out.splitlines()[1:]
                    if " state=queued" in l or " state=active" in l]
            if not busy:
                return
            assert time.monotonic() < deadline, "queue not delivered in time:\n" + out
            time.sleep(0.01)

    # ---- Maildir

    def mailbox(self, addr):
        if "@" in addr:
            local, domain = addr.rsplit("@", 1)
        else:
            local, domain = addr, "localhost"
        return os.path.join(self.maildir, ascii_lower(domain), ascii_lower(local))

    def files(self, addr, sub="new"):
        self.drain()
        d = os.path.join(self.mailbox(addr), sub)
        if not os.path.isdir(d):
            return []
        return sorted(os.path.join(d, n) for n in os.listdir(d))

    def new_files(self, addr):
        return self.files(addr, "new")

    def tmp_files(self, addr):
        return self.files(addr, "tmp")

    def messages(self, addr):
        """Every delivered file of a mailbox, parsed."""
        out = []
        for p in self.new_files(addr):
            with open(p, "rb") as f:
                out.append(Stored(p, f.read()))
        return out

    def only_message(self, addr):
        msgs = self.messages(addr)
        assert len(msgs) == 1, "expected one message for %s, found %d" % (addr, len(msgs))
        return msgs[0]

    def all_files(self, sub):
        """Every file in any <mailbox>/<sub>/ under the Maildir root."""
        self.drain()
        out = []
        if not os.path.isdir(self.maildir):
            return out
        for root, dirs, files in os.walk(self.maildir):
            if os.path.basename(root) == sub:
                out.extend(os.path.join(root, f) for f in files)
        return sorted(out)


@pytest.fixture(scope="session")
def posternd_bin():
    path = os.path.abspath(POSTERND)
    if not os.access(path, os.X_OK):
        pytest.fail("posternd is not built at %s (set POSTERND)" % path, pytrace=False)
    return path


@pytest.fixture
def start_server(posternd_bin, tmp_path):
    """Factory: start_server(config={...}, args=[...], maildir=..., queue_dir=...,
    control=..., workers=2).

    config entries go to a key = value file passed with --config; args are
    extra flags. The server is stopped (SIGTERM) and checked at teardown."""
    servers = []

    def start(config=None, args=(), maildir=None, workers=2, hostname=HOSTNAME, wait=True,
              queue_dir=None, control=None):
        n = len(servers)
        workdir = tmp_path / ("srv%d" % n)
        workdir.mkdir()
        port = free_port()
        md = maildir if maildir is not None else str(workdir / "Maildir")
        qd = queue_dir if queue_dir is not None else str(workdir / "queue")
        ctl = control if control is not None else str(workdir / "control.sock")
        argv = [posternd_bin, "--listen", "127.0.0.1:%d" % port, "--maildir", md,
                "--queue-dir", qd, "--control", ctl,
                "--workers", str(workers), "--hostname", hostname]
        if config:
            conf = workdir / "posternd.conf"
            conf.write_text("".join("%s = %s\n" % (k, v) for k, v in config.items()))
            argv += ["--config", str(conf)]
        argv += list(args)
        srv = Server(str(workdir), port, md, argv, sanitizer_env(), queue_dir=qd, control=ctl)
        servers.append(srv)
        if wait:
            srv.wait_ready()
        return srv

    yield start

    errors = []
    for srv in servers:
        try:
            srv.stop()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture
def server(start_server):
    return start_server()
