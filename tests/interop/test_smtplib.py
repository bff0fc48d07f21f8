"""Python's smtplib (and raw pipelined batches) against posternd: what is
acknowledged is stored, byte for byte, after the two trace headers."""

import base64
import os
import smtplib

from conftest import HOSTNAME, TIMEOUT, check, queue_id


def client(srv):
    s = smtplib.SMTP(srv.host, srv.port, local_hostname="client.example", timeout=TIMEOUT)
    s.ehlo()
    return s


def send(srv, sender, rcpts, msg, mail_options=()):
    """MAIL/RCPT/DATA through smtplib; returns the queue id of the 250."""
    with client(srv) as s:
        code, resp = s.mail(sender, list(mail_options))
        assert code == 250, resp
        for r in rcpts:
            code, resp = s.rcpt(r)
            assert code == 250, resp
        code, resp = s.data(msg)
        assert code == 250, resp
        text = resp.decode()
        assert text.startswith("2.0.0 Ok: queued as "), text
        return text.split()[-1]


def test_plain_send(server):
    msg = (b"From: Sender <sender@example.org>\r\n"
           b"To: rcpt@localhost\r\n"
           b"Subject: plain\r\n"
           b"Message-ID: <plain@example.org>\r\n"
           b"\r\n"
           b"Hello,\r\n"
           b"\r\n"
           b"  indented line\twith a tab  \r\n"
           b"last line\r\n")
    qid = send(server, "sender@example.org", ["rcpt@localhost"], msg)
    st = server.only_message("rcpt@localhost")
    assert st.body == msg
    assert st.data.startswith(b"Return-Path: <sender@example.org>\r\nReceived: from client.example (")
    assert "127.0.0.1" in st.tcpinfo
    assert st.by == HOSTNAME
    assert st.with_ == "ESMTP"
    assert st.id == qid
    assert st.for_ == "rcpt@localhost"
    st.check_date()
    assert server.tmp_files("rcpt@localhost") == []


def test_sendmail_case_and_null_sender(server):
    """The mailbox is lower-cased; a null reverse-path is stored as <>."""
    msg = b"Subject: bounce\r\n\r\nbody\r\n"
    with client(server) as s:
        assert s.sendmail("<>", ["Mixed.Case@LOCALHOST"], msg) == {}
    st = server.only_message("mixed.case@localhost")
    assert st.return_path == ""
    assert st.for_ == "Mixed.Case@LOCALHOST"
    assert st.body == msg


def test_pipelined_batch(server):
    """MAIL, RCPT, RCPT, DATA in one write: four replies in order."""
    with server.connect() as c:
        c.ehlo()
        assert "PIPELINING" in c.cmd("EHLO client.example").text.split("\n")
        c.send(b"MAIL FROM:<p@example.org>\r\n"
               b"RCPT TO:<one@localhost>\r\n"
               b"RCPT TO:<two@localhost>\r\n"
               b"DATA\r\n")
        check(c.reply(), 250, "2.1.0")
        check(c.reply(), 250, "2.1.5")
        check(c.reply(), 250, "2.1.5")
        check(c.reply(), 354)
        body = b"Subject: pipelined\r\n\r\nbody\r\n"
        c.send(body + b".\r\n")
        qid = queue_id(c.reply())
        check(c.cmd("QUIT"), 221, "2.0.0")
        c.expect_closed()
    for rcpt in ("one@localhost", "two@localhost"):
        st = server.only_message(rcpt)
        assert st.body == body
        assert st.id == qid


def test_pipelined_whole_transaction(server):
    """The server reads ahead: a whole transaction and QUIT in one write."""
    body = b"Subject: ahead\r\n\r\nNOOP\r\nRSET\r\n"
    with server.connect() as c:
        c.ehlo()
        c.send(b"MAIL FROM:<p@example.org>\r\nRCPT TO:<ahead@localhost>\r\nDATA\r\n"
               + body + b".\r\nNOOP\r\nQUIT\r\n")
        check(c.reply(), 250, "2.1.0")
        check(c.reply(), 250, "2.1.5")
        check(c.reply(), 354)
        qid = queue_id(c.reply())
        check(c.reply(), 250, "2.0.0")
        check(c.reply(), 221, "2.0.0")
        c.expect_closed()
    st = server.only_message("ahead@localhost")
    assert st.id == qid
    assert st.body == body


def test_8bitmime(server):
    msg = ("Subject: =?utf-8?q?8bit?=\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n"
           "\r\n"
           "Grüße aus Köln, ½ € — ✓\r\n").encode("utf-8") + bytes(range(0x80, 0x100)) + b"\r\n"
    with client(server) as s:
        assert s.has_extn("8bitmime")
    qid = send(server, "s@example.org", ["eight@localhost"], msg, ["BODY=8BITMIME"])
    st = server.only_message("eight@localhost")
    assert st.id == qid
    assert st.body == msg


def test_smtputf8(server):
    rcpt = "用户@localhost"
    sender = "отправитель@example.org"
    msg = ("From: " + sender + "\r\nTo: " + rcpt + "\r\nSubject: ünïcödé\r\n\r\n"
           "你好\r\n").encode("utf-8")
    with client(server) as s:
        assert s.has_extn("smtputf8")
        assert s.sendmail(sender, [rcpt], msg,
                          mail_options=["SMTPUTF8", "BODY=8BITMIME"]) == {}
    server.drain()
    d = os.path.join(server.maildir, "localhost", "用户", "new")
    assert os.path.isdir(d), os.listdir(os.path.join(server.maildir, "localhost"))
    st = server.only_message(rcpt)
    assert st.body == msg
    assert st.return_path == sender
    assert st.for_ == rcpt
    # RFC 6531 §3.7.3 / SPEC §5: the "with" of an SMTPUTF8 transaction
    assert st.with_ == "UTF8SMTP"


def test_dot_stuffing_by_smtplib(server):
    """smtplib stuffs leading dots; the server must remove exactly one."""
    msg = (b"Subject: dots\r\n\r\n"
           b".\r\n"
           b"..\r\n"
           b"...\r\n"
           b".leading\r\n"
           b"..two\r\n"
           b"middle . dot\r\n"
           b". \r\n"
           b"end\r\n")
    send(server, "s@example.org", ["dots@localhost"], msg)
    assert server.only_message("dots@localhost").body == msg


def test_dot_stuffing_raw(server):
    """Stuffed on the wire, unstuffed in the store (RFC 5321 §4.5.2)."""
    wire = b"Subject: raw dots\r\n\r\n..\r\n...\r\n..x\r\n.y\r\nz\r\n.\r\n"
    want = b"Subject: raw dots\r\n\r\n.\r\n..\r\n.x\r\ny\r\nz\r\n"
    with server.connect() as c:
        queue_id(c.send_message("s@example.org", ["rawdots@localhost"], wire))
    assert server.only_message("rawdots@localhost").body == want


def big_message(size):
    """A text message of about `size` octets, with dot-leading lines."""
    lines = [b"Subject: big\r\n", b"\r\n"]
    total = sum(map(len, lines))
    raw = base64.b64encode(os.urandom(size * 3 // 4 + 100))
    i = 0
    n = 0
    while total < size:
        line = raw[i:i + 76]
        i += 76
        if n % 50 == 0:
            line = b"." + line[1:]
        lines.append(line + b"\r\n")
        total += len(line) + 2
        n += 1
    return b"".join(lines)


def test_ten_mib_byte_exact(server):
    msg = big_message(10 * 1024 * 1024)
    assert len(msg) >= 10 * 1024 * 1024
    with smtplib.SMTP(server.host, server.port, local_hostname="client.example",
                      timeout=30) as s:
        s.ehlo()
        # smtplib adds SIZE=<len> on its own when SIZE is advertised
        assert s.sendmail("s@example.org", ["big@localhost"], msg) == {}
    st = server.only_message("big@localhost")
    assert len(st.body) == len(msg)
    assert st.body == msg


def test_hundred_recipients_hard_links(server):
    rcpts = ["r%03d@localhost" % i for i in range(100)]
    msg = b"Subject: hundred\r\n\r\nto many\r\n"
    with client(server) as s:
        code, resp = s.mail("s@example.org")
        assert code == 250, resp
        for r in rcpts:
            code, resp = s.rcpt(r)
            assert (code, resp[:5]) == (250, b"2.1.5"), (r, code, resp)
        # the limit is 100 (SPEC §2): the 101st gets 452 4.5.3, and so does the 102nd
        for extra in ("r100@localhost", "r101@localhost"):
            code, resp = s.rcpt(extra)
            assert (code, resp[:5]) == (452, b"4.5.3"), (extra, code, resp)
        code, resp = s.data(msg)
        assert code == 250, resp
        qid = resp.decode().split()[-1]
    inodes = set()
    for r in rcpts:
        st = server.only_message(r)
        assert st.body == msg
        assert st.id == qid
        assert st.return_path == "s@example.org"
        inodes.add(os.stat(st.path).st_ino)
    # one file, hard-linked into every mailbox (SPEC §5)
    assert len(inodes) == 1, "expected hard links, found %d inodes" % len(inodes)
    assert os.stat(server.new_files(rcpts[0])[0]).st_nlink == 100
    assert server.new_files("r100@localhost") == []
    assert server.new_files("r101@localhost") == []
    assert server.all_files("tmp") == []
