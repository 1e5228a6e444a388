"""The untraced fast path under concurrent changes (python3 -m unittest).

Probe.fire() and Probe.enabled read the probe's semaphore and site in pure
Python, outside libusdt's read section (see usdt/__init__.py): they must
never read an object that a disable, rebuild or free unmapped. A child
process runs Python threads that fire and read .enabled without pause while
another thread enables, disables, adds and removes probes (each add/remove
rebuilds and remaps the object), closes and recreates a provider, and
enables a second provider of the same name; a SIGALRM handler in the main
thread (which fires too) toggles one more provider, and the switch
interval is 1 us so threads change hands as often as CPython allows. A
read of unmapped memory would kill the child with SIGSEGV: the test checks
that it exits 0 after all the changes it counted.
"""
import os
import subprocess
import sys
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = textwrap.dedent(r'''
    import os, signal, sys, threading, time
    sys.path.insert(0, sys.argv[1])
    import usdt
    sys.setswitchinterval(1e-6)
    SECONDS = float(os.environ.get("USDT_STRESS_SECONDS", "2"))
    stop = threading.Event()
    counts = {"fires": 0, "changes": 0, "alarms": 0}

    prov = usdt.Provider("pystress")
    probes = [prov.add_probe("p%d" % i, "int", "char *") for i in range(4)]
    prov.enable()
    sig = usdt.Provider("pystresssig")
    sprobe = sig.add_probe("s", "int", "char *")
    sig.enable()
    shared = {"probes": list(probes)}

    def firer():
        n = 0
        while not stop.is_set():
            for p in shared["probes"]:
                if p.fire(1, "x") or p.enabled:
                    raise SystemExit("fired with no tracer attached")
                sprobe.fire(2, "y")
                n += 1
        counts["fires"] += n

    def manager():
        global prov
        twin = usdt.Provider("pystress")
        twin.add_probe("t", "int")
        k = 0
        while not stop.is_set():
            k += 1
            op = k % 6
            if op == 0:
                prov.disable(); prov.enable()
            elif op == 1:
                extra = prov.add_probe("extra%d" % k, "int", "char *")
                shared["probes"] = probes + [extra]
            elif op == 2:
                for p in list(prov.probes):
                    if p.name.startswith("extra"):
                        prov.remove_probe(p)
            elif op == 3:
                twin.enable()
            elif op == 4:
                twin.disable()
            else:
                # close and recreate: old Probe objects keep firing (no-ops)
                old = prov
                new = usdt.Provider("pystress2")
                ps = [new.add_probe("p%d" % i, "int", "char *") for i in range(4)]
                new.enable()
                shared["probes"] = probes + ps
                old.disable(); old.enable()
                new.close()
            counts["changes"] += 1
        twin.close()

    def alarm(signum, frame):
        counts["alarms"] += 1
        if sig.is_enabled:
            sig.disable()
        else:
            sig.enable()

    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
    threads = [threading.Thread(target=firer) for _ in range(3)] + [threading.Thread(target=manager)]
    for t in threads:
        t.start()
    end = time.monotonic() + SECONDS
    n = 0
    while time.monotonic() < end:
        for p in shared["probes"]:
            p.fire(3, "z")
            n += 1
        sprobe.fire(4, "w")
    stop.set()
    signal.setitimer(signal.ITIMER_REAL, 0, 0)
    for t in threads:
        t.join()
    counts["fires"] += n
    print("OK fast=%s fires=%d changes=%d alarms=%d" % (usdt.FAST_PATH, counts["fires"],
          counts["changes"], counts["alarms"]))
''')


class Concurrency(unittest.TestCase):
    def test_changes_while_firing_never_crash(self):
        r = subprocess.run([sys.executable, "-c", CHILD, os.path.join(HERE, "..")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, "child died (%d): %s" % (r.returncode, out))
        line = [l for l in out.splitlines() if l.startswith("OK ")]
        self.assertTrue(line, out)
        fields = dict(f.split("=") for f in line[0].split()[1:])
        self.assertGreater(int(fields["changes"]), 50, out)
        self.assertGreater(int(fields["fires"]), 1000, out)


if __name__ == "__main__":
    unittest.main()
