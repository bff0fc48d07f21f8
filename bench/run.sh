#!/bin/bash
# Throughput benchmark of posternd next to the anchor servers (Postfix, Node
# smtp-server with fsync, aiosmtpd, smtp-sink), all loaded with Postfix's
# smtp-source on loopback by the shared anchor harness
# (/work/shared/bench/anchors/run_all.sh), then merged into one table with the
# target ratios.  See bench/README.md.
#
# usage: bench/run.sh POSTERND_PATH          (as root; `make bench` does this)
# env:   ANCHORS_SRC  anchor harness (default /work/shared/bench/anchors; read-only is fine)
#        ANCHORS      its runtime root (default /opt/anchors; setup.sh runs once if missing)
#        OUT          where the runs and the report go (default $ANCHORS/results/posternd-<UTC stamp>)
#        ANCHOR_SERVERS  anchors in the durable run (default "postfix node-file aiosmtpd-maildir")
#        PORT (10080)  WORKERS (2)  SKIP_IDLE=1 (no idle-memory step)
#        DUR REPS SIZES CONCS MODES DRAIN_MAX: passed to run_all.sh (defaults 5, 3,
#        "4096 102400", "1 20 100", "1 d", 60)
#        RESULTS_MD=FILE  also copy the report there (e.g. bench/RESULTS.md)
#        BENCH_AUTH=1  then run bench/run-auth.sh too (into $OUT/auth)
#        BENCH_TLS=1   then run bench/run-tls.sh too (into $OUT/tls)
#        (both get the same DUR, REPS and WORKERS: see bench/README.md)
# Only loopback traffic.  ~25-30 min with the defaults on a 2-core VM, plus ~7 min
# for BENCH_AUTH=1 and ~5 min for BENCH_TLS=1.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 POSTERND_PATH" >&2; exit 2; }
POSTERND=$(readlink -f "$1")
[ -x "$POSTERND" ] || { echo "$0: $1: not an executable" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0: run as root (the anchors need it)" >&2; exit 2; }
ANCHORS_SRC=${ANCHORS_SRC:-/work/shared/bench/anchors}
export ANCHORS=${ANCHORS:-/opt/anchors}
ANCHOR_SERVERS=${ANCHOR_SERVERS:-"postfix node-file aiosmtpd-maildir"}
PORT=${PORT:-10080}; WORKERS=${WORKERS:-2}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$ANCHORS/results/posternd-$STAMP}

# ---- one-time setup of the anchors (setup.sh writes only under $ANCHORS, and
# builds its tools there, so it runs from the read-only folder as it is)
anchors_ready() {
  [ -x /usr/sbin/smtp-source ] && [ -x /usr/sbin/smtp-sink ] && command -v postfix >/dev/null &&
  [ -x "$ANCHORS/tools/fsync_bench" ] && [ -d "$ANCHORS/node/node_modules/smtp-server" ] &&
  [ -x "$ANCHORS/opensmtpd/usr/sbin/smtpd" ] && id benchmail >/dev/null 2>&1 &&
  /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null
}
if ! anchors_ready; then
  echo "== anchors not set up in $ANCHORS: running $ANCHORS_SRC/setup.sh"
  "$ANCHORS_SRC/setup.sh" || { echo "$0: setup.sh failed" >&2; exit 1; }
fi

# smtp-source -s 100, 100 server sessions and the idle step need descriptors
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# a server left listening on one of the harness's ports would be measured in
# place of the one the harness starts (its start fails, its port answers)
busy=""
for p in 10025 10030 10031 10060 10061 10070 10071 "$PORT"; do
  ss -ltnH "sport = :$p" | grep -q LISTEN && busy="$busy $p"
done
[ -z "$busy" ] || { echo "$0: ports in use:$busy (stop what listens there first)" >&2; exit 1; }

mkdir -p "$OUT"
MD=$ANCHORS/run/posternd/Maildir   # same file system as the anchors' Maildirs
QD=$ANCHORS/run/posternd/queue     # and the queue, as Postfix's spool
rm -rf "$ANCHORS/run/posternd"; mkdir -p "$MD"
FLAGS="--listen 127.0.0.1:$PORT --maildir $MD --queue-dir $QD --control $ANCHORS/run/posternd/control.sock"
FLAGS="$FLAGS --hostname bench.local --domain bench.local --workers $WORKERS"
log() { echo "[$(date -u +%T)] $*" | tee -a "$OUT/bench.log"; }
log "posternd: $POSTERND ($("$POSTERND" --version 2>&1))  out: $OUT  ulimit -n $(ulimit -n)"
log "DUR=${DUR:-5} REPS=${REPS:-3} SIZES=${SIZES:-4096 102400} CONCS=${CONCS:-1 20 100} MODES=${MODES:-1 d}"

# ---- run 1: posternd --store discard next to smtp-sink (the null server)
log "run 1: posternd --store discard, smtp-sink"
RESULTS_DIR=$OUT/discard CUSTOM_PORT=$PORT CUSTOM_MAILDIR=$MD \
CUSTOM_CMD="$POSTERND $FLAGS --store discard" \
  "$ANCHORS_SRC/run_all.sh" custom smtp-sink > "$OUT/run1.out" 2>&1
log "run 1 done (rc $?)"

# ---- run 2: posternd --store maildir next to the durable anchors
log "run 2: posternd --store maildir, $ANCHOR_SERVERS"
RESULTS_DIR=$OUT/maildir CUSTOM_PORT=$PORT CUSTOM_MAILDIR=$MD \
CUSTOM_CMD="$POSTERND $FLAGS --store maildir" \
  "$ANCHORS_SRC/run_all.sh" custom $ANCHOR_SERVERS > "$OUT/run2.out" 2>&1
log "run 2 done (rc $?)"

R1=$(ls -d "$OUT"/discard/run-* | tail -1); R2=$(ls -d "$OUT"/maildir/run-* | tail -1)
ln -sf "$R1/custom.log" "$OUT/posternd-discard.stderr.log"   # posternd's stderr (one line per event)
ln -sf "$R2/custom.log" "$OUT/posternd-maildir.stderr.log"
cat "$R1/smtp-source.err" "$R2/smtp-source.err" > "$OUT/smtp-source.err" 2>/dev/null

# ---- idle memory per connection (posternd next to smtp-sink)
if [ "${SKIP_IDLE:-0}" != 1 ]; then
  log "idle memory"
  "$BENCH/idle_mem.sh" "$POSTERND" > "$OUT/idle_mem.md" 2> "$OUT/idle_mem.err"
fi

# ---- report
/usr/bin/python3 "$BENCH/merge.py" "$R1/runs.tsv" "$R2/runs.tsv" "$OUT" > "$OUT/table.md"
/usr/bin/python3 "$ANCHORS_SRC/summarize.py" "$OUT/runs.tsv" > "$OUT/detail.md"
{
  echo "# posternd benchmark $STAMP"
  echo
  "$BENCH/machine.sh" "$POSTERND"
  echo
  cat "$OUT/table.md"
  if [ -s "$OUT/idle_mem.md" ]; then echo; echo "## Idle memory (1,000 connections after EHLO)"; echo; cat "$OUT/idle_mem.md"; fi
  echo; echo "## Median (min–max) per server"; cat "$OUT/detail.md"
  echo; echo "## Errors"; echo
  echo "smtp-source stderr (both runs): $(wc -l < "$OUT/smtp-source.err") lines"
  sort "$OUT/smtp-source.err" | uniq -c | sort -rn | head -20 | sed 's/^/    /'
  for m in discard maildir; do
    f=$OUT/posternd-$m.stderr.log
    echo "posternd-$m log: $(grep -c 'level=warn\|level=error' "$f" 2>/dev/null) warn/error lines, $(grep -c 'refused=' "$f" 2>/dev/null) refused connections"
    grep 'level=warn\|level=error' "$f" 2>/dev/null | sed 's/^ts=[^ ]* //; s/sid=[^ ]* //; s/queue_id=[^ ]* //' | sort | uniq -c | sort -rn | head -10 | sed 's/^/    /'
  done
} > "$OUT/report.md"

# ---- optional: the AUTH and TLS benchmarks, appended to the report
for b in auth tls; do
  v=BENCH_$(echo $b | tr a-z A-Z)
  [ "${!v:-0}" = 1 ] || continue
  log "$b benchmark: $BENCH/run-$b.sh"
  OUT=$OUT/$b "$BENCH/run-$b.sh" "$POSTERND" > "$OUT/run-$b.out" 2>&1
  log "$b benchmark done (rc $?)"
  if [ -s "$OUT/$b/report.md" ]; then
    { echo; sed 's/^#/##/' "$OUT/$b/report.md"; } >> "$OUT/report.md"
  else
    echo -e "\n## $b benchmark: no report (see $OUT/run-$b.out)" >> "$OUT/report.md"
  fi
done
[ -n "${RESULTS_MD:-}" ] && cp "$OUT/report.md" "$RESULTS_MD"
cat "$OUT/report.md"
log "report: $OUT/report.md   raw: $OUT/runs.tsv"
