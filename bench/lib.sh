# Shared by bench/run-auth.sh and bench/run-tls.sh (sourced, not run): start and
# stop a Postfix instance of our own (bench/conf/postfix) and posternd, on
# loopback, each in a mount namespace whose /etc/resolv.conf points at the
# anchors' loopback DNS stub; run the load generator; record its result lines.
# Everything runtime lives under $ROOT (default $ANCHORS/run/postern-bench).
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH/.." && pwd)
ANCHORS_SRC=${ANCHORS_SRC:-/work/shared/bench/anchors}
export ANCHORS=${ANCHORS:-/opt/anchors}
ROOT=${ROOT:-$ANCHORS/run/postern-bench}
PY=/usr/bin/python3
NODNS=(unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$ANCHORS_SRC/conf/resolv-loopback.conf")
DNSPID=""; PDPID=""; PF_UP=0

log() { echo "[$(date -u +%T)] $*" | tee -a "$OUT/bench.log" >&2; }
die() { echo "$0: $*" >&2; exit 1; }
wait_port() { for _ in $(seq 1 100); do ss -ltnH "sport = :$1" | grep -q LISTEN && return 0; sleep 0.1; done; return 1; }
port_free() { ! ss -ltnH "sport = :$1" | grep -q LISTEN; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (Postfix and the mount namespace need it)"; }

# The anchors' one-time setup provides postfix, saslpasswd2, the benchmail user
# and the DNS stub; run it (it writes only under $ANCHORS) if something is missing.
ensure_anchors() {
  if ! command -v postfix >/dev/null || ! command -v saslpasswd2 >/dev/null ||
     ! id benchmail >/dev/null 2>&1 || ! ls /usr/lib/*/sasl2/libsasldb.so >/dev/null 2>&1; then
    log "postfix/sasl2-bin/libsasl2-modules/benchmail missing: running $ANCHORS_SRC/setup.sh"
    "$ANCHORS_SRC/setup.sh" >> "$OUT/setup.log" 2>&1 || die "setup.sh failed (see $OUT/setup.log)"
  fi
}

# the load generator, built into $OUT/bin
build_load() {
  LOAD=$("$BENCH/tools/build.sh" "$OUT/bin") || die "cannot build bench/tools/auth_load.c (cc, libssl-dev)"
}

start_dns() {
  # the anchors' stub answers NXDOMAIN at once; if 127.0.0.153:53 is taken
  # (an anchors run in progress) that one serves as well
  "$PY" "$ANCHORS_SRC/tools/fake_dns.py" 127.0.0.153 > "$OUT/fake_dns.log" 2>&1 & DNSPID=$!
}

# ---- Postfix: our own instance, ports $PF_PORT_AUTH and $PF_PORT_TLS ----
PF=$ROOT/postfix
pf_subst() {
  sed -e "s#@ROOT@#$PF#g" -e "s#@UID@#$(id -u benchmail)#g" -e "s#@GID@#$(id -g benchmail)#g" \
      -e "s#@CERT@#$CERT#g" -e "s#@KEY@#$KEY#g" \
      -e "s#@PORT_AUTH@#$PF_PORT_AUTH#g" -e "s#@PORT_TLS@#$PF_PORT_TLS#g" "$1" > "$2"
}
pf_start() {
  port_free "$PF_PORT_AUTH" && port_free "$PF_PORT_TLS" || die "port $PF_PORT_AUTH or $PF_PORT_TLS is in use"
  rm -rf "$PF"; mkdir -p "$PF/etc/sasl" "$PF/spool" "$PF/data" "$PF/mail"
  pf_subst "$BENCH/conf/postfix/main.cf.in" "$PF/etc/main.cf"
  # PF_MAIN_EXTRA: more main.cf lines (run-queue.sh: virtual_transport = lmtp:...)
  [ -z "${PF_MAIN_EXTRA:-}" ] || printf '%s\n' "$PF_MAIN_EXTRA" >> "$PF/etc/main.cf"
  pf_subst "$BENCH/conf/postfix/master.cf.in" "$PF/etc/master.cf"
  pf_subst "$BENCH/conf/postfix/sasl-smtpd.conf.in" "$PF/etc/sasl/smtpd.conf"
  echo "$PF_PASS" | saslpasswd2 -c -p -f "$PF/etc/sasldb2" -u bench.local "${PF_USER%@*}"
  chown root:postfix "$PF/etc/sasldb2"; chmod 640 "$PF/etc/sasldb2"
  chown postfix "$PF/data"; chown benchmail:benchmail "$PF/mail"
  postfix -c "$PF/etc" check >> "$OUT/postfix.log" 2>&1
  "${NODNS[@]}" postfix -c "$PF/etc" start >> "$OUT/postfix.log" 2>&1
  PF_UP=1
  wait_port "$PF_PORT_AUTH" && wait_port "$PF_PORT_TLS" ||
    die "postfix did not listen (see $OUT/postfix.log and $PF/maillog; errors of 'postfix start' show only with a tty: script -qc 'postfix -c $PF/etc start' /dev/null)"
}
pf_stop() {
  [ "$PF_UP" = 1 ] || return 0
  local pid; pid=$(awk '{print $1}' "$PF/spool/pid/master.pid" 2>/dev/null)
  postfix -c "$PF/etc" stop >> "$OUT/postfix.log" 2>&1
  for _ in $(seq 1 100); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  PF_UP=0
}
pf_queued() { find "$PF/spool/incoming" "$PF/spool/active" "$PF/spool/deferred" "$PF/spool/maildrop" -type f 2>/dev/null | wc -l; }
# wait (at most DRAIN_MAX s) until Postfix has delivered its queue, then empty
# the Maildirs, so that no backlog is carried into the next measurement
drain() {
  for _ in $(seq 1 $((${DRAIN_MAX:-60} * 10))); do [ "$(pf_queued)" -eq 0 ] && break; sleep 0.1; done
  find "$PF/mail" "$PD/Maildir" -type f \( -path '*/new/*' -o -path '*/cur/*' -o -path '*/tmp/*' \) -delete 2>/dev/null
  sync
}

# ---- posternd ----
PD=$ROOT/posternd
pd_start() {  # extra flags...
  port_free "$PD_PORT" || die "port $PD_PORT is in use"
  mkdir -p "$PD/Maildir"
  # its own queue and control socket, never the system's /var/spool/postern
  "${NODNS[@]}" "$POSTERND" --listen "127.0.0.1:$PD_PORT" --maildir "$PD/Maildir" \
    --queue-dir "$PD/queue" --control "$PD/control.sock" \
    --hostname bench.local --domain bench.local --workers "${WORKERS:-2}" "$@" >> "$OUT/posternd.log" 2>&1 &
  PDPID=$!
  wait_port "$PD_PORT" || die "posternd did not listen (see $OUT/posternd.log)"
  # (unshare and sh exec in place: $PDPID is posternd itself)
}
pd_stop() {
  [ -n "$PDPID" ] || return 0
  kill "$PDPID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$PDPID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$PDPID" 2>/dev/null; wait "$PDPID" 2>/dev/null
  PDPID=""
}

cleanup_all() {
  pd_stop; pf_stop
  [ -n "$DNSPID" ] && kill "$DNSPID" 2>/dev/null
  DNSPID=""
}

# run the load generator once and append its result to $TSV:
#   record SERVER TEST REP auth_load-args...
record() {
  local server=$1 test=$2 rep=$3; shift 3
  local line
  line=$("${NODNS[@]}" "$LOAD" --duration "${DUR:-10}" --warmup "${WARMUP:-2}" --sessions "${SESSIONS:-20}" \
         --noop-ms "${NOOP_MS:-10}" "$@" 2>> "$OUT/load.err" | grep '^result ')
  echo "== $server $test rep $rep: ${line:-no result}" >> "$OUT/load.err"
  [ -n "$line" ] || line="result rate=FAIL"
  printf '%s\t%s\t%s\t%s\n' "$server" "$test" "$rep" "${line#result }" >> "$TSV"
  log "$server $test rep=$rep: $(echo "$line" | grep -o 'rate=[^ ]*\|errors=[^ ]*\|noop_p99_ms=[^ ]*' | tr '\n' ' ')"
}

# The common start of run-auth.sh and run-tls.sh. $1: the benchmark's name
# (its output folder is $ANCHORS/results/NAME-<stamp> unless OUT is set);
# $2: POSTERND_PATH, or empty for build/bench/posternd. Sets the defaults,
# the ports and users, OUT and TSV, the traps; sets up the anchors, the load
# generator, a certificate ($CERT, $KEY) and posternd's users file ($PD/users).
bench_setup() {
  POSTERND=$(readlink -f "${2:-$TOP/build/bench/posternd}")
  [ -x "$POSTERND" ] || { echo "usage: $0 [POSTERND_PATH]  ($POSTERND: not an executable)" >&2; exit 2; }
  need_root
  DUR=${DUR:-10}; WARMUP=${WARMUP:-2}; REPS=${REPS:-3}; SESSIONS=${SESSIONS:-20}; SIZE=${SIZE:-4096}
  PD_PORT=${PD_PORT:-10090}; PF_PORT_AUTH=${PF_PORT_AUTH:-10131}; PF_PORT_TLS=${PF_PORT_TLS:-10132}
  PD_USER=bench; PF_USER=benchuser@bench.local; PF_PASS=benchpass; PD_PASS=benchpass
  STAMP=$(date -u +%Y%m%dT%H%M%SZ)
  OUT=${OUT:-$ANCHORS/results/$1-$STAMP}; mkdir -p "$OUT"
  TSV=$OUT/runs.tsv; : > "$TSV"
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  trap cleanup_all EXIT
  trap 'exit 130' INT TERM

  ensure_anchors
  build_load
  CERT=$ROOT/tls/cert.pem; KEY=$ROOT/tls/key.pem
  "$TOP/scripts/make-cert" "$ROOT/tls" || die "scripts/make-cert failed"
  log "posternd: $POSTERND ($("$POSTERND" --version 2>&1))  out: $OUT"
  rm -rf "$PD"; mkdir -p "$PD"
  echo "$PD_PASS" | "$(dirname "$POSTERND")/postern" passwd add "$PD_USER" --file "$PD/users" --stdin >> "$OUT/posternd.log" 2>&1 ||
    die "postern passwd add failed (see $OUT/posternd.log; postern is expected next to posternd)"
}

# One quick session per side before measuring: "$1" is a label, then the
# load generator's arguments for posternd, "--", those for Postfix.
check_sides() {
  local what=$1 pd=() pf=(); shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do pd+=("$1"); shift; done; shift
  pf=("$@")
  for side in posternd postfix; do
    local a=("${pf[@]}"); [ $side = posternd ] && a=("${pd[@]}")
    local r
    r=$("${NODNS[@]}" "$LOAD" "${a[@]}" --sessions 1 --duration 0.5 --warmup 0 --noop-ms 0 2>&1)
    echo "$r" | grep -q ' errors=0' && echo "$r" | grep -q 'done=[1-9]' || die "$side: a single $what session fails: $r"
    drain
  done
}

# Measure both sides for one test and rep, alternating which goes first so
# that a drift of the machine's load does not always favour the same one.
record_pair() {  # test rep (args-posternd...) -- (args-postfix...)
  local test=$1 rep=$2 pd=() pf=(); shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do pd+=("$1"); shift; done; shift
  pf=("$@")
  if [ $((rep % 2)) = 1 ]; then
    record posternd "$test" "$rep" "${pd[@]}"; drain
    record postfix "$test" "$rep" "${pf[@]}"; drain
  else
    record postfix "$test" "$rep" "${pf[@]}"; drain
    record posternd "$test" "$rep" "${pd[@]}"; drain
  fi
}

# The report's "Errors" section: the load generator's, posternd's, Postfix's.
errors_section() {
  echo "## Errors"
  echo
  grep '  error x' "$OUT/load.err" | sort | uniq -c | sort -rn | head -20 | sed 's/^/    /'
  echo "posternd log: $(grep -c 'level=warn\|level=error' "$OUT/posternd.log") warn/error lines"
  grep 'level=warn\|level=error' "$OUT/posternd.log" | sed 's/^ts=[^ ]* //; s/sid=[^ ]* //' | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /'
  echo "postfix maillog: $(grep -c 'warning\|error\|fatal' "$PF/maillog" 2>/dev/null) warning/error lines"
  grep 'warning\|error\|fatal' "$PF/maillog" 2>/dev/null | sed 's/^[^ ]* [^ ]* //' | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /'
}
