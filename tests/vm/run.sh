#!/usr/bin/env bash
# tests/vm/run.sh — `make check-aarch64`: the tracer tests on a real arm64
# kernel. Builds the VM image once (tests/vm/build-image.sh, cached in
# $USDT_VM_CACHE), makes a read-only ext4 disk of the current sources,
# boots the VM under qemu-system-aarch64 (TCG: no KVM for arm64 on x86_64
# hosts) with the root disk in snapshot mode (the cache stays clean), and
# returns the guest's exit code (tests/vm/guest.sh). Prints the timings.
# USDT_VM_BENCH=1: the guest runs the fast-path benchmarks (bench/run.sh:
# untraced, untraced-shared, jit, traced) instead of the tests; their
# output goes to $USDT_VM_BENCH_OUT (default build-vm-bench)/bench.log and
# results.csv. BENCH_RUNS, BENCH_SCALE (default 0.05: TCG is slow) and
# BENCH_TRACED_FIRES (default 20000) are passed on.
# USDT_VM_TESTS="dof/t_linux_dtrace ...": the guest runs only those tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=${USDT_VM_CACHE:-/var/cache/libusdt-vm}
BENCH=${USDT_VM_BENCH:-0}
VM_TIMEOUT=${VM_TIMEOUT:-$([ "$BENCH" != 0 ] && echo 2400 || echo 1200)}   # seconds for boot + build + tests
VM_MEM=2048
VM_CPUS=2
t0=$(date +%s)
tests/vm/build-image.sh
t1=$(date +%s)
work=$(mktemp -d /tmp/usdt-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
# the sources as git sees them (tracked and new files, no build dirs)
mkdir "$work/src"
git ls-files -co --exclude-standard -z | grep -zv '^build' | xargs -0 cp --parents -t "$work/src" 2>/dev/null || true
# what the guest should run (tests/vm/guest.sh reads it)
if [ "$BENCH" != 0 ]; then
  printf 'USDT_VM_BENCH=1\nBENCH_RUNS=%s\nBENCH_SCALE=%s\nBENCH_TRACED_FIRES=%s\n' "${BENCH_RUNS:-7}" \
    "${BENCH_SCALE:-0.05}" "${BENCH_TRACED_FIRES:-20000}" > "$work/src/.usdt-vm-env"
fi
if [ -n "${USDT_VM_TESTS:-}" ]; then
  printf 'USDT_VM_TESTS="%s"\n' "$USDT_VM_TESTS" >> "$work/src/.usdt-vm-env"
fi
mkfs.ext4 -q -F -d "$work/src" "$work/src.img" 256M
log=$work/console.log
set +e
timeout "$VM_TIMEOUT" qemu-system-aarch64 -M virt -accel tcg,thread=multi -cpu cortex-a72 -smp "$VM_CPUS" -m "$VM_MEM" \
  -nographic -no-reboot -nic none -kernel "$CACHE/vmlinuz" -initrd "$CACHE/initrd.img" \
  -append "console=ttyAMA0 root=/dev/vda rw panic=-1 quiet" \
  -drive file="$CACHE/rootfs.img",format=raw,if=virtio,snapshot=on \
  -drive file="$work/src.img",format=raw,if=virtio,readonly=on </dev/null 2>&1 | tee "$log" |
  grep -E --line-buffered '^(PASS|FAIL|SKIP|guest:|[0-9]+ passed|    \||libusdt bench|== |section |# |untraced|jit |traced |bench:|targets:)'
set -e
t2=$(date +%s)
if [ "$BENCH" != 0 ]; then
  out=${USDT_VM_BENCH_OUT:-build-vm-bench}
  mkdir -p "$out"
  tr -d '\r' < "$log" > "$out/bench.log"
  sed -n 's/^bench-csv|//p' "$out/bench.log" > "$out/results.csv"
  echo "vm: bench output in $out/bench.log, $(($(wc -l < "$out/results.csv") - 1)) figures in $out/results.csv"
fi
rc=$(grep -ao 'USDT-VM-EXIT [0-9]*' "$log" | tail -n 1 | awk '{print $2}')
echo "vm: image $((t1 - t0))s, boot+build+tests $((t2 - t1))s, guest exit ${rc:-none}"
[ -n "$rc" ] || { echo "vm: no exit code on the console (timeout or panic); last lines:"; tail -n 30 "$log"; exit 1; }
exit "$rc"
