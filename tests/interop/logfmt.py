"""A strict logfmt reader: a line is key=value pairs separated by one space;
a value is bare (no space, quote or '=') or quoted, with \\", \\\\ and \\xNN
escapes inside. Whatever posternd logs must read back with it."""

import re

_PAIR = re.compile(r'([a-z_][a-z0-9_]*)=("(?:[^"\\\x00-\x1f]|\\["\\]|\\x[0-9a-f]{2})*"|[^ "=]*)(?: |$)')
_ESC = re.compile(r'\\(["\\]|x[0-9a-f]{2})')


def parse(line):
    """The pairs of one line as a dict; ValueError when it is not logfmt."""
    out, pos = {}, 0
    line = line.rstrip("\n")
    while pos < len(line):
        m = _PAIR.match(line, pos)
        if not m:
            raise ValueError("not logfmt at column %d: %r" % (pos, line))
        key, val = m.group(1), m.group(2)
        if val.startswith('"'):
            val = _ESC.sub(lambda e: e.group(1) if len(e.group(1)) == 1
                           else chr(int(e.group(1)[1:], 16)), val[1:-1])
        out[key] = val
        pos = m.end()
    return out


def bad_lines(log):
    """The lines of posternd's log (those starting "ts=") that do not parse."""
    bad = []
    for line in log.splitlines():
        if line.startswith("ts="):
            try:
                parse(line)
            except ValueError:
                bad.append(line)
    return bad
