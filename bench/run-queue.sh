#!/bin/bash
# The queue's benchmarks (issue 11), posternd next to Postfix in one run:
#
#   maildir  sustained end to end: SESSIONS sessions of SIZE-octet messages,
#            many per connection (smtp-source -d), for LOAD_S seconds, into
#            posternd (queue -> Maildir) and into Postfix (queue -> virtual(8)
#            Maildir, as the anchors configure it). Figures: accepted/s, files
#            in the Maildir at the end of the window (delivered/s), the time
#            until the backlog is delivered, and posternd's delay from 250 to
#            the Maildir file (p50/p99: its `queued` and `delivered` log lines,
#            matched by queue id). Target: delivered/s >= 3x Postfix's.
#   lmtp     the same LMTP_MSGS messages (20,000) for each server, SESSIONS
#            sessions, many per connection (smtp-source -m LMTP_MSGS -d), both
#            delivering over LMTP to a Dovecot the script starts afresh for each
#            server (own config, loopback, empty mailbox and index): posternd
#            store = lmtp, Postfix virtual_transport = lmtp:inet:127.0.0.1:DV_PORT
#            (its lmtp(8), default concurrency). Headline: delivered/s end to
#            end = LMTP_MSGS / (time from the start of the load until the last
#            message is a file in Dovecot's Maildir). Target: >= 2x Postfix's.
#   memory   posternd alone, store = lmtp to a port nobody listens on, so every
#            delivery defers and the queue only grows: MEM_MSGS messages in
#            chunks of MEM_STEP; posternd's RSS and PSS after each chunk.
#            Target: flat within 20 %. Then a restart on that queue: the time
#            until posternd listens and its peak RSS (VmHWM) while recovery
#            reads the queue back.
#
# It asserts nothing. Postfix's own delay= (from its arrival to its delivery)
# is shown next to posternd's; the rates are the figures that matter.
#
# usage: bench/run-queue.sh [POSTERND_PATH]   (as root; default build/release/posternd,
#        built with meson setup build/release --buildtype=release && ninja -C build/release)
# env:   PARTS ("maildir lmtp memory")  LOAD_S (60: maildir)  LMTP_MSGS (20000)  SESSIONS (20)  SIZE (4096)
#        DRAIN_MAX (600 s: how long to wait for a backlog)  MEM_MSGS (100000)
#        MEM_STEP (10000)  MEM_WARM (200: the first step)  ORDER ("posternd postfix": which server goes first)  WORKERS (2)  PD_PORT (10097)  PF_PORT_AUTH (10141)
#        PF_PORT_TLS (10142: Postfix's plain-mail listener here)  DV_PORT (10124)
#        DEAD_PORT (10129)  DV_CONF_EXTRA (more dovecot.conf lines, e.g.
#        "maildir_very_dirty_syncs = yes")  OUT (default $ANCHORS/results/queue-<UTC stamp>)
#        ROOT ($ANCHORS/run/postern-qbench)  RESULTS_MD=FILE (append the report)
#        PD_LMTP_FLAGS (more posternd flags for the lmtp part, e.g. --config FILE)
# Runtime: per part and server LOAD_S plus the drain; about 8-12 min in all.
set -u
export ROOT=${ROOT:-${ANCHORS:-/opt/anchors}/run/postern-qbench}
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
PD_PORT=${PD_PORT:-10097}; PF_PORT_AUTH=${PF_PORT_AUTH:-10141}; PF_PORT_TLS=${PF_PORT_TLS:-10142}
DV_PORT=${DV_PORT:-10124}; DEAD_PORT=${DEAD_PORT:-10129}
PARTS=${PARTS:-"maildir lmtp memory"}; LOAD_S=${LOAD_S:-60}; DRAIN_MAX=${DRAIN_MAX:-600}
LMTP_MSGS=${LMTP_MSGS:-20000}
MEM_MSGS=${MEM_MSGS:-100000}; MEM_STEP=${MEM_STEP:-10000}; MEM_WARM=${MEM_WARM:-200}; ORDER=${ORDER:-"posternd postfix"}
bench_setup queue "${1:-$TOP/build/release/posternd}"
PQ=$OUT/queue.tsv; : > "$PQ"
SRC=/usr/sbin/smtp-source
DV=$ROOT/dovecot; DVPID=""
trap 'dv_stop; cleanup_all; [ -z "$CG" ] || rmdir "$CG"/* "$CG" 2>/dev/null' EXIT
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }
nfiles() { local n=0 d; for d in "$@"; do n=$((n + $(ls -U "$d" 2>/dev/null | wc -l))); done; echo $n; }

# ---- Dovecot LMTP, as tests/interop/test_lmtp.py starts it ----
dv_start() {
  port_free "$DV_PORT" || die "port $DV_PORT is in use"
  rm -rf "$DV"; mkdir -p "$DV/mail"; chmod 755 "$DV"; chown nobody:nogroup "$DV/mail"
  echo "rcpt:{PLAIN}unused:$(id -u nobody):$(id -g nobody)::$DV/home/rcpt::" > "$DV/users"
  cat > "$DV/dovecot.conf" <<EOF
base_dir = $DV/run
state_dir = $DV/state
log_path = $DV/dovecot.log
protocols = lmtp
ssl = no
listen = 127.0.0.1
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:$DV/mail/%n
auth_username_format = %n
postmaster_address = postmaster@bench.local
passdb {
  driver = passwd-file
  args = $DV/users
}
userdb {
  driver = passwd-file
  args = $DV/users
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DV_PORT
  }
}
${DV_CONF_EXTRA:-}
EOF
  (cg_join dovecot $BASHPID; exec dovecot -F -c "$DV/dovecot.conf") >> "$OUT/dovecot.out" 2>&1 & DVPID=$!
  wait_port "$DV_PORT" || die "dovecot did not listen (see $OUT/dovecot.out, $DV/dovecot.log)"
}
dv_stop() {
  [ -n "$DVPID" ] || return 0
  kill "$DVPID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$DVPID" 2>/dev/null || break; sleep 0.1; done
  DVPID=""
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg | tr ' ' /; }
# CPU time per role (Dovecot, the mail server, smtp-source), from cgroup v1
# cpuacct groups when the machine has them (else the figures are blank)
CG=/sys/fs/cgroup/cpuacct/postern-qbench
mkdir -p "$CG/dovecot" "$CG/mta" "$CG/load" 2>/dev/null || CG=""
cg_join() { local role=$1 p; shift; [ -z "$CG" ] || for p in "$@"; do echo "$p" > "$CG/$role/cgroup.procs"; done 2>/dev/null; }
cg_ns() { [ -n "$CG" ] && cat "$CG/$1/cpuacct.usage" || echo 0; }

# ---- one side: load it LOAD_S s, sample its mailbox, wait for the backlog ----
# $1 part, $2 server, $3 port, then the mailbox directories whose files count
run_side() {
  local part=$1 server=$2 port=$3; shift 3
  local dirs=("$@") t0 lpid next=10 d_end t_end drained="" acc q
  local samples=$OUT/$part-$server.samples; : > "$samples"
  log "$part $server: ${LOAD_S} s of smtp-source -s $SESSIONS -l $SIZE -d"
  t0=$(now)
  timeout "$LOAD_S" "${NODNS[@]}" $SRC -4 -M bench.local -f sender@bench.local -t rcpt@bench.local \
    -l "$SIZE" -s "$SESSIONS" -m 100000000 -d "127.0.0.1:$port" >> "$OUT/smtp-source-$part-$server.err" 2>&1 & lpid=$!
  while kill -0 "$lpid" 2>/dev/null; do
    sleep 1
    if [ "$(echo "$(elapsed "$t0") >= $next" | bc)" = 1 ]; then
      echo "$next $(nfiles "${dirs[@]}")" >> "$samples"; next=$((next + 10))
    fi
  done
  wait "$lpid"
  d_end=$(nfiles "${dirs[@]}"); t_end=$(now)
  echo "end $d_end" >> "$samples"
  # the backlog: posternd is done when every queued message is delivered or
  # failed; Postfix when its queue directories are empty
  for _ in $(seq 1 $((DRAIN_MAX * 2))); do
    if [ "$server" = postfix ]; then [ "$(pf_queued)" -eq 0 ] && { drained=$(elapsed "$t_end"); break; }
    else
      q=$(grep -c 'event=queued' "$OUT/posternd.log")
      [ "$(grep -c 'event=delivered\|event=failed' "$OUT/posternd.log")" -ge "$q" ] && { drained=$(elapsed "$t_end"); break; }
    fi
    sleep 0.5
  done
  acc=$(nfiles "${dirs[@]}")
  [ "$server" = postfix ] && acc=$((acc + $(pf_queued)))
  [ "$server" = posternd ] && acc=$(grep -c 'event=queued' "$OUT/posternd.log")
  printf '%s\t%s\twindow_s=%s accepted=%s delivered_in_window=%s drain_s=%s delivered_total=%s first10=%s\n' \
    "$part" "$server" "$(echo "$t_end - $t0" | bc)" "$acc" "$d_end" "${drained:-timeout}" "$(nfiles "${dirs[@]}")" \
    "$(awk '$1 == 10 {print $2}' "$samples")" >> "$PQ"
  log "$part $server: accepted=$acc in window: delivered=$d_end; drained after ${drained:-more than $DRAIN_MAX} s"
}

# ---- maildir: LOAD_S s of load, delivered in the window and the backlog ----
pd_side() {  # part, posternd flags...
  local part=$1; shift
  rm -rf "$PD/queue" "$PD/Maildir"; : > "$OUT/posternd.log"
  pd_start --queue-dir "$PD/queue" --control "$PD/control.sock" "$@"
  run_side "$part" posternd "$PD_PORT" "$PD/Maildir/bench.local/rcpt/new"
  pd_stop
  mv "$OUT/posternd.log" "$OUT/posternd-$part.log"
  "$PY" "$BENCH/queue_figures.py" posternd "$OUT/posternd-$part.log" | sed "s/^/$part\tposternd-log\t/" >> "$PQ"
}

# ---- lmtp: the same LMTP_MSGS messages, timed until the last is in the Maildir ----
# $1 server, $2 port, then the mailbox directories whose files count
run_count() {
  local server=$1 port=$2; shift 2
  local dirs=("$@") t0 lpid next=10 n el load_s="" d_load="" last_s="" la0 la1 i=0 r cpu0=() cpu=""
  local samples=$OUT/lmtp-$server.samples; : > "$samples"
  la0=$(loadavg)
  log "lmtp $server: $LMTP_MSGS messages, smtp-source -s $SESSIONS -l $SIZE -d (load average $la0)"
  sync  # the last side's removed mailbox and queue are written back now, not during this one
  for r in dovecot mta load; do cpu0+=("$(cg_ns $r)"); done
  t0=${EPOCHREALTIME/./}  # µs, without a fork in the loop below
  (cg_join load $BASHPID; exec "${NODNS[@]}" $SRC -4 -M bench.local -f sender@bench.local -t rcpt@bench.local \
    -l "$SIZE" -s "$SESSIONS" -m "$LMTP_MSGS" -d "127.0.0.1:$port") >> "$OUT/smtp-source-lmtp-$server.err" 2>&1 & lpid=$!
  # until the last message is a file in the Maildir (or DRAIN_MAX s after the
  # load, or the server has nothing left to deliver: then it lost some)
  while :; do
    sleep 0.2
    n=$(nfiles "${dirs[@]}"); el=$(( ${EPOCHREALTIME/./} - t0 ))
    if [ "$el" -ge $((next * 1000000)) ]; then echo "$next $n" >> "$samples"; next=$((next + 10)); fi
    if [ -z "$load_s" ] && ! kill -0 "$lpid" 2>/dev/null; then
      load_s=$(printf '%d.%06d' $((el / 1000000)) $((el % 1000000))); d_load=$n; wait "$lpid"
      echo "load_end $load_s $n" >> "$samples"
    fi
    [ "$n" -ge "$LMTP_MSGS" ] && { last_s=$(printf '%d.%06d' $((el / 1000000)) $((el % 1000000))); break; }
    # (every 5 s: the poll itself takes CPU from the servers)
    if [ -n "$load_s" ] && [ $((i += 1)) -ge 25 ]; then
      i=0
      [ "$el" -gt $(( ${load_s%.*} * 1000000 + DRAIN_MAX * 1000000 )) ] && break
      if [ "$server" = postfix ]; then [ "$(pf_queued)" -eq 0 ] && [ "$(nfiles "${dirs[@]}")" -lt "$LMTP_MSGS" ] && break
      elif [ "$(grep -c 'event=delivered\|event=failed' "$OUT/posternd.log")" -ge "$(grep -c 'event=queued' "$OUT/posternd.log")" ] &&
           [ "$(nfiles "${dirs[@]}")" -lt "$LMTP_MSGS" ]; then break; fi
    fi
  done
  la1=$(loadavg); i=0
  for r in dovecot mta load; do [ -z "$CG" ] || cpu+=" cpu_${r}_s=$(echo "scale=2; ($(cg_ns $r) - ${cpu0[$i]}) / 10^9" | bc)"; i=$((i + 1)); done
  printf 'lmtp\t%s\tmsgs=%s load_s=%s delivered_at_load_end=%s last_s=%s delivered_total=%s first10=%s loadavg_start=%s loadavg_end=%s%s\n' \
    "$server" "$LMTP_MSGS" "$load_s" "$d_load" "${last_s:-timeout}" "$(nfiles "${dirs[@]}")" \
    "$(awk '$1 == 10 {print $2}' "$samples")" "$la0" "$la1" "$cpu" >> "$PQ"
  log "lmtp $server: load ${load_s} s, last message in the Maildir after ${last_s:-(not all: $(nfiles "${dirs[@]}"))} s (load average $la1)"
}

# a fresh Dovecot (mailbox, index and uidlist) for each server
lmtp_side() {  # server
  local server=$1
  dv_start
  if [ "$server" = postfix ]; then
    PF_MAIN_EXTRA="virtual_transport = lmtp:inet:127.0.0.1:$DV_PORT"; pf_start
    local master; master=$(awk '{print $1}' "$PF/spool/pid/master.pid")
    cg_join mta "$master" $(pgrep -P "$master")  # its later children follow it
    run_count postfix "$PF_PORT_TLS" "$DV/mail/rcpt/new" "$DV/mail/rcpt/cur"
    pf_stop
    cp "$PF/maillog" "$OUT/postfix-lmtp.maillog" 2>/dev/null
    "$PY" "$BENCH/queue_figures.py" postfix "$OUT/postfix-lmtp.maillog" | sed "s/^/lmtp\tpostfix-log\t/" >> "$PQ"
  else
    rm -rf "$PD/queue" "$PD/Maildir"; : > "$OUT/posternd.log"
    pd_start --queue-dir "$PD/queue" --control "$PD/control.sock" --store lmtp --lmtp "127.0.0.1:$DV_PORT" ${PD_LMTP_FLAGS:-}
    cg_join mta "$PDPID"
    run_count posternd "$PD_PORT" "$DV/mail/rcpt/new" "$DV/mail/rcpt/cur"
    pd_stop
    mv "$OUT/posternd.log" "$OUT/posternd-lmtp.log"
    "$PY" "$BENCH/queue_figures.py" posternd "$OUT/posternd-lmtp.log" | sed "s/^/lmtp\tposternd-log\t/" >> "$PQ"
  fi
  cp "$DV/dovecot.log" "$OUT/dovecot-$server.log" 2>/dev/null
  dv_stop
}

pf_side() {  # part
  local part=$1
  PF_MAIN_EXTRA=""; pf_start
  run_side "$part" postfix "$PF_PORT_TLS" "$PF/mail/bench/new"
  pf_stop
  cp "$PF/maillog" "$OUT/postfix-$part.maillog" 2>/dev/null
  "$PY" "$BENCH/queue_figures.py" postfix "$OUT/postfix-$part.maillog" | sed "s/^/$part\tpostfix-log\t/" >> "$PQ"
  rm -rf "$PF/mail/bench"
}

# ---- memory: the queue grows, nothing is delivered ----
mem_part() {
  port_free "$DEAD_PORT" || die "port $DEAD_PORT is in use (it must have no listener)"
  rm -rf "$PD/queue" "$PD/Maildir"; : > "$OUT/posternd.log"
  pd_start --queue-dir "$PD/queue" --control "$PD/control.sock" --store lmtp --lmtp "127.0.0.1:$DEAD_PORT"
  local sent=0 t0 secs rc q
  mem_sample() {
    q=$(grep -c 'event=queued' "$OUT/posternd.log")
    printf 'memory\tsample\tsent=%s queued=%s deferred_lines=%s rss_kb=%s pss_kb=%s queue_kb=%s secs=%s rc=%s\n' "$sent" "$q" \
      "$(grep -c 'event=deferred' "$OUT/posternd.log")" "$(awk '/^VmRSS/{print $2}' /proc/$PDPID/status)" \
      "$(awk '/^Pss:/{print $2}' /proc/$PDPID/smaps_rollup)" "$(du -sk "$PD/queue" | cut -f1)" "${secs:-0}" "${rc:-0}" >> "$PQ"
    log "memory: queued=$q rss=$(awk '/^VmRSS/{print $2}' /proc/$PDPID/status) kB"
  }
  mem_sample
  # a warm-up step first: the sessions' buffers and the pool threads' heaps
  # are there from the first messages on; what follows is the queue's own
  local step=$MEM_WARM
  while [ "$sent" -lt "$MEM_MSGS" ]; do
    t0=$(now)
    "${NODNS[@]}" $SRC -4 -M bench.local -f sender@bench.local -t rcpt@bench.local \
      -l "$SIZE" -s "$SESSIONS" -m "$step" -d "127.0.0.1:$PD_PORT" >> "$OUT/smtp-source-memory.err" 2>&1; rc=$?
    secs=$(elapsed "$t0"); sent=$((sent + step))
    mem_sample
    step=$MEM_STEP; [ $((sent + step)) -gt "$MEM_MSGS" ] && step=$((MEM_MSGS - sent))
  done
  pd_stop
  mv "$OUT/posternd.log" "$OUT/posternd-memory.log"
  # a restart on that queue: recovery reads every message back
  t0=$(now)
  pd_start --queue-dir "$PD/queue" --control "$PD/control.sock" --store lmtp --lmtp "127.0.0.1:$DEAD_PORT"
  for _ in $(seq 1 6000); do grep -q 'event=listening' "$OUT/posternd.log" && break; sleep 0.01; done
  secs=$(elapsed "$t0")
  printf 'memory\trestart\tsecs=%s peak_rss_kb=%s rss_kb=%s %s\n' "$secs" \
    "$(awk '/^VmHWM/{print $2}' /proc/$PDPID/status)" "$(awk '/^VmRSS/{print $2}' /proc/$PDPID/status)" \
    "$(grep -o 'messages=[0-9]* segments=[0-9]* peak_in_memory=[0-9]*' "$OUT/posternd.log" | head -1)" >> "$PQ"
  pd_stop
  mv "$OUT/posternd.log" "$OUT/posternd-restart.log"
}

log "PARTS=$PARTS ORDER=$ORDER LOAD_S=$LOAD_S SESSIONS=$SESSIONS SIZE=$SIZE MEM_MSGS=$MEM_MSGS"
start_dns
for part in $PARTS; do
  case $part in
    maildir) for side in $ORDER; do
               if [ "$side" = postfix ]; then pf_side maildir; else pd_side maildir --store maildir; fi
             done ;;
    lmtp) for side in $ORDER; do lmtp_side "$side"; done ;;
    memory) mem_part ;;
    *) die "unknown part $part (maildir, lmtp, memory)" ;;
  esac
done

{
  echo "# Queue benchmark $STAMP"
  echo
  "$BENCH/machine.sh" "$POSTERND"
  echo "- Dovecot $(dovecot --version 2>/dev/null)${DV_CONF_EXTRA:+ with: $DV_CONF_EXTRA}; load: smtp-source -s $SESSIONS -l $SIZE -d (maildir: for $LOAD_S s per server; lmtp: $LMTP_MSGS messages per server); posternd --workers ${WORKERS:-2}, queue and mailboxes under $ROOT"
  echo
  "$PY" "$BENCH/queue_figures.py" report "$PQ"
  echo
  echo "smtp-source errors: $(cat "$OUT"/smtp-source-*.err 2>/dev/null | grep -v 'Terminated' | sort | uniq -c | sort -rn | head -5 | tr '\n' ';')"
} > "$OUT/report.md"
cat "$OUT/report.md"
[ -n "${RESULTS_MD:-}" ] && cat "$OUT/report.md" >> "$RESULTS_MD"
log "report: $OUT/report.md   raw: $PQ"
