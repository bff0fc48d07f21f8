"""Messages that wait (deferred, held) are kept out of memory, in the queue's
index (src/queue/index.c). Everything `postern queue` does still reaches
them, a restart rebuilds the index from the journal, and when the target
comes back each is delivered once, to a real Dovecot."""
import os
import re
import threading
import time

from conftest import queue_id
from test_lmtp import Dovecot, lmtp_server, sent

N = 40
WAIT = 60


def wait_queue(srv, want):
    """Poll postern queue list until it holds want messages."""
    deadline = time.monotonic() + WAIT
    while True:
        out = srv.queue("list")
        if out.startswith("ok messages=%d\n" % want):
            return out
        assert time.monotonic() < deadline, "queue never held %d:\n%s" % (want, out)
        time.sleep(0.05)


def test_waiting_messages_delivered_when_the_target_returns(start_server, tmp_path):
    link = tmp_path / "lmtp.sock"  # nothing there yet: every attempt defers
    target = "unix:%s" % link
    srv = lmtp_server(start_server, target)
    qids = []
    with srv.connect() as c:
        c.ehlo()
        for _ in range(N):
            qids.append(queue_id(sent(c, ["alice@localhost"])))
    srv.drain()
    out = wait_queue(srv, N)
    assert out.count(" state=deferred ") == N, out
    assert out.count('connect: No such file or directory"') == N, out
    held = qids[0]
    assert srv.queue("hold " + held).startswith("ok hold=" + held)
    show = srv.queue("show " + held)
    assert "state=held attempts=1" in show, show
    assert 'to="alice@localhost" status=pending' in show, show
    srv.stop()

    # the same queue under a new process: the index is rebuilt from the journal
    srv2 = start_server(config={"store": "lmtp", "lmtp": target}, queue_dir=srv.queue_dir,
                        maildir=srv.maildir)
    out = wait_queue(srv2, N)
    assert out.count(" state=deferred ") == N - 1 and out.count(" state=held ") == 1, out
    d = Dovecot()
    try:
        os.symlink(d.socket, link)
        assert srv2.queue("retry").startswith("ok retry=%d\n" % (N - 1))
        wait_queue(srv2, 1)  # the held one stays
        got = d.messages("alice")
        assert len(got) == N - 1
        for qid in qids[1:]:
            assert sum(b"with ESMTP id %s" % qid.encode() in m for m in got) == 1, qid
        assert srv2.queue("release " + held).startswith("ok release=" + held)
        wait_queue(srv2, 0)
        assert len(d.messages("alice")) == N
    finally:
        d.stop()


def test_restart_with_more_than_recovery_holds_in_memory(start_server, tmp_path):
    """More waiting messages than recovery keeps in memory while it reads
    the journal (4 x the active limit of 1,000): after kill -9 and a
    restart, every one is back, deferred, and the log says how many were in
    memory at once."""
    target = "unix:%s" % (tmp_path / "nothing.sock")
    srv = lmtp_server(start_server, target)
    total, threads = 4500, 9
    errors = []

    def send_some(n):
        try:
            with srv.connect() as c:
                c.ehlo()
                for _ in range(n):
                    queue_id(sent(c, ["alice@localhost"]))
        except Exception as e:  # reported below, with the others
            errors.append(e)

    ts = [threading.Thread(target=send_some, args=(total // threads,)) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    wait_queue(srv, total)
    srv.kill9()

    srv2 = start_server(config={"store": "lmtp", "lmtp": target}, queue_dir=srv.queue_dir,
                        maildir=srv.maildir)
    out = wait_queue(srv2, total)
    assert out.count(" state=deferred ") == total, out[:2000]
    m = re.search(r"event=queue_recovered .*messages=(\d+) .*peak_in_memory=(\d+)", srv2.log())
    assert m, srv2.log()[-3000:]
    assert int(m.group(1)) == total and int(m.group(2)) <= 4001, m.group(0)
