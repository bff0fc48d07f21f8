#!/bin/sh
# Build bench/tools/auth_load (the AUTH/TLS load generator) into OUTDIR (default
# /tmp/postern-bench-tools, never the repository; run-auth.sh and run-tls.sh call
# this with their own output folder) and print its path.  Needs cc and libssl-dev.
# usage: bench/tools/build.sh [OUTDIR]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-${TMPDIR:-/tmp}/postern-bench-tools}
mkdir -p "$OUT"
if [ ! -x "$OUT/auth_load" ] || [ "$HERE/auth_load.c" -nt "$OUT/auth_load" ]; then
	${CC:-cc} -std=c11 -O2 -Wall -Wextra -pthread -o "$OUT/auth_load" "$HERE/auth_load.c" -lssl -lcrypto
fi
echo "$OUT/auth_load"
