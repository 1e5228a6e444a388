#!/usr/bin/env bash
# Two enabled providers with the same name (two copies of a library in one
# process; libusdt 0.x allowed it): they share one object, so bpftrace lists
# all their probes once under the name, a probe both define is one probe
# with two locations and bpftrace receives both providers' fires, and
# disabling one provider removes only its probes.
. "$(dirname "$0")/../lib.sh"
need bpftrace; need_root
TOUT=$TMP/twins.out
"$BUILD/tests/progs/twins" > "$TOUT" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q READY "$TOUT" && break; sleep 0.1; done
list() { bpftrace -l 'usdt:*' -p "$TPID" 2>/dev/null | grep ':twin:' | sed 's/.*:twin://' | sort | tr '\n' ' '; }
[ "$(list)" = "only_a only_b p " ] || fail "bpftrace lists [$(list)]"
# One object visible to tracers (bcc and bpftrace find memfd objects through
# the process's descriptors). The first provider's previous object stays
# mapped, hidden (no descriptor, no link-map name), for its inline checks
# (usdt.h, usdt_is_enabled_inline).
[ "$(ls -l /proc/$TPID/fd | grep -c 'memfd:libusdt:twin')" = 1 ] || fail "not one shared object visible ($(ls -l /proc/$TPID/fd | grep -c 'memfd:libusdt:twin') descriptors)"
ok "two providers named twin share one object; bpftrace lists only_a only_b p"
got=$(timeout 20 bpftrace -p "$TPID" -e 'usdt:*:twin:p { @[arg0] = count(); } interval:s:1 { exit(); }' 2>/dev/null | grep -o '@\[[0-9]*\]' | sort | tr '\n' ' ')
[ "$got" = "@[1] @[2] " ] || fail "bpftrace on twin:p saw [$got], want fires from both providers"
ok "bpftrace attached to twin:p receives both providers' fires: $got"
kill -USR1 "$TPID"
for _ in $(seq 50); do grep -q 'A DISABLED' "$TOUT" && break; sleep 0.1; done
[ "$(list)" = "only_b p " ] || fail "after disabling a, bpftrace lists [$(list)]"
got=$(timeout 20 bpftrace -p "$TPID" -e 'usdt:*:twin:p { @[arg0] = count(); } interval:s:1 { exit(); }' 2>/dev/null | grep -o '@\[[0-9]*\]' | sort | tr '\n' ' ')
[ "$got" = "@[2] " ] || fail "after disabling a, twin:p saw [$got]"
ok "disabling one provider removes only its probes: lists only_b p, twin:p fires from b only"
