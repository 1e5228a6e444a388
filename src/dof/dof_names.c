/*
 * dof_names.c — definition-time refusal of names and argument types that a
 * DTrace consumer would refuse (often silently, long after the ioctl
 * succeeded) or that D could not address: dof.md §10.5–§10.6, §12.3 and
 * checklist items 31–33, 40–42, 50, 59. Also the profile helpers (names,
 * versions, host default).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dof/dof.h"
#include "dof/dof_internal.h"

static const char *const profile_names[USDT_DOF_NPROFILES] = {
	"illumos", "freebsd", "macos", "linux"
};

/* Architecture suffixes of the explicit profiles' names. */
#define ARCH_NAME_X86_64 "x86_64"
#define ARCH_NAME_ARM64 "arm64"
#define ARCH_NAME_ARM64_ALIAS "aarch64"
#define PROFILE_NAME_MAX 32

const usdt_dof_profile_t usdt_dof_explicit_profiles[USDT_DOF_NEXPLICIT] = {
	USDT_DOF_ILLUMOS_X86_64, USDT_DOF_FREEBSD_X86_64, USDT_DOF_MACOS_X86_64,
	USDT_DOF_LINUX_X86_64, USDT_DOF_FREEBSD_ARM64, USDT_DOF_MACOS_ARM64,
	USDT_DOF_LINUX_ARM64,
};

/* "<os>-<arch>" for every explicit profile, in the order above. */
static const char *const explicit_names[USDT_DOF_NEXPLICIT] = {
	"illumos-" ARCH_NAME_X86_64, "freebsd-" ARCH_NAME_X86_64,
	"macos-" ARCH_NAME_X86_64, "linux-" ARCH_NAME_X86_64,
	"freebsd-" ARCH_NAME_ARM64, "macos-" ARCH_NAME_ARM64,
	"linux-" ARCH_NAME_ARM64,
};

usdt_dof_profile_t usdt_dof_host_profile(void)
{
#if defined(__APPLE__)
	return USDT_DOF_MACOS;
#elif defined(__FreeBSD__)
	return USDT_DOF_FREEBSD;
#elif defined(__sun)
	return USDT_DOF_ILLUMOS;
#else
	return USDT_DOF_LINUX;
#endif
}

int usdt_dof_profile_valid(usdt_dof_profile_t profile)
{
	if ((unsigned)profile < USDT_DOF_NPROFILES)
		return 1;
	for (unsigned i = 0; i < USDT_DOF_NEXPLICIT; i++)
		if (usdt_dof_explicit_profiles[i] == profile)
			return 1;
	return 0;
}

usdt_dof_profile_t usdt_dof_profile_os(usdt_dof_profile_t profile)
{
	if (!usdt_dof_profile_valid(profile))
		return profile;
	return (usdt_dof_profile_t)((unsigned)profile & USDT_DOF_OS_MASK);
}

unsigned usdt_dof_profile_arch(usdt_dof_profile_t profile)
{
	if (!usdt_dof_profile_valid(profile))
		return USDT_DOF_ARCH_HOST;
	unsigned a = (unsigned)profile & USDT_DOF_ARCH_MASK;
	if (a != USDT_DOF_ARCH_HOST)
		return a;
#if defined(__x86_64__)
	return USDT_DOF_ARCH_X86_64;
#elif defined(__aarch64__) && defined(__AARCH64EL__)
	return USDT_DOF_ARCH_ARM64;
#else
	return USDT_DOF_ARCH_HOST;
#endif
}

const char *usdt_dof_profile_name(usdt_dof_profile_t profile)
{
	if ((unsigned)profile < USDT_DOF_NPROFILES)
		return profile_names[profile];
	for (unsigned i = 0; i < USDT_DOF_NEXPLICIT; i++)
		if (usdt_dof_explicit_profiles[i] == profile)
			return explicit_names[i];
	return "unknown";
}

int usdt_dof_profile_parse(const char *name, usdt_dof_profile_t *profile)
{
	char buf[PROFILE_NAME_MAX];
	static const char alias[] = "-" ARCH_NAME_ARM64_ALIAS;
	if (!name)
		return -1;
	size_t n = strlen(name), al = sizeof alias - 1;
	/* "<os>-aarch64" is "<os>-arm64" */
	if (n > al && n - al + sizeof "-" ARCH_NAME_ARM64 <= sizeof buf &&
	    strcmp(name + n - al, alias) == 0) {
		memcpy(buf, name, n - al);
		memcpy(buf + n - al, "-" ARCH_NAME_ARM64, sizeof "-" ARCH_NAME_ARM64);
		name = buf;
	}
	for (unsigned i = 0; i < USDT_DOF_NPROFILES; i++) {
		if (strcmp(name, profile_names[i]) == 0) {
			*profile = (usdt_dof_profile_t)i;
			return 0;
		}
	}
	for (unsigned i = 0; i < USDT_DOF_NEXPLICIT; i++) {
		if (strcmp(name, explicit_names[i]) == 0) {
			*profile = usdt_dof_explicit_profiles[i];
			return 0;
		}
	}
	return -1;
}

int usdt_dof_profile_version(usdt_dof_profile_t profile)
{
	usdt_dof_profile_t os = usdt_dof_profile_os(profile);
	return os == USDT_DOF_ILLUMOS || os == USDT_DOF_FREEBSD ? 2 : 3;
}

int usdt_dof_errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* [A-Za-z0-9_.-]: what every consumer, the Linux stash paths and D's probe
 * descriptions all accept (checklist 32, 42). */
int usdt_dof_name_char(int c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '-';
}

const char *usdt_dof_bad_component(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0)
		return "is empty";
	if (n > max)
		return "is too long";
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return "cannot be \".\" or \"..\" (it becomes a path component)";
	for (size_t i = 0; i < n; i++)
		if (!usdt_dof_name_char((unsigned char)s[i]))
			return "contains a character other than [A-Za-z0-9_.-]";
	return NULL;
}

const char *usdt_dof_bad_provider(usdt_dof_profile_t profile, const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "is empty";
	if (n > USDT_DOF_PROVIDER_NAME_MAX)
		return "is longer than 53 characters (the pid must fit in 63)";
	if (!is_alpha((unsigned char)s[0]) && s[0] != '_')
		return "must start with a letter or '_'";
	for (size_t i = 0; i < n; i++)
		if (!usdt_dof_name_char((unsigned char)s[i]))
			return "contains a character other than [A-Za-z0-9_.-]";
	/* A trailing digit is accepted, as DTrace's kernel does: "provider0"
	 * of pid 42 is provider042 in D (README "Names"). */
	if (strcmp(s, "pid") == 0)
		return "is reserved by DTrace";
	if (usdt_dof_profile_os(profile) == USDT_DOF_MACOS &&
	    (strcmp(s, "objc") == 0 || strcmp(s, "oneshot") == 0))
		return "is reserved by DTrace on macOS";
	return NULL;
}

const char *usdt_dof_bad_type(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "is empty";
	if (n > USDT_DOF_TYPE_NAME_MAX)
		return "is longer than 127 characters";
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (!is_alpha(c) && !is_digit(c) && c != '_' && c != ' ' &&
		    c != '*')
			return "contains a character that is not part of a C type";
	}
	return NULL;
}

int usdt_dof_check_names(usdt_dof_profile_t profile, const char *provider,
			 const char *module, const char *function,
			 const char *name, size_t argc,
			 const char *const *types, char *err, size_t errlen)
{
	const char *why;
	const char *p = usdt_dof_profile_name(profile);

	if (!usdt_dof_profile_valid(profile))
		return usdt_dof_errf(err, errlen, "unknown DTrace profile %d",
				     (int)profile);
	if (provider && (why = usdt_dof_bad_provider(profile, provider)))
		return usdt_dof_errf(err, errlen,
				     "DTrace (%s) provider name \"%.80s\" %s", p,
				     provider, why);
	if (module && (why = usdt_dof_bad_component(module,
						   USDT_DOF_MODULE_NAME_MAX)))
		return usdt_dof_errf(err, errlen,
				     "DTrace (%s) module name \"%.80s\" %s", p,
				     module, why);
	if (function && (why = usdt_dof_bad_component(function,
						     USDT_DOF_FUNCTION_NAME_MAX)))
		return usdt_dof_errf(err, errlen,
				     "DTrace (%s) function name \"%.130s\" %s", p,
				     function, why);
	if (name && (why = usdt_dof_bad_component(name, USDT_DOF_PROBE_NAME_MAX)))
		return usdt_dof_errf(err, errlen,
				     "DTrace (%s) probe name \"%.80s\" %s", p,
				     name, why);
	if (usdt_dof_profile_os(profile) == USDT_DOF_LINUX && provider &&
	    module && function &&
	    name &&
	    strlen(provider) + strlen(module) + strlen(function) +
	    strlen(name) + 3 > USDT_DOF_LINUX_PATH_MAX)
		return usdt_dof_errf(err, errlen,
				     "DTrace (linux) probe %s:%s:%s:%s: the four "
				     "names together exceed %d characters",
				     provider, module, function, name,
				     USDT_DOF_LINUX_PATH_MAX - 3);
	if (argc > USDT_DOF_ARGS_MAX)
		return usdt_dof_errf(err, errlen,
				     "DTrace (%s) probes take at most %d arguments, "
				     "not %zu", p, USDT_DOF_ARGS_MAX, argc);
	if (argc && !types)
		return usdt_dof_errf(err, errlen,
				     "%zu arguments but no argument types", argc);
	for (size_t i = 0; i < argc; i++) {
		if (!types[i])
			return usdt_dof_errf(err, errlen,
					     "argument %zu has no type", i);
		if ((why = usdt_dof_bad_type(types[i])))
			return usdt_dof_errf(err, errlen,
					     "DTrace (%s) argument %zu type "
					     "\"%.130s\" %s", p, i, types[i], why);
	}
	return 0;
}
