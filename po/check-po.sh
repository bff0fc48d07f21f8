#!/bin/sh
# Check a catalogue: valid (msgfmt --check), no fuzzy or untranslated entry,
# and a translation for every msgid of the template (msgcmp).
# usage: po/check-po.sh LL.po [postern.pot]     exit 1 on any problem
set -eu
po=$1 pot=${2:-}
if ! stats=$(LC_ALL=C msgfmt --check --statistics -o /dev/null "$po" 2>&1); then
	printf '%s\n' "$stats" >&2
	exit 1
fi
echo "$(basename "$po"): $stats"
case "$stats" in
*fuzzy*|*untranslated*)
	echo "$po: every entry must be translated and none fuzzy (run po/update-pot.sh, then translate)" >&2
	exit 1 ;;
esac
if [ -n "$pot" ] && ! LC_ALL=C msgcmp "$po" "$pot"; then
	echo "$po: messages of the sources are missing (run po/update-pot.sh, then translate)" >&2
	exit 1
fi
