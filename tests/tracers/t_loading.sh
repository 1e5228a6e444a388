#!/usr/bin/env bash
# Loading strategies and locked-down systems.
#  - default: a sealed memfd, no file anywhere; W^X (no mapping is writable
#    and executable); bpftrace reads the probe.
#  - LIBUSDT_LOADER=memfd,map: an object linked for the map loader, loaded
#    by dlopen elsewhere (a load bias): bpftrace and gdb still read it.
#  - vm.memfd_noexec=1 and =2 (set in a child pid namespace, where the
#    sysctl is per namespace): still loads from a memfd, bpftrace reads it.
#  - memfd_create refused by seccomp: falls back to a file in /dev/shm,
#    bpftrace reads it, the file is removed at exit.
#  - memfd refused and the file directory mounted noexec: enable fails with
#    a message naming both reasons; nothing is left in the directory.
#  - SIGKILL: with a memfd nothing exists on disk at all; with a file, the
#    next process using the file strategy removes the dead process's file.
. "$(dirname "$0")/../lib.sh"
need bpftrace gdb tplist-bpfcc unshare; need_root
NOMEMFD=$BUILD/tests/progs/no_memfd
SPEC='ld:p:int,char *'

read_p() {   # read_p PID -> "GOT <arg0> <str>" through bpftrace
  timeout 30 bpftrace -p "$1" -e 'usdt:*:ld:p { printf("GOT %d %s\n", arg0, str(arg1)); exit(); }' 2>/dev/null | grep '^GOT'
}
litter() { ls /dev/shm /tmp ${XDG_RUNTIME_DIR:-} 2>/dev/null | grep -c '^libusdt-' || true; }
litter0=$(litter)

# default
start_target -i 20 "$SPEC"
grep -q '/memfd:libusdt:ld (deleted)' /proc/$TPID/maps || fail "default strategy is not memfd"
[ "$(litter)" = "$litter0" ] || fail "a file was created by the default strategy"
awk '$2 ~ /w/ && $2 ~ /x/ {print; bad=1} END {exit bad}' /proc/$TPID/maps || fail "a mapping is writable and executable"
got=$(read_p "$TPID"); [ "$got" = "GOT -2147483648 " ] || fail "bpftrace read [$got]"
ok "default: memfd, no file, W^X holds, bpftrace reads the probe"
stop_target

# An object linked for the map loader, then loaded by dlopen: the image is
# linked where the map strategy would map it (elf_image.c, "Link address")
# before the strategy is chosen, so when map is listed after a dlopen
# strategy (or fails late) ld.so loads a based object elsewhere, with a
# load bias, as it would a prelinked library. Tracers must still agree.
LIBUSDT_LOADER=memfd,map start_target -i 20 "$SPEC"
fd=$(ls -l /proc/$TPID/fd | awk '/memfd:libusdt:ld/ {print $9}' | head -n 1)
[ -n "$fd" ] || fail "memfd,map: no memfd for provider ld"
link=$(readelf -lW /proc/$TPID/fd/$fd | awk '$1=="LOAD" {print $3; exit}')
[ -n "$link" ] && [ $((link)) -ne 0 ] || fail "memfd,map: the object is not linked at an address (first LOAD at [$link])"
start=$(awk '/memfd:libusdt:ld/ {split($1, a, "-"); print "0x" a[1]; exit}' /proc/$TPID/maps)
[ $((start)) -ne $((link)) ] || fail "memfd,map: dlopen mapped the object at its link address $link: no load bias to test"
got=$(read_p "$TPID"); [ "$got" = "GOT -2147483648 " ] || fail "memfd,map: bpftrace read [$got]"
timeout 60 gdb -p "$TPID" -batch -ex 'info probes stap' 2>/dev/null | grep -qE "^stap +ld +p " ||
  fail "memfd,map: gdb does not list the probe of the based object"
timeout 60 gdb -p "$TPID" -batch -ex 'break -probe-stap ld:p' -ex continue -ex 'printf "ARG %d\n", $_probe_arg0' \
  2>/dev/null | grep -q '^ARG -2147483648' || fail "memfd,map: gdb did not stop at the probe with its argument"
ok "memfd,map: an object linked at $link, dlopen()ed at $start: bpftrace reads the probe, gdb lists it and stops at it"
stop_target

# vm.memfd_noexec = 1, 2
for lvl in 1 2; do
  out=$TMP/ns$lvl.out
  unshare -pf --mount-proc bash -c "echo $lvl > /proc/sys/vm/memfd_noexec && exec $TARGET -t 20 -i 20 '$SPEC'" > "$out" 2>&1 &
  ns=$!
  for _ in $(seq 50); do grep -q READY "$out" && break; sleep 0.1; done
  hostpid=$(pgrep -n -f "$TARGET -t 20 -i 20")
  [ -n "$hostpid" ] || fail "target in namespace did not start: $(cat "$out")"
  grep -q '/memfd:libusdt:ld' /proc/$hostpid/maps || fail "vm.memfd_noexec=$lvl: not loaded from a memfd: $(cat "$out")"
  got=$(read_p "$hostpid"); [ "$got" = "GOT -2147483648 " ] || fail "vm.memfd_noexec=$lvl: bpftrace read [$got]"
  ok "vm.memfd_noexec=$lvl: loads from a memfd and bpftrace reads the probe"
  kill "$hostpid"; wait "$ns" 2>/dev/null
done

# memfd refused -> file in /dev/shm
TOUT=$TMP/nomemfd.out
env -u XDG_RUNTIME_DIR "$NOMEMFD" "$TARGET" -i 20 "$SPEC" > "$TOUT" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q READY "$TOUT" && break; sleep 0.1; done
file=$(grep -o '/dev/shm/libusdt-[^ ]*' /proc/$TPID/maps | head -n 1)
[ -n "$file" ] || fail "memfd refused: no fallback file mapped"
got=$(read_p "$TPID"); [ "$got" = "GOT -2147483648 " ] || fail "file strategy: bpftrace read [$got]"
ok "memfd refused by seccomp: falls back to $file, bpftrace reads the probe"
tplist-bpfcc -p "$TPID" 2>/dev/null | grep -q "$file ld:p" || fail "tplist-bpfcc does not list the file-backed probe"
ok "tplist-bpfcc lists the file-backed probe"
timeout 60 gdb -p "$TPID" -batch -ex 'info probes stap' 2>/dev/null | grep -qE "^stap +ld +p .*$file" || fail "gdb does not list the file-backed probe"
ok "gdb lists the file-backed probe"
stop_target
[ ! -e "$file" ] || fail "$file left after exit"
ok "the fallback file is removed at exit"

# memfd refused and a noexec directory: a clear error
mnt=$TMP/noexec; mkdir -p "$mnt"
mount -t tmpfs -o noexec,size=1m tmpfs "$mnt" || fail "cannot mount a noexec tmpfs"
LIBUSDT_DIR=$mnt "$NOMEMFD" "$TARGET" -t 1 "$SPEC" > "$TMP/err.out" 2>&1 && { umount "$mnt"; fail "enable succeeded without an executable place"; }
msg=$(grep enable "$TMP/err.out")
left=$(ls "$mnt" | wc -l); umount "$mnt"
echo "$msg" | grep -q 'map: memfd_create: Operation not permitted' || fail "error does not name the map strategy's memfd failure: $msg"
echo "$msg" | grep -q 'memfd: memfd_create: Operation not permitted' || fail "error does not name the memfd failure: $msg"
echo "$msg" | grep -q 'file: dlopen(.*failed to map segment' || fail "error does not name the noexec failure: $msg"
[ "$left" = 0 ] || fail "files left in the noexec directory"
ok "memfd refused + noexec directory: $msg"

# SIGKILL
start_target -i 20 "$SPEC"
kill -9 "$TPID"; wait "$TPID" 2>/dev/null; TPID=
[ "$(litter)" = "$litter0" ] || fail "SIGKILL with memfd left a file"
ok "SIGKILL with the memfd strategy leaves nothing on disk"
dir=$TMP/files; mkdir -p "$dir"
LIBUSDT_LOADER=file LIBUSDT_DIR=$dir start_target -i 20 "$SPEC"
kill -9 "$TPID"; wait "$TPID" 2>/dev/null; TPID=
[ "$(ls "$dir" | wc -l)" = 1 ] || fail "expected the killed process's file in $dir"
LIBUSDT_LOADER=file LIBUSDT_DIR=$dir "$TARGET" -t 0.2 "$SPEC" > /dev/null 2>&1
[ "$(ls "$dir" | wc -l)" = 0 ] || fail "stale file not removed: $(ls "$dir")"
ok "SIGKILL with the file strategy: the next process removed the stale file"
