"""usdt — define USDT probes from Python at run time (libusdt over ctypes).

    import usdt

    with usdt.Provider("myapp") as prov:
        req = prov.add_probe("request", "int", "char *")
        prov.enable()                 # optional: entering the block enables
        ...
        req.fire(200, "/index.html")
        if req.enabled:               # build costly arguments only when traced
            req.fire(status, describe(request))

Trace it:  bpftrace -p PID -e 'usdt:*:myapp:request { printf("%d %s\\n", arg0, str(arg1)); }'

Argument types are libusdt's C type strings ("int", "uint64_t", "char *",
...). Integers are range-checked against the declared type; strings take
str (encoded as UTF-8) or bytes. A wrong argument raises TypeError,
ValueError or OverflowError; a failure of the library raises USDTError with
libusdt's message.

"json" arguments take any value json.dumps() takes (a dict, a list, ...;
str and bytes are passed as JSON text already). "struct NAME *" arguments
point to a structure declared with register_struct(); they take a dict, an
instance of the class register_struct() returns (or another ctypes
structure), an address or None.
"""
import ctypes
import json
import operator
import os
import sys
import threading

from . import _lib

__all__ = ["Provider", "Probe", "USDTError", "TYPES", "ARG_MAX", "version", "library_path", "register_struct"]

ARG_MAX = _lib.USDT_ARG_MAX
library_path = _lib.path

# Error codes (enum usdt_error in usdt.h).
ERROR_MALLOC, ERROR_VALLOC, ERROR_NOPROBES, ERROR_LOADDOF, ERROR_ALREADYENABLED, \
    ERROR_UNLOADDOF, ERROR_DUP_PROBE, ERROR_REMOVE_PROBE, ERROR_NONE, ERROR_NULL, \
    ERROR_BADNAME, ERROR_BADTYPE, ERROR_ARGC, ERROR_DUP_PROVIDER, ERROR_INVALID, \
    ERROR_LOAD, ERROR_UNSUPPORTED, ERROR_LAYOUT, ERROR_DUP_STRUCT = range(19)

# Argument kinds.
_INT, _STR, _PTR, _JSON, _STRUCT = 0, 1, 2, 3, 4

# Every type libusdt accepts (src/types.c), in its normalised spelling:
# (size in bytes, signed, kind). Sizes are those of the LP64 ABI.
TYPES = {}
for _names, _size, _signed in (
        (("int", "signed int", "signed", "int32_t", "pid_t"), 4, True),
        (("unsigned int", "unsigned", "uint32_t", "uid_t", "gid_t"), 4, False),
        (("short", "signed short", "short int", "int16_t"), 2, True),
        (("unsigned short", "unsigned short int", "uint16_t"), 2, False),
        (("char", "signed char", "int8_t"), 1, True),
        (("unsigned char", "uint8_t", "bool", "_Bool"), 1, False),
        (("long", "signed long", "long int", "long long", "long long int", "int64_t",
          "intptr_t", "ssize_t", "off_t"), 8, True),
        (("unsigned long", "unsigned long int", "unsigned long long", "uint64_t",
          "uintptr_t", "size_t"), 8, False)):
    for _n in _names:
        TYPES[_n] = (_size, _signed, _INT)
for _n in ("char *", "const char *"):
    TYPES[_n] = (8, False, _STR)
for _n in ("void *", "const void *"):
    TYPES[_n] = (8, False, _PTR)
TYPES["json"] = (8, False, _JSON)
del _names, _size, _signed, _n

_MASK64 = (1 << 64) - 1


def _normalise(t):
    """The spelling libusdt compares: single spaces, "char*" -> "char *"."""
    out = []
    pending = False
    for c in t:
        if c in " \t":
            pending = bool(out)
            continue
        if c == "*" and out and out[-1] != "*":
            pending = True
        if pending:
            out.append(" ")
            pending = False
        out.append(c)
    return "".join(out)


def version():
    """libusdt's version string, e.g. "1.0.0"."""
    return _lib.usdt_version().decode()


class USDTError(Exception):
    """A libusdt call failed. str(e) is libusdt's message; e.code its error code."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        self.code = code


def _last_error():
    return USDTError(_lib.usdt_last_errstr().decode("utf-8", "replace"), _lib.usdt_last_error())


def _name_arg(what, value, optional=False):
    if value is None and optional:
        return None
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif not isinstance(value, (bytes, bytearray)):
        raise TypeError("%s must be str or bytes, not %s" % (what, type(value).__name__))
    value = bytes(value)
    if b"\0" in value:
        raise ValueError("%s contains a NUL character" % what)
    return value


class Provider:
    """A USDT provider: a named set of probes, enabled as one unit.

    Provider(name, module=None). Use it as a context manager: entering the
    block enables it (if it has probes), leaving it disables and frees it.
    """

    def __init__(self, name, module=None):
        bname = _name_arg("provider name", name)
        bmodule = _name_arg("module name", module, optional=True)
        self._lock = threading.RLock()
        self._ptr = None
        ptr = _lib.usdt_create_provider(bname, bmodule)
        if not ptr:
            raise _last_error()
        self._ptr = ptr
        self.name = bname.decode()
        self.module = bmodule.decode() if bmodule is not None else None
        self._probes = []

    # -- state ------------------------------------------------------------
    def _live(self):
        if self._ptr is None:
            raise ValueError("provider %r is closed" % getattr(self, "name", "?"))
        return self._ptr

    def _error(self):
        # provider failures set both the provider's message and the thread's code
        return USDTError(_lib.usdt_errstr(self._ptr).decode("utf-8", "replace"), _lib.usdt_last_error())

    @property
    def closed(self):
        return self._ptr is None

    @property
    def is_enabled(self):
        """True while the provider is enabled (its probes are visible to tracers)."""
        return self._ptr is not None and bool(self._ptr.contents.enabled)

    @property
    def probes(self):
        """The probes added to this provider, in order of addition."""
        return list(self._probes)

    def __getitem__(self, name):
        for p in self._probes:
            if p.name == name:
                return p
        raise KeyError(name)

    def _change(self, fn, *args):
        # Every libusdt call that changes this provider goes through here.
        # One foreign call, made with the GIL held (see _lib): for the
        # untraced fast path (see Probe) it happens between two bytecodes.
        # Nothing is copied out of the probe objects before or after it:
        # the fast path loads _sem and _site from them at every check, so
        # a change nested in this one (a signal handler, a finaliser) can
        # leave nothing stale behind.
        return fn(*args)

    # -- probes -----------------------------------------------------------
    def add_probe(self, name, *types, function=None, strict=None):
        """Add a probe with argument types (libusdt C type strings). Returns a Probe.

        Allowed while the provider is enabled (the probe is live at once).
        strict=True checks the arguments' types and ranges on every fire(),
        traced or not (default: only when traced; $USDT_PY_STRICT=1 makes
        True the default).
        """
        if strict is None:
            strict = os.environ.get("USDT_PY_STRICT", "0") not in ("", "0")
        bname = _name_arg("probe name", name)
        bfunc = _name_arg("function name", function, optional=True)
        if len(types) > ARG_MAX:
            raise ValueError("a probe takes at most %d arguments, not %d" % (ARG_MAX, len(types)))
        btypes = [_name_arg("argument type", t) for t in types]
        with self._lock:
            prov = self._live()
            arr = (ctypes.c_char_p * max(1, len(btypes)))(*btypes)
            pd = _lib.usdt_create_probe(bfunc, bname, len(btypes), arr if btypes else None)
            if not pd:
                raise _last_error()
            if self._change(_lib.usdt_provider_add_probe, prov, pd) != 0:
                err = self._error()
                _lib.usdt_probe_release(pd)
                raise err
            probe = _probe_class(len(btypes), strict)(
                self, pd, bname.decode(), None if bfunc is None else bfunc.decode(),
                          tuple(t.decode() for t in btypes), strict)
            self._probes.append(probe)
            return probe

    def remove_probe(self, probe):
        """Remove a probe; it stays a valid object whose fire() does nothing."""
        with self._lock:
            prov = self._live()
            if not isinstance(probe, Probe) or probe._provider is not self or probe._pd is None:
                raise ValueError("probe is not part of provider %r" % self.name)
            if self._change(_lib.usdt_provider_remove_probe, prov, probe._pd) != 0:
                raise self._error()
            self._probes.remove(probe)
            probe._provider = None

    # -- enable / disable / free --------------------------------------------
    def enable(self):
        """Make the probes visible to tracers. Enabling twice is harmless."""
        with self._lock:
            if self._change(_lib.usdt_provider_enable, self._live()) != 0:
                raise self._error()
        return self

    def disable(self):
        """Hide the probes from tracers; fire() does nothing until enable()."""
        with self._lock:
            if self._change(_lib.usdt_provider_disable, self._live()) != 0:
                raise self._error()
        return self

    def close(self):
        """Disable and free the provider. Its probes then never fire. Idempotent."""
        with self._lock:
            ptr, self._ptr = self._ptr, None
            if ptr is not None:
                self._change(_lib.usdt_provider_free, ptr)

    free = close

    def __enter__(self):
        if self._probes and not self.is_enabled:
            self.enable()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        state = "closed" if self._ptr is None else ("enabled" if self.is_enabled else "disabled")
        return "<usdt.Provider %r %s, %d probes>" % (getattr(self, "name", "?"), state, len(self._probes))


# -- the untraced fast path -----------------------------------------------
#
# Deciding "no tracer" must cost a small multiple of an empty Python call,
# so it is made in pure Python, like usdt_is_enabled_inline() in usdt.h:
# the probe object (struct usdt_probe, type-stable memory: never freed)
# holds _sem, the address of the probe's 16-bit semaphore, and _site, the
# address of its probe site, whose first byte is the idle nop's unless a
# tracer put a breakpoint there; libusdt:fire's system-wide semaphore
# (usdt_system_semaphore()) is the third word. When all three read idle,
# nothing is traced and fire() returns False after checking only the
# argument count. Anything else (a tracer, _sem NULL because the provider
# is disabled or shares its name with another one) goes to libusdt's own
# usdt_is_enabled(), which decides exactly.
#
# Safety. The semaphore and site live in the provider's object, which a
# disable or rebuild unmaps: the check must never read them after that.
#  - Every libusdt call that changes a provider is made by this package,
#    with the GIL held (_lib loads libusdt with ctypes.PyDLL): for other
#    Python threads it happens between two bytecodes, all at once.
#  - The semaphore: _semp is a ctypes pointer whose storage IS the probe
#    object's _sem field, so `_semp[0]` loads the current _sem and
#    dereferences it in one bytecode (a NULL _sem raises ValueError). Only
#    the provider's own calls make _sem non-NULL (usdt.h); when another
#    provider of the same name clears it, the object stays mapped.
#  - The site: _sitep is likewise a ctypes pointer whose storage IS the
#    object's _site field, so `_sitep[0]` loads the current _site and reads
#    its byte. libusdt stores _site before _sem and clears only _sem (the
#    stale _site of a cleared probe may point into an unmapped object):
#    _site is read only right after `_semp[0]` found _sem non-NULL, so it
#    is that object's site, still mapped.
#  - Nothing may change the provider between the two loads: they are
#    adjacent bytecodes with no call, backward jump or allocation between
#    them, and CPython (3.11 to 3.13) switches threads, runs signal
#    handlers and (3.12+) collects garbage only at calls, backward jumps
#    and function entries (3.11 collects at allocations; there is none).
#  - No address is copied out of the probe object. The first version of
#    this path kept a memoryview of the site byte, refreshed after each
#    change of the provider; a change made inside that refresh (a signal
#    handler managing the provider, run at a call of the refresh, or a
#    handler nested in itself) left it a view of the object that the
#    nested change unmapped, while _sem pointed into the new one:
#    SIGSEGV in memoryview's item read, under ASan builds and CPython
#    3.12 alike. tests/test_threads.py makes such nested changes at every
#    call and return of a change, and changes providers from threads and a
#    signal handler while other threads fire.
# Elsewhere (CPython before 3.11, free-threaded builds, other
# implementations, an architecture whose idle byte is not known, an older
# libusdt) every check calls usdt_is_enabled(): correct, just slower.
def _idle_byte():
    import platform
    m = platform.machine().lower()
    if m in ("x86_64", "amd64", "i386", "i486", "i586", "i686", "x86"):
        return 0x0f                         # USDT__SITE_IDLE_BYTE in usdt.h
    if m in ("aarch64", "arm64") and ctypes.sizeof(ctypes.c_void_p) == 8 and sys.byteorder == "little":
        return 0x1f
    return None


def _fast_path_ok():
    # On by default on CPython 3.11 to 3.13 with the GIL (the versions whose
    # switching points are known, see above); USDT_PY_FAST=0 turns it off
    # (every check then calls usdt_is_enabled()).
    impl = sys.implementation.name == "cpython" and (3, 11) <= sys.version_info[:2] <= (3, 13)
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    return (impl and gil and _lib.usdt_system_semaphore is not None and _idle_byte() is not None
            and os.environ.get("USDT_PY_FAST", "1") != "0")


FAST_PATH = _fast_path_ok()
IDLE = _idle_byte() if FAST_PATH else 0
if FAST_PATH:
    # memoryviews read faster than ctypes objects; this address never changes
    _SYSTEM_SEM = memoryview((ctypes.c_char * 2).from_address(_lib.usdt_system_semaphore())).cast("B").cast("H")
else:
    _SYSTEM_SEM = None
_SEM_OFF = _lib.usdt_probe_t._sem.offset
_SITE_OFF = _lib.usdt_probe_t._site.offset
_LIVE_OFF = _lib.usdt_probe_t._live.offset
_U16_P = ctypes.POINTER(ctypes.c_uint16)
_U8_P = ctypes.POINTER(ctypes.c_uint8)
_fire_code = {}


# -- the optional C accelerator ---------------------------------------------
#
# usdt/_speedups.c, built where a compiler is present (the wheel build, or
# `python3 _build/usdt_build.py --inplace` in a source tree): ProbeBase, the
# base class of Probe, whose fire() and .enabled make the same check as the
# fast path above in C, loading _sem and _site from the probe object at
# every check like the pure path, with the GIL held from the first load to
# the last; anything but "idle" goes to _fire_traced() / usdt_is_enabled().
# Its safety does not depend on where CPython switches threads, so it is
# used on any CPython with the GIL (3.7 and later) where the idle byte is
# known. Absent, or USDT_PY_ACCEL=0 (or USDT_PY_FAST=0): the pure path.
def _load_accel():
    if os.environ.get("USDT_PY_ACCEL", "1") == "0" or os.environ.get("USDT_PY_FAST", "1") == "0":
        return None
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    idle = _idle_byte()
    if sys.implementation.name != "cpython" or not gil or idle is None or _lib.usdt_system_semaphore is None:
        return None
    try:
        from . import _speedups
    except ImportError:
        return None
    if getattr(_speedups, "API", None) != 1:      # a stale build of another version
        return None
    _speedups.configure(_SEM_OFF, _SITE_OFF, _LIVE_OFF, idle, _lib.usdt_system_semaphore(),
                        ctypes.cast(_lib.usdt_is_enabled, ctypes.c_void_p).value)
    return _speedups


_speedups = _load_accel()
ACCEL = _speedups is not None
_ProbeBase = _speedups.ProbeBase if ACCEL else object


_probe_classes = {}


def _probe_class(argc, strict):
    """The Probe subclass for probes of argc arguments: its fire() takes
    exactly argc positional arguments (the count check is Python's own) and
    returns False at once while nothing is traced. A method of the class,
    not an attribute of the instance, so that CPython specialises the
    probe.fire lookup; one class per (argc, strict), shared by probes."""
    key = (argc, bool(strict))
    cls = _probe_classes.get(key)
    if cls is not None:
        return cls
    params = ", ".join("a%d" % i for i in range(argc))
    sig = "self" + (", " + params if argc else "") + (", /" if sys.version_info >= (3, 8) else "")
    tup = "(" + params + ("," if argc == 1 else "") + ")"
    body = []
    if ACCEL:
        # fire() and its count check are ProbeBase's C fire(), as a method
        # descriptor of this class: CPython specialises a call of a C method
        # only on an instance of the descriptor's own class (0.6x / 1.7x an
        # empty call on 3.11 / 3.12+, against 1.1x / 2.5x with the base's)
        cls = type("Probe", (Probe,), {"__slots__": (), "__module__": __name__, "__doc__": Probe.__doc__})
        cls.fire = _speedups.fire_for(cls)
        _probe_classes[key] = cls
        return cls
    if strict:
        body.append("    self._convert(%s)" % tup)
    if FAST_PATH:
        body += [
            "    try:",
            "        if not self._semp[0] and self._sitep[0] == %d and not _SYSTEM_SEM[0]:" % IDLE,
            "            return False",
            "    except ValueError:      # _sem is NULL: disabled, released, or ask libusdt",
            "        if not self._livev.value:",
            "            return False",
        ]
    body.append("    return self._fire_traced(%s)" % tup)
    src = "def fire(%s):\n%s\n" % (sig, "\n".join(body))
    ns = {"_SYSTEM_SEM": _SYSTEM_SEM}
    exec(compile(src, "<usdt Probe.fire/%d>" % argc, "exec"), ns)
    fire = ns["fire"]
    fire.__qualname__ = "Probe.fire"
    fire.__doc__ = Probe._fire_doc
    cls = type("Probe", (Probe,), {"fire": fire, "__slots__": (), "__module__": __name__,
                                   "__doc__": Probe.__doc__})
    _probe_classes[key] = cls
    return cls


_NULL_U16_P = _U16_P()                  # what a released probe reads as _sem
_NULL_VOID = ctypes.c_void_p()


class Probe(_ProbeBase):
    """A probe of a Provider (made by Provider.add_probe).

    probe.fire(*args) returns False after checking only the number of
    arguments while no tracer is attached (a small multiple of an empty
    Python call); their types and ranges are checked when a tracer is
    attached (or on every call for a probe added with strict=True).
    """

    def __init__(self, provider, pd, name, function, types, strict=False):
        self._provider = provider
        self._pd = pd                       # holds the creator's reference
        self.name = name
        self.function = function
        self.types = types
        self.strict = bool(strict)
        conv = []
        for t in types:
            norm = _normalise(t)
            if norm in _STRUCTS:                # "struct NAME *": (kind, class, None)
                conv.append((_STRUCT, _STRUCTS[norm], None))
                continue
            size, signed, kind = TYPES.get(norm, (8, None, _INT))   # unknown: a 64-bit word
            bits = size * 8
            if norm in ("bool", "_Bool"):
                lo, hi = 0, 1
            elif signed is None:
                lo, hi = -(1 << 63), (1 << 64) - 1
            elif signed:
                lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
            else:
                lo, hi = 0, (1 << bits) - 1
            conv.append((kind, lo, hi))
        self._conv = tuple(conv)
        self._argv_type = ctypes.c_char_p * max(1, len(types))
        # the probe object: never freed, never moves (src/probe_pool.h)
        obj = pd.contents._probe
        self._obj = obj
        self._raw = _lib.usdt_probe_t.from_address(obj)
        self._semp = _U16_P.from_address(obj + _SEM_OFF)      # aliases probe->_sem
        self._sitep = _U8_P.from_address(obj + _SITE_OFF)    # aliases probe->_site
        self._livev = ctypes.c_void_p.from_address(obj + _LIVE_OFF)
        if ACCEL:
            self._bind(obj, len(types), self.strict)

    def _probe_ptr(self):
        return self._obj if self._pd is not None else None

    @property
    def enabled(self):
        """True while a tracer is attached to this probe (cheap; use it to skip
        building costly arguments)."""
        if FAST_PATH:
            try:
                if not self._semp[0] and self._sitep[0] == IDLE and not _SYSTEM_SEM[0]:
                    return False
            except ValueError:                # _sem NULL (see the fast path notes)
                if not self._livev.value:
                    return False
        return self._pd is not None and _lib.usdt_is_enabled(self._obj) != 0

    @property
    def provider(self):
        return self._provider

    def check(self, *args):
        """Check args against the declared types as a traced fire() does
        (TypeError, ValueError or OverflowError), without firing."""
        self._convert(args)

    def _convert(self, args):
        """Check args against the declared types; return the values for the
        argv array (ints as 64-bit words, bytes for strings, None for NULL)."""
        conv = self._conv
        if len(args) != len(conv):
            raise TypeError("probe %s takes %d argument%s, %d given" % (
                self.name, len(conv), "" if len(conv) == 1 else "s", len(args)))
        out = list(args)
        for i, a in enumerate(args):
            kind, lo, hi = conv[i]
            if kind >= _JSON:
                out[i] = _convert_json(a) if kind == _JSON else _convert_struct(self, i, lo, a)
                continue
            if kind == _STR:
                if a is None:
                    continue
                if isinstance(a, str):
                    b = a.encode("utf-8")
                elif isinstance(a, (bytes, bytearray, memoryview)):
                    b = bytes(a)
                else:
                    raise TypeError("argument %d of probe %s (%s) must be str or bytes, not %s" % (
                        i, self.name, self.types[i], type(a).__name__))
                if b"\0" in b:
                    raise ValueError("argument %d of probe %s contains a NUL character" % (i, self.name))
                out[i] = b
                continue
            if a is None and kind == _PTR:
                continue
            if type(a) is not int:
                if isinstance(a, float) or not hasattr(a, "__index__"):
                    raise TypeError("argument %d of probe %s (%s) must be an integer, not %s" % (
                        i, self.name, self.types[i], type(a).__name__))
                a = operator.index(a)
            if not lo <= a <= hi:
                raise OverflowError("argument %d of probe %s: %d is out of range for %s [%d, %d]" % (
                    i, self.name, a, self.types[i], lo, hi))
            out[i] = a & _MASK64
        return out

    def _fire_traced(self, args):
        # the slow path: libusdt decides; arguments are checked in full
        obj = self._obj
        if self._pd is None or not _lib.usdt_is_enabled(obj):
            return False
        values = self._convert(args)
        # a char * array: ints are stored as addresses/words, bytes as
        # pointers to their buffers, kept alive by the array during the call
        argv = self._argv_type(*values)
        _lib.usdt_fire_probe(obj, len(values), argv)
        return True

    _fire_doc = """Fire the probe with one argument per declared type.

        Returns True if a tracer was attached and saw the fire, else False.
        Untraced, only the number of arguments is checked (TypeError);
        traced (or strict), their types and ranges too."""

    def fire(self, *args):
        # the generic form; probes are instances of a subclass made by
        # _probe_class whose fire() takes exactly their argument count
        return self._fire_traced(args)

    fire.__doc__ = _fire_doc

    def release(self):
        """Drop this object's reference to the probe definition (it is freed
        when its provider no longer holds it). fire() is a no-op afterwards."""
        pd, self._pd = self._pd, None
        if pd is not None:
            self._semp, self._livev = _NULL_U16_P, _NULL_VOID   # fire() returns False
            if ACCEL:
                self._bind(0, len(self.types), self.strict)    # and ProbeBase's
            _lib.usdt_probe_release(pd)

    def __del__(self):
        try:
            self.release()
        except Exception:
            pass

    def __repr__(self):
        prov = self._provider.name if self._provider is not None else "-"
        return "<usdt.Probe %s:%s(%s)>" % (prov, self.name, ", ".join(self.types))


if ACCEL:
    # ProbeBase's C fire() (count check, untraced early-out, else
    # _fire_traced) and .enabled (else usdt_is_enabled()) replace these
    del Probe.enabled, Probe.fire


# ---- structured arguments (usdt_register_struct) ----

# "struct NAME *" -> the ctypes class register_struct() made for NAME
_STRUCTS = {}
_STRUCT_CTYPES = {
    "char *": ctypes.c_char_p, "const char *": ctypes.c_char_p, "json": ctypes.c_char_p,
    "void *": ctypes.c_void_p, "const void *": ctypes.c_void_p, "bool": ctypes.c_bool, "_Bool": ctypes.c_bool,
}


def _field_ctype(ftype):
    """The ctypes type of a field type string of usdt_register_struct()."""
    norm = _normalise(ftype)
    if norm in _STRUCT_CTYPES:
        return _STRUCT_CTYPES[norm]
    if norm.startswith("char[") and norm.endswith("]") and norm[5:-1].isdigit():
        return ctypes.c_char * int(norm[5:-1])
    if norm.startswith("struct ") and norm.endswith(" *"):
        return ctypes.c_void_p             # an address (usdt trace prints it)
    if norm.startswith("struct "):
        cls = _STRUCTS.get(norm + " *")
        if cls is None:
            raise ValueError("field type %r: struct %s is not registered (register it first)" % (ftype, norm[7:]))
        return cls
    if norm in TYPES and TYPES[norm][2] == _INT:
        size, signed, _ = TYPES[norm]
        return {(1, True): ctypes.c_int8, (1, False): ctypes.c_uint8, (2, True): ctypes.c_int16,
                (2, False): ctypes.c_uint16, (4, True): ctypes.c_int32, (4, False): ctypes.c_uint32,
                (8, True): ctypes.c_int64, (8, False): ctypes.c_uint64}[(size, signed)]
    return None                             # libusdt refuses it with its message


def register_struct(name, fields):
    """Declare struct NAME for probe arguments of type "struct NAME *".

    fields: a sequence of (field name, type) in C declaration order, types
    being libusdt's ("int32_t", "char *", "json", "char[16]", "struct
    other", "struct other *", ...). The layout is C's (what a compiler
    makes of the same declaration), registered with usdt_register_struct().
    Returns a ctypes.Structure subclass with that layout; a probe argument
    takes an instance of it, or a dict of field values (packed into one:
    str for strings, any json.dumps() value for json, a dict for an inline
    structure, missing fields 0). Registering the same layout again returns
    the same class; another layout under that name raises USDTError
    (ERROR_DUP_STRUCT), a bad layout USDTError (ERROR_LAYOUT).
    """
    if _lib.usdt_register_struct is None:
        raise USDTError("this libusdt has no usdt_register_struct (too old)", ERROR_UNSUPPORTED)
    bname = _name_arg("structure name", name)
    sname = bname.decode()
    if sname.startswith("struct "):
        sname = sname[7:].strip()
    cfields, specs = [], []
    for fname, ftype in fields:
        bf = _name_arg("field name", fname)
        bt = _name_arg("field type", ftype)
        ct = _field_ctype(bt.decode())
        specs.append((bf, bt, ct))
        if ct is not None:
            cfields.append((bf.decode(), ct))
    if any(ct is None for _, _, ct in specs):
        cls = None                          # let libusdt name the unknown type
    else:
        cls = type(sname, (ctypes.Structure,), {"_fields_": cfields, "_usdt_types_": {}})
        for bf, bt, _ in specs:
            cls._usdt_types_[bf.decode()] = _normalise(bt.decode())
    arr = (_lib.usdt_field_t * max(1, len(specs)))()
    for i, (bf, bt, _) in enumerate(specs):
        arr[i].name, arr[i].type = bf, bt
        arr[i].offset = getattr(cls, bf.decode()).offset if cls is not None else 0
    # no class (an unknown type): any valid size, so that libusdt's message
    # names the type
    size = ctypes.sizeof(cls) if cls is not None and cfields else (0 if not specs else 65536)
    if _lib.usdt_register_struct(bname, size, len(specs), arr) != 0:
        raise _last_error()
    key = "struct %s *" % sname
    return _STRUCTS.setdefault(key, cls)


def _convert_json(a):
    if isinstance(a, str):
        a = a.encode("utf-8")
    elif not isinstance(a, (bytes, bytearray, memoryview)):
        a = json.dumps(a, separators=(",", ":"), default=str).encode("utf-8")
    b = bytes(a)
    if b"\0" in b:
        raise ValueError("a json argument contains a NUL character")
    return b


def _pack(cls, d):
    """An instance of cls from a dict of field values."""
    inst = cls()
    types = cls._usdt_types_
    for k, v in d.items():
        if k not in types:
            raise TypeError("struct %s has no field %r" % (cls.__name__, k))
        t = types[k]
        if v is None:
            continue
        if t == "json":
            v = _convert_json(v)
        elif isinstance(v, str):
            v = v.encode("utf-8")
        elif isinstance(v, dict) and t.startswith("struct ") and not t.endswith("*"):
            v = _pack(_STRUCTS[t + " *"], v)
        setattr(inst, k, v)
    return inst


def _convert_struct(probe, i, cls, a):
    """A struct pointer argument: a c_char_p holding the structure's address
    (the argv array keeps the structure alive during the fire)."""
    if a is None:
        return None
    if isinstance(a, int) and not isinstance(a, bool):
        if not 0 <= a < 1 << 64:
            raise OverflowError("argument %d of probe %s: address %d out of range" % (i, probe.name, a))
        return a
    if isinstance(a, dict):
        a = _pack(cls, a)
    if not isinstance(a, ctypes.Structure):
        raise TypeError("argument %d of probe %s (%s) must be a dict, a ctypes structure, an address or None, "
                        "not %s" % (i, probe.name, probe.types[i], type(a).__name__))
    return ctypes.cast(ctypes.pointer(a), ctypes.c_char_p)
