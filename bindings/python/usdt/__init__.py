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
"""
import ctypes
import operator
import threading

from . import _lib

__all__ = ["Provider", "Probe", "USDTError", "TYPES", "ARG_MAX", "version", "library_path"]

ARG_MAX = _lib.USDT_ARG_MAX
library_path = _lib.path

# Error codes (enum usdt_error in usdt.h).
ERROR_MALLOC, ERROR_VALLOC, ERROR_NOPROBES, ERROR_LOADDOF, ERROR_ALREADYENABLED, \
    ERROR_UNLOADDOF, ERROR_DUP_PROBE, ERROR_REMOVE_PROBE, ERROR_NONE, ERROR_NULL, \
    ERROR_BADNAME, ERROR_BADTYPE, ERROR_ARGC, ERROR_DUP_PROVIDER, ERROR_INVALID, \
    ERROR_LOAD, ERROR_UNSUPPORTED = range(17)

# Argument kinds.
_INT, _STR, _PTR = 0, 1, 2

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

    # -- probes -----------------------------------------------------------
    def add_probe(self, name, *types, function=None):
        """Add a probe with argument types (libusdt C type strings). Returns a Probe.

        Allowed while the provider is enabled (the probe is live at once).
        """
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
            if _lib.usdt_provider_add_probe(prov, pd) != 0:
                err = self._error()
                _lib.usdt_probe_release(pd)
                raise err
            probe = Probe(self, pd, bname.decode(), None if bfunc is None else bfunc.decode(),
                          tuple(t.decode() for t in btypes))
            self._probes.append(probe)
            return probe

    def remove_probe(self, probe):
        """Remove a probe; it stays a valid object whose fire() does nothing."""
        with self._lock:
            prov = self._live()
            if not isinstance(probe, Probe) or probe._provider is not self or probe._pd is None:
                raise ValueError("probe is not part of provider %r" % self.name)
            if _lib.usdt_provider_remove_probe(prov, probe._pd) != 0:
                raise self._error()
            self._probes.remove(probe)
            probe._provider = None

    # -- enable / disable / free --------------------------------------------
    def enable(self):
        """Make the probes visible to tracers. Enabling twice is harmless."""
        with self._lock:
            if _lib.usdt_provider_enable(self._live()) != 0:
                raise self._error()
        return self

    def disable(self):
        """Hide the probes from tracers; fire() does nothing until enable()."""
        with self._lock:
            if _lib.usdt_provider_disable(self._live()) != 0:
                raise self._error()
        return self

    def close(self):
        """Disable and free the provider. Its probes then never fire. Idempotent."""
        with self._lock:
            ptr, self._ptr = self._ptr, None
            if ptr is not None:
                _lib.usdt_provider_free(ptr)

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


class Probe:
    """A probe of a Provider (made by Provider.add_probe)."""

    def __init__(self, provider, pd, name, function, types):
        self._provider = provider
        self._pd = pd                       # holds the creator's reference
        self.name = name
        self.function = function
        self.types = types
        conv = []
        for t in types:
            norm = _normalise(t)
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

    def _probe_ptr(self):
        pd = self._pd
        if pd is None:
            return None
        return pd.contents.probe            # NULL while the provider is disabled

    @property
    def enabled(self):
        """True while a tracer is attached to this probe (cheap; use it to skip
        building costly arguments)."""
        p = self._probe_ptr()
        return bool(p) and _lib.usdt_is_enabled(p) != 0

    @property
    def provider(self):
        return self._provider

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

    def fire(self, *args):
        """Fire the probe with one argument per declared type.

        The arguments are always checked (so mistakes show without a tracer);
        returns True if a tracer was attached and saw the fire, else False.
        """
        values = self._convert(args)
        pd = self._pd
        p = pd.contents.probe if pd is not None else None    # NULL while disabled
        if not p or not _lib.usdt_is_enabled(p):
            return False
        # a char * array: ints are stored as addresses/words, bytes as
        # pointers to their buffers, kept alive by the array during the call
        argv = self._argv_type(*values)
        _lib.usdt_fire_probe(p, len(values), argv)
        return True

    def release(self):
        """Drop this object's reference to the probe definition (it is freed
        when its provider no longer holds it). fire() is a no-op afterwards."""
        pd, self._pd = self._pd, None
        if pd is not None:
            _lib.usdt_probe_release(pd)

    def __del__(self):
        try:
            self.release()
        except Exception:
            pass

    def __repr__(self):
        prov = self._provider.name if self._provider is not None else "-"
        return "<usdt.Probe %s:%s(%s)>" % (prov, self.name, ", ".join(self.types))
