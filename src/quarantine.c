/*
 * quarantine.c — delayed release of freed providers and probe definitions.
 *
 * A binding that calls usdt_provider_enable() on a provider it has already
 * freed reads freed memory: undefined behaviour that a library cannot
 * detect after the fact. Objects freed through the public API are
 * therefore poisoned (their magic number overwritten) and kept here for a
 * while before free() really releases them, so that a use after free of
 * any of the last USDT_QUARANTINE_SIZE objects is reported as
 * USDT_ERROR_INVALID instead of corrupting the heap. The memory cost is
 * bounded (a few kilobytes); nothing is leaked (the ring is released at
 * exit).
 */
#include <pthread.h>
#include <stdlib.h>

#include "fork.h"
#include "usdt_internal.h"

#define USDT_QUARANTINE_SIZE 64

static void *ring[USDT_QUARANTINE_SIZE];
static size_t next_slot;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;

static void release_all(void)
{
	pthread_mutex_lock(&ring_lock);
	for (size_t i = 0; i < USDT_QUARANTINE_SIZE; i++) {
		free(ring[i]);
		ring[i] = NULL;
	}
	pthread_mutex_unlock(&ring_lock);
}

void usdt_quarantine_fork_prepare(void) { pthread_mutex_lock(&ring_lock); }
void usdt_quarantine_fork_parent(void) { pthread_mutex_unlock(&ring_lock); }
void usdt_quarantine_fork_child(void) { pthread_mutex_unlock(&ring_lock); }

void usdt_quarantine(void *obj)
{
	static int registered;
	pthread_mutex_lock(&ring_lock);
	if (!registered) {
		registered = 1;
		atexit(release_all);
	}
	void *old = ring[next_slot];
	ring[next_slot] = obj;
	next_slot = (next_slot + 1) % USDT_QUARANTINE_SIZE;
	pthread_mutex_unlock(&ring_lock);
	free(old);
}
