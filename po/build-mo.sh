#!/bin/sh
# Compile a catalogue for the build tree, where `postern` finds it.
# usage: po/build-mo.sh LL.po OUT.mo LOCALEDIR/LL/LC_MESSAGES/postern.mo POT --strict|--lenient
# --strict (the -Dwerror=true test build) fails on an untranslated, fuzzy or
# missing message; --lenient only warns.
set -eu
po=$1 mo=$2 dest=$3 pot=$4 mode=$5
here=$(dirname "$0")
if ! sh "$here/check-po.sh" "$po" "$pot"; then
	if [ "$mode" = --strict ]; then
		rm -f "$mo" "$dest"
		exit 1
	fi
	echo "$po: warning: incomplete catalogue" >&2
fi
msgfmt --check -o "$mo" "$po"
mkdir -p "$(dirname "$dest")"
cp "$mo" "$dest"
