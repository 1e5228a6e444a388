/*
 * t_errmsg_nomem.c — the per-thread error message when its buffer cannot
 * be allocated (issue 9 item 14: the message moved from TLS to the heap).
 *
 * Built like every tests/faults test, with the library's malloc, calloc,
 * strdup, ... redirected (ld --wrap) to the functions below, which fail
 * while `failing` is set. A thread whose first error happens while malloc
 * fails has no message buffer: usdt_last_error() must still give the code
 * and usdt_last_errstr() the static text of that code (usdt_strerror),
 * never NULL, "" or "no error". Its next error, with memory available,
 * gets the full message. A thread that never had an error reads
 * "no error" throughout.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include "check.h"
#include "usdt.h"

static __thread int failing;     /* this thread's library allocations fail */

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
char *__real_strdup(const char *);
void __real_free(void *);
int __real_memfd_create(const char *, unsigned);
int __real_ftruncate(int, off_t);
ssize_t __real_write(int, const void *, size_t);
ssize_t __real_pwrite(int, const void *, size_t, off_t);
int __real_fcntl(int, int, ...);
void *__real_mmap(void *, size_t, int, int, int, off_t);
int __real_open(const char *, int, ...);
void *__real_dlopen(const char *, int);
int __real_dlinfo(void *, int, void *);
int __real_dlclose(void *);

void *__wrap_malloc(size_t);
void *__wrap_calloc(size_t, size_t);
void *__wrap_realloc(void *, size_t);
char *__wrap_strdup(const char *);
void __wrap_free(void *);
int __wrap_memfd_create(const char *, unsigned);
int __wrap_ftruncate(int, off_t);
ssize_t __wrap_write(int, const void *, size_t);
ssize_t __wrap_pwrite(int, const void *, size_t, off_t);
int __wrap_fcntl(int, int, ...);
void *__wrap_mmap(void *, size_t, int, int, int, off_t);
int __wrap_open(const char *, int, ...);
void *__wrap_dlopen(const char *, int);
int __wrap_dlinfo(void *, int, void *);
int __wrap_dlclose(void *);

void *__wrap_malloc(size_t n) { return failing ? (errno = ENOMEM, NULL) : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return failing ? (errno = ENOMEM, NULL) : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { return failing ? (errno = ENOMEM, NULL) : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return failing ? (errno = ENOMEM, NULL) : __real_strdup(s); }
void __wrap_free(void *p) { __real_free(p); }
int __wrap_memfd_create(const char *name, unsigned flags) { return __real_memfd_create(name, flags); }
int __wrap_ftruncate(int fd, off_t len) { return __real_ftruncate(fd, len); }
ssize_t __wrap_write(int fd, const void *b, size_t n) { return __real_write(fd, b, n); }
ssize_t __wrap_pwrite(int fd, const void *b, size_t n, off_t o) { return __real_pwrite(fd, b, n, o); }
int __wrap_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return __real_fcntl(fd, cmd, arg);
}
void *__wrap_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off)
{
	return __real_mmap(a, n, prot, flags, fd, off);
}
int __wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	int mode = (flags & O_CREAT) ? va_arg(ap, int) : 0;
	va_end(ap);
	return __real_open(path, flags, mode);
}
void *__wrap_dlopen(const char *path, int flags) { return __real_dlopen(path, flags); }
int __wrap_dlinfo(void *h, int request, void *arg) { return __real_dlinfo(h, request, arg); }
int __wrap_dlclose(void *h) { return __real_dlclose(h); }

static void *worker(void *arg)
{
	(void)arg;
	failing = 1;
	usdt_provider_t *p = usdt_create_provider("bad name!", "m");
	failing = 0;
	CHECK(p == NULL && usdt_last_error() == USDT_ERROR_BADNAME, "first error while malloc fails: code BADNAME (%d)",
	      (int)usdt_last_error());
	CHECK(usdt_last_errstr() != NULL && strcmp(usdt_last_errstr(), usdt_strerror(USDT_ERROR_BADNAME)) == 0,
	      "  usdt_last_errstr() is the static text of the code: \"%s\"", usdt_last_errstr());

	failing = 1;
	p = usdt_create_provider("fine", "m");
	failing = 0;
	CHECK(p == NULL && usdt_last_error() == USDT_ERROR_MALLOC &&
	      strcmp(usdt_last_errstr(), usdt_strerror(USDT_ERROR_MALLOC)) == 0,
	      "out of memory itself: \"%s\"", usdt_last_errstr());

	p = usdt_create_provider("bad name 2!", "m");
	CHECK(p == NULL && strstr(usdt_last_errstr(), "bad name 2!") != NULL,
	      "memory back: the next error has its full message: \"%s\"", usdt_last_errstr());
	return NULL;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	pthread_join(t, NULL);
	CHECK(usdt_last_error() == USDT_ERROR_NONE && strcmp(usdt_last_errstr(), "no error") == 0,
	      "the main thread never had an error: \"%s\"", usdt_last_errstr());
	return check_done();
}
