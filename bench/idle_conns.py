#!/usr/bin/python3
"""idle_conns.py PORT N HOLD_S : open N SMTP connections to 127.0.0.1:PORT, read
the greeting, send EHLO, read the reply, then hold them idle for HOLD_S seconds
(or until stdin closes, if HOLD_S is 0).  Unlike the anchors' tools/idle_conns.py it
checks the codes: prints one line 'ready ok=K refused=R codes=...' (flushed) once
all N are tried, where ok counts connections that got 220 then 250.  A connection
that gets anything else is closed at once and counted, so the idle set is exactly
the ok ones."""
import socket, sys, time
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
for i in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        g = reply(s)
        if g != "220":
            codes["greeting " + g] += 1; s.close(); continue
        s.sendall(b"EHLO idle.bench.local\r\n")
        e = reply(s)
        if e != "250":
            codes["EHLO " + e] += 1; s.close(); continue
        socks.append(s)
    except OSError as ex:
        codes[type(ex).__name__] += 1
print("ready ok=%d refused=%d codes=%s" % (len(socks), n - len(socks), dict(codes) or "{}"), flush=True)
if hold > 0:
    time.sleep(hold)
else:
    sys.stdin.read()
for s in socks:
    try:
        s.sendall(b"QUIT\r\n")
    except OSError:
        pass
    s.close()
