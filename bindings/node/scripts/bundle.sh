#!/bin/sh
# scripts/bundle.sh copy|clean — npm prepack/postpack hooks.
#   copy:  copy libusdt's C sources from the tree this package sits in
#          (bindings/node of the libusdt repository) into ./libusdt/, so
#          that the packed tarball builds them at install time on a machine
#          with no libusdt (scripts/libusdt.sh); the package version must be
#          the library's.
#   clean: remove ./libusdt/ again (it is gitignored; in the tree, the
#          tree's own sources are used).
# Packing an unpacked tarball (no tree around it) keeps its ./libusdt/.
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
tree=$(cd "$here/../.." && pwd)
out=$here/libusdt
case ${1:-} in
  copy) ;;
  clean) [ -f "$tree/Makefile" ] && [ -f "$tree/include/usdt.h" ] && [ "$tree/bindings/node" -ef "$here" ] && rm -rf "$out"; exit 0 ;;
  *) echo "usage: $0 copy|clean" >&2; exit 2 ;;
esac
if ! { [ -f "$tree/Makefile" ] && [ -f "$tree/include/usdt.h" ] && [ "$tree/bindings/node" -ef "$here" ]; }; then
  [ -f "$out/Makefile" ] && [ -f "$out/include/usdt.h" ] && { echo "libusdt: packing the bundled sources already in $out" >&2; exit 0; }
  echo "libusdt: not in a libusdt tree and no ./libusdt/ to pack" >&2
  exit 1
fi
lib=$(sed -n 's/^VERSION := //p' "$tree/Makefile")
pkg=$(node -p "require('$here/package.json').version")
if [ "$lib" != "$pkg" ]; then
  echo "libusdt: package.json version $pkg differs from the library's $lib (Makefile VERSION): make them equal" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out"
cp -R "$tree/src" "$tree/include" "$tree/Makefile" "$tree/libusdt.pc.in" "$tree/LICENSE" "$out/"
find "$out" \( -name '*.o' -o -name '*~' -o -name '.*.swp' \) -exec rm -f {} +
echo "libusdt: bundled libusdt $lib sources into $out" >&2
