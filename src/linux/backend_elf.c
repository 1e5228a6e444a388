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

/* Same argument signature (count and signed sizes) as the previous probe? */
static int same_signature(const usdt_probedef_t *a, const usdt_probedef_t *b)
{
	return a->argc == b->argc && memcmp(a->_argsize, b->_argsize, a->argc) == 0 && a->_vm == NULL && b->_vm == NULL;
}

/*
 * The note argument string of every probe, packed into one buffer: a
 * probe with the same signature as the one before it shares its string
 * (the common case: providers declare many probes of a few shapes), so
 * the work and the memory are proportional to the distinct strings, not
 * to n x ARGSPEC_MAX (a 100 000-probe provider would touch 51 MB).
 * The Linux form of each probe name with a '-' is stored there too.
 * Returns the buffer (free it), or NULL with a message in err.
 */
static char *make_argspecs(const struct usdt_generation *gen, struct usdt_elf_probe *probes, char *err)
{
	size_t cap = 4096, used = 0;
	size_t *off = malloc(2 * gen->nprobes * sizeof *off);   /* specs, then names */
	char *buf = malloc(cap), one[ARGSPEC_MAX];
	if (off == NULL || buf == NULL)
		goto nomem;
	for (size_t i = 0; i < gen->nprobes; i++) {
		const usdt_probedef_t *pd = gen->defs[i];
		if (i > 0 && same_signature(pd, gen->defs[i - 1])) {
			off[i] = off[i - 1];
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
		off[i] = used;
		used += (size_t)len + 1;
	}
	/* Names with a '-' go to the note in their Linux form (names.h: '-'
	 * is "__"), appended to the same buffer; off[n + i] is 0 for a name
	 * used as is (offset 0 always holds an argument spec). */
	for (size_t i = 0; i < gen->nprobes; i++) {
		const char *name = gen->defs[i]->name;
		off[gen->nprobes + i] = 0;
		if (strchr(name, '-') == NULL)
			continue;
		size_t len = usdt_name_linux_len(name);
		if (used + len + 1 > cap) {
			while (used + len + 1 > cap)
				cap *= 2;
			char *b = realloc(buf, cap);
			if (b == NULL)
				goto nomem;
			buf = b;
		}
		usdt_name_linux(buf + used, name);
		off[gen->nprobes + i] = used;
		used += len + 1;
	}
	for (size_t i = 0; i < gen->nprobes; i++) {
		size_t noff = off[gen->nprobes + i];
		probes[i].name = noff != 0 ? buf + noff : gen->defs[i]->name;
		probes[i].namelen = strlen(probes[i].name);
		probes[i].argspec = buf + off[i];
		probes[i].speclen = strlen(probes[i].argspec);
	}
	free(off);
	return buf;
nomem:
	usdt_errf(err, "out of memory");
fail:
	free(off);
	free(buf);
	return NULL;
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
	struct usdt_elf_probe *probes = calloc(n, sizeof *probes);
	char *specs = NULL;
	struct usdt_loaded *obj = calloc(1, sizeof *obj);
	uint8_t *image = NULL, *stubs = NULL, *meta = NULL;
	int rc = -1, dtrace = usdt_dtrace_wanted();

	if (probes == NULL || obj == NULL) {
		usdt_errf(err, "out of memory");
		goto out;
	}
	specs = make_argspecs(gen, probes, err);
	if (specs == NULL)
		goto out;
	uint8_t build_id[USDT_ELF_BUILD_ID_SIZE];
	make_build_id(provider, gen, build_id);
	struct usdt_elf_desc desc = { .provider = provider->name, .probes = probes, .nprobes = n,
	                              .build_id = build_id, .ro_dynamic = loader_accepts_ro_dynamic() };
	if ((meta = usdt_type_note_build(provider, gen, &desc.meta_notes_size, err)) == NULL)
		goto out;
	desc.meta_notes = meta;
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
	struct usdt_elf_layout layout;
	if (usdt_elf_build(&desc, &image, &layout, err) != 0)
		goto out;
	if (usdt_load(image, layout.size, provider->name, obj, err) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		gen->bindings[i].site = (const unsigned char *)(uintptr_t)(obj->base + layout.text + i * USDT_ARCH_SITE_STRIDE);
		gen->bindings[i].sem = (const volatile uint16_t *)(uintptr_t)(obj->base + layout.probes + 2 * i);
		gen->bindings[i].argc = gen->defs[i]->argc;
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
	free(stubs);
	free(meta);
	free(image);
	free(obj);
	free(specs);
	free(probes);
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
