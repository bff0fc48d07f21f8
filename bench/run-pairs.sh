#!/bin/bash
# Durable acceptance next to smtp-sink, reps interleaved in pairs, each rep with
# the steal time the VM's host took during it (the `steal` column of
# /proc/stat). On a shared VM a rep that loses seconds to the host says
# nothing about the server; pairs where neither side lost more than
# STEAL_MAX ticks give the ratio (issue 11: >= 0.5x smtp-sink at 20 sessions).
#
# posternd runs as the anchors' run_all.sh runs it (Maildir, --workers 2);
# after each of its reps the script waits until its backlog is delivered, so
# that its deliveries never run beside smtp-sink's rep.
#
# Delivered files are kept until the script ends, unlike run_all.sh, which
# empties the Maildir between reps. On ext4 without a journal (the anchors'
# file system) an inode is not reused for 60 s after it is freed (300 s more
# while its inode-table block is dirty: ialloc.c, recently_deleted), and each
# new inode's search walks past every such one: emptying 60,000 files just
# before a rep put ~16 % of the machine's CPU into that walk (perf), a cost
# of the harness's cleanup and not of receiving mail. The previous run's
# files go first, then the script waits until they are 65 s old.
#
# usage: bench/run-pairs.sh [POSTERND_PATH]   (as root; default build/release/posternd)
# env:   PAIRS (6)  SESSIONS (20)  SIZE (4096)  PD_MSGS (60000)  SINK_MSGS (140000)
#        STEAL_MAX (20 ticks = 0.2 s)  PD_PORT (10080)  SINK_PORT (10025)
#        ROOT ($ANCHORS/run/postern-pairs)
set -u
export ROOT=${ROOT:-${ANCHORS:-/opt/anchors}/run/postern-pairs}
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
POSTERND=${1:-$TOP/build/release/posternd}
PAIRS=${PAIRS:-6}; SESSIONS=${SESSIONS:-20}; SIZE=${SIZE:-4096}
PD_MSGS=${PD_MSGS:-60000}; SINK_MSGS=${SINK_MSGS:-140000}; STEAL_MAX=${STEAL_MAX:-20}
PD_PORT=${PD_PORT:-10080}; SINK_PORT=${SINK_PORT:-10025}
need_root
[ -x "$POSTERND" ] || die "no posternd at $POSTERND"
command -v smtp-source >/dev/null || die "smtp-source missing (scripts/deps --bench)"
port_free "$PD_PORT" || die "port $PD_PORT is in use"
port_free "$SINK_PORT" || die "port $SINK_PORT is in use"

if [ -e "$ROOT" ]; then
  rm -rf "$ROOT"; sync; echo "removed the previous run's files: waiting 65 s for ext4 to reuse their inodes" >&2; sleep 65
fi
mkdir -p "$ROOT/Maildir"
OUT=$ROOT; : > "$OUT/bench.log"
"$POSTERND" --listen "127.0.0.1:$PD_PORT" --maildir "$ROOT/Maildir" --queue-dir "$ROOT/queue" \
  --control "$ROOT/control.sock" --hostname bench.local --domain bench.local --workers 2 \
  > "$ROOT/posternd.log" 2>&1 & PD=$!
/usr/sbin/smtp-sink -u nobody "127.0.0.1:$SINK_PORT" 1024 > /dev/null 2>&1 & SK=$!
trap 'kill $PD $SK 2>/dev/null' EXIT
wait_port "$PD_PORT" && wait_port "$SINK_PORT" || die "a server did not listen"

steal() { awk '/^cpu /{print $9}' /proc/stat; }
delivered() { find "$ROOT/Maildir" -type f -path '*/new/*' | wc -l; }
rep() { # port msgs -> "msgs/s steal_ticks"
  local s0 t0 t1 s1
  s0=$(steal); t0=$(date +%s.%N)
  smtp-source -4 -M bench.local -f sender@bench.local -t rcpt@bench.local -l "$SIZE" \
    -s "$SESSIONS" -m "$2" -d "127.0.0.1:$1" 2>> "$ROOT/smtp-source.err"
  t1=$(date +%s.%N); s1=$(steal)
  echo "$(echo "$2 / ($t1 - $t0)" | bc) $((s1 - s0))"
}
total=0
drain() { # wait (bounded) until n more files are in the Maildir
  total=$((total + $1))
  for _ in $(seq 1 1200); do [ "$(delivered)" -ge "$total" ] && break; sleep 0.1; done
  sleep 1
}

rep "$PD_PORT" 5000 > /dev/null; drain 5000; rep "$SINK_PORT" 5000 > /dev/null   # warm-up
clean=()
for i in $(seq 1 "$PAIRS"); do
  read -r a sa < <(rep "$PD_PORT" "$PD_MSGS"); drain "$PD_MSGS"
  read -r b sb < <(rep "$SINK_PORT" "$SINK_MSGS")
  ratio=$(echo "scale=3; $a / $b" | bc)
  mark=""
  if [ "$sa" -le "$STEAL_MAX" ] && [ "$sb" -le "$STEAL_MAX" ]; then mark=" (clean)"; clean+=("$ratio"); fi
  log "pair $i: posternd $a msgs/s (steal ${sa}) | smtp-sink $b msgs/s (steal ${sb}) | ratio $ratio$mark"
done
if [ ${#clean[@]} -gt 0 ]; then
  log "clean pairs: ${#clean[@]}; their ratios: ${clean[*]}; median $(printf '%s\n' "${clean[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')"
else
  log "no clean pair (every pair lost more than $STEAL_MAX ticks to the host on one side): run again later"
fi
