"""posternd's log is logfmt that a parser reads: values a client chooses
(a user name, a refused command) come back whole, quotes and all. (conftest
checks every line of every server the suite starts; these tests feed the
values most likely to break a line.)"""

import subprocess

import logfmt
from conftest import b64, check, need


def test_client_chosen_values_read_back(start_server, tmp_path):
    users = tmp_path / "users"
    h = subprocess.run([need("openssl"), "passwd", "-6", "-stdin"], input=b"pw",
                       capture_output=True, check=True).stdout.decode().strip()
    users.write_text("alice:%s::\n" % h)
    srv = start_server(args=["--users", str(users), "--auth-plaintext", "--debug"])
    name = 'eve "the = quoter" \\ x'
    with srv.connect() as c:
        c.ehlo()
        check(c.cmd("AUTH PLAIN " + b64(b"\0" + name.encode() + b"\0Pw-secret-417")), 535)
        check(c.cmd('BOGUS "a=b" \\'), 500)
        c.cmd("QUIT")
    srv.stop()
    log = srv.log()
    assert logfmt.bad_lines(log) == []
    lines = [logfmt.parse(l) for l in log.splitlines() if l.startswith("ts=")]
    auth = [p for p in lines if p.get("event") == "auth"]
    assert auth and auth[0]["user"] == name, auth
    assert "Pw-secret-417" not in log  # never a password


def queued_line(srv, sender, rcpts):
    """Send one message from sender to rcpts, stop srv, and return its
    `queued` log line parsed (every line of the log must parse)."""
    with srv.connect() as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<%s>" % sender), 250)
        for r in rcpts:
            check(c.cmd("RCPT TO:<%s>" % r), 250)
        check(c.cmd("DATA"), 354)
        c.send(b"Subject: many\r\n\r\nx\r\n.\r\n")
        check(c.reply(), 250)
    srv.stop()
    log = srv.log()
    assert logfmt.bad_lines(log) == []
    [queued] = [logfmt.parse(l) for l in log.splitlines() if "event=queued" in l]
    return queued


def test_a_line_too_long_is_cut_where_it_parses(start_server):
    """An envelope whose logged values outgrow a log line (a quoted local
    part of backslashes doubles when escaped): the `queued` line is cut
    inside its quoted value, which is closed, and says truncated=yes,
    instead of ending mid-value (a review found such lines unreadable)."""
    local = '"' + "\\\\" * 28 + '%02d"'
    rcpts = [(local % i) + "@localhost" for i in range(16)]
    queued = queued_line(start_server(), (local % 99) + "@example.org", rcpts)
    assert queued["truncated"] == "yes" and queued["nrcpt"] == "16", queued


def test_a_long_recipient_list_says_it_was_cut(start_server):
    """Plain addresses whose list outgrows what a line holds: the list is
    cut with the line, which says truncated=yes (a black-box test saw it
    cut at 1,023 characters, mid-address, with nothing to say so), and the
    line's other fields are all there."""
    rcpts = ["%s%02d@localhost" % ("l" * 50, i) for i in range(40)]
    queued = queued_line(start_server(), "s@example.org", rcpts)
    assert queued["truncated"] == "yes" and queued["nrcpt"] == "40", queued
    for key in ("commit_ms", "sid", "client", "queue_id", "size", "from"):
        assert key in queued, key
    listed = queued["to"].split(",")
    assert len(listed) > 16 and listed[:-1] == ["<%s>" % r for r in rcpts[:len(listed) - 1]]


def test_queued_comes_before_delivered(start_server):
    """Every message's `queued` line comes before its `delivered` one: the
    queue manager hears of a flushed message only after the flusher logged
    it (a session's loop, logging after the flush woke it, was late for
    about one message in ten under load)."""
    import threading

    srv = start_server()
    errors = []

    def session(n):
        try:
            with srv.connect() as c:
                c.ehlo()
                for i in range(60):
                    check(c.cmd("MAIL FROM:<s%d@example.org>" % n), 250)
                    check(c.cmd("RCPT TO:<u%d@localhost>" % n), 250)
                    check(c.cmd("DATA"), 354)
                    c.send(b"Subject: %d\r\n\r\nbody\r\n.\r\n" % i)
                    check(c.reply(), 250)
                c.cmd("QUIT")
        except Exception as e:  # reported below, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    srv.drain()
    srv.stop()
    seen, late = set(), []
    for l in srv.log().splitlines():
        if "event=queued" in l or "event=delivered" in l:
            p = logfmt.parse(l)
            if p["event"] == "queued":
                seen.add(p["queue_id"])
            elif p["queue_id"] not in seen:
                late.append(p["queue_id"])
    assert len(seen) == 360 and late == [], (len(seen), late[:5])
