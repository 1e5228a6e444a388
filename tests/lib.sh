# tests/lib.sh — shared helpers for the tracer tests (sourced, bash).
#
# start_target ARGS...   start build/tests/progs/target in the background;
#                        sets TPID and TOUT (its output file), waits for READY
# stop_target            SIGTERM it and wait
# expect_lines           the EXPECT lines of the target
# need CMD...            skip (exit 77) when a command is missing
# ok/fail MSG            report; fail exits 1
# bt ARGS...             bpftrace without its harmless RLIMIT_MEMLOCK noise
# wait_state PROBE V [S] wait until the target printed "STATE PROBE V"
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
TARGET=$BUILD/tests/progs/target
TMP=$(mktemp -d /tmp/usdt-test.XXXXXX)
TPID=
cleanup_lib() {
  [ -n "$TPID" ] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup_lib EXIT

need() {
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c is not installed"; exit 77; }
  done
}
need_root() { [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }; }
ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; [ -n "${TOUT:-}" ] && [ -f "$TOUT" ] && sed 's/^/  target| /' "$TOUT" | tail -n 20; exit 1; }

ensure_tracefs() {
  [ -e /sys/kernel/tracing/uprobe_events ] || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
  [ -e /sys/kernel/tracing/uprobe_events ] || { echo "SKIP: no tracefs"; exit 77; }
}

start_target() {
  TOUT=$TMP/target.out
  : > "$TOUT"     # not the background job: a previous target's READY must not count
  "$TARGET" "$@" >"$TOUT" 2>&1 &
  TPID=$!
  for _ in $(seq 100); do
    grep -q '^READY' "$TOUT" 2>/dev/null && return 0
    kill -0 "$TPID" 2>/dev/null || break
    sleep 0.1
  done
  fail "target did not start: $(cat "$TOUT")"
}
stop_target() {
  [ -n "$TPID" ] || return 0
  kill "$TPID" 2>/dev/null; wait "$TPID" 2>/dev/null; TPID=
}
expect_lines() { grep '^EXPECT' "$TOUT" | sed 's/^EXPECT //'; }

# note_field FILE PROBE FIELD: a field of PROBE's stapsdt note (readelf -n),
# e.g. "Location:" or "Semaphore:" -> hex value
note_field() {
  readelf -n "$1" | awk -v p="$2" -v f="$3" '$1=="Name:" {n=$2} n==p && $0 ~ f {for(i=1;i<=NF;i++) if ($i==f) {v=$(i+1); sub(/,$/,"",v); print v; exit}}'
}

# note_offset FILE PROBE FIELD: the same as a file offset (hex), what a
# tracefs uprobe takes: the note holds link-time addresses, and libusdt
# links an object at the address it maps it at (the map strategy), so
# the link address (the first PT_LOAD's VirtAddr, whose offset is 0) is
# taken off.
note_offset() {
  local v link
  v=$(note_field "$1" "$2" "$3") || return 1
  [ -n "$v" ] || return 1
  link=$(readelf -lW "$1" | awk '$1=="LOAD" {print $3; exit}')
  printf '0x%x\n' $(( v - ${link:-0} ))
}

bt() { bpftrace "$@" 2> >(grep -v -e RLIMIT_MEMLOCK -e '^$' >&2); }

wait_state() {
  local probe=$1 v=$2 secs=${3:-10}
  for _ in $(seq $((secs * 10))); do
    [ "$(grep "^STATE $probe " "$TOUT" | tail -n 1 | awk '{print $3}')" = "$v" ] && return 0
    sleep 0.1
  done
  return 1
}

# Compare "GOT name v..." lines in FILE with the EXPECT lines, each cut to
# its first N arguments. Prints a line per probe; returns non-zero on any
# mismatch or missing probe.
compare_got() {
  local file=$1 n=$2 bad=0 name want got
  while read -r name rest; do
    want=$(echo "$rest" | awk -v n="$n" '{ s=""; for (i=1;i<=NF && i<=n;i++) s=s (i>1?" ":"") $i; print s }')
    if ! grep -q "^GOT $name\( \|$\)" "$file"; then echo "  MISSING $name"; bad=1; continue; fi
    got=$(grep "^GOT $name\( \|$\)" "$file" | head -n 1 | sed "s/^GOT $name *//")
    if [ "$got" = "$want" ]; then echo "  $name: $got"
    else echo "  MISMATCH $name: want [$want] got [$got]"; bad=1; fi
  done < <(expect_lines)
  return $bad
}

# Set BCC_KERNEL_SOURCE to a kernel header tree bcc can compile against
# (Debian's headers for the newest packaged kernel, common+arch merged),
# for kernels that ship no headers of their own. Skips if none installed.
bcc_headers() {
  [ -e "/lib/modules/$(uname -r)/build/include/linux/kconfig.h" ] && return 0
  [ -e /sys/kernel/kheaders.tar.xz ] && return 0
  local arch common dir=$TMP/kheaders
  arch=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1)
  common=${arch%-amd64}-common
  [ -n "$arch" ] && [ -d "$common" ] || { echo "SKIP: no kernel headers for bcc (install linux-headers-amd64)"; exit 77; }
  mkdir -p "$dir"
  cp -as "$common"/. "$dir"/ 2>/dev/null
  cp -as --remove-destination "$arch"/. "$dir"/ 2>/dev/null
  export BCC_KERNEL_SOURCE=$dir
}

# bt_args_program N: a bpftrace program that prints each EXPECT probe's
# first N arguments once, as "GOT provider:probe v..." (integers as 64-bit
# hex, strings quoted: the format of the EXPECT lines), and exits after 3 s.
bt_args_program() {
  local n=$1 name rest vals fmt args i
  while read -r name rest; do
    read -ra vals <<<"$rest"
    fmt="GOT $name"; args=""
    for i in "${!vals[@]}"; do
      [ "$i" -lt "$n" ] || break
      if [[ ${vals[$i]} == \"* ]]; then fmt="$fmt \\\"%s\\\""; args="$args, str(arg$i)"
      else fmt="$fmt %lx"; args="$args, arg$i"; fi
    done
    echo "usdt:*:$name /@seen[\"$name\"] == 0/ { @seen[\"$name\"] = 1; printf(\"$fmt\\n\"$args); }"
  done < <(expect_lines)
  echo 'interval:s:3 { exit(); } END { clear(@seen); }'
}

# check_enabled_flip PROBE WHAT: the target's is-enabled state for PROBE is
# 0, becomes 1 while bpftrace counts the probe, and is 0 again afterwards;
# bpftrace saw events. WHAT names the is-enabled call in messages.
check_enabled_flip() {
  local probe=$1 what=$2 bpid
  wait_state "$probe" 0 5 || fail "$what was not 0 before bpftrace attached"
  timeout 30 bpftrace -p "$TPID" -e "usdt:*:$probe { @n = count(); } interval:s:2 { exit(); }" > "$TMP/flip" 2>&1 &
  bpid=$!
  wait_state "$probe" 1 15 || fail "$what did not become 1 while bpftrace was attached"
  ok "$what is 1 while bpftrace is attached"
  wait $bpid
  wait_state "$probe" 0 5 || fail "$what did not return to 0 after bpftrace detached"
  ok "$what is 0 after bpftrace detached"
  grep -q '@n: [1-9]' "$TMP/flip" || { cat "$TMP/flip"; fail "bpftrace counted no events"; }
  ok "bpftrace counted events: $(grep '@n' "$TMP/flip")"
}
