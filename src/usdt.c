/*
 * usdt.c — the public API: providers, probe definitions, their life cycle,
 * and the fire / is-enabled fast paths.
 *
 * Ownership: a provider owns its list of probe definitions through one
 * reference each; a definition also carries its creator's reference. Each
 * definition owns one usdt_probe_t for its whole life, so a pointer read
 * from probedef->probe stays safe to fire after disable and re-enable.
 * Enabling builds a generation (backend.h) and publishes its bindings into
 * the usdt_probe_t objects; disabling unpublishes them, waits out readers
 * (reader.h) and destroys the generation.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "backend.h"
#include "fork.h"
#include "names.h"
#include "probe_pool.h"
#include "reader.h"
#include "self_probes.h"
#include "structs.h"
#include "types.h"
#include "usdt_internal.h"
#include "vm.h"

#define USDT_VERSION "1.0.0"

const char *usdt_version(void)
{
	return USDT_VERSION;
}

/* --------------------------------------------------------------- groups */

/*
 * All enabled providers of one name share one loaded object (a "group").
 * Two objects carrying the same provider:probe would split tracers:
 * bpftrace and bcc attach to the probes of only one of them. Sharing also
 * keeps libusdt 0.x behaviour, where any number of providers of one name
 * (different modules, or two copies of a library in one process) could be
 * enabled at once: their probes appear under the one provider name, and a
 * probe name defined by two of them is one probe with two locations, which
 * tracers attach to together.
 *
 * Every change to a group's probe list (enable, disable, add or remove a
 * probe while enabled) builds and loads the new object first, then swaps
 * the bindings and unloads the old one, so a failure leaves everything as
 * it was. One lock serialises these changes process-wide.
 */
struct usdt_group {
	char *name;
	usdt_provider_t **members;         /* enabled providers, enable order */
	size_t nmembers, cap;
	struct usdt_generation *gen;       /* their object, or NULL */
	usdt_provider_t *inline_member;    /* whose inline checks point into gen */
	struct usdt_group *next;
	struct usdt_group *hnext;          /* next in its name-hash bucket */
};

static pthread_mutex_t groups_lock = PTHREAD_MUTEX_INITIALIZER;
static struct usdt_group *groups;

/* fork(): fork.c takes the lock first of all libusdt's locks. */
void usdt_groups_fork_prepare(void) { pthread_mutex_lock(&groups_lock); }
void usdt_groups_fork_parent(void) { pthread_mutex_unlock(&groups_lock); }
void usdt_groups_fork_child(void) { pthread_mutex_unlock(&groups_lock); }

static void reap(void);

static void lock_groups(void)
{
	usdt_fork_init();
	pthread_mutex_lock(&groups_lock);
	reap();
}

static void heal(void);

static void unlock_groups(void)
{
	heal();
	pthread_mutex_unlock(&groups_lock);
	usdt_vm_notify();      /* VM clients hear of the changes, no lock held */
}

void usdt_core_lock(void)
{
	lock_groups();
}

void usdt_core_unlock(void)
{
	unlock_groups();
}

/* Groups by name: a hash table, so that enabling the 10 000th provider
 * does not compare 9 999 names. Buckets double when the table fills. */
#define GROUP_MIN_BUCKETS 64
static struct usdt_group **group_buckets;
static size_t group_nbuckets, group_count;

static size_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29));
}

static struct usdt_group *group_find(const char *name)
{
	if (group_nbuckets == 0)
		return NULL;
	for (struct usdt_group *g = group_buckets[name_hash(name) % group_nbuckets]; g != NULL; g = g->hnext)
		if (strcmp(g->name, name) == 0)
			return g;
	return NULL;
}

/* Room for one more group in the hash table; -1 on ENOMEM (unchanged). */
static int group_reserve(void)
{
	if (group_count + 1 <= group_nbuckets)
		return 0;
	size_t nb = group_nbuckets ? 2 * group_nbuckets : GROUP_MIN_BUCKETS;
	struct usdt_group **b = calloc(nb, sizeof *b);
	if (b == NULL)
		return -1;
	for (struct usdt_group *g = groups; g != NULL; g = g->next) {
		size_t i = name_hash(g->name) % nb;
		g->hnext = b[i];
		b[i] = g;
	}
	free(group_buckets);
	group_buckets = b;
	group_nbuckets = nb;
	return 0;
}

static int group_add_member(struct usdt_group *g, usdt_provider_t *p)
{
	if (g->nmembers == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 2;
		usdt_provider_t **m = realloc(g->members, cap * sizeof *m);
		if (m == NULL)
			return -1;
		g->members = m;
		g->cap = cap;
	}
	g->members[g->nmembers++] = p;
	return 0;
}

static void group_remove_member(struct usdt_group *g, const usdt_provider_t *p)
{
	for (size_t i = 0; i < g->nmembers; i++)
		if (g->members[i] == p) {
			memmove(&g->members[i], &g->members[i + 1], (g->nmembers - i - 1) * sizeof *g->members);
			g->nmembers--;
			return;
		}
}

/* Unlink and free a group that has no member and no object left. */
static void group_drop_if_empty(struct usdt_group *g)
{
	if (g->nmembers != 0 || g->gen != NULL)
		return;
	for (struct usdt_group **pg = &groups; *pg != NULL; pg = &(*pg)->next)
		if (*pg == g) {
			*pg = g->next;
			break;
		}
	for (struct usdt_group **pg = &group_buckets[name_hash(g->name) % group_nbuckets]; *pg != NULL;
	     pg = &(*pg)->hnext)
		if (*pg == g) {
			*pg = g->hnext;
			break;
		}
	group_count--;
	free(g->members);
	free(g->name);
	free(g);
}

static struct usdt_group *group_get(const char *name)
{
	struct usdt_group *g = group_find(name);
	if (g != NULL)
		return g;
	if (group_reserve() != 0)
		return NULL;
	g = calloc(1, sizeof *g);
	if (g == NULL || (g->name = strdup(name)) == NULL) {
		free(g);
		return NULL;
	}
	g->next = groups;
	groups = g;
	size_t i = name_hash(name) % group_nbuckets;
	g->hnext = group_buckets[i];
	group_buckets[i] = g;
	group_count++;
	return g;
}

/* ------------------------------------------------------------- checking */

static int check_provider(usdt_provider_t *provider)
{
	if (provider == NULL)
		return usdt_fail(NULL, USDT_ERROR_NULL, "provider is NULL");
	if (provider->_magic != USDT_MAGIC_PROVIDER)
		return usdt_fail(NULL, USDT_ERROR_INVALID, "provider %p is not a live provider (freed or corrupt)",
		                 (void *)provider);
	return 0;
}

static int check_probedef(usdt_provider_t *provider, usdt_probedef_t *pd)
{
	if (pd == NULL)
		return usdt_fail(provider, USDT_ERROR_NULL, "probe definition is NULL");
	if (pd->_magic != USDT_MAGIC_PROBEDEF)
		return usdt_fail(provider, USDT_ERROR_INVALID,
		                 "probe definition %p is not a live probe definition (freed or corrupt)", (void *)pd);
	return 0;
}

int usdt_core_probedef_ok(const usdt_probedef_t *pd)
{
	return check_probedef(NULL, (usdt_probedef_t *)pd);
}

/* ------------------------------------------------------------ name index */

/* Each provider indexes its definitions by (function, name) so that adding
 * n probes costs O(n), not O(n^2) duplicate checks. Chained buckets; the
 * chain link lives in the definition (_hnext). */
#define INDEX_MIN_BUCKETS 16

/* The name is hashed and compared in its Linux form (names.h: '-' is "__"),
 * so that "a-b" and "a__b", one probe to Linux tracers, are a duplicate. */
static size_t key_hash(const char *function, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *s = function; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	h = (h ^ 0xff) * 0x100000001b3ull;
	h = usdt_name_linux_hash(h, name);
	return (size_t)(h ^ (h >> 29));
}

static usdt_probedef_t *index_find(const usdt_provider_t *p, const char *function, const char *name)
{
	if (p->_nbuckets == 0)
		return NULL;
	for (usdt_probedef_t *pd = p->_index[key_hash(function, name) % p->_nbuckets]; pd; pd = pd->_hnext)
		if (usdt_name_linux_eq(pd->name, name) && strcmp(pd->function, function) == 0)
			return pd;
	return NULL;
}

/* Make room for one more entry; -1 on ENOMEM (index unchanged). */
static int index_reserve(usdt_provider_t *p)
{
	if (p->_nprobes + 1 <= 2 * p->_nbuckets)
		return 0;
	size_t nb = p->_nbuckets ? 4 * p->_nbuckets : INDEX_MIN_BUCKETS;
	usdt_probedef_t **b = calloc(nb, sizeof *b);
	if (b == NULL)
		return -1;
	for (usdt_probedef_t *pd = p->probedefs; pd != NULL; pd = pd->next) {
		size_t i = key_hash(pd->function, pd->name) % nb;
		pd->_hnext = b[i];
		b[i] = pd;
	}
	free(p->_index);
	p->_index = b;
	p->_nbuckets = nb;
	return 0;
}

static void index_insert(usdt_provider_t *p, usdt_probedef_t *pd)
{
	size_t i = key_hash(pd->function, pd->name) % p->_nbuckets;
	pd->_hnext = p->_index[i];
	p->_index[i] = pd;
}

static void index_remove(usdt_provider_t *p, usdt_probedef_t *pd)
{
	usdt_probedef_t **link = &p->_index[key_hash(pd->function, pd->name) % p->_nbuckets];
	while (*link != NULL && *link != pd)
		link = &(*link)->_hnext;
	if (*link != NULL)
		*link = pd->_hnext;
	pd->_hnext = NULL;
}

/* ------------------------------------------------------------- creation */

usdt_provider_t *usdt_create_provider(const char *name, const char *module)
{
	char err[USDT_ERRMSG_MAX];
	if (usdt_name_check(USDT_NAME_PROVIDER, name, err) != 0) {
		usdt_fail(NULL, name == NULL ? USDT_ERROR_NULL : USDT_ERROR_BADNAME, "%s", err);
		return NULL;
	}
	if (module != NULL && usdt_name_check(USDT_NAME_MODULE, module, err) != 0) {
		usdt_fail(NULL, USDT_ERROR_BADNAME, "%s", err);
		return NULL;
	}
	usdt_provider_t *p = calloc(1, sizeof *p);
	char *n = strdup(name);
	char *m = strdup(module != NULL ? module : "");
	if (p == NULL || n == NULL || m == NULL) {
		free(p);
		free(n);
		free(m);
		usdt_fail(NULL, USDT_ERROR_MALLOC, NULL);
		return NULL;
	}
	p->name = n;
	p->module = m;
	p->_magic = USDT_MAGIC_PROVIDER;
	p->_errcode = USDT_ERROR_NONE;
	return p;
}

static void free_probedef(usdt_probedef_t *pd)
{
	if (pd->_probe != NULL)
		usdt_probe_retire(pd->_probe);  /* a stale fire stays a no-op */
	free((char *)pd->name);
	free((char *)pd->function);
	free(pd->_vm);
	pd->_vm = NULL;
	pd->_magic = USDT_MAGIC_DEAD;
	usdt_quarantine(pd);
}

usdt_probedef_t *usdt_create_probe(const char *func, const char *name, size_t argc, const char **types)
{
	return usdt_core_create_probe(func, name, argc, types, NULL);
}

/* usdt_create_probe(), and usdt_vm_create_probe() with `locs` (vm.c). */
usdt_probedef_t *usdt_core_create_probe(const char *func, const char *name, size_t argc, const char **types,
                                        const usdt_vm_loc_t *locs)
{
	char err[USDT_ERRMSG_MAX];
	if (usdt_name_check(USDT_NAME_PROBE, name, err) != 0) {
		usdt_fail(NULL, name == NULL ? USDT_ERROR_NULL : USDT_ERROR_BADNAME, "%s", err);
		return NULL;
	}
	if (func != NULL && usdt_name_check(USDT_NAME_FUNCTION, func, err) != 0) {
		usdt_fail(NULL, USDT_ERROR_BADNAME, "%s", err);
		return NULL;
	}
	if (argc > USDT_ARG_MAX) {
		usdt_fail(NULL, USDT_ERROR_ARGC, "probe %s: argument count %ld is outside 0..%d", name,
		          (long)argc, USDT_ARG_MAX);
		return NULL;
	}
	if (argc > 0 && types == NULL) {
		usdt_fail(NULL, USDT_ERROR_NULL, "probe %s: types is NULL with %zu arguments", name, argc);
		return NULL;
	}
	const struct usdt_type_info *info[USDT_ARG_MAX];
	const struct usdt_struct *structs[USDT_ARG_MAX];
	/* a structure argument travels as a pointer (structs.h) */
	static const struct usdt_type_info struct_arg = { "struct *", "struct *", (int)sizeof(void *), 0, 0, 0 };
	for (size_t i = 0; i < argc; i++) {
		if (types[i] == NULL) {
			usdt_fail(NULL, USDT_ERROR_NULL, "probe %s: type of argument %zu is NULL", name, i + 1);
			return NULL;
		}
		char sname[USDT_STRUCT_NAME_MAX + 1];
		int st = usdt_struct_parse_type(types[i], 1, &structs[i], sname);
		if (st == 0 && usdt_struct_parse_type(types[i], 0, &structs[i], sname) != 0) {
			usdt_fail(NULL, USDT_ERROR_BADTYPE, "probe %s: argument %zu has type \"%.80s\": a structure is "
			          "passed by pointer (\"struct %s *\")", name, i + 1, types[i], sname);
			return NULL;
		}
		if (st != 0 && structs[i] == NULL) {
			usdt_fail(NULL, USDT_ERROR_BADTYPE, "probe %s: argument %zu has type \"%.80s\", but no structure "
			          "\"%s\" is registered (usdt_register_struct)", name, i + 1, types[i], sname);
			return NULL;
		}
		info[i] = st != 0 ? &struct_arg : usdt_type_lookup(types[i]);
		if (info[i] == NULL) {
			usdt_fail(NULL, USDT_ERROR_BADTYPE,
			          "probe %s: argument %zu has unknown type \"%.40s\" (see usdt.h for the accepted types)",
			          name, i + 1, types[i]);
			return NULL;
		}
	}
	int8_t size[USDT_ARG_MAX];           /* signed: negative = signed type */
	for (size_t i = 0; i < argc; i++)
		size[i] = (int8_t)(info[i]->is_signed ? -info[i]->size : info[i]->size);
	struct usdt_vm_def *vm = NULL;
	if (locs != NULL && argc > 0 && (vm = usdt_vm_def_new(name, argc, size, locs)) == NULL)
		return NULL;
	usdt_probedef_t *pd = calloc(1, sizeof *pd);
	if (pd == NULL) {
		free(vm);
		goto nomem;
	}
	pd->_vm = vm;
	pd->_magic = USDT_MAGIC_PROBEDEF;
	pd->name = strdup(name);
	pd->function = strdup(func != NULL ? func : "");
	pd->_probe = usdt_probe_alloc();
	if (pd->name == NULL || pd->function == NULL || pd->_probe == NULL)
		goto nomem_free;
	for (size_t i = 0; i < argc; i++) {
		pd->types[i] = (char *)info[i]->canonical;   /* static, see usdt.h */
		pd->_argsize[i] = (uint8_t)size[i];
		pd->_argflags[i] = info[i]->is_string ? USDT_ARGF_STRING : 0;
		if (info[i]->is_json)
			pd->_argflags[i] |= USDT_ARGF_JSON;
		if (info[i] == &struct_arg) {            /* registry entries are never freed */
			pd->types[i] = (char *)structs[i]->ptr_type;
			pd->_argflags[i] = USDT_ARGF_STRUCT;
		}
	}
	pd->argc = argc;
	pd->refcnt = 1;
	return pd;
nomem_free:
	free_probedef(pd);
nomem:
	usdt_fail(NULL, USDT_ERROR_MALLOC, NULL);
	return NULL;
}

void usdt_probe_release(usdt_probedef_t *probedef)
{
	if (probedef == NULL)
		return;
	if (probedef->_magic != USDT_MAGIC_PROBEDEF) {
		usdt_fail(NULL, USDT_ERROR_INVALID, "probe definition %p is not a live probe definition (freed or corrupt)",
		          (void *)probedef);
		return;
	}
	if (probedef->_owner != NULL && probedef->refcnt <= 1) {
		/* only the provider's own reference is left: dropping it would
		 * free the definition under the provider */
		usdt_fail(probedef->_owner, USDT_ERROR_INVALID,
		          "probe %s:%s:%s:%s: release refused, the only reference left is the provider's "
		          "(use usdt_provider_remove_probe or usdt_provider_free)",
		          probedef->_owner->name, probedef->_owner->module, probedef->function, probedef->name);
		return;
	}
	if (--probedef->refcnt <= 0)
		free_probedef(probedef);
}

/* ----------------------------------------------------------- generations */

static void destroy_generation(struct usdt_generation *gen)
{
	if (gen == NULL)
		return;
	free(gen->bindings);
	free(gen->defs);
	free(gen->names);
	free(gen);
}

/*
 * Fill gen->defs with every probe of every member of the group, in member
 * order, and give every binding the provider name, the probe name as Linux
 * tracers show it ('-' published as "__", the sys/sdt.h convention) and the
 * argument count, before the backends run. One pass over the definitions
 * (a large provider's are scattered over the heap: each is a cache miss or
 * two). The names are in one buffer owned by the generation, the
 * provider's then the probes' back to back, which the site backend takes
 * as they are (backend.h); libusdt:fire reads them inside a read section,
 * so they must live exactly as long as the bindings. Returns 0, -1 when
 * out of memory, or -2 for a probe at VM-chosen locations with DTrace
 * present (*bad is that probe).
 */
static int collect(const struct usdt_group *g, struct usdt_generation *gen, const usdt_probedef_t **bad)
{
	size_t plen = strlen(g->name) + 1, used = plen, cap = plen + 16 * gen->nprobes + 64, i = 0;
	char *buf = malloc(cap);
	int dtrace = usdt_sites_dtrace();
	if (buf == NULL)
		return -1;
	memcpy(buf, g->name, plen);
	for (size_t m = 0; m < g->nmembers; m++)
		for (usdt_probedef_t *pd = g->members[m]->probedefs; pd != NULL; pd = pd->next) {
			if (dtrace && pd->_vm != NULL) {
				*bad = pd;
				free(buf);
				return -2;
			}
			size_t len = usdt_name_linux_len(pd->name) + 1;
			if (used + len > cap) {
				cap = 2 * (used + len);
				char *b = realloc(buf, cap);
				if (b == NULL) {
					free(buf);
					return -1;
				}
				buf = b;
			}
			gen->defs[i] = pd;
			gen->bindings[i].argc = pd->argc;
			gen->bindings[i].name = (const char *)(uintptr_t)used;   /* an offset until the end */
			usdt_name_linux(buf + used, pd->name);
			used += len;
			i++;
		}
	for (i = 0; i < gen->nprobes; i++) {
		gen->bindings[i].provider = buf;
		gen->bindings[i].name = buf + (uintptr_t)gen->bindings[i].name;
	}
	gen->names = buf;
	return 0;
}

/* Build and load a generation holding every probe of every member of the
 * group, in member order. Errors are recorded on `who`. */
static struct usdt_generation *build_generation(const struct usdt_group *g, usdt_provider_t *who)
{
	char err[USDT_ERRMSG_MAX];
	struct usdt_generation *gen = calloc(1, sizeof *gen);
	size_t n = 0;
	for (size_t m = 0; m < g->nmembers; m++)
		n += g->members[m]->_nprobes;
	if (gen == NULL)
		goto nomem;
	gen->nprobes = n;
	gen->defs = calloc(n, sizeof *gen->defs);
	gen->bindings = calloc(n, sizeof *gen->bindings);
	if (gen->defs == NULL || gen->bindings == NULL)
		goto nomem;
	const usdt_probedef_t *bad = NULL;
	int rc = collect(g, gen, &bad);
	if (rc == -2) {
		usdt_fail(who, USDT_ERROR_UNSUPPORTED,
		          "provider %s: probe %s has its arguments at VM-chosen locations, which DTrace "
		          "cannot read (DOF describes only the ABI argument registers), and a DTrace "
		          "helper device is present", g->name, bad->name);
		destroy_generation(gen);
		return NULL;
	}
	if (rc != 0)
		goto nomem;
	if (usdt_sites_publish(g->members[0], gen, err) != 0) {
		usdt_fail(who, USDT_ERROR_LOAD, "provider %s: %s", g->name, err);
		destroy_generation(gen);
		return NULL;
	}
	return gen;
nomem:
	destroy_generation(gen);
	usdt_fail(who, USDT_ERROR_MALLOC, NULL);
	return NULL;
}

/* ------------------------------------------------------ retiring objects */

/*
 * An object that no binding points to any more is unloaded once no thread
 * can be running it: at once when the grace period (reader.h) is already
 * over, which is the common case. When a reader is still inside (a thread
 * preempted in the middle of a fire, or stopped there by a debugger), the
 * writer does not wait for it: the object is hidden from tracers at once
 * (usdt_sites_hide) and put on the `pending` list, which every later
 * management call (under the groups lock) reaps. So no management call
 * ever blocks on a reader, whatever the scheduler does with the readers,
 * and a stopped thread delays only the unmapping of what it is inside.
 */
#define RETIRE_SPINS 256     /* polls of a reader about to leave, first */
/* Deferred objects at most (each holds its mappings and its dlopen name):
 * beyond that a writer waits for the readers after all. */
#define PENDING_MAX 1024

struct retired {
	struct usdt_generation *gen;
	struct retired *next;
	struct usdt_grace grace;
	uint64_t vm_hold;       /* VM clients must acknowledge this first (vm.h), or 0 */
};

static struct retired *pending;
static size_t npending;

/* Errors unloading or hiding are recorded on `who` (USDT_ERROR_UNLOADDOF)
 * and returned as -1; the object is released all the same. */
static int unload(struct usdt_generation *gen, usdt_provider_t *who)
{
	char err[USDT_ERRMSG_MAX];
	int rc = usdt_sites_retire(gen, err);
	if (rc != 0)
		usdt_fail(who, USDT_ERROR_UNLOADDOF, "provider %s: %s", who != NULL ? who->name : "?", err);
	destroy_generation(gen);
	return rc;
}

static int hide(struct usdt_generation *gen, usdt_provider_t *who)
{
	char err[USDT_ERRMSG_MAX];
	int rc = usdt_sites_hide(gen, err);
	if (rc != 0)
		usdt_fail(who, USDT_ERROR_UNLOADDOF, "provider %s: %s", who != NULL ? who->name : "?", err);
	return rc;
}

/* `gen` is unpublished: unload it once no thread can be inside it.
 * 0, or -1 when unloading or hiding it reported an error (recorded on
 * `who`; a deferred unload's own errors are recorded on whoever reaps it). */
static int retire(struct usdt_generation *gen, usdt_provider_t *who)
{
	if (gen == NULL)
		return 0;
	/* A VM client (usdt_vm.h) may run code with the object's addresses
	 * inlined: it stays (hidden) until every client acknowledged the
	 * change, however many are pending. Without memory to remember it,
	 * it stays mapped for good: never unmapped under a JIT's feet. */
	uint64_t hold = usdt_vm_hold();
	struct retired *r = npending < PENDING_MAX || hold != 0 ? malloc(sizeof *r) : NULL;
	if (r == NULL && hold != 0)
		return hide(gen, who);
	if (r == NULL) {             /* no room to defer: wait here */
		struct usdt_grace g;
		usdt_grace_begin(&g);
		while (!usdt_grace_poll(&g, RETIRE_SPINS))
			sched_yield();
		usdt_grace_end(&g);
		return unload(gen, who);
	}
	usdt_grace_begin(&r->grace);
	r->vm_hold = hold;
	if (hold == 0 && usdt_grace_poll(&r->grace, RETIRE_SPINS)) {
		usdt_grace_end(&r->grace);
		free(r);
		return unload(gen, who);
	}
	int rc = hide(gen, who);
	r->gen = gen;
	r->next = pending;
	pending = r;
	npending++;
	return rc;
}

/* Unload every deferred object whose readers have all left (and that no
 * VM client holds). */
static void reap(void)
{
	for (struct retired **pr = &pending; *pr != NULL;) {
		struct retired *r = *pr;
		if ((r->vm_hold != 0 && !usdt_vm_released(r->vm_hold)) || !usdt_grace_poll(&r->grace, 0)) {
			pr = &r->next;
			continue;
		}
		*pr = r->next;
		npending--;
		usdt_grace_end(&r->grace);
		(void)unload(r->gen, NULL);   /* not the caller's business: thread error only */
		free(r);
	}
}

/* ------------------------------------------------------------ publishing */

/* usdt_is_enabled_inline() loads _sem, then _site if _sem was not NULL.
 * So _site is stored before _sem, and clearing clears only _sem: a reader
 * that loaded the old _sem still finds a _site that is mapped as long as
 * that _sem's object is (see publish()). */
static void set_inline(usdt_probe_t *p, const struct usdt_binding *b)
{
	if (b == NULL) {
		__atomic_store_n(&p->_sem, NULL, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&p->_site, b->site, __ATOMIC_RELEASE);
	__atomic_store_n(&p->_sem, b->sem, __ATOMIC_RELEASE);
}

static int is_member(const struct usdt_group *g, const usdt_provider_t *p)
{
	for (size_t i = 0; i < g->nmembers; i++)
		if (g->members[i] == p)
			return 1;
	return 0;
}

/*
 * Point every probe of `gen` at its binding and every probe of `old` that
 * is not in `gen` at nothing. Probes in both are switched with one atomic
 * store each: their probedef->probe never changes and never reads NULL.
 *
 * usdt_is_enabled_inline() reads _sem/_site with no grace period, so those
 * are only ever given to `who`, the provider whose own call this is, when
 * it is alone under its name (and has no DTrace stubs): only its own later
 * calls move them, which usdt.h tells callers not to race with inline
 * checks. A bystander of the same name (a twin) whose inline pointers
 * point into `old` gets them cleared (its inline checks then call
 * usdt_is_enabled(), which is safe) and returns 1: `old` must then stay
 * mapped until that bystander's own next call (regroup keeps it).
 */
static usdt_provider_t *publish(struct usdt_group *g, const struct usdt_generation *old,
                                struct usdt_generation *gen, usdt_provider_t *who)
{
	static unsigned long stamp;
	usdt_provider_t *holder = g->inline_member;
	int alone = g->nmembers == 1 && g->members[0] == who;
	uint64_t vm_gen = usdt_vm_advance();     /* addresses change: vm.h */
	stamp++;
	g->inline_member = NULL;
	for (size_t i = 0; gen != NULL && i < gen->nprobes; i++) {
		usdt_probedef_t *pd = gen->defs[i];
		const struct usdt_binding *b = &gen->bindings[i];
		USDT_PREFETCH_DEF(gen->defs, i, gen->nprobes, _probe);
		USDT_PREFETCH_DEF(gen->defs, i, gen->nprobes, _vm);
		if (i + USDT_DEFS_AHEAD / 2 < gen->nprobes)   /* its line came in 4 passes ago */
			__builtin_prefetch(gen->defs[i + USDT_DEFS_AHEAD / 2]->_probe, 1);
		gen->bindings[i].vm_gen = vm_gen;
		gen->bindings[i].located = pd->_vm != NULL;
		pd->_stamp = stamp;
		pd->_probe->_index = (uint32_t)i;
		if (who != NULL && pd->_owner == who && alone && b->dt_stub == NULL) {
			set_inline(pd->_probe, b);
			g->inline_member = who;
		} else if (pd->_owner == holder || (who != NULL && pd->_owner == who)) {
			set_inline(pd->_probe, NULL);
		}
		__atomic_store_n(&pd->_probe->_live, (void *)b, __ATOMIC_RELEASE);
		/* bindings read probedef->probe with plain loads: a probe that
		 * stays is not written at all */
		if (__atomic_load_n(&pd->probe, __ATOMIC_RELAXED) != pd->_probe)
			__atomic_store_n(&pd->probe, pd->_probe, __ATOMIC_RELEASE);
	}
	for (size_t i = 0; old != NULL && i < old->nprobes; i++) {
		usdt_probedef_t *pd = old->defs[i];
		if (pd->_stamp == stamp)
			continue;
		__atomic_store_n(&pd->_probe->_live, NULL, __ATOMIC_RELEASE);
		set_inline(pd->_probe, NULL);
		__atomic_store_n(&pd->probe, NULL, __ATOMIC_RELEASE);
	}
	if (holder != NULL && holder != who && is_member(g, holder))
		return holder;
	return NULL;
}

/* Give the group an object matching its members' probes now: build the new
 * one (none if no probe is left), swap, then retire the old one. On
 * failure nothing changes and -1 is returned with the error on `who`. An
 * error unloading the old object (dlclose, a DTrace helper refusing
 * REMOVE) is recorded on `who` but the change stands: returns 1. Else 0.
 * `who` may have left the group already (disable). */
static int regroup(struct usdt_group *g, usdt_provider_t *who)
{
	struct usdt_generation *old = g->gen, *gen = NULL;
	size_t n = 0;
	for (size_t m = 0; m < g->nmembers; m++)
		n += g->members[m]->_nprobes;
	if (n > 0 && (gen = build_generation(g, who)) == NULL)
		return -1;
	usdt_provider_t *holder = publish(g, old, gen, who);
	g->gen = gen;
	for (size_t m = 0; m < g->nmembers; m++)
		g->members[m]->file = g;
	int bad = 0;
	if (holder != NULL) {
		/* a twin's inline checks may still read `old`: it stays mapped,
		 * hidden from tracers, until that twin's own next call */
		bad |= hide(old, who) != 0;
		holder->_retained = old;
	} else {
		bad |= retire(old, who) != 0;
	}
	/* this is `who`'s own call: what it kept for its inline checks goes */
	if (who != NULL) {
		bad |= retire(who->_retained, who) != 0;
		who->_retained = NULL;
	}
	return bad;
}

/*
 * A program that closes every descriptor (daemons) or dup2()s over ours
 * takes its objects away from tracers: bcc and bpftrace -p find a memfd
 * object through its descriptor. The loader notices when a new descriptor
 * comes back with the number of one of ours; then every group whose
 * object lost its descriptor is rebuilt, as a change by no provider (so
 * the inline checks of its members keep reading mapped memory, see
 * publish()). A descriptor closed and reused by the program for something
 * else before libusdt creates another one is noticed at the group's own
 * next change.
 */
static void heal(void)
{
	static unsigned long seen;
	unsigned long lost = usdt_sites_lost();
	if (lost == seen)
		return;
	seen = lost;
	for (struct usdt_group *g = groups; g != NULL; g = g->next)
		if (g->gen != NULL && g->nmembers > 0 && !usdt_sites_intact(g->gen))
			(void)regroup(g, NULL);
}

/* ------------------------------------------------------------ life cycle */

int usdt_provider_enable(usdt_provider_t *provider)
{
	if (check_provider(provider) != 0)
		return -1;
	if (provider->enabled) {
		usdt_fail(provider, USDT_ERROR_ALREADYENABLED, "provider %s is already enabled", provider->name);
		return 0;
	}
	if (provider->probedefs == NULL)
		return usdt_fail(provider, USDT_ERROR_NOPROBES, "provider %s has no probes", provider->name);
	int rc = -1;
	lock_groups();
	struct usdt_group *g = group_get(provider->name);
	if (g == NULL || group_add_member(g, provider) != 0) {
		usdt_fail(provider, USDT_ERROR_MALLOC, NULL);
	} else if (regroup(g, provider) < 0) {
		group_remove_member(g, provider);
	} else {
		provider->enabled = 1;
		rc = 0;
		usdt_self_provider_event(1, provider->name, provider->module, provider->_nprobes,
		                         g->gen != NULL ? usdt_sites_path(g->gen) : "");
	}
	if (g != NULL)
		group_drop_if_empty(g);
	unlock_groups();
	return rc;
}

int usdt_provider_disable(usdt_provider_t *provider)
{
	if (check_provider(provider) != 0)
		return -1;
	if (!provider->enabled)
		return 0;
	int rc = 0;
	lock_groups();
	struct usdt_group *g = provider->file;
	usdt_self_provider_event(0, provider->name, provider->module, provider->_nprobes,
	                         g->gen != NULL ? usdt_sites_path(g->gen) : "");
	group_remove_member(g, provider);
	int r = regroup(g, provider);
	if (r == 1)
		rc = -1;      /* disabled, but unloading reported an error (libusdt 0.x: -1) */
	if (r < 0) {
		/* No object could be built for the other providers of this name
		 * (out of memory): the shared one must not outlive this provider's
		 * probe definitions, so it goes; the others stay enabled without
		 * live probes until their next enable, disable or change. */
		usdt_provider_t *holder = publish(g, g->gen, NULL, provider);
		if (holder != NULL) {
			hide(g->gen, provider);
			holder->_retained = g->gen;
		} else {
			retire(g->gen, provider);
		}
		g->gen = NULL;
		retire(provider->_retained, provider);
		provider->_retained = NULL;
		rc = -1;
	}
	provider->enabled = 0;
	provider->file = NULL;
	group_drop_if_empty(g);
	unlock_groups();
	return rc;
}

/* Rebuild an enabled provider's group after a change to its probe list.
 * Called with the groups lock held: the list and count it changed are
 * read by any twin's rebuild (regroup walks every member's list), which
 * another thread may run at the same time (t_twins_manage). */
static int rebuild_locked(usdt_provider_t *provider)
{
	if (!provider->enabled)
		return 0;
	return regroup(provider->file, provider) < 0 ? -1 : 0;
}

/* Link probedef at the end of the provider's list (room reserved). */
static void link_probe(usdt_provider_t *provider, usdt_probedef_t *probedef)
{
	probedef->next = NULL;
	if (provider->_tail != NULL)
		provider->_tail->next = probedef;
	else
		provider->probedefs = probedef;
	provider->_tail = probedef;
	index_insert(provider, probedef);
	probedef->_owner = provider;
	provider->_nprobes++;
}

/* Unlink probedef (whose predecessor is prev, or NULL for the first). */
static void unlink_probe(usdt_provider_t *provider, usdt_probedef_t *probedef, usdt_probedef_t *prev)
{
	if (prev != NULL)
		prev->next = probedef->next;
	else
		provider->probedefs = probedef->next;
	if (provider->_tail == probedef)
		provider->_tail = prev;
	index_remove(provider, probedef);
	probedef->next = NULL;
	probedef->_owner = NULL;
	provider->_nprobes--;
}

int usdt_provider_add_probe(usdt_provider_t *provider, usdt_probedef_t *probedef)
{
	if (check_provider(provider) != 0 || check_probedef(provider, probedef) != 0)
		return -1;
	if (probedef->_owner == provider)
		return usdt_fail(provider, USDT_ERROR_DUP_PROBE, "probe %s:%s:%s:%s is already in this provider",
		                 provider->name, provider->module, probedef->function, probedef->name);
	if (probedef->_owner != NULL)
		return usdt_fail(provider, USDT_ERROR_DUP_PROBE, "probe %s:%s belongs to provider %s already",
		                 probedef->function, probedef->name, probedef->_owner->name);
	size_t tuple = strlen(provider->name) + strlen(provider->module[0] ? provider->module : USDT_DTRACE_DEFAULT_MODULE) +
	               strlen(probedef->function[0] ? probedef->function : probedef->name) + strlen(probedef->name) + 3;
	if (tuple > USDT_DTRACE_TUPLE_MAX)
		return usdt_fail(provider, USDT_ERROR_BADNAME,
		                 "probe %s:%s:%s:%s: provider, module, function and probe names together exceed %d bytes",
		                 provider->name, provider->module, probedef->function, probedef->name, USDT_DTRACE_TUPLE_MAX);
	/* names.c: the index compares Linux forms ('-' is "__") */
	const usdt_probedef_t *twin = index_find(provider, probedef->function, probedef->name);
	if (twin != NULL && strcmp(twin->name, probedef->name) == 0)
		return usdt_fail(provider, USDT_ERROR_DUP_PROBE, "probe named %s:%s:%s:%s already exists",
		                 provider->name, provider->module, probedef->function, probedef->name);
	if (twin != NULL) {
		char lname[2 * USDT_PROBE_NAME_MAX + 1];
		usdt_name_linux(lname, probedef->name);
		return usdt_fail(provider, USDT_ERROR_DUP_PROBE,
		                 "probe named %s:%s:%s:%s already exists: probe %s is %s to Linux tracers too",
		                 provider->name, provider->module, probedef->function, probedef->name, twin->name, lname);
	}
	if (index_reserve(provider) != 0)
		return usdt_fail(provider, USDT_ERROR_MALLOC, NULL);
	lock_groups();
	usdt_probedef_t *prev_tail = provider->_tail;
	link_probe(provider, probedef);
	int rc = rebuild_locked(provider);
	if (rc != 0)                       /* not loadable: as if never added */
		unlink_probe(provider, probedef, prev_tail);
	unlock_groups();
	if (rc != 0)
		return -1;
	probedef->refcnt++;
	return 0;
}

int usdt_provider_remove_probe(usdt_provider_t *provider, usdt_probedef_t *probedef)
{
	if (check_provider(provider) != 0 || check_probedef(provider, probedef) != 0)
		return -1;
	usdt_probedef_t *prev = NULL, *pd = provider->probedefs;
	if (probedef->_owner == provider)
		for (; pd != NULL && pd != probedef; pd = pd->next)
			prev = pd;
	if (probedef->_owner != provider || pd == NULL)
		return usdt_fail(provider, USDT_ERROR_REMOVE_PROBE,   /* libusdt 0.x's fields */
		                 "failed to remove probe %s:%s:%s:%s: it is not in this provider",
		                 provider->name, provider->module, probedef->function, probedef->name);
	if (provider->enabled && provider->_nprobes == 1 && usdt_provider_disable(provider) != 0)
		return -1;     /* the last probe: the provider is disabled first */
	lock_groups();
	usdt_probedef_t *after = probedef->next;
	unlink_probe(provider, probedef, prev);
	int rc = rebuild_locked(provider);
	if (rc != 0) {                     /* keep it, as it was */
		probedef->next = after;
		if (prev != NULL)
			prev->next = probedef;
		else
			provider->probedefs = probedef;
		if (after == NULL)
			provider->_tail = probedef;
		index_insert(provider, probedef);
		probedef->_owner = provider;
		provider->_nprobes++;
	}
	unlock_groups();
	if (rc != 0)
		return -1;
	usdt_probe_release(probedef);
	return 0;
}

void usdt_provider_free(usdt_provider_t *provider)
{
	if (provider == NULL || provider->_magic != USDT_MAGIC_PROVIDER)
		return;
	usdt_provider_disable(provider);
	usdt_probedef_t *next;
	for (usdt_probedef_t *pd = provider->probedefs; pd != NULL; pd = next) {
		next = pd->next;
		pd->next = NULL;
		pd->_owner = NULL;
		usdt_probe_release(pd);
	}
	free(provider->_index);
	provider->_index = NULL;
	free((char *)provider->name);
	free((char *)provider->module);
	free(provider->error);
	provider->error = NULL;
	provider->_magic = USDT_MAGIC_DEAD;
	usdt_quarantine(provider);
}

/* ------------------------------------------------------------ fast paths */

/* usdt_fire_probe() and usdt_is_enabled() start on a cache line: their
 * untraced paths are about 120 bytes, two 64-byte lines (the unit the
 * decoded-instruction cache works in) from a line start, three from
 * wherever the linker happens to put them. Measured through libusdt.so on
 * the Xeon of docs/performance.md, the same code at another address:
 * fire with 2 args 1.40x -> 1.27x an empty library call, the
 * usdt_is_enabled guard 1.29x -> 1.14x (medians of 40 interleaved runs);
 * in these loops that is 9 -> 8 cycles against the empty call's 7. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__))
#define USDT_FAST_ALIGN __attribute__((aligned(64)))
#else
#define USDT_FAST_ALIGN
#endif

/* DTrace (dtrace-utils on Linux) puts its uprobes on the tracepoints of
 * the DTrace stubs, not on the stapsdt site (x86: the byte; aarch64: the
 * nop word, arch.h). */
static inline int dtrace_active(const struct usdt_binding *b)
{
	return !usdt_arch_dtrace_idle(b->dt_probe_tp) || !usdt_arch_dtrace_idle(b->dt_isen_tp);
}

static inline int binding_active(const struct usdt_binding *b)
{
	return *b->sem != 0 || !usdt_arch_site_idle(b->site) ||
	       (USDT_UNLIKELY(b->dt_stub != NULL) && dtrace_active(b));
}

/*
 * Is a tracer on this probe? Called inside a read section (reader.h).
 * A provider alone under its name has its semaphore and site in the probe
 * object itself (the pointers usdt_is_enabled_inline() reads): one load
 * less than going through the binding. They are valid inside a section:
 * a writer that moves them starts a grace period before it unmaps what
 * they pointed to (or, for a twin, keeps it mapped: publish()).
 */
static inline __attribute__((always_inline)) int probe_active(const usdt_probe_t *probe)
{
	const volatile uint16_t *sem = __atomic_load_n(&probe->_sem, __ATOMIC_ACQUIRE);
	if (USDT_LIKELY(sem != NULL))   /* no branch between the two loads */
		return (*sem | !usdt_arch_site_idle(__atomic_load_n(&probe->_site, __ATOMIC_RELAXED))) != 0;
	const struct usdt_binding *b = __atomic_load_n(&probe->_live, __ATOMIC_ACQUIRE);
	return b != NULL && binding_active(b);
}

const volatile uint16_t *usdt_system_semaphore(void)
{
	return &usdt_fast.f.fire_sem;
}

/* No reader slot yet (first call from this thread), or NULL. */
static __attribute__((noinline, cold)) int is_enabled_slow(usdt_probe_t *probe)
{
	if (probe == NULL || usdt_reader_register() == NULL)
		return 0;
	return usdt_is_enabled(probe);
}

USDT_FAST_ALIGN int usdt_is_enabled(usdt_probe_t *probe)
{
	struct usdt_reader *r = usdt_tls_reader;
	if (USDT_UNLIKELY(r == NULL || probe == NULL))
		return is_enabled_slow(probe);
	uint32_t w;
	unsigned long next = usdt_reader_enter_word(r, &w);
	int on = probe_active(probe);
	if (USDT_UNLIKELY(w & USDT_FAST_FIRE_MASK))     /* libusdt:fire is traced */
		on |= __atomic_load_n(&probe->_live, __ATOMIC_RELAXED) != NULL;
	usdt_reader_exit(r, next);
	return on;
}

/*
 * The traced path, out of line so that the untraced path of
 * usdt_fire_probe() needs no stack frame and ends in a tail call. It runs
 * in a read section of its own: the binding it calls is looked up again
 * (the tracer may have gone, or the object changed, since the check).
 */
static __attribute__((noinline, cold)) void fire_traced(usdt_probe_t *probe, size_t argc, void **argv)
{
	struct usdt_reader *r = usdt_tls_reader;
	if (r == NULL && (r = usdt_reader_register()) == NULL)
		return;
	unsigned long next = usdt_reader_enter(r);
	const struct usdt_binding *b = __atomic_load_n(&probe->_live, __ATOMIC_ACQUIRE);
	if (b != NULL && !b->located) {     /* usdt_vm.h: C arguments cannot reach those */
		void *padded[USDT_ARG_MAX];
		if (argc < b->argc || argv == NULL) {
			/* fewer words than declared: the rest read as 0 */
			memset(padded, 0, sizeof padded);
			if (argv != NULL && argc > 0)
				memcpy(padded, argv, (argc < USDT_ARG_MAX ? argc : USDT_ARG_MAX) * sizeof *argv);
			argv = padded;
		}
		if (*b->sem != 0 || !usdt_arch_site_idle(b->site))
			usdt_arch_call(b->site, b->argc, argv);
		if (b->dt_stub != NULL && dtrace_active(b))
			usdt_arch_call(b->dt_stub, b->argc, argv);
		if (__atomic_load_n(&usdt_fast.f.fire_sem, __ATOMIC_RELAXED) != 0)
			usdt_self_fire(b->provider, b->name, b->argc, argv);
	}
	usdt_reader_exit(r, next);
}

/* No reader slot yet (first call from this thread), or NULL. */
static __attribute__((noinline, cold)) void fire_slow(usdt_probe_t *probe, size_t argc, void **argv)
{
	if (probe != NULL && usdt_is_enabled(probe))
		fire_traced(probe, argc, argv);
}

USDT_FAST_ALIGN void usdt_fire_probe(usdt_probe_t *probe, size_t argc, void **argv)
{
	struct usdt_reader *r = usdt_tls_reader;
	if (USDT_UNLIKELY(r == NULL || probe == NULL)) {
		fire_slow(probe, argc, argv);
		return;
	}
	uint32_t w;
	unsigned long next = usdt_reader_enter_word(r, &w);
	int on = probe_active(probe);
	usdt_reader_exit(r, next);
	/* a tracer on this probe, or on libusdt:fire (the fast word's low half) */
	if (USDT_UNLIKELY(on | (int)(w & USDT_FAST_FIRE_MASK)))
		fire_traced(probe, argc, argv);
}
