#!/bin/sh
# Meson install script: copy LOCALEDIR_BUILD/LL/LC_MESSAGES/postern.mo for each
# language into the install localedir (meson's custom_target cannot rename).
# usage: po/install-mo.sh LOCALEDIR_BUILD LOCALEDIR LL...
set -eu
src=$1 dir=$2
shift 2
case "$dir" in
/*) dest=${DESTDIR:-}$dir ;;
*) dest=$MESON_INSTALL_DESTDIR_PREFIX/$dir ;;
esac
for l in "$@"; do
	install -D -m 0644 "$src/$l/LC_MESSAGES/postern.mo" "$dest/$l/LC_MESSAGES/postern.mo"
done
