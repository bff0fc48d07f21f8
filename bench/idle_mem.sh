#!/bin/bash
# Memory per idle SMTP connection (after EHLO): posternd (--store maildir and
# --store discard) next to smtp-sink and aiosmtpd, the same way as the anchors'
# tools/idle_mem.sh: RSS and PSS of the server's processes (sum of
# /proc/PID/smaps_rollup) just before and while N connections sit idle after EHLO;
# per connection = delta / (connections that got 220 and 250).  Prints a markdown
# table.  smtp-sink is measured with 250 connections: it serves at most 256 at once.
# usage: bench/idle_mem.sh POSTERND_PATH     env: N (1000), PORT (10080), WORKERS (2), ANCHORS_SRC
# Needs /opt/anchors set up (bench/run.sh does it) only for the aiosmtpd row.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
P=$(readlink -f "${1:?usage: $0 POSTERND_PATH}")
N=${N:-1000}; PORT=${PORT:-10080}; WORKERS=${WORKERS:-2}
ANCHORS_SRC=${ANCHORS_SRC:-/work/shared/bench/anchors}
PY=/usr/bin/python3
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
TMP=$(mktemp -d /tmp/posternd-idle.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
NODNS=(unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$ANCHORS_SRC/conf/resolv-loopback.conf")

memsum() {  # pids... -> "rss_kB pss_kB"
  local r=0 p=0 a b
  for pid in "$@"; do
    a=$(awk '/^Rss:/{print $2}' /proc/$pid/smaps_rollup 2>/dev/null); b=$(awk '/^Pss:/{print $2}' /proc/$pid/smaps_rollup 2>/dev/null)
    r=$((r+${a:-0})); p=$((p+${b:-0}))
  done; echo "$r $p"
}
wait_port() { for i in $(seq 1 100); do ss -ltnH "sport = :$1" | grep -q LISTEN && return 0; sleep 0.1; done; return 1; }
measure() {  # name port pid [connections (default N)]
  local name=$1 port=$2 pid=$3 n=${4:-$N} before with ready
  wait_port "$port" || { echo "| $name | - | server did not listen | | | | |"; return; }
  sleep 1; before=$(memsum "$pid")
  mkfifo "$TMP/f"; exec 3<> "$TMP/f"   # the client holds its connections until fd 3 closes
  # 3>&-: the client must not inherit the shell's write end of the fifo, or it
  # would never see EOF on its stdin and hold its connections forever
  $PY "$BENCH/idle_conns.py" "$port" "$n" 0 < "$TMP/f" 3>&- > "$TMP/ready" & local CP=$!
  for i in $(seq 1 600); do [ -s "$TMP/ready" ] && break; sleep 0.1; done
  sleep 1; with=$(memsum "$pid"); ready=$(cat "$TMP/ready")
  exec 3>&-; wait $CP; rm -f "$TMP/f" "$TMP/ready"
  local ok=${ready#*ok=}; ok=${ok%% *}
  set -- $before $with
  if [ "${ok:-0}" -gt 0 ]; then
    printf "| %s | %d | %d | %d | %d | %.1f | %.1f | %s |\n" "$name" "$ok" "$1" "$3" "$(($3-$1))" \
      "$(echo "($3-$1)/$ok" | bc -l)" "$(echo "($4-$2)/$ok" | bc -l)" "${ready#ready }"
  else
    echo "| $name | 0 | $1 | $3 | - | - | - | ${ready#ready } |"
  fi
}
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

echo "| server | idle conns (220+250) | RSS before kB | RSS with kB | RSS delta kB | RSS kB/conn | PSS kB/conn | client |"
echo "|---|---|---|---|---|---|---|---|"
for store in maildir discard; do
  mkdir -p "$TMP/md"
  "$P" --listen 127.0.0.1:$PORT --maildir "$TMP/md" --store $store --hostname bench.local \
    --domain bench.local --workers "$WORKERS" 2> "$TMP/posternd-$store.log" & SPID=$!
  measure "posternd --store $store" $PORT $SPID
  stop $SPID
  r=$(grep -c 'refused=' "$TMP/posternd-$store.log"); w=$(grep -c 'level=warn\|level=error' "$TMP/posternd-$store.log")
  [ "$r$w" = 00 ] || echo "posternd --store $store: $r refused, $w warn/error log lines: $(grep -m3 'refused=\|level=warn\|level=error' "$TMP/posternd-$store.log")" >&2
done
/usr/sbin/smtp-sink -u nobody 127.0.0.1:10025 2048 >/dev/null 2>&1 & SPID=$!
# smtp-sink serves at most 256 sessions at once (the rest get no greeting): 250
measure smtp-sink 10025 $SPID $((N < 250 ? N : 250)); stop $SPID
"${NODNS[@]}" $PY "$ANCHORS_SRC/servers/aiosmtpd_server.py" 10061 discard >/dev/null 2>&1 & SPID=$!
measure "aiosmtpd (discard)" 10061 $SPID; stop $SPID
