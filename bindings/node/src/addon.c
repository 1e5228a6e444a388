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
 *   makeCheck(probe)                             -> function () -> true |
 *        undefined: the probe's own native check (no argument read)
 *   fastPath()                                   -> { dirty, sys, idle } |
 *        undefined; makeCell(probe) -> { s, b }: the views of the untraced
 *        fast path (see "struct inst" below); fastStats() for the tests
 *   noop()                                       -> undefined (bench floor)
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
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usdt.h"
#include "usdt_vm.h"

#define PROV_MAGIC 0x55505256u  /* "UPRV" */
#define PROBE_MAGIC 0x55505242u /* "UPRB" */

enum kind { K_INT = 0, K_STR = 1, K_PTR = 2 };

/*
 * Every call that changes libusdt's providers or probe definitions is made
 * under one process-wide lock (the addon is loaded once per process and
 * shared by the main thread and every worker thread). Each provider
 * belongs to one env, so usdt.h's rule (one provider is never managed
 * from two threads at once) already holds; the lock is for providers of
 * the same name managed from different threads, which libusdt builds
 * into one object: libusdt 1.x links a probe into (or out of) its
 * provider's list before taking its own lock, while another thread's
 * rebuild of the shared object walks that list, sized from a count read
 * a moment before (heap overflow: ASan, build_generation(); seen as
 * SIGSEGV/SIGABRT in test/fastpath.test.js's worker stress, with or
 * without the fast path). Held only around the libusdt call itself: no
 * Node-API call under it, and notify (inst_notify) never takes it.
 */
static pthread_mutex_t manage_lock = PTHREAD_MUTEX_INITIALIZER;

static int locked_enable(usdt_provider_t *p)
{
	pthread_mutex_lock(&manage_lock);
	int rc = usdt_provider_enable(p);
	pthread_mutex_unlock(&manage_lock);
	return rc;
}

static int locked_disable(usdt_provider_t *p)
{
	pthread_mutex_lock(&manage_lock);
	int rc = usdt_provider_disable(p);
	pthread_mutex_unlock(&manage_lock);
	return rc;
}

static void locked_free(usdt_provider_t *p)
{
	pthread_mutex_lock(&manage_lock);
	usdt_provider_free(p);
	pthread_mutex_unlock(&manage_lock);
}

static int locked_add(usdt_provider_t *p, usdt_probedef_t *pd)
{
	pthread_mutex_lock(&manage_lock);
	int rc = usdt_provider_add_probe(p, pd);
	pthread_mutex_unlock(&manage_lock);
	return rc;
}

static int locked_remove(usdt_provider_t *p, usdt_probedef_t *pd)
{
	pthread_mutex_lock(&manage_lock);
	int rc = usdt_provider_remove_probe(p, pd);
	pthread_mutex_unlock(&manage_lock);
	return rc;
}

static void locked_release(usdt_probedef_t *pd)
{
	pthread_mutex_lock(&manage_lock);
	usdt_probe_release(pd);
	pthread_mutex_unlock(&manage_lock);
}

struct prov {
	uint32_t magic;
	usdt_provider_t *p;
};

struct inst;

struct probe {
	uint32_t magic;
	usdt_probedef_t *pd;    /* our own reference */
	size_t argc;
	uint8_t kind[USDT_ARG_MAX];
	/* the fast path (makeCell): the JS cell { s, b } whose views this
	 * probe's refreshes replace, what they are over, and the list of the
	 * env's probes that have a cell */
	struct inst *in;
	napi_ref cell;
	const void *cur_sem, *cur_site;
	struct probe *next;
	int dead;               /* finalized during a refresh: unlinked after it */
};

/*
 * Per env (the main thread, each worker thread): the untraced fast path's
 * state. probe.fire(cb) (lib/index.js) decides in JavaScript, with no call
 * into the addon, that a probe is untraced:
 *
 *     (dirty[0] | sys[0] | cell.s[0] | (cell.b[0] ^ idle)) === 0
 *
 * cell.s and cell.b are Uint16Array/Uint8Array views over the probe's live
 * semaphore and the first byte of its site (usdt_vm_probe_info()), sys over
 * libusdt:fire's semaphore (usdt_system_semaphore(), never moves), dirty
 * over `dirty` below. Anything else ends in the native check (probe_check),
 * which refreshes the views if dirty and answers with usdt_is_enabled().
 *
 * Why the views never read unmapped memory: the env is a usdt_vm.h client,
 * registered before it views anything. libusdt keeps every object it
 * replaces (rebuild, disable, free, twin, from any thread) mapped until
 * every client has acknowledged the generation that replaced it. Our
 * notify only sets `dirty` (any thread; no Node-API call); the refresh, on
 * this env's JS thread only, reads the generation G, re-points every
 * cell's views at the current addresses (or at the env's own constants
 * below when a probe is not live), and only then acknowledges G. A view is
 * therefore replaced before the object under it can go, and nothing but
 * the cells (held by the fire closures, unreachable to other code) holds
 * one. A change made during a refresh (a finalizer run by a collection in
 * it) only advances the generation past G and sets dirty again: the next
 * check refreshes again. Nothing is cached from one refresh to the next
 * except addresses read under the client's hold (the Python binding's
 * crash, commit d9a28bf, was a view kept across a nested change).
 */
struct inst {
	uint32_t dirty;         /* JS: Uint32Array; set by notify, any thread */
	uint16_t zero16;        /* semaphore of a probe that is not live */
	uint16_t one16;         /* semaphore that sends JS to the addon */
	uint8_t idle;           /* site byte of an untraced (or not live) site */
	uint8_t pad_[3];
	usdt_vm_client_t *client;
	struct probe *probes;
	int refreshing;
	int fast;               /* 1 once fastPath() set it up (fast_init) */
	int tried;              /* fast_init ran (it runs once per env) */
	int hooked;             /* inst_cleanup registered and not run yet */
	unsigned refs;          /* 1 for the env, 1 for the cleanup hook,
	                           1 per probe in the list */
	napi_ref v_zero, v_one, v_idle;   /* views over zero16, one16, idle */
	napi_ref v_fast;        /* fastPath()'s object, returned again */
	uint64_t checks, refreshes, acked;
	napi_threadsafe_function tsfn;  /* refresh soon after another thread's change */
};

static void settle(napi_env env);

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
	locked_free(pv->p);  /* NULL after free() */
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
		locked_free(p);
		napi_throw_error(env, NULL, "out of memory");
		return NULL;
	}
	pv->magic = PROV_MAGIC;
	pv->p = p;
	if (napi_create_external(env, pv, prov_finalize, NULL, &result) != napi_ok) {
		locked_free(p);
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
	int rc = fn(pv->p);
	settle(env);
	if (rc != 0)
		return throw_usdt(env, usdt_errstr(pv->p));
	return get_args(env, info, 0, NULL);    /* undefined */
}

static napi_value enable(napi_env env, napi_callback_info info)
{
	return provider_call(env, info, locked_enable);
}

static napi_value disable(napi_env env, napi_callback_info info)
{
	return provider_call(env, info, locked_disable);
}

static napi_value free_provider(napi_env env, napi_callback_info info)
{
	napi_value argv[1], undef;
	if ((undef = get_args(env, info, 1, argv)) == NULL)
		return NULL;
	struct prov *pv = unwrap(env, argv[0], PROV_MAGIC, "provider");
	if (pv == NULL)
		return NULL;
	locked_free(pv->p);
	pv->p = NULL;
	settle(env);
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

static void inst_unref(struct inst *in);
static void unlink_probe(struct inst *in, struct probe *pr);

static void probe_finalize(napi_env env, void *data, void *hint)
{
	(void)hint;
	struct probe *pr = data;
	pr->magic = 0;
	if (pr->cell != NULL) {
		napi_delete_reference(env, pr->cell);
		pr->cell = NULL;
	}
	if (pr->in != NULL && pr->in->refreshing) {
		pr->dead = 1;           /* the refresh walking the list unlinks it */
		return;
	}
	if (pr->in != NULL)
		unlink_probe(pr->in, pr);
	locked_release(pr->pd);
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
	int added = locked_add(pv->p, pr->pd);
	settle(env);
	if (added != 0) {
		locked_release(pr->pd);
		free(pr);
		return throw_usdt(env, usdt_errstr(pv->p));
	}
	pr->magic = PROBE_MAGIC;
	if (napi_create_external(env, pr, probe_finalize, NULL, &result) != napi_ok) {
		/* the provider keeps its reference; drop ours */
		locked_release(pr->pd);
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
	int removed = locked_remove(pv->p, pr->pd);
	settle(env);
	if (removed != 0)
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

/* ------------------------------------------------------- the fast path */

static void unlink_probe(struct inst *in, struct probe *pr)
{
	for (struct probe **pp = &in->probes; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == pr) {
			*pp = pr->next;
			pr->in = NULL;
			inst_unref(in);
			return;
		}
	}
}

static void inst_unref(struct inst *in)
{
	if (--in->refs == 0)
		free(in);
}

/* usdt_vm.h notify: any thread, inside the libusdt call that made the
 * change. Only marks the views stale; the refresh runs on the JS thread. */
static void inst_notify(usdt_vm_client_t *client, uint64_t generation, void *arg)
{
	(void)client;
	(void)generation;
	struct inst *in = arg;
	if (__atomic_exchange_n(&in->dirty, 1, __ATOMIC_SEQ_CST) == 0 && in->tsfn != NULL)
		napi_call_threadsafe_function(in->tsfn, NULL, napi_tsfn_nonblocking);
}

/* Env cleanup hook, registered after the tsfn was created so that it runs
 * before the tsfn's own (hooks run in reverse order): no notify, so no
 * call of the tsfn, from now on. */
static void inst_cleanup(void *arg)
{
	struct inst *in = arg;
	usdt_vm_client_free(in->client);        /* waits for a running notify */
	in->client = NULL;
	in->tsfn = NULL;
	in->hooked = 0;
	inst_unref(in);                         /* the hook's reference */
}

static void inst_finalize(napi_env env, void *data, void *hint)
{
	(void)hint;
	struct inst *in = data;
	usdt_vm_client_free(in->client);        /* waits for a running notify */
	in->client = NULL;
	if (in->hooked) {       /* finalized before the env's cleanup hooks ran */
		napi_remove_env_cleanup_hook(env, inst_cleanup, in);
		in->hooked = 0;
		inst_unref(in);
	}
	if (in->v_zero != NULL)
		napi_delete_reference(env, in->v_zero);
	if (in->v_one != NULL)
		napi_delete_reference(env, in->v_one);
	if (in->v_idle != NULL)
		napi_delete_reference(env, in->v_idle);
	if (in->v_fast != NULL)
		napi_delete_reference(env, in->v_fast);
	/* probes still in the list are finalized later (or never, at exit):
	 * they keep `in` allocated, and find no client */
	inst_unref(in);
}

/* A typed array of one element over `addr` (not owned: no finalizer). */
static napi_status view(napi_env env, const void *addr, size_t size, napi_value *out)
{
	napi_value ab;
	napi_status st = napi_create_external_arraybuffer(env, (void *)addr, size, NULL, NULL, &ab);
	if (st != napi_ok)
		return st;
	return napi_create_typedarray(env, size == 1 ? napi_uint8_array : size == 2 ? napi_uint16_array : napi_uint32_array,
	                              1, ab, 0, out);
}

/* Point pr's cell at the probe's current semaphore and site, or at the
 * env's constants: 0/idle when not live (untraced: usdt_is_enabled() is 0
 * there), 1 when only the addon can tell (DTrace stubs, VM-located
 * arguments, no external buffers). 0, or -1 with an exception pending. */
static int set_cell(napi_env env, struct inst *in, struct probe *pr)
{
	usdt_vm_probe_t info;
	int live = in->client != NULL ? usdt_vm_probe_info(in->client, pr->pd, &info) : -1;
	const void *sem = &in->one16, *site = &in->idle;
	if (live == 0) {
		sem = &in->zero16;
	} else if (live == 1 && in->fast && !info.dtrace && info.call == USDT_VM_CALL_C &&
	           info.site_idle_byte == in->idle && info.semaphore != NULL && info.site != NULL) {
		sem = (const void *)info.semaphore;
		site = info.site;
	}
	if (sem == pr->cur_sem && site == pr->cur_site)
		return 0;
	napi_value cell, vs, vb;
	if (napi_get_reference_value(env, pr->cell, &cell) != napi_ok || cell == NULL)
		return -1;
	if (sem == &in->zero16 || sem == &in->one16) {
		if (napi_get_reference_value(env, sem == &in->zero16 ? in->v_zero : in->v_one, &vs) != napi_ok)
			return -1;
	} else if (view(env, sem, 2, &vs) != napi_ok) {
		return -1;
	}
	if (site == &in->idle) {
		if (napi_get_reference_value(env, in->v_idle, &vb) != napi_ok)
			return -1;
	} else if (view(env, site, 1, &vb) != napi_ok) {
		return -1;
	}
	if (napi_set_named_property(env, cell, "s", vs) != napi_ok ||
	    napi_set_named_property(env, cell, "b", vb) != napi_ok)
		return -1;
	pr->cur_sem = sem;
	pr->cur_site = site;
	return 0;
}

/* Re-point every cell of the env, then acknowledge the generation read
 * before looking at any address. */
static int refresh(napi_env env, struct inst *in)
{
	int rc = 0;
	in->refreshes++;
	__atomic_store_n(&in->dirty, 0, __ATOMIC_SEQ_CST);
	uint64_t g = usdt_vm_generation();
	in->refreshing++;
	for (struct probe *pr = in->probes; pr != NULL && rc == 0; pr = pr->next)
		if (!pr->dead && pr->cell != NULL)
			rc = set_cell(env, in, pr);
	if (--in->refreshing == 0) {
		for (struct probe **pp = &in->probes; *pp != NULL;) {
			struct probe *pr = *pp;
			if (pr->dead) {
				*pp = pr->next;
				locked_release(pr->pd);
				free(pr);
				inst_unref(in);
			} else {
				pp = &pr->next;
			}
		}
	}
	if (rc != 0) {
		/* a cell may still view an old object: keep it held, retry */
		__atomic_store_n(&in->dirty, 1, __ATOMIC_SEQ_CST);
		return -1;
	}
	if (in->client != NULL && usdt_vm_client_ack(in->client, g) == 0 && g > in->acked)
		in->acked = g;
	return 0;
}

/* After a management call of this env (on its JS thread, outside any JS
 * check): re-point the views and acknowledge at once, so that replaced
 * objects do not stay mapped until the next fire. A failure leaves dirty
 * set (the next check retries) and no exception. */
static void settle_inst(napi_env env, struct inst *in)
{
	if (in == NULL || !in->fast || !__atomic_load_n(&in->dirty, __ATOMIC_SEQ_CST))
		return;
	if (refresh(env, in) != 0) {
		napi_value e;
		napi_get_and_clear_last_exception(env, &e);
	}
}

static void settle(napi_env env)
{
	struct inst *in = NULL;
	if (napi_get_instance_data(env, (void **)&in) == napi_ok)
		settle_inst(env, in);
}

/* The tsfn's call on the JS thread (from the event loop): a change made
 * by another thread, or by a finalizer, is acknowledged without waiting
 * for a fire. Its own inst (context), also if the addon was loaded again
 * in this env and the instance data is now another one. env is NULL when
 * the tsfn is being torn down (in is still allocated then). */
static void inst_tsfn_call(napi_env env, napi_value js_cb, void *context, void *data)
{
	(void)js_cb;
	(void)data;
	if (env != NULL)
		settle_inst(env, context);
}

/*
 * The native half of probe.fire(cb)'s check, made by makeCheck(probe)
 * with the probe as its data: called when the JS check above could not
 * say "untraced" (views stale, or a tracer seems attached). Refreshes the
 * views if they are stale, then returns true if the probe is traced, else
 * undefined (then the callback never runs). Reads no argument, converts
 * nothing. The probe handle (kept by the same JS object as the function)
 * keeps pr alive.
 */
static napi_value probe_check(napi_env env, napi_callback_info info)
{
	void *data;
	if (napi_get_cb_info(env, info, NULL, NULL, NULL, &data) != napi_ok)
		return NULL;
	struct probe *pr = data;
	struct inst *in = pr->in;
	if (in != NULL) {
		in->checks++;
		if (__atomic_load_n(&in->dirty, __ATOMIC_SEQ_CST) && refresh(env, in) != 0)
			return NULL;    /* exception pending */
	}
	if (!usdt_is_enabled(pr->pd->probe))
		return NULL;            /* undefined: untraced */
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

/* makeCell(probe) -> { s, b }: the probe's views, kept current by the
 * refreshes; undefined when the env has no fast path. Once per probe. */
static napi_value make_cell(napi_env env, napi_callback_info info)
{
	napi_value argv[1], undef, cell;
	if ((undef = get_args(env, info, 1, argv)) == NULL)
		return NULL;
	struct probe *pr = unwrap(env, argv[0], PROBE_MAGIC, "probe");
	if (pr == NULL)
		return NULL;
	struct inst *in = NULL;
	NAPI_OK(env, napi_get_instance_data(env, (void **)&in));
	if (in == NULL || !in->fast || pr->cell != NULL)
		return undef;
	napi_value vs, vb;
	NAPI_OK(env, napi_create_object(env, &cell));
	NAPI_OK(env, napi_get_reference_value(env, in->v_one, &vs));    /* "ask" until */
	NAPI_OK(env, napi_get_reference_value(env, in->v_idle, &vb));   /* set_cell */
	/* own data properties, defined (no setter of Object.prototype runs,
	 * now or at set_cell's assignments) */
	const napi_property_descriptor props[] = {
		{ "s", NULL, NULL, NULL, NULL, vs, napi_writable, NULL },
		{ "b", NULL, NULL, NULL, NULL, vb, napi_writable, NULL },
	};
	NAPI_OK(env, napi_define_properties(env, cell, 2, props));
	NAPI_OK(env, napi_create_reference(env, cell, 1, &pr->cell));
	pr->cur_sem = &in->one16;
	pr->cur_site = &in->idle;
	pr->in = in;
	in->refs++;
	pr->next = in->probes;
	in->probes = pr;
	/* its current addresses, under the client's hold (not acknowledging
	 * anything: the other cells are as current as the last refresh) */
	if (set_cell(env, in, pr) != 0)
		return NULL;    /* exception pending; the cell asks the addon */
	return cell;
}

static int fast_init(napi_env env, struct inst *in);

/* fastPath() -> { dirty: Uint32Array, sys: Uint16Array, idle } or
 * undefined (no fast path: probe.fire asks the addon every time). The
 * first call sets the env's fast path up (lib/index.js calls it once, and
 * only where V8 allows several external ArrayBuffers over one address);
 * later calls return the same object (no second view of anything). */
static napi_value fast_path(napi_env env, napi_callback_info info)
{
	(void)info;
	struct inst *in = NULL;
	napi_value r, v;
	NAPI_OK(env, napi_get_instance_data(env, (void **)&in));
	if (in != NULL && in->v_fast != NULL) {
		NAPI_OK(env, napi_get_reference_value(env, in->v_fast, &r));
		if (r != NULL)
			return r;
	}
	if (in == NULL || fast_init(env, in) != 0) {
		NAPI_OK(env, napi_get_undefined(env, &r));
		return r;
	}
	NAPI_OK(env, napi_create_object(env, &r));
	NAPI_OK(env, view(env, &in->dirty, 4, &v));
	NAPI_OK(env, napi_set_named_property(env, r, "dirty", v));
	NAPI_OK(env, view(env, (const void *)usdt_system_semaphore(), 2, &v));
	NAPI_OK(env, napi_set_named_property(env, r, "sys", v));
	NAPI_OK(env, napi_create_uint32(env, in->idle, &v));
	NAPI_OK(env, napi_set_named_property(env, r, "idle", v));
	NAPI_OK(env, napi_create_reference(env, r, 1, &in->v_fast));
	return r;
}

/* fastStats() -> { checks, refreshes, acked, generation } (tests) */
static napi_value fast_stats(napi_env env, napi_callback_info info)
{
	(void)info;
	struct inst *in = NULL;
	napi_value r, v;
	NAPI_OK(env, napi_get_instance_data(env, (void **)&in));
	NAPI_OK(env, napi_create_object(env, &r));
	const struct { const char *k; uint64_t v; } f[] = {
		{ "checks", in ? in->checks : 0 }, { "refreshes", in ? in->refreshes : 0 },
		{ "acked", in ? in->acked : 0 }, { "generation", usdt_vm_generation() },
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		NAPI_OK(env, napi_create_double(env, (double)f[i].v, &v));
		NAPI_OK(env, napi_set_named_property(env, r, f[i].k, v));
	}
	return r;
}

/* The env's state, at module load: nothing but memory (no view, no
 * client: an env that never asks for the fast path costs libusdt nothing). */
static void inst_init(napi_env env)
{
	struct inst *in = calloc(1, sizeof *in);
	if (in == NULL)
		return;
	in->refs = 1;
	in->one16 = 1;
	if (napi_set_instance_data(env, in, inst_finalize, NULL) != napi_ok)
		free(in);
}

/* The fast path of this env, set up once: the constant views, the
 * thread-safe function, the cleanup hook and, last, the usdt_vm client
 * (registered before any view of libusdt's memory exists). 0, or -1 with
 * no fast path for this env (external buffers refused by a V8 sandbox,
 * or a failure: probe.fire then asks the addon). */
static int fast_init(napi_env env, struct inst *in)
{
	if (in->tried)
		return in->fast ? 0 : -1;
	in->tried = 1;
	/* the first byte of an untraced site, as usdt_vm_probe_info() reports
	 * it (set_cell checks they agree; usdt.h: USDT__SITE_IDLE_BYTE) */
#ifdef USDT__SITE_IDLE_BYTE
	in->idle = USDT__SITE_IDLE_BYTE;
#else
	return -1;
#endif
	napi_value v, name;
	int ok = view(env, &in->zero16, 2, &v) == napi_ok && napi_create_reference(env, v, 1, &in->v_zero) == napi_ok &&
	         view(env, &in->one16, 2, &v) == napi_ok && napi_create_reference(env, v, 1, &in->v_one) == napi_ok &&
	         view(env, &in->idle, 1, &v) == napi_ok && napi_create_reference(env, v, 1, &in->v_idle) == napi_ok;
	ok = ok && napi_create_string_utf8(env, "libusdt refresh", NAPI_AUTO_LENGTH, &name) == napi_ok &&
	     napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, in, inst_tsfn_call, &in->tsfn) ==
	             napi_ok &&
	     napi_unref_threadsafe_function(env, in->tsfn) == napi_ok;
	/* after the tsfn: hooks run in reverse order, so this one runs before
	 * the tsfn's own and no notify can call the tsfn after it */
	if (ok && napi_add_env_cleanup_hook(env, inst_cleanup, in) == napi_ok) {
		in->hooked = 1;
		in->refs++;
	} else {
		ok = 0;
	}
	bool pending = false;
	napi_is_exception_pending(env, &pending);
	if (pending) {
		napi_value e;
		napi_get_and_clear_last_exception(env, &e);
	}
	/* the client last, once everything notify touches is in place */
	if (ok)
		in->client = usdt_vm_client_create(inst_notify, in);
	in->fast = ok && in->client != NULL;
	return in->fast ? 0 : -1;
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
		{ "noop", noop },                      { "makeCell", make_cell },
		{ "fastPath", fast_path },             { "fastStats", fast_stats },
	};
	inst_init(env);
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
		napi_value f;
		NAPI_OK(env, napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f));
		NAPI_OK(env, napi_set_named_property(env, exports, fns[i].name, f));
	}
	return exports;
}
