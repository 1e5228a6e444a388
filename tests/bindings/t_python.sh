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
  # the optional C accelerator (usdt/_speedups.c) for this interpreter,
  # built in place; the suite then runs with it and with the pure path
  rc=0; "$py" $PY/_build/usdt_build.py --inplace > "$TMP/accel" 2>&1 || rc=$?
  case $rc in
    0) accel=1 ;;
    2) accel=0; echo "note: no accelerator for $py ($ver): $(tail -1 "$TMP/accel")" ;;
    *) cat "$TMP/accel"; fail "building usdt/_speedups.c for $py ($ver)" ;;
  esac
  for mode in 1 0; do
    [ $mode = 1 ] && what="C accelerator" || what="pure path, USDT_PY_ACCEL=0"
    [ $mode = 1 ] && [ $accel = 0 ] && continue
    USDT_PY_ACCEL=$mode "$py" -m unittest discover -s "$PY/tests" -p 'test_*.py' > "$TMP/unit" 2>&1 ||
      { cat "$TMP/unit"; fail "unit tests failed under $py ($ver, $what)"; }
    ok "unit tests under $py ($ver, $what): $(grep -E '^Ran ' "$TMP/unit")"
  done
  if [ $accel = 1 ]; then
    USDT_PY_ACCEL=1 "$py" -c 'import sys; sys.path.insert(0, sys.argv[1]); import usdt; sys.exit(0 if usdt.ACCEL else 1)' "$PY" ||
      fail "usdt._speedups built but not used by $py ($ver)"
    ok "$py ($ver) uses the C accelerator"
  fi

  # traced: with the accelerator (where built), then the pure path
  for mode in 1 0; do
    [ $mode = 1 ] && [ $accel = 0 ] && continue
    [ $mode = 1 ] && what="C accelerator" || what="pure path"
    USDT_PY_ACCEL=$mode TARGET=$py start_target "$PY/tests/target.py" 20

    prog=$TMP/py.bt
    bt_args_program 6 > "$prog"

    if [ $mode = 1 ]; then
      grep -q '/_speedups\.' /proc/$TPID/maps || fail "the $what is not loaded in the $py target"
    else
      ! grep -q '/_speedups\.' /proc/$TPID/maps || fail "USDT_PY_ACCEL=0 but the $py target loaded usdt._speedups"
    fi
    wait_state pyprobes:i8 0 5 || fail "probe.enabled was not False before tracing ($what)"
    timeout 60 bpftrace -p "$TPID" "$prog" > "$TMP/got" 2>"$TMP/err" || { cat "$TMP/err"; fail "bpftrace failed"; }
    compare_got "$TMP/got" 6 || { cat "$TMP/got" "$TMP/err"; fail "bpftrace read wrong values from $py ($what)"; }
    ok "bpftrace read the exact arguments of $(expect_lines | wc -l) probes fired by $py ($what)"

    check_enabled_flip pyprobes:i8 probe.enabled
    stop_target
    grep -q '^DONE enabled=False' "$TOUT" || fail "target did not exit cleanly"
    ok "$py target exited cleanly ($what)"
  done
done
