/*
 * probe_pool.h — where usdt_probe_t objects live: type-stable memory.
 *
 * A usdt_probe_t pointer is what bindings keep (probedef->probe) and what
 * other threads fire through, often without knowing when the definition
 * behind it is freed. So probe objects are never returned to the
 * allocator: a freed one is poisoned (no binding: fires nothing, reports
 * disabled) and put at the end of a free list, and reused only once more
 * than USDT_PROBE_REUSE_DELAY others have been freed after it. A stale
 * pointer can therefore never make libusdt read freed memory; at worst,
 * long after its definition was freed, it fires a newer probe. The memory
 * kept is bounded by the largest number of probe definitions alive at once
 * plus the delay.
 */
#ifndef USDT_PROBE_POOL_H
#define USDT_PROBE_POOL_H

#include "usdt_internal.h"

/* Freed probe objects kept unused before one is reused. */
#define USDT_PROBE_REUSE_DELAY 1024
/* Probe objects allocated at once when the pool is empty. */
#define USDT_PROBE_POOL_CHUNK 256

/* A zeroed probe object with its magic set, or NULL (out of memory). */
USDT_HIDDEN usdt_probe_t *usdt_probe_alloc(void);
/* Poison it and queue it for (delayed) reuse. */
USDT_HIDDEN void usdt_probe_retire(usdt_probe_t *probe);

USDT_HIDDEN void usdt_probe_pool_fork_prepare(void);
USDT_HIDDEN void usdt_probe_pool_fork_parent(void);
USDT_HIDDEN void usdt_probe_pool_fork_child(void);

#endif
