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

TH_HEADINGS = ("คำอธิบาย", "เมื่อคุณพบเห็น", "วิธีแก้ไข", "ความแตกต่างหลัก", "ควรใช้อันไหนเมื่อไร")
EN_HEADINGS = ("Description:", "When you see it:", "How to fix:", "Key difference:", "Which applies when:")


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


def postern(*args, **env):
    if not os.path.exists(POSTERN):
        pytest.fail("no postern binary at %s (build first, or set POSTERN)" % POSTERN)
    p = subprocess.run([POSTERN, *args], env=clean_env(**env), capture_output=True, timeout=30)
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
    assert "a line over 512 octets, a line not ended by CRLF" in out
    assert "334 means: carry on with the exchange." in out
    assert "500 means: fix the cause before trying again." in out
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
    assert "334 หมายความว่า:" in out


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
    assert codes[1]["basic"]["enhanced_codes"][0]["code"] == "5.5.2"
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
    assert reply["enhanced"]["usual_with_basic"] is True
    assert reply["basic"]["meaning"].startswith("การยืนยันตัวตนล้มเหลว")


def test_json_every_wellformed_basic_code():
    """Every basic code 200..599, defined or not, in batches of 16: valid JSON."""
    seen_defined = 0
    codes = [str(c) for c in range(200, 600)]
    for i in range(0, len(codes), 16):
        rc, out, err = postern("explain", "--json", *codes[i:i + 16])
        assert rc == 0, err
        doc = json.loads(out)
        assert len(doc["codes"]) == len(codes[i:i + 16])
        seen_defined += sum(1 for c in doc["codes"] if c["defined"])
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
    assert rc == 0, err
    assert "299 is not a defined SMTP reply code" in out
    assert "5.9.9 is not a defined enhanced status code" in out


def test_usage():
    rc, out, err = postern("explain")
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
