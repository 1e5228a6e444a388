/*
 * reader.c — registration of reader threads and the writer's grace period
 * (see reader.h for the scheme and why it is correct).
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/membarrier.h>

#include "fork.h"
#include "reader.h"

__thread struct usdt_reader usdt_tls_reader __attribute__((tls_model("initial-exec")));
int usdt_reader_fence_needed;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct usdt_reader *registry;
static pthread_key_t exit_key;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int membarrier_cmd;     /* 0 = none, else the command to issue */
static int key_created;

/* libusdt.so unloaded with dlclose() (a Node worker that loaded an addon,
 * Python ctypes): the thread-exit destructor would run in unmapped code, so
 * delete the key. (pthread_atfork and atexit handlers are removed by glibc
 * itself when a shared object is unloaded.) */
__attribute__((destructor)) static void reader_unload(void)
{
	if (key_created) {
		pthread_key_delete(exit_key);
		key_created = 0;
	}
}

static void unregister_at_exit(void *arg)
{
	struct usdt_reader *r = arg;
	pthread_mutex_lock(&registry_lock);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		registry = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->seq = 0;
	pthread_mutex_unlock(&registry_lock);
}

/* In the child only the forking thread exists: drop every other record
 * (their threads are gone, possibly mid-read-section). */
void usdt_reader_fork_child(void)
{
	struct usdt_reader *self = &usdt_tls_reader;
	registry = NULL;
	if (self->seq != 0) {
		self->next = self->prev = NULL;
		registry = self;
	}
	pthread_mutex_init(&registry_lock, NULL);
}

static void init(void)
{
	key_created = pthread_key_create(&exit_key, unregister_at_exit) == 0;
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) {
		membarrier_cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED;
	} else if (cmds > 0 && (cmds & MEMBARRIER_CMD_GLOBAL)) {
		membarrier_cmd = MEMBARRIER_CMD_GLOBAL;
	} else {
		membarrier_cmd = 0;
		__atomic_store_n(&usdt_reader_fence_needed, 1, __ATOMIC_SEQ_CST);
	}
}

USDT_HIDDEN void usdt_reader_init(void);
void usdt_reader_init(void)
{
	pthread_once(&init_once, init);
}

unsigned long usdt_reader_register(struct usdt_reader *r)
{
	usdt_reader_init();
	pthread_mutex_lock(&registry_lock);
	r->prev = NULL;
	r->next = registry;
	if (registry != NULL)
		registry->prev = r;
	registry = r;
	__atomic_store_n(&r->seq, 2, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&registry_lock);
	pthread_setspecific(exit_key, r);
	return 2;
}

void usdt_reader_synchronize(void)
{
	struct usdt_reader *self = &usdt_tls_reader;

	usdt_reader_init();
	if (membarrier_cmd != 0)
		syscall(SYS_membarrier, membarrier_cmd, 0, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	pthread_mutex_lock(&registry_lock);
	for (struct usdt_reader *r = registry; r != NULL; r = r->next) {
		if (r == self)
			continue;
		unsigned long s = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
		if ((s & 1) == 0)
			continue;
		while (__atomic_load_n(&r->seq, __ATOMIC_ACQUIRE) == s)
			sched_yield();
	}
	pthread_mutex_unlock(&registry_lock);
}
