#!/usr/bin/env bash
# Many providers in one process (issue 13, target 6): the default "map"
# loader maps each provider's object itself, without dlopen, and tells GDB
# through its JIT interface (src/linux/gdb_jit.c). With MANY (default
# 1000) one-probe providers enabled in a live process:
#   - each provider takes at most two mappings;
#   - `gdb -p` lists every provider's probe, and `break -probe-stap` on the
#     last one stops there with its exact argument;
#   - bpftrace -p attaches to the last provider's probe and reads its exact
#     argument.
. "$(dirname "$0")/../lib.sh"
need gdb; need bpftrace; need_root
MANY=${MANY:-1000}
last=$(printf 'mp%05d' $((MANY - 1)))
"$BUILD/tests/progs/many_providers" "$MANY" > "$TMP/out" 2>&1 &
TPID=$!
for _ in $(seq 300); do grep -q READY "$TMP/out" && break; kill -0 $TPID 2>/dev/null || break; sleep 0.1; done
grep -q READY "$TMP/out" || fail "many_providers did not start: $(cat "$TMP/out")"
ok "$MANY providers enabled in pid $TPID"

maps=$(grep -c 'memfd:libusdt:mp' /proc/$TPID/maps)
[ "$maps" -le $((2 * MANY)) ] && [ "$maps" -ge "$MANY" ] || fail "$maps mappings for $MANY providers"
ok "$maps mappings for $MANY providers (at most 2 each)"

start=$EPOCHREALTIME
timeout 240 gdb -p "$TPID" -batch -ex 'info probes stap' > "$TMP/list" 2>&1
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
n=$(grep -cE '^stap +mp[0-9]{5} +p +0x' "$TMP/list")
[ "$n" = "$MANY" ] || { tail -5 "$TMP/list"; fail "gdb lists $n of the $MANY providers' probes"; }
ok "gdb info probes lists all $MANY probes (${secs}s)"

timeout 240 gdb -p "$TPID" -batch -ex "break -probe-stap $last:p" -ex continue \
  -ex 'printf "GOT %d\n", $_probe_arg0' > "$TMP/brk" 2>&1
grep -q "^GOT $((MANY - 1))\$" "$TMP/brk" || { tail -5 "$TMP/brk"; fail "gdb break -probe-stap $last:p did not read $((MANY - 1))"; }
ok "gdb stopped at $last:p and read arg0 = $((MANY - 1))"

timeout 120 bpftrace -p "$TPID" -e "usdt:*:$last:p { printf(\"GOT %d\\n\", arg0); exit(); }" > "$TMP/bt" 2>&1
grep -q "^GOT $((MANY - 1))\$" "$TMP/bt" || { cat "$TMP/bt"; fail "bpftrace did not read $last:p"; }
ok "bpftrace read $last:p arg0 = $((MANY - 1))"
