/*
 * backend_elf.c — the Linux site backend: turn a generation's probe list
 * into an ELF object (elf_image.c), load it (loader.c), and bind each probe
 * to its site and semaphore in the loaded object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

#include "arch/arch.h"
#include "backend.h"
#include "linux/dtrace_linux.h"
#include "linux/elf_image.h"
#include "linux/loader.h"
#include "linux/type_note.h"
#include "names.h"
#include "vm.h"

/* Longest argument spec: 32 args of "-8@%r9b"/"-8@248(%rsp)" plus spaces. */
#define ARGSPEC_MAX USDT_VM_ARGSPEC_MAX   /* usdt_vm.h: VM-chosen locations are longest */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* A build-id unique to this load: perf caches objects by build-id, and
 * refuses a known build-id seen under another path. The pid, a counter
 * and the time make it unique; the provider name and the probe count are
 * mixed in as well (not every probe name: that would be one more pass over
 * a large provider's scattered names for nothing). */
static void make_build_id(const usdt_provider_t *provider, const struct usdt_generation *gen,
                          uint8_t out[USDT_ELF_BUILD_ID_SIZE])
{
	static unsigned long counter;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t h = fnv1a(0xcbf29ce484222325ull, provider->name);
	h ^= mix64(gen->nprobes);
	h ^= mix64((uint64_t)usdt_loader_pid() << 32 ^ __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
	h ^= mix64((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	for (size_t i = 0; i < USDT_ELF_BUILD_ID_SIZE; i += 8) {
		h = mix64(h);
		size_t n = USDT_ELF_BUILD_ID_SIZE - i < 8 ? USDT_ELF_BUILD_ID_SIZE - i : 8;
		memcpy(out + i, &h, n);
	}
}

/* Same argument signature (count and signed sizes)? Both at ABI
 * locations (_vm NULL: the caller checks). */
static int same_signature(const usdt_probedef_t *a, const usdt_probedef_t *b)
{
	return a->argc == b->argc && memcmp(a->_argsize, b->_argsize, a->argc) == 0;
}

/* Argument specs remembered while one enable makes them: providers declare
 * many probes of a few shapes, often interleaved. */
#define SPEC_RECENT 4

/*
 * The note argument string of every probe: the distinct strings packed in
 * one malloc'd buffer (*specs), and per probe the offset and length of its
 * own in spec[] (gen->nprobes entries). A probe with the signature of one
 * of the last SPEC_RECENT distinct ones shares its string, so the work and
 * the memory are proportional to the distinct strings, not to
 * n x ARGSPEC_MAX (a 100 000-probe provider would touch 51 MB).
 * *total is the sum over the probes of their string's length + 1.
 * 0, or -1 with a message in err.
 */
static int make_argspecs(const struct usdt_generation *gen, struct usdt_elf_spec *spec, char **specs,
                         size_t *total, char *err)
{
	size_t cap = 256, used = 0, sum = 0;
	char *buf = malloc(cap), one[ARGSPEC_MAX];
	const usdt_probedef_t *recent[SPEC_RECENT] = { NULL };
	struct usdt_elf_spec recent_spec[SPEC_RECENT];
	size_t nrecent = 0, next = 0;
	if (buf == NULL)
		goto nomem;
	for (size_t i = 0; i < gen->nprobes; i++) {
		const usdt_probedef_t *pd = gen->defs[i];
		USDT_PREFETCH_DEF(gen->defs, i, gen->nprobes, argc);
		USDT_PREFETCH_DEF(gen->defs, i, gen->nprobes, _argsize);
		USDT_PREFETCH_DEF(gen->defs, i, gen->nprobes, _vm);
		size_t r = 0;
		int abi = pd->_vm == NULL;
		while (abi && r < nrecent && !same_signature(pd, recent[r]))
			r++;
		if (abi && r < nrecent) {
			spec[i] = recent_spec[r];
			sum += spec[i].len + 1;
			continue;
		}
		int len = usdt_vm_argspec(one, sizeof one, pd);   /* ABI or VM-chosen locations */
		if (len < 0) {
			usdt_errf(err, "probe %s: argument spec too long", pd->name);
			goto fail;
		}
		if (used + (size_t)len + 1 > cap) {
			while (used + (size_t)len + 1 > cap)
				cap *= 2;
			char *b = realloc(buf, cap);
			if (b == NULL)
				goto nomem;
			buf = b;
		}
		memcpy(buf + used, one, (size_t)len + 1);
		spec[i].off = (uint32_t)used;
		spec[i].len = (uint32_t)len;
		used += (size_t)len + 1;
		sum += (size_t)len + 1;
		if (abi) {                  /* VM-located probes share nothing */
			recent[next] = pd;
			recent_spec[next] = spec[i];
			next = (next + 1) % SPEC_RECENT;
			if (nrecent < SPEC_RECENT)
				nrecent++;
		}
	}
	*specs = buf;
	*total = sum;
	return 0;
nomem:
	usdt_errf(err, "out of memory");
fail:
	free(buf);
	return -1;
}

/*
 * Memory kept from one enable to the next for what an enable builds and
 * throws away (the image, the per-probe arrays): a 1 000-probe image is
 * 168 KiB, and fresh heap pages for it (glibc gives the top of the heap
 * back between enables) cost more than building it. Up to SCRATCH_KEEP
 * bytes are kept, enough for about 20 000 probes (measured in separate
 * processes, 10 000 probes: 1 MiB kept, so a fresh 1.7 MiB buffer per
 * enable, took 1.9x the time of 4 MiB kept); larger builds get their own
 * buffer, freed at once (MAP_POPULATE instead of malloc measured no
 * different at 100 000 probes). Every enable runs under usdt.c's groups
 * lock, and so does this.
 */
#define SCRATCH_KEEP ((size_t)4 << 20)
static uint8_t *scratch;
static size_t scratch_cap;

/* At least `size` bytes, the first `keep` of them as they were. */
static uint8_t *scratch_get(size_t size, size_t keep)
{
	if (size <= scratch_cap)
		return scratch;
	uint8_t *p = malloc(size);
	if (p == NULL)
		return NULL;
	if (keep != 0)                   /* scratch is NULL the first time */
		memcpy(p, scratch, keep);
	free(scratch);
	scratch = p;
	scratch_cap = size;
	return p;
}

static void scratch_done(void)
{
	if (scratch_cap > SCRATCH_KEEP) {
		free(scratch);
		scratch = NULL;
		scratch_cap = 0;
	}
}

/* Does the dynamic loader leave a read-only .dynamic alone? glibc does
 * since 2.35 (l_ld_readonly); older glibc relocates it in place. Other C
 * libraries get the writable layout, which works everywhere. */
static int loader_accepts_ro_dynamic(void)
{
#ifdef __GLIBC__
	static int cached = -1;
	int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	if (v < 0) {
		int major = 0, minor = 0;
		v = sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor) == 2 &&
		    (major > 2 || (major == 2 && minor >= 35));
		__atomic_store_n(&cached, v, __ATOMIC_RELAXED);
	}
	return v;
#else
	return 0;
#endif
}

int usdt_sites_publish(const usdt_provider_t *provider, struct usdt_generation *gen, char *err)
{
	size_t n = gen->nprobes;
	char *specs = NULL;
	struct usdt_loaded *obj = calloc(1, sizeof *obj);
	uint8_t *stubs = NULL;
	struct usdt_type_note_plan meta = { 0 };
	int rc = -1, dtrace = usdt_dtrace_wanted();

	/* scratch: spec[] and meta.same, then (16-aligned) the image */
	size_t arrays = (n * (sizeof(struct usdt_elf_spec) + 1) + 15) & ~(size_t)15;
	uint8_t *mem = scratch_get(arrays, 0);
	if (obj == NULL || mem == NULL) {
		usdt_errf(err, "out of memory");
		goto out;
	}
	struct usdt_elf_spec *spec = (struct usdt_elf_spec *)mem;
	meta.same = mem + n * sizeof *spec;
	uint8_t build_id[USDT_ELF_BUILD_ID_SIZE];
	make_build_id(provider, gen, build_id);
	/* The names tracers see, back to back after the provider name in
	 * gen->names (usdt.c's collect(), backend.h). */
	size_t provlen = strlen(provider->name);
	const char *names = gen->names + provlen + 1, *last = n > 0 ? gen->bindings[n - 1].name : NULL;
	struct usdt_elf_desc desc = { .provider = provider->name, .provlen = provlen, .nprobes = n,
	                              .names = names,
	                              .names_size = last != NULL ? (size_t)(last + strlen(last) + 1 - names) : 0,
	                              .spec = spec, .build_id = build_id,
	                              .ro_dynamic = loader_accepts_ro_dynamic() };
	if (make_argspecs(gen, spec, &specs, &desc.specs_total, err) != 0)
		goto out;
	desc.specs = specs;
	if ((desc.meta_notes_size = usdt_type_note_plan(provider, gen, &meta, err)) == 0)
		goto out;
	if (dtrace) {       /* DTrace stubs ride in the same object */
		stubs = malloc(n * USDT_DTRACE_STUBS_PER_PROBE);
		if (stubs == NULL) {
			usdt_errf(err, "out of memory");
			goto out;
		}
		if (usdt_dtrace_prepare(provider, gen, stubs, err) != 0)
			goto out;
		desc.extra_text = stubs;
		desc.extra_text_size = n * USDT_DTRACE_STUBS_PER_PROBE;
	}
	size_t bound = usdt_elf_bound(&desc, err);
	if (bound == 0)
		goto out;
	if ((mem = scratch_get(arrays + bound, arrays)) == NULL) {
		usdt_errf(err, "out of memory building a %zu-byte ELF object", bound);
		goto out;
	}
	desc.spec = spec = (struct usdt_elf_spec *)mem;
	meta.same = mem + n * sizeof *spec;
	uint8_t *image = mem + arrays;
	struct usdt_elf_layout layout;
	/* the image is linked where the map strategy will map it (0 when
	 * it is not in the list): loader.h, usdt_loader_reserve() */
	struct usdt_reservation resv;
	usdt_loader_reserve(bound, provider->name, &resv);
	desc.base = resv.base;
	usdt_elf_write(&desc, image, &layout);
	usdt_type_note_write(provider, gen, &meta, image + layout.meta);
	if (usdt_load(image, layout.size, provider->name, &resv, obj, err) != 0)
		goto out;
	/* obj->base: the load bias (0 when mapped where it was linked) */
	for (size_t i = 0; i < n; i++) {
		gen->bindings[i].site = (const unsigned char *)(uintptr_t)(obj->base + layout.text + i * USDT_ARCH_SITE_STRIDE);
		gen->bindings[i].sem = (const volatile uint16_t *)(uintptr_t)(obj->base + layout.probes + 2 * i);
	}
	if (dtrace && usdt_dtrace_publish(provider, gen, obj->base + layout.extra_text, err) != 0) {
		char ignored[USDT_ERRMSG_MAX];
		usdt_unload(obj, ignored);
		goto out;
	}
	gen->sites = obj;
	obj = NULL;
	rc = 0;
out:
	usdt_type_note_plan_free(&meta);
	free(stubs);
	free(obj);
	free(specs);
	scratch_done();
	return rc;
}

int usdt_sites_dtrace(void)
{
	return usdt_dtrace_wanted();
}

int usdt_sites_hide(struct usdt_generation *gen, char *err)
{
	char ignored[USDT_ERRMSG_MAX];
	if (gen->hidden)
		return 0;
	gen->hidden = 1;
	int rc = usdt_dtrace_retire(gen, err);
	if (gen->sites != NULL && usdt_loader_hide(gen->sites, rc == 0 ? err : ignored) != 0)
		rc = -1;
	return rc;
}

int usdt_sites_intact(const struct usdt_generation *gen)
{
	return gen->hidden || gen->sites == NULL || usdt_loaded_intact(gen->sites);
}

const char *usdt_sites_path(const struct usdt_generation *gen)
{
	const struct usdt_loaded *obj = gen->sites;
	return obj != NULL && !gen->hidden ? obj->path : "";
}

unsigned long usdt_sites_lost(void)
{
	return usdt_loader_lost();
}

int usdt_sites_retire(struct usdt_generation *gen, char *err)
{
	struct usdt_loaded *obj = gen->sites;
	char ignored[USDT_ERRMSG_MAX];
	int rc = usdt_sites_hide(gen, err);
	if (obj != NULL) {
		if (usdt_unload(obj, rc == 0 ? err : ignored) != 0)
			rc = -1;
		free(obj);
	}
	gen->sites = NULL;
	return rc;
}
