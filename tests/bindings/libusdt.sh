# tests/bindings/libusdt.sh — sourced by the binding tests after lib.sh.
# Sets LIBDIR to a build directory holding libusdt.so and libusdt.a that a
# Python interpreter or a Node addon can load: $BUILD, unless that is a
# sanitizer build (the interpreters are not built with ASan/TSan, so such a
# library cannot be dlopen'ed there); then a plain build made in $TMP.
LIBDIR=$PWD/$BUILD
case $BUILD in /*) LIBDIR=$BUILD ;; esac
[ -e "$LIBDIR/libusdt.so" ] && [ -e "$LIBDIR/libusdt.a" ] || make -s lib BUILD="$BUILD" >/dev/null || fail "cannot build libusdt"
if readelf -d "$LIBDIR/libusdt.so" 2>/dev/null | grep -qE 'NEEDED.*lib(a|t|ub)san' ||
   nm "$LIBDIR/libusdt.a" 2>/dev/null | grep -qE ' U __(a|t)san_'; then
  LIBDIR=$TMP/plain
  env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u CFLAGS -u LDFLAGS -u EXTRA_CFLAGS \
    make -s lib BUILD="$LIBDIR" SAN= >/dev/null || fail "cannot build a plain libusdt in $LIBDIR"
  echo "note: $BUILD is a sanitizer build; the bindings use a plain build in $LIBDIR"
fi
