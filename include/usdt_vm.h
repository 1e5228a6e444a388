/*
 * usdt_vm.h — libusdt's low-level interface for language VMs and JITs.
 *
 * usdt.h is enough for a binding: it asks usdt_is_enabled() and calls
 * usdt_fire_probe(), a few nanoseconds each. A VM that compiles code at run
 * time can do better, and this header gives it what a C compiler gets from
 * <sys/sdt.h>:
 *
 *   1. Introspection. For a live probe, usdt_vm_probe_info() gives the
 *      address of its site (the code tracers put their breakpoint on: call
 *      it), of its semaphore (a 16-bit counter tracers increment while
 *      attached) and the generation of those addresses. Generated code can
 *      then inline the whole untraced path, exactly like a compiled-in
 *      semaphore check:
 *
 *          if (*(uint8_t *)site != site_idle_byte)
 *                  site(args...);            // one call, nothing else
 *
 *      Every Linux tracer (bpftrace, bcc, perf, GDB, SystemTap, libbpf)
 *      attaches by putting a breakpoint on the site (int3, or a call once
 *      the kernel optimises the uprobe), so the site's first byte alone
 *      says "traced", including for tracers that do not count in the
 *      semaphore (a raw uprobe, a GDB breakpoint); one load and a branch,
 *      the cost of a compiled-in sys/sdt.h semaphore check (README, "For
 *      language VMs"). `*semaphore != 0 || ...` adds the semaphore for
 *      tracers that would count without a breakpoint (none known), at the
 *      cost of a second load. Fires of JIT code do not go through
 *      libusdt:fire (usdt.h: the system-wide probe).
 *
 *   2. Change notification, so that inlined addresses are never used after
 *      libusdt unmaps them. Every change that moves or removes a probe's
 *      addresses (add/remove of a probe in an enabled provider, disable,
 *      free, a second provider of the same name, a rebuild after the
 *      program closed libusdt's descriptors) advances a process-wide
 *      generation. An object whose addresses a client (the JIT) may have
 *      inlined is not unmapped when it is replaced: it is hidden from
 *      tracers at once and stays mapped until every client has
 *      acknowledged the generation that replaced it. The protocol:
 *
 *        - usdt_vm_client_create(notify, arg) before reading any address;
 *          usdt_vm_probe_info() takes the client, so addresses can only be
 *          obtained by a registered client;
 *        - when the generation advances to G, libusdt calls notify(client,
 *          G, arg) from the thread that made the change, after it released
 *          its locks and before that call returns. Old addresses are still
 *          mapped: code that uses them keeps working (its probes are no
 *          longer seen by tracers that attach from now on);
 *        - the client reads usdt_vm_probe_info() again for the probes it
 *          inlined (a probe whose info.generation did not change kept its
 *          addresses), switches its threads to code with the new addresses
 *          (or with no probe, if it is no longer live), and once no thread
 *          can run code holding the old ones (its own safepoint, epoch or
 *          deoptimisation mechanism: libusdt cannot know), calls
 *          usdt_vm_client_ack(client, G). Acknowledging G acknowledges
 *          every generation before it too;
 *        - objects replaced at generation <= the smallest acknowledged
 *          generation of all clients are then unmapped (at the ack, or at a
 *          later libusdt call). A client that never acknowledges keeps them
 *          mapped: memory, never a crash. usdt_vm_client_free() withdraws
 *          the client and its holds.
 *      Rules for notify: it may call any libusdt function except
 *      usdt_vm_client_create() and usdt_vm_client_free() (refused there
 *      with USDT_ERROR_INVALID: they wait for notify calls), and must not
 *      fork(). Calls of notify are serialised process-wide (one at a
 *      time), and each call to a client carries a generation greater than
 *      the one before (two quick changes may be reported once, with the
 *      later generation; a change made by notify itself is reported after
 *      it returns).
 *
 *   3. Alternative provision of tracepoints. usdt_vm_create_probe() declares
 *      a probe whose arguments are not passed as C call arguments but read
 *      where the VM already keeps them when it calls the site: a register,
 *      or memory at register + offset (for instance the interpreter's frame
 *      register). The probe's note describes those locations, so bpftrace,
 *      bcc, GDB, perf and libbpf read the values themselves and firing
 *      costs the VM one call and no marshalling. The site clobbers no
 *      register (it is a nop and a return): the VM calls it with whatever
 *      is live, as at any call of its own, and at the site's first
 *      instruction the stack pointer points at the return address.
 *      Such probes cannot be fired with usdt_fire_probe() (which passes C
 *      arguments: it does nothing for them; usdt_is_enabled() works).
 *      DTrace reads a probe's arguments from the ABI argument registers,
 *      and DOF has no way to say otherwise: where DTrace is in use (a
 *      /dev/dtrace/helper exists), enabling a provider with such a probe
 *      fails with USDT_ERROR_UNSUPPORTED and a message that says so.
 *
 * Everything else (names, types, threads, fork, errors) is as usdt.h says.
 * Declared here, part of the stable ABI of libusdt.so.1.
 */
#ifndef USDT_VM_H
#define USDT_VM_H

#include "usdt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------ VM-chosen locations */

/*
 * Where the VM keeps one argument at the moment it calls the probe site.
 * `reg` is a general-purpose register, named as the platform's assembler
 * names its full-width form, without '%':
 *   x86_64  rax rbx rcx rdx rsi rdi rbp rsp r8 .. r15
 *   aarch64 x0 .. x30 (not sp: bcc before 0.29, and so bpftrace 0.17,
 *           cannot read memory based on sp)
 *   i386    eax ebx ecx edx esi edi ebp esp (8-byte types only in memory)
 * deref 0: the argument is the register's value, narrowed to the
 * declared type's size; deref 1: it is the declared type's bytes in
 * memory at reg + offset (rsp/esp as they are at the site's first
 * instruction, i.e. pointing at the return address of the call).
 * The declared type (the probe's types[i]) gives size and signedness.
 */
typedef struct usdt_vm_loc {
	const char *reg;
	int deref;
	int32_t offset;
} usdt_vm_loc_t;

/*
 * usdt_create_probe() with a location per argument (locs[0..argc)); the
 * register names are checked here (USDT_ERROR_BADTYPE names the bad one).
 * Add, enable, remove and release it like any other definition.
 */
USDT_API usdt_probedef_t *usdt_vm_create_probe(const char *func, const char *name, size_t argc,
                                               const char **types, const usdt_vm_loc_t *locs);

/* ------------------------------------------------------ notification */

typedef struct usdt_vm_client usdt_vm_client_t;

/* Called when the generation advanced to `generation` (see above). */
typedef void (*usdt_vm_notify_fn)(usdt_vm_client_t *client, uint64_t generation, void *arg);

/* Register a client (notify may be NULL for a client that polls
 * usdt_vm_generation() instead). NULL on error (usdt_last_errstr()). */
USDT_API usdt_vm_client_t *usdt_vm_client_create(usdt_vm_notify_fn notify, void *arg);

/* No code of the client uses addresses of objects replaced at or before
 * `generation` any more. Acknowledging a generation not reached yet is
 * USDT_ERROR_INVALID. Any thread, also from notify. 0 or -1. */
USDT_API int usdt_vm_client_ack(usdt_vm_client_t *client, uint64_t generation);

/* Withdraw a client: as if it acknowledged everything. Waits for a
 * running notify call to return (so never call it from notify). NULL is
 * ignored. */
USDT_API void usdt_vm_client_free(usdt_vm_client_t *client);

/* The current generation (one atomic load; 1 before any change). */
USDT_API uint64_t usdt_vm_generation(void);

/* ----------------------------------------------------- introspection */

/* How the site takes its arguments. */
#define USDT_VM_CALL_C       0   /* as a C function of argc machine words:
                                    void site(uintptr_t a0, ..., a(argc-1)),
                                    exactly what usdt_fire_probe() passes */
#define USDT_VM_CALL_LOCATED 1   /* where the probe's locations say */

/* Longest note argument string (a few bytes per argument). */
#define USDT_VM_ARGSPEC_MAX (USDT_ARG_MAX * 24)

typedef struct usdt_vm_probe {
	uint64_t generation;                /* when these addresses appeared */
	const void *site;                   /* call target; NULL if not live */
	const volatile uint16_t *semaphore; /* 16-bit, non-zero while traced */
	uint8_t site_idle_byte;             /* first byte of an untraced site */
	int call;                           /* USDT_VM_CALL_C or _LOCATED */
	int dtrace;                         /* 1: DTrace stubs too; generated
	                                       code must call usdt_fire_probe() */
	size_t argc;
	char argspec[USDT_VM_ARGSPEC_MAX];  /* the note's argument string */
} usdt_vm_probe_t;

/*
 * Fill *info for the probe of definition `pd`: returns 1 if it is live
 * (its provider enabled), 0 if not (info->site and ->semaphore NULL), -1
 * on error (NULL or freed client or definition). The addresses stay valid
 * until the client acknowledges a generation above info->generation that
 * changed them.
 */
USDT_API int usdt_vm_probe_info(usdt_vm_client_t *client, const usdt_probedef_t *pd, usdt_vm_probe_t *info);

#ifdef __cplusplus
}
#endif
#endif /* USDT_VM_H */
