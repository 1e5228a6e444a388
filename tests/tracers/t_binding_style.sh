#!/usr/bin/env bash
# t_binding_style.sh — libusdt 0.x bindings' usage (Devel::DTrace::Provider,
# node-dtrace-provider, lua-usdt, ruby-usdt: progs/binding_style.c calls the
# API the way each does, with their names: provider0, 32probe, log-info,
# request-start) works, and bpftrace attached by pid reads every probe's
# arguments exactly under its Linux name (log__info, request__start).
. "$(dirname "$0")/../lib.sh"
need bpftrace; need_root
TARGET=$BUILD/tests/progs/binding_style
[ -x "$TARGET" ] || fail "no $TARGET (make tests)"
start_target
grep '^CHECK' "$TOUT"
! grep -q '^CHECK not ok' "$TOUT" || fail "a binding-style call failed"
ok "$(grep -c '^CHECK ok' "$TOUT") binding-style calls succeeded"
bt_args_program 6 > "$TMP/b.bt"
timeout 60 bpftrace -p "$TPID" "$TMP/b.bt" > "$TMP/got" 2>"$TMP/err" || { cat "$TMP/err"; fail "bpftrace failed"; }
compare_got "$TMP/got" 6 || { cat "$TMP/err"; fail "bpftrace read wrong values"; }
ok "bpftrace read the $(expect_lines | wc -l) binding-style probes exactly"
stop_target
grep -q '^DONE' "$TOUT" || fail "the target did not tear down cleanly"
ok "teardown (release, free) clean"
