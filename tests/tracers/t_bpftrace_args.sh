#!/usr/bin/env bash
# bpftrace attaches by pid to probes of three providers in one process and
# reads arguments 1..6 (bpftrace < 0.24 cannot read a 7th) with the exact
# values fired: every integer width, signedness, extremes, negative values,
# strings including "". is-enabled goes to 1 while attached and back to 0.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/specs.sh"
need bpftrace; need_root
start_target -i 20 "${SPECS[@]}"

# Generate one bpftrace program that prints each probe's arguments once.
prog=$TMP/args.bt
while read -r name rest; do
  read -ra vals <<<"$rest"
  fmt="GOT $name"; args=""
  for i in 0 1 2 3 4 5; do
    [ $i -lt ${#vals[@]} ] || break
    if [[ ${vals[$i]} == \"* ]]; then fmt="$fmt \\\"%s\\\""; args="$args, str(arg$i)"
    else fmt="$fmt %lx"; args="$args, arg$i"; fi
  done
  echo "usdt:*:$name /@seen[\"$name\"] == 0/ { @seen[\"$name\"] = 1; printf(\"$fmt\\n\"$args); }"
done < <(expect_lines) > "$prog"
echo 'interval:s:3 { exit(); } END { clear(@seen); }' >> "$prog"

timeout 60 bpftrace -p "$TPID" "$prog" > "$TMP/got" 2>"$TMP/err" || { cat "$TMP/err"; fail "bpftrace failed"; }
compare_got "$TMP/got" 6 || { cat "$TMP/err"; fail "bpftrace read wrong values"; }
ok "bpftrace read arguments 1-6 of $(expect_lines | wc -l) probes exactly"

# is-enabled: 0 now that bpftrace has gone, 1 while one is attached.
wait_state ints:i8 0 5 || fail "is-enabled did not return to 0 after bpftrace detached"
timeout 30 bpftrace -p "$TPID" -e 'usdt:*:ints:i8 { @n = count(); } interval:s:2 { exit(); }' > "$TMP/out2" 2>&1 &
bpid=$!
wait_state ints:i8 1 15 || fail "is-enabled did not become 1 while bpftrace was attached"
ok "is-enabled is 1 while bpftrace is attached"
wait $bpid
wait_state ints:i8 0 5 || fail "is-enabled did not return to 0"
ok "is-enabled is 0 after bpftrace detached"
grep -q '@n: [1-9]' "$TMP/out2" || { cat "$TMP/out2"; fail "no events counted"; }
ok "bpftrace counted events: $(grep '@n' "$TMP/out2")"
