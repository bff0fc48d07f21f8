"""kill -9 against the queue (issue 11): 20 sessions send messages of mixed
sizes (inline and spilled bodies) and record every message they got 250
for; posternd is killed at a random moment, several rounds on one queue.
After a restart every acknowledged message is in its Maildir byte for byte
(line ends normalized), none twice, and nothing that was not completely
received is delivered. A message whose 250 was lost in the kill may be."""

import os
import random
import threading
import time

from conftest import ConnectionClosed, Stored, check, queue_id

SESSIONS = 20
ROUNDS = 3


def lf(b):
    return b.replace(b"\r\n", b"\n")


def body_for(session, rnd, i, rng):
    size = rng.choice((300, 4096, 4096, 100 * 1024))  # 100 KiB: a spill file
    head = b"Subject: crash %d-%d-%d\r\n\r\n" % (rnd, session, i)
    line = b"token %d-%d-%d " % (rnd, session, i) + b"x" * 60 + b"\r\n"
    return head + line * max(1, size // len(line))


def run_round(srv, rnd, rng, acked, sent, lock):
    stop = threading.Event()
    errors = []

    def sender(n):
        rcpt = "s%d@localhost" % n
        my = random.Random(rng.random())
        try:
            with srv.connect() as c:
                c.ehlo()
                i = 0
                while not stop.is_set():
                    body = body_for(n, rnd, i, my)
                    i += 1
                    with lock:
                        sent[lf(body)] = rcpt
                    c.send(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<%s>\r\nDATA\r\n" % rcpt.encode())
                    check(c.reply(), 250, "2.1.0")
                    check(c.reply(), 250, "2.1.5")
                    check(c.reply(), 354)
                    c.send(body + b".\r\n")
                    qid = queue_id(c.reply())
                    with lock:
                        acked[qid] = (rcpt, lf(body))
        except (ConnectionClosed, OSError):
            pass  # killed
        except AssertionError as e:
            if not stop.is_set():
                errors.append(e)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(SESSIONS)]
    for t in threads:
        t.start()
    # a random moment, once some mail flows
    start = len(acked)
    deadline = time.monotonic() + 30
    while len(acked) - start < 20 and time.monotonic() < deadline and not errors:
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, 0.5))
    srv.kill9()
    stop.set()
    for t in threads:
        t.join(15)
    assert not errors, errors[0]
    assert len(acked) - start >= 20, "round %d: only %d messages acknowledged" % (
        rnd, len(acked) - start)


def test_kill9_rounds_lose_nothing(start_server, tmp_path):
    seed = int(os.environ.get("POSTERN_CRASH_SEED", time.time_ns() % 1000000))
    rng = random.Random(seed)
    maildir, qdir = str(tmp_path / "Maildir"), str(tmp_path / "queue")
    lock = threading.Lock()
    acked, sent = {}, {}
    for rnd in range(ROUNDS):
        srv = start_server(maildir=maildir, queue_dir=qdir, workers=2)
        run_round(srv, rnd, rng, acked, sent, lock)
    final = start_server(maildir=maildir, queue_dir=qdir)
    final.drain()
    where = "(seed %d; POSTERN_CRASH_SEED=%d reproduces the timing choices)" % (seed, seed)
    found = {}
    for path in final.all_files("new"):
        with open(path, "rb") as f:
            st = Stored(path, f.read())
        mailbox = os.path.basename(os.path.dirname(os.path.dirname(path)))
        body = lf(st.body)
        # nothing incomplete: every delivered message was sent whole
        assert body in sent, "partial or unknown message in %s %s" % (path, where)
        assert sent[body].split("@")[0] == mailbox, path
        # nothing twice
        assert st.id not in found, "%s delivered twice %s" % (st.id, where)
        found[st.id] = (mailbox, body)
    missing = [q for q in acked if q not in found]
    assert not missing, "acknowledged but not delivered: %r %s" % (missing, where)
    for qid, (rcpt, body) in acked.items():
        assert found[qid] == (rcpt.split("@")[0], body), "%s differs %s" % (qid, where)
    out = final.queue("list")
    assert out.startswith("ok messages=0"), out


def test_journal_turns_over_while_mail_flows(start_server):
    """One session, one message at a time, each delivered before the next:
    every time the queue runs empty with a full enough segment, the segment
    is closed and removed, while the next message's flush runs. No message
    may get anything but 250, and the journal does not grow."""
    srv = start_server()
    body = b"Subject: turn\r\n\r\n" + (b"t" * 78 + b"\r\n") * 800  # ~64 KiB: inline
    ids = []
    with srv.connect() as c:
        c.ehlo()
        for i in range(40):
            ids.append(queue_id(c.send_message("s@example.org", ["u@localhost"], body + b".\r\n",
                                               ehlo=False)))
            srv.drain()
    assert sorted(m.id for m in srv.messages("u@localhost")) == sorted(ids)
    assert "level=error" not in srv.log(), srv.log()
    journal = os.listdir(os.path.join(srv.queue_dir, "journal"))
    assert len(journal) <= 3, journal


def test_a_damaged_record_is_said(start_server, tmp_path):
    """A journal record that does not check out ends its segment's reading
    (a write cut by a crash: what follows was never acknowledged). When
    it is damage instead, the messages after it are lost: either way the
    start says so, with the segment and offset (it used to pass in
    silence, found in black-box testing)."""
    cfg = {"store": "lmtp", "lmtp": "127.0.0.1:1"}  # nobody there: they stay
    srv = start_server(config=cfg, queue_dir=str(tmp_path / "q"))
    with srv.connect() as c:
        c.ehlo()
        for i in range(5):
            queue_id(c.send_message("s@example.org", ["u@localhost"],
                                    b"Subject: %d\r\n\r\nbody %d\r\n.\r\n" % (i, i), ehlo=False))
    srv.stop()
    jdir = tmp_path / "q" / "journal"
    [seg] = sorted(jdir.iterdir())[:1]
    data = bytearray(seg.read_bytes())
    third = data.find(b"Subject: 2")
    assert third > 0
    data[third] ^= 0x20  # one bit, inside the third message's record
    seg.write_bytes(bytes(data))
    again = start_server(config=cfg, queue_dir=str(tmp_path / "q"))
    log = again.log()
    assert "event=queue_journal_cut" in log and "offset=" in log, log
    out = again.queue("list")
    assert out.startswith("ok messages=2\n"), out


def test_store_changed_across_a_restart(start_server, tmp_path):
    """Return-Path is the final delivery's (RFC 5321 section 4.4): added
    when the queue delivers, as the store then is. Mail queued for LMTP
    (which adds none: Dovecot does) and delivered to a Maildir after a
    restart starts with exactly one (it had none, found in black-box
    testing)."""
    q = str(tmp_path / "q")
    srv = start_server(config={"store": "lmtp", "lmtp": "127.0.0.1:1"}, queue_dir=q)
    with srv.connect() as c:
        qid = queue_id(c.send_message("s@example.org", ["u@localhost"],
                                      b"Subject: moved\r\n\r\nbody\r\n.\r\n"))
    srv.stop()
    again = start_server(queue_dir=q)  # the Maildir store
    assert again.queue("retry").startswith("ok")
    deadline = time.monotonic() + 10
    while not again.messages("u@localhost"):
        assert time.monotonic() < deadline, again.queue("list")
        time.sleep(0.05)
    [st] = again.messages("u@localhost")
    assert st.id == qid
    assert st.return_path == "s@example.org"
    assert st.raw.count(b"Return-Path:") == 1, st.raw[:300]
