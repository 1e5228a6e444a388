"""usdt_build — the PEP 517 build backend of the `usdt` Python package.

Why in-tree: the package is two pure-Python files, and `pip install
./bindings/python` must work offline in a fresh venv. setuptools before 70.1
needs the separate `wheel` package to build a wheel, which a fresh Debian 12
venv does not have (and pip cannot fetch offline). This backend needs only
the standard library: it writes the wheel (and an sdist) itself.

The optional accelerator. Where a C compiler and Python.h are present,
build_wheel also compiles usdt/_speedups.c (plain CPython C API, no other
dependency) for the interpreter running the build, and the wheel is then
tagged for that interpreter (cpXY-cpXY-linux_<arch>). If it cannot be
built, or USDT_PY_ACCEL=0 is set at build time, the wheel is the pure
py3-none-any one; the package works the same without it (pure path).
In a source tree: `python3 bindings/python/_build/usdt_build.py --inplace`
builds it next to usdt/__init__.py for the interpreter that runs it.
"""
import base64
import hashlib
import io
import os
import shlex
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile

NAME = "usdt"
VERSION = "1.0.0"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE_FILES = ("__init__.py", "_lib.py")
ACCEL_SOURCE = "_speedups.c"            # the optional accelerator (usdt._speedups)
SUMMARY = ("Define USDT probes at run time from Python (bpftrace, bcc, perf, GDB, DTrace) "
           "over libusdt")
TAG = "py3-none-any"
# Fixed timestamp in archives (reproducible builds): 2020-01-01.
EPOCH = (2020, 1, 1, 0, 0, 0)


def _metadata():
    readme = ""
    path = os.path.join(HERE, "README.md")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            readme = f.read()
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s\n"
            "License: BSD-2-Clause\nRequires-Python: >=3.7\n"
            "Classifier: Operating System :: POSIX :: Linux\n"
            "Classifier: Topic :: System :: Monitoring\n"
            "Description-Content-Type: text/markdown\n\n%s" % (NAME, VERSION, SUMMARY, readme))


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist = "%s-%s.dist-info" % (NAME, VERSION)
    os.makedirs(os.path.join(metadata_directory, dist), exist_ok=True)
    with open(os.path.join(metadata_directory, dist, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    return dist


def _accel_skip_reason():
    if os.environ.get("USDT_PY_ACCEL", "1") == "0":
        return "USDT_PY_ACCEL=0"
    if sys.implementation.name != "cpython":
        return "not CPython"
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        return "free-threaded CPython (the accelerator needs the GIL)"
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")):
        return "no Python.h for this interpreter"
    return None


def build_accel(out_dir, quiet=True):
    """Compile usdt/_speedups.c for the running interpreter into out_dir.
    Returns the file's path, or None (with the reason on stderr unless
    quiet) when it cannot be built. The file appears atomically."""
    why = _accel_skip_reason()
    src = os.path.join(HERE, NAME, ACCEL_SOURCE)
    if why is None and not os.path.exists(src):
        why = "no %s" % src
    if why is not None:
        if not quiet:
            sys.stderr.write("usdt accelerator not built: %s\n" % why)
        return None
    out = os.path.join(out_dir, "_speedups" + sysconfig.get_config_var("EXT_SUFFIX"))
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    fd, tmp = tempfile.mkstemp(prefix=".speedups.", suffix=".so", dir=out_dir)
    os.close(fd)
    cmd = cc + ["-O2", "-fPIC", "-shared", "-std=gnu99", "-Wall", "-fno-strict-aliasing",
                "-I", sysconfig.get_paths()["include"], src, "-o", tmp]
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as e:
        r = None
        msg = str(e)
    if r is None or r.returncode != 0:
        os.unlink(tmp)
        if not quiet:
            sys.stderr.write("usdt accelerator not built: %s failed: %s\n" % (
                " ".join(cmd), msg if r is None else r.stdout.decode(errors="replace")))
        return None
    os.chmod(tmp, 0o755)
    os.replace(tmp, out)
    return out


def _binary_tag():
    v = "%d%d" % sys.version_info[:2]
    abi = "cp" + v + ("d" if hasattr(sys, "gettotalrefcount") else "") + \
        ("m" if sys.version_info < (3, 8) and sysconfig.get_config_var("WITH_PYMALLOC") else "")
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "cp%s-%s-%s" % (v, abi, plat)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist = "%s-%s.dist-info" % (NAME, VERSION)
    files = []
    for name in PACKAGE_FILES:
        with open(os.path.join(HERE, NAME, name), "rb") as f:
            files.append(("%s/%s" % (NAME, name), f.read()))
    tag, purelib = TAG, "true"
    with tempfile.TemporaryDirectory() as tmp:
        so = build_accel(tmp, quiet=False)       # optional: pure wheel without it
        if so is not None:
            with open(so, "rb") as f:
                files.append(("%s/%s" % (NAME, os.path.basename(so)), f.read()))
            tag, purelib = _binary_tag(), "false"
    files.append((dist + "/METADATA", _metadata().encode()))
    files.append((dist + "/WHEEL", ("Wheel-Version: 1.0\nGenerator: usdt_build\n"
                                    "Root-Is-Purelib: %s\nTag: %s\n" % (purelib, tag)).encode()))
    files.append((dist + "/top_level.txt", (NAME + "\n").encode()))
    record = [_record_line(n, d) for n, d in files] + [dist + "/RECORD,,"]
    files.append((dist + "/RECORD", ("\n".join(record) + "\n").encode()))
    wheel = "%s-%s-%s.whl" % (NAME, VERSION, tag)
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files:
            z.writestr(zipfile.ZipInfo(n, EPOCH), d)
    return wheel


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (NAME, VERSION)
    out = os.path.join(sdist_directory, base + ".tar.gz")
    with tarfile.open(out, "w:gz") as t:
        for rel in ("pyproject.toml", "README.md", "_build/usdt_build.py") + \
                   tuple("%s/%s" % (NAME, n) for n in PACKAGE_FILES + (ACCEL_SOURCE,)):
            path = os.path.join(HERE, rel)
            if os.path.exists(path):
                t.add(path, arcname="%s/%s" % (base, rel))
        info = tarfile.TarInfo("%s/PKG-INFO" % base)
        data = _metadata().encode()
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return base + ".tar.gz"


if __name__ == "__main__":
    # --inplace: build usdt/_speedups<EXT_SUFFIX> next to usdt/__init__.py
    # for this interpreter (a source tree's tests and benches use it);
    # exit 0 if built or already up to date, 2 if it is not buildable here
    # (no Python.h, not CPython, free-threaded, USDT_PY_ACCEL=0), 1 if the
    # compiler failed.
    if sys.argv[1:] != ["--inplace"]:
        sys.exit("usage: %s --inplace" % sys.argv[0])
    pkg = os.path.join(HERE, NAME)
    target = os.path.join(pkg, "_speedups" + sysconfig.get_config_var("EXT_SUFFIX"))
    srcs = [os.path.join(pkg, ACCEL_SOURCE), os.path.abspath(__file__)]
    if os.path.exists(target) and all(os.path.getmtime(target) >= os.path.getmtime(s) for s in srcs):
        print(target)
        sys.exit(0)
    if _accel_skip_reason() is not None:
        sys.stderr.write("usdt accelerator not built: %s\n" % _accel_skip_reason())
        sys.exit(2)
    built = build_accel(pkg, quiet=False)
    if built is None:
        sys.exit(1)
    print(built)
