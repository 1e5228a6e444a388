#!/usr/bin/env bash
# The README's complete C example compiles warning-free as printed, runs,
# and the README's bpftrace command line reads its probe.
. "$(dirname "$0")/../lib.sh"
need bpftrace; need_root
awk '/^\/\* hello.c/,/^}$/' README.md > "$TMP/hello.c"
[ -s "$TMP/hello.c" ] || fail "no C example found in README.md"
san=   # link like the library was built (make check-asan / check-tsan)
nm "$BUILD/libusdt.a" 2>/dev/null | grep -q ' U __asan_' && san="-fsanitize=address,undefined"
nm "$BUILD/libusdt.a" 2>/dev/null | grep -q ' U __tsan_' && san="-fsanitize=thread"
cc -Wall -Wextra -Werror $san -Iinclude "$TMP/hello.c" "$BUILD/libusdt.a" -ldl -lpthread -o "$TMP/hello" 2> "$TMP/cc" ||
  { cat "$TMP/cc"; fail "the README example does not compile"; }
ok "the README example compiles with -Wall -Wextra -Werror"
TOUT=$TMP/hello.out
"$TMP/hello" > "$TOUT" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q 'memfd:libusdt:myapp' /proc/$TPID/maps 2>/dev/null && break; sleep 0.1; done
cmd=$(grep -o "bpftrace -p PID -e 'usdt:\*:myapp:request[^']*'" README.md | head -n 1)
[ -n "$cmd" ] || fail "no bpftrace command for myapp:request in README.md"
cmd=${cmd/PID/$TPID}
cmd="${cmd%\'} interval:s:3 { exit(); }'"
got=$(eval "timeout 30 $cmd" 2>/dev/null | grep -m1 '/index.html')
[[ $got =~ ^[0-9]+\ /index.html$ ]] || fail "README bpftrace command printed [$got]"
ok "README command [$cmd] printed: $got"
