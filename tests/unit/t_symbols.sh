#!/usr/bin/env bash
# t_symbols.sh — libusdt.so exports exactly the functions and objects that
# include/usdt.h and include/usdt_vm.h declare (USDT_API), plus GDB's two
# JIT-interface names (weak), each versioned LIBUSDT_1.0 by the
# linker version script, and nothing else; a program using the header's
# objects (USDT_ARGTYPE_STRING, as lua-usdt does) links against the shared
# library.
. "$(dirname "$0")/../lib.sh"
need readelf
so=$BUILD/libusdt.so.1
[ -e "$so" ] || fail "no $so (make)"
# Declared: the identifier before '(' or '[' on each USDT_API line (the
# declarations are one per line, possibly continued on the next).
sed -n '/^USDT_API/p' include/usdt.h include/usdt_vm.h | grep -v '#define' |
  sed -E 's/\(.*//; s/\[.*//; s/.*[ *]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*$/\1/' | sort -u > "$TMP/declared"
[ "$(wc -l < "$TMP/declared")" -ge 16 ] || { cat "$TMP/declared"; fail "could not parse usdt.h"; }
# ...and GDB's two JIT-interface names (src/linux/gdb_jit.c), weak
printf '%s\n' __jit_debug_descriptor __jit_debug_register_code >> "$TMP/declared"
sort -u -o "$TMP/declared" "$TMP/declared"
for s in __jit_debug_descriptor __jit_debug_register_code; do
  readelf --dyn-syms -W "$so" | awk -v s="$s" '$7 != "UND" && $5 == "WEAK" && $8 ~ "^"s"@" {f=1} END {exit !f}' ||
    fail "$s is not exported as a weak symbol"
done
ok "GDB's JIT interface names are exported, weak"
# Exported: defined dynamic symbols other than the version definition.
readelf --dyn-syms -W "$so" | awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") && $8 != "" {print $8}' > "$TMP/dyn"
sed 's/@.*//' "$TMP/dyn" | grep -v '^LIBUSDT_' | sort -u > "$TMP/exported"
if ! diff -u "$TMP/declared" "$TMP/exported" > "$TMP/diff"; then
  cat "$TMP/diff"; fail "exported symbols differ from usdt.h's declarations (- declared only, + exported only)"
fi
ok "exported = declared: $(tr '\n' ' ' < "$TMP/exported")"
unversioned=$(grep -v -e '@@LIBUSDT_1\.0$' -e '^LIBUSDT_1\.0$' "$TMP/dyn" || true)
[ -z "$unversioned" ] || fail "symbols without version LIBUSDT_1.0: $unversioned"
ok "every exported symbol is versioned LIBUSDT_1.0"
cat > "$TMP/types.c" <<'C'
#include <stdio.h>
#include <usdt.h>
int main(void) {
	const char *t[] = { "char *", "int" };
	usdt_probedef_t *pd = usdt_create_probe("f", "p", 2, t);
	int ok = pd && pd->types[0] == USDT_ARGTYPE_STRING && pd->types[1] == USDT_ARGTYPE_INTEGER;
	printf("%s\n", ok ? "types ok" : "types differ");
	usdt_probe_release(pd);
	return !ok;
}
C
# a sanitizer build of the library needs its runtime in the program too
SANFLAGS=
if nm -D "$BUILD/libusdt.so" 2>/dev/null | grep -q ' U __tsan_'; then SANFLAGS=-fsanitize=thread; CCX=clang
elif nm -D "$BUILD/libusdt.so" 2>/dev/null | grep -q ' U __asan_'; then SANFLAGS=-fsanitize=address,undefined; CCX=cc
else CCX=cc; fi
$CCX $SANFLAGS -Iinclude "$TMP/types.c" -L"$BUILD" -lusdt -Wl,-rpath,"$PWD/$BUILD" -o "$TMP/types" 2>"$TMP/ld" || { cat "$TMP/ld"; fail "USDT_ARGTYPE_STRING does not link against libusdt.so"; }
out=$("$TMP/types") || fail "$out"
ok "a program using USDT_ARGTYPE_STRING/INTEGER links against libusdt.so: $out"
