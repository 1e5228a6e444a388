#!/usr/bin/env bash
# perf and raw tracefs uprobes.
#  1. Default (memfd) loading: `perf probe -x` cannot name a memfd object
#     (it realpath()s the path to "/memfd:... (deleted)"), so the event is
#     created in tracefs on /proc/PID/fd/N with the semaphore's offset as
#     the uprobe reference counter; `perf record -p` then records it and
#     `perf script` shows the exact arguments; is-enabled is 1 meanwhile.
#  2. A raw uprobe without a reference counter (what `perf probe -x` on a
#     bare address or a hand-written event does) is seen by is-enabled
#     through the probe site's first byte, and its events carry the values.
#  3. File loading (LIBUSDT_LOADER=file): `perf probe -x FILE %sdt_...`
#     creates the event from the note itself, perf record/script read the
#     arguments, is-enabled follows.
. "$(dirname "$0")/../lib.sh"
need perf readelf; need_root; ensure_tracefs
T=/sys/kernel/tracing
GROUP=usdt_t$$
cleanup_perf() {
  { echo 0 > $T/events/$GROUP/enable; } 2>/dev/null
  for e in $T/events/$GROUP/*/; do [ -d "$e" ] && echo "-:$GROUP/$(basename "$e")" >> $T/uprobe_events; done 2>/dev/null
  perf probe -q -d 'sdt_perft:*' 2>/dev/null
  cleanup_lib
}
trap cleanup_perf EXIT
SPEC=perft:p4:int32_t,uint32_t,int64_t,uint64_t
# Expected, as perf script prints them (decimal).
WANT='a=-2147483648 b=0 c=-1 d=103'

# --- 1 + 2: memfd -------------------------------------------------------
start_target -i 20 "$SPEC"
fd=$(ls -l /proc/$TPID/fd | awk '/memfd:libusdt:perft/ {print $9}')
[ -n "$fd" ] || fail "no memfd for provider perft in /proc/$TPID/fd"
obj=/proc/$TPID/fd/$fd
perf probe -x "$obj" -a '%sdt_perft:p4' > "$TMP/pp" 2>&1 && fail "perf probe unexpectedly accepted a memfd path"
ok "perf probe -x on a memfd object fails as documented: $(grep -m1 -iE 'fail|error|not' "$TMP/pp")"
pc=$(note_offset "$obj" p4 Location:); sem=$(note_offset "$obj" p4 Semaphore:)
[ -n "$pc" ] && [ -n "$sem" ] || fail "could not read the note of p4"
echo "p:$GROUP/p4 $obj:$pc($sem) a=%di:s32 b=%si:u32 c=%dx:s64 d=%cx:u64" >> $T/uprobe_events || fail "tracefs refused the event"
timeout 20 perf record -q -e "$GROUP:p4" -p "$TPID" -o "$TMP/perf.data" -- sleep 2 > "$TMP/rec" 2>&1 || { cat "$TMP/rec"; fail "perf record failed"; }
grep -q "STATE perft:p4 1" "$TOUT" || fail "is-enabled did not become 1 during perf record (reference counter)"
ok "is-enabled was 1 while perf recorded the tracefs event with a reference counter"
perf script -i "$TMP/perf.data" > "$TMP/script" 2>&1
grep -q "$WANT" "$TMP/script" || { head -5 "$TMP/script"; fail "perf script does not show $WANT"; }
ok "perf record/script on the memfd object: $(grep -m1 -o "$WANT" "$TMP/script")"
wait_state perft:p4 0 5 || fail "is-enabled did not return to 0 after perf record"
echo "-:$GROUP/p4" >> $T/uprobe_events

# 2: raw uprobe without reference counter: only the site byte tells.
echo "p:$GROUP/raw $obj:$pc a=%di:s32 b=%si:u32 c=%dx:s64 d=%cx:u64" >> $T/uprobe_events || fail "tracefs refused the raw event"
echo > $T/trace
echo 1 > $T/events/$GROUP/raw/enable
wait_state perft:p4 1 5 || fail "is-enabled did not become 1 under a raw uprobe without reference counter"
ok "is-enabled is 1 under a raw uprobe (no semaphore) through the site byte"
sleep 0.3
grep -q "$WANT" $T/trace || { head -5 $T/trace; fail "raw uprobe events lack $WANT"; }
ok "raw uprobe events carry the values: $(grep -m1 -o "$WANT" $T/trace)"
echo 0 > $T/events/$GROUP/raw/enable
wait_state perft:p4 0 5 || fail "is-enabled did not return to 0 after the raw uprobe was disabled"
ok "is-enabled back to 0 after the raw uprobe was removed"
echo "-:$GROUP/raw" >> $T/uprobe_events
stop_target

# --- 3: file loading, perf probe from the note ----------------------------
dir=$TMP/objdir; mkdir -p "$dir"
LIBUSDT_LOADER=file LIBUSDT_DIR=$dir start_target -i 20 "$SPEC"
file=$(ls "$dir"/libusdt-$TPID-perft-*.so 2>/dev/null | head -n 1)
[ -n "$file" ] || fail "no object file in $dir"
perf probe -x "$file" -a '%sdt_perft:p4' > "$TMP/pp" 2>&1 || { cat "$TMP/pp"; fail "perf probe -x $file failed"; }
ok "perf probe -x FILE created sdt_perft:p4 from the note"
timeout 20 perf record -q -e sdt_perft:p4 -p "$TPID" -o "$TMP/perf2.data" -- sleep 2 > "$TMP/rec" 2>&1 || { cat "$TMP/rec"; fail "perf record failed"; }
grep -q "STATE perft:p4 1" "$TOUT" || fail "is-enabled did not become 1 during perf record"
ok "is-enabled was 1 during perf record (perf sets the semaphore)"
perf script -i "$TMP/perf2.data" > "$TMP/script" 2>&1
grep -q 'arg1=-2147483648 arg2=0 arg3=-1 arg4=103' "$TMP/script" || { head -5 "$TMP/script"; fail "perf script values wrong"; }
ok "perf script: $(grep -m1 -o 'arg1=.*arg4=103' "$TMP/script")"
perf probe -q -d 'sdt_perft:*'
perf buildid-cache -q --remove "$file" 2>/dev/null
stop_target
[ -z "$(ls "$dir")" ] || fail "object file left behind after exit: $(ls "$dir")"
ok "the object file is removed when the provider is freed"
