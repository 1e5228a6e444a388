/*
 * dtrace_linux.c — publish a provider to DTrace on Linux (dtrace-utils 2.x)
 * in addition to the stapsdt notes, when /dev/dtrace/helper exists.
 *
 * DTrace reads probes from DOF documents registered through the helper
 * device; dtrace-utils then puts uprobes on the tracepoints the document
 * names. Those must be in a named file-backed mapping (uprobes are inode +
 * offset), so the stubs live in the provider's ELF object, after the
 * stapsdt sites, and the document lives in a memfd of its own (one file per
 * document), mapped read-only at the address the document declares.
 *
 * DTrace stubs differ from stapsdt sites: at a DTrace probe tracepoint the
 * registers and the stack must look as at a `dtrace -G` call site (x86_64:
 * the 7th argument at 0(%rsp); aarch64: the 9th at [sp]), and the
 * is-enabled stub follows the pointer-argument convention of DOF v3
 * (src/dof/dof_stub.c has the code; each stub gets a slot of
 * usdt_dof_stub_size() bytes: 16 on x86_64, 32 on aarch64). So a fire calls
 * the stapsdt site when a Linux tracer is attached and the DTrace stub when
 * DTrace has put a uprobe on its tracepoint; usdt_is_enabled() sees both.
 * Without a helper device nothing here runs and nothing is reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dof/dof.h"
#include "dof/dof_format.h"
#include "linux/dtrace_linux.h"
#include "linux/loader.h"


/* One stub's slot: the host's Linux profile decides (dof_stub.c). */
#define STUB_SLOT usdt_dof_stub_size(USDT_DOF_LINUX)

struct dtrace_state {
	struct usdt_dof_registration reg;
	int fd;
	void *doc;
	size_t len;
};

size_t usdt_dtrace_stubs_per_probe(void)
{
	return 2 * STUB_SLOT;
}

/* Only where dof_stub.c has stubs for this architecture (x86_64, aarch64):
 * elsewhere a helper device is ignored and the providers serve the
 * stapsdt tracers. */
int usdt_dtrace_wanted(void)
{
	struct dof_stub_info info;
	usdt_dof_arch_info(&info);
	return info.has_code && STUB_SLOT != 0 && usdt_dof_device_present(USDT_DOF_LINUX) == 1;
}

/* DTrace needs a module and a function; libusdt allows both empty. */
static const char *module_of(const usdt_provider_t *p)
{
	return p->module[0] != '\0' ? p->module : USDT_DTRACE_DEFAULT_MODULE;
}

static const char *function_of(const usdt_probedef_t *pd)
{
	return pd->function[0] != '\0' ? pd->function : pd->name;
}

int usdt_dtrace_prepare(const usdt_provider_t *provider, const struct usdt_generation *gen, uint8_t *stubs,
                        char *err)
{
	char msg[USDT_ERRMSG_MAX];
	size_t sz = STUB_SLOT, site;
	for (size_t i = 0; i < gen->nprobes; i++) {
		const usdt_probedef_t *pd = gen->defs[i];
		if (usdt_dof_check_names(USDT_DOF_LINUX, provider->name, module_of(provider), function_of(pd),
		                         pd->name, pd->argc, (const char *const *)pd->types, msg, sizeof msg) != 0)
			return usdt_errf(err, "DTrace: %s", msg);
		/* each stub fills its whole slot (padded: int3 / udf #0) */
		uint8_t *slot = stubs + i * 2 * sz;
		if (sz == 0 || usdt_dof_stub_probe(USDT_DOF_LINUX, slot, sz, &site) != sz ||
		    usdt_dof_stub_isenabled(USDT_DOF_LINUX, slot + sz, sz, &site) != sz)
			return usdt_errf(err, "DTrace: no tracepoint stubs for this architecture");
	}
	return 0;
}

static void free_state(struct dtrace_state *st)
{
	if (st->doc != NULL && st->doc != MAP_FAILED)
		munmap(st->doc, st->len);
	if (st->fd >= 0)
		close(st->fd);
	free(st);
}

int usdt_dtrace_publish(const usdt_provider_t *provider, struct usdt_generation *gen, uintptr_t stubs_addr,
                        char *err)
{
	size_t n = gen->nprobes, probe_site, isen_site, sz = STUB_SLOT;
	uint8_t scratch[USDT_DOF_STUB_MAX];
	char msg[USDT_ERRMSG_MAX];
	void *doc = NULL;
	size_t len = 0;
	struct usdt_dof_probe_desc *pr = calloc(n, sizeof *pr);
	uint64_t *sites = calloc(2 * n, sizeof *sites);
	struct dtrace_state *st = calloc(1, sizeof *st);
	if (pr == NULL || sites == NULL || st == NULL) {
		free(pr);
		free(sites);
		free(st);
		return usdt_errf(err, "out of memory");
	}
	st->fd = -1;
	usdt_dof_stub_probe(USDT_DOF_LINUX, scratch, sizeof scratch, &probe_site);
	usdt_dof_stub_isenabled(USDT_DOF_LINUX, scratch, sizeof scratch, &isen_site);
	for (size_t i = 0; i < n; i++) {
		uintptr_t slot = stubs_addr + i * 2 * sz;
		pr[i].function = function_of(gen->defs[i]);
		pr[i].name = gen->defs[i]->name;
		pr[i].argc = gen->defs[i]->argc;
		pr[i].types = (const char *const *)gen->defs[i]->types;
		pr[i].probe_addr = slot;
		pr[i].isenabled_addr = slot + sz;
		sites[i] = slot + probe_site;
		sites[n + i] = slot + sz + isen_site;
	}
	struct usdt_dof_provider_desc pv = { provider->name, module_of(provider), pr, n, 0 };

	/* The size does not depend on the base: build once to size the
	 * mapping, then again for the address it got. */
	if (usdt_dof_build(USDT_DOF_LINUX, &pv, &doc, &len, msg, sizeof msg) != 0) {
		usdt_errf(err, "DTrace: %s", msg);
		goto fail;
	}
	free(doc);
	doc = NULL;
	char name[96];
	snprintf(name, sizeof name, "libusdt-dof:%s", provider->name);
	st->fd = usdt_memfd_create(name);
	if (st->fd < 0 || ftruncate(st->fd, (off_t)len) != 0) {
		usdt_errf(err, "DTrace: memfd for the DOF document: %s", strerror(errno));
		goto fail;
	}
	st->len = len;
	/* private and read-only: it still shows what is written to the file
	 * below, and it does not stop the file from being sealed against writes */
	st->doc = mmap(NULL, len, PROT_READ, MAP_PRIVATE, st->fd, 0);
	if (st->doc == MAP_FAILED) {
		usdt_errf(err, "DTrace: mapping the DOF document: %s", strerror(errno));
		goto fail;
	}
	pv.base = (uint64_t)(uintptr_t)st->doc;
	size_t len2 = 0;
	int built = usdt_dof_build(USDT_DOF_LINUX, &pv, &doc, &len2, msg, sizeof msg) == 0;
	if (!built || len2 != len) {
		usdt_errf(err, "DTrace: %s", built ? "DOF size changed with its base" : msg);
		goto fail;
	}
	if (pwrite(st->fd, doc, len, 0) != (ssize_t)len || usdt_memfd_seal(st->fd) != 0) {
		usdt_errf(err, "DTrace: writing the DOF document: %s", strerror(errno));
		goto fail;
	}
	struct usdt_dof_sites where = { pv.base, module_of(provider), sites, n, sites + n, n, 1 };
	if (usdt_dof_validate(USDT_DOF_LINUX, st->doc, len, &where, msg, sizeof msg) != 0) {
		usdt_errf(err, "DTrace: generated DOF fails validation: %s", msg);
		goto fail;
	}
	int rc = usdt_dof_register(USDT_DOF_LINUX, st->doc, len, module_of(provider), &st->reg, msg, sizeof msg);
	if (rc < 0) {
		usdt_errf(err, "DTrace: %s", msg);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		gen->bindings[i].dt_stub = (const unsigned char *)(uintptr_t)pr[i].probe_addr;
		gen->bindings[i].dt_probe_tp = (const unsigned char *)(uintptr_t)sites[i];
		gen->bindings[i].dt_isen_tp = (const unsigned char *)(uintptr_t)sites[n + i];
	}
	gen->extra = st;
	free(doc);
	free(pr);
	free(sites);
	return 0;
fail:
	free(doc);
	free(pr);
	free(sites);
	free_state(st);
	return -1;
}

int usdt_dtrace_retire(struct usdt_generation *gen, char *err)
{
	struct dtrace_state *st = gen->extra;
	char msg[USDT_ERRMSG_MAX];
	int rc = 0;
	if (st == NULL)
		return 0;
	if (usdt_dof_unregister(&st->reg, msg, sizeof msg) != 0)
		rc = usdt_errf(err, "DTrace: %s", msg);
	free_state(st);
	gen->extra = NULL;
	return rc;
}
