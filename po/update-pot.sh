#!/bin/sh
# Regenerate the template from the sources and merge it into every catalogue.
#   po/update-pot.sh                    merge into po/LL.po for each LL in po/LINGUAS
#   po/update-pot.sh --pot FILE         also keep the template as FILE
#   po/update-pot.sh --no-merge --pot FILE [--table-msgids EXE]
#                                       only write the template (the build does this)
# The reply-code table has no gettext markers: po/table-msgids.c prints its texts.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
pot="" merge=1 exe=""
while [ $# -gt 0 ]; do
	case "$1" in
	--pot) pot=$2; shift 2 ;;
	--no-merge) merge=0; shift ;;
	--table-msgids) exe=$2; shift 2 ;;
	*) echo "usage: po/update-pot.sh [--pot FILE] [--no-merge] [--table-msgids EXE]" >&2; exit 2 ;;
	esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
if [ -z "$exe" ]; then
	${CC:-cc} -std=c11 -I"$top/src" -o "$tmp/table-msgids" \
		"$top/po/table-msgids.c" "$top/src/smtp/codes.c"
	exe=$tmp/table-msgids
fi
"$exe" > "$tmp/table.pot"
srcs=$(grep -v '^#' "$top/po/POTFILES" | grep -v '^src/smtp/codes\.c$' | grep .)
# shellcheck disable=SC2086
(cd "$top" && xgettext --language=C --from-code=UTF-8 --keyword=_ --keyword=N_ \
	--add-comments=TRANSLATORS: --package-name=postern --msgid-bugs-address= \
	--omit-header -o "$tmp/src.pot" $srcs)
# a header of our own, so the template does not change with the date
cat > "$tmp/header.pot" <<'POT'
msgid ""
msgstr ""
"Project-Id-Version: postern\n"
"Language: \n"
"MIME-Version: 1.0\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Content-Transfer-Encoding: 8bit\n"
POT
msgcat --use-first --to-code=UTF-8 -o "$tmp/postern.pot" "$tmp/header.pot" "$tmp/src.pot" "$tmp/table.pot"
[ -n "$pot" ] && cp "$tmp/postern.pot" "$pot"
if [ "$merge" = 1 ]; then
	for l in $(grep -v '^#' "$top/po/LINGUAS"); do
		msgmerge --quiet --update --backup=none "$top/po/$l.po" "$tmp/postern.pot"
		msgfmt --check --statistics -o /dev/null "$top/po/$l.po"
	done
fi
