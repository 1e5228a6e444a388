#!/usr/bin/env bash
# GDB attached to a forked child (issue 9, item 8). The child inherits the
# parent's link map, whose object names were /proc/<parent>/fd/N; the
# parent then frees provider gfa and enables gfb, which takes gfa's
# descriptor number (tests/progs/fork_gdb.c). `gdb -p CHILD` must list the
# child's gfa:a at an address inside the child's own mapping of gfa, under
# a name designating the child (or, loaded by the map strategy, read from
# the child's memory), and must not list the parent's gfb:b.
. "$(dirname "$0")/../lib.sh"
need gdb; need_root
TOUT=$TMP/fg.out
"$BUILD/tests/progs/fork_gdb" > "$TOUT" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q READY "$TOUT" && break; sleep 0.1; done
read -r _ parent child fda fdb < <(grep READY "$TOUT")
[ -n "${fdb:-}" ] || fail "fork_gdb did not start"
[ "$fda" = "$fdb" ] || echo "note: gfb got descriptor $fdb, gfa had $fda"
ok "parent $parent: gfa had fd $fda, gfb now has fd $fdb; child $child"

timeout 60 gdb -p "$child" -batch -ex 'info probes stap' > "$TMP/list" 2>&1
sed 's/^/  gdb| /' "$TMP/list" | grep -E 'stap|Type' 
line=$(grep -E '^stap +gfa +a +0x' "$TMP/list")
[ -n "$line" ] || fail "gdb on the child does not list the child's gfa:a"
grep -qE '^stap +gfb +b ' "$TMP/list" && fail "gdb on the child lists the parent's gfb:b"
ok "gdb on the child lists gfa:a and not the parent's gfb:b"

addr=$(echo "$line" | awk '{print $4}')
inside=0
while read -r range _ _ _ _ name; do
  lo=$((16#${range%-*})); hi=$((16#${range#*-}))
  [ $((addr)) -ge $lo ] && [ $((addr)) -lt $hi ] && [[ $name == *libusdt:gfa* ]] && inside=1
done < /proc/$child/maps
[ $inside = 1 ] || fail "gfa:a at $addr is not inside the child's mapping of gfa"
ok "gfa:a is at $addr, inside the child's own mapping of gfa"
if [[ $line == *"<in-memory@"* ]]; then
  # the map strategy (src/linux/gdb_jit.c): GDB read the object from the
  # child's own memory, where no name can designate the parent
  ok "gdb read the object from the child's memory: $(echo "$line" | awk '{print $NF}')"
else
  echo "$line" | grep -q "/proc/$child/" || fail "the object is not named after the child: $line"
  ok "the object is named after the child: $(echo "$line" | awk '{print $NF}')"
fi
