/*
 * dof_internal.h — helpers shared by the files of the DOF backend only
 * (message formatting and the name rules used both at definition time and
 * by the validator). Not for use outside src/dof/.
 */
#ifndef USDT_DOF_INTERNAL_H
#define USDT_DOF_INTERNAL_H

#include <stddef.h>
#include "dof/dof.h"
#include "dof/dof_format.h"

/* snprintf into err (if any); returns -1. */
int usdt_dof_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* 1 for [A-Za-z0-9_.-]. */
int usdt_dof_name_char(int c);
/* NULL if s is a usable module/function/probe component of at most max
 * characters, else the reason (a phrase starting with a verb). */
const char *usdt_dof_bad_component(const char *s, size_t max);
/* NULL if s is a usable provider name for the profile, else the reason. */
const char *usdt_dof_bad_provider(usdt_dof_profile_t profile, const char *s);
/* NULL if s is a usable argument type string, else the reason. */
const char *usdt_dof_bad_type(const char *s);

/* The data model (DOF_MODEL_*) and byte order (DOF_ENCODE_*) of a
 * profile's target process: LP64 little-endian for the explicit x86_64 and
 * arm64 profiles, this process's own for the plain ones. */
int usdt_dof_target_model(usdt_dof_profile_t profile);
int usdt_dof_target_encoding(usdt_dof_profile_t profile);

/* Maximum load size (exclusive) for a profile. */
uint64_t usdt_dof_max_loadsz(usdt_dof_profile_t profile);

#endif
