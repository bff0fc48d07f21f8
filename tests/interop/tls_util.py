"""Helpers for test_tls.py: certificates, TLS over conftest's Raw client,
checks of a stored message's TLS comment, an `openssl s_client` driver and a
ClientHello generator."""

import hashlib
import os
import select
import socket
import ssl
import subprocess
import tempfile
import time

from conftest import TIMEOUT, ConnectionClosed, Raw, check, read_reply

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAKE_CERT = os.path.join(TOP, "scripts", "make-cert")


# ---------------------------------------------------------------- certificates

class CertPair:
    def __init__(self, directory):
        self.dir = str(directory)
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")

    def der(self):
        with open(self.cert) as f:
            return ssl.PEM_cert_to_DER_cert(f.read())

    def fingerprint(self):
        return hashlib.sha256(self.der()).hexdigest()


def make_cert(directory):
    """scripts/make-cert DIR: a self-signed pair for localhost and 127.0.0.1."""
    p = subprocess.run([MAKE_CERT, str(directory)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, "scripts/make-cert failed: %r" % p.stderr
    assert p.stdout == b"", "scripts/make-cert printed %r" % p.stdout
    return CertPair(directory)


def client_ctx(cafile, maximum=None, minimum=None):
    """A verifying client context (hostname checked) that trusts cafile."""
    ctx = ssl.create_default_context(cafile=cafile)
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


def fingerprint_of(sslsock):
    return hashlib.sha256(sslsock.getpeercert(binary_form=True)).hexdigest()


# ---------------------------------------------------------------- TLS over Raw

def starttls(c, ctx, server_hostname="localhost", **kw):
    """STARTTLS on an EHLO'd Raw client; afterwards c talks through TLS."""
    check(c.cmd("STARTTLS"), 220, "2.0.0")
    assert c.buf == b"", "bytes after the 220 before the handshake: %r" % c.buf
    c.sock = ctx.wrap_socket(c.sock, server_hostname=server_hostname, **kw)
    return c


def connect_tls(host, port, ctx, server_hostname="localhost", timeout=TIMEOUT, **kw):
    """A Raw client on an implicit-TLS port, handshake done, greeting unread."""
    c = Raw(host, port, timeout=timeout)
    try:
        c.sock = ctx.wrap_socket(c.sock, server_hostname=server_hostname, **kw)
    except BaseException:
        c.close()
        raise
    return c


def read_until_close(sock, timeout):
    """Everything the peer sends until it closes. Returns (data, seconds);
    raises AssertionError if it is still open after timeout."""
    t0 = time.monotonic()
    data = b""
    sock.settimeout(0.2)
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            if time.monotonic() - t0 > timeout:
                raise AssertionError("connection still open after %.1fs; received %r"
                                     % (timeout, data))
            continue
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            return data, time.monotonic() - t0
        data += chunk


def only_tls_alerts(data):
    """True if data is nothing, or TLS alert records only (content type 21)."""
    i = 0
    while i < len(data):
        if len(data) - i < 5 or data[i] != 21 or data[i + 1] != 3:
            return False
        i += 5 + int.from_bytes(data[i + 3:i + 5], "big")
    return i == len(data)


def client_hello(server_hostname="localhost"):
    """The bytes of a real ClientHello (Python's defaults)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    data = outgoing.read()
    assert data[:1] == b"\x16" and len(data) > 100, data
    return data


# ---------------------------------------------------------------- the stored file

def check_tls_stored(st, body, with_="ESMTPS", version=None):
    """st: a conftest.Stored whose Received header must carry the TLS comment."""
    assert st.body == body, "stored body differs:\n%r\n!=\n%r" % (st.body, body)
    assert st.with_ == with_, "expected 'with %s' in %r" % (with_, st.trace)
    assert st.tls_version is not None and st.tls_version.startswith("TLSv1."), \
        "no TLS version in the Received header: %r" % st.trace
    if version is not None:
        assert st.tls_version == version, "expected %s in %r" % (version, st.trace)
    assert "cipher" in st.tls.lower(), "no cipher in the Received header: %r" % st.trace


# ---------------------------------------------------------------- openssl s_client

class SClient:
    """Drives `openssl s_client` line by line: what the server sends after
    the handshake comes on stdout; commands go in on stdin (LF, -crlf
    turns it into CRLF)."""

    def __init__(self, argv, timeout=10):
        self.err = tempfile.TemporaryFile()
        self.argv = argv
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err)
        self.buf = b""
        self.timeout = timeout

    def stderr(self):
        self.err.seek(0)
        return self.err.read().decode("utf-8", "replace")

    def _line(self):
        deadline = time.monotonic() + self.timeout
        fd = self.p.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("s_client: no reply within %ss; have %r; stderr:\n%s"
                                     % (self.timeout, self.buf, self.stderr()))
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise ConnectionClosed("s_client ended; unread %r; stderr:\n%s"
                                       % (self.buf, self.stderr()))
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def reply(self):
        return read_reply(self._line)

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def cmd(self, line):
        self.send(line.encode() + b"\n")
        return self.reply()

    def finish(self):
        """Close stdin and wait for s_client to end (the server closed)."""
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            rc = self.p.wait(self.timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise AssertionError("s_client did not end after QUIT; stderr:\n" + self.stderr())
        return rc

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def s_client_run(argv, input=b"", timeout=15):
    """Run s_client to the end; returns (rc, stdout+stderr text)."""
    p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")
