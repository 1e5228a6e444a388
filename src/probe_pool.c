/*
 * probe_pool.c — type-stable storage for usdt_probe_t (see probe_pool.h
 * for the rule it implements and why).
 *
 * Objects come from chunks of USDT_PROBE_POOL_CHUNK that are never freed
 * (they stay reachable from `chunks`, so leak checkers do not report
 * them). Freed objects form a FIFO; allocation takes from its head only
 * when it holds more than USDT_PROBE_REUSE_DELAY objects. One mutex, a
 * leaf: taken by fork.c's prepare handler after every other libusdt lock.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "probe_pool.h"

struct pool_chunk {
	struct pool_chunk *next;
	usdt_probe_t probes[USDT_PROBE_POOL_CHUNK];
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pool_chunk *chunks;
static size_t chunk_used = USDT_PROBE_POOL_CHUNK;    /* in chunks (the newest) */
static usdt_probe_t **fifo;        /* ring of freed objects */
static size_t fifo_cap, fifo_head, fifo_len;

void usdt_probe_pool_fork_prepare(void) { pthread_mutex_lock(&pool_lock); }
void usdt_probe_pool_fork_parent(void) { pthread_mutex_unlock(&pool_lock); }
void usdt_probe_pool_fork_child(void) { pthread_mutex_unlock(&pool_lock); }

/* _site is left as it is: an inline check that loaded _sem before it was
 * cleared goes on to read _site (see set_inline() in usdt.c). */
static void init_probe(usdt_probe_t *p)
{
	__atomic_store_n(&p->_sem, NULL, __ATOMIC_RELAXED);
	p->_index = 0;
	__atomic_store_n(&p->_magic, USDT_MAGIC_PROBE, __ATOMIC_RELEASE);
}

usdt_probe_t *usdt_probe_alloc(void)
{
	usdt_probe_t *p = NULL;
	pthread_mutex_lock(&pool_lock);
	if (fifo_len > USDT_PROBE_REUSE_DELAY) {
		p = fifo[fifo_head];
		fifo_head = (fifo_head + 1) % fifo_cap;
		fifo_len--;
	} else {
		if (chunk_used == USDT_PROBE_POOL_CHUNK) {
			struct pool_chunk *c = calloc(1, sizeof *c);
			if (c != NULL) {
				c->next = chunks;
				chunks = c;
				chunk_used = 0;
			}
		}
		if (chunk_used < USDT_PROBE_POOL_CHUNK)
			p = &chunks->probes[chunk_used++];
	}
	if (p != NULL)
		init_probe(p);
	pthread_mutex_unlock(&pool_lock);
	return p;
}

void usdt_probe_retire(usdt_probe_t *p)
{
	__atomic_store_n(&p->_live, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&p->_sem, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&p->_magic, USDT_MAGIC_DEAD, __ATOMIC_RELEASE);
	pthread_mutex_lock(&pool_lock);
	if (fifo_len == fifo_cap) {
		size_t cap = fifo_cap ? 2 * fifo_cap : 2 * USDT_PROBE_REUSE_DELAY;
		usdt_probe_t **f = malloc(cap * sizeof *f);
		if (f == NULL) {         /* cannot queue it: it is simply never reused */
			pthread_mutex_unlock(&pool_lock);
			return;
		}
		for (size_t i = 0; i < fifo_len; i++)
			f[i] = fifo[(fifo_head + i) % fifo_cap];
		free(fifo);
		fifo = f;
		fifo_cap = cap;
		fifo_head = 0;
	}
	fifo[(fifo_head + fifo_len) % fifo_cap] = p;
	fifo_len++;
	pthread_mutex_unlock(&pool_lock);
}
