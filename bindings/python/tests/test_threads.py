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

The stress finds a stale read only now and then (the signal has to come
twice at the right calls). test_change_inside_a_change_never_crashes makes
such a nested change at every call and return inside a change, in turn: it
crashed every time with the first version of the fast path (a memoryview of
the site byte refreshed after each change, left pointing into the object
that a change nested in that refresh unmapped), under CPython 3.11, 3.12 and
3.13, with a plain and an ASan build of libusdt. The child runs the fast
path unless USDT_PY_FAST is set (0: off).
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

# A change of a provider made while another change of the same provider is
# under way in the same thread: what a signal handler does when it manages
# a provider that the code it interrupted was managing too, or when it
# interrupts itself (CPython runs a handler inside a handler when the
# signal comes again before the first one returned; the provider's RLock
# lets the same thread in). A profile hook stands for the handler, run at
# each call and return inside the outer change in turn (where CPython runs
# signal handlers), and makes a nested change that maps the provider's
# object at a new address and unmaps the old one (a rebuild). After each
# outer change, every probe is fired and read: a fast path left reading the
# unmapped object dies with SIGSEGV.
NESTED = textwrap.dedent(r'''
    import sys
    sys.path.insert(0, sys.argv[1])
    import usdt
    prov = usdt.Provider("pynested")
    base = [prov.add_probe("p%d" % i, "int", "char *") for i in range(3)]
    prov.enable()
    extra = []
    seq = [0]

    def add_one():
        seq[0] += 1
        extra.append(prov.add_probe("e%d" % seq[0], "int", "char *"))

    def nested():                       # the "signal handler"
        if prov.is_enabled:
            add_one()                   # rebuild: new object, the old one unmapped
        else:
            prov.enable()

    def trim():
        while len(extra) > 4:
            prov.remove_probe(extra.pop(0))
        if not prov.is_enabled:
            prov.enable()

    def with_hook(action, at):
        n = [0]

        def hook(frame, event, arg):
            n[0] += 1
            if n[0] == at:
                nested()
        sys.setprofile(hook)
        try:
            action()
        finally:
            sys.setprofile(None)
        return n[0]

    def check():
        for p in base + extra:
            if p.fire(1, "x") or p.enabled:
                raise SystemExit("fired with no tracer attached")

    def remove_last():
        prov.remove_probe(extra.pop())

    ops = [
        ("enable", lambda: prov.disable(), lambda: prov.enable()),
        ("disable", lambda: None, lambda: prov.disable()),
        ("add", lambda: None, add_one),
        ("remove", lambda: extra or add_one(), remove_last),
    ]
    changes = 0
    for name, setup, action in ops:
        trim(); setup()
        events = with_hook(action, 0)
        for at in range(1, events + 1):
            trim(); setup()
            with_hook(action, at)
            check()
            changes += 1
    print("OK fast=%s nested=%d" % (usdt.FAST_PATH, changes))
''')


def _fast_env():
    # the fast path where this interpreter has it, unless the caller set
    # USDT_PY_FAST (0: every check calls usdt_is_enabled())
    env = dict(os.environ)
    env.setdefault("USDT_PY_FAST", "1")
    return env


class Concurrency(unittest.TestCase):
    def test_changes_while_firing_never_crash(self):
        r = subprocess.run([sys.executable, "-c", CHILD, os.path.join(HERE, "..")], env=_fast_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, "child died (%d): %s" % (r.returncode, out))
        line = [l for l in out.splitlines() if l.startswith("OK ")]
        self.assertTrue(line, out)
        fields = dict(f.split("=") for f in line[0].split()[1:])
        self.assertGreater(int(fields["changes"]), 50, out)
        self.assertGreater(int(fields["fires"]), 1000, out)

    def test_change_inside_a_change_never_crashes(self):
        r = subprocess.run([sys.executable, "-c", NESTED, os.path.join(HERE, "..")], env=_fast_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, "child died (%d): %s" % (r.returncode, out))
        line = [l for l in out.splitlines() if l.startswith("OK ")]
        self.assertTrue(line, out)
        self.assertGreater(int(line[0].split("nested=")[1]), 20, out)


if __name__ == "__main__":
    unittest.main()
