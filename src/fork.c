/*
 * fork.c — the one pthread_atfork registration of libusdt (see fork.h for
 * why there is exactly one and the order in which it takes the locks).
 *
 * After fork() the child has a single thread, whatever the parent had:
 * every lock libusdt owns must be free in the child, and the state those
 * locks protect must be consistent. So the prepare handler takes them all
 * (a fork waits for a concurrent enable/disable to finish, it never splits
 * it), and the child handler lets each module repair its state before the
 * lock is released: the reader registry forgets the threads that did not
 * survive, the loader renames the inherited objects after the child, and
 * the DOF backend registers the inherited providers for the child's pid.
 */
#include <pthread.h>

#include "dof/dof.h"
#include "fork.h"
#include "vm.h"

static void prepare(void)
{
	usdt_vm_fork_prepare_notify();
	usdt_groups_fork_prepare();
	usdt_dof_fork_prepare();
	usdt_quarantine_fork_prepare();
	usdt_probe_pool_fork_prepare();
	usdt_vm_fork_prepare_clients();
}

static void parent(void)
{
	usdt_vm_fork_parent();
	usdt_probe_pool_fork_parent();
	usdt_quarantine_fork_parent();
	usdt_dof_fork_parent();
	usdt_groups_fork_parent();
}

static void child(void)
{
	usdt_reader_fork_child();
	usdt_loader_fork_child();
	usdt_probe_pool_fork_child();
	usdt_quarantine_fork_child();
	usdt_dof_fork_child();
	usdt_groups_fork_child();
	usdt_vm_fork_child();
}

static int registered;   /* 0 = no, 1 = in progress, 2 = done */

void usdt_fork_init(void)
{
	int expect = 0;
	if (__atomic_load_n(&registered, __ATOMIC_ACQUIRE) == 2)
		return;
	if (__atomic_compare_exchange_n(&registered, &expect, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		pthread_atfork(prepare, parent, child);
		__atomic_store_n(&registered, 2, __ATOMIC_RELEASE);
	}
	/* another thread is registering: it finishes before that thread can
	 * fork, and a fork by this thread before then has nothing to carry
	 * that this thread holds. */
}

__attribute__((constructor)) static void fork_ctor(void)
{
	usdt_fork_init();
}
