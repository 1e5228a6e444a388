/*
 * dtrace_linux.h — DTrace on Linux (Oracle's dtrace-utils): the same probes
 * also published as a DOF document, when a DTrace helper device exists.
 */
#ifndef USDT_DTRACE_LINUX_H
#define USDT_DTRACE_LINUX_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* Bytes per probe of DTrace stubs placed in the ELF object's .text: a
 * probe stub and an is-enabled stub, each in a slot of
 * usdt_dof_stub_size(USDT_DOF_LINUX) bytes (16 on x86_64, 32 on aarch64;
 * 0 where dof_stub.c has no stubs, and then no DTrace). */
size_t usdt_dtrace_stubs_per_probe(void);
#define USDT_DTRACE_STUBS_PER_PROBE usdt_dtrace_stubs_per_probe()

/* Is DTrace here (a helper device that can be opened)? 1 yes, 0 no. */
int usdt_dtrace_wanted(void);

/* Check the generation's names and types against what DTrace accepts, and
 * write `n` probes' stubs (probe stub, then is-enabled stub, one slot
 * each) into `stubs` (USDT_DTRACE_STUBS_PER_PROBE * n bytes). */
int usdt_dtrace_prepare(const usdt_provider_t *provider, const struct usdt_generation *gen, uint8_t *stubs,
                        char *err);

/* The stubs are loaded at `stubs_addr`: build the DOF document, put it in
 * its own sealed memfd mapping, check it, register it with the helper
 * device, and point each binding's dt_* fields at its stubs. Sets
 * gen->extra. 0 or -1 with a message. */
int usdt_dtrace_publish(const usdt_provider_t *provider, struct usdt_generation *gen, uintptr_t stubs_addr,
                        char *err);

/* Remove the registration and the document mapping (gen->extra). */
int usdt_dtrace_retire(struct usdt_generation *gen, char *err);

#endif
