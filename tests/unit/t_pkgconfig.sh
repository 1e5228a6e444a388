#!/usr/bin/env bash
# t_pkgconfig.sh — `make install` writes a libusdt.pc for the prefix it
# installs to (issue 10: the .pc kept the prefix of the first build).
# One build directory, installed to two prefixes in a row: pkg-config
# --cflags --libs gives each its own paths, and the README's C example
# (extracted from README.md) builds with each and links to that prefix's
# libusdt.so.1. Then DESTDIR with LIBDIR and INCLUDEDIR: the .pc names the
# final directories, not the staging ones.
. "$(dirname "$0")/../lib.sh"
need pkg-config
b=$TMP/b
awk '/^## A complete C example/{f=1} f&&/^```c/{g=1;next} g&&/^```/{exit} g' README.md > "$TMP/hello.c"
grep -q usdt_create_provider "$TMP/hello.c" || fail "no C example in README.md"
for n in 1 2; do
  prefix=$TMP/prefix$n
  make -s install PREFIX="$prefix" BUILD="$b" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "make install PREFIX=$prefix"; }
  got=$(echo $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs libusdt))
  [ "$got" = "-I$prefix/include -L$prefix/lib -lusdt" ] || { cat "$prefix/lib/pkgconfig/libusdt.pc"; fail "prefix $n: pkg-config says [$got]"; }
  ok "prefix $n: pkg-config --cflags --libs: $got"
  cc -Wall -Werror "$TMP/hello.c" $got -Wl,-rpath,"$prefix/lib" -o "$TMP/hello$n" || fail "README example does not build against prefix $n"
  ldd "$TMP/hello$n" | grep -q "$prefix/lib/libusdt.so.1" || { ldd "$TMP/hello$n"; fail "prefix $n: not linked to its own libusdt.so.1"; }
  ok "prefix $n: the README example builds and links to $prefix/lib/libusdt.so.1"
done
stage=$TMP/stage
make -s install DESTDIR="$stage" PREFIX=/opt/usdt LIBDIR=/opt/usdt/lib64 INCLUDEDIR=/opt/usdt/inc BUILD="$b" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "make install DESTDIR"; }
pc=$stage/opt/usdt/lib64/pkgconfig/libusdt.pc
[ -f "$pc" ] && [ -f "$stage/opt/usdt/inc/usdt.h" ] && [ -e "$stage/opt/usdt/lib64/libusdt.so.1" ] || { find "$stage"; fail "DESTDIR layout"; }
got=$(echo $(PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR= pkg-config --cflags --libs libusdt))
[ "$got" = "-I/opt/usdt/inc -L/opt/usdt/lib64 -lusdt" ] || { cat "$pc"; fail "DESTDIR: pkg-config says [$got]"; }
! grep -q "$stage" "$pc" || fail "the staging directory leaked into the .pc"
ok "DESTDIR + LIBDIR + INCLUDEDIR: $got"
