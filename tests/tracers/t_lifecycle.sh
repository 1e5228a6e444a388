#!/usr/bin/env bash
# Life cycle as tracers see it: probes appear on enable, vanish on disable,
# come back on re-enable; a probe added to an enabled provider is live at
# once, a removed one vanishes; free removes everything (no mapping, no
# memfd left); 1000 providers enabled at once in one process are all
# listed, each costing 2 mappings and 1 fd, and all go away when freed.
# Listing is checked with bpftrace -l -p and gdb's info probes.
. "$(dirname "$0")/../lib.sh"
need bpftrace gdb; need_root
coproc LC { exec "$BUILD/tests/progs/lifecycle"; }
TPID=$LC_PID
read -r line <&"${LC[0]}"; [[ $line == READY* ]] || fail "lifecycle did not start: $line"
send() {   # send CMD: expects OK
  echo "$1" >&"${LC[1]}"
  local reply; while read -r reply <&"${LC[0]}"; do
    case $reply in OK*|ERR*) break;; MAPS*|FDS*) LAST=$reply;; esac
  done
  [[ $reply == OK* ]] || fail "command '$1': $reply"
}
bt_list() { bpftrace -l "usdt:*:$1:*" -p "$TPID" 2>/dev/null | sed 's/.*://' | sort | tr '\n' ' '; }
gdb_list() { timeout 60 gdb -p "$TPID" -batch -ex 'info probes stap' 2>/dev/null | awk -v p="$1" '$2==p {print $3}' | sort | tr '\n' ' '; }
check() {   # check PROVIDER "expected sorted names "
  local b g; b=$(bt_list "$1"); g=$(gdb_list "$1")
  [ "$b" = "$2" ] || fail "bpftrace -l lists [$b], want [$2]"
  [ "$g" = "$2" ] || fail "gdb info probes lists [$g], want [$2]"
  ok "${3}: bpftrace and gdb list [${2% }]"
}

send "new lp"; send "probe lp a int"; send "probe lp b char*"
check lp "" "before enable"
send "enable lp"; check lp "a b " "enabled"
send "disable lp"; check lp "" "disabled"
send "enable lp"; check lp "a b " "re-enabled"
send "probe lp c int,int"; check lp "a b c " "probe added while enabled"
# the new probe is live: bpftrace reads its arguments at once
out=$(timeout 20 bpftrace -p "$TPID" -e 'usdt:*:lp:c { printf("C %d %d\n", arg0, arg1); exit(); }' 2>/dev/null | grep '^C ')
[[ $out == "C 42 "* ]] || fail "added probe did not fire: [$out]"
ok "added probe fires: $out"
send "remove lp b"; check lp "a c " "probe removed while enabled"
send "disable lp"; send "remove lp a"; send "enable lp"; check lp "c " "removed while disabled, re-enabled"
send "new lq"; send "probe lq x"; send "enable lq"
check lq "x " "second provider beside the first"
send "free lp"; check lp "" "freed"
send "free lq"
send maps; [ "$LAST" = "MAPS 0" ] || fail "mappings left after free: $LAST"
send fds; [ "$LAST" = "FDS 0" ] || fail "memfds left after free: $LAST"
ok "no mapping and no memfd left after free"

send "many 1000"
bpftrace -l 'usdt:*' -p "$TPID" 2> "$TMP/many.err" > "$TMP/many.list"
n=$(grep -c ':lcN[0-9]*_:p$' "$TMP/many.list")
if [ "$n" != 1000 ]; then
  # which ones, with their mappings and descriptors (one pass each: this
  # must stay fast under emulation), and what bpftrace said
  missing=$(comm -23 <(seq 0 999 | sed 's/.*/lcN&_/' | sort) <(grep -o 'lcN[0-9]*_' "$TMP/many.list" | sort -u))
  echo "# missing: $(echo $missing | head -c 300)"
  ls -l /proc/$TPID/fd > "$TMP/fds" 2>&1
  for m in $(echo "$missing" | head -3); do
    grep "libusdt:$m " /proc/$TPID/maps | sed 's/^/#   maps: /'
    grep "libusdt:$m " "$TMP/fds" | sed 's/^/#   fd: /'
  done
  grep -v RLIMIT_MEMLOCK "$TMP/many.err" | head -5 | sed 's/^/#   bpftrace: /'
  echo "# a second listing finds $(bpftrace -l 'usdt:*' -p "$TPID" 2>/dev/null | grep -c ':lcN[0-9]*_:p$')"
  fail "bpftrace lists $n of 1000 providers"
fi
ok "1000 providers enabled in one process, bpftrace lists all 1000"
send maps; [ "$LAST" = "MAPS 2000" ] || fail "1000 providers use $LAST mappings, want 2000"
ok "2 mappings per provider"
send freemany; send maps; [ "$LAST" = "MAPS 0" ] || fail "mappings left: $LAST"
send fds; [ "$LAST" = "FDS 0" ] || fail "fds left: $LAST"
ok "1000 providers freed, nothing left"
echo quit >&"${LC[1]}"; wait "$TPID"; TPID=
