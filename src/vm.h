/*
 * vm.h — the core's side of the interface for language VMs and JITs
 * (include/usdt_vm.h): the generation counter, the clients' holds on
 * replaced objects, their notification, and probes whose arguments sit at
 * VM-chosen locations.
 *
 * usdt.c calls these under its groups lock (advance, hold, released)
 * or right after releasing it (notify). vm.c owns two locks of its own:
 * `notify_lock`, held while a client's callback runs (taken before the
 * groups lock, never under it), and `clients_lock`, a leaf lock around the
 * client list (taken under the groups lock by reap()). fork.c takes them
 * in that order around the groups lock.
 */
#ifndef USDT_VM_INTERNAL_H
#define USDT_VM_INTERNAL_H

#include <stdint.h>

#include "usdt_internal.h"
#include "usdt_vm.h"

/* The argument locations of a usdt_vm_create_probe() definition
 * (probedef->_vm); register names point into usdt_arch_vm_regs. */
struct usdt_vm_def {
	size_t argc;
	usdt_vm_loc_t loc[];
};

/* Groups lock held: the addresses of some probes change now. Returns the
 * new generation (the bindings published now carry it). */
USDT_HIDDEN uint64_t usdt_vm_advance(void);
/* Groups lock held: an object is being replaced. 0 if no client could
 * have inlined its addresses (it may go after the reader grace period),
 * else the generation every client must acknowledge first. */
USDT_HIDDEN uint64_t usdt_vm_hold(void);
/* Groups lock held: has every client acknowledged `generation`? */
USDT_HIDDEN int usdt_vm_released(uint64_t generation);
/* No libusdt lock held: call the clients that have not seen the current
 * generation yet (nothing if this thread is inside a callback already:
 * the outer call delivers the change when the callback returns). */
USDT_HIDDEN void usdt_vm_notify(void);

/* Check and copy the locations of a probe of `argc` arguments of signed
 * sizes size[] (usdt_vm_create_probe). NULL with the error recorded
 * (usdt_fail) if a location is NULL, names an unknown register or cannot
 * hold its argument; free() the result. */
USDT_HIDDEN struct usdt_vm_def *usdt_vm_def_new(const char *name, size_t argc, const int8_t *size,
                                                const usdt_vm_loc_t *locs);
/* The note argument string of a probe: its VM-chosen locations, or the
 * ABI's (usdt_arch_argspec). Length, or -1. */
USDT_HIDDEN int usdt_vm_argspec(char *buf, size_t buflen, const usdt_probedef_t *pd);

/* fork.c: notify_lock before every other libusdt lock, clients_lock after
 * the groups lock. */
USDT_HIDDEN void usdt_vm_fork_prepare_notify(void);
USDT_HIDDEN void usdt_vm_fork_prepare_clients(void);
USDT_HIDDEN void usdt_vm_fork_parent(void);
USDT_HIDDEN void usdt_vm_fork_child(void);

/* usdt.c: its groups lock (with reaping and healing), for vm.c. */
USDT_HIDDEN void usdt_core_lock(void);
USDT_HIDDEN void usdt_core_unlock(void);
/* usdt.c: a probe definition passed in through the public API is valid. */
USDT_HIDDEN int usdt_core_probedef_ok(const usdt_probedef_t *pd);
/* usdt.c: usdt_create_probe() with locations (NULL: an ordinary probe). */
USDT_HIDDEN usdt_probedef_t *usdt_core_create_probe(const char *func, const char *name, size_t argc,
                                                    const char **types, const usdt_vm_loc_t *locs);

#endif
