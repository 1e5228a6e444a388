#!/usr/bin/env python3
"""A traced Python process for tests/bindings/t_python.sh.

Defines probes of every integer width (extremes, negatives) and strings,
enables them, prints
    READY <pid>
    EXPECT <provider>:<probe> <v>...   (integers as the 64-bit hex a tracer
                                        reads, strings in double quotes)
then fires every probe every INTERVAL ms until SIGTERM, printing
"STATE <provider>:<probe> <0|1>" when probe.enabled changes.
usage: target.py [INTERVAL_MS]
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import usdt  # noqa: E402

I64 = 1 << 63
PROBES = [
    # name, types, values (at most 6: bpftrace < 0.24 reads no more)
    ("i8", ["int8_t"] * 4, [-128, 127, -1, 0]),
    ("u8", ["uint8_t"] * 3, [255, 0, 1]),
    ("i16", ["int16_t"] * 3, [-32768, 32767, -2]),
    ("u16", ["uint16_t"] * 2, [65535, 0]),
    ("i32", ["int32_t"] * 3, [-(1 << 31), (1 << 31) - 1, -3]),
    ("u32", ["uint32_t"] * 2, [(1 << 32) - 1, 7]),
    ("i64", ["int64_t"] * 3, [-I64, I64 - 1, -4]),
    ("u64", ["uint64_t"] * 2, [(1 << 64) - 1, 0]),
    ("cint", ["int", "long", "unsigned long", "short", "unsigned int", "char"],
     [-5, -(1 << 40), (1 << 63) + 5, -300, 4000000000, -7]),
    ("mix", ["bool", "size_t", "ssize_t", "pid_t", "char *", "uint16_t"],
     [True, (1 << 64) - 2, -9, 4242, "mixed", 513]),
    ("strs", ["char *", "const char *", "char*", "char *"],
     ["hello", "", b"bytes", "caf\u00e9\u2713"]),
    ("none", [], []),
]


def expect(types, values):
    out = []
    for t, v in zip(types, values):
        if isinstance(v, (str, bytes)):
            s = v if isinstance(v, str) else v.decode()
            out.append('"%s"' % s)
        else:
            out.append("%x" % (int(v) & ((1 << 64) - 1)))
    return out


def main():
    interval = (int(sys.argv[1]) if len(sys.argv) > 1 else 20) / 1000.0
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    prov = usdt.Provider("pyprobes", "target.py")
    runs = []
    for name, types, values in PROBES:
        probe = prov.add_probe(name, *types, function="main")
        runs.append([probe, values, None])
        print(("EXPECT pyprobes:%s %s" % (name, " ".join(expect(types, values)))).rstrip())
    with prov:
        print("READY %d" % os.getpid(), flush=True)
        while not stop:
            for r in runs:
                probe, values, state = r
                on = probe.enabled
                if on != state:
                    print("STATE pyprobes:%s %d" % (probe.name, on), flush=True)
                    r[2] = on
                probe.fire(*values)
            time.sleep(interval)
    print("DONE enabled=%s" % runs[0][0].enabled, flush=True)


if __name__ == "__main__":
    main()
