#!/bin/bash
# TLS benchmark (issue 4): posternd next to Postfix with TLS, side by side in one
# run, same certificate (scripts/make-cert: RSA 2048, self-signed for localhost),
# both storing durably (posternd: Maildir; Postfix: fsynced queue, then virtual(8)).
# Load: bench/tools/auth_load, SESSIONS concurrent sessions (OpenSSL client, no
# certificate verification), plus one connection sending NOOP every NOOP_MS ms:
#   TLS handshake            connect, EHLO, STARTTLS, full handshake, EHLO, QUIT
#   TLS handshake, resumed   the same, each thread offering its previous session
#   4 KiB msg over STARTTLS  connect, EHLO, STARTTLS, full handshake, EHLO, MAIL,
#                            RCPT, DATA, QUIT: one message per session
#   STARTTLS + AUTH PLAIN + 4 KiB msg   the same with AUTH PLAIN after the
#                            handshake (posternd's verify cache on, its default)
# Target: posternd >= 2x Postfix (handshakes/s and messages/s).
#
# usage: bench/run-tls.sh [POSTERND_PATH]     (as root; default build/bench/posternd)
# env:   DUR (10)  WARMUP (2)  REPS (3)  SESSIONS (20)  SIZE (4096)  NOOP_MS (10)
#        WORKERS (2)  RESUME (1: run the resumed-handshake test)  TLS_AUTH (1: run the
#        STARTTLS + AUTH test)  TLS_MAX (unset: negotiate, i.e. TLS 1.3; 1.2 to cap)
#        PD_PORT (10090)  PF_PORT_AUTH (10131)  PF_PORT_TLS (10132)  OUT  ROOT  ANCHORS
# Runtime: (WARMUP+DUR) x REPS x 2 servers per test, 4 tests: ~5 min with the
# defaults, plus ~20 s of setup.  Only loopback traffic.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
RESUME=${RESUME:-1}; TLS_AUTH=${TLS_AUTH:-1}
bench_setup tls "${1:-}"
TLSV=(); [ -n "${TLS_MAX:-}" ] && TLSV=(--tls-max "$TLS_MAX")
log "DUR=$DUR WARMUP=$WARMUP REPS=$REPS SESSIONS=$SESSIONS SIZE=$SIZE NOOP_MS=${NOOP_MS:-10} RESUME=$RESUME TLS_AUTH=$TLS_AUTH TLS_MAX=${TLS_MAX:-negotiated}"

start_dns
pf_start
pd_start --store maildir --tls-cert "$CERT" --tls-key "$KEY" --users "$PD/users"
log "posternd on 127.0.0.1:$PD_PORT (pid $PDPID), postfix (STARTTLS) on 127.0.0.1:$PF_PORT_TLS"

check_sides "STARTTLS+AUTH+mail" --port "$PD_PORT" --starttls --user "$PD_USER" --pass "$PD_PASS" "${TLSV[@]}" \
  -- --port "$PF_PORT_TLS" --starttls --user "$PF_USER" --pass "$PF_PASS" "${TLSV[@]}"

pair() {  # test rep args...   (the port and, with AUTH, the user are added per side)
  local test=$1 rep=$2; shift 2
  local auth=0 a=()
  for x in "$@"; do [ "$x" = AUTH ] && auth=1 || a+=("$x"); done
  local pd=(--port "$PD_PORT" "${a[@]}" "${TLSV[@]}") pf=(--port "$PF_PORT_TLS" "${a[@]}" "${TLSV[@]}")
  [ $auth = 1 ] && { pd+=(--user "$PD_USER" --pass "$PD_PASS"); pf+=(--user "$PF_USER" --pass "$PF_PASS"); }
  record_pair "$test" "$rep" "${pd[@]}" -- "${pf[@]}"
}

for rep in $(seq 1 "$REPS"); do
  pair "TLS handshake (full)" "$rep" --mode handshake
  [ "$RESUME" = 1 ] && pair "TLS handshake, resumed" "$rep" --mode handshake --resume
  pair "4 KiB msg over STARTTLS" "$rep" --starttls --size "$SIZE"
  [ "$TLS_AUTH" = 1 ] && pair "STARTTLS + AUTH PLAIN + 4 KiB msg" "$rep" --starttls --size "$SIZE" AUTH
done

pd_stop; pf_stop
{
  echo "# TLS benchmark $STAMP"
  echo
  "$BENCH/machine.sh" "$POSTERND"
  echo "- load: bench/tools/auth_load, $SESSIONS sessions, ${DUR} s measured after ${WARMUP} s warm-up, $REPS reps, ${SIZE}-octet body, NOOP every ${NOOP_MS:-10} ms on one more (plain) connection; OpenSSL $(openssl version | awk '{print $2}') client, no certificate verification, TLS ${TLS_MAX:-negotiated}"
  echo "- certificate: scripts/make-cert (RSA 2048, self-signed), the same file for both servers"
  echo "- posternd: --store maildir --tls-cert --tls-key --users --workers ${WORKERS:-2}; Postfix $(postconf -d mail_version 2>/dev/null | sed 's/.*= //'): smtpd_tls_security_level = may, tlsmgr (session tickets), Cyrus SASL sasldb"
  echo "- rate = sessions completed per second: handshakes/s for the handshake tests, messages/s for the others"
  echo
  "$PY" "$BENCH/summarize_load.py" "$TSV" 2.0
  echo
  errors_section
} > "$OUT/report.md"
cat "$OUT/report.md"
log "report: $OUT/report.md   raw: $TSV"
