"""Structured and JSON argument types of the usdt package (issue 14 part 2):
register_struct() layouts and errors, dict and ctypes arguments, json
arguments; with root and bpftrace, bpftrace attached to this process reads
every field of a struct argument (int8..uint64 extremes, strings, char[16])
and the JSON text exactly, through C declarations of the structure."""
import ctypes
import os
import shutil
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import usdt  # noqa: E402

FIELDS = [("i8", "int8_t"), ("u8", "uint8_t"), ("i16", "int16_t"), ("u16", "uint16_t"), ("i32", "int32_t"),
          ("u32", "uint32_t"), ("i64", "int64_t"), ("u64", "uint64_t"), ("path", "char *"), ("name", "char[16]"),
          ("meta", "json")]
VALUES = {"i8": -128, "u8": 255, "i16": -32768, "u16": 65535, "i32": -2147483648, "u32": 4294967295,
          "i64": -9223372036854775808, "u64": 18446744073709551615, "path": "/py/index", "name": "bob",
          "meta": {"k": [1, 2]}}
WANT = ('GOT -128 255 -32768 65535 -2147483648 4294967295 -9223372036854775808 18446744073709551615 '
        '/py/index bob {"k":[1,2]} {"a":1,"b":[true,null,"x"]}')
# what `usdt cdecl` prints for this layout (base C types: bpftrace has no stdint.h)
DECL = """struct pyreq {
  signed char i8; unsigned char u8; short i16; unsigned short u16; int i32; unsigned int u32;
  long long i64; unsigned long long u64; char *path; char name[16]; char *meta;
};
"""


class Layouts(unittest.TestCase):
    def test_register_and_layout(self):
        cls = usdt.register_struct("pyreq", FIELDS)
        self.assertIs(usdt.register_struct("pyreq", FIELDS), cls)      # the same layout again
        self.assertEqual(ctypes.sizeof(cls), 64)
        self.assertEqual(cls.i32.offset, 8)
        self.assertEqual(cls.name.offset, 40)

    def test_errors(self):
        usdt.register_struct("pyreq", FIELDS)
        with self.assertRaises(usdt.USDTError) as cm:
            usdt.register_struct("pyreq", [("x", "int")])
        self.assertEqual(cm.exception.code, usdt.ERROR_DUP_STRUCT)
        self.assertIn("struct pyreq is registered already with another layout", str(cm.exception))
        with self.assertRaises(usdt.USDTError) as cm:
            usdt.register_struct("pybad", [("x", "float")])
        self.assertEqual(cm.exception.code, usdt.ERROR_LAYOUT)
        self.assertIn('field x has an unknown type "float"', str(cm.exception))
        with self.assertRaises(usdt.USDTError) as cm:
            usdt.register_struct("py-bad", [("x", "int")])
        self.assertEqual(cm.exception.code, usdt.ERROR_LAYOUT)
        with self.assertRaises(usdt.USDTError) as cm:
            usdt.register_struct("pydup", [("x", "int"), ("x", "int")])
        self.assertIn("two fields are named x", str(cm.exception))
        p = usdt.Provider("pystructerr")
        with self.assertRaises(usdt.USDTError) as cm:
            p.add_probe("x", "struct nosuch *")
        self.assertEqual(cm.exception.code, usdt.ERROR_BADTYPE)
        self.assertIn('no structure "nosuch" is registered', str(cm.exception))
        p.close()

    def test_argument_checks(self):
        usdt.register_struct("pyreq", FIELDS)
        p = usdt.Provider("pystructchk")
        pr = p.add_probe("r", "struct pyreq *", "json")
        pr.check(VALUES, {"a": 1})
        pr.check(None, [1, 2])
        pr.check(usdt.register_struct("pyreq", FIELDS)(i8=1), "[]")
        with self.assertRaises(TypeError):
            pr.check({"nosuch": 1}, 1)
        with self.assertRaises(TypeError):
            pr.check("str", 1)
        p.close()


def _have_tracer():
    return os.geteuid() == 0 and shutil.which(os.environ.get("BPFTRACE", "bpftrace")) is not None


@unittest.skipUnless(_have_tracer(), "needs root and bpftrace")
class Traced(unittest.TestCase):
    def test_bpftrace_reads_struct_and_json(self):
        Req = usdt.register_struct("pyreq", FIELDS)
        with usdt.Provider("pystruct") as prov:
            req = prov.add_probe("req", "struct pyreq *", "json")
            obj = prov.add_probe("obj", "struct pyreq *")
            prov.enable()
            prog = DECL + (
                'usdt:*:pystruct:req { $r = (struct pyreq *)arg0; '
                'printf("GOT %d %u %d %u %d %u %ld %lu %s %s %s %s\\n", $r->i8, $r->u8, $r->i16, $r->u16, '
                '$r->i32, $r->u32, $r->i64, $r->u64, str($r->path), $r->name, str($r->meta), str(arg1)); }\n'
                'usdt:*:pystruct:obj { printf("OBJ %d %s\\n", ((struct pyreq *)arg0)->i32, '
                '((struct pyreq *)arg0)->name); }\n')
            bt = subprocess.Popen([os.environ.get("BPFTRACE", "bpftrace"), "-p", str(os.getpid()), "-e", prog],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            lines = []
            reader = threading.Thread(target=lambda: lines.extend(bt.stdout), daemon=True)
            reader.start()
            inst = Req(i32=-7, name=b"ctypes")
            deadline = time.time() + 60
            try:
                while time.time() < deadline:
                    req.fire(VALUES, {"a": 1, "b": [True, None, "x"]})
                    obj.fire(inst)
                    if any(l.startswith("GOT") for l in lines) and any(l.startswith("OBJ") for l in lines):
                        break
                    time.sleep(0.02)
            finally:
                # bpftrace detaches its uprobes on SIGTERM: slow on a loaded
                # machine (seen > 10 s twice), so wait longer, then kill
                bt.terminate()
                try:
                    bt.wait(60)
                except subprocess.TimeoutExpired:
                    bt.kill()
                    bt.wait(10)
                reader.join(10)
                bt.stdout.close()
            out = "".join(lines)
            got = [l.rstrip("\n") for l in lines if l.startswith(("GOT", "OBJ"))]
            print("\n".join(sorted(set(got))))
            self.assertIn(WANT, got, out)
            self.assertIn("OBJ -7 ctypes", got, out)


if __name__ == "__main__":
    unittest.main()
