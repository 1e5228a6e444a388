/*
 * backend_elf.c — the Linux site backend: turn a generation's probe list
 * into an ELF object (elf_image.c), load it (loader.c), and bind each probe
 * to its site and semaphore in the loaded object.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "backend.h"
#include "linux/elf_image.h"
#include "linux/loader.h"

/* Longest argument spec: 32 args of "-8@%r9b"/"-8@248(%rsp)" plus spaces. */
#define ARGSPEC_MAX (USDT_ARG_MAX * 16)

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
 * refuses a known build-id seen under another path. */
static void make_build_id(const usdt_provider_t *provider, const struct usdt_generation *gen,
                          uint8_t out[USDT_ELF_BUILD_ID_SIZE])
{
	static unsigned long counter;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t h = fnv1a(0xcbf29ce484222325ull, provider->name);
	for (size_t i = 0; i < gen->nprobes; i++)
		h = fnv1a(h, gen->defs[i]->name);
	h ^= mix64((uint64_t)getpid() << 32 ^ __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
	h ^= mix64((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	for (size_t i = 0; i < USDT_ELF_BUILD_ID_SIZE; i += 8) {
		h = mix64(h);
		size_t n = USDT_ELF_BUILD_ID_SIZE - i < 8 ? USDT_ELF_BUILD_ID_SIZE - i : 8;
		memcpy(out + i, &h, n);
	}
}

int usdt_sites_publish(const usdt_provider_t *provider, struct usdt_generation *gen, char *err)
{
	size_t n = gen->nprobes;
	struct usdt_elf_probe *probes = calloc(n, sizeof *probes);
	char *specs = malloc(n * ARGSPEC_MAX);
	struct usdt_loaded *obj = calloc(1, sizeof *obj);
	uint8_t *image = NULL;
	int rc = -1;

	if (probes == NULL || specs == NULL || obj == NULL) {
		usdt_errf(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		usdt_probedef_t *pd = gen->defs[i];
		char *spec = specs + i * ARGSPEC_MAX;
		if (usdt_arch_argspec(spec, ARGSPEC_MAX, pd->argc, (const int8_t *)pd->_argsize) < 0) {
			usdt_errf(err, "probe %s: argument spec too long", pd->name);
			goto out;
		}
		probes[i].name = pd->name;
		probes[i].argspec = spec;
	}
	uint8_t build_id[USDT_ELF_BUILD_ID_SIZE];
	make_build_id(provider, gen, build_id);
	struct usdt_elf_desc desc = { provider->name, probes, n, build_id };
	struct usdt_elf_layout layout;
	if (usdt_elf_build(&desc, &image, &layout, err) != 0)
		goto out;
	if (usdt_load(image, layout.size, provider->name, obj, err) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		gen->bindings[i].site = (const unsigned char *)(obj->base + layout.text + i * USDT_ARCH_SITE_STRIDE);
		gen->bindings[i].sem = (const volatile uint16_t *)(obj->base + layout.probes + 2 * i);
		gen->bindings[i].argc = gen->defs[i]->argc;
	}
	gen->sites = obj;
	obj = NULL;
	rc = 0;
out:
	free(image);
	free(obj);
	free(specs);
	free(probes);
	return rc;
}

int usdt_sites_retire(struct usdt_generation *gen, char *err)
{
	struct usdt_loaded *obj = gen->sites;
	int rc = 0;
	if (obj != NULL) {
		rc = usdt_unload(obj, err);
		free(obj);
	}
	gen->sites = NULL;
	return rc;
}
