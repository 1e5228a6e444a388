#!/bin/sh
# scripts/libusdt.sh include|lib — where binding.gyp finds libusdt.
#   include: the directory holding usdt.h
#   lib:     the static library libusdt.a to link into the addon (built
#            first when it comes from sources)
# Order:
#   1. $LIBUSDT_DIR: a libusdt source tree (built with `make lib`) or an
#      install prefix (include/usdt.h, lib/libusdt.a);
#   2. the libusdt tree this package sits in (bindings/node of the
#      repository; `make lib`, honouring $BUILD);
#   3. ./libusdt/: the sources `npm pack` bundles (scripts/bundle.sh), built
#      here into ./libusdt/build with a clean environment — the packed
#      tarball's route on a machine with no libusdt; the exact library
#      version this addon was written against;
#   4. pkg-config's libusdt (its libusdt.a).
# Progress goes to stderr: gyp reads stdout.
set -e
what=$1
here=$(cd "$(dirname "$0")/.." && pwd)

need_tools() {
  for t in make "${CC:-cc}"; do
    command -v "$t" >/dev/null 2>&1 || { echo "libusdt: building libusdt needs $t (Debian: apt-get install build-essential)" >&2; exit 1; }
  done
}

answer() {  # $1 = include dir, $2 = libusdt.a
  case $what in
    include) [ -f "$1/usdt.h" ] || return 1; echo "$1" ;;
    lib) [ -f "$2" ] || return 1; echo "$2" ;;
  esac
  exit 0
}

from_dir() {  # $1 = source tree or prefix
  d=$1
  if [ -f "$d/Makefile" ] && [ -f "$d/include/usdt.h" ]; then
    if [ "$what" = lib ] && [ -z "${LIBUSDT_NO_MAKE:-}" ]; then
      need_tools
      echo "libusdt: make -C $d lib" >&2
      make -C "$d" lib ${BUILD:+BUILD="$BUILD"} >&2 || { echo "libusdt: building the C library failed" >&2; exit 1; }
    fi
    case ${BUILD:-build} in /*) lib=$BUILD/libusdt.a ;; *) lib=$d/${BUILD:-build}/libusdt.a ;; esac
    answer "$d/include" "$lib"
  else
    answer "$d/include" "$d/lib/libusdt.a"
  fi
}

from_bundle() {  # $1 = ./libusdt: sources only, built in place
  d=$1
  if [ "$what" = lib ]; then
    need_tools
    jobs=$(nproc 2>/dev/null || echo 2)
    echo "libusdt: make -C $d -j$jobs build/libusdt.a (bundled sources)" >&2
    # Nothing from a surrounding make or test run (BUILD, SAN, MAKEFLAGS...)
    # may change this build: it is linked into the addon as is.
    env -u BUILD -u SAN -u EXTRA_CFLAGS -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
      make -C "$d" -j"$jobs" BUILD=build build/libusdt.a >&2 ||
      { echo "libusdt: building the bundled C library failed" >&2; exit 1; }
  fi
  answer "$d/include" "$d/build/libusdt.a"
}

if [ -n "${LIBUSDT_DIR:-}" ]; then
  from_dir "$LIBUSDT_DIR" || true
  echo "libusdt: nothing usable in LIBUSDT_DIR=$LIBUSDT_DIR" >&2; exit 1
fi
tree=$(cd "$here/../.." && pwd)
if [ "$tree/bindings/node" -ef "$here" ] && [ -f "$tree/Makefile" ] && [ -f "$tree/include/usdt.h" ]; then
  from_dir "$tree" || true
  echo "libusdt: cannot build or find libusdt in $tree" >&2; exit 1
fi
if [ -f "$here/libusdt/Makefile" ] && [ -f "$here/libusdt/include/usdt.h" ]; then
  from_bundle "$here/libusdt" || true
fi
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libusdt; then
  case $what in
    include) pkg-config --variable=includedir libusdt; exit 0 ;;
    lib) l=$(pkg-config --variable=libdir libusdt)/libusdt.a; [ -f "$l" ] && { echo "$l"; exit 0; } ;;
  esac
fi
echo "libusdt: cannot find libusdt (usdt.h and libusdt.a): no ./libusdt/ sources (npm pack bundles them), no pkg-config libusdt; set LIBUSDT_DIR to a libusdt source tree or prefix" >&2
exit 1
