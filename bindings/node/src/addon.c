/*
 * addon.c — the native half of the libusdt Node.js binding (Node-API, C).
 *
 * It exposes a small, handle-based surface that lib/index.js turns into the
 * dtrace-provider API:
 *
 *   createProvider(name, module|undefined)       -> provider handle
 *   addProbe(provider, func, name, kinds[])      -> probe handle
 *        kinds: array of "int" | "string" | "json" (a string: JSON text,
 *        stringified in JS, type "json") | "struct:NAME" (type
 *        "struct NAME *": a Buffer whose data is the structure, packed in
 *        JS, or an address, or null)
 *   registerStruct(name, size, [[field, type, offset], ...])
 *                                                -> usdt_register_struct
 *   addressOf(buffer)                            -> BigInt (where a string
 *        field's bytes are, for a structure packed in JS)
 *   removeProbe(provider, probe)
 *   enable(provider) / disable(provider) / free(provider)
 *   isEnabled(probe)                             -> boolean
 *   fire(probe, values[])                        -> undefined
 *
 * Handles are externals pointing at small structs with a magic number, so a
 * wrong value passed in throws a TypeError instead of crashing. The
 * provider's and the probe's memory is released by their finalizers (when
 * the JS objects holding them are collected); libusdt's reference counting
 * makes any order of collection safe. Library failures throw an Error whose
 * message is libusdt's (usdt_errstr / usdt_last_errstr) and whose `code` is
 * the error code's name.
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usdt.h"

#define PROV_MAGIC 0x55505256u  /* "UPRV" */
#define PROBE_MAGIC 0x55505242u /* "UPRB" */

enum kind { K_INT = 0, K_STR = 1, K_PTR = 2 };

struct prov {
	uint32_t magic;
	usdt_provider_t *p;
};

struct probe {
	uint32_t magic;
	usdt_probedef_t *pd;    /* our own reference */
	size_t argc;
	uint8_t kind[USDT_ARG_MAX];
};

static const char *const code_names[] = {
	"USDT_ERROR_MALLOC", "USDT_ERROR_VALLOC", "USDT_ERROR_NOPROBES", "USDT_ERROR_LOADDOF",
	"USDT_ERROR_ALREADYENABLED", "USDT_ERROR_UNLOADDOF", "USDT_ERROR_DUP_PROBE",
	"USDT_ERROR_REMOVE_PROBE", "USDT_ERROR_NONE", "USDT_ERROR_NULL", "USDT_ERROR_BADNAME",
	"USDT_ERROR_BADTYPE", "USDT_ERROR_ARGC", "USDT_ERROR_DUP_PROVIDER", "USDT_ERROR_INVALID",
	"USDT_ERROR_LOAD", "USDT_ERROR_UNSUPPORTED", "USDT_ERROR_LAYOUT", "USDT_ERROR_DUP_STRUCT",
};

/* Check a Node-API status; on failure make sure an exception is pending. */
#define NAPI_OK(env, call)                                                    \
	do {                                                                  \
		if ((call) != napi_ok) {                                      \
			bool pending_ = false;                                \
			napi_is_exception_pending((env), &pending_);          \
			if (!pending_)                                        \
				napi_throw_error((env), NULL, "libusdt: Node-API call failed: " #call); \
			return NULL;                                          \
		}                                                             \
	} while (0)

static napi_value throw_usdt(napi_env env, const char *msg)
{
	usdt_error_t code = usdt_last_error();
	const char *name = (unsigned)code < sizeof code_names / sizeof code_names[0] ? code_names[code] : NULL;
	napi_throw_error(env, name, msg);
	return NULL;
}

static napi_value get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
	size_t argc = want;
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	napi_value undef;
	NAPI_OK(env, napi_get_undefined(env, &undef));
	for (size_t i = argc; i < want; i++)
		argv[i] = undef;
	return undef;
}

static void *unwrap(napi_env env, napi_value v, uint32_t magic, const char *what)
{
	napi_valuetype t;
	void *data = NULL;
	if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
	    napi_get_value_external(env, v, &data) != napi_ok || data == NULL ||
	    *(uint32_t *)data != magic) {
		char msg[80];
		snprintf(msg, sizeof msg, "not a libusdt %s handle", what);
		napi_throw_type_error(env, NULL, msg);
		return NULL;
	}
	return data;
}

/* A JS string (or undefined/null when allow_null) as a malloc'd UTF-8 C
 * string. *out = NULL for undefined/null. Returns 0, or -1 with a pending
 * exception. */
static int get_string(napi_env env, napi_value v, const char *what, int allow_null, char **out)
{
	napi_valuetype t;
	*out = NULL;
	if (napi_typeof(env, v, &t) != napi_ok)
		return -1;
	if (allow_null && (t == napi_undefined || t == napi_null))
		return 0;
	if (t != napi_string) {
		char msg[80];
		snprintf(msg, sizeof msg, "%s must be a string", what);
		napi_throw_type_error(env, NULL, msg);
		return -1;
	}
	size_t len;
	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
		return -1;
	char *s = malloc(len + 1);
	if (s == NULL) {
		napi_throw_error(env, NULL, "out of memory");
		return -1;
	}
	if (napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* ------------------------------------------------------------ providers */

static void prov_finalize(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	struct prov *pv = data;
	usdt_provider_free(pv->p);  /* NULL after free() */
	pv->magic = 0;
	free(pv);
}

static napi_value create_provider(napi_env env, napi_callback_info info)
{
	napi_value argv[2], result;
	if (get_args(env, info, 2, argv) == NULL)
		return NULL;
	char *name = NULL, *module = NULL;
	if (get_string(env, argv[0], "provider name", 0, &name) != 0)
		return NULL;
	if (get_string(env, argv[1], "module name", 1, &module) != 0) {
		free(name);
		return NULL;
	}
	usdt_provider_t *p = usdt_create_provider(name, module);
	free(name);
	free(module);
	if (p == NULL)
		return throw_usdt(env, usdt_last_errstr());
	struct prov *pv = malloc(sizeof *pv);
	if (pv == NULL) {
		usdt_provider_free(p);
		napi_throw_error(env, NULL, "out of memory");
		return NULL;
	}
	pv->magic = PROV_MAGIC;
	pv->p = p;
	if (napi_create_external(env, pv, prov_finalize, NULL, &result) != napi_ok) {
		usdt_provider_free(p);
		free(pv);
		napi_throw_error(env, NULL, "napi_create_external failed");
		return NULL;
	}
	return result;
}

static struct prov *live_provider(napi_env env, napi_value v)
{
	struct prov *pv = unwrap(env, v, PROV_MAGIC, "provider");
	if (pv != NULL && pv->p == NULL) {
		napi_throw_error(env, NULL, "provider has been freed");
		return NULL;
	}
	return pv;
}

static napi_value provider_call(napi_env env, napi_callback_info info, int (*fn)(usdt_provider_t *))
{
	napi_value argv[1];
	if (get_args(env, info, 1, argv) == NULL)
		return NULL;
	struct prov *pv = live_provider(env, argv[0]);
	if (pv == NULL)
		return NULL;
	if (fn(pv->p) != 0)
		return throw_usdt(env, usdt_errstr(pv->p));
	return get_args(env, info, 0, NULL);    /* undefined */
}

static napi_value enable(napi_env env, napi_callback_info info)
{
	return provider_call(env, info, usdt_provider_enable);
}

static napi_value disable(napi_env env, napi_callback_info info)
{
	return provider_call(env, info, usdt_provider_disable);
}

static napi_value free_provider(napi_env env, napi_callback_info info)
{
	napi_value argv[1], undef;
	if ((undef = get_args(env, info, 1, argv)) == NULL)
		return NULL;
	struct prov *pv = unwrap(env, argv[0], PROV_MAGIC, "provider");
	if (pv == NULL)
		return NULL;
	usdt_provider_free(pv->p);
	pv->p = NULL;
	return undef;
}

static napi_value is_provider_enabled(napi_env env, napi_callback_info info)
{
	napi_value argv[1], result;
	if (get_args(env, info, 1, argv) == NULL)
		return NULL;
	struct prov *pv = unwrap(env, argv[0], PROV_MAGIC, "provider");
	if (pv == NULL)
		return NULL;
	NAPI_OK(env, napi_get_boolean(env, pv->p != NULL && pv->p->enabled, &result));
	return result;
}

/* ---------------------------------------------------------------- probes */

static void probe_finalize(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	struct probe *pr = data;
	usdt_probe_release(pr->pd);
	pr->magic = 0;
	free(pr);
}

/* addProbe(provider, func, name, kinds[]) */
static napi_value add_probe(napi_env env, napi_callback_info info)
{
	napi_value argv[4], result;
	if (get_args(env, info, 4, argv) == NULL)
		return NULL;
	struct prov *pv = live_provider(env, argv[0]);
	if (pv == NULL)
		return NULL;
	bool is_array = false;
	uint32_t n = 0;
	NAPI_OK(env, napi_is_array(env, argv[3], &is_array));
	if (!is_array) {
		napi_throw_type_error(env, NULL, "argument kinds must be an array");
		return NULL;
	}
	NAPI_OK(env, napi_get_array_length(env, argv[3], &n));
	if (n > USDT_ARG_MAX) {
		char msg[64];
		snprintf(msg, sizeof msg, "a probe takes at most %d arguments", USDT_ARG_MAX);
		napi_throw_range_error(env, "USDT_ERROR_ARGC", msg);
		return NULL;
	}
	struct probe *pr = calloc(1, sizeof *pr);
	if (pr == NULL) {
		napi_throw_error(env, NULL, "out of memory");
		return NULL;
	}
	const char *types[USDT_ARG_MAX];
	char structtype[USDT_ARG_MAX][USDT_STRUCT_NAME_MAX + 16];
	for (uint32_t i = 0; i < n; i++) {
		napi_value k;
		char *ks = NULL;
		if (napi_get_element(env, argv[3], i, &k) != napi_ok || get_string(env, k, "argument kind", 0, &ks) != 0) {
			free(pr);
			return NULL;
		}
		if (strcmp(ks, "int") == 0) {
			pr->kind[i] = K_INT;
			types[i] = "int64_t";
		} else if (strcmp(ks, "string") == 0) {
			pr->kind[i] = K_STR;
			types[i] = "char *";
		} else if (strcmp(ks, "json") == 0) {
			pr->kind[i] = K_STR;
			types[i] = "json";
		} else if (strncmp(ks, "struct:", 7) == 0 && strlen(ks + 7) <= USDT_STRUCT_NAME_MAX) {
			pr->kind[i] = K_PTR;
			snprintf(structtype[i], sizeof structtype[i], "struct %s *", ks + 7);
			types[i] = structtype[i];
		} else {
			free(ks);
			free(pr);
			napi_throw_type_error(env, NULL, "argument kind must be \"int\", \"string\", \"json\" or \"struct:NAME\"");
			return NULL;
		}
		free(ks);
	}
	pr->argc = n;
	char *func = NULL, *name = NULL;
	if (get_string(env, argv[1], "function name", 1, &func) != 0 ||
	    get_string(env, argv[2], "probe name", 0, &name) != 0) {
		free(func);
		free(pr);
		return NULL;
	}
	pr->pd = usdt_create_probe(func, name, n, types);
	free(func);
	free(name);
	if (pr->pd == NULL) {
		free(pr);
		return throw_usdt(env, usdt_last_errstr());
	}
	if (usdt_provider_add_probe(pv->p, pr->pd) != 0) {
		usdt_probe_release(pr->pd);
		free(pr);
		return throw_usdt(env, usdt_errstr(pv->p));
	}
	pr->magic = PROBE_MAGIC;
	if (napi_create_external(env, pr, probe_finalize, NULL, &result) != napi_ok) {
		/* the provider keeps its reference; drop ours */
		usdt_probe_release(pr->pd);
		free(pr);
		napi_throw_error(env, NULL, "napi_create_external failed");
		return NULL;
	}
	return result;
}

static napi_value remove_probe(napi_env env, napi_callback_info info)
{
	napi_value argv[2], undef;
	if ((undef = get_args(env, info, 2, argv)) == NULL)
		return NULL;
	struct prov *pv = live_provider(env, argv[0]);
	if (pv == NULL)
		return NULL;
	struct probe *pr = unwrap(env, argv[1], PROBE_MAGIC, "probe");
	if (pr == NULL)
		return NULL;
	if (usdt_provider_remove_probe(pv->p, pr->pd) != 0)
		return throw_usdt(env, usdt_errstr(pv->p));
	return undef;
}

static napi_value is_enabled(napi_env env, napi_callback_info info)
{
	napi_value argv[1], result;
	size_t argc = 1;
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	struct probe *pr = argc == 1 ? unwrap(env, argv[0], PROBE_MAGIC, "probe") : NULL;
	if (pr == NULL) {
		if (argc != 1)
			napi_throw_type_error(env, NULL, "not a libusdt probe handle");
		return NULL;
	}
	NAPI_OK(env, napi_get_boolean(env, usdt_is_enabled(pr->pd->probe) != 0, &result));
	return result;
}

/* An integer argument: numbers are truncated toward zero (NaN and
 * +-Infinity read as 0, beyond +-2^63 saturate), BigInts are taken modulo
 * 2^64, undefined is 0, anything else goes through ToNumber (which may
 * throw, e.g. for a Symbol). */
static int to_int_word(napi_env env, napi_value v, void **word)
{
	napi_valuetype t;
	if (napi_typeof(env, v, &t) != napi_ok)
		return -1;
	if (t == napi_undefined) {
		*word = NULL;
		return 0;
	}
	if (t == napi_bigint) {
		int64_t x;
		bool lossless;
		if (napi_get_value_bigint_int64(env, v, &x, &lossless) != napi_ok)
			return -1;
		*word = (void *)(intptr_t)x;
		return 0;
	}
	if (t != napi_number && napi_coerce_to_number(env, v, &v) != napi_ok)
		return -1;
	int64_t x;
	if (napi_get_value_int64(env, v, &x) != napi_ok)
		return -1;
	*word = (void *)(intptr_t)x;
	return 0;
}

/* fire(probe, values[]) */
static napi_value fire(napi_env env, napi_callback_info info)
{
	napi_value argv[2], undef;
	if ((undef = get_args(env, info, 2, argv)) == NULL)
		return NULL;
	struct probe *pr = unwrap(env, argv[0], PROBE_MAGIC, "probe");
	if (pr == NULL)
		return NULL;
	usdt_probe_t *probe = pr->pd->probe;
	if (!usdt_is_enabled(probe))
		return undef;
	bool is_array = false;
	NAPI_OK(env, napi_is_array(env, argv[1], &is_array));
	if (!is_array) {
		napi_throw_type_error(env, NULL, "probe values must be an array");
		return NULL;
	}
	uint32_t len;
	NAPI_OK(env, napi_get_array_length(env, argv[1], &len));

	void *words[USDT_ARG_MAX] = { 0 };
	char *strs[USDT_ARG_MAX] = { 0 };
	napi_value ret = undef;
	for (size_t i = 0; i < pr->argc; i++) {
		napi_value v;
		if (i < len) {
			if (napi_get_element(env, argv[1], (uint32_t)i, &v) != napi_ok)
				goto fail;
		} else {
			v = undef;          /* missing values: 0 or "undefined" */
		}
		if (pr->kind[i] == K_INT) {
			if (to_int_word(env, v, &words[i]) != 0)
				goto fail;
		} else if (pr->kind[i] == K_PTR) {
			/* a structure: a Buffer (its bytes, kept alive by the
			 * caller's array during the call), an address, or null */
			bool isbuf = false;
			napi_valuetype t;
			if (napi_is_buffer(env, v, &isbuf) != napi_ok || napi_typeof(env, v, &t) != napi_ok)
				goto fail;
			if (isbuf) {
				size_t blen;
				if (napi_get_buffer_info(env, v, &words[i], &blen) != napi_ok)
					goto fail;
			} else if (t != napi_null && to_int_word(env, v, &words[i]) != 0) {
				goto fail;
			}
		} else {
			napi_valuetype t;
			if (napi_typeof(env, v, &t) != napi_ok)
				goto fail;
			if (t != napi_string && napi_coerce_to_string(env, v, &v) != napi_ok)
				goto fail;
			if (get_string(env, v, "string argument", 0, &strs[i]) != 0)
				goto fail;
			words[i] = strs[i];
		}
	}
	usdt_fire_probe(probe, pr->argc, words);
	goto out;
fail:
	ret = NULL;     /* an exception is pending */
	{
		bool pending = false;
		napi_is_exception_pending(env, &pending);
		if (!pending)
			napi_throw_error(env, NULL, "could not convert probe arguments");
	}
out:
	for (size_t i = 0; i < pr->argc; i++)
		free(strs[i]);
	return ret;
}

/* registerStruct(name, size, [[field, type, offset], ...]) */
static napi_value register_struct(napi_env env, napi_callback_info info)
{
	napi_value argv[3], undef;
	if ((undef = get_args(env, info, 3, argv)) == NULL)
		return NULL;
	char *name = NULL;
	int64_t size = 0;
	uint32_t n = 0;
	bool is_array = false;
	if (get_string(env, argv[0], "structure name", 0, &name) != 0)
		return NULL;
	if (napi_get_value_int64(env, argv[1], &size) != napi_ok || napi_is_array(env, argv[2], &is_array) != napi_ok ||
	    !is_array || napi_get_array_length(env, argv[2], &n) != napi_ok || n > USDT_STRUCT_FIELDS_MAX) {
		free(name);
		napi_throw_type_error(env, NULL, "registerStruct(name, size, fields): size a number, fields an array "
		                                 "of at most USDT_STRUCT_FIELDS_MAX [name, type, offset]");
		return NULL;
	}
	usdt_field_t fields[USDT_STRUCT_FIELDS_MAX];
	char *strs[2 * USDT_STRUCT_FIELDS_MAX] = { 0 };
	napi_value ret = undef;
	for (uint32_t i = 0; i < n; i++) {
		napi_value f, fn, ft, fo;
		int64_t off;
		if (napi_get_element(env, argv[2], i, &f) != napi_ok || napi_get_element(env, f, 0, &fn) != napi_ok ||
		    napi_get_element(env, f, 1, &ft) != napi_ok || napi_get_element(env, f, 2, &fo) != napi_ok ||
		    get_string(env, fn, "field name", 0, &strs[2 * i]) != 0 ||
		    get_string(env, ft, "field type", 0, &strs[2 * i + 1]) != 0 ||
		    napi_get_value_int64(env, fo, &off) != napi_ok || off < 0) {
			bool pending = false;
			napi_is_exception_pending(env, &pending);
			if (!pending)
				napi_throw_type_error(env, NULL, "a field is [name, type, offset]");
			ret = NULL;
			goto out;
		}
		fields[i] = (usdt_field_t){ strs[2 * i], strs[2 * i + 1], (size_t)off };
	}
	if (usdt_register_struct(name, size < 0 ? 0 : (size_t)size, n, fields) != 0)
		ret = throw_usdt(env, usdt_last_errstr());
out:
	for (uint32_t i = 0; i < 2 * n; i++)
		free(strs[i]);
	free(name);
	return ret;
}

/* addressOf(buffer): where its bytes are, as a BigInt */
static napi_value address_of(napi_env env, napi_callback_info info)
{
	napi_value argv[1], result;
	bool isbuf = false;
	void *data = NULL;
	size_t len;
	if (get_args(env, info, 1, argv) == NULL)
		return NULL;
	if (napi_is_buffer(env, argv[0], &isbuf) != napi_ok || !isbuf ||
	    napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok) {
		napi_throw_type_error(env, NULL, "addressOf takes a Buffer");
		return NULL;
	}
	NAPI_OK(env, napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)data, &result));
	return result;
}

/*
 * The untraced fast path of the dtrace-provider API: probe.fire(cb) (in
 * lib/index.js) first calls this per-probe function, made by
 * makeCheck(probe) with the probe as its data: it reads no argument,
 * allocates nothing and converts nothing, and returns undefined while no
 * tracer is attached (then the callback never runs), else true. The probe
 * handle (kept by the same JS object as the function) keeps pd alive.
 */
static const volatile uint16_t *sys_sem;

static napi_value probe_check(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	void *data;
	if (napi_get_cb_info(env, info, &argc, NULL, NULL, &data) != napi_ok)
		return NULL;
	const struct probe *pr = data;
	const usdt_probe_t *p = pr->pd->probe;
	/* Inline check: a provider is only ever changed from the JS thread of
	 * the env that owns it, never concurrently with this call (usdt.h's
	 * rule for usdt_is_enabled_inline()); libusdt:fire's semaphore is
	 * the one thing it leaves out, and then usdt_is_enabled() decides. */
	if (!usdt_is_enabled_inline(p) && !*sys_sem)
		return NULL;            /* undefined: untraced */
	if (!usdt_is_enabled((usdt_probe_t *)p))
		return NULL;
	napi_value t;
	NAPI_OK(env, napi_get_boolean(env, true, &t));
	return t;
}

/* makeCheck(probe) -> function */
static napi_value make_check(napi_env env, napi_callback_info info)
{
	napi_value argv[1], result;
	if (get_args(env, info, 1, argv) == NULL)
		return NULL;
	struct probe *pr = unwrap(env, argv[0], PROBE_MAGIC, "probe");
	if (pr == NULL)
		return NULL;
	NAPI_OK(env, napi_create_function(env, "check", NAPI_AUTO_LENGTH, probe_check, pr, &result));
	return result;
}

/* noop(...): an empty exported function, the floor of any call into an
 * addon (bench/bindings/node_bench.js measures probe.fire against it). */
static napi_value noop(napi_env env, napi_callback_info info)
{
	(void)env;
	(void)info;
	return NULL;
}

static napi_value version(napi_env env, napi_callback_info info)
{
	(void)info;
	napi_value v;
	NAPI_OK(env, napi_create_string_utf8(env, usdt_version(), NAPI_AUTO_LENGTH, &v));
	return v;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */)
{
	static const struct {
		const char *name;
		napi_callback fn;
	} fns[] = {
		{ "createProvider", create_provider }, { "addProbe", add_probe },
		{ "removeProbe", remove_probe },       { "enable", enable },
		{ "disable", disable },                { "free", free_provider },
		{ "providerEnabled", is_provider_enabled },
		{ "isEnabled", is_enabled },           { "fire", fire },
		{ "version", version },                { "makeCheck", make_check },
		{ "registerStruct", register_struct }, { "addressOf", address_of },
		{ "noop", noop },
	};
	sys_sem = usdt_system_semaphore();
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
		napi_value f;
		NAPI_OK(env, napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f));
		NAPI_OK(env, napi_set_named_property(env, exports, fns[i].name, f));
	}
	return exports;
}
