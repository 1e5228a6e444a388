#!/usr/bin/env bash
# The VM/JIT interface (usdt_vm.h) with real tracers: tests/progs/jit.c
# emits x86_64 or aarch64 code that inlines the semaphore/site check of two
# probes and calls their sites directly, one of them with its arguments at
# VM-chosen locations (a register and fields of a frame the VM keeps in a
# register: %rbx/%r12 on x86_64, x19/x20 on aarch64). Runs on the host
# (x86_64) and in the arm64 VM (tests/vm).
#   1. 4 threads fire JIT code while another thread changes the provider
#      10 000 times (add/remove, twin provider, disable/enable): no crash,
#      and libusdt never unmapped an object the JIT had not acknowledged.
#   2. bpftrace, bcc (libbcc's USDT reader) and gdb read the exact values
#      of both probes from the live process; usdt_fire_probe() of the
#      located probe never reaches a tracer.
#   3. A raw uprobe on the located probe's site (no semaphore) is seen by
#      the inlined site-byte check: its events carry the frame's values.
. "$(dirname "$0")/../lib.sh"
need bpftrace gdb readelf; need_root; ensure_tracefs
JIT=$BUILD/tests/progs/jit
case $(readelf -h "$JIT") in
  *X86-64*) ACC=%bx FRAME=%r12 ;;
  *AArch64*) ACC=%x19 FRAME=%x20 ;;
  *) echo "SKIP: the test JIT emits x86_64 and aarch64 code only"; exit 77 ;;
esac
# JIT_STRESS_ROUNDS / JIT_SERVE_ROUNDS: fewer changes where the CPU is
# emulated (the arm64 VM sets them; the 10 000-change stress of the aarch64
# code runs under qemu-user in hardening/t_jit_stress instead)
ROUNDS=${JIT_STRESS_ROUNDS:-10000}
SERVE_ROUNDS=${JIT_SERVE_ROUNDS:-300}

out=$(timeout 200 "$JIT" stress "$ROUNDS") || fail "jit stress failed (exit $?): $out"
ok "JIT stress: $out"

TARGET=$JIT start_target serve "$SERVE_ROUNDS"
# 2a. bpftrace: exact values of both probes
bt_args_program 6 > "$TMP/args.bt"
timeout 120 bpftrace -p "$TPID" "$TMP/args.bt" > "$TMP/got" 2>"$TMP/err" || { cat "$TMP/err"; fail "bpftrace failed"; }
compare_got "$TMP/got" 6 || { cat "$TMP/got" "$TMP/err"; fail "bpftrace read wrong values"; }
ok "bpftrace read jitprov:tick (C call) and jitprov:vmarg (VM locations) exactly"
# 2b. usdt_fire_probe(vmarg) is called every 10 ms: its C arguments cannot
# be where the note says, so it must not reach the site: every event seen
# is the JIT's
# (integer maps: bpftrace 0.17 on arm64 keys a map by a ternary's string
# with stray bytes, one key per event)
want_vm='(int64)arg0 == -1234567890123 && (int64)arg1 == -100000'
timeout 120 bpftrace -p "$TPID" -e "usdt:*:jitprov:vmarg /$want_vm/ { @jit = count(); }
  usdt:*:jitprov:vmarg /!($want_vm)/ { @other = count(); } interval:s:2 { exit(); }" \
  > "$TMP/bogus" 2>&1 || { cat "$TMP/bogus"; fail "bpftrace (bogus check) failed"; }
grep -q '^@jit: [1-9]' "$TMP/bogus" && ! grep -q '^@other: [1-9]' "$TMP/bogus" ||
  { cat "$TMP/bogus"; fail "usdt_fire_probe() of a located probe reached the tracer"; }
ok "usdt_fire_probe() of the located probe fired nothing: $(grep -o '^@jit: [0-9]*' "$TMP/bogus") JIT events only"

# 2c. gdb: $_probe_argN of the located probe
timeout 120 gdb -p "$TPID" -batch -ex 'break -probe-stap jitprov:vmarg' -ex continue \
  -ex 'printf "GOT jitprov:vmarg %llx %llx %llx %llx %llx \"%s\"\n", (long long)$_probe_arg0, (long long)$_probe_arg1, (long long)$_probe_arg2, (long long)$_probe_arg3, (long long)$_probe_arg4, (char *)$_probe_arg5' \
  -ex delete -ex detach > "$TMP/gdb" 2>&1 || { tail -20 "$TMP/gdb"; fail "gdb failed"; }
want=$(expect_lines | grep '^jitprov:vmarg' | cut -d' ' -f2-)
got=$(grep '^GOT jitprov:vmarg' "$TMP/gdb" | head -n 1 | cut -d' ' -f3-)
[ "$got" = "$want" ] || { tail -20 "$TMP/gdb"; fail "gdb read [$got], want [$want]"; }
ok "gdb read the located arguments exactly: $got"

# 2d. bcc
# (required under CI on x86_64; the arm64 VM image has no bcc)
if { [ "${CI:-}" = true ] && [ "$(uname -m)" = x86_64 ]; } ||
   { command -v tplist-bpfcc >/dev/null && /usr/bin/python3 -c 'import bcc' 2>/dev/null; }; then
  bcc_headers
  timeout 120 /usr/bin/python3 tests/tracers/bcc_read.py "$TPID" "jitprov:vmarg:int64_t,int32_t,int16_t,int8_t,uint8_t,char *" \
    > "$TMP/bcc" 2>"$TMP/err" || { tail -20 "$TMP/err"; fail "bcc_read.py failed"; }
  got=$(grep '^GOT jitprov:vmarg' "$TMP/bcc" | head -n 1 | cut -d' ' -f3-)
  [ "$got" = "$want" ] || { cat "$TMP/bcc"; fail "bcc read [$got], want [$want]"; }
  ok "bcc read the located arguments exactly: $got"
fi

# 3. raw uprobe on the site, no reference counter: the site byte tells
fd=$(ls -l /proc/$TPID/fd | awk '/memfd:libusdt:jitprov/ {print $9}' | head -n 1)
[ -n "$fd" ] || fail "no memfd for jitprov in /proc/$TPID/fd"
obj=/proc/$TPID/fd/$fd
pc=$(note_offset "$obj" vmarg Location:)
[ -n "$pc" ] || fail "no note for vmarg in $obj"
T=/sys/kernel/tracing GROUP=usdt_jit$$
echo "p:$GROUP/raw $obj:$pc acc=$ACC:s64 f=+0($FRAME):s32" >> $T/uprobe_events || fail "tracefs refused the raw uprobe"
echo > $T/trace
echo 1 > $T/events/$GROUP/raw/enable
sleep 0.5
echo 0 > $T/events/$GROUP/raw/enable
n=$(grep -c 'acc=-1234567890123 f=-100000' $T/trace)
echo "-:$GROUP/raw" >> $T/uprobe_events
[ "$n" -gt 0 ] || { head -5 $T/trace; fail "no raw uprobe events: the inlined site-byte check did not call the site"; }
ok "a raw uprobe (no semaphore) on the site got $n events with acc=-1234567890123 f=-100000"
stop_target
