#!/usr/bin/env bash
# t_names.sh — names libusdt 0.x and DTrace accept (issue 10, part 1) are
# accepted and traced: probe names with '-' (request-start, probe1-start),
# probe names starting with a digit (32probe), provider names ending in a
# digit (provider0, provider1), '.' and '-' in provider names. bpftrace
# attaches by pid to each under its Linux name ('-' published as "__",
# written out below, not computed) and reads the exact argument values.
# The same definitions, as DOF, keep '-' in the probe names and pass the
# validator of every DTrace profile.
. "$(dirname "$0")/../lib.sh"
need bpftrace; need_root

# as created (provider:probe:types) = as published to Linux tracers
MAP=(
  'provider0:request-start:int,char *=provider0:request__start'
  'provider0:32probe:int64_t,uint8_t,int16_t=provider0:32probe'
  'provider1:probe1-start:char *,int32_t=provider1:probe1__start'
  'provider1:a.b-c--d:uint32_t=provider1:a.b__c____d'
  'provider1:under__score:int8_t=provider1:under__score'
  'my-app.v2:log-info:char *,int=my-app.v2:log__info'
  '_x9:9:int=_x9:9'
)
specs=(); declare -A linux
for m in "${MAP[@]}"; do
  spec=${m%%=*}; specs+=("$spec")
  created=${spec%:*}; linux[$created]=${m#*=}
done
start_target -i 20 "${specs[@]}"

# The EXPECT lines name probes as created; bpftrace must find them under
# the Linux names of the table.
expect_lines > "$TMP/created"
while read -r name rest; do
  [ -n "${linux[$name]:-}" ] || fail "no Linux name in the table for $name"
  echo "EXPECT ${linux[$name]} $rest"
done < "$TMP/created" > "$TMP/expect.linux"
TOUT_ORIG=$TOUT; TOUT=$TMP/expect.linux
bt_args_program 6 > "$TMP/names.bt"
timeout 60 bpftrace -p "$TPID" "$TMP/names.bt" > "$TMP/got" 2>"$TMP/err" || { cat "$TMP/err"; TOUT=$TOUT_ORIG; fail "bpftrace failed"; }
compare_got "$TMP/got" 6 || { cat "$TMP/err"; TOUT=$TOUT_ORIG; fail "bpftrace read wrong values"; }
ok "bpftrace read every name form's arguments exactly under its Linux name"
TOUT=$TOUT_ORIG

# Nothing is published under the as-created name with '-'.
bt -l "usdt:*:provider0:*" -p "$TPID" > "$TMP/list" 2>&1
grep -q ':provider0:request__start$' "$TMP/list" || { cat "$TMP/list"; fail "bpftrace -l lacks request__start"; }
! grep -q 'request-start' "$TMP/list" || { cat "$TMP/list"; fail "a '-' reached the ELF note"; }
ok "bpftrace -l lists provider0:request__start and no name with '-'"
# is-enabled of request-start follows bpftrace on request__start.
wait_state provider0:request-start 0 5 || fail "request-start enabled before bpftrace attached"
timeout 30 bpftrace -p "$TPID" -e 'usdt:*:provider0:request__start { @n = count(); } interval:s:2 { exit(); }' > "$TMP/flip" 2>&1 &
bpid=$!
wait_state provider0:request-start 1 15 || fail "usdt_is_enabled(request-start) did not become 1 under bpftrace"
wait $bpid
wait_state provider0:request-start 0 5 || fail "usdt_is_enabled(request-start) did not return to 0"
grep -q '@n: [1-9]' "$TMP/flip" || { cat "$TMP/flip"; fail "bpftrace counted no request__start events"; }
ok "usdt_is_enabled(request-start) is 1 while bpftrace counts request__start ($(grep '@n' "$TMP/flip")), 0 after"
stop_target

# DTrace keeps the names as created.
T=$BUILD/bin/usdt-dof
[ -x "$T" ] || fail "no $T"
for p in illumos freebsd macos linux; do
  "$T" --build --profile $p -o "$TMP/$p.dof" provider0 a.out 'request-start:request-start=int,char *' \
       'f:32probe=int' 'f:a.b-c--d' > "$TMP/dof.err" 2>&1 || { cat "$TMP/dof.err"; fail "$p: DOF build refused the names"; }
  out=$("$T" --profile $p "$TMP/$p.dof") || { echo "$out"; fail "$p: DOF does not validate"; }
  for want in 'provider "provider0"' 'probe "request-start":"request-start"' 'probe "f":"32probe"' 'probe "f":"a.b-c--d"'; do
    grep -qF "$want" <<<"$out" || { echo "$out"; fail "$p: DOF dump lacks $want"; }
  done
done
ok "DOF for illumos, freebsd, macos, linux keeps request-start, 32probe, a.b-c--d, provider0 and validates"
