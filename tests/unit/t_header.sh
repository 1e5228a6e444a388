#!/usr/bin/env bash
# usdt.h and usdt_vm.h compile cleanly on their own as C99, C11 and C++ (g++, clang++
# when present) with -Wall -Wextra -Werror, and the library builds without
# a warning under clang as well as gcc.
. "$(dirname "$0")/../lib.sh"
src=$TMP/h.c
printf '#include <usdt.h>\nint main(int argc, char **argv) { usdt_probe_t *p = 0; (void)argc; return usdt_is_enabled_inline(p) + (argv[0] == USDT_ARGTYPE_STRING); }\n' > "$src"
for cc in "gcc -std=c99" "gcc -std=c11 -pedantic" "clang -std=c11" "g++ -x c++" "clang++ -x c++"; do
  set -- $cc
  command -v "$1" >/dev/null || { echo "($1 not installed)"; continue; }
  $cc -Wall -Wextra -Werror -Iinclude -c "$src" -o "$TMP/h.o" 2> "$TMP/err" || { cat "$TMP/err"; fail "usdt.h with $cc"; }
  ok "usdt.h compiles with $cc -Wall -Wextra -Werror"
done
printf '#include <usdt_vm.h>\nint main(void) { usdt_vm_probe_t i; usdt_vm_loc_t l = { "rbx", 0, 0 }; (void)l; return (int)sizeof i + (int)usdt_vm_generation(); }\n' > "$TMP/vm.c"
for cc in "gcc -std=c99" "gcc -std=c11 -pedantic" "clang -std=c11" "g++ -x c++" "clang++ -x c++"; do
  set -- $cc
  command -v "$1" >/dev/null || continue
  $cc -Wall -Wextra -Werror -Iinclude -c "$TMP/vm.c" -o "$TMP/vm.o" 2> "$TMP/err" || { cat "$TMP/err"; fail "usdt_vm.h with $cc"; }
  ok "usdt_vm.h compiles with $cc -Wall -Wextra -Werror"
done
need clang
make -s BUILD="$TMP/clang" CC=clang EXTRA_CFLAGS=-Werror lib > "$TMP/build" 2>&1 || { tail -20 "$TMP/build"; fail "clang -Werror build"; }
ok "the library builds with clang -Wall -Wextra -Werror"
make -s BUILD="$TMP/gcc" CC=gcc EXTRA_CFLAGS=-Werror lib > "$TMP/build" 2>&1 || { tail -20 "$TMP/build"; fail "gcc -Werror build"; }
ok "the library builds with gcc -Wall -Wextra -Werror"
