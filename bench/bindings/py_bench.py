#!/usr/bin/env python3
"""py_bench.py — cost of the Python binding's probes (issue 13, target 4).

Measured in one process, in the same run, each figure against its baseline
(the ratio is the median of the per-run ratios, never a ratio of medians of
different runs):
  untraced probe.fire(1, "x")   vs an empty `def f(a, b): pass` called f(1, "x")
  probe.enabled (untraced)      vs an empty `def f(): pass` called f()
and, for information: a strict probe's fire (full argument checks), fire on
a disabled provider, and usdt_is_enabled() called through ctypes (the
floor of any check that calls into libusdt). With bpftrace attached (root,
bpftrace installed), the traced fire too (bpftrace counts, and the count is
checked against the fires).

Times are per operation with the empty loop's cost subtracted (measured in
the same run). Output: the table and CSV of bench/bench.h (bench_row):
"section figure median unit ratio baseline target status", CSV appended to
$BENCH_CSV. Environment: BENCH_SMOKE=1 (short), BENCH_RUNS (default 7, at
least 5), BENCH_CPU, BENCH_CSV, BPFTRACE, USDT_PY_PATH (the usdt package's
parent directory; default: bindings/python of this tree), LIBUSDT_PATH,
USDT_PY_ACCEL=0 (the pure path even where usdt/_speedups is built),
USDT_PY_FAST=0 (every check through ctypes).
Exit status 0, or 1 on error. No figure ever fails the run.
"""
import os
import signal
import subprocess
import sys
import time
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.environ.get("USDT_PY_PATH") or os.path.join(ROOT, "bindings", "python"))
import usdt  # noqa: E402
from usdt import _lib  # noqa: E402

SMOKE = os.environ.get("BENCH_SMOKE", "0") not in ("", "0")
RUNS = min(64, max(5, int(os.environ.get("BENCH_RUNS", "7"))))
# Each run is ROUNDS short rounds that time every statement in turn (so a
# burst of load on this shared machine hits all of them alike); a figure is
# the median over every round of every run, its ratio the median of the
# per-round ratios.
ROUNDS = 2 if SMOKE else 6
N = 5000 if SMOKE else 20000


def pin():
    try:
        allowed = sorted(os.sched_getaffinity(0))
        cpu = int(os.environ["BENCH_CPU"]) if os.environ.get("BENCH_CPU") else allowed[-1]
        os.sched_setaffinity(0, {cpu})
        return cpu
    except (OSError, ValueError, AttributeError):
        return -1


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def fmt(value):
    return "%.0f" % value if value >= 100 else "%.1f" % value if value >= 10 else "%.2f" % value


def header(title):
    print("\n== %s\n%-10s %-44s %10s %-6s %-34s %-16s %s" % (
        title, "section", "figure", "median", "unit", "ratio (same run)", "target", "status"), flush=True)


def row(section, name, value, unit, ratio=None, baseline="", target="", status=""):
    r = "%.2fx %s" % (ratio, baseline) if ratio is not None else "-"
    print("%-10s %-44s %10s %-6s %-34s %-16s %s" % (section, name, fmt(value), unit, r, target, status),
          flush=True)
    csv = os.environ.get("BENCH_CSV")
    if csv:
        with open(csv, "a") as f:
            f.write('%s,"%s",%.4f,%s,%.4f,"%s","%s",%s\n' % (
                section, name, value, unit, ratio if ratio is not None else 0.0,
                baseline if ratio is not None else "", target, status))


def measure(stmts, env, n=N, runs=RUNS):
    """{name: [ns per op, per round]} for each statement, loop cost
    subtracted; the statements are interleaved within each round."""
    timers = {k: timeit.Timer(s, globals=env, timer=CLOCK) for k, s in stmts.items()}
    empty = timeit.Timer("pass", globals=env, timer=CLOCK)
    out = {k: [] for k in stmts}
    for k, t in timers.items():      # warm up (and let 3.11 specialise)
        t.timeit(min(n, 20000))
    for _ in range(runs * ROUNDS):
        loop = empty.timeit(n) / n * 1e9
        for k, t in timers.items():
            out[k].append(max(0.01, t.timeit(n) / n * 1e9 - loop))
    return out


def ratios(a, b):
    return median([x / y for x, y in zip(a, b)])


def target_row(section, name, vals, base_vals, base_name, limit):
    r = ratios(vals, base_vals)
    row(section, name, median(vals), "ns", r, base_name, "<= %gx" % limit, "PASS" if r <= limit else "MISS")


def untraced(prov, probe, strict, gone):
    def f2(a, b):
        pass

    def f0():
        pass

    class Empty:
        @property
        def enabled(self):
            return False

    env = {"probe": probe, "strict": strict, "gone": gone, "f2": f2, "f0": f0, "empty": Empty(),
           "is_enabled": _lib.usdt_is_enabled, "obj": probe._obj}
    m = measure({
        "f2": 'f2(1, "x")',
        "f0": "f0()",
        "fire": 'probe.fire(1, "x")',
        "enabled": "probe.enabled",
        "prop": "empty.enabled",
        "strict": 'strict.fire(1, "x")',
        "gone": 'gone.fire(1, "x")',
        "ctypes": "is_enabled(obj)",
    }, env)
    path = "C accelerator" if getattr(usdt, "ACCEL", False) else "pure-Python fast path" if usdt.FAST_PATH else "ctypes"
    header("Python binding, untraced (%s, %s)" % (sys.version.split()[0], path))
    print("# %d runs x %d rounds x %d calls, pinned to CPU %d; ns of thread CPU time per call, empty loop subtracted" % (
        RUNS, ROUNDS, N, CPU))
    row("python", 'empty def f(a, b): f(1, "x")', median(m["f2"]), "ns")
    row("python", "empty def f(): f()", median(m["f0"]), "ns")
    target_row("python", 'untraced probe.fire(1, "x")', m["fire"], m["f2"], "empty f(a, b)", 5)
    target_row("python", "untraced probe.enabled", m["enabled"], m["f0"], "empty f()", 5)
    row("python", "empty @property (floor of .enabled)", median(m["prop"]), "ns",
        ratios(m["prop"], m["f0"]), "empty f()")
    row("python", 'untraced strict probe.fire(1, "x") (checks)', median(m["strict"]), "ns",
        ratios(m["strict"], m["f2"]), "empty f(a, b)")
    row("python", 'disabled provider probe.fire(1, "x")', median(m["gone"]), "ns",
        ratios(m["gone"], m["f2"]), "empty f(a, b)")
    row("python", "usdt_is_enabled() through ctypes", median(m["ctypes"]), "ns",
        ratios(m["ctypes"], m["f0"]), "empty f()")


def traced(probe):
    bpftrace = os.environ.get("BPFTRACE", "bpftrace")
    if os.geteuid() != 0:
        print("python traced: SKIP: needs root to attach bpftrace")
        return
    if subprocess.run(["sh", "-c", "command -v %s >/dev/null 2>&1" % bpftrace]).returncode != 0:
        print("python traced: SKIP: %s is not installed" % bpftrace)
        return
    prog = 'usdt:*:pybench:traced { @n = count(); }'
    bt = subprocess.Popen([bpftrace, "-p", str(os.getpid()), "-e", prog], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, start_new_session=True)
    t0 = time.monotonic()
    while not probe.enabled:
        if bt.poll() is not None or time.monotonic() - t0 > 60:
            print("python traced: bpftrace did not attach:\n" + bt.stdout.read().decode(errors="replace"))
            bt.kill()
            return
        time.sleep(0.05)
    n = 1000 if SMOKE else 5000
    runs = RUNS

    def f2(a, b):
        pass

    m = measure({"fire": 'probe.fire(1, "x")', "f2": 'f2(1, "x")'}, {"probe": probe, "f2": f2}, n=n, runs=runs)
    fires = min(n, 20000) + n * runs * ROUNDS   # warm-up + rounds
    os.killpg(bt.pid, signal.SIGINT)
    try:
        out = bt.communicate(timeout=30)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        bt.kill()
        out = bt.communicate()[0].decode(errors="replace")
    header("Python binding, traced (bpftrace attached, count())")
    print("# %d runs x %d rounds x %d fires; bpftrace attached after %.1f s" % (runs, ROUNDS, n, time.monotonic() - t0))
    row("python", 'traced probe.fire(1, "x")', median(m["fire"]), "ns", ratios(m["fire"], m["f2"]), "empty f(a, b)")
    got = [int(l.split()[-1]) for l in out.splitlines() if l.startswith("@n:")]
    ok = bool(got) and got[0] == fires
    row("python", "bpftrace count = fires (%d)" % fires, got[0] if got else 0, "fires", None, "", "== fires",
        "PASS" if ok else "MISS")


CPU = pin()
# The time this thread ran, not wall time: on a shared, loaded machine a
# round that was preempted is not counted longer (the C benches are pinned
# and use CLOCK_MONOTONIC; BENCH_PY_WALL=1 does the same here).
CLOCK = time.perf_counter if os.environ.get("BENCH_PY_WALL", "0") not in ("", "0") else time.thread_time


def main():
    prov = usdt.Provider("pybench")
    probe = prov.add_probe("fire", "int", "char *")
    strict = prov.add_probe("strict", "int", "char *", strict=True)
    tr = prov.add_probe("traced", "int", "char *")
    prov.enable()
    off = usdt.Provider("pybenchoff")
    gone = off.add_probe("fire", "int", "char *")
    untraced(prov, probe, strict, gone)
    if os.environ.get("BENCH_PY_TRACED", "1") != "0":
        traced(tr)
    prov.close()
    off.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
