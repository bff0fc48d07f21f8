"""`postern passwd` and posternd's messages for people in Thai and in English:
the same gettext domain and catalogue (po/th.po) as `postern explain`, chosen
by LANG, LC_ALL or LANGUAGE as test_explain_cli.py chooses it; posternd's
logs stay English logfmt whatever the language.

Run: POSTERN=build/test/postern POSTERND=build/test/posternd \
     /usr/bin/python3 -m pytest tests/interop/test_thai_messages.py
"""

import os
import pty
import re
import select
import signal
import subprocess

import pytest

import logfmt
from conftest import POSTERND, free_port, sanitizer_report
from test_explain_cli import POSTERN, clean_env  # the same bare environment

THAI = [{"LANG": "th_TH.UTF-8"}, {"LC_ALL": "th_TH.UTF-8"}, {"LANGUAGE": "th"}]
ENGLISH = [{}, {"LANG": "en_US.UTF-8"}, {"LC_ALL": "C", "LANGUAGE": "th"}]


def run(argv, lang, stdin=b""):
    if not os.access(argv[0], os.X_OK):
        pytest.fail("%s is not built (set POSTERN and POSTERND)" % argv[0])
    try:
        p = subprocess.run(argv, env=clean_env(**lang), input=stdin, capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("%r did not exit (posternd started instead of refusing?)" % (argv,))
    out, err = p.stdout.decode("utf-8"), p.stderr.decode("utf-8")
    report = sanitizer_report(err)
    assert report is None, report
    return p.returncode, out, err


def passwd(lang, *args, stdin=b""):
    return run([os.path.abspath(POSTERN), "passwd", *args], lang, stdin)


def posternd(lang, *args):
    return run([os.path.abspath(POSTERND), "--listen", "127.0.0.1:%d" % free_port(),
                "--workers", "1", *args], lang)


# ---------------------------------------------------------------- postern passwd

# what passwd says after each edit, in each language ({} is the file)
EDITS_TH = ['เพิ่มผู้ใช้ "bob" ใน {} แล้ว', 'ตั้งรหัสผ่านใหม่ให้ผู้ใช้ "bob" ใน {} แล้ว',
            'ไม่มีผู้ใช้ "joe" ใน {}', 'ลบผู้ใช้ "bob" ออกจาก {} แล้ว']
EDITS_EN = ['{}: user "bob" added', '{}: user "bob" updated', '{}: no user "joe"',
            '{}: user "bob" deleted']


@pytest.mark.parametrize("lang,said", [(l, EDITS_TH) for l in THAI] + [(l, EDITS_EN) for l in ENGLISH])
def test_passwd_edits(lang, said, tmp_path):
    users = str(tmp_path / "users")
    steps = [(["add", "bob", "--stdin"], b"pw one\n", 0), (["set", "bob", "--stdin"], b"pw two\n", 0),
             (["list", "joe"], b"", 1), (["del", "bob"], b"", 0)]
    for (args, stdin, status), line in zip(steps, said):
        rc, _, err = passwd(lang, *args, "--file", users, stdin=stdin)
        assert rc == status, err
        assert err == "postern passwd: " + line.format(users) + "\n"
    passwd(lang, "add", "bob", "--file", users, "--stdin", stdin=b"pw\n")
    rc, out, err = passwd(lang, "list", "bob", "--file", users)
    assert rc == 0 and out.startswith("bob\tyescrypt"), err  # the listing is data: unchanged


# (arguments, standard input, exit status, the Thai line, the English line)
PASSWD_ERRORS = [
    (["add", "bob", "--scheme", "md5"], b"", 2,
     'ไม่ถูกต้อง ต้องเป็น yescrypt, sha512-crypt หรือ bcrypt',
     '--scheme "md5": expected yescrypt, sha512-crypt or bcrypt'),
    (["add", "bob", "--iterations", "10"], b"", 2,
     '--iterations "10" ไม่ถูกต้อง ต้องเป็นจำนวนตั้งแต่ 4096 ถึง',
     '--iterations "10": expected 4096 to'),
    (["add", "--stdin"], b"", 2, "add ต้องระบุชื่อผู้ใช้ (NAME)", "add needs a user NAME"),
    (["add", "a\x01b", "--stdin"], b"", 2, "ชื่อผู้ใช้ไม่ถูกต้อง (ไม่ใช่ UTF-8",
     "bad user name (not UTF-8"),
    (["add", "bob", "--stdin"], b"", 1, "ไม่มีรหัสผ่านทาง stdin (หรือรหัสผ่านยาวเกิน",
     "no password on standard input (or longer than"),
    (["frob", "bob"], b"", 2, 'ไม่รู้จักคำสั่ง "frob"', 'unknown command "frob"'),
    (["--bogus"], b"", 2, 'ไม่รู้จักตัวเลือก "--bogus"', 'unknown or incomplete option "--bogus"'),
    (["add", "bob", "--stdin"], "😀x\n".encode(), 0,
     "หมายเหตุ รหัสผ่านนี้มีอักขระที่ Unicode 3.2 ยังไม่ได้กำหนดไว้ (เช่น อีโมจิ)",
     "note: the password has characters Unicode 3.2 did not assign"),
]


@pytest.mark.parametrize("args,stdin,status,thai,english", PASSWD_ERRORS, ids=[
    "scheme", "iterations", "no-name", "bad-name", "no-password", "unknown-command",
    "unknown-option", "emoji-note"])
def test_passwd_errors_in_both_languages(args, stdin, status, thai, english, tmp_path):
    users = str(tmp_path / "users")
    rc, _, th = passwd({"LANG": "th_TH.UTF-8"}, *args, "--file", users, stdin=stdin)
    assert rc == status, th
    rc, _, en = passwd({}, *args, "--file", str(tmp_path / "users.en"), stdin=stdin)
    assert rc == status, en
    assert th.startswith("postern passwd: ") and thai in th, th
    assert english not in th
    assert en.startswith("postern passwd: ") and english in en, en


def latin_words(line, *allowed):
    """The Latin-letter words of line once the allowed tokens (names, paths,
    key names, mechanism names, RFC numbers) are taken out: none should
    remain in a Thai line, so that no English fragment hides inside it."""
    for token in sorted(allowed, key=len, reverse=True):
        line = line.replace(token, " ")
    return re.findall(r"[A-Za-z]{2,}", line)


# Texts written by the users file's code (src/creds/), not by postern passwd
# itself: (id, users file or None, arguments, standard input, exit status,
# the Thai line, the English line, tokens a Thai line may keep); FILE is the
# users file.
CREDS_ERRORS = [
    ("exists", "bob:\n", ["add", "bob", "--stdin"], b"pw\n", 1,
     'ไฟล์ FILE มีผู้ใช้ "bob" อยู่แล้ว (ใช้ set เพื่อเปลี่ยนรหัสผ่าน)',
     'FILE: user "bob" exists (use set to change the password)', ["bob", "set"]),
    ("no-user", "bob:\n", ["set", "joe", "--stdin"], b"pw\n", 1,
     'ไม่มีผู้ใช้ "joe" ใน FILE', 'FILE: no user "joe"', ["joe"]),
    ("empty-password", None, ["add", "bob", "--stdin"], b"\n", 1,
     "รหัสผ่านว่าง ไม่ใช่ UTF-8 หรือมีอักขระที่ SASLprep (RFC 4013) ห้ามใช้ เช่น อักขระควบคุม",
     "the password is empty, not UTF-8, or has characters SASLprep (RFC 4013) prohibits, "
     "such as control characters", ["UTF-8", "SASLprep", "RFC"]),
    ("bad-line", "bob\n", ["list"], b"", 1,
     "FILE บรรทัดที่ 1 — ต้องอยู่ในรูป name:hash[:scram-sha-256[:scram-sha-1[:cram-md5]]]",
     "FILE: line 1: expected name:hash[:scram-sha-256[:scram-sha-1[:cram-md5]]]",
     ["name:hash[:scram-sha-256[:scram-sha-1[:cram-md5]]]"]),
    ("twice", "bob:\nbob:\n", ["del", "bob"], b"", 1,
     'FILE บรรทัดที่ 2 — ผู้ใช้ "bob" ซ้ำกับที่มีอยู่แล้วในบรรทัดที่ 1',
     'FILE: line 2: user "bob" already defined on line 1', ["bob"]),
    ("legacy-hash", "bob:$1$abc$def\n", ["list"], b"", 1,
     "FILE บรรทัดที่ 1 — ไม่รับค่าแฮชรหัสผ่านที่ใช้วิธีแฮชรุ่นเก่า "
     "(ให้ใช้ yescrypt $y$, sha512-crypt $6$ หรือ bcrypt $2b$)",
     "FILE: line 1: password hash: legacy method refused "
     "(use yescrypt $y$, sha512-crypt $6$ or bcrypt $2b$)",
     ["yescrypt $y$", "sha512-crypt $6$", "bcrypt $2b$"]),
    ("bad-scram", "bob::4096,c2FsdA==,AAAA,AAAA\n", ["list"], b"", 1,
     "FILE บรรทัดที่ 1 — ช่อง SCRAM-SHA-256 ต้องอยู่ในรูป iterations,salt,StoredKey,ServerKey "
     "(base64 และคีย์ยาว 32 ไบต์)",
     "FILE: line 1: SCRAM-SHA-256 field: expected iterations,salt,StoredKey,ServerKey "
     "(base64, 32-octet keys)", ["SCRAM-SHA-256", "iterations,salt,StoredKey,ServerKey", "base64"]),
    ("directory", "/", ["list"], b"", 1, "FILE — ไม่ใช่ไฟล์ปกติ", "FILE: not a regular file", []),
]


@pytest.mark.parametrize("users,args,stdin,status,thai,english,tokens",
                         [c[1:] for c in CREDS_ERRORS], ids=[c[0] for c in CREDS_ERRORS])
def test_passwd_users_file_errors_wholly_thai(users, args, stdin, status, thai, english, tokens,
                                              tmp_path):
    said = {}
    for name, lang in [("th", {"LANG": "th_TH.UTF-8"}), ("en", {"LANG": "C"})]:
        if users == "/":
            path = tmp_path / ("dir." + name)
            path.mkdir()
        else:
            path = tmp_path / ("users." + name)
            if users is not None:
                path.write_text(users)
        rc, _, err = passwd(lang, *args, "--file", str(path), stdin=stdin)
        assert rc == status, err
        said[name] = err.replace(str(path), "FILE")
    assert said["th"] == "postern passwd: " + thai + "\n"
    assert latin_words(thai, "FILE", *tokens) == [], thai
    assert said["en"] == "postern passwd: " + english + "\n"


def test_passwd_help():
    rc, out, _ = passwd({"LANG": "th_TH.UTF-8"}, "--help")
    assert rc == 0
    assert out.startswith("วิธีใช้: postern passwd add|set NAME [--file FILE]")
    assert "  --stdin         อ่านรหัสผ่านหนึ่งบรรทัดจาก stdin\n" in out
    assert "  --iterations N  จำนวนรอบของ SCRAM (ค่าเริ่มต้น 4096)\n" in out
    assert "the users file" not in out
    rc, out, _ = passwd({}, "--help")
    assert rc == 0
    assert out.startswith("usage: postern passwd add|set NAME")
    assert "  --iterations N  SCRAM iteration count (default 4096)\n" in out


def read_until(fd, text, deadline_s=30):
    """Read the terminal until text shows (select, no fixed sleep)."""
    seen = b""
    want = text.encode()
    while want not in seen:
        ready, _, _ = select.select([fd], [], [], deadline_s)
        assert ready, "no %r on the terminal; got %r" % (text, seen.decode("utf-8", "replace"))
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        assert chunk, "terminal closed before %r; got %r" % (text, seen.decode("utf-8", "replace"))
        seen += chunk
    return seen.decode("utf-8")


@pytest.mark.parametrize("lang,prompt,again,differ", ids=["th", "en"], argvalues=[
    ({"LANG": "th_TH.UTF-8"}, "รหัสผ่านของ bob: ", "ใส่รหัสผ่านอีกครั้ง: ",
     "postern passwd: รหัสผ่านที่ใส่ทั้งสองครั้งไม่ตรงกัน"),
    ({}, "Password for bob: ", "Retype password: ", "postern passwd: the passwords differ"),
])
def test_passwd_terminal_prompts(lang, prompt, again, differ, tmp_path):
    """The prompts go to /dev/tty: run passwd on a pseudo-terminal."""
    argv = [os.path.abspath(POSTERN), "passwd", "add", "bob", "--file", str(tmp_path / "users")]
    env = clean_env(**lang)
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, env)
    finished = False
    try:
        read_until(fd, prompt)
        os.write(fd, b"first\n")
        read_until(fd, again)
        os.write(fd, b"second\n")
        tail = read_until(fd, differ)
        assert sanitizer_report(tail) is None, tail
        finished = True
    finally:
        if not finished:  # a failed test leaves no child waiting for a password
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 1
    assert not (tmp_path / "users").exists()


# ---------------------------------------------------------------- posternd

def unknown_key_error(lang, tmp_path):
    """posternd's line for a config file with a key it does not know."""
    conf = tmp_path / "posternd.conf"
    conf.write_text("workers = 1\nbogus_key = 1\n")
    rc, _, err = posternd(lang, "--config", str(conf))
    assert rc == 2
    return err.replace(str(conf), "FILE")


@pytest.mark.parametrize("lang", THAI)
def test_posternd_config_error_in_thai(lang, tmp_path):
    assert unknown_key_error(lang, tmp_path) == (
        'posternd: FILE บรรทัดที่ 2 — ไม่รู้จักคีย์การตั้งค่า "bogus_key"\n')
    rc, _, err = posternd(lang, "--workers", "many")
    assert rc == 2
    assert err == 'posternd: workers = "many" ต้องเป็นจำนวนเต็มตั้งแต่ 0 ถึง 256\n'
    rc, _, err = posternd(lang, "--listen-tls", "127.0.0.1:1")
    assert rc == 2
    assert "ต้องมีใบรับรอง (tls_cert และ tls_key)" in err, err


@pytest.mark.parametrize("lang", ENGLISH)
def test_posternd_config_error_in_english(lang, tmp_path):
    assert unknown_key_error(lang, tmp_path) == 'posternd: FILE: line 2: unknown key "bogus_key"\n'


# Config errors whose reason is written below the config code: by the
# mechanism check (src/sasl/) and the retry schedule (src/queue/retry.c).
# (id, config line, the Thai line, the English line, tokens a Thai line may keep)
MECHS = "SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, LOGIN"
LOWER_CONFIG_ERRORS = [
    ("unknown-mechanism", "auth_mechanisms = nonsense",
     'FILE บรรทัดที่ 1 — auth_mechanisms = "nonsense" ไม่รู้จักกลไก "nonsense" (ใช้ได้ ' + MECHS +
     " และ CRAM-MD5 ส่วนแบบ -PLUS เซิร์ฟเวอร์เสนอเองผ่าน TLS)",
     'FILE: line 1: auth_mechanisms = "nonsense": unknown mechanism "nonsense" (expected ' + MECHS +
     ", CRAM-MD5; -PLUS variants are offered by themselves over TLS)",
     ["auth_mechanisms", "nonsense", MECHS, "CRAM-MD5", "-PLUS", "TLS"]),
    ("no-mechanism", "auth_mechanisms = ,",
     'FILE บรรทัดที่ 1 — auth_mechanisms = "," ไม่ได้ระบุกลไกใดเลย',
     'FILE: line 1: auth_mechanisms = ",": no mechanism listed', ["auth_mechanisms"]),
    ("cram-md5-off", "auth_mechanisms = PLAIN,CRAM-MD5",
     'auth_mechanisms = "PLAIN,CRAM-MD5" ระบุ CRAM-MD5 ไว้ แต่ตั้ง cram_md5 = no',
     'auth_mechanisms = "PLAIN,CRAM-MD5": CRAM-MD5 is listed but cram_md5 = no',
     ["auth_mechanisms", "PLAIN,CRAM-MD5", "cram_md5 = no", "CRAM-MD5"]),
    ("retry-schedule", "retry_schedule = 5m,1m",
     'FILE บรรทัดที่ 1 — retry_schedule = "5m,1m" ต้องเป็นช่วงเวลา เช่น 5m,10m,20m '
     "โดยแต่ละค่าต้องไม่สั้นกว่าค่าก่อนหน้า",
     'FILE: line 1: retry_schedule = "5m,1m": expected durations like 5m,10m,20m, '
     "each at least as long as the one before", ["retry_schedule", "5m,1m", "5m,10m,20m"]),
    ("retry-schedule-too-long", "retry_schedule = " + ",".join(["1m"] * 33),
     'FILE บรรทัดที่ 1 — retry_schedule = "%s" ระบุช่วงเวลาได้ไม่เกิน 32 ค่า' % ",".join(["1m"] * 33),
     'FILE: line 1: retry_schedule = "%s": expected at most 32 durations' % ",".join(["1m"] * 33),
     ["retry_schedule", ",".join(["1m"] * 33)]),
]


@pytest.mark.parametrize("line,thai,english,tokens", [c[1:] for c in LOWER_CONFIG_ERRORS],
                         ids=[c[0] for c in LOWER_CONFIG_ERRORS])
def test_posternd_lower_layer_errors_wholly_thai(line, thai, english, tokens, tmp_path):
    conf = tmp_path / "posternd.conf"
    conf.write_text(line + "\n")
    said = {}
    for name, lang in [("th", {"LANG": "th_TH.UTF-8"}), ("en", {"LANG": "C"})]:
        rc, _, err = posternd(lang, "--config", str(conf))
        assert rc == 2, err
        said[name] = err.replace(str(conf), "FILE")
    assert said["th"] == "posternd: " + thai + "\n"
    assert latin_words(thai, "FILE", *tokens) == [], thai
    assert said["en"] == "posternd: " + english + "\n"


def test_posternd_help_in_thai_sample_in_english():
    rc, out, _ = posternd({"LANG": "th_TH.UTF-8"}, "--help")
    assert rc == 0
    assert out.splitlines()[0].startswith("วิธีใช้: ")
    assert "แสดงไฟล์การตั้งค่าที่มีทุกคีย์พร้อมคำอธิบาย" in out
    assert "ไฟล์รายชื่อผู้ใช้ของ SMTP AUTH" in out  # a key's line, from the table
    assert "the users file of SMTP AUTH" not in out
    rc, en, _ = posternd({}, "--help")
    assert rc == 0 and en.startswith("usage: ") and "the users file of SMTP AUTH" in en
    # the sample is a config file, not a conversation: the same in every language
    _, sample_th, _ = posternd({"LANG": "th_TH.UTF-8"}, "--print-config-sample")
    _, sample_en, _ = posternd({}, "--print-config-sample")
    assert sample_th == sample_en and "# the users file of SMTP AUTH\n" in sample_en


def test_posternd_logs_stay_english(tmp_path):
    """Once logging starts, lines are logfmt in English whatever LANG says."""
    rc, _, err = posternd({"LANG": "th_TH.UTF-8"}, "--listen", "192.0.2.1:2525",
                          "--maildir", str(tmp_path / "Maildir"))
    assert rc != 0
    assert logfmt.bad_lines(err) == []
    [line] = [l for l in err.splitlines() if "event=start_failed" in l]
    assert all(ord(ch) < 128 for ch in line), line


def test_posternd_users_file_errors_logged_in_english(tmp_path):
    """The users file's errors are Thai for postern passwd, but the running
    daemon (C locale) logs them in English."""
    users = tmp_path / "users"
    users.write_text("bob:$1$abc$def\n")
    rc, _, err = posternd({"LANG": "th_TH.UTF-8"}, "--users", str(users),
                          "--maildir", str(tmp_path / "Maildir"))
    assert rc != 0
    assert logfmt.bad_lines(err) == []
    [line] = [l for l in err.splitlines() if "event=start_failed" in l]
    assert "line 1: password hash: legacy method refused" in line, line
    assert all(ord(ch) < 128 for ch in line), line
