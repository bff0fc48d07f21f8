#!/usr/bin/env python3
"""Figures of bench/run-queue.sh.

  queue_figures.py posternd LOG   one line of key=value from posternd's log: messages
                                  queued, recipients delivered/deferred/failed, and the
                                  delay from each message's `queued` line (its 250) to its
                                  `delivered` line (the Maildir file is in new/, or the LMTP
                                  server said 250), p50/p99/max in ms, matched by queue id
  queue_figures.py postfix MAILLOG  the same from Postfix's log: status=sent/deferred/
                                  bounced counts and its delay= (arrival to delivery)
  queue_figures.py report TSV     the markdown tables of the report
"""
import datetime
import re
import statistics
import sys

TS = re.compile(r"^ts=(\S+) ")
QID = re.compile(r" queue_id=(\S+)")


def ts_of(line):
    m = TS.match(line)
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() if m else None


def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def posternd(path):
    queued, delays = {}, []
    n = {"queued": 0, "delivered": 0, "deferred": 0, "failed": 0}
    first = last = None
    for line in open(path, errors="replace"):
        ev = line.split(" event=", 1)[1].split(" ", 1)[0] if " event=" in line else ""
        if ev not in n:
            continue
        n[ev] += 1
        m = QID.search(line)
        t = ts_of(line)
        if not m or t is None:
            continue
        if ev == "queued":
            queued[m.group(1)] = t
            first = t if first is None else first
            last = t
        elif ev == "delivered" and m.group(1) in queued:
            delays.append((t - queued[m.group(1)]) * 1000.0)
    span = (last - first) if first is not None else 0.0
    print("queued=%d delivered=%d deferred=%d failed=%d queued_span_s=%.1f delay_p50_ms=%.0f "
          "delay_p99_ms=%.0f delay_max_ms=%.0f" % (n["queued"], n["delivered"], n["deferred"],
                                                  n["failed"], span, pct(delays, 50),
                                                  pct(delays, 99), max(delays or [float("nan")])))


def postfix(path):
    n = {"sent": 0, "deferred": 0, "bounced": 0}
    delays = []
    try:
        lines = open(path, errors="replace")
    except OSError:
        lines = []
    for line in lines:
        m = re.search(r" delay=([0-9.]+),.* status=(\w+)", line)
        if not m:
            continue
        n[m.group(2)] = n.get(m.group(2), 0) + 1
        if m.group(2) == "sent":
            delays.append(float(m.group(1)) * 1000.0)
    print("sent=%d deferred=%d bounced=%d delay_p50_ms=%.0f delay_p99_ms=%.0f delay_max_ms=%.0f"
          % (n["sent"], n["deferred"], n["bounced"], pct(delays, 50), pct(delays, 99),
             max(delays or [float("nan")])))


def log_rows(pdl, pfl):
    """The rows from the servers' logs: the delay and the outcomes."""
    print("| delay 250 → delivered, p50 / p99 / max ms | %s / %s / %s | %s / %s / %s (Postfix's delay=: arrival → delivery) | |"
          % (pdl.get("delay_p50_ms"), pdl.get("delay_p99_ms"), pdl.get("delay_max_ms"),
             pfl.get("delay_p50_ms"), pfl.get("delay_p99_ms"), pfl.get("delay_max_ms")))
    print("| deliveries logged: done / deferred / failed | %s / %s / %s | %s / %s / %s | |"
          % (pdl.get("delivered"), pdl.get("deferred"), pdl.get("failed"),
             pfl.get("sent"), pfl.get("deferred"), pfl.get("bounced")))


def lmtp_report(rows, f):
    """The same message count for each server, each into a fresh Dovecot:
    end to end is the count over the time until the last one is in the Maildir."""
    pd, pf = rows.get(("lmtp", "posternd")), rows.get(("lmtp", "postfix"))
    if not pd or not pf:
        return
    pdl, pfl = rows.get(("lmtp", "posternd-log"), {}), rows.get(("lmtp", "postfix-log"), {})
    print("## lmtp: posternd (queue -> LMTP -> Dovecot) vs Postfix (queue -> lmtp(8) -> Dovecot), "
          "%s messages each" % pd.get("msgs"))
    print()
    print("| figure | posternd | Postfix | posternd / Postfix |")
    print("|---|---:|---:|---:|")
    vals = {}
    for side, d in (("pd", pd), ("pf", pf)):
        n, load, last = f(d, "msgs"), f(d, "load_s"), f(d, "last_s")
        vals[side] = [
            ("**delivered/s end to end (messages / time until the last is in the Maildir)**", n / last, True),
            ("time until the last message is in the Maildir, s", last, False),
            ("accepted/s (messages / time until smtp-source got its last 250)", n / load, True),
            ("load time (smtp-source), s", load, False),
            ("delivered/s while the load ran (files at its end / its time)",
             f(d, "delivered_at_load_end") / load, True),
            ("delivered/s in the first 10 s", f(d, "first10") / 10.0, True),
            ("delivered/s after the load (the backlog / the time it took)",
             (n - f(d, "delivered_at_load_end")) / (last - load) if last > load else float("nan"), True),
            ("messages in the Maildir at the end", f(d, "delivered_total"), False),
        ]
    for (k, a, rate), (_, b, _) in zip(vals["pd"], vals["pf"]):
        ratio = "%.2f" % (a / b) if rate and b else ""
        if k.startswith("**"):
            ratio = "**%s** (target ≥ 2: %s)" % (ratio, "met" if b and a / b >= 2 else "missed")
        fmt = "%.0f" if rate or "messages" in k else "%.1f"
        print("| %s | %s | %s | %s |" % (k, fmt % a, fmt % b, ratio))
    log_rows(pdl, pfl)
    for role, what in (("dovecot", "Dovecot"), ("mta", "the mail server"), ("load", "smtp-source")):
        k = "cpu_%s_s" % role
        if k in pd and k in pf:
            print("| CPU used by %s, s (ms per message) | %.1f (%.2f) | %.1f (%.2f) | %.2f |"
                  % (what, f(pd, k), f(pd, k) * 1000 / f(pd, "msgs"), f(pf, k),
                     f(pf, k) * 1000 / f(pf, "msgs"), f(pd, k) / f(pf, k) if f(pf, k) else float("nan")))
    print("| load average (1/5/15 min) at the start → at the end | %s → %s | %s → %s | |"
          % (pd.get("loadavg_start"), pd.get("loadavg_end"), pf.get("loadavg_start"), pf.get("loadavg_end")))
    print()


def report(path):
    rows = {}
    mem = []
    restart = None
    for line in open(path):
        part, what, kv = line.rstrip("\n").split("\t")
        d = dict(x.split("=", 1) for x in kv.split() if "=" in x)
        if part == "memory" and what == "restart":
            restart = d
        elif part == "memory":
            mem.append(d)
        else:
            rows[(part, what)] = d

    def f(d, k):
        try:
            return float(d.get(k, "nan"))
        except ValueError:
            return float("nan")

    names = {"maildir": ("queue -> Maildir", "queue -> virtual(8) Maildir", 3)}
    for part in ("maildir",):
        pd, pf = rows.get((part, "posternd")), rows.get((part, "postfix"))
        if not pd or not pf:
            continue
        pdl, pfl = rows.get((part, "posternd-log"), {}), rows.get((part, "postfix-log"), {})
        pd_name, pf_name, target = names[part]
        print("## %s: posternd (%s) vs Postfix (%s)" % (part, pd_name, pf_name))
        print()
        print("| figure | posternd | Postfix | posternd / Postfix |")
        print("|---|---:|---:|---:|")
        vals = {}
        for side, d in (("pd", pd), ("pf", pf)):
            w = f(d, "window_s")
            acc, din, dr = f(d, "accepted"), f(d, "delivered_in_window"), f(d, "drain_s")
            vals[side] = {
                "accepted/s (over the load window)": acc / w,
                "delivered/s in the window (files at its end / its length)": din / w,
                "delivered/s end to end (accepted / (window + drain))": acc / (w + dr),
                "delivered/s in the first 10 s (mailbox still small)": f(d, "first10") / 10.0,
                "messages accepted": acc,
                "backlog at the end of the window": acc - din,
                "time to deliver the backlog, s": dr,
            }
        for k in vals["pd"]:
            a, b = vals["pd"][k], vals["pf"][k]
            ratio = "%.2f" % (a / b) if b and "/s" in k else ""
            if k.startswith("delivered/s in the window"):
                ratio += " (target ≥ %d: %s)" % (target, "met" if a / b >= target else "missed")
            fmt = "%.0f" if "/s" in k or "messages" in k or "backlog" in k else "%.1f"
            print("| %s | %s | %s | %s |" % (k, fmt % a, fmt % b, ratio))
        log_rows(pdl, pfl)
        print()
    lmtp_report(rows, f)
    if mem:
        print("## memory: posternd's RSS while the queue grows (delivery target unreachable)")
        print()
        print("| messages sent | queued (log) | deferred attempts (log) | RSS kB | PSS kB | queue on disk kB | smtp-source s for the step (msgs/s) | rc |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        prev = 0
        for d in mem:
            secs = f(d, "secs")
            sent = int(d["sent"])
            rate = "%.1f (%.0f)" % (secs, (sent - prev) / secs) if secs > 0 else "-"
            prev = sent
            print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (d["sent"], d["queued"], d["deferred_lines"],
                                                               d["rss_kb"], d["pss_kb"], d["queue_kb"], rate, d["rc"]))
        loaded = [d for d in mem if int(d["sent"]) > 0]
        if len(loaded) >= 2:
            first, last = f(loaded[0], "rss_kb"), f(loaded[-1], "rss_kb")
            q0, q1 = f(loaded[0], "queued"), f(loaded[-1], "queued")
            lo = min(f(d, "rss_kb") for d in loaded)
            hi = max(f(d, "rss_kb") for d in loaded)
            print()
            print("RSS from the first step to the last: %.0f → %.0f kB (%+.0f %%; min %.0f, max %.0f over the loaded "
                  "steps; target: within 20 %%: %s); %.0f B per queued message between them; at start %s kB."
                  % (first, last, (last / first - 1) * 100, lo, hi,
                     "met" if hi <= lo * 1.2 else "missed",
                     (last - first) * 1024 / (q1 - q0) if q1 > q0 else float("nan"), mem[0]["rss_kb"]))
    if restart:
        print()
        print("Restart on that queue: listening after %.2f s; peak RSS while recovering %s kB (%s messages, "
              "at most %s in memory at once); RSS after %s kB."
              % (f(restart, "secs"), restart.get("peak_rss_kb"), restart.get("messages", "?"),
                 restart.get("peak_in_memory", "?"), restart.get("rss_kb")))


if __name__ == "__main__":
    {"posternd": posternd, "postfix": postfix, "report": report}[sys.argv[1]](sys.argv[2])
