#!/bin/bash
# Print the date, machine and versions as markdown (for the report).
# usage: bench/machine.sh [POSTERND_PATH]
ANCHORS=${ANCHORS:-/opt/anchors}
P=${1:-}
cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
mhz=$(awk -F': ' '/^cpu MHz/{printf "%.0f", $2; exit}' /proc/cpuinfo)
mem=$(awk '/^MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)
fs=$(df -T "$ANCHORS" 2>/dev/null | awk 'NR==2{print $2" on "$1}')
echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- machine: $(nproc) CPUs ($cpu, ${mhz} MHz), $mem RAM, kernel $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null), $ANCHORS on $fs"
if [ -n "$P" ]; then
  rev=$(git -C "$(dirname "$(readlink -f "$P")")" rev-parse --short HEAD 2>/dev/null)
  dirty=$(git -C "$(dirname "$(readlink -f "$P")")" status --porcelain -- :/src 2>/dev/null | wc -l)
  echo "- posternd: $("$P" --version 2>&1) ($P, built $(date -u -r "$P" '+%Y-%m-%d %H:%M UTC'), git ${rev:-?}${dirty:+, $dirty changed files under src/ at report time})"
fi
echo "- Postfix $(postconf -d mail_version 2>/dev/null | sed 's/.*= //') (smtp-source, smtp-sink), aiosmtpd $(/usr/bin/python3 -c 'import aiosmtpd; print(aiosmtpd.__version__)' 2>/dev/null) on Python $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'), smtp-server $(node -p "require('$ANCHORS/node/node_modules/smtp-server/package.json').version" 2>/dev/null) on Node $(node --version 2>/dev/null), libuv $(dpkg-query -W -f='${Version}' libuv1 2>/dev/null)"
