/*
 * fork.h — the hooks through which src/fork.c carries every libusdt lock
 * across fork().
 *
 * glibc runs pthread_atfork prepare handlers in reverse order of
 * registration, so modules that registered their own handlers lazily took
 * their locks in an order that depended on which module was used first,
 * and could deadlock against a thread that nests them the other way
 * (regroup() holds the groups lock and waits inside the reader registry).
 * Instead, fork.c registers ONE handler triple when the library is loaded,
 * and it takes every lock in the one order the library nests them:
 *
 *     VM notification (vm.c) -> groups (usdt.c) -> DOF registrations
 *       (dof_submit.c) -> quarantine ring (quarantine.c)
 *       -> probe-object pool (probe_pool.c) -> VM client list (vm.c)
 *
 * (The reader registry has no lock: readers register lock-free, reader.c.)
 * Each module exports prepare (take its lock), parent (release it) and
 * child (repair its state for the only thread left, then release it).
 */
#ifndef USDT_FORK_H
#define USDT_FORK_H

#include "usdt_internal.h"

USDT_HIDDEN void usdt_groups_fork_prepare(void);
USDT_HIDDEN void usdt_groups_fork_parent(void);
USDT_HIDDEN void usdt_groups_fork_child(void);

USDT_HIDDEN void usdt_quarantine_fork_prepare(void);
USDT_HIDDEN void usdt_quarantine_fork_parent(void);
USDT_HIDDEN void usdt_quarantine_fork_child(void);

USDT_HIDDEN void usdt_reader_fork_child(void);

USDT_HIDDEN void usdt_probe_pool_fork_prepare(void);
USDT_HIDDEN void usdt_probe_pool_fork_parent(void);
USDT_HIDDEN void usdt_probe_pool_fork_child(void);

/* linux/loader.c: in the child, make every loaded object findable under a
 * name that designates the child (runs with the groups lock held; must be
 * async-signal-safe: no malloc, no lock). */
USDT_HIDDEN void usdt_loader_fork_child(void);

/* Make sure the handlers are registered (idempotent, async-signal-safe;
 * the library's constructor calls it, management calls call it too in
 * case another constructor used the library before ours ran). */
USDT_HIDDEN void usdt_fork_init(void);

#endif
