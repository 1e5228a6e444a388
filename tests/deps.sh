#!/usr/bin/env bash
# tests/deps.sh — install what the test suite needs on Debian 12 (as root):
# the tracers the tests attach (bpftrace, bcc, libbpf, gdb, perf), kernel headers
# for bcc's compiler, sys/sdt.h for the benchmarks' compiled-in baselines,
# valgrind, clang and libelf-dev for the sanitizer and fuzz runs; mandoc, pip/venv and
# the Debian packaging tools for the packaging tests; then mount tracefs.
# Idempotent and quick when everything is there. `make deps` runs it.
set -eu
PKGS=(gcc make clang pkg-config binutils libelf-dev libbpf-dev gdb valgrind bpftrace bpfcc-tools python3-bpfcc linux-perf
      systemtap-sdt-dev linux-headers-amd64 gnuplot-nox libclang-rt-14-dev
      mandoc groff-base python3-pip python3-venv debhelper dh-python lintian fakeroot dpkg-dev)
if [ "$(id -u)" != 0 ]; then
  echo "tests/deps.sh: not root; skipping package installation (tracer tests will be skipped)" >&2
  exit 0
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -e /sys/kernel/tracing/uprobe_events ]; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi
[ -e /sys/kernel/tracing/uprobe_events ] || echo "tests/deps.sh: warning: tracefs is not available" >&2
if [ -x .ci/deps-bindings.sh ] || [ -f .ci/deps-bindings.sh ]; then
  bash .ci/deps-bindings.sh
fi
echo "test dependencies are installed"
