#!/usr/bin/env bash
# bpftrace attaches by pid to probes of three providers in one process and
# reads arguments 1..6 (bpftrace < 0.24 cannot read a 7th) with the exact
# values fired: every integer width, signedness, extremes, negative values,
# strings including "". is-enabled goes to 1 while attached and back to 0.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/specs.sh"
need bpftrace; need_root
start_target -i 20 "${SPECS[@]}"

prog=$TMP/args.bt
bt_args_program 6 > "$prog"

timeout 60 bpftrace -p "$TPID" "$prog" > "$TMP/got" 2>"$TMP/err" || { cat "$TMP/err"; fail "bpftrace failed"; }
compare_got "$TMP/got" 6 || { cat "$TMP/err"; fail "bpftrace read wrong values"; }
ok "bpftrace read arguments 1-6 of $(expect_lines | wc -l) probes exactly"

# is-enabled: 0 now that bpftrace has gone, 1 while one is attached.
check_enabled_flip ints:i8 usdt_is_enabled
