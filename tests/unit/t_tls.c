/*
 * t_tls.c — libusdt.so's thread-local storage stays small (issue 9 item
 * 14), and the per-thread error message still works.
 *
 * A module with any initial-exec TLS (the reader record of the fire path)
 * gets its whole TLS block from the loader's static TLS surplus, which is
 * small (a few hundred bytes to share among every dlopen()ed module:
 * Python ctypes, Node addons). Checked:
 *   1. PT_TLS p_memsz of $BUILD/libusdt.so.1.0.0 (parsed with <elf.h>) is
 *      at most TLS_BUDGET bytes;
 *   2. each thread keeps its own last error message: THREADS threads record
 *      distinct errors at once, each reads back its own, and a thread that
 *      had no error still reads "no error";
 *   3. no leak at thread exit: LEAK_THREADS threads that each record an
 *      error and exit leave the heap (mallinfo2) within LEAK_SLACK bytes of
 *      where it was (without sanitizers; under ASan, LeakSanitizer checks
 *      at exit);
 *   4. an error recorded from a thread-exit destructor that runs after
 *      libusdt's own (a key created later) still reads back a meaningful
 *      message, with no use of freed memory (ASan).
 */
#include <elf.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/arch.h"
#include "check.h"
#include "proc_count.h"
#include "usdt.h"

#define TLS_BUDGET 64               /* bytes of TLS libusdt.so may have */
#define THREADS 8
#define MSG_MAX 512                /* longest message read back */
#define LEAK_THREADS 2000
#define LEAK_SLACK (64 * 1024)      /* heap growth tolerated over LEAK_THREADS */

/* PT_TLS p_memsz of the ELF file at path; -1 if unreadable, 0 if none. */
static long tls_memsz(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	long memsz = -1;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(USDT_ELF(Ehdr))) {
		const uint8_t *img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (img != MAP_FAILED) {
			const USDT_ELF(Ehdr) *eh = (const USDT_ELF(Ehdr) *)img;
			if (memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == USDT_ARCH_ELF_CLASS &&
			    eh->e_phoff + (size_t)eh->e_phnum * sizeof(USDT_ELF(Phdr)) <= (size_t)st.st_size) {
				const USDT_ELF(Phdr) *ph = (const USDT_ELF(Phdr) *)(img + eh->e_phoff);
				memsz = 0;
				for (int i = 0; i < eh->e_phnum; i++)
					if (ph[i].p_type == PT_TLS)
						memsz = (long)ph[i].p_memsz;
			}
			munmap((void *)img, (size_t)st.st_size);
		}
	}
	close(fd);
	return memsz;
}

static pthread_barrier_t barrier;
static int own_ok[THREADS];

static void *distinct(void *arg)
{
	int i = (int)(intptr_t)arg;
	char name[32], again[MSG_MAX];
	snprintf(name, sizeof name, "bad name %d!", i);
	pthread_barrier_wait(&barrier);
	usdt_provider_t *p = usdt_create_provider(name, "m");     /* fails: BADNAME */
	snprintf(again, sizeof again, "%s", usdt_last_errstr());
	pthread_barrier_wait(&barrier);   /* every thread has recorded its error */
	own_ok[i] = p == NULL && usdt_last_error() == USDT_ERROR_BADNAME && strstr(usdt_last_errstr(), name) != NULL &&
	            strcmp(again, usdt_last_errstr()) == 0;
	if (!own_ok[i])
		printf("# thread %d: %s\n", i, usdt_last_errstr());
	return NULL;
}

static void *one_error(void *arg)
{
	(void)arg;
	(void)usdt_create_provider("bad name!", "m");
	return strstr(usdt_last_errstr(), "bad name!") != NULL ? (void *)1 : NULL;
}

/* A thread-exit destructor that runs after libusdt's: its key is created
 * later (glibc runs destructors in key order). */
static pthread_key_t late_key;
static char late_msg[256];
static int late_code = -1;

static void late_destructor(void *v)
{
	(void)v;
	(void)usdt_create_provider("late name!", "m");
	late_code = (int)usdt_last_error();
	snprintf(late_msg, sizeof late_msg, "%s", usdt_last_errstr());
}

static void *late(void *arg)
{
	(void)arg;
	(void)usdt_create_provider("early name!", "m");   /* has a message already */
	pthread_setspecific(late_key, (void *)1);
	return NULL;
}

int main(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/libusdt.so.1.0.0", getenv("BUILD") ? getenv("BUILD") : "build");
	long memsz = tls_memsz(path);
	CHECK(memsz >= 0, "read the program headers of %s", path);
	CHECK(memsz >= 0 && memsz <= TLS_BUDGET, "PT_TLS p_memsz of libusdt.so is %ld bytes (budget %d)", memsz,
	      TLS_BUDGET);

	CHECK(usdt_last_error() == USDT_ERROR_NONE && strcmp(usdt_last_errstr(), "no error") == 0,
	      "a thread without errors: \"%s\"", usdt_last_errstr());
	pthread_t t[THREADS];
	pthread_barrier_init(&barrier, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, distinct, (void *)(intptr_t)i);
	int all = 1;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		all &= own_ok[i];
	}
	CHECK(all, "%d threads recording errors at once each read back their own message", THREADS);
	CHECK(usdt_last_error() == USDT_ERROR_NONE && strcmp(usdt_last_errstr(), "no error") == 0,
	      "  and this thread still has none: \"%s\"", usdt_last_errstr());

	/* warm up: the first threads allocate glibc's own per-thread state */
	for (int i = 0; i < 16; i++) {
		pthread_create(&t[0], NULL, one_error, NULL);
		pthread_join(t[0], NULL);
	}
	struct mallinfo2 before = mallinfo2();
	int good = 0;
	for (int i = 0; i < LEAK_THREADS; i++) {
		void *r = NULL;
		pthread_create(&t[0], NULL, one_error, NULL);
		pthread_join(t[0], &r);
		good += r != NULL;
	}
	struct mallinfo2 after = mallinfo2();
	long grown = (long)after.uordblks - (long)before.uordblks;
	CHECK(good == LEAK_THREADS, "%d threads each read their message", good);
	if (UNDER_SANITIZER)
		CHECK(1, "heap after %d threads: checked by LeakSanitizer at exit", LEAK_THREADS);
	else
		CHECK(grown < LEAK_SLACK, "heap after %d threads that each recorded an error: %+ld bytes (limit %d)",
		      LEAK_THREADS, grown, LEAK_SLACK);

	pthread_key_create(&late_key, late_destructor);
	pthread_create(&t[0], NULL, late, NULL);
	pthread_join(t[0], NULL);
	CHECK(late_code == USDT_ERROR_BADNAME && late_msg[0] != '\0' && strcmp(late_msg, "no error") != 0,
	      "an error recorded in a later thread-exit destructor reads \"%s\"", late_msg);
	return check_done();
}
