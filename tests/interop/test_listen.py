"""Listening sockets: one posternd per address (issue 10 item 3).

Each worker loop has its own SO_REUSEPORT socket, which any process of the
same user could join; a second posternd on an address in use must refuse to
start, as Postfix and every other server do, instead of silently taking a
share of the connections."""
import subprocess

from conftest import check, free_port, sanitizer_env


def test_second_instance_refuses_to_start(start_server, posternd_bin, tmp_path):
    first = start_server(args=["--store", "discard"], workers=2)
    argv = [posternd_bin, "--listen", "127.0.0.1:%d" % first.port, "--store", "discard",
            "--maildir", str(tmp_path / "m2"), "--workers", "2",
            "--queue-dir", str(tmp_path / "q2"), "--control", str(tmp_path / "c2.sock")]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                       env=sanitizer_env())
    err = p.stderr.decode()
    assert p.returncode == 2, (p.returncode, err)
    assert "event=start_failed" in err and "Address already in use" in err, err
    assert "127.0.0.1:%d" % first.port in err, err
    # every connection still reaches the first instance, on both its loops
    for _ in range(20):
        with first.connect() as c:
            c.greeting()
            check(c.cmd("QUIT"), 221, "2.0.0")


def test_address_in_use_by_another_program(start_server, posternd_bin, tmp_path):
    import socket
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        port = s.getsockname()[1]
        p = subprocess.run([posternd_bin, "--listen", "127.0.0.1:%d" % port, "--store", "discard",
                            "--queue-dir", str(tmp_path / "queue"),
                            "--control", str(tmp_path / "control.sock")],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                           env=sanitizer_env())
        assert p.returncode == 2, p.stderr
        assert b"Address already in use" in p.stderr, p.stderr
    finally:
        s.close()


def test_open_files_limit_lowers_max_connections(posternd_bin, tmp_path):
    """Out of file descriptors, libuv would drop waiting clients without a
    word: posternd raises its soft limit to the hard one, lowers
    max_connections to what fits and says so, and an excess client gets
    421 4.7.0 (not a reset); once slots free up it serves again. Each
    connection is budgeted two descriptors: while it receives a message
    larger than 64 KiB, the message has a spill file of its own, so every
    held connection is in the middle of one, and each is then queued.
    The reserve grows with the deliveries the queue runs at once (three
    descriptors each): lmtp_concurrency = 4 makes it deterministic."""
    import resource
    import time

    from conftest import Raw, free_port

    port = free_port()
    log = tmp_path / "posternd.stderr"

    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (100, 128))

    conf = tmp_path / "posternd.conf"
    conf.write_text("store = lmtp\nlmtp = unix:%s\nlmtp_concurrency = 4\n" % (tmp_path / "none.sock"))
    with open(log, "wb") as err:
        p = subprocess.Popen([posternd_bin, "--listen", "127.0.0.1:%d" % port, "--config", str(conf),
                              "--workers", "1", "--max-connections", "1000",
                              "--queue-dir", str(tmp_path / "queue"),
                              "--control", str(tmp_path / "control.sock")],
                             stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                             env=sanitizer_env(), preexec_fn=low_nofile)
    held = []
    try:
        deadline = time.monotonic() + 30
        while "event=listening" not in log.read_text():
            assert p.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        warn = [l for l in log.read_text().splitlines() if "event=fd_limit" in l]
        assert len(warn) == 1, log.read_text()
        # the soft limit was raised to the hard one: 128 less the reserve
        # (89: 68, and 3 for each of the 4 deliveries and 3 side jobs),
        # two per connection
        assert "open_files=128 " in warn[0] and "lowered_to=19" in warn[0], warn[0]
        big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 70
        for i in range(19):
            c = Raw("127.0.0.1", port)
            held.append(c)
            check(c.reply(), 220)
            check(c.cmd("EHLO client.example"), 250)
            check(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
            check(c.cmd("RCPT TO:<u@localhost>"), 250, "2.1.5")
            check(c.cmd("DATA"), 354)
            c.send(big)
        extra = Raw("127.0.0.1", port)
        check(extra.reply(), 421, "4.7.0")
        extra.expect_closed()
        extra.close()
        for c in held:
            c.send(b".\r\n")
            check(c.reply(), 250, "2.0.0")
        held.pop().close()
        deadline = time.monotonic() + 30
        while True:
            with Raw("127.0.0.1", port) as c:
                r = c.reply()
                if r.code == 220:
                    check(c.cmd("QUIT"), 221, "2.0.0")
                    break
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
    finally:
        for c in held:
            c.close()
        p.terminate()
        assert p.wait(30) == 0


def test_open_files_limit_too_low_to_start(posternd_bin, tmp_path):
    """A limit that cannot hold posternd's own descriptors and one
    connection: posternd does not start (it started and had deliveries fail
    with EMFILE over and over, found in black-box testing), and says what to
    raise."""
    import resource

    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (80, 80))

    conf = tmp_path / "posternd.conf"
    conf.write_text("store = lmtp\nlmtp = unix:%s\nlmtp_concurrency = 4\n" % (tmp_path / "none.sock"))
    p = subprocess.run([posternd_bin, "--listen", "127.0.0.1:%d" % free_port(), "--config", str(conf),
                        "--workers", "1", "--queue-dir", str(tmp_path / "queue"),
                        "--control", str(tmp_path / "control.sock")],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                       env=sanitizer_env(), preexec_fn=low_nofile)
    assert p.returncode == 1, p.stderr
    assert b"event=start_failed" in p.stderr and b"open files limit (80)" in p.stderr, p.stderr
    assert b"(91)" in p.stderr, p.stderr
