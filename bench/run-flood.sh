#!/bin/bash
# AUTH flood benchmark (issue 10, item 4): does a flood of password checks
# delay deliveries? posternd stores to a Maildir (file and directory fsynced
# before 250) and takes 4 KiB messages from SESSIONS sessions without AUTH
# (bench/tools/auth_load, mode mail), in three conditions, alternated per rep:
#   reference      the message load alone
#   flood hangup   plus FLOOD sessions from 50 loopback addresses, each in a
#                  loop: connect, EHLO, AUTH PLAIN with a wrong password, hang
#                  up; FLOOD_RATE AUTH per second each (200 x 5 = 1,000/s, some
#                  15 times what two cores can hash)
#   flood wait     the same, but each waits for its 535 or 454 before hanging up
#   unpaced        flood hangup as fast as the flooders can: a connection
#                  flood (thousands per second) more than a password flood
# Figures: messages/s and the p99 of "last octet of the message -> 250", each
# flood against the reference.  Target: rate >= 0.8x the reference, p99 < 100 ms.
# Only posternd runs (no Postfix), with its defaults (auth_delay_max,
# auth_checks_max, auth_checks_per_client); the users file is yescrypt
# (postern passwd), so every wrong password costs a full hash.
#
# usage: bench/run-flood.sh [POSTERND_PATH]   (as root, for the mount namespace;
#        default build/release/posternd, built with
#        meson setup build/release --buildtype=release && ninja -C build/release)
# env:   DUR (10 s measured)  WARMUP (2 s)  REPS (3)  SESSIONS (20)  SIZE (4096)
#        FLOOD (200)  FLOOD_RATE (5)  WORKERS (2)  CONF (a posternd config file, e.g.
#        to try auth_threads or auth_checks_max; default none)  PD_PORT (10095)  NOOP_MS (10)
#        OUT (default $ANCHORS/results/flood-<UTC stamp>)
# Runtime: (WARMUP+DUR) x 4 conditions x REPS: ~2.5 min with the defaults.
# The machine's load drifts: compare the medians of several reps, and the
# ratio to the reference more than the absolute figures.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
POSTERND=$(readlink -f "${1:-$TOP/build/release/posternd}")
[ -x "$POSTERND" ] || { echo "usage: $0 [POSTERND_PATH]  ($POSTERND: not an executable)" >&2; exit 2; }
need_root
DUR=${DUR:-10}; WARMUP=${WARMUP:-2}; REPS=${REPS:-3}; SESSIONS=${SESSIONS:-20}; SIZE=${SIZE:-4096}
FLOOD=${FLOOD:-200}; FLOOD_RATE=${FLOOD_RATE:-5}; PD_PORT=${PD_PORT:-10095}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$ANCHORS/results/flood-$STAMP}; mkdir -p "$OUT"
TSV=$OUT/runs.tsv; : > "$TSV"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
trap cleanup_all EXIT
trap 'exit 130' INT TERM
build_load
PD=$ROOT/posternd-flood
rm -rf "$PD"; mkdir -p "$PD"
echo benchpass | "$(dirname "$POSTERND")/postern" passwd add bench --file "$PD/users" --stdin >> "$OUT/posternd.log" 2>&1 ||
  die "postern passwd add failed (see $OUT/posternd.log; postern is expected next to posternd)"
log "posternd: $POSTERND ($("$POSTERND" --version 2>&1))  out: $OUT"
log "DUR=$DUR WARMUP=$WARMUP REPS=$REPS SESSIONS=$SESSIONS SIZE=$SIZE FLOOD=$FLOOD FLOOD_RATE=$FLOOD_RATE"

start_dns
pd_start --store maildir --users "$PD/users" --auth-plaintext ${CONF:+--config "$CONF"}
MAIL=(--port "$PD_PORT" --size "$SIZE")
FL=(--flood "$FLOOD" --flood-user bench)
for rep in $(seq 1 "$REPS"); do
  # rotate the order, so that a drift of the machine's load favours no condition
  conds=("reference" "flood hangup" "flood wait" "unpaced")
  for k in 0 1 2 3; do
    c=${conds[$(((k + rep) % 4))]}
    case $c in
      reference) record posternd "$c" "$rep" "${MAIL[@]}" ;;
      "flood hangup") record posternd "$c" "$rep" "${MAIL[@]}" "${FL[@]}" --flood-rate "$FLOOD_RATE" --flood-mode hangup ;;
      "flood wait") record posternd "$c" "$rep" "${MAIL[@]}" "${FL[@]}" --flood-rate "$FLOOD_RATE" --flood-mode wait ;;
      unpaced) record posternd "$c" "$rep" "${MAIL[@]}" "${FL[@]}" --flood-rate 0 --flood-mode hangup ;;
    esac
    find "$PD/Maildir" -type f -path '*/new/*' -delete 2>/dev/null
  done
done
pd_stop

{
  echo "# AUTH flood benchmark $STAMP"
  echo
  "$BENCH/machine.sh" "$POSTERND"
  echo "- load: bench/tools/auth_load, $SESSIONS sessions of ${SIZE}-octet messages (no AUTH), ${DUR} s measured after ${WARMUP} s warm-up, $REPS reps; flood: $FLOOD more sessions from 127.0.1.1-50 sending AUTH PLAIN with a wrong password, $FLOOD_RATE per second each (unpaced: as fast as they can)"
  echo "- posternd: --store maildir --users (yescrypt) --auth-plaintext --workers ${WORKERS:-2}, every other key at its default${CONF:+ except: $(grep -v '^#' "$CONF" | tr '\n' ' ')}"
  echo
  "$PY" - "$TSV" <<'PYEOF'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    server, test, rep, kv = line.rstrip("\n").split("\t")
    d = dict(x.split("=", 1) for x in kv.split() if "=" in x)
    rows.setdefault(test, []).append(d)
def med(test, key):
    v = [float(d[key]) for d in rows.get(test, []) if d.get(key, "FAIL") not in ("FAIL", "")]
    return statistics.median(v) if v else float("nan")
ref = med("reference", "rate")
print("| condition | messages/s (median of reps) | x reference | end of data -> 250 p50 / p99 ms | NOOP p99 ms | flood AUTH sent / refused at connect | errors |")
print("|---|---|---|---|---|---|---|")
for t in ("reference", "flood hangup", "flood wait", "unpaced"):
    r = med(t, "rate")
    print("| %s | %.1f | %.2f | %.1f / %.1f | %.1f | %s / %s | %s |" % (
        t, r, r / ref if ref else float("nan"), med(t, "eod_p50_ms"), med(t, "eod_p99_ms"),
        med(t, "noop_p99_ms"), "%d" % med(t, "flood_sent") if t != "reference" else "-",
        "%d" % med(t, "flood_refused") if t != "reference" else "-",
        "+".join(d.get("errors", "?") for d in rows.get(t, []))))
PYEOF
  echo
  echo "posternd: $(grep -c 'event=auth ' "$OUT/posternd.log") AUTH exchanges logged, of which $(grep 'event=auth ' "$OUT/posternd.log" | grep -c 'too many checks') refused with 454 (auth_checks_*), $(grep 'event=auth ' "$OUT/posternd.log" | grep -c 'connection closed') dropped at the client's hang-up"
  grep '  error x' "$OUT/load.err" | sort | uniq -c | sort -rn | head -10 | sed 's/^/    /'
} > "$OUT/report.md"
cat "$OUT/report.md"
log "report: $OUT/report.md   raw: $TSV"
