#!/usr/bin/env bash
# A daemon closes every descriptor while provider healA is enabled, then
# enables healB (issue 9, item 4). healA's memfd descriptor is gone, so
# bpftrace -p could no longer find healA's object: libusdt notices that
# its new descriptor got the number of one of its own, rebuilds healA's
# object, and bpftrace reads the exact values of both providers' probes.
. "$(dirname "$0")/../lib.sh"
need bpftrace; need_root
TOUT=$TMP/closefds.out
"$BUILD/tests/progs/closefds" > "$TOUT" 2>&1 &
TPID=$!
trap 'kill $TPID 2>/dev/null; cleanup_lib' EXIT
for _ in $(seq 50); do grep -q READY "$TOUT" && break; sleep 0.1; done
grep -q READY "$TOUT" || fail "target did not start: $(cat "$TOUT")"
ls -l /proc/$TPID/fd | sed 's/^/# /'
got=$(timeout 20 bpftrace -p "$TPID" -e 'usdt:*:healA:tick { @a[arg0] = count(); } usdt:*:healB:tock { @b[arg0] = count(); } interval:s:1 { exit(); }' 2>&1 | grep -o '@[ab]\[[0-9]*\]' | sort | tr '\n' ' ')
[ "$got" = "@a[42] @b[7] " ] || fail "bpftrace saw [$got], want @a[42] @b[7]"
ok "after close-all-fds, bpftrace -p reads healA:tick=42 and healB:tock=7"
