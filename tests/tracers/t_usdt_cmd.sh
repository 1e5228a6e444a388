#!/usr/bin/env bash
# The `usdt` command (tools/usdt.c, issue 12 part 2) on live processes:
# three programs linked with libusdt.so (tests/progs_shared/typed.c) — one on
# the memfd strategy, one on LIBUSDT_LOADER=file in a private 0700
# LIBUSDT_DIR, one that forks after enabling (parent and child) — and
#   - `usdt list` and `usdt list --json` (parsed by python3) show each with
#     its provider, module, probes, declared C types and the path tracers
#     use; "attached" flips while a bpftrace is attached and back after,
#     and under a raw uprobe without a semaphore (site byte);
#   - `usdt trace -p PID` prints the exact typed values of int8..uint64
#     (negative for signed types), strings and pointers, for the memfd,
#     file and forked-child process, and exits 0 on SIGINT;
#   - `usdt trace` without -p (system-wide through libusdt:fire) prints the
#     same values from all of them (first three arguments, bpftrace < 0.24);
#   - clear errors for a missing probe, a missing or too old bpftrace;
#   - the type metadata changes nothing for tracers: readelf, bpftrace -l,
#     tplist and gdb `info probes` see exactly the six probes.
. "$(dirname "$0")/../lib.sh"
need bpftrace python3 readelf; need_root
USDT=$BUILD/bin/usdt
PROG=$BUILD/tests/progs_shared/typed
[ -x "$USDT" ] || fail "$USDT is not built"
[ -x "$PROG" ] || fail "$PROG is not built"
PM=ucmem$$ PF=ucfile$$ PK=ucfork$$
PIDS=()
cleanup() {
  [ -n "${GROUP:-}" ] && [ -d "/sys/kernel/tracing/events/$GROUP" ] &&
    { echo 0 > "/sys/kernel/tracing/events/$GROUP/enable"; echo "-:$GROUP/raw" >> /sys/kernel/tracing/uprobe_events; } 2>/dev/null
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  cleanup_lib
}
trap cleanup EXIT
mkdir -m 700 "$TMP/objdir"

wait_for() {   # wait_for FILE REGEX [SECONDS]
  for _ in $(seq $((${3:-10} * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
"$PROG" "$PM" > "$TMP/m.out" 2>&1 & PIDS+=($!)
LIBUSDT_LOADER=file LIBUSDT_DIR=$TMP/objdir "$PROG" "$PF" > "$TMP/f.out" 2>&1 & PIDS+=($!)
"$PROG" -f "$PK" > "$TMP/k.out" 2>&1 & PIDS+=($!)
wait_for "$TMP/m.out" READY && wait_for "$TMP/f.out" READY && wait_for "$TMP/k.out" CHILD ||
  fail "targets did not start: $(cat "$TMP"/*.out)"
MP=$(sed -n 's/READY //p' "$TMP/m.out"); FP=$(sed -n 's/READY //p' "$TMP/f.out")
KP=$(sed -n 's/READY //p' "$TMP/k.out"); CP=$(sed -n 's/CHILD //p' "$TMP/k.out")
echo "# memfd $MP, file $FP, fork parent $KP, child $CP"

# ---- usdt list ----
"$USDT" list > "$TMP/list" 2>&1 || fail "usdt list failed: $(cat "$TMP/list")"
sed 's/^/# /' "$TMP/list" | grep -e "$PM" -e "$PF" -e "$PK"
PROBES=("ints(int8_t, uint8_t, int16_t)" "ints2(uint16_t, int32_t, uint32_t)" "ints3(int64_t, uint64_t, char \*)"
        "ptrs(void \*, char \*, bool)" "all8(int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t)"
        "req__start(int)")
check_list() {   # check_list PID PROVIDER KIND PATH-REGEX
  local pid=$1 prov=$2 kind=$3 path=$4 block
  block=$(awk -v h="^$pid typed: provider $prov, module typedmod, $kind object $path\$" \
    '$0 ~ h { on = 1; print; next } /^[0-9]/ { on = 0 } on' "$TMP/list")
  [ -n "$block" ] || fail "usdt list has no '$pid typed: provider $prov, module typedmod, $kind object $path'"
  [ "$(echo "$block" | wc -l)" = 7 ] || fail "usdt list: $prov in $pid: not 6 probes: $block"
  for p in "${PROBES[@]}"; do
    echo "$block" | grep -q "^  -         $prov:$p\$" || fail "usdt list: $pid lacks '$prov:$p' (not attached)"
  done
}
check_list "$MP" "$PM" memfd "/proc/$MP/fd/[0-9]*"
check_list "$FP" "$PF" file "$TMP/objdir/libusdt-$FP-$PF-[A-Za-z0-9]*\.so"
check_list "$KP" "$PK" memfd "/proc/$KP/fd/[0-9]*"
check_list "$CP" "$PK" memfd "/proc/$CP/fd/[0-9]*"
ok "usdt list: memfd, file and forked child (and its parent), each with 6 probes, exact C types, paths"
FPATH=$(sed -n "s|^$FP typed: provider $PF, module typedmod, file object ||p" "$TMP/list")
[ -f "$FPATH" ] && grep -qF "$FPATH" "/proc/$FP/maps" || fail "file object path $FPATH is not the mapped file"
MPATH=$(sed -n "s|^$MP typed: provider $PM, module typedmod, memfd object ||p" "$TMP/list")
[ "$(readlink "$MPATH")" = "/memfd:libusdt:$PM (deleted)" ] || fail "$MPATH is not the memfd: $(readlink "$MPATH")"
ok "paths: $FPATH is the mapped file, $MPATH links to /memfd:libusdt:$PM"

json_check() {   # json_check PID... : python3 asserts on usdt list --json
  "$USDT" list --json > "$TMP/json" || fail "usdt list --json failed"
  python3 -m json.tool "$TMP/json" > /dev/null || fail "usdt list --json is not JSON: $(head -c 400 "$TMP/json")"
  python3 - "$TMP/json" "$@" <<'EOF' || fail "usdt list --json content"
import json, sys
objs = json.load(open(sys.argv[1]))
want = {"ints": ["int8_t", "uint8_t", "int16_t"], "ints2": ["uint16_t", "int32_t", "uint32_t"],
        "ints3": ["int64_t", "uint64_t", "char *"], "ptrs": ["void *", "char *", "bool"],
        "all8": ["int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t"],
        "req__start": ["int"]}
for spec in sys.argv[2:]:
    pid, prov, strategy, attached = spec.split(":")
    o = [o for o in objs if o["pid"] == int(pid) and o["provider"] == prov]
    assert len(o) == 1, f"{pid} {prov}: {len(o)} objects"
    o = o[0]
    assert o["command"] == "typed" and o["module"] == "typedmod" and o["strategy"] == strategy, o
    assert o["path"].startswith(f"/proc/{pid}/fd/") if strategy == "memfd" else "/libusdt-" in o["path"], o["path"]
    got = {p["name"]: p for p in o["probes"]}
    assert sorted(got) == sorted(want), sorted(got)
    for name, types in want.items():
        p = got[name]
        assert p["types"] == types, (name, p["types"])
        assert p["function"] == "main" and p["module"] == "typedmod", p
        assert p["created_as"] == ("req-start" if name == "req__start" else name), p
        on = name in attached.split(",")
        assert p["attached"] is on, (pid, name, p["attached"], p)
        assert (p["semaphore"] > 0) is on, (pid, name, p)
    print(f"  json {pid} {prov} {strategy} {o['path']}: 6 probes, types exact, attached=[{attached}]")
EOF
}
json_check "$MP:$PM:memfd:" "$FP:$PF:file:" "$KP:$PK:memfd:" "$CP:$PK:memfd:"
ok "usdt list --json parses (python3 json) with exact providers, modules, probes, types, strategies"

# ---- attached flips while bpftrace is attached ----
timeout 30 bpftrace -p "$MP" -e "usdt:$MPATH:$PM:ints2 { @n = count(); }" > "$TMP/bt" 2>&1 &
BT=$!; PIDS+=($BT)
for _ in $(seq 100); do "$USDT" list -p "$MP" | grep -q "^  attached  $PM:ints2(" && break; sleep 0.1; done
"$USDT" list -p "$MP" > "$TMP/list1"
grep -q "^  attached  $PM:ints2(uint16_t, int32_t, uint32_t)$" "$TMP/list1" || fail "ints2 not attached: $(cat "$TMP/list1" "$TMP/bt")"
[ "$(grep -c '^  attached' "$TMP/list1")" = 1 ] || fail "more than ints2 attached: $(cat "$TMP/list1")"
json_check "$MP:$PM:memfd:ints2" "$FP:$PF:file:"
ok "while bpftrace is attached to $PM:ints2 only that probe is attached (text and JSON, semaphore > 0)"
kill -INT $BT; wait $BT
for _ in $(seq 50); do "$USDT" list -p "$MP" | grep -q "^  attached" || break; sleep 0.1; done
"$USDT" list -p "$MP" | grep -q "^  attached" && fail "still attached after bpftrace exited"
json_check "$MP:$PM:memfd:"
ok "after bpftrace exits nothing is attached"

# ---- attached through the site byte: a raw uprobe without a semaphore ----
T=/sys/kernel/tracing
[ -e $T/uprobe_events ] || mount -t tracefs nodev $T 2>/dev/null
if [ -e $T/uprobe_events ]; then
  GROUP=usdt_cmd$$
  pc=$(note_offset "$MPATH" ints3 Location:)
  echo "p:$GROUP/raw $MPATH:$pc" >> $T/uprobe_events || fail "tracefs refused a uprobe at $MPATH:$pc"
  echo 1 > $T/events/$GROUP/raw/enable
  "$USDT" list --json -p "$MP" > "$TMP/rawjson"
  echo 0 > $T/events/$GROUP/raw/enable; echo "-:$GROUP/raw" >> $T/uprobe_events
  python3 - "$TMP/rawjson" <<'PYEOF' || fail "raw uprobe: $(cat "$TMP/rawjson")"
import json, sys
p = {p["name"]: p for p in json.load(open(sys.argv[1]))[0]["probes"]}
assert p["ints3"]["attached"] is True and p["ints3"]["semaphore"] == 0 and p["ints3"]["site_byte"] != "0x0f", p["ints3"]
assert not any(q["attached"] for n, q in p.items() if n != "ints3")
print(f"  ints3 under a raw uprobe: semaphore 0, site byte {p['ints3']['site_byte']}, attached")
PYEOF
  json_check "$MP:$PM:memfd:"
  ok "a uprobe without a reference counter shows as attached through the site byte, and not after removal"
elif [ "${CI:-}" = true ]; then
  fail "no tracefs"
fi

# ---- usdt trace -p ----
# run_trace OUT WANT-REGEX ARGS...: usdt trace in the background until OUT
# has a line matching WANT-REGEX, then SIGINT: usdt must exit 0
run_trace() {
  local out=$1 want=$2 t rc; shift 2
  "$USDT" trace "$@" > "$out" 2> "$out.err" & t=$!
  wait_for "$out" "$want" 15 || { kill -INT $t; wait $t; fail "usdt trace $*: no '$want': $(cat "$out" "$out.err")"; }
  sleep 0.3
  kill -INT $t; wait $t; rc=$?
  [ $rc = 0 ] || fail "usdt trace $* exited $rc after SIGINT: $(cat "$out.err")"
}
expect_values() {   # expect_values OUT PID PROVIDER ALL8-TAIL PROBE...
  local out=$1 pid=$2 prov=$3 all8=$4 line; shift 4
  declare -A v=([ints]='-100 200 -30000' [ints2]='60000 -2000000000 4000000000'
                [ints3]='-5000000000 18446744073709551615 "hello world"' [ptrs]='0xdeadbeef "" 1'
                [all8]="$all8" [req__start]='7')
  for p in "$@"; do
    line="$pid $prov:$p ${v[$p]}"
    grep -qxE "[0-9]{2}:[0-9]{2}:[0-9]{2} $(printf '%s' "$line" | sed 's/[.*]/\\&/g')" "$out" ||
      fail "no line '<time> $line' in: $(grep " $prov:$p " "$out" | head -n 3; cat "$out.err")"
    echo "  $(grep -m1 -F " $line" "$out")"
  done
}
ALL=(ints ints2 ints3 ptrs all8 req__start)
run_trace "$TMP/tm" "$PM:req__start" -p "$MP" "$PM"
expect_values "$TMP/tm" "$MP" "$PM" '-1 255 -2 65535 -3 4294967295 ...' "${ALL[@]}"
grep -q "reads only arg0..arg5" "$TMP/tm.err" || fail "no note about arguments past the 6th: $(cat "$TMP/tm.err")"
grep -v -e "^Attaching" -e "^$" "$TMP/tm" | grep -v " $MP $PM:" && fail "unexpected lines"
ok "usdt trace -p (memfd): exact int8..uint64, negative signed, strings, empty string, pointer, bool; SIGINT -> exit 0"
run_trace "$TMP/tf" "$PF:ints3" -p "$FP" "$PF:ints3" "$PF:pt*"
expect_values "$TMP/tf" "$FP" "$PF" - ints3 ptrs
grep -q "$PF:ints " "$TMP/tf" && fail "ints traced though not asked for"
ok "usdt trace -p (file strategy) PROVIDER:PROBE and a wildcard: only those probes, exact"
run_trace "$TMP/tc" "$CP $PK:ints " -p "$CP" "$PK:ints"
expect_values "$TMP/tc" "$CP" "$PK" - ints
grep -q " $KP $PK:" "$TMP/tc" && fail "the parent's fires leaked into -p $CP"
ok "usdt trace -p (forked child): the child's fires only"

# ---- system-wide ----
"$USDT" trace --print "$PM:ints" > "$TMP/prog" 2> "$TMP/prog.err" || fail "--print failed: $(cat "$TMP/prog.err")"
LIB=$(readlink -f "$BUILD/libusdt.so.1")
grep -q "^usdt:$LIB:libusdt:fire" "$TMP/prog" || fail "program does not attach to $LIB: $(cat "$TMP/prog")"
sed 's/^/# /' "$TMP/prog"
# --lib: attach to this build's library only (other processes of the
# machine keep their is-enabled answers)
run_trace "$TMP/ts" "$CP $PK:ints3" --lib "$LIB" "$PM:ints" "$PF" "$PK:ints3"
expect_values "$TMP/ts" "$MP" "$PM" - ints
expect_values "$TMP/ts" "$FP" "$PF" '-1 255 -2 ...' "${ALL[@]}"
expect_values "$TMP/ts" "$KP" "$PK" - ints3
expect_values "$TMP/ts" "$CP" "$PK" - ints3
grep -q "first 3 arguments" "$TMP/ts.err" || fail "no note about the 3 readable arguments: $(cat "$TMP/ts.err")"
grep -q " $PM:ints2 " "$TMP/ts" && fail "system-wide: $PM:ints2 traced though not asked for"
ok "usdt trace system-wide (libusdt:fire in $LIB): exact typed values from memfd, file, parent and child; SIGINT -> exit 0"

# ---- errors ----
"$USDT" trace -p "$MP" "$PM:nosuch" > /dev/null 2> "$TMP/e1"; rc=$?
[ $rc = 1 ] && grep -q "process $MP has no probe $PM:nosuch; it has: $PM (6 probes)" "$TMP/e1" ||
  fail "missing probe: rc $rc, $(cat "$TMP/e1")"
BPFTRACE=/nonexistent/bpftrace "$USDT" trace -p "$MP" "$PM" > /dev/null 2> "$TMP/e2"; rc=$?
[ $rc = 1 ] && grep -q "not installed" "$TMP/e2" || fail "missing bpftrace: rc $rc, $(cat "$TMP/e2")"
printf '#!/bin/sh\necho "bpftrace v0.9.4"\n' > "$TMP/oldbt"; chmod +x "$TMP/oldbt"
BPFTRACE=$TMP/oldbt "$USDT" trace -p "$MP" "$PM" > /dev/null 2> "$TMP/e3"; rc=$?
[ $rc = 1 ] && grep -q "too old.*needs bpftrace 0.12" "$TMP/e3" || fail "old bpftrace: rc $rc, $(cat "$TMP/e3")"
sed 's/^/# /' "$TMP/e1" "$TMP/e2" "$TMP/e3"
ok "clear errors: no such probe (lists what the process has), bpftrace missing, bpftrace too old"

# ---- tracers see no difference ----
readelf -nW "$MPATH" > "$TMP/notes" 2>&1 || fail "readelf -n failed: $(cat "$TMP/notes")"
[ "$(grep -c 'NT_STAPSDT' "$TMP/notes")" = 6 ] || fail "readelf: not 6 stapsdt notes"
grep -q "Displaying notes found in: .note.libusdt" "$TMP/notes" || fail "no .note.libusdt"
grep -qi "warning\|corrupt" "$TMP/notes" && fail "readelf warns: $(cat "$TMP/notes")"
[ "$(bt -l 'usdt:*' -p "$MP" | grep -c ":$PM:")" = 6 ] || fail "bpftrace -l does not list 6 probes"
if command -v tplist-bpfcc > /dev/null; then
  [ "$(tplist-bpfcc -p "$MP" 2>/dev/null | grep -c " $PM:")" = 6 ] || fail "tplist does not list 6 probes: $(tplist-bpfcc -p "$MP" 2>&1)"
fi
if command -v gdb > /dev/null; then
  [ "$(timeout 20 gdb -p "$MP" -batch -ex 'info probes stap' 2>/dev/null | grep -c "^stap  *$PM ")" = 6 ] ||
    fail "gdb info probes does not list 6 probes"
fi
ok "with .note.libusdt: readelf (no warning), bpftrace -l, tplist, gdb info probes list exactly the 6 probes"
