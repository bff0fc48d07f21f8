"""Listening sockets: one posternd per address (issue 10 item 3).

Each worker loop has its own SO_REUSEPORT socket, which any process of the
same user could join; a second posternd on an address in use must refuse to
start, as Postfix and every other server do, instead of silently taking a
share of the connections."""
import subprocess

from conftest import check, sanitizer_env


def test_second_instance_refuses_to_start(start_server, posternd_bin, tmp_path):
    first = start_server(args=["--store", "discard"], workers=2)
    argv = [posternd_bin, "--listen", "127.0.0.1:%d" % first.port, "--store", "discard",
            "--maildir", str(tmp_path / "m2"), "--workers", "2"]
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
        p = subprocess.run([posternd_bin, "--listen", "127.0.0.1:%d" % port, "--store", "discard"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                           env=sanitizer_env())
        assert p.returncode == 2, p.stderr
        assert b"Address already in use" in p.stderr, p.stderr
    finally:
        s.close()
