/*
 * backend.h — the interface between the provider model (usdt.c) and the
 * mechanisms that publish probes to tracers.
 *
 * Enabling a provider creates a "generation": an immutable snapshot of its
 * probe list, published by every backend available on this platform:
 *   - the site backend (Linux: linux/backend_elf.c) builds and loads the
 *     code that holds the probe sites and semaphores, and fills in one
 *     binding per probe: that is what usdt_fire_probe() calls;
 *   - further backends (the DTrace DOF backend) describe the same sites to
 *     other tracing systems, using the addresses the site backend produced.
 * A generation is destroyed (after a grace period, see reader.h) on
 * disable, or when the probe list of an enabled provider changes.
 */
#ifndef USDT_BACKEND_H
#define USDT_BACKEND_H

#include "usdt_internal.h"

struct usdt_generation {
	size_t nprobes;
	usdt_probedef_t **defs;           /* the probe list at enable time */
	struct usdt_binding *bindings;    /* one per probe, same order */
	void *sites;                      /* site backend state */
	void *extra;                      /* DOF backend state, or NULL */
	int hidden;                       /* usdt_sites_hide() was called */
	char *names;                      /* provider and probe names of the bindings */
};
/* usdt.c fills each binding's provider, name (the Linux form, '-' as "__")
 * and argc before the backends run; gen->names holds the provider name
 * then every probe's name, each NUL-terminated, back to back in probe
 * order (what the site backend puts in the ELF object as they are). */

/* Site backend: build and load the probe sites of `gen` for `provider`
 * and fill gen->bindings. 0, or -1 with a message in err. */
int usdt_sites_publish(const usdt_provider_t *provider, struct usdt_generation *gen, char *err);
/* Make them invisible to every tracer while they stay mapped (threads may
 * still be running them; usdt.c unloads them after a grace period): the
 * DTrace registration is removed, the object's descriptor and file are
 * released and its link-map name changed. Idempotent. 0, or -1 with a
 * message in err (the rest is still done). */
int usdt_sites_hide(struct usdt_generation *gen, char *err);
/* The path tracers use for the object (e.g. /proc/PID/fd/N), or "". */
const char *usdt_sites_path(const struct usdt_generation *gen);
/* 0 if the program closed or replaced the descriptor tracers find the
 * object through (close-all-fds, dup2): the generation should be rebuilt.
 * 1 otherwise. One fstat(). */
int usdt_sites_intact(const struct usdt_generation *gen);
/* Changes when the program may have closed descriptors of loaded objects
 * (then usdt_sites_intact() is worth asking of every generation). */
unsigned long usdt_sites_lost(void);
/* 1 if publishing also describes the probes to DTrace (a helper device is
 * present), which reads arguments only from the ABI's registers. */
int usdt_sites_dtrace(void);
/* Unload them (hiding them first if that was not done). 0, or -1 with a
 * message in err (resources are freed anyway). */
int usdt_sites_retire(struct usdt_generation *gen, char *err);

#endif
