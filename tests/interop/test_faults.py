"""Storage faults and crashes: a broken Maildir root, a full filesystem
under the queue and under the Maildir, kill -9 in the middle of DATA and
right after acknowledged messages. SPEC §2 (storage failed), §5 (250 only
once the message is durable) and §6 (the queue's disk rules)."""

import os
import pwd
import shutil
import signal
import re
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import (HOSTNAME, ConnectionClosed, Stored, check, queue_id,
                      sanitizer_env, sanitizer_report, free_port)


def ready(c):
    c.ehlo()
    return c


# ---------------------------------------------------------------- start-up

def test_maildir_root_under_a_regular_file(posternd_bin, tmp_path):
    f = tmp_path / "file"
    f.write_text("I am not a directory\n")
    root = f / "sub"
    argv = [posternd_bin, "--listen", "127.0.0.1:%d" % free_port(), "--maildir", str(root),
            "--workers", "2", "--hostname", HOSTNAME]
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10,
                           env=sanitizer_env())
    except subprocess.TimeoutExpired:
        pytest.fail("posternd kept running with an unusable Maildir root %s" % root)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode != 0, err
    assert sanitizer_report(err) is None, err
    # a clear error: names the path and says what is wrong
    assert str(root) in err or "file/sub" in err, err
    assert "not a directory" in err.lower(), err
    assert not root.exists()


# ---------------------------------------------------------------- full filesystem

@pytest.fixture
def small_fs(tmp_path):
    """A 256 KiB tmpfs (needs CAP_SYS_ADMIN); unmounted at teardown."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        pytest.fail("cannot mount a 256 KiB tmpfs for the disk-full test (needs root): %s"
                    % r.stdout.decode().strip())
    yield mnt
    if subprocess.run(["umount", str(mnt)]).returncode != 0:
        subprocess.run(["umount", "-l", str(mnt)])


def fill_body(i):
    # ~24 KiB each: the 256 KiB filesystem fills after a few
    return b"Subject: fill %d\r\n\r\n" % i + (b"%05d " % i + b"f" * 72 + b"\r\n") * 300


def test_queue_disk_full(start_server, small_fs):
    """ENOSPC while spooling: 451 4.3.0, nothing left behind, what was
    acknowledged is delivered, and the queue takes mail again once its
    delivered messages' space is given back."""
    qd = small_fs / "queue"
    srv = start_server(queue_dir=str(qd), config={"queue_min_free": 0})
    rcpts = ["a@localhost", "b@localhost"]
    acked = {}
    failed = None
    with srv.connect() as c:
        ready(c)
        for i in range(64):
            body = fill_body(i)
            r = c.send_message("s@example.org", rcpts, body + b".\r\n", ehlo=False)
            if r.code != 250:
                failed = r
                break
            acked[queue_id(r)] = body
        assert failed is not None, "the 256 KiB filesystem never filled up"
        check(failed, 451, "4.3.0")
        # the session survives the failure
        check(c.cmd("NOOP"), 250, "2.0.0")
    assert acked, "not even the first message fitted"
    # logged clearly, with the queue directory
    assert re.search(r"event=(spool|queue)_failed .*%s.*No space left on device" % re.escape(str(qd)),
                     srv.log())
    for rcpt in rcpts:
        msgs = srv.messages(rcpt)  # waits for the queue manager
        assert sorted(m.id for m in msgs) == sorted(acked), rcpt
        for m in msgs:
            assert m.body == acked[m.id]
    # no half-spooled message anywhere
    assert os.listdir(qd / "spill") == []
    # delivered messages' space comes back: mail is accepted again
    deadline = time.monotonic() + 15
    while True:
        with srv.connect() as c:
            r = c.send_message("s@example.org", rcpts, fill_body(99) + b".\r\n")
        if r.code == 250:
            break
        assert time.monotonic() < deadline, "the queue never took mail again: %r" % r.raw
        time.sleep(0.05)


def test_queue_dir_removed(start_server, tmp_path):
    """A queue directory that goes away under a running server: 451, never
    250, and the log names the path and the reason."""
    qd = tmp_path / "q"
    srv = start_server(queue_dir=str(qd))
    with srv.connect() as c:
        ready(c)
        queue_id(c.send_message("s@example.org", ["a@localhost"], fill_body(1) + b".\r\n",
                                ehlo=False))
        srv.drain()
        shutil.rmtree(qd)
        for i in range(2):
            r = c.send_message("s@example.org", ["a@localhost"], fill_body(2) + b".\r\n",
                               ehlo=False)
            check(r, 451, "4.3.0")
    log = srv.log()
    assert re.search(r"event=queue_failed .*%s.*No such file or directory" % re.escape(str(qd)),
                     log), log


def test_queue_read_only(posternd_bin, small_fs):
    """A queue on a read-only file system: posternd does not start (it could
    take no mail), and says which directory and why. (A file system cannot
    be remounted read-only under a running server: its segment is open.)"""
    qd = small_fs / "queue"
    qd.mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    try:
        p = subprocess.run([posternd_bin, "--listen", "127.0.0.1:%d" % free_port(), "--maildir",
                            str(small_fs.parent / "Maildir"), "--queue-dir", str(qd),
                            "--control", str(small_fs.parent / "control.sock")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10,
                           env=sanitizer_env())
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_fs)], check=True)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode != 0, err
    assert sanitizer_report(err) is None, err
    assert "event=start_failed" in err and str(qd) in err, err
    assert "Read-only file system" in err, err


def test_queue_min_free(start_server, small_fs):
    """Below queue_min_free MAIL gets 452 4.3.1 (Postfix's queue_minfree)."""
    srv = start_server(queue_dir=str(small_fs / "queue"), config={"queue_min_free": 1 << 30})
    with srv.connect() as c:
        ready(c)
        check(c.cmd("MAIL FROM:<s@example.org>"), 452, "4.3.1")
        check(c.cmd("NOOP"), 250, "2.0.0")
    assert "event=queue_full" in srv.log()


def test_size_that_would_not_fit(start_server, small_fs):
    """A MAIL whose SIZE= would take the queue below queue_min_free gets
    452 4.3.1 before the message is sent; a smaller one is taken."""
    free = os.statvfs(small_fs).f_bavail * os.statvfs(small_fs).f_frsize
    srv = start_server(queue_dir=str(small_fs / "queue"),
                       config={"queue_min_free": free // 2, "max_message_size": 1 << 30})
    with srv.connect() as c:
        ready(c)
        check(c.cmd("MAIL FROM:<s@example.org> SIZE=%d" % free), 452, "4.3.1")
        check(c.cmd("MAIL FROM:<s@example.org> SIZE=1000"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<a@localhost>"), 250)
        check(c.cmd("DATA"), 354)
        c.send(b"Subject: fits\r\n\r\nsmall\r\n.\r\n")
        check(c.reply(), 250, "2.0.0")
    assert "event=queue_full" in srv.log() and " size=%d" % free in srv.log()


def test_mailbox_disk_full_defers(start_server, small_fs):
    """A full Maildir file system: messages were acknowledged (the queue is
    elsewhere) and wait in the queue, deferred with the reason."""
    srv = start_server(maildir=str(small_fs / "Maildir"))
    ids = []
    with srv.connect() as c:
        ready(c)
        for i in range(16):
            ids.append(queue_id(c.send_message("s@example.org", ["a@localhost"],
                                               fill_body(i) + b".\r\n", ehlo=False)))
    srv.drain()
    out = srv.queue("list")
    assert "state=deferred" in out, out
    assert 'last_error="452 4.3.1 ' in out and "No space left on device" in out, out
    # logged, with the path and the system's reason
    lines = [l for l in srv.log().splitlines() if "No space left on device" in l]
    assert lines and all("event=deferred" in l for l in lines), srv.log()[-2000:]
    assert str(small_fs) in lines[0], lines[0]
    delivered = {m.id for m in srv.messages("a@localhost")}
    waiting = {l.split()[0][3:] for l in out.splitlines()[1:]}
    assert delivered | waiting == set(ids) and not delivered & waiting
    # no partial file anywhere
    assert srv.all_files("tmp") == []


# ---------------------------------------------------------------- crashes

def wait_for(pred, what, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.01)
    pytest.fail("timed out waiting for " + what)


def spill_size(srv):
    """The size of the queue's spill file of the message being received, or
    None (a message larger than the queue's 64 KiB buffer spills)."""
    spill = os.path.join(srv.queue_dir, "spill")
    for name in os.listdir(spill):
        try:
            return os.path.getsize(os.path.join(spill, name))
        except OSError:
            pass  # removed meanwhile
    return None


def interrupt_mid_data(srv, stop):
    """Start a message bigger than the queue's 64 KiB buffer, wait until the
    spill file holds some of it, then stop(srv). Nothing may be left behind
    once a server runs on the queue again."""
    with srv.connect() as c:
        ready(c)
        check(c.cmd("MAIL FROM:<s@example.org>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<u@localhost>"), 250, "2.1.5")
        check(c.cmd("DATA"), 354)
        c.send(b"Subject: never finished\r\n\r\n" + (b"p" * 78 + b"\r\n") * 3000)
        wait_for(lambda: (spill_size(srv) or 0) > 0, "the spill file to fill")
        stop(srv)
    assert srv.all_files("new") == []
    assert srv.all_files("tmp") == []


def test_kill9_mid_data(start_server):
    srv = start_server()
    interrupt_mid_data(srv, lambda s: s.kill9())
    # a fresh server on the same queue: the half-received message is gone
    again = start_server(maildir=srv.maildir, queue_dir=srv.queue_dir)
    assert again.all_files("new") == []
    assert os.listdir(os.path.join(srv.queue_dir, "spill")) == []
    with again.connect() as c:
        queue_id(c.send_message("s@example.org", ["u@localhost"], b"Subject: ok\r\n\r\nok\r\n.\r\n"))
    assert again.only_message("u@localhost").body == b"Subject: ok\r\n\r\nok\r\n"


def test_kill9_after_acks(start_server):
    """Every message acknowledged with 250 before kill -9 is delivered, whole,
    once the server is back on the same queue."""
    srv = start_server()
    lock = threading.Lock()
    acked = {}   # queue id -> (mailbox, body)
    sent = {}    # body -> mailbox, for every message offered
    stop = threading.Event()
    errors = []

    def sender(n):
        rcpt = "w%d@localhost" % n
        try:
            with srv.connect() as c:
                ready(c)
                i = 0
                while not stop.is_set():
                    body = (b"Subject: crash %d-%d\r\n\r\n" % (n, i)
                            + (b"token %d-%d " % (n, i) + b"c" * 60 + b"\r\n") * 40)
                    i += 1
                    with lock:
                        sent[body] = rcpt
                    c.send(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<%s>\r\nDATA\r\n" % rcpt.encode())
                    check(c.reply(), 250, "2.1.0")
                    check(c.reply(), 250, "2.1.5")
                    check(c.reply(), 354)
                    c.send(body + b".\r\n")
                    qid = queue_id(c.reply())
                    with lock:
                        acked[qid] = (rcpt, body)
        except (ConnectionClosed, OSError):
            pass  # the server was killed
        except AssertionError as e:
            if not stop.is_set():
                errors.append(e)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not errors:
            with lock:
                if len(acked) >= 50:
                    break
            time.sleep(0.001)
        srv.kill9()
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert not errors, errors[0]
    assert len(acked) >= 50, "only %d messages acknowledged in 60 s" % len(acked)

    again = start_server(maildir=srv.maildir, queue_dir=srv.queue_dir)
    found = {}
    for path in again.all_files("new"):
        with open(path, "rb") as f:
            st = Stored(path, f.read())
        # nothing half-written ever reaches new/, acknowledged or not
        assert st.body in sent, "partial or unknown message in %s" % path
        assert st.id not in found
        found[st.id] = (os.path.basename(os.path.dirname(os.path.dirname(path))), st.body)
    missing = [q for q in acked if q not in found]
    assert not missing, "acknowledged but not in new/: %r" % missing
    for qid, (rcpt, body) in acked.items():
        assert found[qid] == (rcpt.split("@")[0], body), qid


def test_second_sigterm_mid_data(start_server):
    """The first SIGTERM waits for the session; a second one ends the
    process at once, and the message it was receiving leaves no spool once
    the server is back on its queue."""
    srv = start_server()

    def twice(s):
        s.signal(signal.SIGTERM)
        wait_for(lambda: "event=shutdown" in s.log(), "the graceful shutdown to start")
        # the first one's handler gives the signal back to the system as it
        # finishes: until then a second one is only logged, so repeat it
        def gone():
            if s.proc.poll() is None:
                s.signal(signal.SIGTERM)
            return s.proc.poll() is not None
        wait_for(gone, "the second SIGTERM to end posternd", timeout=10.0)
        # killed by the signal, not a graceful exit (the session is mid-DATA)
        assert s.proc.returncode == -signal.SIGTERM, s.proc.returncode
    interrupt_mid_data(srv, twice)
    srv.stop(check_exit=False)
    again = start_server(maildir=srv.maildir, queue_dir=srv.queue_dir)
    assert os.listdir(os.path.join(srv.queue_dir, "spill")) == []
    assert again.all_files("new") == []


def test_stale_tmp_files_cleaned_at_start(start_server, tmp_path):
    """Maildir's rule: tmp/ files untouched for 36 hours are removed (at start
    and then daily); younger ones may be another program's delivery."""
    md = tmp_path / "Maildir"
    tmp = md / "localhost" / "u" / "tmp"
    tmp.mkdir(parents=True)
    now = time.time()
    for name, age_h in (("stale", 37), ("young", 35)):
        (tmp / name).write_bytes(b"partial\n")
        os.utime(tmp / name, (now - age_h * 3600, now - age_h * 3600))
    start_server(maildir=str(md))
    assert sorted(os.listdir(tmp)) == ["young"]


# ---------------------------------------------------------------- ownership

def test_user_takes_over_mailboxes_root_made(start_server):
    """Issue 10 item 11: mailboxes that an earlier run as root created stay
    root's; with --user every delivery to them got 451 4.3.0 forever. At start
    the server now gives root's entries under the Maildir root to the user
    and says so."""
    if os.geteuid() != 0:
        pytest.fail("this test needs root (CI runs as root): it switches users")
    pw = pwd.getpwnam("nobody")
    base = tempfile.mkdtemp(prefix="postern-owner-")
    os.chmod(base, 0o755)  # nobody must reach the Maildir root
    try:
        md = os.path.join(base, "Maildir")
        first = start_server(maildir=md)  # as root
        with first.connect() as c:
            queue_id(c.send_message("a@example.org", ["u@localhost"],
                                    b"Subject: 1\r\n\r\nas root\r\n.\r\n"))
        first.drain()  # 250 means queued: the mailbox exists once it is delivered
        first.stop()
        assert os.stat(first.mailbox("u@localhost")).st_uid == 0
        # someone else's mailbox is named, not taken
        other = os.path.join(md, "localhost", "v")
        os.makedirs(other)
        os.chown(other, 4242, 4242)

        srv = start_server(args=["--user", "nobody"], maildir=md,
                           queue_dir=os.path.join(base, "queue"),
                           control=os.path.join(base, "run", "control.sock"))  # a directory posternd makes
        with srv.connect() as c:
            queue_id(c.send_message("a@example.org", ["u@localhost"],
                                    b"Subject: 2\r\n\r\nas nobody\r\n.\r\n"))
        for p in srv.new_files("u@localhost"):
            assert os.stat(p).st_uid == pw.pw_uid
        assert len(srv.messages("u@localhost")) == 2
        log = srv.log()
        assert "event=store_warning" in log, log
        assert "changed the owner of" in log and "from root to nobody" in log, log
        assert other + ": owned by uid 4242, not nobody" in log, log
        srv.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_store_error_names_path_and_errno(start_server, tmp_path):
    """Issue 10: a store error says which path failed and why (the message
    was queued: its delivery is deferred, and the log line says why)."""
    srv = start_server()
    # a regular file where the mailbox's domain directory would go
    os.makedirs(srv.maildir, exist_ok=True)
    blocker = os.path.join(srv.maildir, "localhost")
    with open(blocker, "w") as f:
        f.write("not a directory\n")
    with srv.connect() as c:
        r = c.send_message("a@example.org", ["u@localhost"], b"Subject: x\r\n\r\nx\r\n.\r\n")
        queue_id(r)
    srv.drain()
    log = srv.log()
    line = next(l for l in log.splitlines() if "event=deferred" in l)
    assert "level=warn" in line, line
    assert blocker + "/u/tmp" in line, line
    assert "Not a directory" in line, line
