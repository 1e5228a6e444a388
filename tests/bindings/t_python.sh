#!/usr/bin/env bash
# The Python binding (bindings/python): its unit tests (argument checks,
# library errors raised with libusdt's message, lifecycle) under every
# python3 on this machine, then a traced run per interpreter: bpftrace
# attached to the Python process by pid reads the exact values fired
# (integer extremes, negative values, str/bytes/UTF-8/empty strings), and
# probe.enabled is True while bpftrace is attached and False before/after.
. "$(dirname "$0")/../lib.sh"
need bpftrace python3; need_root
. tests/bindings/libusdt.sh
export LIBUSDT_PATH=$LIBDIR/libusdt.so PYTHONDONTWRITEBYTECODE=1
PY=bindings/python

# /usr/bin/python3 and the python3 on PATH (pyenv), once each
pythons=(); seen=" "
for p in /usr/bin/python3 "$(command -v python3)"; do
  exe=$("$p" -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null) || continue
  [[ $seen == *" $exe "* ]] && continue
  seen="$seen$exe "; pythons+=("$p")
done

for py in "${pythons[@]}"; do
  ver=$("$py" -c 'import sys; print(sys.version.split()[0])')
  "$py" -m unittest discover -s "$PY/tests" -p 'test_*.py' > "$TMP/unit" 2>&1 || { cat "$TMP/unit"; fail "unit tests failed under $py ($ver)"; }
  ok "unit tests under $py ($ver): $(grep -E '^Ran ' "$TMP/unit")"

  TARGET=$py start_target "$PY/tests/target.py" 20

  prog=$TMP/py.bt
  bt_args_program 6 > "$prog"

  wait_state pyprobes:i8 0 5 || fail "probe.enabled was not False before tracing"
  timeout 60 bpftrace -p "$TPID" "$prog" > "$TMP/got" 2>"$TMP/err" || { cat "$TMP/err"; fail "bpftrace failed"; }
  compare_got "$TMP/got" 6 || { cat "$TMP/got" "$TMP/err"; fail "bpftrace read wrong values from $py"; }
  ok "bpftrace read the exact arguments of $(expect_lines | wc -l) probes fired by $py"

  check_enabled_flip pyprobes:i8 probe.enabled
  stop_target
  grep -q '^DONE enabled=False' "$TOUT" || fail "target did not exit cleanly"
  ok "$py target exited cleanly"
done
