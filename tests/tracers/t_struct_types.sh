#!/usr/bin/env bash
# Structured argument types (issue 14 part 2) on a live process
# (tests/progs/structs.c: "struct request *" and "json" arguments):
#   - `usdt list` shows the structure layouts (text and --json);
#   - `usdt cdecl -p PID` prints C declarations that bpftrace 0.17 takes,
#     both #included from a file and inline in -e, and bpftrace then reads
#     every field exactly: int8..int64 and uint8..uint64 at their extremes
#     (negative for the signed ones), an int32 status through
#     ((struct request *)arg0)->status, a char * string, a char[16], a
#     nested structure and a pointer;
#   - `usdt trace -p PID` prints every field by its type and pretty-prints
#     the JSON arguments (one truncated by bpftrace's string size and one
#     that is not JSON marked as such); system-wide through libusdt:fire
#     it prints the same structure;
#   - clear errors: cdecl with no structure, trace of a missing probe.
. "$(dirname "$0")/../lib.sh"
need bpftrace python3; need_root
USDT=$BUILD/bin/usdt
PROG=$BUILD/tests/progs/structs
[ -x "$USDT" ] || fail "$USDT is not built"
[ -x "$PROG" ] || fail "$PROG is not built"
PV=st$$
TARGET=$PROG start_target "$PV"
P=$TPID
echo "# target $P, provider $PV"

# ---- usdt list ----
"$USDT" list -p "$P" > "$TMP/list" 2>&1 || fail "usdt list failed: $(cat "$TMP/list")"
sed 's/^/# /' "$TMP/list"
cat > "$TMP/want_list" <<EOF
  -         $PV:req(struct request *, json, int)
  -         $PV:big(json)
  -         $PV:bad(json)
  struct inner (8 bytes)
    +0    a                int16_t
    +4    b                uint32_t
  struct request (104 bytes)
    +0    i8               int8_t
    +1    u8               uint8_t
    +2    i16              int16_t
    +4    u16              uint16_t
    +8    i32              int32_t
    +12   u32              uint32_t
    +16   i64              int64_t
    +24   u64              uint64_t
    +32   status           int32_t
    +40   path             char *
    +48   name             char[16]
    +64   in               struct inner
    +72   next             struct request *
    +80   json             json
    +88   opaque           void *
    +96   flag             bool
EOF
tail -n +2 "$TMP/list" | diff -u "$TMP/want_list" - || fail "usdt list: probes or layouts differ (- wanted, + got)"
ok "usdt list shows the json and struct argument types and both layouts, offsets and field types exact"
"$USDT" list -p "$P" --json > "$TMP/json" || fail "usdt list --json failed"
python3 - "$TMP/json" <<'EOF' || fail "usdt list --json: $(cat "$TMP/json")"
import json, sys
o = json.load(open(sys.argv[1]))[0]
p = {p["name"]: p for p in o["probes"]}
assert p["req"]["types"] == ["struct request *", "json", "int"], p["req"]
s = {s["name"]: s for s in o["structs"]}
assert sorted(s) == ["inner", "request"], s
r = s["request"]
assert r["size"] == 104 and r["align"] == 8 and len(r["fields"]) == 16, r
f = {f["name"]: f for f in r["fields"]}
assert f["u64"] == {"name": "u64", "type": "uint64_t", "offset": 24, "size": 8}, f["u64"]
assert f["name"]["type"] == "char[16]" and f["name"]["size"] == 16 and f["in"]["type"] == "struct inner", f
print("  json: request 104 bytes, 16 fields; inner", s["inner"]["size"], "bytes")
EOF
ok "usdt list --json carries the layouts"

# ---- usdt cdecl + bpftrace ----
"$USDT" cdecl -p "$P" > "$TMP/request.h" 2> "$TMP/cdecl.err" || fail "usdt cdecl failed: $(cat "$TMP/cdecl.err")"
sed 's/^/# /' "$TMP/request.h"
grep -q '^struct request {$' "$TMP/request.h" && grep -q '^struct inner {$' "$TMP/request.h" ||
  fail "usdt cdecl has no struct request / inner"
WANT='-100 200 -30000 60000 -2000000000 4000000000 -5000000000 18446744073709551615 200 "/index.html" "alice" -7 4000000001 0 deadbeef 1'
cat > "$TMP/fields.bt" <<EOF
#include "$TMP/request.h"
usdt:*:$PV:req {
  \$r = (struct request *)arg0;
  printf("GOT %d %u %d %u %d %u %ld %lu %d \"%s\" \"%s\" %d %u %lx %lx %u\n", \$r->i8, \$r->u8, \$r->i16, \$r->u16,
         \$r->i32, \$r->u32, \$r->i64, \$r->u64, \$r->status, str(\$r->path), \$r->name, \$r->in.a, \$r->in.b,
         (uint64)\$r->next, (uint64)\$r->opaque, \$r->flag);
  exit();
}
EOF
timeout 60 bpftrace -p "$P" "$TMP/fields.bt" > "$TMP/bt1" 2>&1 || fail "bpftrace (#include) failed: $(cat "$TMP/bt1")"
grep '^GOT' "$TMP/bt1" | sed 's/^/  /'
grep -qxF "GOT $WANT" "$TMP/bt1" || fail "bpftrace with #include \"request.h\": want 'GOT $WANT', got: $(cat "$TMP/bt1")"
ok "bpftrace 0.17 with usdt cdecl's header #included reads every field exactly (int8..uint64 extremes, string, char[16], nested, pointers, bool)"
timeout 60 bpftrace -p "$P" -e "$(cat "$TMP/request.h")
  usdt:*:$PV:req { printf(\"STATUS %d %s\n\", ((struct request *)arg0)->status, str(((struct request *)arg0)->path)); exit(); }" \
  > "$TMP/bt2" 2>&1 || fail "bpftrace (inline) failed: $(cat "$TMP/bt2")"
grep -qx 'STATUS 200 /index.html' "$TMP/bt2" || fail "inline declarations: $(cat "$TMP/bt2")"
ok "the declarations inline in bpftrace -e: ((struct request *)arg0)->status = 200"

# ---- usdt trace ----
wait_for() {   # wait_for FILE REGEX [SECONDS]
  for _ in $(seq $((${3:-10} * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
run_trace() {   # run_trace OUT WANT-REGEX ARGS...
  local out=$1 want=$2 t rc; shift 2
  "$USDT" trace "$@" > "$out" 2> "$out.err" & t=$!
  wait_for "$out" "$want" 20 || { kill -INT $t; wait $t; fail "usdt trace $*: no '$want': $(cat "$out" "$out.err")"; }
  sleep 0.5
  kill -INT $t; wait $t; rc=$?
  [ $rc = 0 ] || fail "usdt trace $* exited $rc after SIGINT: $(cat "$out.err")"
}
REQ='{i8=-100 u8=200 i16=-30000 u16=60000 i32=-2000000000 u32=4000000000 i64=-5000000000 u64=18446744073709551615 status=200 path="/index.html" name="alice" in={a=-7 b=4000000001} next=0x0 json={'
# the lines of one req event after its first line
cat > "$TMP/want_req" <<'EOF'
    "k": [
      1,
      2
    ]
  } opaque=0xdeadbeef flag=1} {
    "a": 1,
    "b": [
      true,
      null,
      "x"
    ],
    "c": {}
  } 42
EOF
check_req() {   # check_req OUT PID
  local out=$1 pid=$2 n
  n=$(grep -n -m1 -F " $pid $PV:req $REQ" "$out" | cut -d: -f1)
  [ -n "$n" ] || fail "no '<time> $pid $PV:req $REQ' in: $(head -n 30 "$out"; cat "$out.err")"
  grep -qE "^[0-9]{2}:[0-9]{2}:[0-9]{2} $pid $PV:req " <(sed -n "${n}p" "$out") || fail "bad line start: $(sed -n "${n}p" "$out")"
  sed -n "$((n + 1)),$((n + 13))p" "$out" | diff -u "$TMP/want_req" - || fail "req event's JSON lines differ"
  sed -n "$n,$((n + 13))p" "$out" | sed 's/^/  | /'
}
run_trace "$TMP/t1" "$PV:bad" -p "$P" "$PV"
check_req "$TMP/t1" "$P"
n=$(grep -n -m1 " $P $PV:big {" "$TMP/t1" | cut -d: -f1)
[ -n "$n" ] || fail "no big event: $(cat "$TMP/t1")"
sed -n "$n,$((n + 15))p" "$TMP/t1" | grep -q '^        "id \.\.\. (truncated: bpftrace reads BPFTRACE_STRLEN bytes)$' ||
  fail "big: no truncation mark: $(sed -n "$n,$((n + 15))p" "$TMP/t1")"
sed -n "$((n + 1)),$((n + 3))p" "$TMP/t1" | diff -u <(printf '    "items": [\n      {\n        "id": 1,\n') - ||
  fail "big: not pretty-printed"
grep -qE "^[0-9:]{8} $P $PV:bad not json \{ \(not JSON\)$" "$TMP/t1" || fail "bad: $(grep ":bad" "$TMP/t1")"
ok "usdt trace -p prints every structure field by type, JSON pretty-printed (nested, empty object), truncated JSON and non-JSON marked"
grep -q "^struct request {" <("$USDT" trace --print -p "$P" "$PV:req") || fail "--print has no structure declaration"

# system-wide, through libusdt:fire in the executable (linked with libusdt.a)
EXE=$(readlink -f "$PROG")
run_trace "$TMP/t2" "$PV:req" --lib "$EXE" "$PV:req"
check_req "$TMP/t2" "$P"
ok "usdt trace system-wide (libusdt:fire in $EXE) prints the same structure and JSON"

# ---- errors ----
"$USDT" cdecl -p "$P" nosuchprov > /dev/null 2> "$TMP/e1"; rc=$?
[ $rc = 1 ] && grep -q "no structure types found (0 provider objects in process $P)" "$TMP/e1" ||
  fail "cdecl without structures: rc $rc, $(cat "$TMP/e1")"
sed 's/^/# /' "$TMP/e1"
ok "usdt cdecl says when there is no structure"
stop_target
