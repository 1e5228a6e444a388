#!/usr/bin/env bash
# tests/vm/deps.sh — `make deps-arch`: what the other-architecture checks
# need on a Debian 12 x86_64 host, as root: the aarch64 cross compiler and
# qemu-user with binfmt (check-aarch64-user), 32-bit libc/libgcc for
# `gcc -m32` (check-i386; NOT gcc-multilib, which conflicts with the
# aarch64 cross compiler on Debian 12, hence -idirafter in the Makefile's
# I386_CC), and qemu-system-arm + mmdebstrap for the arm64 VM
# (check-aarch64). Registers qemu-aarch64 with binfmt_misc. Idempotent.
set -eu
PKGS=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static binfmt-support arch-test
      lib32gcc-12-dev libc6-dev-i386 qemu-system-arm mmdebstrap cpio e2fsprogs busybox-static zstd xz-utils)
[ "$(id -u)" = 0 ] || { echo "tests/vm/deps.sh: needs root" >&2; exit 1; }
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 2>/dev/null || true
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "tests/vm/deps.sh: qemu-aarch64 binfmt not registered" >&2; exit 1; }
echo "other-architecture dependencies are installed"
