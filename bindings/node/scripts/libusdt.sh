#!/bin/sh
# scripts/libusdt.sh include|lib — where binding.gyp finds libusdt.
#   include: the directory holding usdt.h
#   lib:     the static library libusdt.a to link into the addon
# Order: $LIBUSDT_DIR (a libusdt source tree or install prefix), the source
# tree this package sits in (bindings/node inside the libusdt repository,
# built here with `make lib` when needed), then pkg-config's libusdt.
# Progress goes to stderr: gyp reads stdout.
set -e
what=$1
here=$(cd "$(dirname "$0")/.." && pwd)

from_dir() {  # $1 = source tree or prefix
  d=$1
  if [ -f "$d/Makefile" ] && [ -f "$d/include/usdt.h" ]; then
    if [ "$what" = lib ] && [ -z "${LIBUSDT_NO_MAKE:-}" ]; then
      echo "libusdt: make -C $d lib" >&2
      make -C "$d" lib ${BUILD:+BUILD="$BUILD"} >&2 || { echo "libusdt: building the C library failed" >&2; exit 1; }
    fi
    inc=$d/include
    case ${BUILD:-build} in /*) lib=$BUILD/libusdt.a ;; *) lib=$d/${BUILD:-build}/libusdt.a ;; esac
  else
    inc=$d/include; lib=$d/lib/libusdt.a
  fi
  [ -f "$inc/usdt.h" ] && [ -f "$lib" ] || return 1
  case $what in include) echo "$inc" ;; lib) echo "$lib" ;; esac
  exit 0
}

[ -n "${LIBUSDT_DIR:-}" ] && { from_dir "$LIBUSDT_DIR"; echo "libusdt: nothing usable in LIBUSDT_DIR=$LIBUSDT_DIR" >&2; exit 1; }
tree=$(cd "$here/../.." && pwd)
from_dir "$tree" || true
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libusdt; then
  case $what in
    include) pkg-config --variable=includedir libusdt; exit 0 ;;
    lib) l=$(pkg-config --variable=libdir libusdt)/libusdt.a; [ -f "$l" ] && { echo "$l"; exit 0; } ;;
  esac
fi
echo "libusdt: cannot find libusdt (usdt.h and libusdt.a); set LIBUSDT_DIR to its source tree or prefix" >&2
exit 1
