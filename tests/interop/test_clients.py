"""Mail clients nobody here wrote (swaks, curl, msmtp) deliver through
posternd; what they sent is compared byte for byte with the Maildir."""

import os
import subprocess

from conftest import CLIENT_TIMEOUT, need, run_client

MESSAGE = (b"From: Sender <s@example.org>\r\n"
           b"To: a@localhost\r\n"
           b"Subject: interop\r\n"
           b"Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
           b"Message-ID: <interop@example.org>\r\n"
           b"\r\n"
           b"first line\r\n"
           b".a line that starts with a dot\r\n"
           b"..two dots\r\n"
           b".\r\n"
           b"\r\n"
           b"last line\r\n")



def run(argv, input=None):
    """A client that must succeed: its output."""
    return run_client(argv, input=input)[1]


def test_swaks_data_file(server, tmp_path):
    swaks = need("swaks")
    # The file ends with the closing dot, so swaks sends it exactly as is
    # (without it, swaks appends its own CRLF before the dot).
    f = tmp_path / "msg.eml"
    f.write_bytes(MESSAGE + b".\r\n")
    out = run([swaks, "--server", "%s:%d" % (server.host, server.port),
               "--helo", "client.example", "--from", "s@example.org",
               "--to", "a@localhost", "--data", "@" + str(f), "--timeout", "5",
               "--hide-informational"])
    assert "250 2.0.0 Ok: queued as" in out
    st = server.only_message("a@localhost")
    assert st.body == MESSAGE
    assert st.return_path == "s@example.org"
    assert st.helo == "client.example"
    assert st.for_ == "a@localhost"
    assert ("queued as " + st.id) in out


def test_swaks_pipelining_two_recipients(server, tmp_path):
    swaks = need("swaks")
    f = tmp_path / "msg.eml"
    f.write_bytes(MESSAGE + b".\r\n")
    out = run([swaks, "--server", "%s:%d" % (server.host, server.port), "--pipeline",
               "--helo", "client.example", "--from", "s@example.org",
               "--to", "a@localhost,b@localhost", "--data", "@" + str(f), "--timeout", "5"])
    assert "250 2.0.0 Ok: queued as" in out
    a = server.only_message("a@localhost")
    b = server.only_message("b@localhost")
    assert a.body == b.body == MESSAGE
    assert a.id == b.id
    assert os.stat(a.path).st_ino == os.stat(b.path).st_ino


def test_swaks_body(server):
    """swaks' own message template around a --body: the body arrives intact."""
    swaks = need("swaks")
    out = run([swaks, "--server", "%s:%d" % (server.host, server.port),
               "--helo", "client.example", "--from", "s@example.org",
               "--to", "body@localhost", "--body", "hello from swaks",
               "--header", "Subject: swaks body", "--timeout", "5"])
    assert "250 2.0.0 Ok: queued as" in out
    st = server.only_message("body@localhost")
    assert b"\r\nSubject: swaks body\r\n" in b"\r\n" + st.body
    assert b"\r\n\r\nhello from swaks\r\n" in st.body
    assert b"\n" not in st.body.replace(b"\r\n", b"")


def test_curl_upload(server, tmp_path):
    curl = need("curl")
    f = tmp_path / "msg.eml"
    f.write_bytes(MESSAGE)
    run([curl, "-sS", "--max-time", "10",
         "smtp://%s:%d/client.example" % (server.host, server.port),
         "--mail-from", "s@example.org", "--mail-rcpt", "c@localhost",
         "--upload-file", str(f)])
    st = server.only_message("c@localhost")
    assert st.body == MESSAGE
    assert st.helo == "client.example"
    assert st.return_path == "s@example.org"


def test_curl_refused_recipient(server, tmp_path):
    """curl gives up on a relay refusal (554) and nothing is stored."""
    curl = need("curl")
    f = tmp_path / "msg.eml"
    f.write_bytes(MESSAGE)
    p = subprocess.run([curl, "-sS", "--max-time", "10",
                        "smtp://%s:%d/client.example" % (server.host, server.port),
                        "--mail-from", "s@example.org", "--mail-rcpt", "x@elsewhere.example",
                        "--upload-file", str(f)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=CLIENT_TIMEOUT)
    assert p.returncode != 0
    assert b"554" in p.stdout, p.stdout
    assert server.all_files("new") == []
    assert server.all_files("tmp") == []


def test_msmtp(server, tmp_path):
    msmtp = need("msmtp")
    conf = tmp_path / "msmtprc"
    conf.write_text("account default\n"
                    "host %s\n"
                    "port %d\n"
                    "from s@example.org\n"
                    "domain client.example\n"
                    "auth off\n"
                    "tls off\n"
                    "timeout 5\n" % (server.host, server.port))
    os.chmod(conf, 0o600)
    # msmtp reads a local (LF) message and sends it with CRLF
    local = MESSAGE.replace(b"\r\n", b"\n")
    p = subprocess.run([msmtp, "-C", str(conf), "--", "m@localhost"], input=local,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=CLIENT_TIMEOUT)
    assert p.returncode == 0, p.stdout
    st = server.only_message("m@localhost")
    assert st.body == MESSAGE
    assert st.helo == "client.example"
    assert st.return_path == "s@example.org"
