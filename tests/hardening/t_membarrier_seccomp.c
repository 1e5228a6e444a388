/*
 * t_membarrier_seccomp.c — membarrier() starting to fail after start-up
 * (a seccomp filter installed later) must not leave the writer without a
 * barrier (issue 9, item 9).
 *
 * The grace period relies on membarrier(PRIVATE_EXPEDITED) to order every
 * reader's unfenced section entry before the writer looks at it. Its
 * result was ignored: once a filter made it fail, writers went on without
 * any barrier and could unmap code a reader was about to run. Now a
 * failure switches readers to fenced entry and uses a fallback barrier.
 *
 * The test enables a provider, fires from two threads, then installs a
 * seccomp filter that makes membarrier fail with EPERM, and runs
 * disable/enable cycles while the threads keep firing. It checks (white
 * box) that the library noticed (readers now fence) and that nothing
 * crashed, and that the probe still works afterwards.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "reader.h"
#include "usdt.h"

#define T_CYCLES 2000

static atomic_int stop;
static usdt_probedef_t *def;
static atomic_long fires;

static void *firer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		usdt_fire_probe(def->_probe, 1, (void *[]){ (void *)1 });
		atomic_fetch_add_explicit(&fires, 1, memory_order_relaxed);
	}
	return NULL;
}

static int block_membarrier(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	/* TSYNC: every thread of the process gets the filter */
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
}

int main(void)
{
	static const char *types[] = { "int" };
	usdt_provider_t *p = usdt_create_provider("mbseccomp", "m");
	def = usdt_create_probe("f", "p", 1, types);
	CHECK(p && def && usdt_provider_add_probe(p, def) == 0 && usdt_provider_enable(p) == 0, "enabled");
	CHECK(usdt_provider_disable(p) == 0 && usdt_provider_enable(p) == 0, "a first grace period with membarrier");
	int fenced_before = usdt_reader_fencing();
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, firer, NULL);
	CHECK(block_membarrier() == 0, "seccomp filter installed: membarrier fails with EPERM");
	CHECK(syscall(SYS_membarrier, 0 /* QUERY */, 0, 0) == -1 && errno == EPERM, "membarrier is refused now");
	int ok = 1;
	for (int i = 0; i < T_CYCLES && ok; i++)
		ok = usdt_provider_disable(p) == 0 && usdt_provider_enable(p) == 0;
	CHECK(ok, "%d disable/enable cycles under the filter", T_CYCLES);
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	int fenced_after = usdt_reader_fencing();
	printf("# readers fenced before: %d, after: %d; %ld fires\n", fenced_before, fenced_after, atomic_load(&fires));
	CHECK(fenced_before == 0, "with membarrier, readers did not fence");
	CHECK(fenced_after != 0, "the library saw membarrier fail and made readers fence");
	CHECK(def->probe != NULL && usdt_is_enabled(def->probe) == 0, "the probe still answers");
	usdt_probe_release(def);
	usdt_provider_free(p);
	return check_done();
}
