#!/usr/bin/env bash
# make install PREFIX=DIR installs usdt.h, libusdt.so* (soname libusdt.so.1),
# libusdt.a and libusdt.pc; a program built with pkg-config against the
# installed copy (shared and static) runs and enables a provider.
. "$(dirname "$0")/../lib.sh"
need pkg-config
prefix=$TMP/prefix
make -s install PREFIX="$prefix" BUILD="$TMP/b" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "make install"; }
for f in include/usdt.h lib/libusdt.so lib/libusdt.so.1 lib/libusdt.a lib/pkgconfig/libusdt.pc; do
  [ -e "$prefix/$f" ] || fail "missing $prefix/$f"
done
ok "installed: $(cd "$prefix" && find . -type f -o -type l | sort | tr '\n' ' ')"
soname=$(readelf -d "$prefix/lib/libusdt.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libusdt.so.1 ] || fail "soname is [$soname]"
ok "soname $soname"
cat > "$TMP/hello.c" <<'C'
#include <stdio.h>
#include <usdt.h>
int main(void) {
	usdt_provider_t *p = usdt_create_provider("installed", NULL);
	usdt_probedef_t *d = usdt_create_probe("f", "p", 0, NULL);
	if (usdt_provider_add_probe(p, d) || usdt_provider_enable(p)) { puts(usdt_errstr(p)); return 1; }
	usdt_fire_probe(d->probe, 0, NULL);
	printf("ok %s\n", usdt_version());
	usdt_probe_release(d); usdt_provider_free(p); return 0;
}
C
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc "$TMP/hello.c" $(pkg-config --cflags --libs libusdt) -Wl,-rpath,"$prefix/lib" -o "$TMP/hello" || fail "build against the installed library"
out=$("$TMP/hello") || fail "hello (shared) failed: $out"
ldd "$TMP/hello" | grep -q "$prefix/lib/libusdt.so.1" || fail "not linked to the installed libusdt.so.1"
ok "shared: $out"
cc "$TMP/hello.c" $(pkg-config --cflags libusdt) "$prefix/lib/libusdt.a" $(pkg-config --libs-only-other --static libusdt) -ldl -lpthread -o "$TMP/hello-static" || fail "static build"
out=$("$TMP/hello-static") || fail "hello (static) failed"
ok "static: $out"
