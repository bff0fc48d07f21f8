"""What the Maildir store writes (SPEC §5): LF line ends, and the mailbox a
recipient address maps to, quoted local parts included (RFC 5321 §4.1.2)."""

import os

from conftest import check, queue_id


def test_maildir_file_has_lf_line_ends(server):
    """Issue 10 item 9: mutt showed ^M on every header of a CRLF file."""
    body = b"Subject: lf\r\nTo: u@localhost\r\n\r\nline one\r\n..dot\r\nline three\r\n"
    with server.connect() as c:
        qid = queue_id(c.send_message("s@example.org", ["u@localhost"], body + b".\r\n"))
    m = server.only_message("u@localhost")
    assert m.id == qid
    assert b"\r" not in m.raw
    trace_len = len(m.trace.replace(b"\r\n", b"\n"))
    assert m.raw[trace_len:] == b"Subject: lf\nTo: u@localhost\n\nline one\n.dot\nline three\n"
    assert m.raw.startswith(b"Return-Path: <s@example.org>\nReceived: from ")


def test_quoted_local_part_is_the_same_mailbox(server):
    """Issue 10 item 12: "alice"@localhost went to a directory named "alice"."""
    with server.connect() as c:
        c.ehlo()
        check(c.cmd('MAIL FROM:<s@example.org>'), 250, "2.1.0")
        check(c.cmd('RCPT TO:<"alice"@localhost>'), 250, "2.1.5")
        check(c.cmd('RCPT TO:<"al\\ice"@LOCALHOST>'), 250, "2.1.5")
        check(c.cmd("DATA"), 354)
        c.send(b"Subject: quoted\r\n\r\nhi\r\n.\r\n")
        queue_id(c.reply())
        queue_id(c.send_message("s@example.org", ["alice@localhost"],
                                b"Subject: plain\r\n\r\nhi\r\n.\r\n", ehlo=False))
    # both recipients of the first message are one mailbox: stored once
    server.drain()
    assert sorted(os.listdir(os.path.join(server.maildir, "localhost"))) == ["alice"]
    subjects = sorted(m.body.split(b"\r\n")[0] for m in server.messages("alice@localhost"))
    assert subjects == [b"Subject: plain", b"Subject: quoted"]


def test_quoted_local_part_stays_inside_the_root(server, tmp_path):
    """A local part that really needs its quotes cannot climb out of the
    Maildir root nor hide itself: '/' and a leading '.' are encoded."""
    rcpts = ['"../x"@localhost', '"a/b"@localhost', '".x"@localhost', '"../../../tmp/y"@localhost',
             '".."@localhost']
    before = set(os.listdir(tmp_path))
    with server.connect() as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<s@example.org>"), 250, "2.1.0")
        for r in rcpts:
            check(c.cmd("RCPT TO:<%s>" % r), 250, "2.1.5")
        check(c.cmd("DATA"), 354)
        c.send(b"Subject: tricky\r\n\r\nhi\r\n.\r\n")
        queue_id(c.reply())
    server.drain()
    names = sorted(os.listdir(os.path.join(server.maildir, "localhost")))
    assert names == sorted(['".."', '"..%2F..%2F..%2Ftmp%2Fy"', '"..%2Fx"', '".x"', "a%2Fb"])
    for n in names:
        d = os.path.join(server.maildir, "localhost", n, "new")
        assert len(os.listdir(d)) == 1, n
    # nothing appeared beside the Maildir
    assert set(os.listdir(tmp_path)) == before
    assert not os.path.exists("/tmp/y")
