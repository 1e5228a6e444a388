/*
 * t_vm.c — the VM/JIT interface (usdt_vm.h) without a tracer: clients,
 * generations, notification and holds, introspection, VM-chosen argument
 * locations and their errors, and the refusal where DTrace is in use.
 *
 * The hold is checked with mincore(), which fails with ENOMEM on an
 * unmapped page: a replaced object must stay mapped while a client that
 * may have inlined its addresses has not acknowledged the change, and must
 * be unmapped once it has (or at once when there is no client).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "dof/dof.h"
#include "usdt.h"
#include "usdt_vm.h"

static int mapped(const void *p)
{
	unsigned char v;
	uintptr_t page = (uintptr_t)p & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
	return mincore((void *)page, 1, &v) == 0;
}

static struct {
	int calls, nested_calls;
	uint64_t last_gen, prev_gen;
	int monotonic;
	usdt_probedef_t *watch;       /* probe to look up from the callback */
	int info_rc;
	usdt_vm_probe_t info;
	int try_create, create_refused;
	usdt_provider_t *change;      /* a management call from the callback */
	int ack_in_cb;
} st;

static void on_change(usdt_vm_client_t *c, uint64_t gen, void *arg)
{
	(void)arg;
	st.calls++;
	if (gen <= st.last_gen)
		st.monotonic = 0;
	st.prev_gen = st.last_gen;
	st.last_gen = gen;
	if (st.watch != NULL)
		st.info_rc = usdt_vm_probe_info(c, st.watch, &st.info);
	if (st.try_create) {
		st.try_create = 0;
		st.create_refused = usdt_vm_client_create(NULL, NULL) == NULL && usdt_last_error() == USDT_ERROR_INVALID;
	}
	if (st.change != NULL) {
		usdt_provider_t *p = st.change;
		st.change = NULL;
		usdt_provider_disable(p);   /* a change made inside notify */
	}
	if (st.ack_in_cb)
		usdt_vm_client_ack(c, gen);
}

#ifdef __x86_64__
/* A DTrace helper device that is present and accepts nothing: enough for
 * usdt_dtrace_wanted() to say DTrace is in use. */
static int d_open(void *ctx, const char *path, int flags)
{
	(void)ctx; (void)path; (void)flags;
	return 4242;
}
static int d_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	(void)ctx; (void)fd; (void)request; (void)arg;
	errno = EINVAL;
	return -1;
}
static int d_close(void *ctx, int fd)
{
	(void)ctx; (void)fd;
	return 0;
}
#endif

int main(void)
{
	const char *t1[] = { "int" };
	st.monotonic = 1;

	/* ---- no client: a replaced object goes at once */
	usdt_provider_t *q = usdt_create_provider("vmq", "m");
	usdt_probedef_t *qa = usdt_create_probe("f", "qa", 1, t1), *qb = usdt_create_probe("f", "qb", 1, t1);
	usdt_provider_add_probe(q, qa);
	usdt_provider_enable(q);
	usdt_vm_client_t *c = usdt_vm_client_create(on_change, NULL);
	CHECK(c != NULL, "a client is created");
	usdt_vm_probe_t qi;
	CHECK(usdt_vm_probe_info(c, qa, &qi) == 1 && qi.site != NULL && qi.semaphore != NULL,
	      "info of a live probe: site %p semaphore %p generation %llu", qi.site, (const void *)qi.semaphore,
	      (unsigned long long)qi.generation);
	CHECK(qi.call == USDT_VM_CALL_C && qi.argc == 1 && qi.site_idle_byte == *(const uint8_t *)qi.site &&
	      *qi.semaphore == 0, "C call convention, argc 1, idle site byte 0x%02x, semaphore 0", qi.site_idle_byte);
#ifdef __x86_64__
	CHECK(strcmp(qi.argspec, "-4@%edi") == 0, "argspec is the note's: \"%s\"", qi.argspec);
#endif
	usdt_vm_client_free(c);
	usdt_provider_add_probe(q, qb);          /* replaces qa's object, nobody holds it */
	CHECK(!mapped(qi.site), "without a client the replaced object is unmapped at once");

	/* ---- a client holds replaced objects until it acknowledges */
	c = usdt_vm_client_create(on_change, NULL);
	usdt_vm_probe_t a0;
	CHECK(usdt_vm_probe_info(c, qa, &a0) == 1, "info of qa after the rebuild");
	uint64_t g0 = usdt_vm_generation();
	CHECK(a0.generation <= g0, "its generation %llu <= current %llu", (unsigned long long)a0.generation,
	      (unsigned long long)g0);
	st.watch = qa;
	usdt_provider_remove_probe(q, qb);       /* rebuild: qa moves */
	CHECK(st.calls == 1 && st.last_gen > g0 && st.last_gen == usdt_vm_generation(),
	      "notify called once, with the new generation %llu", (unsigned long long)st.last_gen);
	CHECK(st.info_rc == 1 && st.info.site != a0.site && st.info.generation == st.last_gen,
	      "from notify, info gives the new site %p (generation %llu): no lock held", st.info.site,
	      (unsigned long long)st.info.generation);
	CHECK(mapped(a0.site) && *(const volatile uint8_t *)a0.site == a0.site_idle_byte,
	      "the old object stays mapped while not acknowledged");
	usdt_provider_t *o = usdt_create_provider("vmother", "");
	usdt_probedef_t *oa = usdt_create_probe("", "oa", 0, NULL);
	usdt_provider_add_probe(o, oa);
	usdt_provider_enable(o);
	usdt_provider_disable(o);
	CHECK(mapped(a0.site), "... also across other management calls");
	CHECK(usdt_vm_client_ack(c, usdt_vm_generation() + 5) == -1 && usdt_last_error() == USDT_ERROR_INVALID,
	      "acknowledging a generation not reached is refused: %s", usdt_last_errstr());
	CHECK(usdt_vm_client_ack(c, st.last_gen) == 0 && !mapped(a0.site),
	      "acknowledging it unmaps the old object");

	/* ---- two clients: the object goes when the last one acknowledged */
	usdt_vm_client_t *c2 = usdt_vm_client_create(NULL, NULL);
	usdt_vm_probe_t a1;
	usdt_vm_probe_info(c, qa, &a1);
	usdt_provider_add_probe(q, qb);
	uint64_t g2 = usdt_vm_generation();
	usdt_vm_client_ack(c, g2);
	CHECK(mapped(a1.site), "one of two clients acknowledged: still mapped");
	usdt_vm_client_free(c2);
	CHECK(!mapped(a1.site), "freeing the other client releases its hold");

	/* ---- disable: not live, then the hold */
	usdt_vm_probe_t a2;
	usdt_vm_probe_info(c, qa, &a2);
	int calls = st.calls;
	usdt_provider_disable(q);
	usdt_vm_probe_t d;
	CHECK(usdt_vm_probe_info(c, qa, &d) == 0 && d.site == NULL && d.semaphore == NULL,
	      "after disable: not live, no addresses");
	CHECK(st.calls == calls + 1 && mapped(a2.site), "disable notifies, old object held");
	usdt_vm_client_ack(c, usdt_vm_generation());
	CHECK(!mapped(a2.site), "... and goes with the acknowledgement");

	/* ---- callbacks: refusals, changes made inside notify, ack inside */
	usdt_provider_enable(q);
	usdt_provider_enable(o);
	st.try_create = 1;
	st.change = o;              /* the callback disables o */
	st.ack_in_cb = 1;
	calls = st.calls;
	usdt_provider_disable(q);
	CHECK(st.create_refused, "usdt_vm_client_create() from notify is refused (USDT_ERROR_INVALID)");
	CHECK(!o->enabled && st.calls == calls + 2 && st.monotonic,
	      "a change made in notify is reported after it returns (%d calls, generations increasing)",
	      st.calls - calls);
	st.ack_in_cb = 0;
	st.watch = NULL;

	/* ---- VM-chosen locations */
	const char *t4[] = { "int64_t", "int32_t", "uint8_t", "char *" };
#if defined(__x86_64__)
	usdt_vm_loc_t loc[] = { { "rbx", 0, 0 }, { "r12", 1, 16 }, { "r12", 1, -3 }, { "r13", 0, 0 } };
	const char *want = "-8@%rbx -4@16(%r12) 1@-3(%r12) 8@%r13";
	usdt_vm_loc_t bad = { "xmm0", 0, 0 };
#elif defined(__aarch64__)
	usdt_vm_loc_t loc[] = { { "x19", 0, 0 }, { "x20", 1, 16 }, { "x20", 1, -3 }, { "x21", 0, 0 } };
	const char *want = "-8@x19 -4@[x20, 16] 1@[x20, -3] 8@x21";
	usdt_vm_loc_t bad = { "sp", 1, 8 };
#else
	usdt_vm_loc_t loc[] = { { "ebp", 1, 8 }, { "ebx", 0, 0 }, { "ebx", 1, -3 }, { "esi", 0, 0 } };
	const char *want = "-8@8(%ebp) -4@%ebx 1@-3(%ebx) 4@%esi";
	usdt_vm_loc_t bad = { "ebx", 0, 0 };   /* an 8-byte value in a register */
#endif
	usdt_probedef_t *vp = usdt_vm_create_probe("f", "located", 4, t4, loc);
	CHECK(vp != NULL, "usdt_vm_create_probe with 4 locations");
	usdt_provider_add_probe(q, vp);
	CHECK(usdt_provider_enable(q) == 0, "its provider enables");
	usdt_vm_probe_t vi;
	CHECK(usdt_vm_probe_info(c, vp, &vi) == 1 && vi.call == USDT_VM_CALL_LOCATED && strcmp(vi.argspec, want) == 0,
	      "located probe: call LOCATED, argspec \"%s\"", vi.argspec);
	void *argv[4] = { 0 };
	usdt_fire_probe(vp->probe, 4, argv);   /* does nothing, never crashes */
	CHECK(1, "usdt_fire_probe() of a located probe returns");
	usdt_vm_loc_t badloc[4] = { loc[0], loc[1], loc[2], loc[3] };
	badloc[0] = bad;
	CHECK(usdt_vm_create_probe("f", "b", 4, t4, badloc) == NULL && usdt_last_error() == USDT_ERROR_BADTYPE,
	      "an unusable register is refused: %s", usdt_last_errstr());
	badloc[0].reg = NULL;
	CHECK(usdt_vm_create_probe("f", "b", 4, t4, badloc) == NULL && usdt_last_error() == USDT_ERROR_NULL,
	      "a NULL register is refused: %s", usdt_last_errstr());
	CHECK(usdt_vm_create_probe("f", "b", 4, t4, NULL) == NULL && usdt_last_error() == USDT_ERROR_NULL,
	      "NULL locations are refused: %s", usdt_last_errstr());
	CHECK(usdt_vm_probe_info(NULL, vp, &vi) == -1 && usdt_last_error() == USDT_ERROR_NULL, "NULL client refused");
	CHECK(usdt_vm_probe_info(c, NULL, &vi) == -1 && usdt_last_error() == USDT_ERROR_NULL, "NULL probe refused");
	usdt_provider_disable(q);

#ifdef __x86_64__
	/* ---- where DTrace is in use, located probes are refused */
	static const struct usdt_dof_device_ops ops = { d_open, d_ioctl, d_close, NULL };
	usdt_dof_set_device_ops(&ops);
	CHECK(usdt_provider_enable(q) == -1 && usdt_last_error() == USDT_ERROR_UNSUPPORTED &&
	      strstr(usdt_errstr(q), "DTrace") != NULL,
	      "with a DTrace helper present, enable is refused: %s", usdt_errstr(q));
	usdt_dof_set_device_ops(NULL);
	CHECK(usdt_provider_enable(q) == 0, "without one it enables");
#endif

	usdt_vm_client_free(c);
	usdt_vm_client_free(NULL);
	usdt_provider_free(q);
	usdt_provider_free(o);
	usdt_probe_release(qa);
	usdt_probe_release(qb);
	usdt_probe_release(oa);
	usdt_probe_release(vp);
	return check_done();
}
