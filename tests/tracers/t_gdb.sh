#!/usr/bin/env bash
# GDB attached to a live process: `info probes` lists every probe of the
# three providers (the object is in the loader's link map under
# /proc/<pid>/fd/N); `break -probe-stap` stops at each probe and
# $_probe_arg0.. $_probe_arg11 hold the exact values of all 12 arguments;
# is-enabled is 1 while GDB's breakpoint is inserted and 0 after detach.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/specs.sh"
need gdb; need_root
start_target -i 20 "${SPECS[@]}"
nprobes=$(expect_lines | wc -l)

timeout 60 gdb -p "$TPID" -batch -ex 'info probes stap' > "$TMP/list" 2>&1
for p in $(expect_lines | awk '{print $1}'); do
  prov=${p%%:*}; name=${p#*:}
  grep -qE "^stap +$prov +$name +0x" "$TMP/list" || { cat "$TMP/list"; fail "gdb info probes does not list $p"; }
done
ok "gdb info probes lists all $nprobes probes"

# One gdb session: a temporary breakpoint per probe printing its arguments.
cmds=$TMP/cmds.gdb
{
  while read -r name rest; do
    read -ra vals <<<"$rest"
    fmt="GOT $name"; args=""
    for i in "${!vals[@]}"; do
      if [[ ${vals[$i]} == \"* ]]; then fmt="$fmt \\\"%s\\\""; args="$args, (char *)\$_probe_arg$i"
      else fmt="$fmt %llx"; args="$args, (long long)\$_probe_arg$i"; fi
    done
    echo "tbreak -probe-stap $name"
    echo "commands"
    echo "silent"
    echo "printf \"$fmt\\n\"$args"
    echo "printf \"ARGC $name %d\\n\", \$_probe_argc"
    echo "end"
  done < <(expect_lines)
  for _ in $(seq "$nprobes"); do echo continue; done
  echo detach
} > "$cmds"
timeout 120 gdb -p "$TPID" -batch -x "$cmds" > "$TMP/got" 2>&1 || { tail -20 "$TMP/got"; fail "gdb failed"; }
compare_got "$TMP/got" 12 || { grep -v '^GOT' "$TMP/got" | tail -20; fail "gdb read wrong values"; }
ok "gdb read all arguments (up to 12) of $nprobes probes exactly"
grep -q '^ARGC counts:a12 12$' "$TMP/got" || fail "gdb \$_probe_argc for counts:a12 is not 12"
ok "gdb \$_probe_argc = 12 for a 12-argument probe"

# is-enabled: gdb bumps the semaphore and inserts int3 while the inferior runs.
wait_state counts:a1 0 5 || fail "is-enabled not 0 before gdb attaches"
before=$(grep -c "^STATE counts:a1 1" "$TOUT")
timeout 60 gdb -p "$TPID" -batch -ex 'break -probe-stap counts:a1' -ex 'shell sleep 0' \
  -ex 'continue' -ex 'continue' -ex 'continue' -ex 'delete' -ex 'detach' > "$TMP/g2" 2>&1
[ "$(grep -c "^STATE counts:a1 1" "$TOUT")" -gt "$before" ] || { cat "$TMP/g2"; fail "is-enabled never became 1 under gdb"; }
ok "is-enabled became 1 while gdb's probe breakpoint was set"
wait_state counts:a1 0 5 || fail "is-enabled did not return to 0 after gdb detached"
ok "is-enabled is 0 after gdb detached"
