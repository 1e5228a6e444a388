/*
 * usdt._speedups — the optional C accelerator of the usdt Python package.
 *
 * Plain CPython C API, no dependency but Python.h (not even usdt.h: the
 * layout of struct usdt_probe comes from usdt/_lib.py through configure()).
 * It implements the two hot paths of usdt.Probe, the untraced fire() and
 * .enabled, as ProbeBase, the base class of usdt.Probe when the module is
 * built and not turned off (USDT_PY_ACCEL=0 or USDT_PY_FAST=0 give the pure
 * path of usdt/__init__.py, which stays the reference).
 *
 * The check is the pure path's (and usdt_is_enabled_inline()'s in usdt.h,
 * plus libusdt:fire's system-wide semaphore): load the probe object's _sem
 * (acquire); NULL means disabled, released or "ask libusdt" (_live says
 * which); else read the semaphore, then load _site and read its first byte,
 * then the system semaphore. All three idle: not traced. Nothing is cached:
 * _sem and _site are loaded from the probe object at every check. The GIL
 * is held from the first load to the last, and every libusdt call that
 * changes a provider is made by the package with the GIL held (libusdt is
 * loaded with ctypes.PyDLL), so no change, signal handler, finaliser or
 * other thread can run between the loads; this code calls nothing between
 * them. Changes by other code to a provider of the same name are safe by
 * usdt.h's own rule for inline checks.
 *
 * Anything but "idle" goes back to Python: fire() calls
 * self._fire_traced(args) (usdt_is_enabled() decides, arguments are checked
 * and converted, usdt_fire_probe() fires), .enabled calls libusdt's
 * usdt_is_enabled() through the function pointer configure() got from
 * ctypes. Strict probes call self._convert(args) first, as the pure path.
 *
 * Free-threaded CPython is not supported (the package never imports this
 * module there: without the GIL the loads above could race a change).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define SPEEDUPS_API 1                  /* checked by usdt/__init__.py */

/* configure(): offsets in struct usdt_probe, the idle byte, addresses */
static int configured;
static Py_ssize_t sem_off, site_off, live_off;
static unsigned idle_byte;
static const volatile uint16_t *system_sem;
static int (*is_enabled_fn)(void *);
static PyObject *str_fire_traced, *str_convert;

typedef struct {
	PyObject_HEAD
	char *obj;                      /* the struct usdt_probe, or NULL (released) */
	Py_ssize_t argc;                /* fire()'s argument count */
	int strict;                     /* check arguments on every fire() */
} ProbeBase;

enum { IDLE = 0, ASK = 1 };

/* IDLE: nothing traced (or released/disabled); ASK: let libusdt decide */
static inline int check(const ProbeBase *self)
{
	const char *o = self->obj;
	const volatile uint16_t *sem;
	const volatile unsigned char *site;
	unsigned v;

	if (o == NULL || !configured)
		return o == NULL ? IDLE : ASK;
	sem = __atomic_load_n((const volatile uint16_t *const *)(o + sem_off), __ATOMIC_ACQUIRE);
	if (sem == NULL)        /* disabled, released by libusdt, or twins / DTrace */
		return __atomic_load_n((void *const *)(o + live_off), __ATOMIC_RELAXED) != NULL ? ASK : IDLE;
	v = *sem;
	site = __atomic_load_n((const volatile unsigned char *const *)(o + site_off), __ATOMIC_RELAXED);
	v |= (unsigned)(*site ^ idle_byte);
	v |= *system_sem;
	return v != 0 ? ASK : IDLE;
}

static PyObject *args_tuple(PyObject *const *args, Py_ssize_t nargs)
{
	PyObject *t = PyTuple_New(nargs);
	Py_ssize_t i;

	if (t == NULL)
		return NULL;
	for (i = 0; i < nargs; i++) {
		Py_INCREF(args[i]);
		PyTuple_SET_ITEM(t, i, args[i]);
	}
	return t;
}

static PyObject *count_error(ProbeBase *self, Py_ssize_t nargs)
{
	/* CPython's own message for a def fire(self, a0, ..., /) */
	Py_ssize_t want = self->argc + 1, got = nargs + 1;
	PyErr_Format(PyExc_TypeError, "fire() takes %zd positional argument%s but %zd %s given",
	             want, want == 1 ? "" : "s", got, got == 1 ? "was" : "were");
	return NULL;
}

PyDoc_STRVAR(fire_doc,
"fire($self, /, *args)\n--\n\n"
"Fire the probe with one argument per declared type.\n\n"
"Returns True if a tracer was attached and saw the fire, else False.\n"
"Untraced, only the number of arguments is checked (TypeError);\n"
"traced (or strict), their types and ranges too.");

static PyObject *probe_fire(ProbeBase *self, PyObject *const *args, Py_ssize_t nargs)
{
	PyObject *t, *r;

	if (nargs != self->argc)
		return count_error(self, nargs);
	if (self->strict) {
		t = args_tuple(args, nargs);
		if (t == NULL)
			return NULL;
		r = PyObject_CallMethodObjArgs((PyObject *)self, str_convert, t, NULL);
		if (r == NULL) {
			Py_DECREF(t);
			return NULL;
		}
		Py_DECREF(r);
		/* _convert ran Python code: the check below loads everything afresh */
		if (check(self) == IDLE) {
			Py_DECREF(t);
			Py_RETURN_FALSE;
		}
	} else {
		if (check(self) == IDLE)
			Py_RETURN_FALSE;
		t = args_tuple(args, nargs);
		if (t == NULL)
			return NULL;
	}
	r = PyObject_CallMethodObjArgs((PyObject *)self, str_fire_traced, t, NULL);
	Py_DECREF(t);
	return r;
}

PyDoc_STRVAR(enabled_doc,
"True while a tracer is attached to this probe (cheap; use it to skip\n"
"building costly arguments).");

static PyObject *probe_enabled(ProbeBase *self, void *closure)
{
	(void)closure;
	if (check(self) == IDLE)
		Py_RETURN_FALSE;
	/* self->obj is set (a released probe is IDLE): libusdt decides */
	if (is_enabled_fn == NULL) {
		PyErr_SetString(PyExc_RuntimeError, "usdt._speedups is not configured");
		return NULL;
	}
	return PyBool_FromLong(is_enabled_fn(self->obj) != 0);
}

PyDoc_STRVAR(bind_doc,
"_bind($self, obj, argc, strict, /)\n--\n\n"
"Point the accelerated fire()/.enabled at the struct usdt_probe at address\n"
"obj (0: released, fire() returns False) taking argc arguments.");

static PyObject *probe_bind(ProbeBase *self, PyObject *args)
{
	unsigned long long obj;
	Py_ssize_t argc;
	int strict;

	if (!PyArg_ParseTuple(args, "Knp:_bind", &obj, &argc, &strict))
		return NULL;
	if (argc < 0) {
		PyErr_SetString(PyExc_ValueError, "argc < 0");
		return NULL;
	}
	self->obj = (char *)(uintptr_t)obj;
	self->argc = argc;
	self->strict = strict;
	Py_RETURN_NONE;
}

static PyMethodDef probe_methods[] = {
	{"fire", (PyCFunction)(void (*)(void))probe_fire, METH_FASTCALL, fire_doc},
	{"_bind", (PyCFunction)probe_bind, METH_VARARGS, bind_doc},
	{NULL, NULL, 0, NULL}
};

static PyGetSetDef probe_getset[] = {
	{"enabled", (getter)probe_enabled, NULL, enabled_doc, NULL},
	{NULL, NULL, NULL, NULL, NULL}
};

static PyTypeObject ProbeBase_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "usdt._speedups.ProbeBase",
	.tp_basicsize = sizeof(ProbeBase),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "The accelerated base of usdt.Probe: fire() and .enabled in C.",
	.tp_methods = probe_methods,
	.tp_getset = probe_getset,
	.tp_new = PyType_GenericNew,
};

PyDoc_STRVAR(configure_doc,
"configure(sem_off, site_off, live_off, idle_byte, system_sem, is_enabled, /)\n--\n\n"
"Offsets of _sem, _site and _live in struct usdt_probe, the first byte of\n"
"an idle probe site, the address of usdt_system_semaphore()'s semaphore\n"
"and of usdt_is_enabled(). Until called, every check asks libusdt.");

static PyObject *configure(PyObject *mod, PyObject *args)
{
	Py_ssize_t so, sio, lo;
	unsigned int ib;
	unsigned long long ss, ie;

	(void)mod;
	if (!PyArg_ParseTuple(args, "nnnIKK:configure", &so, &sio, &lo, &ib, &ss, &ie))
		return NULL;
	if (so < 0 || sio < 0 || lo < 0 || ib > 0xff || ss == 0 || ie == 0) {
		PyErr_SetString(PyExc_ValueError, "configure: bad offsets or addresses");
		return NULL;
	}
	sem_off = so;
	site_off = sio;
	live_off = lo;
	idle_byte = ib;
	system_sem = (const volatile uint16_t *)(uintptr_t)ss;
	is_enabled_fn = (int (*)(void *))(uintptr_t)ie;
	configured = 1;
	Py_RETURN_NONE;
}

PyDoc_STRVAR(fire_for_doc,
"fire_for(cls, /)\n--\n\n"
"ProbeBase.fire as a method descriptor of cls, a subclass of ProbeBase.\n"
"CPython 3.12 and later specialise a call of a C method only on an instance\n"
"of the descriptor's own class: a subclass gets its own descriptor.");

static PyObject *fire_for(PyObject *mod, PyObject *cls)
{
	(void)mod;
	if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &ProbeBase_Type)) {
		PyErr_SetString(PyExc_TypeError, "fire_for: not a subclass of ProbeBase");
		return NULL;
	}
	return PyDescr_NewMethod((PyTypeObject *)cls, &probe_methods[0]);
}

static PyMethodDef module_methods[] = {
	{"configure", configure, METH_VARARGS, configure_doc},
	{"fire_for", fire_for, METH_O, fire_for_doc},
	{NULL, NULL, 0, NULL}
};

static struct PyModuleDef speedups_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "usdt._speedups",
	.m_doc = "Optional C accelerator of usdt.Probe.fire() and .enabled (see usdt/_speedups.c).",
	.m_size = -1,
	.m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
	PyObject *m;

	str_fire_traced = PyUnicode_InternFromString("_fire_traced");
	str_convert = PyUnicode_InternFromString("_convert");
	if (str_fire_traced == NULL || str_convert == NULL)
		return NULL;
	if (PyType_Ready(&ProbeBase_Type) < 0)
		return NULL;
	m = PyModule_Create(&speedups_module);
	if (m == NULL)
		return NULL;
	Py_INCREF(&ProbeBase_Type);
	if (PyModule_AddObject(m, "ProbeBase", (PyObject *)&ProbeBase_Type) < 0) {
		Py_DECREF(&ProbeBase_Type);
		Py_DECREF(m);
		return NULL;
	}
	if (PyModule_AddIntConstant(m, "API", SPEEDUPS_API) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
