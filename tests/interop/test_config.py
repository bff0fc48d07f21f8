"""Flags and the key = value file: mistakes exit 2 with a message naming the
flag or the key and its line; every documented key is accepted."""

import os
import subprocess

import pytest

from conftest import HOSTNAME, check, free_port, queue_id, sanitizer_env, sanitizer_report


def run_posternd(posternd_bin, args, tmp_path):
    argv = [posternd_bin, "--listen", "127.0.0.1:%d" % free_port(),
            "--maildir", str(tmp_path / "Maildir"), "--workers", "1"] + list(args)
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10,
                           env=sanitizer_env())
    except subprocess.TimeoutExpired:
        pytest.fail("posternd started instead of refusing %r" % (args,))
    err = p.stderr.decode("utf-8", "replace")
    report = sanitizer_report(err)
    # report the exit status too, so one run shows both faults
    assert report is None, "exit status %d, sanitizer report:\n%s" % (p.returncode, report)
    return p.returncode, p.stdout.decode("utf-8", "replace"), err


def conf_file(tmp_path, text):
    f = tmp_path / "posternd.conf"
    f.write_text(text)
    return str(f)


@pytest.mark.parametrize("args,names", [
    (["--no-such-flag"], ["--no-such-flag"]),
    (["--bogus=1"], ["--bogus"]),
    (["-Z"], ["-Z"]),
    (["--workers"], ["--workers"]),
    (["--workers", "lots"], ["workers"]),
    (["--line-endings", "sloppy"], ["line"]),
    (["--store", "mbox"], ["store"]),
    (["--max-message-size", "-1"], ["max"]),
    (["--command-timeout", "0"], ["timeout"]),
    (["--hostname", "bad host"], ["hostname"]),
    (["--listen", "nonsense"], ["listen"]),
    (["stray-argument"], ["stray-argument"]),
])
def test_bad_flag(posternd_bin, tmp_path, args, names):
    rc, _, err = run_posternd(posternd_bin, args, tmp_path)
    assert rc == 2, (rc, err)
    for n in names:
        assert n in err, "expected %r named in %r" % (n, err)


def test_help_exits_zero(posternd_bin, tmp_path):
    rc, out, err = run_posternd(posternd_bin, ["--help"], tmp_path)
    assert rc == 0, err
    for flag in ("--listen", "--maildir", "--config"):
        assert flag in out


def test_unknown_config_key_names_key_and_line(posternd_bin, tmp_path):
    f = conf_file(tmp_path, "# a comment\nworkers = 1\n\nbogus_key = 1\nstore = maildir\n")
    rc, _, err = run_posternd(posternd_bin, ["--config", f], tmp_path)
    assert rc == 2, err
    assert "bogus_key" in err
    assert "line 4" in err, err


@pytest.mark.parametrize("key,value", [
    ("max_message_size", "lots"),
    ("max_recipients", "99"),       # never below 100 (SPEC §2)
    ("max_recipients", "10001"),    # what the queue's records hold
    ("max_errors", "0"),
    ("line_limit", "511"),          # never below 512 (SPEC §1)
    ("text_line_limit", "x"),
    ("max_connections", "0"),
    ("max_connections_per_ip", "-1"),
    ("limit_loopback", "maybe"),
    ("command_timeout", "0"),
    ("workers", "-2"),
    ("line_endings", "crlf"),
    ("bare_newline", "keep"),
    ("store", "mbox"),
    ("hostname", "not a host"),
    ("log_level", "chatty"),
])
def test_bad_config_value_names_key_and_line(posternd_bin, tmp_path, key, value):
    f = conf_file(tmp_path, "# settings\nbanner = ESMTP test\n%s = %s\n" % (key, value))
    rc, _, err = run_posternd(posternd_bin, ["--config", f], tmp_path)
    assert rc == 2, err
    assert key in err, err
    assert "line 3" in err, err


def test_config_line_without_equals(posternd_bin, tmp_path):
    f = conf_file(tmp_path, "workers = 1\njust some words\n")
    rc, _, err = run_posternd(posternd_bin, ["--config", f], tmp_path)
    assert rc == 2, err
    assert "line 2" in err, err


def test_missing_config_file(posternd_bin, tmp_path):
    missing = str(tmp_path / "nope.conf")
    rc, _, err = run_posternd(posternd_bin, ["--config", missing], tmp_path)
    assert rc == 2, err
    assert missing in err


def test_every_documented_key(start_server, tmp_path):
    """A file with every key starts; some of them visibly take effect."""
    rcpts = tmp_path / "rcpts"
    rcpts.write_text("a@example.net\nb@localhost\n")
    srv = start_server(config={
        "listen": "127.0.0.1:%d" % free_port(),  # replaced by the --listen flag
        "maildir": str(tmp_path / "unused"),      # replaced by the --maildir flag
        "store": "maildir",
        "hostname": "ignored.example",            # replaced by the --hostname flag
        "domains": "localhost, example.net",
        "recipients": str(rcpts),
        "max_message_size": 100000,
        "max_recipients": 150,
        "max_errors": 3,
        "line_limit": 600,
        "text_line_limit": 2000,
        "max_connections": 50,
        "max_connections_per_ip": 10,
        "limit_loopback": "no",
        "command_timeout": 30,
        "shutdown_timeout": 5,
        "workers": 1,
        "line_endings": "strict",
        "bare_newline": "normalize",
        "banner": "ESMTP configured",
        "log_level": "debug",
    })
    with srv.connect() as c:
        assert c.reply().raw == b"220 " + HOSTNAME.encode() + b" ESMTP configured\r\n"
        r = check(c.cmd("EHLO client.example"), 250)
        assert "SIZE 100000" in r.text.split("\n")
        # line_limit = 600: a 600-octet command fits, 601 does not
        check(c.cmd(b"NOOP " + b"x" * (600 - 7)), 250, "2.0.0")
        check(c.cmd(b"NOOP " + b"x" * (601 - 7)), 500, "5.5.2")  # error 1 of 3
        check(c.cmd("MAIL FROM:<s@example.org>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<a@example.net>"), 250, "2.1.5")
        check(c.cmd("RCPT TO:<c@example.net>"), 550, "5.1.1")
        check(c.cmd("DATA"), 354)
        c.send(b"Subject: configured\r\n\r\nhi\r\n.\r\n")
        queue_id(c.reply())
        # max_errors = 3: the third error ends the session
        check(c.cmd("BAD2"), 500, "5.5.2")
        check(c.cmd("BAD3"), 500, "5.5.2")
        check(c.reply(), 421, "4.7.0")
        c.expect_closed()
    assert srv.only_message("a@example.net").body == b"Subject: configured\r\n\r\nhi\r\n"


def test_store_discard(start_server):
    srv = start_server(args=["--store", "discard"])
    with srv.connect() as c:
        queue_id(c.send_message("s@example.org", ["u@localhost"], b"Subject: x\r\n\r\ny\r\n.\r\n"))
    assert srv.all_files("new") == []
    assert srv.all_files("tmp") == []


def test_domain_flags_replace_defaults(start_server):
    srv = start_server(args=["--domain", "example.net", "--domain", "Example.ORG"])
    with srv.connect() as c:
        c.ehlo()
        check(c.cmd("MAIL FROM:<s@example.org>"), 250, "2.1.0")
        check(c.cmd("RCPT TO:<u@EXAMPLE.org>"), 250, "2.1.5")
        check(c.cmd("RCPT TO:<v@example.net>"), 250, "2.1.5")
        check(c.cmd("RCPT TO:<w@localhost>"), 554, "5.7.1")
        check(c.cmd("DATA"), 354)
        c.send(b"Subject: d\r\n\r\nd\r\n.\r\n")
        queue_id(c.reply())
    assert srv.only_message("u@example.org").body == b"Subject: d\r\n\r\nd\r\n"
    assert srv.only_message("v@example.net").body == b"Subject: d\r\n\r\nd\r\n"


def files_seen(d):
    return any(files for _, _, files in os.walk(d))


def test_user_drops_privileges(start_server):
    """--user: bind as root, then run as the user, who owns what it delivers
    and its queue (files mode 0600)."""
    import os
    import pwd
    import shutil
    import tempfile
    # make test runs as root (README): switching users is part of what it checks
    assert os.geteuid() == 0, "needs root to switch users"
    pw = pwd.getpwnam("nobody")
    base = tempfile.mkdtemp(prefix="postern-user-")
    os.chmod(base, 0o755)  # nobody must reach the Maildir root
    try:
        md = os.path.join(base, "Maildir")
        qd = os.path.join(base, "queue")
        ctl = os.path.join(base, "run", "control.sock")
        # a first run as root leaves the queue's files root's; a run as the
        # user must still open them
        first = start_server(maildir=md, queue_dir=qd, control=ctl)
        with first.connect() as c:
            queue_id(c.send_message("a@example.org", ["u@localhost"],
                                    b"Subject: x\r\n\r\nas root\r\n.\r\n"))
        first.drain()
        first.stop()
        srv = start_server(args=["--user", "nobody"], maildir=md, queue_dir=qd, control=ctl)
        with open("/proc/%d/status" % srv.proc.pid) as f:
            ids = {l.split(":")[0]: l.split()[1:] for l in f if l.startswith(("Uid:", "Gid:"))}
        assert ids["Uid"] == [str(pw.pw_uid)] * 4, ids
        assert ids["Gid"] == [str(pw.pw_gid)] * 4, ids
        assert "event=privileges user=nobody" in srv.log()
        with srv.connect() as c:
            queue_id(c.send_message("a@example.org", ["u@localhost"],
                                    b"Subject: x\r\n\r\nbody\r\n.\r\n"))
        paths = srv.new_files("u@localhost")
        assert len(paths) == 2, paths
        assert os.stat(max(paths, key=os.path.getmtime)).st_uid == pw.pw_uid
        assert os.stat(md).st_uid == pw.pw_uid
        for root, dirs, files in os.walk(qd):
            assert os.stat(root).st_uid == pw.pw_uid, root
            for f in files:
                st = os.stat(os.path.join(root, f))
                assert st.st_uid == pw.pw_uid and st.st_mode & 0o777 == 0o600, (f, oct(st.st_mode))
        assert files_seen(qd), "no queue file was checked"
        srv.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_user_unknown_exits_2(posternd_bin, tmp_path):
    rc, _, err = run_posternd(posternd_bin, ["--user", "no-such-user-here"], tmp_path)
    assert rc == 2, (rc, err)
    assert "no-such-user-here" in err


@pytest.mark.parametrize("args,names", [
    (["--tls-cert", "/nonexistent/cert.pem"], ["tls_cert", "tls_key"]),
    (["--listen-tls", "127.0.0.1:1"], ["listen_tls", "certificate"]),
    (["--require-tls"], ["require_tls"]),
    (["--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"],
     ["/nonexistent/cert.pem"]),
])
def test_bad_tls_settings_exit_2(posternd_bin, tmp_path, args, names):
    rc, _, err = run_posternd(posternd_bin, args, tmp_path)
    assert rc == 2, (rc, err)
    for n in names:
        assert n in err, "expected %r named in %r" % (n, err)


# ---- the config table: sample, version, logfmt ----

import os
import re

import logfmt

REPO = os.path.join(os.path.dirname(__file__), "..", "..")


def test_committed_sample_is_generated(posternd_bin, tmp_path):
    """posternd.conf.sample is what --print-config-sample prints: the table
    and the committed copy cannot drift apart."""
    rc, out, err = run_posternd(posternd_bin, ["--print-config-sample"], tmp_path)
    assert rc == 0, err
    with open(os.path.join(REPO, "posternd.conf.sample")) as f:
        assert f.read() == out, "regenerate: posternd --print-config-sample > posternd.conf.sample"


def sample_defaults(text):
    """{key: default} of the sample's literal defaults (a placeholder follows "# default:")."""
    out, prev = {}, ""
    for line in text.splitlines():
        m = re.match(r"#([a-z_]+) = (.*)$", line)
        if m and not prev.startswith("# default:"):
            out[m.group(1)] = m.group(2)
        prev = line
    return out


def test_sample_defaults_are_the_defaults(posternd_bin, start_server, tmp_path):
    """Every literal default of the sample is accepted by a real server, and
    changes nothing: the greeting and EHLO are those of a server without it."""
    _, text, _ = run_posternd(posternd_bin, ["--print-config-sample"], tmp_path)
    defaults = sample_defaults(text)
    assert {"max_message_size", "command_timeout", "store", "banner"} <= set(defaults)
    for k in ("listen", "hostname", "tls_cert", "users"):
        assert k not in defaults  # placeholders, not values
    srv_plain = start_server(workers=1)
    srv_sample = start_server(config=defaults, workers=1)
    replies = []
    for srv in (srv_plain, srv_sample):
        with srv.connect() as c:
            replies.append((c.reply().raw, c.cmd("EHLO client.example").raw))
    assert replies[0] == replies[1]


def test_version_comes_from_meson(posternd_bin, tmp_path):
    with open(os.path.join(REPO, "meson.build")) as f:
        version = re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)
    rc, out, err = run_posternd(posternd_bin, ["--version"], tmp_path)
    assert rc == 0, err
    assert out == "posternd %s\n" % version


def test_help_lists_every_flag_of_the_table(posternd_bin, tmp_path):
    _, text, _ = run_posternd(posternd_bin, ["--print-config-sample"], tmp_path)
    flags = re.findall(r"^# flag: (?:-., )?(--[a-z-]+)", text, re.M)
    assert len(flags) >= 20
    _, out, _ = run_posternd(posternd_bin, ["--help"], tmp_path)
    for flag in flags + ["--config", "--print-config-sample", "--version"]:
        assert re.search(r"(^|, |\s)%s\b" % re.escape(flag), out, re.M), flag


@pytest.mark.parametrize("args", [
    ["--listen", "192.0.2.1:2525"],                       # cannot bind: EADDRNOTAVAIL
    ["--recipients", '/nonexistent/a "quoted" name'],
    ["--maildir", '/proc/no "such" dir'],
])
def test_start_failure_log_is_logfmt(posternd_bin, tmp_path, args):
    """The reason of a failed start holds the config value with its quotes;
    the line still reads as logfmt, and the reason reads back whole."""
    rc, _, err = run_posternd(posternd_bin, args, tmp_path)
    assert rc != 0, err
    [line] = [l for l in err.splitlines() if "event=start_failed" in l]
    assert logfmt.bad_lines(err) == []
    pairs = logfmt.parse(line)
    assert pairs["event"] == "start_failed"
    assert args[1] in pairs["reason"], pairs


def readme_table(title):
    """The first column of the README table under the heading `title`, as
    the backticked words it holds."""
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    section = text.split("\n### %s\n" % title, 1)[1].split("\n#", 1)[0]
    rows = [l for l in section.splitlines() if l.startswith("| ") and not l.startswith("| key")
            and not l.startswith("| flag")]
    assert rows, title
    return [w for row in rows for w in re.findall(r"`([^`]*)`", row.split(" | ")[0])]


def test_readme_lists_exactly_the_keys_and_flags(posternd_bin, tmp_path):
    """Every key and flag of the table is in the README's tables, and the
    README's tables name nothing the table lacks (STYLE.md)."""
    _, text, _ = run_posternd(posternd_bin, ["--print-config-sample"], tmp_path)
    keys = set(re.findall(r"^#([a-z_0-9]+) = ", text, re.M))
    aliases = set(re.findall(r"also spelled: ([a-z_0-9]+)", text))
    flags = set(re.findall(r"^# flag: (?:-., )?(--[a-z-]+)", text, re.M))
    flags |= {"--config", "--print-config-sample", "--help", "--version"}
    readme_keys = set(readme_table("Config keys"))
    assert keys - readme_keys == set(), "keys missing from the README"
    assert readme_keys - keys - aliases == set(), "README keys that do not exist"
    readme_flags = {w.split()[0] for w in readme_table("Flags") if w.startswith("--")}
    assert flags - readme_flags == set(), "flags missing from the README"
    assert readme_flags - flags == set(), "README flags that do not exist"
