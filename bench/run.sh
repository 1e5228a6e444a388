#!/usr/bin/env bash
# bench/run.sh — run libusdt's benchmarks (called by `make bench`).
#
# Runs build/bench/untraced, jit (a JIT's inlined check, usdt_vm.h), traced
# (bpftrace attached; needs root) and
# lifecycle, prints their tables on stdout, collects every figure in
# $BUILD/bench/results.csv and, when gnuplot is installed, plots lifecycle
# cost against probe count into $BUILD/bench/lifecycle.png. With
# LIBSTAPSDT_DIR=<a built libstapsdt checkout> it also builds and runs
# bench/peer/libstapsdt.c against it (its shared library, and libusdt.so)
# and adds its rows (BENCH_ONLY: "libstapsdt").
#
# Usage: bench/run.sh [--smoke]     (or BENCH_SMOKE=1: short CI mode, < 60 s)
# Environment: BUILD (default build), BENCH_RUNS, BENCH_CPU, BENCH_SCALE,
# BPFTRACE, LIBSTAPSDT_DIR, CI (=true: a traced part that cannot run is an
# error); BENCH_ONLY="untraced traced ..." runs only those programs and
# BENCH_BINDINGS=0 skips the Python/Node figures (`make bench-i386` and the
# arm64 VM, tests/vm/run.sh with USDT_VM_BENCH=1, use both).
# No timing assertion ever fails the run: PASS/MISS are reported, not
# enforced. Exit status: 0, or 1 when a program fails (or, under CI=true,
# when the traced part cannot run).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
[ "${1:-}" = --smoke ] && export BENCH_SMOKE=1
export BENCH_SMOKE=${BENCH_SMOKE:-0}
OUT=$BUILD/bench
mkdir -p "$OUT"
export BENCH_CSV=$OUT/results.csv
export BENCH_PLOT_DAT=$OUT/lifecycle.dat
echo "section,figure,value,unit,ratio,baseline,target,status" > "$BENCH_CSV"
rm -f "$BENCH_PLOT_DAT"

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
echo "libusdt benchmarks — $BUILD, kernel $(uname -r) $(uname -m), $cpu, $(nproc) CPUs$([ "$BENCH_SMOKE" != 0 ] && echo ', SMOKE MODE (figures are not meaningful)')"
echo "reproduce: make bench   (smoke: make bench BENCH_SMOKE=1)"

rc=0
run() {
  case " ${BENCH_ONLY:-$1} " in *" $1 "*) ;; *) return ;; esac
  local prog=$OUT/$1
  if [ ! -x "$prog" ]; then echo "bench: $prog is not built (run make bench)"; rc=1; return; fi
  "$prog"
  local st=$?
  if [ $st = 77 ]; then
    if [ "${CI:-}" = true ]; then
      echo "bench: ERROR: $1 could not run (see above); under CI=true that is a failure"; rc=1
    else
      echo "bench: NOTE: $1 skipped (see above); its figures are missing"
    fi
  elif [ $st != 0 ]; then
    echo "bench: ERROR: $1 failed (exit $st)"; rc=1
  fi
}

run untraced
run untraced-shared
run jit
run traced
run lifecycle
# system calls per enable and per disable of a one-probe provider (strace)
if command -v strace >/dev/null 2>&1 && [ -x "$OUT/lifecycle" ] && case " ${BENCH_ONLY:-lifecycle} " in *" lifecycle "*) true ;; *) false ;; esac; then
  strace -f -o "$OUT/syscalls.strace" "$OUT/lifecycle" --syscalls 50 >/dev/null 2>&1 &&
  awk -v csv="$BENCH_CSV" '
    $2 ~ /^getppid\(/ { if (mode == "dis") { d += n; nd++ } mode = "en"; n = 0; next }
    $2 ~ /^getpgrp\(/ { if (mode == "en") { e += n; ne++ } mode = "dis"; n = 0; next }
    mode != "" && $2 ~ /^[a-z_0-9]+\(/ { n++ }
    END { if (ne && nd) {
            printf "%-10s %-44s %10.1f %-6s\n", "lifecycle", "system calls per enable (1 probe)", e / ne, "calls";
            printf "%-10s %-44s %10.1f %-6s\n", "lifecycle", "system calls per disable (1 probe)", d / nd, "calls";
            printf "lifecycle,\"system calls per enable (1 probe)\",%.1f,calls,0,\"\",\"\",\n", e / ne >> csv;
            printf "lifecycle,\"system calls per disable (1 probe)\",%.1f,calls,0,\"\",\"\",\n", d / nd >> csv } }' \
    "$OUT/syscalls.strace"
fi
run grace
# enable cost against providers already loaded, default (map) loader and
# dlopen (LIBUSDT_LOADER=memfd): docs/performance.md's providers.png
PROV_N=10000; [ -n "${BENCH_SMOKE:-}" ] && [ "${BENCH_SMOKE}" != 0 ] && PROV_N=1000
if [ -x "$OUT/lifecycle" ] && case " ${BENCH_ONLY:-lifecycle} " in *" lifecycle "*) true ;; *) false ;; esac; then
  "$OUT/lifecycle" --providers "$PROV_N" > "$OUT/providers-map.dat" &&
    LIBUSDT_LOADER=memfd "$OUT/lifecycle" --providers "$PROV_N" > "$OUT/providers-memfd.dat" ||
    { echo "bench: ERROR: lifecycle --providers failed"; rc=1; }
  for l in map memfd; do
    awk -v n="$PROV_N" -v l="$l" 'NR == 1 { f = $2 } { z = $2 } END { if (NR) printf "%-10s %-44s %10.2f x   (%d providers, loader %s)\n", "lifecycle", "enable, last hundred / first hundred", z / f, n, l }' "$OUT/providers-$l.dat"
  done
fi

# The bindings (issue 13 target 4): bench/bindings/py_bench.py through
# $BUILD/libusdt.so, bench/bindings/node_bench.js through the addon that
# tests/bindings/t_node.sh (node-gyp) builds; each is skipped with a note
# when its interpreter or the addon is missing.
if [ "${BENCH_BINDINGS:-1}" = 0 ]; then
  echo "bench: NOTE: BENCH_BINDINGS=0, no Python or Node figures"
elif command -v python3 >/dev/null 2>&1 && [ -e "$BUILD/libusdt.so" ]; then
  case $BUILD in /*) lp=$BUILD ;; *) lp=$PWD/$BUILD ;; esac
  # the optional C accelerator (usdt/_speedups.c), built in place when a
  # compiler is present; then the pure-Python path (USDT_PY_ACCEL=0)
  python3 bindings/python/_build/usdt_build.py --inplace >/dev/null || echo "bench: NOTE: the Python accelerator could not be built"
  LIBUSDT_PATH=$lp/libusdt.so python3 bench/bindings/py_bench.py || { echo "bench: ERROR: py_bench failed"; rc=1; }
  USDT_PY_ACCEL=0 LIBUSDT_PATH=$lp/libusdt.so python3 bench/bindings/py_bench.py || { echo "bench: ERROR: py_bench (USDT_PY_ACCEL=0) failed"; rc=1; }
  # with every fast path off: every check calls usdt_is_enabled() (bindings/python/README.md)
  USDT_PY_FAST=0 LIBUSDT_PATH=$lp/libusdt.so python3 bench/bindings/py_bench.py || { echo "bench: ERROR: py_bench (USDT_PY_FAST=0) failed"; rc=1; }
else
  echo "bench: NOTE: python3 or $BUILD/libusdt.so missing, no Python binding figures"
fi
if [ "${BENCH_BINDINGS:-1}" = 0 ]; then
  :
elif command -v node >/dev/null 2>&1 && [ -f bindings/node/build/Release/usdt.node ]; then
  node bench/bindings/node_bench.js || { echo "bench: ERROR: node_bench failed"; rc=1; }
else
  echo "bench: NOTE: node or bindings/node/build/Release/usdt.node missing (build it: tests/run bindings/t_node), no Node figures"
fi

# The libstapsdt comparison (issue 13 target 7): bench/peer/libstapsdt.c
# built here against a libstapsdt checkout built outside this tree (make
# there), through its shared library out/libstapsdt.so.0 (out/libstapsdt.a
# only when there is no .so, said so in the output), and against
# $BUILD/libusdt.so: shared against shared, in one process and one run.
if [ -n "${LIBSTAPSDT_DIR:-}" ] && case " ${BENCH_ONLY:-libstapsdt} " in *" libstapsdt "*) true ;; *) false ;; esac; then
  sd=$(cd "$LIBSTAPSDT_DIR" 2>/dev/null && pwd)
  case $BUILD in /*) ab=$BUILD ;; *) ab=$PWD/$BUILD ;; esac
  stap=
  if [ -n "$sd" ] && [ -e "$sd/out/libstapsdt.so.0" ]; then
    stap="$sd/out/libstapsdt.so.0 -Wl,-rpath,$sd/out"; stap_link=so
  elif [ -n "$sd" ] && [ -e "$sd/out/libstapsdt.so" ]; then
    stap="$sd/out/libstapsdt.so -Wl,-rpath,$sd/out"; stap_link=so
  elif [ -n "$sd" ] && [ -f "$sd/out/libstapsdt.a" ]; then
    echo "bench: NOTE: $LIBSTAPSDT_DIR has no out/libstapsdt.so.0: libstapsdt linked STATICALLY (out/libstapsdt.a), libusdt shared"
    stap="$sd/out/libstapsdt.a -lelf"; stap_link=a
  else
    echo "bench: NOTE: LIBSTAPSDT_DIR=$LIBSTAPSDT_DIR has neither out/libstapsdt.so.0 nor out/libstapsdt.a (build it with make there)"
  fi
  if [ -z "$stap" ]; then
    :
  elif [ ! -e "$BUILD/libusdt.so" ] || [ ! -e "$OUT/libbenchlib.so" ]; then
    echo "bench: ERROR: $BUILD/libusdt.so or $OUT/libbenchlib.so missing (run make bench)"; rc=1
  elif [ -n "$stap" ]; then
    # shellcheck disable=SC2086  # $stap is a list of linker arguments
    cc -std=gnu11 -O2 -Ibench -Iinclude -I"$sd/src" -DSTAP_LINK="\"$stap_link\"" -o "$OUT/peer-libstapsdt" \
       bench/peer/libstapsdt.c $stap -L"$BUILD" -lusdt -L"$OUT" -lbenchlib -Wl,-rpath,"$ab:$ab/bench" \
       -ldl -lpthread -lm -Wl,-z,noexecstack &&
      "$OUT/peer-libstapsdt" || { echo "bench: ERROR: libstapsdt comparison failed"; rc=1; }
  fi
fi

if [ -s "$BENCH_PLOT_DAT" ] && command -v gnuplot >/dev/null 2>&1; then
  gnuplot <<EOF || { echo "bench: ERROR: gnuplot failed"; rc=1; }
set terminal pngcairo size 900,560 font ",11"
set output "$OUT/lifecycle.png"
set title "libusdt lifecycle cost vs probes per provider (kernel $(uname -r))"
set logscale xy
set xlabel "probes in the provider"
set ylabel "time (us, median)"
set key top left
set grid
set format x "10^{%L}"
plot "$BENCH_PLOT_DAT" using 1:2 with linespoints lw 2 title "enable", \
     "" using 1:3 with linespoints lw 2 title "disable", \
     "" using 1:4 with linespoints lw 2 title "free", \
     "" using 1:(\$1*0.3) with lines dt 2 lc rgb "gray" title "0.3 us per probe (linear)"
EOF
  [ -s "$OUT/lifecycle.png" ] && echo "plot: $OUT/lifecycle.png"
elif [ -s "$BENCH_PLOT_DAT" ]; then
  echo "bench: NOTE: gnuplot not installed, no plot"
fi
if [ -s "$OUT/providers-map.dat" ] && [ -s "$OUT/providers-memfd.dat" ] && command -v gnuplot >/dev/null 2>&1; then
  gnuplot <<EOF || { echo "bench: ERROR: gnuplot failed"; rc=1; }
set terminal pngcairo size 900,560 font ",11"
set output "$OUT/providers.png"
set termoption noenhanced
set title "enable of a one-probe provider vs providers already loaded (kernel $(uname -r))"
set logscale y
set xlabel "providers already enabled in the process"
set ylabel "enable time (us, median of each hundred)"
set key top left
set grid
plot "$OUT/providers-map.dat" using 1:2 with linespoints lw 2 title "default loader (map: mmap, GDB JIT interface)", \
     "$OUT/providers-memfd.dat" using 1:2 with linespoints lw 2 title "LIBUSDT_LOADER=memfd (dlopen)"
EOF
  [ -s "$OUT/providers.png" ] && echo "plot: $OUT/providers.png"
fi
echo "csv: $BENCH_CSV ($(($(wc -l < "$BENCH_CSV") - 1)) figures)"
echo "targets: $(grep -c ',PASS$' "$BENCH_CSV") PASS, $(grep -c ',MISS$' "$BENCH_CSV") MISS"
exit $rc
