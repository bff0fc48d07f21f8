"""`postern explain` as a user runs it: the built binary, its exit codes,
English and Thai output (through GNU gettext and the catalogue the build
compiled from po/th.po) and JSON that Python can parse.

Run: POSTERN=build/test/postern /usr/bin/python3 -m pytest tests/interop/test_explain_cli.py
"""

import json
import os
import subprocess

import pytest

POSTERN = os.environ.get(
    "POSTERN",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "test", "postern"),
)

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

TH_HEADINGS = ("คำอธิบาย", "เมื่อพบรหัสนี้", "วิธีแก้ไข", "ความแตกต่างหลัก", "แต่ละรหัสพบเมื่อใดและควรทำอย่างไร")
EN_HEADINGS = ("Description:", "When you meet it:", "How to fix:", "Key difference:", "Which applies when:")


def flat(text):
    """The text with its wrapping undone, to look for whole sentences."""
    return " ".join(text.split())


def clean_env(**extra):
    """A bare environment (no LANG, LC_*, LANGUAGE from the caller) plus extra."""
    env = {"PATH": "/usr/bin:/bin"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "POSTERN_LOCALEDIR"):
        if k in os.environ:
            env[k] = os.environ[k]
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.update(extra)
    return env


def postern(*args, stdin=b"", **env):
    if not os.path.exists(POSTERN):
        pytest.fail("no postern binary at %s (build first, or set POSTERN)" % POSTERN)
    p = subprocess.run([POSTERN, *args], env=clean_env(**env), input=stdin, capture_output=True,
                       timeout=30)
    out = p.stdout.decode("utf-8")
    err = p.stderr.decode("utf-8")
    for mark in SANITIZER_MARKS:
        assert mark not in err, err
    return p.returncode, out, err


def test_english_pair():
    rc, out, err = postern("explain", "334", "500")
    assert rc == 0, err
    assert err == ""
    for h in EN_HEADINGS:
        assert h in out
    assert "334 Authentication challenge (RFC 4954)" in out
    assert "3xx positive intermediate" in out
    assert "5xx permanent negative completion" in out
    text = flat(out)
    assert "a line over 512 octets or not ended by CRLF" in text
    assert "What to do on 334: carry on with the exchange" in text
    assert "What to do on 500: fix the cause before trying again." in text
    # the comparison as its source page has it: the AUTH LOGIN prompts, the
    # advice when AUTH keeps failing, and base64 outside AUTH getting 500 5.5.2
    assert 'VXNlcm5hbWU6 ("Username:") and UGFzc3dvcmQ6 ("Password:")' in text
    assert "if authentication keeps failing, check your credentials and the SASL mechanism" in text
    assert "base64 sent when the server is not in an AUTH exchange (no 334 pending) is read as a command and gets 500 5.5.2" in text
    assert " means: " not in text
    assert not any(h in out for h in TH_HEADINGS)


@pytest.mark.parametrize(
    "args,env",
    [
        (("--lang", "th"), {}),
        (("--lang=th",), {}),
        ((), {"LANG": "th_TH.UTF-8"}),
        ((), {"LC_ALL": "th_TH.UTF-8"}),
        ((), {"LC_MESSAGES": "th_TH.UTF-8"}),
        ((), {"LANGUAGE": "th"}),
        ((), {"LANG": "en_US.UTF-8", "LANGUAGE": "th:en"}),
        (("--lang", "th"), {"LANG": "en_US.UTF-8"}),
    ],
)
def test_thai(args, env):
    rc, out, err = postern("explain", *args, "334", "500", **env)
    assert rc == 0, err
    for h in TH_HEADINGS:
        assert h in out, (h, out)
    assert "Description:" not in out
    # technical terms stay in Latin letters
    assert "SASL" in out and "base64" in out and "CRLF" in out
    assert "สิ่งที่ควรทำเมื่อได้รับ 334" in flat(out)


@pytest.mark.parametrize(
    "args,env",
    [
        ((), {}),
        (("--lang", "en"), {"LANG": "th_TH.UTF-8"}),
        ((), {"LC_ALL": "C", "LANGUAGE": "th"}),
        ((), {"LANG": "C.UTF-8"}),
    ],
)
def test_english_wins(args, env):
    rc, out, err = postern("explain", *args, "334", **env)
    assert rc == 0, err
    assert "Description: " in out
    assert "คำอธิบาย" not in out


def test_json_pair_parses():
    rc, out, err = postern("explain", "--json", "334", "500")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["lang"] == "en"
    codes = doc["codes"]
    assert [c["code"] for c in codes] == ["334", "500"]
    assert codes[0]["basic"]["class"]["digit"] == 3
    assert codes[1]["basic"]["category"]["name"] == "Syntax"
    assert "5.5.2" in [e["code"] for e in codes[1]["basic"]["enhanced_codes"]]
    pair = doc["comparison"]["pairs"][0]
    assert pair["codes"] == ["334", "500"]
    assert any("positive" in line and "negative" in line for line in pair["key_difference"])
    assert [w["code"] for w in doc["comparison"]["which_when"]] == ["334", "500"]


def test_json_thai_parses():
    rc, out, err = postern("explain", "--json", "--lang", "th", "535 5.7.8", "4.4.2")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["lang"] == "th"
    reply = doc["codes"][0]
    assert reply["basic"]["code"] == "535" and reply["enhanced"]["code"] == "5.7.8"
    assert reply["pair"] == "registry"
    assert reply["basic"]["meaning"].startswith("การยืนยันตัวตนล้มเหลว")


def test_json_every_wellformed_basic_code():
    """Every basic code 200..599, defined or not, in batches of 16: valid JSON."""
    seen_defined = 0
    codes = [str(c) for c in range(200, 600)]
    for i in range(0, len(codes), 16):
        rc, out, err = postern("explain", "--json", *codes[i:i + 16])
        doc = json.loads(out)
        assert rc == (0 if all(c["status"] == "defined" for c in doc["codes"]) else 1), err
        assert len(doc["codes"]) == len(codes[i:i + 16])
        seen_defined += sum(1 for c in doc["codes"] if c["status"] == "defined")
    assert seen_defined >= 30


@pytest.mark.parametrize("arg", ["abc", "6000", "1.2", "600", "3.1.1", "5.01.1", "5.1000.1", ""])
def test_malformed(arg):
    rc, out, err = postern("explain", arg)
    assert rc == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("postern explain: ")
    assert '"%s"' % arg in err


def test_malformed_thai():
    rc, out, err = postern("explain", "--lang", "th", "abc")
    assert rc == 2
    assert out == ""
    assert "ไม่ใช่รหัสตอบกลับ" in err


def test_undefined_wellformed():
    rc, out, err = postern("explain", "299", "5.9.9")
    assert rc == 1, err
    assert "299 is not a defined SMTP reply code" in out
    assert "5.9.9 is not a defined enhanced status code" in out


def test_usage():
    rc, out, err = postern("explain")  # nothing on stdin either
    assert rc == 2
    assert out == ""
    assert err.startswith("usage: postern explain")
    rc, out, err = postern("explain", "--help")
    assert rc == 0
    assert out.startswith("usage: postern explain")
    rc, out, err = postern("explain", "--bogus", "250")
    assert rc == 2
    rc, out, err = postern("explain", "--lang", "xx", "250")
    assert rc == 2
    assert "xx" in err
    rc, out, err = postern()
    assert rc == 2
    assert "explain" in err
    rc, out, err = postern("frobnicate")
    assert rc == 2


@pytest.mark.parametrize("args,status", [
    (("550",), 0), (("535 5.7.8",), 0), (("X.7.8",), 0), (("502 5.5.2",), 0), (("500 5.5.1",), 0),
    (("253",), 0), (("458",), 0), (("459",), 0),
    (("299",), 1), (("5.9.99",), 1), (("2.7.8",), 1), (("250 5.1.1",), 1), (("550", "299"), 1),
    (("abc",), 2), (("550 5.1",), 2),
])
def test_exit_status(args, status):
    rc, out, err = postern("explain", *args)
    assert rc == status, (out, err)


def test_impossible_said():
    rc, out, err = postern("explain", "2.7.8")
    assert rc == 1
    assert "Impossible: 2.7.8 reports a failure" in flat(out)
    assert "success" in out


def test_pasted_line_forms():
    """What people paste: a whole line, a continuation line, a CR, X.7.8, a 334."""
    for arg in ("535 5.7.8 Authentication credentials invalid", "535-5.7.8 Username and Password not accepted.",
                "535 5.7.8\r", "  535 5.7.8  "):
        rc, out, err = postern("explain", arg)
        assert rc == 0, (arg, err)
        assert out.startswith("535 5.7.8 Authentication credentials invalid (RFC 4954)\n"), arg
    rc, out, err = postern("explain", "334 VXNlcm5hbWU6")
    assert rc == 0
    assert 'Challenge:   "Username:"' in out


SWAKS = b"""=== Trying smtp.example.org:587...
=== Connected to smtp.example.org.
<-  220 smtp.example.org ESMTP
 -> EHLO client.example.org
<-  250-smtp.example.org
<-  250-AUTH LOGIN PLAIN
<-  250 STARTTLS
 -> AUTH LOGIN
<-  334 VXNlcm5hbWU6
 -> dXNlcg==
<-  334 UGFzc3dvcmQ6
 -> cGFzcw==
<** 535-5.7.8 Username and Password not accepted. For more information, go to
<** 535 5.7.8  https://support.google.com/mail/?p=BadCredentials
 -> QUIT
<-  221 2.0.0 closing connection
"""

POSTFIX_LOG = b"""Dec  3 06:50:51 mx postfix/smtp[1234]: 4F1A2: to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.1]:25, delay=1, status=bounced (host gmail-smtp-in.l.google.com[142.250.1.1] said: 550-5.7.26 This mail is unauthenticated, which poses a security risk to the sender and Gmail users, and has been blocked. 550 5.7.26 more text - gsmtp (in reply to end of DATA command))
Dec  3 06:50:52 mx postfix/smtpd[99]: NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 554 5.7.1 <b@example.net>: Relay access denied; from=<a@example.org> to=<b@example.net> proto=ESMTP helo=<x>
"""


def cards(out):
    """The titles of the cards, in order."""
    return [line for line in out.split("\n") if line and not line.startswith(" ")]


def test_stdin_swaks():
    rc, out, err = postern("explain", "-", stdin=SWAKS)
    assert rc == 0, err
    titles = cards(out)
    assert [t.split(" ")[0] for t in titles] == ["220", "250", "334", "334", "535", "221"]
    assert titles[4].startswith("535 5.7.8 ")
    assert 'Challenge:   "Username:"' in out and 'Challenge:   "Password:"' in out
    assert "Gmail: 535-5.7.8 Username and Password not accepted." in out
    # a pipe with no CODE is read the same way
    rc2, out2, _ = postern("explain", stdin=SWAKS)
    assert rc2 == 0 and out2 == out


def test_stdin_postfix_log():
    rc, out, err = postern("explain", "-", stdin=POSTFIX_LOG)
    assert rc == 0, err
    titles = cards(out)
    assert [t.split(" ")[:2] for t in titles] == [["550", "5.7.26"], ["554", "5.7.1"]]
    text = flat(out)
    assert "Relaying: the server takes mail only for its own domains" in text
    assert "in reply to end of DATA" not in text


def test_stdin_send_v(tmp_path):
    """The transcript of postern send -v against a server that refuses AUTH."""
    transcript = (b"S: 220 mx ESMTP\nC: EHLO me\nS: 250-mx\nS: 250 AUTH LOGIN\nC: AUTH LOGIN\n"
                  b"S: 334 VXNlcm5hbWU6   \xe2\x86\x90 \"Username:\"\n"
                  b"   \xe2\x86\xb3 3xx positive intermediate: Authentication challenge.\n"
                  b"C: ********\nS: 535 5.7.8 Authentication credentials invalid\n")
    rc, out, err = postern("explain", "--json", "-", stdin=transcript)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["schema"] == 1
    assert [c["code"] for c in doc["codes"]] == ["220", "250", "334", "535 5.7.8"]
    assert doc["codes"][2]["challenge"] == '"Username:"'
    assert doc["codes"][3]["text"] == "Authentication credentials invalid"


def test_stdin_nothing_found():
    rc, out, err = postern("explain", "-", stdin=b"hello\nworld\n")
    assert rc == 2
    assert out == ""
    assert "no reply code found" in err
    rc, out, err = postern("explain", "-", stdin=b"299 nope\n5.9.99\n")
    assert rc == 1


def test_all_text_and_json_schema():
    """--all lists every code; in JSON every code object has the same keys."""
    rc, out, err = postern("explain", "--all")
    assert rc == 0, err
    for code in ("253 ", "458 ", "459 ", "334 ", "X.7.8 ", "X.7.30 ", "X.1.10 "):
        assert "\n" + code in "\n" + out, code
    rc, out, err = postern("explain", "--all", "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["schema"] == 1 and doc["comparison"] is None
    keys = {tuple(c.keys()) for c in doc["codes"]}
    assert len(keys) == 1, keys
    basic = {tuple(c["basic"].keys()) for c in doc["codes"] if c["basic"]}
    enhanced = {tuple(c["enhanced"].keys()) for c in doc["codes"] if c["enhanced"]}
    assert len(basic) == 1 and len(enhanced) == 1
    # the same keys for an undefined code, a pair and an impossible one
    for args in (("299",), ("5.9.9",), ("535 5.7.8",), ("2.7.8",)):
        _, o, _ = postern("explain", "--json", *args)
        c = json.loads(o)["codes"][0]
        assert tuple(c.keys()) in keys
        if c["basic"]:
            assert tuple(c["basic"].keys()) in basic
        if c["enhanced"]:
            assert tuple(c["enhanced"].keys()) in enhanced


def test_wrapped_to_80_columns():
    rc, out, err = postern("explain", "--all")
    for line in out.split("\n"):
        if len(line) > 80:
            assert " " not in line.strip(), line  # only a single long word, such as a URL
