#!/usr/bin/env bash
# t_valgrind_cycles.sh — valgrind memcheck over the seed's memory test
# scenario (tests/leaks/t_cycles.c: create provider, 3 probes, add, enable,
# fire, disable, free, release) repeated 100 000 times with the memfd
# loader, then 20 000 times with the file loader (LIBUSDT_LOADER=file in a
# temporary LIBUSDT_DIR). Passes when valgrind reports no error and no
# definitely, indirectly or possibly lost byte, and the program finds the
# counts of fds, mappings and files unchanged at every 10 000-cycle sample.
# Sizes: T_CYCLES (default 100000), T_FILE_CYCLES (default 20000).
# Skips (77) when valgrind is not installed (tests/deps.sh installs it).
# With a sanitizer build (make check-asan / check-tsan: BUILD=build-asan...)
# valgrind cannot run the program; the sanitizer's own checks (LeakSanitizer
# with ASAN_OPTIONS=detect_leaks=1) run it instead, natively.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
prog=$BUILD/tests/leaks/t_cycles
[ -x "$prog" ] || { echo "$prog is not built (make tests)"; exit 1; }
if nm "$prog" 2>/dev/null | grep -Eq '__(asan|tsan)_init'; then
  echo "# $prog is built with a sanitizer: running it without valgrind"
  T_CYCLES=${T_CYCLES:-100000} "$prog"
  exit
fi
command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() {   # name cycles [env...]
  local name=$1 cycles=$2; shift 2
  local log=$tmp/$name.vg start=$SECONDS
  env "$@" T_CYCLES="$cycles" T_SAMPLE=10000 valgrind --leak-check=full --show-leak-kinds=all \
      --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --log-file="$log" "$prog"
  local rc=$?
  echo "# $name: $cycles cycles under valgrind in $((SECONDS - start)) s, exit $rc"
  sed -n '/HEAP SUMMARY/,$p' "$log" | sed 's/^==[0-9]*== /#   /'
  if [ $rc != 0 ] || ! grep -q "ERROR SUMMARY: 0 errors" "$log"; then
    echo "not ok - $name: valgrind or the program reported a problem"; cat "$log"; return 1
  fi
  if grep -Eq "(definitely|indirectly|possibly) lost: [1-9]" "$log"; then
    echo "not ok - $name: memory lost"; return 1
  fi
  echo "ok - $name: 0 errors, 0 bytes lost, constant fds/mappings/files"
}

fail=0
run memfd "${T_CYCLES:-100000}" || fail=1
mkdir -p "$tmp/dir"
run file "${T_FILE_CYCLES:-20000}" LIBUSDT_LOADER=file LIBUSDT_DIR="$tmp/dir" || fail=1
left=$(find "$tmp/dir" -name 'libusdt-*' | wc -l)
[ "$left" = 0 ] || { echo "not ok - $left files left in LIBUSDT_DIR"; fail=1; }
exit $fail
