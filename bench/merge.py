#!/usr/bin/python3
"""merge.py DISCARD_RUNS_TSV MAILDIR_RUNS_TSV OUTDIR
Renames the harness's "custom" rows (posternd-discard from the first run,
posternd-maildir from the second), writes OUTDIR/runs.tsv (both runs), and prints
one side-by-side markdown table (median msgs/s per load) with the target ratios:
  posternd-maildir / postfix   >= 3.0
  posternd-maildir / node-file >= 1.5
  posternd-discard / smtp-sink >= 0.90
A load in which any rep failed (smtp-source exit != 0) shows FAIL."""
import csv, os, statistics, sys
from collections import defaultdict

disc, mdir, out = sys.argv[1:4]
rows = []
for path, name in ((disc, "posternd-discard"), (mdir, "posternd-maildir")):
    for r in csv.DictReader(open(path), delimiter="\t"):
        if r["server"] == "custom":
            r["server"] = name
        rows.append(r)
fields = ["server", "size", "mode", "conc", "rep", "msgs", "seconds", "msgs_per_s", "drain_s", "rc"]
with open(os.path.join(out, "runs.tsv"), "w") as f:
    f.write("\t".join(fields) + "\n")
    for r in rows:
        f.write("\t".join(r[k] for k in fields) + "\n")

rates = defaultdict(list); fails = defaultdict(int); servers = []
for r in rows:
    if r["server"] not in servers:
        servers.append(r["server"])
    k = (r["server"], r["size"], r["mode"], r["conc"])
    if r["msgs_per_s"] == "FAIL" or r["rc"] != "0":
        fails[k] += 1
    else:
        rates[k].append(float(r["msgs_per_s"]))

def med(s, load):
    k = (s,) + load
    if fails.get(k):
        return None
    v = rates.get(k)
    return statistics.median(v) if v else None

def cell(s, load):
    k = (s,) + load
    if fails.get(k):
        return "FAIL"
    v = med(s, load)
    return "-" if v is None else "%.0f" % v

# column order: null servers, then the durable ones, posternd last in each group
order = [s for s in ("smtp-sink", "posternd-discard", "postfix", "node-file", "aiosmtpd-maildir",
                     "posternd-maildir") if s in servers] + \
        [s for s in servers if s not in ("smtp-sink", "posternd-discard", "postfix", "node-file",
                                         "aiosmtpd-maildir", "posternd-maildir")]
RATIOS = [("maildir / postfix", "posternd-maildir", "postfix", 3.0),
          ("maildir / node-file", "posternd-maildir", "node-file", 1.5),
          ("discard / smtp-sink", "posternd-discard", "smtp-sink", 0.90)]
sizes = sorted({r["size"] for r in rows}, key=int)
modes = [m for m in ("1", "d") if any(r["mode"] == m for r in rows)]
concs = sorted({r["conc"] for r in rows}, key=int)
loads = [(sz, m, c) for sz in sizes for m in modes for c in concs]
mname = {"1": "1/conn", "d": "-d"}

print("## Side by side: messages/s (median of the reps), and posternd's ratios\n")
print("Ratio cells: value, then ✓ if it meets the target, ✗ if not. FAIL = smtp-source exited non-zero.\n")
hdr = ["size", "mode", "-s"] + order + ["%s (≥%g)" % (n, t) for n, _, _, t in RATIOS]
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * 3 + "---:|" * (len(hdr) - 3))
met = defaultdict(int); total = defaultdict(int); worst = {}
for load in loads:
    sz, m, c = load
    line = ["%d KiB" % (int(sz) // 1024), mname[m], c] + [cell(s, load) for s in order]
    for n, a, b, t in RATIOS:
        if a not in servers or b not in servers:
            line.append("-"); continue
        va, vb = med(a, load), med(b, load)
        total[n] += 1
        if fails.get((a,) + load):
            line.append("FAIL ✗"); worst[n] = min(worst.get(n, 9e9), 0.0); continue
        if va is None or vb is None or vb == 0:
            line.append("-"); continue
        q = va / vb
        ok = q >= t
        met[n] += ok
        worst[n] = min(worst.get(n, 9e9), q)
        line.append("%.2f %s" % (q, "✓" if ok else "✗"))
    print("| " + " | ".join(line) + " |")

print("\n## Targets\n")
print("| target | loads meeting it | lowest ratio |")
print("|---|---|---|")
for n, a, b, t in RATIOS:
    if total[n]:
        print("| posternd-%s ≥ %g | %d of %d | %.2f |" % (n, t, met[n], total[n], worst.get(n, 0)))
bad = sorted({k for k, n in fails.items() if n})
if bad:
    print("\nFailed loads (rc != 0 in at least one rep or the warm-up): " +
          ", ".join("%s %s %s -s %s" % k for k in bad))
