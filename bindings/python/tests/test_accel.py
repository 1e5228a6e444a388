"""The optional C accelerator, usdt._speedups (python3 -m unittest).

When usdt/_speedups.c is built for this interpreter (bindings/python/_build/
usdt_build.py --inplace, or a wheel built where a compiler is present), the
package must use it for Probe.fire() and Probe.enabled; USDT_PY_ACCEL=0 (or
USDT_PY_FAST=0) must give the pure path. Both paths must agree with
libusdt's usdt_is_enabled(). The rest of the suite runs under whichever
path the environment selects (tests/bindings/t_python.sh runs it twice).
"""
import glob
import importlib.machinery
import os
import subprocess
import sys
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.join(HERE, "..")
sys.path.insert(0, PKG)
import usdt  # noqa: E402
from usdt import _lib  # noqa: E402


def _built():
    """Is usdt/_speedups built for this interpreter (an extension file with
    one of its suffixes next to usdt/__init__.py)?"""
    d = os.path.dirname(usdt.__file__)
    return any(os.path.exists(os.path.join(d, "_speedups" + s))
               for s in importlib.machinery.EXTENSION_SUFFIXES)


def _eligible():
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    return (sys.implementation.name == "cpython" and gil and _lib.usdt_system_semaphore is not None
            and usdt._idle_byte() is not None)


def _env_on():
    return os.environ.get("USDT_PY_ACCEL", "1") != "0" and os.environ.get("USDT_PY_FAST", "1") != "0"


CHILD = textwrap.dedent(r'''
    import sys
    sys.path.insert(0, sys.argv[1])
    import usdt
    p = usdt.Provider("pyaccelchild")
    pr = p.add_probe("x", "int", "char *")
    p.enable()
    pure = type(pr).__dict__.get("fire") is not None and hasattr(type(pr).fire, "__code__")
    print("ACCEL=%s PURE_FIRE=%s FIRE=%s ENABLED=%s" % (
        usdt.ACCEL, pure, pr.fire(1, "a"), pr.enabled))
    p.close()
''')


def _child(**env):
    e = dict(os.environ)
    e.update(env)
    r = subprocess.run([sys.executable, "-c", CHILD, PKG], env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out
    return out.strip().splitlines()[-1]


class Accelerator(unittest.TestCase):
    def setUp(self):
        self.prov = usdt.Provider("pyaccel")
        self.p = self.prov.add_probe("p", "int", "char *")
        self.s = self.prov.add_probe("s", "int", strict=True)
        self.z = self.prov.add_probe("z")
        self.prov.enable()

    def tearDown(self):
        self.prov.close()

    def test_used_when_built(self):
        # built for this interpreter and not turned off: it is what fire()
        # and .enabled run
        expected = _built() and _eligible() and _env_on()
        self.assertEqual(usdt.ACCEL, expected,
                         "built=%s eligible=%s env_on=%s" % (_built(), _eligible(), _env_on()))
        if not expected:
            self.skipTest("accelerator not built for %s or turned off" % sys.version.split()[0])
        from usdt import _speedups
        self.assertIsInstance(self.p, _speedups.ProbeBase)
        # ProbeBase's C fire(), as a method descriptor of the probe's class
        fire = type(self.p).__dict__["fire"]
        self.assertIs(type(fire), type(_speedups.ProbeBase.fire))
        self.assertIs(fire.__objclass__, type(self.p))
        self.assertFalse(hasattr(fire, "__code__"))
        self.assertIs(usdt.Probe.fire, _speedups.ProbeBase.fire)
        self.assertIs(usdt.Probe.__dict__.get("enabled"), None)
        self.assertIs(type(self.p).enabled, _speedups.ProbeBase.__dict__["enabled"])

    def test_env_zero_gives_pure_path(self):
        self.assertTrue(_child(USDT_PY_ACCEL="0").startswith("ACCEL=False PURE_FIRE=True FIRE=False ENABLED=False"))
        self.assertTrue(_child(USDT_PY_FAST="0", USDT_PY_ACCEL="1").startswith("ACCEL=False PURE_FIRE=True"))

    def test_child_default_matches_built(self):
        env = {"USDT_PY_ACCEL": "1", "USDT_PY_FAST": "1"}
        want = "ACCEL=%s PURE_FIRE=%s" % (_built() and _eligible(), not (_built() and _eligible()))
        self.assertTrue(_child(**env).startswith(want + " FIRE=False ENABLED=False"), want)

    def test_untraced_answers_agree_with_libusdt(self):
        for pr in (self.p, self.s, self.z):
            self.assertEqual(_lib.usdt_is_enabled(pr._obj), 0)
            self.assertIs(pr.enabled, False)
        self.assertIs(self.p.fire(1, "x"), False)
        self.assertIs(self.s.fire(1), False)
        self.assertIs(self.z.fire(), False)

    def test_argument_count_and_keywords(self):
        with self.assertRaises(TypeError):
            self.p.fire(1)
        with self.assertRaises(TypeError):
            self.p.fire(1, "x", 3)
        with self.assertRaises(TypeError):
            self.z.fire(1)
        with self.assertRaises(TypeError):
            self.p.fire(1, b="x")

    def test_strict_checks_every_fire(self):
        with self.assertRaises(OverflowError):
            self.s.fire(1 << 40)
        with self.assertRaises(TypeError):
            self.s.fire("x")
        self.assertFalse(self.s.fire(5))
        # not strict: untraced, only the count is checked
        self.assertFalse(self.p.fire(1 << 80, 3.5))

    def test_disabled_released_and_closed(self):
        self.prov.disable()
        self.assertFalse(self.p.fire(1, "x"))
        self.assertFalse(self.p.enabled)
        self.prov.enable()
        self.assertFalse(self.p.fire(1, "x"))
        q = self.prov.add_probe("q", "int")
        q.release()
        self.assertFalse(q.fire(1))
        self.assertFalse(q.enabled)
        self.prov.remove_probe(self.z)
        self.assertFalse(self.z.fire())
        self.assertFalse(self.z.enabled)
        self.prov.close()
        self.assertFalse(self.p.fire(1, "x"))
        self.assertFalse(self.p.enabled)

    def test_twin_provider_asks_libusdt(self):
        # a second provider of the same name: _sem is cleared, the answer
        # comes from usdt_is_enabled()
        twin = usdt.Provider("pyaccel")
        t = twin.add_probe("p", "int", "char *")
        twin.enable()
        try:
            self.assertFalse(self.p.enabled)
            self.assertFalse(self.p.fire(1, "x"))
            self.assertFalse(t.enabled)
            self.assertFalse(t.fire(1, "x"))
        finally:
            twin.close()
        self.assertFalse(self.p.fire(1, "x"))

    def test_subclass_instances_keep_attributes(self):
        self.assertEqual(self.p.name, "p")
        self.assertEqual(self.p.types, ("int", "char *"))
        self.assertIn("usdt.Probe pyaccel:p", repr(self.p))
        self.assertTrue(usdt.Probe.fire.__doc__)
        self.assertTrue(usdt.Probe.enabled.__doc__)


if __name__ == "__main__":
    unittest.main()
