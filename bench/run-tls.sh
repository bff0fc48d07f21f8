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
# While posternd has no --tls-cert (TLS not built yet), only Postfix is measured.
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
POSTERND=$(readlink -f "${1:-$TOP/build/bench/posternd}")
[ -x "$POSTERND" ] || { echo "usage: $0 [POSTERND_PATH]  ($POSTERND: not an executable)" >&2; exit 2; }
need_root
DUR=${DUR:-10}; WARMUP=${WARMUP:-2}; REPS=${REPS:-3}; SESSIONS=${SESSIONS:-20}; SIZE=${SIZE:-4096}
RESUME=${RESUME:-1}; TLS_AUTH=${TLS_AUTH:-1}
PD_PORT=${PD_PORT:-10090}; PF_PORT_AUTH=${PF_PORT_AUTH:-10131}; PF_PORT_TLS=${PF_PORT_TLS:-10132}
PD_USER=bench; PF_USER=benchuser@bench.local; PF_PASS=benchpass; PD_PASS=benchpass
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$ANCHORS/results/tls-$STAMP}; mkdir -p "$OUT"
TSV=$OUT/runs.tsv; : > "$TSV"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
trap cleanup_all EXIT
trap 'exit 130' INT TERM

ensure_anchors
build_load
CERT=$ROOT/tls/cert.pem; KEY=$ROOT/tls/key.pem
"$TOP/scripts/make-cert" "$ROOT/tls" || die "scripts/make-cert failed"
TLSV=(); [ -n "${TLS_MAX:-}" ] && TLSV=(--tls-max "$TLS_MAX")

HAVE_PD=1
"$POSTERND" --help 2>&1 | grep -q -- '--tls-cert' || HAVE_PD=0
log "posternd: $POSTERND ($("$POSTERND" --version 2>&1))  out: $OUT"
[ $HAVE_PD = 1 ] || log "posternd has no --tls-cert: measuring Postfix only"
log "DUR=$DUR WARMUP=$WARMUP REPS=$REPS SESSIONS=$SESSIONS SIZE=$SIZE NOOP_MS=${NOOP_MS:-10} RESUME=$RESUME TLS_AUTH=$TLS_AUTH TLS_MAX=${TLS_MAX:-negotiated}"
rm -rf "$PD"; mkdir -p "$PD"

start_dns
pf_start
if [ $HAVE_PD = 1 ]; then
  echo "$PD_PASS" | "$(dirname "$POSTERND")/postern" passwd add "$PD_USER" --file "$PD/users" --stdin >> "$OUT/posternd.log" 2>&1 ||
    die "postern passwd add failed (see $OUT/posternd.log; postern is expected next to posternd)"
  pd_start --store maildir --tls-cert "$CERT" --tls-key "$KEY" --users "$PD/users"
  log "posternd on 127.0.0.1:$PD_PORT (pid $PDPID)"
fi
log "postfix (STARTTLS) on 127.0.0.1:$PF_PORT_TLS"

# a quick check of each side before measuring (one session each)
sides="postfix"; [ $HAVE_PD = 1 ] && sides="posternd postfix"
for side in $sides; do
  if [ $side = posternd ]; then p=$PD_PORT; u=$PD_USER; else p=$PF_PORT_TLS; u=$PF_USER; fi
  r=$("${NODNS[@]}" "$LOAD" --port "$p" --starttls --user "$u" --pass benchpass "${TLSV[@]}" \
      --sessions 1 --duration 0.5 --warmup 0 --noop-ms 0 2>&1)
  echo "$r" | grep -q ' errors=0' && echo "$r" | grep -q 'done=[1-9]' || die "$side: a single STARTTLS+AUTH+mail session fails: $r"
  drain
done

pair() {  # test rep args...   (the port and the user are added per side)
  local test=$1 rep=$2; shift 2
  local auth=0 a=()
  for x in "$@"; do [ "$x" = AUTH ] && auth=1 || a+=("$x"); done
  local pd=(--port "$PD_PORT" "${a[@]}" "${TLSV[@]}") pf=(--port "$PF_PORT_TLS" "${a[@]}" "${TLSV[@]}")
  [ $auth = 1 ] && { pd+=(--user "$PD_USER" --pass "$PD_PASS"); pf+=(--user "$PF_USER" --pass "$PF_PASS"); }
  if [ $HAVE_PD = 0 ]; then record postfix "$test" "$rep" "${pf[@]}"; drain; return; fi
  if [ $((rep % 2)) = 1 ]; then
    record posternd "$test" "$rep" "${pd[@]}"; drain
    record postfix "$test" "$rep" "${pf[@]}"; drain
  else
    record postfix "$test" "$rep" "${pf[@]}"; drain
    record posternd "$test" "$rep" "${pd[@]}"; drain
  fi
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
  [ $HAVE_PD = 1 ] || echo "- **posternd not measured**: $POSTERND has no --tls-cert"
  echo "- rate = sessions completed per second: handshakes/s for the handshake tests, messages/s for the others"
  echo
  "$PY" "$BENCH/summarize_load.py" "$TSV" 2.0
  echo
  echo "## Errors"
  echo
  grep '  error x' "$OUT/load.err" | sort | uniq -c | sort -rn | head -20 | sed 's/^/    /'
  if [ $HAVE_PD = 1 ]; then
    echo "posternd log: $(grep -c 'level=warn\|level=error' "$OUT/posternd.log") warn/error lines"
    grep 'level=warn\|level=error' "$OUT/posternd.log" | sed 's/^ts=[^ ]* //; s/sid=[^ ]* //' | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /'
  fi
  echo "postfix maillog: $(grep -c 'warning\|error\|fatal' "$PF/maillog" 2>/dev/null) warning/error lines"
  grep 'warning\|error\|fatal' "$PF/maillog" 2>/dev/null | sed 's/^[^ ]* [^ ]* //' | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /'
} > "$OUT/report.md"
cat "$OUT/report.md"
log "report: $OUT/report.md   raw: $TSV"
