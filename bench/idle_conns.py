#!/usr/bin/python3
"""idle_conns.py PORT N HOLD_S : open N SMTP connections to 127.0.0.1:PORT, read
the greeting, send EHLO, read the reply, then hold them idle for HOLD_S seconds
(or until stdin closes, at most 600 s, if HOLD_S is 0).  Unlike the anchors' tools/idle_conns.py it
checks the codes: prints one line 'ready ok=K refused=R codes=...' (flushed) once
all N are tried, where ok counts connections that got 220 then 250.  A connection
that gets anything else is closed at once and counted, so the idle set is exactly
the ok ones.  Each step has a 5 s timeout; after 3 failures in a row it stops
trying (smtp-sink, for one, serves at most 256 sessions at a time and leaves the
rest unanswered), and the line says 'stalled_after=K'."""
import select, socket, sys, time
from collections import Counter

port, n, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])

def reply(s):
    buf = b""
    while True:
        d = s.recv(4096)
        if not d:
            return "EOF"
        buf += d
        for l in buf.split(b"\r\n")[:-1]:
            if len(l) >= 4 and l[3:4] == b" ":
                return l[:3].decode("ascii", "replace")

socks, codes = [], Counter()
fails_in_a_row, stalled = 0, None
for i in range(n):
    if fails_in_a_row >= 3:
        stalled = len(socks); break
    fails_in_a_row += 1
    s = None
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        g = reply(s)
        if g != "220":
            codes["greeting " + g] += 1; s.close(); continue
        s.sendall(b"EHLO idle.bench.local\r\n")
        e = reply(s)
        if e != "250":
            codes["EHLO " + e] += 1; s.close(); continue
        socks.append(s); fails_in_a_row = 0
    except OSError as ex:
        codes[type(ex).__name__] += 1
        if s is not None:
            s.close()
print("ready ok=%d refused=%d codes=%s%s" % (len(socks), n - len(socks), dict(codes) or "{}",
      "" if stalled is None else " stalled_after=%d" % stalled), flush=True)
if hold > 0:
    time.sleep(hold)
else:
    # until stdin reaches EOF; never more than 600 s (a safety net for the script)
    end = time.time() + 600
    while time.time() < end:
        r, _, _ = select.select([sys.stdin], [], [], end - time.time())
        if r and not sys.stdin.buffer.read1(4096):
            break
for s in socks:
    try:
        s.sendall(b"QUIT\r\n")
    except OSError:
        pass
    s.close()
