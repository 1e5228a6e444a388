"""Loading libusdt and declaring its C API for ctypes (private module).

The library is looked up, in order, at:
  1. $LIBUSDT_PATH (a file path to libusdt.so or libusdt.so.1);
  2. the source tree this package sits in: <repo>/build/libusdt.so;
  3. the installed library: ctypes.util.find_library("usdt"), then
     "libusdt.so.1" through the dynamic loader's search path.
"""
import ctypes
import ctypes.util
import os

USDT_ARG_MAX = 32

_c_char_pp = ctypes.POINTER(ctypes.c_char_p)


class usdt_probedef_t(ctypes.Structure):
    # Layout of struct usdt_probedef (include/usdt.h); only the public fields
    # are read (argc, probe), the private tail is declared for the size.
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("function", ctypes.c_char_p),
        ("argc", ctypes.c_size_t),
        ("types", ctypes.c_char_p * USDT_ARG_MAX),
        ("probe", ctypes.c_void_p),
        ("next", ctypes.c_void_p),
        ("refcnt", ctypes.c_int),
        ("_magic", ctypes.c_uint32),
        ("_argsize", ctypes.c_uint8 * USDT_ARG_MAX),
        ("_argflags", ctypes.c_uint8 * USDT_ARG_MAX),
        ("_probe", ctypes.c_void_p),
        ("_owner", ctypes.c_void_p),
    ]


class usdt_probe_t(ctypes.Structure):
    # struct usdt_probe (include/usdt.h): type-stable memory (src/probe_pool.h),
    # never returned to the allocator, so views of it stay valid.
    _fields_ = [
        ("_live", ctypes.c_void_p),
        ("_magic", ctypes.c_uint32),
        ("_index", ctypes.c_uint32),
        ("_sem", ctypes.c_void_p),
        ("_site", ctypes.c_void_p),
    ]


class usdt_provider_t(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("module", ctypes.c_char_p),
        ("probedefs", ctypes.c_void_p),
        ("error", ctypes.c_char_p),
        ("enabled", ctypes.c_int),
        ("file", ctypes.c_void_p),
        ("_magic", ctypes.c_uint32),
        ("_errcode", ctypes.c_int),
        ("_nprobes", ctypes.c_size_t),
    ]


PROVIDER_P = ctypes.POINTER(usdt_provider_t)
PROBEDEF_P = ctypes.POINTER(usdt_probedef_t)


def _candidates():
    env = os.environ.get("LIBUSDT_PATH")
    if env:
        yield env, True
    here = os.path.dirname(os.path.abspath(__file__))       # .../bindings/python/usdt
    root = os.path.normpath(os.path.join(here, "..", "..", ".."))
    if os.path.exists(os.path.join(root, "include", "usdt.h")):   # in a libusdt tree
        yield os.path.join(root, "build", "libusdt.so"), False
    found = ctypes.util.find_library("usdt")
    if found:
        yield found, False
    yield "libusdt.so.1", False


def _load():
    tried = []
    for path, explicit in _candidates():
        if "/" in path and not os.path.exists(path):
            if explicit:
                raise ImportError("LIBUSDT_PATH=%s: no such file" % path)
            tried.append("%s (not found)" % path)
            continue
        try:
            return ctypes.PyDLL(path, use_errno=True), path
        except OSError as e:
            if explicit:
                raise ImportError("LIBUSDT_PATH=%s: %s" % (path, e)) from e
            tried.append("%s (%s)" % (path, e))
    raise ImportError("libusdt not found; set LIBUSDT_PATH to libusdt.so, build it with "
                      "`make` in the source tree, or install it. Tried: " + "; ".join(tried))


# Loaded as ctypes.PyDLL: every call keeps the GIL. That is what makes the
# pure-Python "untraced?" check of usdt/__init__.py (Probe.fire, .enabled)
# safe. That check reads the probe's semaphore and site through the
# pointers in its usdt_probe_t, outside libusdt's read section; usdt.h
# allows that only while nothing changes the provider concurrently (a
# disable or rebuild unmaps the object those pointers point into). Calls
# that change a provider (enable, disable, add/remove probe, free) are
# made by this package only, and with the GIL held they happen between two
# Python bytecodes of another thread, never in the middle of the check
# (which reads each pointer and dereferences it in one bytecode, see
# Probe). Holding the GIL costs nothing here: no libusdt call waits for
# another thread. Changes made by other code to a provider of the same
# name are safe by usdt.h's own rule (the object stays mapped for our
# checks until our provider's next call).
lib, path = _load()


def _decl(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


usdt_create_provider = _decl("usdt_create_provider", PROVIDER_P, ctypes.c_char_p, ctypes.c_char_p)
usdt_create_probe = _decl("usdt_create_probe", PROBEDEF_P, ctypes.c_char_p, ctypes.c_char_p,
                          ctypes.c_size_t, _c_char_pp)
usdt_provider_add_probe = _decl("usdt_provider_add_probe", ctypes.c_int, PROVIDER_P, PROBEDEF_P)
usdt_provider_remove_probe = _decl("usdt_provider_remove_probe", ctypes.c_int, PROVIDER_P, PROBEDEF_P)
usdt_provider_enable = _decl("usdt_provider_enable", ctypes.c_int, PROVIDER_P)
usdt_provider_disable = _decl("usdt_provider_disable", ctypes.c_int, PROVIDER_P)
usdt_provider_free = _decl("usdt_provider_free", None, PROVIDER_P)
usdt_probe_release = _decl("usdt_probe_release", None, PROBEDEF_P)
usdt_is_enabled = _decl("usdt_is_enabled", ctypes.c_int, ctypes.c_void_p)
usdt_fire_probe = _decl("usdt_fire_probe", None, ctypes.c_void_p, ctypes.c_size_t,
                        ctypes.c_void_p)      # void **argv: an array of words
usdt_errstr = _decl("usdt_errstr", ctypes.c_char_p, PROVIDER_P)
usdt_last_error = _decl("usdt_last_error", ctypes.c_int)
usdt_last_errstr = _decl("usdt_last_errstr", ctypes.c_char_p)
usdt_strerror = _decl("usdt_strerror", ctypes.c_char_p, ctypes.c_int)
usdt_version = _decl("usdt_version", ctypes.c_char_p)
try:        # libusdt >= 1.0 with issue 13's fast path; None on an older library
    usdt_system_semaphore = _decl("usdt_system_semaphore", ctypes.c_void_p)
except AttributeError:
    usdt_system_semaphore = None


class usdt_field_t(ctypes.Structure):
    # struct usdt_field (include/usdt.h, "Structured arguments")
    _fields_ = [("name", ctypes.c_char_p), ("type", ctypes.c_char_p), ("offset", ctypes.c_size_t)]


try:        # libusdt with structured argument types (issue 14); None before
    usdt_register_struct = _decl("usdt_register_struct", ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t,
                                 ctypes.c_size_t, ctypes.POINTER(usdt_field_t))
except AttributeError:
    usdt_register_struct = None
