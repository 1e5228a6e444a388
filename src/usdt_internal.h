/*
 * usdt_internal.h — the provider/probe model shared by the public API
 * (usdt.c) and the backends.
 *
 * A provider is a list of probe definitions. Enabling it asks each backend
 * (backend.h) to publish the probes: the Linux ELF backend builds and loads
 * one ELF object per provider; the DOF backend describes the same probes to a
 * DTrace helper device. The result of an enable is, per probe, a "binding":
 * the address of the probe site to call and of the semaphore to read. Each
 * usdt_probe_t holds an atomic pointer to its current binding, swapped on
 * enable/rebuild and cleared on disable; reader.h makes sure the memory a
 * binding points into is unmapped only after no thread can still use it.
 */
#ifndef USDT_INTERNAL_H
#define USDT_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include "usdt.h"

#define USDT_MAGIC_PROVIDER 0x50525631u   /* "PRV1" */
#define USDT_MAGIC_PROBEDEF 0x50444631u   /* "PDF1" */
#define USDT_MAGIC_PROBE    0x50524231u   /* "PRB1" */
#define USDT_MAGIC_DEAD     0xdeadbeefu   /* written into freed objects */

/* Longest error message kept (longer ones are truncated). */
#define USDT_ERRMSG_MAX 512

/* An enable makes a few passes over its definitions (gen->defs[]: usdt.c's
 * publish, backend_elf.c's argument specs, type_note.c's plan), each
 * reading a few fields of every one: ~400 bytes each, scattered on the
 * heap, so a pass waits on a cache line per definition and field. Each
 * pass asks for the lines it reads USDT_DEFS_AHEAD definitions ahead. */
#define USDT_DEFS_AHEAD 8
#define USDT_PREFETCH_DEF(defs, i, n, field)                                                         \
	do {                                                                                         \
		if ((i) + USDT_DEFS_AHEAD < (n))                                                     \
			__builtin_prefetch((const char *)(defs)[(i) + USDT_DEFS_AHEAD] +            \
			                   offsetof(usdt_probedef_t, field));                         \
	} while (0)

/* The module DTrace shows for a provider created with an empty module. */
#define USDT_DTRACE_DEFAULT_MODULE "libusdt"

/* Per argument flag: the type is a NUL-terminated string (char *). */
#define USDT_ARGF_STRING 0x1
/* ... the string is JSON text ("json"; probedef->types[] says "char *"). */
#define USDT_ARGF_JSON 0x2
/* ... a pointer to a registered structure: types[] is its "struct X *"
 * (structs.h, usdt_struct_of_ptr_type). */
#define USDT_ARGF_STRUCT 0x4

/*
 * Where one probe lives in one loaded object: the site to call and the
 * semaphore to read, plus the DTrace stubs when DTrace is present.
 * Immutable once published; freed only after a grace period (reader.h).
 */
struct usdt_binding {
	const unsigned char *site;           /* stapsdt probe site */
	const volatile uint16_t *sem;        /* its semaphore */
	size_t argc;
	const unsigned char *dt_stub;        /* DTrace probe stub, or NULL */
	const unsigned char *dt_probe_tp;    /* its tracepoint byte */
	const unsigned char *dt_isen_tp;     /* DTrace is-enabled tracepoint byte */
	const char *provider;                /* names for libusdt:fire (owned by the */
	const char *name;                    /*   generation: valid as long as this) */
	uint64_t vm_gen;                     /* generation it was published in (vm.h) */
	int located;                         /* arguments at VM-chosen locations: */
	                                     /*   usdt_fire_probe() cannot pass them */
};

#define USDT_LIKELY(x) __builtin_expect(!!(x), 1)
#define USDT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define USDT_HIDDEN __attribute__((visibility("hidden")))

/* Error recording (error.c). Formats a message, stores it on the provider
 * (if any) and in the calling thread's last-error slot. Returns -1. */
USDT_HIDDEN int usdt_fail(usdt_provider_t *provider, usdt_error_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Backend-side error buffer helpers: a backend writes a message into `err`
 * (size USDT_ERRMSG_MAX) and returns -1; usdt.c turns it into usdt_fail. */
USDT_HIDDEN int usdt_errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Poisoned objects go here instead of free() (quarantine.c). */
USDT_HIDDEN void usdt_quarantine(void *obj);

#endif
