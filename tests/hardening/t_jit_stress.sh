#!/usr/bin/env bash
# A JIT that inlines probe addresses (tests/progs/jit.c, usdt_vm.h) fires
# from 4 threads while another thread changes the provider 10 000 times:
# no crash, and no object the JIT had not acknowledged was ever unmapped.
# Run by make check-asan and check-tsan too (hardening/), so ASan and TSan
# see the notify/ack protocol under load (the JIT emits x86_64 or aarch64).
. "$(dirname "$0")/../lib.sh"
JIT=$BUILD/tests/progs/jit
need readelf
readelf -h "$JIT" | grep -q -e 'X86-64' -e 'AArch64' || { echo "SKIP: the test JIT emits x86_64 and aarch64 code only"; exit 77; }
out=$(timeout 240 "$JIT" stress 10000 2>&1) || fail "jit stress failed (exit $?): $out"
case $out in *"rounds=10000 notifies="*"early_unmaps=0"*) ;; *) fail "unexpected: $out" ;; esac
ok "$out"
