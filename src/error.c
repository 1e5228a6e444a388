/*
 * error.c — error codes, messages and where they are kept.
 *
 * Every failing libusdt call records a code and a formatted message in the
 * calling thread's last-error slot and, when a provider is involved, on the
 * provider (provider->error, replacing and freeing the previous message).
 * usdt_errstr() is valid before any error ("no error"), and never NULL.
 *
 * Thread-local storage is kept to a code and a pointer (issue 9 item 14):
 * libusdt.so has initial-exec TLS (the reader record of the fire path), so
 * its whole TLS block comes from the loader's small static TLS surplus,
 * shared by every module a process dlopen()s (Python ctypes, Node addons);
 * a 512-byte message there used most of it. The message lives on the heap
 * instead: allocated at the thread's first error, reused for its later
 * ones, freed at thread exit by the destructor of a pthread key created in
 * a constructor (and deleted when libusdt.so is unloaded, so that no thread
 * exit runs code that is gone). When there is no buffer — the key could not
 * be created, malloc failed, or the thread is exiting and the destructor
 * already ran — the code is still recorded and usdt_last_errstr() returns
 * the static text of the code (usdt_strerror), never a stale message.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usdt_internal.h"

static const char *const messages[USDT_ERROR_MAX_] = {
	[USDT_ERROR_MALLOC] = "failed to allocate memory",
	[USDT_ERROR_VALLOC] = "failed to allocate probe code memory",
	[USDT_ERROR_NOPROBES] = "no probes defined",
	[USDT_ERROR_LOADDOF] = "failed to load DOF",
	[USDT_ERROR_ALREADYENABLED] = "provider is already enabled",
	[USDT_ERROR_UNLOADDOF] = "failed to unload DOF",
	[USDT_ERROR_DUP_PROBE] = "probe already exists",
	[USDT_ERROR_REMOVE_PROBE] = "failed to remove probe",
	[USDT_ERROR_NONE] = "no error",
	[USDT_ERROR_NULL] = "NULL argument",
	[USDT_ERROR_BADNAME] = "invalid name",
	[USDT_ERROR_BADTYPE] = "unknown argument type",
	[USDT_ERROR_ARGC] = "invalid argument count",
	[USDT_ERROR_DUP_PROVIDER] = "a provider of this name is already enabled",
	[USDT_ERROR_INVALID] = "invalid or freed object",
	[USDT_ERROR_LOAD] = "failed to load the probe object",
	[USDT_ERROR_UNSUPPORTED] = "not supported on this platform",
	[USDT_ERROR_LAYOUT] = "invalid structure layout",
	[USDT_ERROR_DUP_STRUCT] = "a structure of this name is registered with another layout",
};

static __thread usdt_error_t tls_code = USDT_ERROR_NONE;
static __thread char *tls_msg;              /* USDT_ERRMSG_MAX bytes, or NULL */
static __thread unsigned char tls_exited;   /* msg_key's destructor ran */
static pthread_key_t msg_key;
static int msg_key_ok;   /* atomic: set by the constructor, cleared by the destructor */

static void msg_free(void *buf)
{
	free(buf);
	tls_msg = NULL;
	tls_exited = 1;     /* a later destructor's error gets the static text */
}

__attribute__((constructor)) static void msg_key_create(void)
{
	__atomic_store_n(&msg_key_ok, pthread_key_create(&msg_key, msg_free) == 0, __ATOMIC_RELEASE);
}

/* dlclose() of libusdt.so: no thread exit may call msg_free afterwards.
 * Other live threads' buffers (one each, if they had an error) are lost. */
__attribute__((destructor)) static void msg_key_delete(void)
{
	if (!__atomic_exchange_n(&msg_key_ok, 0, __ATOMIC_ACQ_REL))
		return;
	pthread_key_delete(msg_key);
	free(tls_msg);
	tls_msg = NULL;
}

/* The calling thread's message buffer, allocated on first use; NULL when
 * there is none (see the top of the file). */
static char *msg_buffer(void)
{
	if (tls_msg != NULL || tls_exited || !__atomic_load_n(&msg_key_ok, __ATOMIC_ACQUIRE))
		return tls_msg;
	char *buf = malloc(USDT_ERRMSG_MAX);
	if (buf == NULL)
		return NULL;
	if (pthread_setspecific(msg_key, buf) != 0) {   /* would leak at exit */
		free(buf);
		return NULL;
	}
	tls_msg = buf;
	return buf;
}

const char *usdt_strerror(usdt_error_t error)
{
	if ((unsigned)error >= USDT_ERROR_MAX_ || messages[error] == NULL)
		return "unknown error";
	return messages[error];
}

static void record(usdt_provider_t *provider, usdt_error_t code, const char *msg)
{
	char *buf = msg_buffer();
	tls_code = code;
	if (buf != NULL)
		snprintf(buf, USDT_ERRMSG_MAX, "%s", msg);
	if (provider != NULL && provider->_magic == USDT_MAGIC_PROVIDER) {
		char *copy = strdup(msg);
		if (copy != NULL) {     /* on ENOMEM keep the old message */
			free(provider->error);
			provider->error = copy;
		}
		provider->_errcode = code;
	}
}

static void vrecord(usdt_provider_t *provider, usdt_error_t code, const char *fmt, va_list ap)
{
	char msg[USDT_ERRMSG_MAX];
	if (fmt == NULL) {
		snprintf(msg, sizeof msg, "%s", usdt_strerror(code));
	} else {
		vsnprintf(msg, sizeof msg, fmt, ap);
	}
	record(provider, code, msg);
}

int usdt_fail(usdt_provider_t *provider, usdt_error_t code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vrecord(provider, code, fmt, ap);
	va_end(ap);
	return -1;
}

int usdt_errf(char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, USDT_ERRMSG_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* libusdt's entry point: record `error` with its generic message. The
 * variadic arguments of libusdt 0.x (printf arguments of its format
 * strings) are accepted and ignored. */
void usdt_error(usdt_provider_t *provider, usdt_error_t error, ...)
{
	record(provider, error, usdt_strerror(error));
}

char *usdt_errstr(usdt_provider_t *provider)
{
	static char no_error[] = "no error";
	if (provider == NULL)
		return (char *)usdt_last_errstr();
	if (provider->_magic != USDT_MAGIC_PROVIDER)
		return (char *)usdt_strerror(USDT_ERROR_INVALID);
	return provider->error != NULL ? provider->error : no_error;
}

usdt_error_t usdt_last_error(void)
{
	return tls_code;
}

const char *usdt_last_errstr(void)
{
	if (tls_code == USDT_ERROR_NONE)
		return "no error";
	return tls_msg != NULL ? tls_msg : usdt_strerror(tls_code);
}
