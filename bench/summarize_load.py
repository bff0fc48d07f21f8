#!/usr/bin/python3
"""summarize_load.py RUNS_TSV [TARGET]
RUNS_TSV: lines "server<TAB>test<TAB>rep<TAB>key=value ..." written by lib.sh's
record (the key=value part is auth_load's result line).  Prints one markdown
table: per test and server the median rate of the reps (min-max), errors, the
NOOP round trip (median over reps of p50 and p99, and the worst max), the
session time p50, TLS resumptions; then, per test, posternd / postfix with a
check against TARGET (default 2.0).  A rep with no result counts as FAIL."""
import statistics, sys
from collections import OrderedDict

path = sys.argv[1]
target = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
data = OrderedDict()   # (test, server) -> [dict]
for line in open(path):
    parts = line.rstrip("\n").split("\t")
    if len(parts) < 4:
        continue
    server, test, rep, kv = parts[:4]
    d = dict(x.split("=", 1) for x in kv.split() if "=" in x)
    data.setdefault((test, server), []).append(d)

def num(d, k):
    try:
        return float(d[k])
    except (KeyError, ValueError):
        return None

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None

def f(v, fmt="%.0f"):
    return "-" if v is None else fmt % v

tests = list(OrderedDict((t, 1) for t, _ in data))
print("| test | server | rate/s median (min–max) | reps | errors | NOOP p50 ms | NOOP p99 ms | NOOP max ms | session p50 ms | TLS |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
rates = {}
for t in tests:
    for (tt, s), reps in data.items():
        if tt != t:
            continue
        r = [num(d, "rate") for d in reps]
        ok = [v for v in r if v is not None]
        fails = len(r) - len(ok)
        m = med(ok) if not fails else None
        rates[(t, s)] = m
        rng = "" if len(ok) < 2 else " (%s–%s)" % (f(min(ok)), f(max(ok)))
        cell = ("FAIL (%d of %d reps)" % (fails, len(r))) if fails else f(m) + rng
        errs = sum(int(num(d, "errors") or 0) for d in reps)
        nmax = [num(d, "noop_max_ms") for d in reps if num(d, "noop_max_ms") is not None]
        tls = sorted({d.get("tls", "-") for d in reps} - {"-"})
        res = sum(int(num(d, "resumed") or 0) for d in reps)
        done = sum(int(num(d, "done") or 0) for d in reps)
        tcell = ", ".join(tls) if tls else "-"
        if res:
            tcell += " (%d of %d resumed)" % (res, done)
        print("| %s | %s | %s | %d | %d | %s | %s | %s | %s | %s |" % (
            t, s, cell, len(r), errs,
            f(med([num(d, "noop_p50_ms") for d in reps]), "%.2f"),
            f(med([num(d, "noop_p99_ms") for d in reps]), "%.2f"),
            f(max(nmax) if nmax else None, "%.1f"),
            f(med([num(d, "sess_p50_ms") for d in reps]), "%.1f"), tcell))

print()
print("| test | posternd / postfix (target ≥ %g) |" % target)
print("|---|---|")
for t in tests:
    a, b = rates.get((t, "posternd")), rates.get((t, "postfix"))
    if (t, "posternd") not in rates or (t, "postfix") not in rates:
        continue
    if a is None or b is None or b == 0:
        print("| %s | - (a side failed) |" % t)
    else:
        q = a / b
        print("| %s | %.2f %s |" % (t, q, "✓" if q >= target else "✗"))
