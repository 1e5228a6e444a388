"""usdt_build — the PEP 517 build backend of the `usdt` Python package.

Why in-tree: the package is two pure-Python files, and `pip install
./bindings/python` must work offline in a fresh venv. setuptools before 70.1
needs the separate `wheel` package to build a wheel, which a fresh Debian 12
venv does not have (and pip cannot fetch offline). This backend needs only
the standard library: it writes the wheel (and an sdist) itself.
"""
import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "usdt"
VERSION = "1.0.0"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE_FILES = ("__init__.py", "_lib.py")
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


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist = "%s-%s.dist-info" % (NAME, VERSION)
    files = []
    for name in PACKAGE_FILES:
        with open(os.path.join(HERE, NAME, name), "rb") as f:
            files.append(("%s/%s" % (NAME, name), f.read()))
    files.append((dist + "/METADATA", _metadata().encode()))
    files.append((dist + "/WHEEL", ("Wheel-Version: 1.0\nGenerator: usdt_build\n"
                                    "Root-Is-Purelib: true\nTag: %s\n" % TAG).encode()))
    files.append((dist + "/top_level.txt", (NAME + "\n").encode()))
    record = [_record_line(n, d) for n, d in files] + [dist + "/RECORD,,"]
    files.append((dist + "/RECORD", ("\n".join(record) + "\n").encode()))
    wheel = "%s-%s-%s.whl" % (NAME, VERSION, TAG)
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files:
            z.writestr(zipfile.ZipInfo(n, EPOCH), d)
    return wheel


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (NAME, VERSION)
    out = os.path.join(sdist_directory, base + ".tar.gz")
    with tarfile.open(out, "w:gz") as t:
        for rel in ("pyproject.toml", "README.md", "_build/usdt_build.py") + \
                   tuple("%s/%s" % (NAME, n) for n in PACKAGE_FILES):
            path = os.path.join(HERE, rel)
            if os.path.exists(path):
                t.add(path, arcname="%s/%s" % (base, rel))
        info = tarfile.TarInfo("%s/PKG-INFO" % base)
        data = _metadata().encode()
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return base + ".tar.gz"
