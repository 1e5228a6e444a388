"""Unit tests of the usdt package that need no tracer (python3 -m unittest)."""
import gc
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import usdt  # noqa: E402


class Errors(unittest.TestCase):
    def test_bad_provider_name_raises_library_message(self):
        with self.assertRaises(usdt.USDTError) as cm:
            usdt.Provider("bad name")
        self.assertEqual(cm.exception.code, usdt.ERROR_BADNAME)
        self.assertIn('provider name "bad name"', str(cm.exception))
        with self.assertRaises(usdt.USDTError) as cm:
            usdt.Provider("1abc")
        self.assertIn("must start with a letter", str(cm.exception))
        usdt.Provider("provider0").close()   # libusdt 0.x's names: a trailing digit is fine

    def test_bad_probe_name_and_type(self):
        p = usdt.Provider("pyerr")
        with self.assertRaises(usdt.USDTError) as cm:
            p.add_probe("has:colon", "int")
        self.assertEqual(cm.exception.code, usdt.ERROR_BADNAME)
        with self.assertRaises(usdt.USDTError) as cm:
            p.add_probe("f", "float")
        self.assertEqual(cm.exception.code, usdt.ERROR_BADTYPE)
        self.assertIn('"float"', str(cm.exception))
        with self.assertRaises(ValueError):
            p.add_probe("many", *(["int"] * 33))
        p.close()

    def test_duplicate_probe(self):
        p = usdt.Provider("pydup")
        p.add_probe("a", "int")
        with self.assertRaises(usdt.USDTError) as cm:
            p.add_probe("a", "int")
        self.assertEqual(cm.exception.code, usdt.ERROR_DUP_PROBE)
        self.assertIn("already exists", str(cm.exception))
        p.add_probe("a", "int", function="other")   # another (function, name) pair
        p.close()

    def test_enable_without_probes(self):
        p = usdt.Provider("pyempty")
        with self.assertRaises(usdt.USDTError) as cm:
            p.enable()
        self.assertEqual(cm.exception.code, usdt.ERROR_NOPROBES)
        self.assertIn("no probes", str(cm.exception))

    def test_same_name_providers(self):
        # two providers of one name are enabled together (one shared object)
        a = usdt.Provider("pysame")
        a.add_probe("x")
        b = usdt.Provider("pysame")
        b.add_probe("y")
        with a:
            b.enable()
            self.assertTrue(a.is_enabled and b.is_enabled)
        self.assertTrue(b.is_enabled)   # a was freed on leaving the block
        b.close()

    def test_closed_provider(self):
        p = usdt.Provider("pyclosed")
        pr = p.add_probe("x", "int")
        p.close()
        p.close()
        self.assertTrue(p.closed)
        with self.assertRaises(ValueError):
            p.enable()
        self.assertFalse(pr.enabled)
        self.assertFalse(pr.fire(1))


class Arguments(unittest.TestCase):
    # Untraced, fire() checks only the number of arguments; types and ranges
    # are checked when traced, by check(), and on every fire of a strict
    # probe: the range/type tests use strict probes and check().
    @classmethod
    def setUpClass(cls):
        cls.prov = usdt.Provider("pyargs")
        types = ("int8_t", "uint16_t", "char *", "int64_t", "uint64_t", "bool")
        cls.p = cls.prov.add_probe("p", *types)
        cls.ptr = cls.prov.add_probe("ptr", "void *", "const char*")
        cls.sp = cls.prov.add_probe("sp", *types, strict=True)
        cls.sptr = cls.prov.add_probe("sptr", "void *", "const char*", strict=True)
        cls.prov.enable()

    @classmethod
    def tearDownClass(cls):
        cls.prov.close()

    def test_good(self):
        # no tracer attached: checked, not seen
        for p, ptr in ((self.p, self.ptr), (self.sp, self.sptr)):
            self.assertFalse(p.fire(-128, 65535, "s", -(1 << 63), (1 << 64) - 1, True))
            self.assertFalse(p.fire(127, 0, b"b", (1 << 63) - 1, 0, 0))
            self.assertFalse(p.fire(0, 0, None, 0, 0, False))
            self.assertFalse(ptr.fire(None, None))
            self.assertFalse(ptr.fire(0xdeadbeef, "x"))
            p.check(127, 0, b"b", (1 << 63) - 1, 0, 0)
            self.assertFalse(p.fire(0, 0, None, 0, 0, False))

    def test_count(self):
        for p in (self.p, self.sp):
            with self.assertRaises(TypeError):
                p.fire()
            with self.assertRaises(TypeError):
                p.fire(1, 2, "s", 4, 5, True, 7)
            with self.assertRaises(TypeError):
                p.check(1, 2, "s", 4, 5)
            with self.assertRaises(TypeError):
                p.fire(a0=1, a1=2, a2="s", a3=4, a4=5, a5=True)

    def test_range(self):
        for bad in ((128, 0, "", 0, 0, 0), (-129, 0, "", 0, 0, 0), (0, 65536, "", 0, 0, 0),
                    (0, -1, "", 0, 0, 0), (0, 0, "", 1 << 63, 0, 0), (0, 0, "", 0, 1 << 64, 0),
                    (0, 0, "", 0, -1, 0), (0, 0, "", 0, 0, 2)):
            with self.assertRaises(OverflowError, msg=repr(bad)):
                self.sp.fire(*bad)
            with self.assertRaises(OverflowError, msg=repr(bad)):
                self.p.check(*bad)
            self.assertFalse(self.p.fire(*bad))     # untraced: count only
        with self.assertRaises(OverflowError):
            self.sptr.fire(-1, "")

    def test_types(self):
        for bad in ((1.5, 0, "", 0, 0, 0), ("1", 0, "", 0, 0, 0), (None, 0, "", 0, 0, 0),
                    (0, 0, 5, 0, 0, 0), (0, 0, [], 0, 0, 0)):
            with self.assertRaises(TypeError, msg=repr(bad)):
                self.sp.fire(*bad)
            with self.assertRaises(TypeError, msg=repr(bad)):
                self.p.check(*bad)
        with self.assertRaises(ValueError):
            self.sp.fire(0, 0, "a\0b", 0, 0, 0)

    def test_enabled_without_tracer(self):
        self.assertFalse(self.p.enabled)
        self.assertTrue(self.prov.is_enabled)

    def test_fast_path_in_use(self):
        # on CPython 3.11 to 3.13 / x86_64 or aarch64 the untraced decision
        # is pure Python unless USDT_PY_FAST=0; it must agree with
        # libusdt's usdt_is_enabled()
        import platform
        if os.environ.get("USDT_PY_FAST", "1") == "0":
            self.assertFalse(usdt.FAST_PATH)
            self.skipTest("USDT_PY_FAST=0: every check calls usdt_is_enabled()")
        if sys.implementation.name == "cpython" and (3, 11) <= sys.version_info[:2] <= (3, 13) and \
                platform.machine() in ("x86_64", "aarch64") and getattr(sys, "_is_gil_enabled", lambda: True)():
            self.assertTrue(usdt.FAST_PATH)
        from usdt import _lib
        self.assertEqual(_lib.usdt_is_enabled(self.p._obj), 0)
        self.assertTrue(self.p._semp)          # alone under its name: inline pointers set


class Lifecycle(unittest.TestCase):
    def test_context_manager(self):
        prov = usdt.Provider("pyctx", "mod.py")
        pr = prov.add_probe("x", "int", function="fn")
        with prov as p:
            self.assertIs(p, prov)
            self.assertTrue(prov.is_enabled)
            self.assertIs(prov["x"], pr)
        self.assertTrue(prov.closed)
        self.assertFalse(pr.enabled)

    def test_disable_enable_cycles(self):
        prov = usdt.Provider("pycycle")
        pr = prov.add_probe("x", "int")
        for _ in range(5):
            prov.enable()
            prov.enable()            # harmless twice
            self.assertTrue(prov.is_enabled)
            prov.disable()
            self.assertFalse(prov.is_enabled)
            self.assertFalse(pr.fire(1))
        prov.close()

    def test_add_and_remove_while_enabled(self):
        prov = usdt.Provider("pylive")
        a = prov.add_probe("a")
        prov.enable()
        b = prov.add_probe("b", "char *")
        self.assertFalse(b.fire("x"))
        prov.remove_probe(a)
        self.assertEqual([p.name for p in prov.probes], ["b"])
        with self.assertRaises(ValueError):
            prov.remove_probe(a)
        self.assertFalse(a.fire())
        prov.close()

    def test_garbage_collection(self):
        for i in range(50):
            prov = usdt.Provider("pygc")
            prov.add_probe("x", "int").fire(i)
            prov.enable()
            del prov
            gc.collect()       # the provider's name is free again
        probe = usdt.Provider("pygckeep").add_probe("keep", "int")
        gc.collect()
        self.assertFalse(probe.fire(1))

    def test_version(self):
        self.assertRegex(usdt.version(), r"^\d+\.\d+\.\d+")


if __name__ == "__main__":
    unittest.main()
