#!/usr/bin/env bash
# tests/vm/build-image.sh — build (once) the arm64 Debian 12 VM that
# `make check-aarch64` (tests/vm/run.sh) boots under qemu-system-aarch64 to
# run the tracer tests on a real aarch64 kernel. Root only.
#
# Output in $USDT_VM_CACHE (default /var/cache/libusdt-vm, outside the
# repository so it survives `git clean` and is shared by checkouts):
#   rootfs.img   ext4 root file system (Debian bookworm arm64 with the
#                kernel, bpftrace, gdb, gcc, make, sys/sdt.h)
#   vmlinuz      the kernel from that root file system
#   initrd.img   a tiny initramfs built here: static busybox + the virtio and
#                ext4 modules, which mounts /dev/vda and switch_roots
#   stamp        written last: the image is complete
# Rebuilt only when the stamp is missing or IMAGE_VERSION below changes.
# Facts this follows (measured): docs from ../shared/docs/aarch64-vm.md —
# Debian's own initramfs generator takes ~30 min under emulation, so it is
# diverted to /bin/true and the initrd is made on the host; --variant=apt
# lacks `mount`, so it is included.
set -euo pipefail
IMAGE_VERSION=1                       # bump when the package list changes
CACHE=${USDT_VM_CACHE:-/var/cache/libusdt-vm}
SUITE=bookworm
IMAGE_SIZE=4G
PKGS=linux-image-arm64,kmod,mount,busybox-static,bpftrace,gcc,make,libc6-dev,systemtap-sdt-dev,gdb,binutils,procps,e2fsprogs
# insmod order: dependencies first
MODULES=(virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk crc16 mbcache jbd2 crc32c_generic ext4)

if [ -f "$CACHE/stamp" ] && [ "$(cat "$CACHE/stamp")" = "$IMAGE_VERSION" ]; then
  echo "vm image: cached in $CACHE"; exit 0
fi
[ "$(id -u)" = 0 ] || { echo "build-image.sh: needs root (mmdebstrap --mode=root)" >&2; exit 1; }
for c in mmdebstrap qemu-aarch64-static mkfs.ext4 cpio busybox; do
  command -v "$c" >/dev/null || { echo "build-image.sh: $c missing (make deps-aarch64)" >&2; exit 1; }
done
# the mirror apt already uses on this machine (never a host name of ours)
MIRROR=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$MIRROR" ] || MIRROR=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list)
mkdir -p "$CACHE"
rm -f "$CACHE/stamp"
WORK=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true

mmdebstrap --mode=root --arch=arm64 --variant=apt --include="$PKGS" \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --essential-hook='chroot "$1" dpkg-divert --local --rename --add /usr/sbin/update-initramfs && ln -sf /bin/true "$1/usr/sbin/update-initramfs"' \
  "$SUITE" "$WORK/root" "$MIRROR" 2>&1 | tail -n 5
echo "vm image: rootfs in $(( $(date +%s) - start ))s"

# the guest's first process: mount the sources disk and run its script,
# so that changing tests/vm/guest.sh never needs a new image
cat > "$WORK/root/sbin/usdt-vm-init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /src && mount -o ro /dev/vdb /src
if [ -x /src/tests/vm/guest.sh ]; then /src/tests/vm/guest.sh; rc=$?; else rc=99; fi
echo "USDT-VM-EXIT $rc"
sync; echo o > /proc/sysrq-trigger; sleep 10
INIT
chmod 755 "$WORK/root/sbin/usdt-vm-init"

kver=$(ls "$WORK/root/lib/modules" | sort -V | tail -n 1)
cp "$WORK/root/boot/vmlinuz-$kver" "$WORK/vmlinuz"
mkdir -p "$WORK/initrd/bin" "$WORK/initrd/lib/modules" "$WORK/initrd/newroot" "$WORK/initrd/proc" "$WORK/initrd/sys" "$WORK/initrd/dev"
cp "$WORK/root/bin/busybox" "$WORK/initrd/bin/busybox"    # the arm64 static busybox
for m in "${MODULES[@]}"; do
  f=$(find "$WORK/root/lib/modules/$kver" -name "$m.ko*" | head -n 1)
  [ -n "$f" ] || { echo "build-image.sh: module $m not found" >&2; exit 1; }
  case $f in
    *.xz) xz -dc "$f" > "$WORK/initrd/lib/modules/$m.ko" ;;
    *.zst) zstd -qdc "$f" > "$WORK/initrd/lib/modules/$m.ko" ;;
    *) cp "$f" "$WORK/initrd/lib/modules/$m.ko" ;;
  esac
done
cat > "$WORK/initrd/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in ${MODULES[*]}; do insmod /lib/modules/\$m.ko 2>/dev/null; done
for i in \$(seq 100); do [ -b /dev/vda ] && break; sleep 0.1; done
mount -o rw /dev/vda /newroot || { echo "USDT-VM-EXIT 98"; echo o > /proc/sysrq-trigger; }
umount /proc /sys; umount /dev 2>/dev/null
exec switch_root /newroot /sbin/usdt-vm-init
INIT
chmod 755 "$WORK/initrd/init"
(cd "$WORK/initrd" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initrd.img"

rm -rf "$WORK/root/var/cache/apt/archives"/*.deb "$WORK/root/var/lib/apt/lists"/*_Packages
mkfs.ext4 -q -F -L usdtvm -d "$WORK/root" "$WORK/rootfs.img" "$IMAGE_SIZE"
mv "$WORK/rootfs.img" "$WORK/vmlinuz" "$WORK/initrd.img" "$CACHE/"
echo "$IMAGE_VERSION" > "$CACHE/stamp"
echo "vm image: built in $(( $(date +%s) - start ))s ($kver) -> $CACHE"
