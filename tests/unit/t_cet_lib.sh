#!/usr/bin/env bash
# t_cet_lib.sh — libusdt.so built with -fcf-protection keeps the CET marks
# (issue 9 item 15).
#
# The linker ANDs the GNU properties of every input: one object without
# the X86_FEATURE_1_AND note (an assembly file) drops SHSTK and IBT for the
# whole shared object, and glibc with shadow stacks enforced then refuses
# to load it. Checked, with the library built into a scratch directory with
# EXTRA_CFLAGS=-fcf-protection:
#   - src/arch/x86_64_call.o carries the same marks as the C objects
#     (readelf -n: "x86 feature: IBT, SHSTK"), and usdt_arch_call starts
#     with endbr64 (it may be reached by an indirect call);
#   - the link reports no libusdt object "missing IBT and SHSTK properties"
#     (ld -z cet-report=warning);
#   - when the C runtime's own start files are marked (distributions built
#     with CET; Debian 12's crti.o/crtn.o are not, and then no shared object
#     linked there can carry the mark), libusdt.so shows IBT and SHSTK;
#   - the default build (no -fcf-protection) claims nothing from the .S.
set -u
cd "$(dirname "$0")/../.."
source tests/lib.sh
need readelf objdump
CC=${CC:-cc}
echo 'int x;' | $CC -fcf-protection -x c -c -o "$TMP/probe.o" - 2>/dev/null ||
  { echo "SKIP: $CC does not accept -fcf-protection"; exit 77; }

out=$TMP/cet
make -s BUILD="$out" EXTRA_CFLAGS=-fcf-protection LDFLAGS="-Wl,-z,cet-report=warning" lib >"$TMP/build.log" 2>&1 ||
  { cat "$TMP/build.log"; fail "build with -fcf-protection"; }
ok "built with -fcf-protection into a scratch directory"

c_marks=$(readelf -nW "$out/obj/src/error.o" | grep -o 'x86 feature: .*' | tr -d ' ')
s_marks=$(readelf -nW "$out/obj/src/arch/x86_64_call.o" | grep -o 'x86 feature: .*' | tr -d ' ')
[ -n "$c_marks" ] || fail "the C objects have no x86 feature note (compiler ignores -fcf-protection?)"
[ "$s_marks" = "$c_marks" ] || fail "x86_64_call.o marks [$s_marks], the C objects [$c_marks]"
ok "x86_64_call.o carries the C objects' marks: $s_marks"

first=$(objdump -d --no-show-raw-insn "$out/obj/src/arch/x86_64_call.o" | awk '/<usdt_arch_call>:/{getline; print $2; exit}')
[ "$first" = endbr64 ] || fail "usdt_arch_call starts with '$first', not endbr64"
ok "usdt_arch_call starts with endbr64"

if grep 'missing IBT and SHSTK' "$TMP/build.log" | grep -q "$out/obj"; then
  grep 'missing IBT and SHSTK' "$TMP/build.log"
  fail "a libusdt object lacks the CET properties"
fi
ok "no libusdt object reported by ld -z cet-report"

if grep -q 'missing IBT and SHSTK' "$TMP/build.log"; then
  echo "# the C runtime's start files are not CET-marked here, so no .so can be:"
  grep 'missing IBT and SHSTK' "$TMP/build.log" | sed 's/^/#   /'
else
  lib_marks=$(readelf -nW "$out/libusdt.so.$(sed -n 's/^VERSION := //p' Makefile)" | grep -o 'x86 feature: .*' | tr -d ' ')
  [ "$lib_marks" = "$c_marks" ] || fail "libusdt.so marks [$lib_marks], want [$c_marks]"
  ok "libusdt.so carries $lib_marks"
fi

plain=$TMP/plain.o
$CC -Iinclude -Isrc -c src/arch/x86_64_call.S -o "$plain"
if readelf -nW "$plain" | grep -q 'x86 feature'; then
  fail "without -fcf-protection the .S claims: $(readelf -nW "$plain" | grep 'x86 feature')"
fi
ok "without -fcf-protection the .S claims nothing"
