/*
 * jit.c — a language VM in miniature, for the usdt_vm.h tests: it compiles
 * (tests/progs/jit.h: x86_64 and aarch64) machine code that inlines the is-enabled check
 * of two libusdt probes and calls their sites directly, and follows
 * libusdt's change notifications the way a real JIT must.
 *
 *   jitprov:tick   C convention, (int64_t, int32_t): the generated
 *                  function tests the site byte only (usdt_vm.h's
 *                  recommended check) and tail-jumps to the site with its
 *                  own arguments
 *   jitprov:vmarg  VM-chosen locations: arg0 the accumulator (%rbx, x19),
 *                  arg1..arg5 fields of the frame (%r12, x20) points to (int32,
 *                  int16, int8, uint8, char *): nothing is marshalled;
 *                  tests the semaphore and the site byte
 *
 * Protocol (usdt_vm.h). The notify callback asks for the probes' addresses
 * again; if they moved it compiles a new version, publishes it with one
 * atomic store, waits until every firing thread has passed a quiescent
 * point (it finished the iteration in which it might have loaded the old
 * version: a per-thread counter, QSBR), unmaps the old version, and
 * acknowledges the generation. Before the acknowledgement it checks that
 * libusdt kept the old object mapped (mincore), which is what makes the
 * old code safe.
 *
 * usage: jit stress ROUNDS   4 firing threads; another thread changes the
 *                            provider ROUNDS times (add/remove a probe, a
 *                            twin provider of the same name, disable and
 *                            enable). Prints "STRESS ..." and exits 0, or 1
 *                            if the old object was ever unmapped early.
 *        jit serve [ROUNDS]  ROUNDS changes first (default 100), then the
 *                            provider stays; prints READY and EXPECT lines
 *                            (tests/lib.sh format) and fires from 4 threads
 *                            until SIGTERM, while another provider keeps
 *                            changing (notifications keep coming).
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "usdt.h"
#include "usdt_vm.h"

#include "progs/jit.h"
#ifdef JIT_ARCH

#define FIRERS 4

struct frame {               /* the VM's frame: what %r12 points to */
	int32_t i32;             /* 0 */
	int16_t i16;             /* 4 */
	int8_t i8;               /* 6 */
	uint8_t u8;              /* 7 */
	const char *str;         /* 8 */
};

#define ACC ((int64_t)-1234567890123LL)
#define TICK_A ((int64_t)-5000000000LL)
#define TICK_B ((int32_t)-7)

struct code {
	void (*tick)(int64_t, int32_t);
	void (*vm)(struct frame *, int64_t);
	struct jit_buf buf;
	uint64_t tick_gen, vm_gen;
	int tick_live, vm_live;
	const void *tick_site, *vm_site;
};

static usdt_vm_client_t *client;
static usdt_probedef_t *tick, *vmarg;
static struct code *cur;                     /* atomic */
static unsigned long qs[FIRERS];             /* atomic, per firing thread */
static int running = 1;                      /* atomic */
static volatile sig_atomic_t stop;
static unsigned long recompiles, notifies, early_unmaps;
static unsigned long fires[FIRERS];

static int mapped(const void *p)
{
	unsigned char v;
	return mincore((void *)((uintptr_t)p & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1)), 1, &v) == 0;
}

static struct code *compile(void)
{
	usdt_vm_probe_t ti, vi;
	struct code *k = calloc(1, sizeof *k);
	if (k == NULL || jit_open(&k->buf) != 0)
		abort();
	k->tick_live = usdt_vm_probe_info(client, tick, &ti) == 1;
	k->vm_live = usdt_vm_probe_info(client, vmarg, &vi) == 1;
	if (vi.call != USDT_VM_CALL_LOCATED || ti.call != USDT_VM_CALL_C || ti.dtrace || vi.dtrace)
		abort();
	k->tick_gen = ti.generation;
	k->vm_gen = vi.generation;
	k->tick_site = ti.site;
	k->vm_site = vi.site;
	k->tick = (void (*)(int64_t, int32_t))(void *)(k->buf.p + k->buf.n);
	jit_emit_c_probe(&k->buf, &ti, JIT_CHECK_SITE);         /* usdt_vm.h's one-load check */
	k->buf.n = (k->buf.n + 63) & ~(size_t)63;
	k->vm = (void (*)(struct frame *, int64_t))(void *)(k->buf.p + k->buf.n);
	jit_emit_located_probe(&k->buf, &vi, JIT_CHECK_SEM | JIT_CHECK_SITE);
	if (jit_seal(&k->buf) != 0)
		abort();
	return k;
}

/* Every firing thread finished the iteration it was in: none runs `old`. */
static void quiesce(void)
{
	unsigned long snap[FIRERS];
	for (int t = 0; t < FIRERS; t++)
		snap[t] = __atomic_load_n(&qs[t], __ATOMIC_SEQ_CST);
	for (int t = 0; t < FIRERS; t++)
		while (__atomic_load_n(&qs[t], __ATOMIC_SEQ_CST) == snap[t] && __atomic_load_n(&running, __ATOMIC_SEQ_CST))
			sched_yield();
}

static void on_change(usdt_vm_client_t *c, uint64_t gen, void *arg)
{
	(void)arg;
	notifies++;
	struct code *old = __atomic_load_n(&cur, __ATOMIC_ACQUIRE);
	usdt_vm_probe_t ti, vi;
	int tl = usdt_vm_probe_info(c, tick, &ti) == 1, vl = usdt_vm_probe_info(c, vmarg, &vi) == 1;
	if (old != NULL && tl == old->tick_live && vl == old->vm_live && (!tl || ti.generation == old->tick_gen) &&
	    (!vl || vi.generation == old->vm_gen)) {
		usdt_vm_client_ack(c, gen);      /* our probes did not move */
		return;
	}
	/* the old addresses must still be there until we acknowledge */
	if (old != NULL && ((old->tick_live && !mapped(old->tick_site)) || (old->vm_live && !mapped(old->vm_site))))
		early_unmaps++;
	struct code *k = compile();
	__atomic_store_n(&cur, k, __ATOMIC_SEQ_CST);
	recompiles++;
	if (old != NULL) {
		quiesce();
		munmap(old->buf.p, JIT_CODE_SIZE);
		free(old);
	}
	usdt_vm_client_ack(c, gen);
}

static void *firer(void *arg)
{
	int t = (int)(intptr_t)arg;
	struct frame f = { -100000, -300, -5, 250, "jit-frame" };
	while (__atomic_load_n(&running, __ATOMIC_ACQUIRE)) {
		struct code *k = __atomic_load_n(&cur, __ATOMIC_SEQ_CST);
		for (int i = 0; i < 64; i++) {
			k->tick(TICK_A, TICK_B);
			k->vm(&f, ACC);
		}
		fires[t] += 128;
		__atomic_add_fetch(&qs[t], 1, __ATOMIC_SEQ_CST);    /* quiescent */
		/* 4 firing threads on few CPUs: let the changing thread (which
		 * waits for this counter) and the others run */
		sched_yield();
	}
	return NULL;
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static usdt_provider_t *prov, *twin, *side;
static usdt_probedef_t *extra, *twinprobe, *sidea;

static void change(unsigned long i)
{
	switch (i % 6) {
	case 0: usdt_provider_add_probe(prov, extra); break;
	case 1: usdt_provider_remove_probe(prov, extra); break;
	case 2: usdt_provider_enable(twin); break;      /* a second jitprov: shared object */
	case 3: usdt_provider_disable(twin); break;
	case 4: usdt_provider_disable(prov); break;
	case 5: usdt_provider_enable(prov); break;
	}
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int serve = strcmp(argv[1], "serve") == 0;
	unsigned long rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 100;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);

	const char *tt[] = { "int64_t", "int32_t" };
	const char *vt[] = { "int64_t", "int32_t", "int16_t", "int8_t", "uint8_t", "char *" };
	const usdt_vm_loc_t vl[] = {
		{ JIT_ACC_REG, 0, 0 },
		{ JIT_FRAME_REG, 1, (int32_t)offsetof(struct frame, i32) },
		{ JIT_FRAME_REG, 1, (int32_t)offsetof(struct frame, i16) },
		{ JIT_FRAME_REG, 1, (int32_t)offsetof(struct frame, i8) },
		{ JIT_FRAME_REG, 1, (int32_t)offsetof(struct frame, u8) },
		{ JIT_FRAME_REG, 1, (int32_t)offsetof(struct frame, str) },
	};
	prov = usdt_create_provider("jitprov", "vm");
	twin = usdt_create_provider("jitprov", "twin");
	side = usdt_create_provider("jitside", "");
	tick = usdt_create_probe("run", "tick", 2, tt);
	vmarg = usdt_vm_create_probe("run", "vmarg", 6, vt, vl);
	extra = usdt_create_probe("run", "extra", 0, NULL);
	twinprobe = usdt_create_probe("run", "twinprobe", 0, NULL);
	sidea = usdt_create_probe("", "sidea", 0, NULL);
	if (!prov || !twin || !side || !tick || !vmarg || !extra || !twinprobe || !sidea) {
		fprintf(stderr, "create: %s\n", usdt_last_errstr());
		return 1;
	}
	usdt_provider_add_probe(prov, tick);
	usdt_provider_add_probe(prov, vmarg);
	usdt_provider_add_probe(twin, twinprobe);
	usdt_provider_add_probe(side, sidea);
	if (usdt_provider_enable(prov) != 0) {
		fprintf(stderr, "enable: %s\n", usdt_errstr(prov));
		return 1;
	}
	client = usdt_vm_client_create(on_change, NULL);
	__atomic_store_n(&cur, compile(), __ATOMIC_SEQ_CST);

	pthread_t th[FIRERS];
	for (int t = 0; t < FIRERS; t++)
		pthread_create(&th[t], NULL, firer, (void *)(intptr_t)t);
	unsigned long i;
	for (i = 0; i < rounds && !stop; i++)
		change(i);
	/* leave jitprov enabled, alone, with tick and vmarg */
	if (!prov->enabled)
		usdt_provider_enable(prov);
	usdt_provider_disable(twin);
	if (extra->_owner == prov)
		usdt_provider_remove_probe(prov, extra);

	if (serve) {
		printf("READY %ld\n", (long)getpid());
		printf("EXPECT jitprov:tick %" PRIx64 " %" PRIx64 "\n", (uint64_t)TICK_A, (uint64_t)(int64_t)TICK_B);
		printf("EXPECT jitprov:vmarg %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " \"jit-frame\"\n",
		       (uint64_t)ACC, (uint64_t)(int64_t)-100000, (uint64_t)(int64_t)-300, (uint64_t)(int64_t)-5,
		       (uint64_t)250);
		/* usdt_fire_probe() cannot pass located arguments: it must not
		 * fire vmarg (tracers would read garbage) */
		void *bogus[6] = { (void *)1, (void *)2, (void *)3, (void *)4, (void *)5, (void *)"bogus" };
		struct timespec nap = { 0, 10 * 1000 * 1000 };
		while (!stop) {
			usdt_fire_probe(vmarg->probe, 6, bogus);
			if (side->enabled)
				usdt_provider_disable(side);
			else
				usdt_provider_enable(side);
			nanosleep(&nap, NULL);
		}
	}
	__atomic_store_n(&running, 0, __ATOMIC_SEQ_CST);
	unsigned long total = 0;
	for (int t = 0; t < FIRERS; t++) {
		pthread_join(th[t], NULL);
		total += fires[t];
	}
	printf("STRESS rounds=%lu notifies=%lu recompiles=%lu fires=%lu early_unmaps=%lu\n", i, notifies, recompiles,
	       total, early_unmaps);
	usdt_provider_free(prov);
	usdt_provider_free(twin);
	usdt_provider_free(side);
	struct code *k = cur;
	usdt_vm_client_free(client);
	munmap(k->buf.p, JIT_CODE_SIZE);
	free(k);
	usdt_probe_release(tick);
	usdt_probe_release(vmarg);
	usdt_probe_release(extra);
	usdt_probe_release(twinprobe);
	usdt_probe_release(sidea);
	return early_unmaps != 0 || notifies == 0 || recompiles == 0;
}
#else
int main(void)
{
	fprintf(stderr, "jit: the test JIT emits x86_64 and aarch64 code only\n");
	return 77;
}
#endif
