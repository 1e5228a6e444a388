#!/usr/bin/env bash
# fork() with the file strategy (issue 9, item 7): the child inherits the
# parent's object file; when the child frees its provider only its own
# references go — the file belongs to the process that created it. After
# the child freed (tests/progs/forker.c, SIGUSR1), the parent's file still
# exists, the parent's mapping is not "(deleted)", and bpftrace -p PARENT
# lists the probe and reads the parent's fire. When the parent exits, its
# file is removed.
. "$(dirname "$0")/../lib.sh"
need bpftrace; need_root
dir=$TMP/objs; mkdir -p "$dir"
TOUT=$TMP/fork.out; : > "$TOUT"
LIBUSDT_LOADER=file LIBUSDT_DIR=$dir "$BUILD/tests/progs/forker" > "$TOUT" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q READY "$TOUT" && break; sleep 0.1; done
read -r _ parent child < <(grep READY "$TOUT")
[ -n "${child:-}" ] || fail "forker did not start"
file=$(grep -o "$dir/libusdt-[^ ]*" /proc/$parent/maps | head -n 1)
[ -n "$file" ] && [ -e "$file" ] || fail "the parent maps no object file in $dir"
ok "the parent's object is $file"
kill -USR1 "$child"
for _ in $(seq 50); do grep -q 'CHILD FREED' "$TOUT" && break; sleep 0.1; done
grep -q 'CHILD FREED' "$TOUT" || fail "child did not free its provider"
[ -e "$file" ] || fail "the child's free removed the parent's file $file"
ok "the parent's file still exists after the child freed its provider"
grep -F "$file" /proc/$parent/maps | grep -q '(deleted)' && fail "the parent's mapping is (deleted)"
ok "the parent's mapping is not (deleted)"
bpftrace -l 'usdt:*' -p "$parent" 2>/dev/null | grep -q 'fk:p' || fail "bpftrace -l -p PARENT does not list fk:p"
ok "bpftrace -l -p $parent lists fk:p"
got=$(timeout 20 bpftrace -p "$parent" -e 'usdt:*:fk:p { printf("GOT %d %s\n", arg0, str(arg1)); exit(); }' 2>/dev/null | grep '^GOT')
[ "$got" = "GOT 1 parent" ] || fail "bpftrace on the parent read [$got]"
ok "bpftrace -p $parent reads the parent's fire: $got"
kill "$TPID"; wait "$TPID" 2>/dev/null; TPID=
[ -e "$file" ] && fail "the parent left $file at exit"
ok "the parent removed its file at exit"
