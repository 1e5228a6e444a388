#!/usr/bin/env bash
# fork(): the child inherits working probes — bpftrace attached to the
# child's pid sees the child's fires and bpftrace on the parent's pid the
# parent's; the child can disable and free its copy (its probes vanish from
# its listing) without affecting the parent, whose probe still fires.
. "$(dirname "$0")/../lib.sh"
need bpftrace; need_root
TOUT=$TMP/fork.out
"$BUILD/tests/progs/forker" > "$TOUT" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q READY "$TOUT" && break; sleep 0.1; done
read -r _ parent child < <(grep READY "$TOUT")
[ -n "${child:-}" ] || fail "forker did not start"
readp() { timeout 20 bpftrace -p "$1" -e 'usdt:*:fk:p { printf("GOT %d %s\n", arg0, str(arg1)); exit(); }' 2>/dev/null | grep '^GOT'; }
got=$(readp "$parent"); [ "$got" = "GOT 1 parent" ] || fail "parent: [$got]"
ok "bpftrace on the parent ($parent) reads the parent's fire: $got"
got=$(readp "$child"); [ "$got" = "GOT 2 child" ] || fail "child: [$got]"
ok "bpftrace on the child ($child) reads the child's fire: $got"
kill -USR1 "$child"
for _ in $(seq 50); do grep -q 'CHILD FREED' "$TOUT" && break; sleep 0.1; done
grep -q 'CHILD FREED' "$TOUT" || fail "child did not free its provider"
n=$(bpftrace -l 'usdt:*' -p "$child" 2>/dev/null | grep -c 'fk:p')
[ "$n" = 0 ] || fail "the child still lists fk:p after freeing it"
ok "the child's probes are gone from its listing after it freed its provider"
grep -q 'memfd:libusdt:fk' /proc/$child/maps && fail "the child still maps the object"
got=$(readp "$parent"); [ "$got" = "GOT 1 parent" ] || fail "parent after the child's free: [$got]"
ok "the parent's probe still fires after the child freed its copy: $got"
