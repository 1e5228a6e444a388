/*
 * error.c — error codes, messages and where they are kept.
 *
 * Every failing libusdt call records a code and a formatted message in the
 * calling thread's last-error slot and, when a provider is involved, on the
 * provider (provider->error, replacing and freeing the previous message).
 * usdt_errstr() is valid before any error ("no error"), and never NULL.
 */
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
};

static __thread usdt_error_t tls_code = USDT_ERROR_NONE;
static __thread char tls_msg[USDT_ERRMSG_MAX];

const char *usdt_strerror(usdt_error_t error)
{
	if ((unsigned)error >= USDT_ERROR_MAX_ || messages[error] == NULL)
		return "unknown error";
	return messages[error];
}

static void record(usdt_provider_t *provider, usdt_error_t code, const char *msg)
{
	tls_code = code;
	snprintf(tls_msg, sizeof tls_msg, "%s", msg);
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
	return tls_code == USDT_ERROR_NONE ? "no error" : tls_msg;
}
