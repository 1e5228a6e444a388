#!/usr/bin/env bash
# t_pip.sh — `pip install ./bindings/python` works offline (pyproject, no
# dependencies, no index) into a fresh venv, and the installed package,
# run from outside the source tree, finds libusdt.so.1 installed by
# `make install` (PREFIX=/usr/local) and enables a provider whose probe
# bpftrace reads. Everything installed is removed again.
. "$(dirname "$0")/../lib.sh"
need python3 bpftrace; need_root
python3 -c 'import venv, ensurepip' 2>/dev/null || { echo "SKIP: python3-venv is not installed"; exit 77; }
[ ! -e /usr/local/lib/libusdt.so.1 ] || { echo "SKIP: /usr/local already has a libusdt (not touching it)"; exit 77; }
b=$TMP/b
cleanup_pip() { make -s uninstall PREFIX=/usr/local BUILD="$b" >/dev/null 2>&1; ldconfig; }
trap 'cleanup_pip; cleanup_lib' EXIT
python3 -m venv "$TMP/venv" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "python3 -m venv"; }
PIP_NO_INDEX=1 "$TMP/venv/bin/pip" install --no-index -q ./bindings/python > "$TMP/log" 2>&1 ||
  { cat "$TMP/log"; fail "pip install ./bindings/python (offline)"; }
ok "pip install ./bindings/python: offline, no dependencies"
# the optional accelerator: in the wheel where a compiler and Python.h are
# present (a cpXY wheel), not with USDT_PY_ACCEL=0 (py3-none-any)
vpy=$TMP/venv/bin/python
for mode in 1 0; do
  rm -rf "$TMP/whl"; mkdir "$TMP/whl"
  (cd bindings/python/_build && USDT_PY_ACCEL=$mode "$vpy" -c 'import sys, usdt_build; print(usdt_build.build_wheel(sys.argv[1]))' "$TMP/whl") > "$TMP/whlname" 2>"$TMP/log" ||
    { cat "$TMP/log"; fail "build_wheel (USDT_PY_ACCEL=$mode)"; }
  whl=$(cat "$TMP/whlname")
  if [ $mode = 0 ]; then
    [[ $whl == *-py3-none-any.whl ]] || fail "USDT_PY_ACCEL=0 built $whl, not a pure wheel"
    ! "$vpy" -m zipfile -l "$TMP/whl/$whl" | grep -q _speedups || fail "USDT_PY_ACCEL=0: $whl has the accelerator"
    ok "USDT_PY_ACCEL=0: pure wheel $whl"
  elif command -v "${CC:-cc}" >/dev/null 2>&1 && "$vpy" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
    [[ $whl == *-cp3*-linux_* ]] || { cat "$TMP/log"; fail "a compiler is present but the wheel is $whl"; }
    "$vpy" -m zipfile -l "$TMP/whl/$whl" | grep -q 'usdt/_speedups\.' || fail "$whl has no usdt/_speedups"
    accel=1
    ok "wheel with the C accelerator: $whl"
  else
    accel=0
    echo "note: no compiler or Python.h for the venv's python: pure wheel $whl"
  fi
done
make -s install PREFIX=/usr/local BUILD="$b" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "make install PREFIX=/usr/local"; }
cat > "$TMP/use.py" <<'PY'
import sys, time, usdt
p = usdt.Provider("pipcheck")
probe = p.add_probe("hit-me", "int", "char *")
p.enable()
print("LIB", usdt._lib.path, flush=True)
print("ACCEL", usdt.ACCEL, flush=True)
print("READY", flush=True)
for _ in range(600):
    probe.fire(4242, "from-pip")
    time.sleep(0.02)
PY
(cd / && exec "$TMP/venv/bin/python" "$TMP/use.py") > "$TMP/out" 2>&1 &
TPID=$!
for _ in $(seq 100); do grep -q READY "$TMP/out" && break; kill -0 $TPID 2>/dev/null || break; sleep 0.1; done
grep -q READY "$TMP/out" || { cat "$TMP/out"; fail "import usdt from the venv did not find the installed libusdt"; }
grep -q '/usr/local/lib/libusdt.so' /proc/$TPID/maps || { cat "$TMP/out"; fail "the venv's usdt did not load /usr/local/lib/libusdt.so.1"; }
ok "import usdt (venv, cwd /) loaded /usr/local/lib/libusdt.so.1"
if [ $accel = 1 ]; then
  grep -q '^ACCEL True' "$TMP/out" && grep -q '/_speedups\.' /proc/$TPID/maps || { cat "$TMP/out"; fail "the installed usdt does not use its accelerator"; }
  ok "the installed usdt uses its C accelerator (usdt._speedups)"
fi
got=$(timeout 30 bpftrace -p $TPID -e 'usdt:*:pipcheck:hit__me { printf("%d %s\n", arg0, str(arg1)); exit(); }' 2>/dev/null | grep -v Attaching)
[ "$got" = "4242 from-pip" ] || fail "bpftrace read [$got]"
ok "bpftrace read pipcheck:hit__me: $got"
