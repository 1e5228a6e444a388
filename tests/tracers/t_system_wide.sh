#!/usr/bin/env bash
# System-wide tracing through the libusdt provider compiled into libusdt.so
# (issue 12): bpftrace attached to the library FILE (no -p) sees
#   - libusdt:fire from a process that was running before it attached and
#     from one started after, with exact arguments (provider, probe, argc,
#     the probe's int and string arguments);
#   - libusdt:provider_enable for the late process and provider_disable when
#     a process frees its provider (with the module, probe count and the
#     /proc/PID/fd/N path tracers use);
#   - usdt_is_enabled() true in both processes while libusdt:fire is traced.
. "$(dirname "$0")/../lib.sh"
need bpftrace; need_root
LIB=$(readlink -f "$BUILD/libusdt.so.1")
PROG=$BUILD/tests/progs_shared/sysfire
[ -x "$PROG" ] || fail "$PROG is not built"
readelf -nW "$LIB" | grep -q 'Provider: libusdt' || fail "$LIB carries no libusdt probes"
OUT=$TMP/bt.out
: > "$TMP/a.out"; : > "$TMP/b.out"
"$PROG" sysearly 41 > "$TMP/a.out" 2>&1 &
A=$!
for _ in $(seq 50); do grep -q READY "$TMP/a.out" && break; sleep 0.1; done
grep -q READY "$TMP/a.out" || fail "early process did not start: $(cat "$TMP/a.out")"
timeout 30 bpftrace -e "
usdt:$LIB:libusdt:fire /str(arg0) == \"sysearly\" || str(arg0) == \"syslate\"/ {
  @fire[str(arg0), str(arg1), arg2, arg3, str(arg4)] = count(); }
usdt:$LIB:libusdt:provider_enable { printf(\"ENABLE %s %s %d %s\\n\", str(arg0), str(arg1), arg2, str(arg3)); }
usdt:$LIB:libusdt:provider_disable { printf(\"DISABLE %s %s %d %s\\n\", str(arg0), str(arg1), arg2, str(arg3)); }
interval:s:4 { exit(); }" > "$OUT" 2>&1 &
BT=$!
# wait until bpftrace is attached (the early process sees is-enabled flip)
for _ in $(seq 100); do grep -q ENABLED "$TMP/a.out" && break; sleep 0.1; done
grep -q ENABLED "$TMP/a.out" || { kill $BT; fail "usdt_is_enabled() stayed false while libusdt:fire was traced"; }
ok "usdt_is_enabled() is true in a running process once libusdt:fire is traced"
"$PROG" syslate 7 > "$TMP/b.out" 2>&1 &
B=$!
for _ in $(seq 50); do grep -q ENABLED "$TMP/b.out" && break; sleep 0.1; done
grep -q ENABLED "$TMP/b.out" || fail "late process: is-enabled false: $(cat "$TMP/b.out")"
sleep 1
kill -TERM $B; wait $B
wait $BT
kill -TERM $A; wait $A
sed 's/^/# /' "$OUT"
BPID=$(sed -n 's/READY //p' "$TMP/b.out")
grep -q '@fire\[sysearly, req, 2, 41, hello-sysearly\]' "$OUT" || fail "no exact libusdt:fire from the early process"
ok "libusdt:fire from the process started before bpftrace: sysearly req 2 41 hello-sysearly"
grep -q '@fire\[syslate, req, 2, 7, hello-syslate\]' "$OUT" || fail "no exact libusdt:fire from the late process"
ok "libusdt:fire from the process started after bpftrace: syslate req 2 7 hello-syslate"
grep -q "^ENABLE syslate sys 1 /proc/$BPID/fd/[0-9]*$" "$OUT" || fail "no provider_enable for syslate (pid $BPID)"
grep -q "^DISABLE syslate sys 1 /proc/$BPID/fd/[0-9]*$" "$OUT" || fail "no provider_disable for syslate"
ok "provider_enable and provider_disable of syslate with module, probe count and /proc/$BPID/fd path"
