#!/bin/bash
# AUTH benchmark (issue 3): posternd next to Postfix with Cyrus SASL (sasldb),
# side by side in one run, both storing durably (posternd: Maildir, file and
# directory fsynced before 250; Postfix: fsynced queue file, then virtual(8)).
# Load: bench/tools/auth_load, SESSIONS concurrent sessions, each session:
# connect, EHLO, AUTH PLAIN <initial response>, MAIL, RCPT, DATA (4 KiB), QUIT;
# and during it one more connection sending NOOP every NOOP_MS ms (its round
# trip: p50/p99/max).  Target: posternd >= 2x Postfix (messages/s).
#
# usage: bench/run-auth.sh [POSTERND_PATH]     (as root; default build/bench/posternd)
# env:   DUR (10 s measured per run)  WARMUP (2 s)  REPS (3)  SESSIONS (20)  SIZE (4096)
#        NOOP_MS (10)  WORKERS (2, posternd's event loops)  REFS (1: also the same load
#        without AUTH, and AUTH alone at SESSIONS and at 1 session; 0: only the main test)
#        COLD (1: posternd is measured once more with auth_cache_ttl = 0, i.e. every
#        AUTH pays the full password hash, as a first login or a login after the TTL
#        does; Postfix is measured again next to it; 0: skip)
#        PERF (0; 1: perf record posternd during one extra AUTH+mail run, cache off
#        when COLD=1)
#        PD_PORT (10090)  PF_PORT_AUTH (10131)  PF_PORT_TLS (10132)
#        OUT (default $ANCHORS/results/auth-<UTC stamp>)  ROOT ANCHORS ANCHORS_SRC
# Runtime: (WARMUP+DUR) x REPS x 2 servers per test: ~1.5 min with REFS=0 COLD=0,
# ~6.5 min with the defaults, plus ~20 s of setup.  Only loopback traffic.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
REFS=${REFS:-1}; PERF=${PERF:-0}; COLD=${COLD:-1}
bench_setup auth "${1:-}"
log "DUR=$DUR WARMUP=$WARMUP REPS=$REPS SESSIONS=$SESSIONS SIZE=$SIZE NOOP_MS=${NOOP_MS:-10} REFS=$REFS"

start_dns
pf_start
pd_start --store maildir --users "$PD/users" --auth-plaintext
log "postfix on 127.0.0.1:$PF_PORT_AUTH (AUTH) and :$PF_PORT_TLS, posternd on 127.0.0.1:$PD_PORT (pid $PDPID)"

PD_AUTH=(--port "$PD_PORT" --user "$PD_USER" --pass "$PD_PASS" --size "$SIZE")
PF_AUTH=(--port "$PF_PORT_AUTH" --user "$PF_USER" --pass "$PF_PASS" --size "$SIZE")
check_sides "AUTH+mail" "${PD_AUTH[@]}" -- "${PF_AUTH[@]}"

for rep in $(seq 1 "$REPS"); do
  record_pair "AUTH PLAIN + 4 KiB msg" "$rep" "${PD_AUTH[@]}" -- "${PF_AUTH[@]}"
done
if [ "$REFS" = 1 ]; then
  for rep in $(seq 1 "$REPS"); do
    record_pair "msg, no AUTH (reference)" "$rep" --port "$PD_PORT" --size "$SIZE" -- --port "$PF_PORT_TLS" --size "$SIZE"
    record_pair "AUTH only (connect, EHLO, AUTH, QUIT)" "$rep" "${PD_AUTH[@]}" --mode auth -- "${PF_AUTH[@]}" --mode auth
    SESSIONS=1 record_pair "AUTH only, 1 session" "$rep" "${PD_AUTH[@]}" --mode auth -- "${PF_AUTH[@]}" --mode auth
  done
fi

if [ "$COLD" = 1 ]; then
  pd_stop
  printf '# bench/run-auth.sh: no cache of good password checks\nauth_cache_ttl = 0\n' > "$PD/cold.conf"
  pd_start --config "$PD/cold.conf" --store maildir --users "$PD/users" --auth-plaintext
  log "posternd restarted with auth_cache_ttl = 0 (pid $PDPID)"
  for rep in $(seq 1 "$REPS"); do
    record_pair "AUTH PLAIN + 4 KiB msg, posternd auth_cache_ttl = 0" "$rep" "${PD_AUTH[@]}" -- "${PF_AUTH[@]}"
  done
fi

# ---- posternd's cost per AUTH: its log (ms per exchange), and the hash itself
hash_cost() {
  "$PY" - "$PD/users" "$PD_PASS" <<'PYEOF'
import sys, time, warnings
warnings.simplefilter("ignore")
import crypt
line = open(sys.argv[1]).readline().rstrip("\n")
h = line.split(":")[1]
n, t0 = 0, time.perf_counter()
while n < 5 or time.perf_counter() - t0 < 2:
    assert crypt.crypt(sys.argv[2], h) == h
    n += 1
dt = (time.perf_counter() - t0) / n
print("one crypt(3) check of the users file's hash (%s...): %.1f ms of one core (%d checks, libcrypt through Python)" % (h[:7], dt * 1e3, n))
PYEOF
}
HASH=$(hash_cost 2>&1)
auth_ms() {  # log file -> summary of the ms= of its AUTH exchanges (queueing included)
  grep 'event=auth ' "$1" 2>/dev/null | grep -o ' ms=[0-9]*' | cut -d= -f2 | sort -n |
    awk '{v[NR]=$1} END {if (NR) printf "%d AUTH exchanges: ms from AUTH to its reply p50 %d, p90 %d, max %d", NR, v[int((NR-1)*0.5)+1], v[int((NR-1)*0.9)+1], v[NR]; else printf "no event=auth lines"}'
}
# the log holds the cached phase, then (after "event=stopped") the cache-off phase
csplit -s -f "$OUT/posternd.log." "$OUT/posternd.log" '/event=stopped/+1' 2>/dev/null || cp "$OUT/posternd.log" "$OUT/posternd.log.00"
AUTHMS="posternd (cache on): $(auth_ms "$OUT/posternd.log.00")"
[ "$COLD" = 1 ] && AUTHMS="$AUTHMS; posternd (auth_cache_ttl = 0): $(auth_ms "$OUT/posternd.log.01")"
log "$HASH"; log "$AUTHMS"

# ---- optional CPU profile of posternd during AUTH + mail
if [ "$PERF" = 1 ]; then
  if command -v perf >/dev/null; then
    perf record -F 999 -g -o "$OUT/perf.data" -p "$PDPID" -- sleep $((WARMUP + DUR)) > "$OUT/perf.log" 2>&1 &
    PERFPID=$!
    record posternd "profiled run (perf attached)" 1 "${PD_AUTH[@]}"; drain
    wait $PERFPID
    perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
      grep -v '^#' | grep '%' | head -25 > "$OUT/perf-top.txt"
    log "perf: $OUT/perf-top.txt"
  else
    log "PERF=1 but no perf command (Debian package linux-perf)"
  fi
fi

pd_stop; pf_stop
{
  echo "# AUTH benchmark $STAMP"
  echo
  "$BENCH/machine.sh" "$POSTERND"
  echo "- load: bench/tools/auth_load, $SESSIONS sessions, ${DUR} s measured after ${WARMUP} s warm-up, $REPS reps, ${SIZE}-octet body, NOOP every ${NOOP_MS:-10} ms on one more connection (reconnected every 50 NOOPs, not timed)"
  echo "- posternd: --store maildir --users (yescrypt by default) --auth-plaintext --workers ${WORKERS:-2}; Postfix $(postconf -d mail_version 2>/dev/null | sed 's/.*= //'): Cyrus SASL sasldb (auxprop, PLAIN), smtpd_recipient_restrictions = permit_sasl_authenticated, reject"
  echo
  "$PY" "$BENCH/summarize_load.py" "$TSV" 2.0
  echo
  echo "## posternd's cost per AUTH"
  echo
  echo "- $HASH"
  echo "- $AUTHMS"
  [ -s "$OUT/perf-top.txt" ] && { echo; echo "perf (posternd, self time by DSO and symbol, top 25):"; echo; echo '```'; cat "$OUT/perf-top.txt"; echo '```'; }
  echo
  errors_section
} > "$OUT/report.md"
cat "$OUT/report.md"
log "report: $OUT/report.md   raw: $TSV"
