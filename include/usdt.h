/*
 * usdt.h — libusdt: define USDT probes at run time and fire them.
 *
 * libusdt lets a running program (typically a language runtime or a binding
 * for one) declare providers and probes while it runs and fire them, so that
 * system tracers see them exactly as if they had been compiled in with
 * <sys/sdt.h> or a DTrace .d file:
 *
 *   - on Linux, each enabled provider becomes one small ELF shared object
 *     built in memory and loaded with dlopen() from a sealed memfd; its
 *     `.note.stapsdt` notes, `.probes` semaphores and 5-byte nop probe sites
 *     are what bpftrace, bcc, perf, GDB and SystemTap look for;
 *   - where a DTrace helper device exists (illumos, FreeBSD, macOS, Oracle
 *     Linux dtrace-utils), the same provider is also described by a DOF
 *     document handed to the helper device.
 *
 * This header is source-compatible with chrisa/libusdt: the public structure
 * fields and every function of that library keep their names, types, order
 * of parameters and meaning, so existing bindings (node-dtrace-provider,
 * lua-usdt, Devel::DTrace::Provider, ruby-usdt) compile unchanged.
 *
 * Typical use:
 *
 *     const char *types[] = { "int", "char *" };
 *     usdt_provider_t *prov = usdt_create_provider("myapp", "core");
 *     usdt_probedef_t *pd = usdt_create_probe("handler", "request", 2, types);
 *     usdt_provider_add_probe(prov, pd);
 *     if (usdt_provider_enable(prov) != 0)
 *             fprintf(stderr, "%s\n", usdt_errstr(prov));
 *     ...
 *     if (usdt_is_enabled(pd->probe)) {             // cheap: no tracer, no work
 *             void *argv[] = { (void *)(intptr_t)status, (void *)path };
 *             usdt_fire_probe(pd->probe, 2, argv);
 *     }
 *     ...
 *     usdt_probe_release(pd);        // drop the creator's reference
 *     usdt_provider_free(prov);      // disables first if needed
 *
 * and, from a shell:  bpftrace -p PID -e 'usdt:*:myapp:request
 *                          { printf("%d %s\n", arg0, str(arg1)); }'
 *
 * ---------------------------------------------------------------------------
 * Names (checked when a provider or probe is created; refused otherwise).
 * Every kind takes the characters [A-Za-z0-9_.-], as libusdt 0.x's users
 * and DTrace name things, and is not "." or "..":
 *   provider  1..USDT_PROVIDER_NAME_MAX chars, first a letter or '_'; a last
 *             digit is allowed ("provider0": DTrace shows it with the pid
 *             appended, provider0 of pid 42 is provider042 in D); not a
 *             DTrace or tracer built-in ("pid", "fbt", "syscall", ...: see
 *             usdt_errstr for the exact message). Published unchanged.
 *   probe     1..USDT_PROBE_NAME_MAX chars, any first character ("32probe").
 *             A '-' is published to Linux tracers as "__" (the <sys/sdt.h>
 *             and `dtrace -G` convention: request-start is traced as
 *             usdt:*:myapp:request__start) and kept as '-' in DTrace. Two
 *             names with the same Linux form ("a-b", "a__b") in one
 *             provider and function are a duplicate (USDT_ERROR_DUP_PROBE).
 *   function  0..USDT_FUNCTION_NAME_MAX chars; may be empty.
 *             Only DTrace shows it (an empty one shows as the probe name);
 *             Linux tracers ignore it. NULL = "". An empty module shows as
 *             "libusdt" in DTrace.
 *   module    0..USDT_MODULE_NAME_MAX chars; NULL = "".
 * Characters that tracers cannot parse (space, ':', quotes, '/', '$', '*',
 * control characters, non-ASCII) are never accepted: they would corrupt
 * note or DOF strings or make the probe unnameable in a tracer's probe
 * syntax. README "Names" has the table of names as created and as traced.
 *
 * Argument types (the strings in `types[]`, spaces around '*' are optional):
 *   "int" "unsigned int" "unsigned" "short" "unsigned short" "char"
 *   "signed char" "unsigned char" "long" "unsigned long" "long long"
 *   "unsigned long long" "int8_t" "uint8_t" "int16_t" "uint16_t" "int32_t"
 *   "uint32_t" "int64_t" "uint64_t" "intptr_t" "uintptr_t" "size_t"
 *   "ssize_t" "off_t" "pid_t" "uid_t" "gid_t" "bool" "_Bool"
 *   "char *" "const char *" (strings: read with str()/copyinstr())
 *   "void *" "const void *" (opaque pointers)
 *   "json"  a char * holding JSON text: a string to every tracer, marked
 *           as JSON in the type metadata (`usdt trace` pretty-prints it)
 *   "struct NAME *"  a pointer to a structure registered with
 *           usdt_register_struct() (see "Structured arguments" below)
 * Each argument is passed to usdt_fire_probe() as one machine word (an
 * integer cast to void *, or a pointer); the tracer reads the declared width
 * and signedness (an "int8_t" argument of (void *)-1 reads as -1).
 * An unknown type string is an error (USDT_ERROR_BADTYPE), never a silent
 * default.
 *
 * ---------------------------------------------------------------------------
 * Errors. Functions that can fail return -1 (or NULL) and record an error:
 *   - on the provider involved: usdt_errstr(provider) returns the message of
 *     the last error on that provider (or "no error"); provider->error holds
 *     the same string (owned by the provider, replaced on the next error);
 *   - per thread: usdt_last_error() and usdt_last_errstr() return the code
 *     and message of the calling thread's last failed libusdt call, for
 *     calls that have no provider (usdt_create_provider, usdt_create_probe).
 * No error path leaks memory, file descriptors, mappings or files.
 *
 * ---------------------------------------------------------------------------
 * Threads. libusdt keeps no hidden global state that would need a lock
 * around calls, except a process-wide registry of enabled provider names,
 * which it locks itself, and the structure registry (usdt_register_struct),
 * which needs no lock.
 *   - usdt_fire_probe() and usdt_is_enabled() may be called from any number of
 *     threads at once, concurrently with usdt_provider_enable(), _disable(),
 *     _add_probe(), _remove_probe() and _free() on the provider that owns the
 *     probe, from another thread. While its provider stays enabled, a probe's
 *     probedef->probe never changes and never reads NULL, whatever happens
 *     to other providers (including providers of the same name). While the
 *     provider is disabled the two calls do nothing and return 0.
 *   - usdt_probe_t objects are never returned to the allocator (type-stable
 *     memory): a pointer read from probedef->probe can be passed to these
 *     two calls at any time, even after its definition was freed; then they
 *     do nothing and return 0 (after many more probe definitions have been
 *     freed, the object may be reused by a new probe, which such a stale
 *     pointer would then fire: stop using it when you free the definition).
 *   - Code of a disabled provider is unmapped only after every thread that
 *     could be executing it has left it. No call ever waits for another
 *     thread: when a thread is still inside (preempted in the middle of a
 *     fire, or stopped there by a debugger), the object is hidden from
 *     tracers at once and unmapped by a later libusdt management call once
 *     that thread has moved on.
 *   - The other functions that modify one provider (create/add/remove/
 *     enable/disable/free) must not run concurrently on the same provider;
 *     different providers may be managed from different threads at once.
 *
 * Signals. usdt_fire_probe(), usdt_is_enabled() and usdt_is_enabled_inline()
 * are async-signal-safe: a handler may fire on any thread, including a
 * thread interrupted inside any libusdt call and a thread's very first
 * fire (they take no lock and allocate with mmap only). The management
 * functions are not async-signal-safe.
 *
 * fork(). A fork() waits for a management call running in another thread
 * to finish (every libusdt lock is taken by one atfork handler, in one
 * order), so it never deadlocks and the child never sees half a change.
 * The child inherits every enabled provider, working: tracers attached to
 * the child's pid (bpftrace -p, gdb -p) see the child's probes under names
 * that designate the child, and it can disable or free its copies without
 * affecting the parent (only the process that created an object's file
 * removes it). The child may use every libusdt call.
 *
 * Language VMs and JITs that generate code: <usdt_vm.h> gives the
 * addresses to inline (with change notification) and probes whose
 * arguments are read where the VM keeps them.
 *
 * Everything declared here is part of the stable ABI of libusdt.so.1.
 */
#ifndef USDT_H
#define USDT_H

#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(USDT_BUILDING) && defined(__GNUC__)
#define USDT_API __attribute__((visibility("default")))
#else
#define USDT_API
#endif

/* Most arguments a probe can declare (libusdt's value). Tracers built on
 * libbpf read at most 12, bpftrace before 0.24 at most 6; all 32 are
 * described correctly in the probe's note and DOF. */
#define USDT_ARG_MAX 32

/* Name limits, in bytes, not counting the terminating NUL. The provider
 * limit leaves room for DTrace's decimal pid suffix (DTRACE_PROVNAMELEN 64). */
#define USDT_PROVIDER_NAME_MAX 53
#define USDT_PROBE_NAME_MAX 63
#define USDT_FUNCTION_NAME_MAX 127
#define USDT_MODULE_NAME_MAX 63

/*
 * libusdt 0.1 compatibility: probedef->types[i] points at the library's
 * canonical spelling of the declared type, and the two types libusdt 0.1
 * knew have fixed addresses, so 0.1-era bindings (lua-usdt) that test
 * `probedef->types[i] == USDT_ARGTYPE_STRING` keep working. "char *" and
 * "const char *" both give USDT_ARGTYPE_STRING, "int" USDT_ARGTYPE_INTEGER.
 */
USDT_API extern const char usdt_argtype_string[];   /* "char *" */
USDT_API extern const char usdt_argtype_integer[];  /* "int" */
#define USDT_ARGTYPE_NONE    ((char *)0)
#define USDT_ARGTYPE_STRING  ((char *)usdt_argtype_string)
#define USDT_ARGTYPE_INTEGER ((char *)usdt_argtype_integer)

/* Error codes. The first eight are libusdt's, with their original values. */
typedef enum usdt_error {
	USDT_ERROR_MALLOC = 0,       /* out of memory */
	USDT_ERROR_VALLOC,           /* could not allocate/map probe code */
	USDT_ERROR_NOPROBES,         /* enable of a provider with no probes */
	USDT_ERROR_LOADDOF,          /* the loader or helper device refused */
	USDT_ERROR_ALREADYENABLED,   /* enable of an enabled provider (not fatal) */
	USDT_ERROR_UNLOADDOF,        /* unloading failed */
	USDT_ERROR_DUP_PROBE,        /* (function, name) already in the provider */
	USDT_ERROR_REMOVE_PROBE,     /* probe is not part of this provider */
	/* libusdt 1.x additions */
	USDT_ERROR_NONE,             /* no error has happened */
	USDT_ERROR_NULL,             /* a required pointer argument is NULL */
	USDT_ERROR_BADNAME,          /* illegal or overlong name */
	USDT_ERROR_BADTYPE,          /* unknown argument type string */
	USDT_ERROR_ARGC,             /* argc negative or above USDT_ARG_MAX */
	USDT_ERROR_DUP_PROVIDER,     /* a provider of that name is enabled already */
	USDT_ERROR_INVALID,          /* freed or corrupt object passed in */
	USDT_ERROR_LOAD,             /* building or loading the probe object failed */
	USDT_ERROR_UNSUPPORTED,      /* no backend for this platform */
	USDT_ERROR_LAYOUT,           /* invalid structure layout (usdt_register_struct) */
	USDT_ERROR_DUP_STRUCT,       /* a structure of that name has another layout */
	USDT_ERROR_MAX_
} usdt_error_t;

/*
 * A live probe: what usdt_fire_probe() and usdt_is_enabled() take. Found in
 * probedef->probe while the provider is enabled. Its contents are private
 * (libusdt 0.x exposed two code addresses here; nothing may call them).
 * The object lives as long as its probe definition, across any number of
 * disable/enable cycles.
 */
typedef struct usdt_probe {
	void *_live;                     /* current binding, or NULL (atomic) */
	uint32_t _magic;
	uint32_t _index;
	const volatile uint16_t *_sem;   /* for usdt_is_enabled_inline(): the */
	const unsigned char *_site;      /* semaphore and site, or NULL */
} usdt_probe_t;

/*
 * A probe definition: a probe's name, function and argument types.
 * Created by usdt_create_probe() with one reference (the caller's);
 * usdt_provider_add_probe() takes another; usdt_probe_release() and
 * usdt_provider_remove_probe() drop one each; usdt_provider_free() drops the
 * provider's. It is freed when the last reference goes.
 */
typedef struct usdt_probedef {
	const char *name;
	const char *function;
	size_t argc;
	char *types[USDT_ARG_MAX];       /* canonical spelling of each type
	                                    ("char *", "int", "uint8_t", ...);
	                                    static storage, never freed */
	struct usdt_probe *probe;        /* non-NULL while the provider is enabled */
	struct usdt_probedef *next;      /* next probe of the provider */
	int refcnt;
	/* private */
	uint32_t _magic;
	uint8_t _argsize[USDT_ARG_MAX];  /* signed size per arg: -8..8 */
	uint8_t _argflags[USDT_ARG_MAX];
	struct usdt_probe *_probe;       /* the probe object, always allocated */
	struct usdt_provider *_owner;    /* provider holding it, or NULL */
	struct usdt_probedef *_hnext;    /* next in the provider's name index */
	unsigned long _stamp;            /* last object build that included it */
	void *_vm;                       /* VM-chosen argument locations (usdt_vm.h), or NULL */
} usdt_probedef_t;

/* A provider: a named set of probe definitions, enabled as one unit. */
typedef struct usdt_provider {
	const char *name;
	const char *module;
	usdt_probedef_t *probedefs;      /* list, in order of addition */
	char *error;                     /* last error message, or NULL */
	int enabled;                     /* 1 while enabled */
	void *file;                      /* libusdt: backend state (private) */
	/* private */
	uint32_t _magic;
	usdt_error_t _errcode;
	size_t _nprobes;
	usdt_probedef_t *_tail;          /* last of probedefs */
	usdt_probedef_t **_index;        /* (function, name) hash buckets */
	size_t _nbuckets;
	void *_retained;                 /* object kept mapped for its inline checks */
} usdt_provider_t;

/*
 * Create a provider. `name` must follow the provider name rules above;
 * `module` may be NULL. Returns NULL on error (code and message through
 * usdt_last_error()/usdt_last_errstr()). The provider starts disabled.
 */
USDT_API usdt_provider_t *usdt_create_provider(const char *name, const char *module);

/*
 * Create a probe definition. Note the order: function, then name.
 * `argc` is 0..USDT_ARG_MAX; `types` has argc type strings (may be NULL
 * when argc is 0). Strings are copied. Returns NULL on error (NULL or illegal
 * name, bad argc, unknown type; see usdt_last_errstr()).
 * The returned definition holds one reference, owned by the caller.
 */
USDT_API usdt_probedef_t *usdt_create_probe(const char *func, const char *name,
                                            size_t argc, const char **types);

/* ---------------------------------------------------------------------------
 * Structured arguments.
 *
 * A probe argument may be a pointer to a structure whose layout is declared
 * at run time: register the layout once, then use "struct NAME *" in the
 * types[] of usdt_create_probe() and pass the structure's address when
 * firing (one machine word, like any pointer):
 *
 *     struct request { int32_t status; uint64_t bytes; const char *path; };
 *     static const usdt_field_t fields[] = {
 *             { "status", "int32_t", offsetof(struct request, status) },
 *             { "bytes", "uint64_t", offsetof(struct request, bytes) },
 *             { "path", "char *", offsetof(struct request, path) },
 *     };
 *     usdt_register_struct("request", sizeof(struct request), 3, fields);
 *     const char *types[] = { "struct request *" };
 *     usdt_probedef_t *pd = usdt_create_probe("handler", "done", 1, types);
 *
 * On Linux the object's type metadata (.note.libusdt) carries the layout of
 * every structure its probes use: `usdt list` shows it, `usdt trace` prints
 * each field by its type and `usdt cdecl` prints C declarations a bpftrace
 * script can take (`((struct request *)arg0)->status`). DTrace sees the
 * argument's native type "struct request *" (docs/dof.md).
 *
 * Field types: every scalar argument type above (integers of each width,
 * "bool", "char *" strings, "void *", "json"), "char[N]" (an inline
 * character array, e.g. a fixed-size name), "struct OTHER" (an inline
 * structure) and "struct OTHER *" (a pointer; `usdt trace` prints its
 * address), OTHER being registered already. Each field lies inside the
 * structure, no two overlap, and each is at a multiple of its natural
 * alignment (what a C compiler lays out without `packed`: tracers declare
 * the structure in C, and bpftrace cannot declare a packed one); the size
 * is a multiple of the structure's alignment. Fields may be given in any
 * order and need not cover every byte.
 */
#define USDT_STRUCT_NAME_MAX 63          /* bytes, without "struct " */
#define USDT_FIELD_NAME_MAX 63
#define USDT_STRUCT_FIELDS_MAX 64
#define USDT_STRUCT_SIZE_MAX 65536       /* bytes */
#define USDT_STRUCTS_MAX 1024            /* distinct structures per process */

typedef struct usdt_field {
	const char *name;                /* a C identifier */
	const char *type;                /* "int32_t", "char *", "char[16]", "struct x", ... */
	size_t offset;                   /* offsetof(struct ..., name) */
} usdt_field_t;

/*
 * Register the layout of `struct NAME` (`name` is a C identifier, with or
 * without a leading "struct "): `size` bytes, `nfields` fields. The
 * registry is process-wide, thread-safe (no lock: concurrent calls are
 * fine) and lives until the process exits; strings are copied.
 * Registering a name again with the same layout returns 0; with another
 * layout USDT_ERROR_DUP_STRUCT. Layout errors are USDT_ERROR_LAYOUT, each
 * with a message naming the structure and field (usdt_last_errstr()):
 * a bad or reserved structure or field name, a repeated field name, zero
 * or more than USDT_STRUCT_FIELDS_MAX fields, a size of 0 or above
 * USDT_STRUCT_SIZE_MAX, an unknown field type (or a structure not
 * registered yet), a field past the end of the structure, two fields
 * that overlap, a misaligned field or size; more than USDT_STRUCTS_MAX
 * structures is USDT_ERROR_LAYOUT too. NULL name or fields (with
 * nfields > 0) is USDT_ERROR_NULL. Returns 0 or -1.
 */
USDT_API int usdt_register_struct(const char *name, size_t size, size_t nfields, const usdt_field_t *fields);

/*
 * Add a probe definition to a provider (takes a reference). A definition
 * whose (function, name) pair is already in the provider is refused with
 * USDT_ERROR_DUP_PROBE; so is a definition that belongs to another provider.
 * If the provider is enabled, the probe is live at once: the provider's
 * object is rebuilt and swapped (tracers already attached to other probes
 * of this provider must re-attach). Returns 0 or -1.
 */
USDT_API int usdt_provider_add_probe(usdt_provider_t *provider, usdt_probedef_t *probedef);

/*
 * Remove a probe definition from a provider (drops the provider's
 * reference; the definition is freed if that was the last one). If the
 * provider is enabled, it is rebuilt without the probe (or disabled when
 * no probe is left). USDT_ERROR_REMOVE_PROBE if it is not in the provider.
 */
USDT_API int usdt_provider_remove_probe(usdt_provider_t *provider, usdt_probedef_t *probedef);

/*
 * Enable: build the provider's probe object(s), load them, make the probes
 * visible to tracers and set every probedef->probe. Fails with
 * USDT_ERROR_NOPROBES if there is no probe and USDT_ERROR_LOAD with the
 * system's reason if no loading strategy works; a failed enable changes
 * nothing. Enabling an enabled provider records USDT_ERROR_ALREADYENABLED
 * and returns 0 (libusdt behaviour). Disable + enable works any number of
 * times. Several providers of the same name may be enabled at once (as in
 * libusdt 0.x, e.g. two copies of a library): they share one object, so
 * tracers see all their probes under that provider name, and a probe name
 * two of them define is one probe with two locations.
 */
USDT_API int usdt_provider_enable(usdt_provider_t *provider);

/*
 * Disable: set every probedef->probe to NULL, remove the probes from
 * tracers' view at once and unload the object once no thread can be inside
 * it (at once, or at a later libusdt call if a thread is still inside one
 * of its probes: disable never waits for another thread). Disabling a
 * disabled provider returns 0. If unloading reports an error (dlclose, a
 * DTrace helper refusing REMOVE), the provider is still disabled and
 * everything else unloaded; returns -1 with USDT_ERROR_UNLOADDOF (as libusdt
 * 0.x). Returns 0 or -1.
 */
USDT_API int usdt_provider_disable(usdt_provider_t *provider);

/*
 * Free a provider: disable it if enabled, drop its reference on every probe
 * definition, free it. NULL is ignored. The pointer is invalid afterwards.
 */
USDT_API void usdt_provider_free(usdt_provider_t *provider);

/*
 * Drop one reference to a probe definition; the last one frees it (and its
 * usdt_probe_t). NULL is ignored. A definition still added to a provider
 * keeps the provider's reference and stays alive.
 */
USDT_API void usdt_probe_release(usdt_probedef_t *probedef);

/*
 * Is any tracer attached to this probe? True while a tracer that maintains
 * the probe's semaphore (bpftrace, bcc, perf, GDB) is attached, and while a
 * tracer that does not (a raw uprobe, `perf probe -x` without a reference
 * counter, a GDB breakpoint) has a breakpoint on the probe site. Returns 0
 * for NULL or for a probe of a disabled provider. A few nanoseconds; no
 * system call, no lock.
 */
USDT_API int usdt_is_enabled(usdt_probe_t *probe);

/*
 * Fire a probe with argc machine-word arguments (argc should equal the
 * probe's declared count; extra words are ignored, missing ones read as 0).
 * Does nothing for NULL, for a probe of a disabled provider, or when no
 * tracer is attached (the check is the same as usdt_is_enabled()).
 */
USDT_API void usdt_fire_probe(usdt_probe_t *probe, size_t argc, void **argv);

/*
 * Inline is-enabled check for C and C++ callers: the same answer as
 * usdt_is_enabled() without a function call (two loads and a compare).
 * What it guarantees:
 *   - NULL, freed and disabled probes give 0; it never reads freed memory.
 *   - It reads the semaphore and site of the probe's object directly, with
 *     no grace period. libusdt points it at them only for a provider that
 *     is alone under its name (and has no DTrace stubs); only that
 *     provider's own add_probe/remove_probe/disable/free move or unmap
 *     them, so do not run those concurrently with inline checks of its
 *     probes in other threads (the common "enable at start-up" case is
 *     fine; use usdt_is_enabled() otherwise).
 *   - Changes to OTHER providers never make it read unmapped memory: when
 *     a second provider of the same name is enabled (two copies of a
 *     library), the first one's object stays mapped for its inline checks
 *     until its own next call, and its probes answer through
 *     usdt_is_enabled() from then on.
 */
#if defined(__x86_64__) || defined(__i386__)
#define USDT__SITE_IDLE_BYTE 0x0f        /* first byte of the untouched nop */
#elif defined(__aarch64__) && defined(__AARCH64EL__)
#define USDT__SITE_IDLE_BYTE 0x1f        /* first byte of nop (d503201f); BRK's is not */
#endif

static inline int usdt_is_enabled_inline(const usdt_probe_t *probe)
{
#ifdef USDT__SITE_IDLE_BYTE
	const volatile uint16_t *sem;
	if (probe == NULL)
		return 0;
	sem = __atomic_load_n(&probe->_sem, __ATOMIC_ACQUIRE);
	if (sem == NULL)        /* disabled, or more to check (twins, DTrace) */
		return __atomic_load_n(&probe->_live, __ATOMIC_RELAXED) != NULL &&
		       usdt_is_enabled((usdt_probe_t *)probe);
	/* both loads at once, no branch between them */
	return (*sem | (unsigned)(*(const volatile unsigned char *)__atomic_load_n(&probe->_site, __ATOMIC_RELAXED) ^
	                          USDT__SITE_IDLE_BYTE)) != 0;
#else
	return usdt_is_enabled((usdt_probe_t *)probe);
#endif
}

/*
 * The semaphore of libusdt:fire, the system-wide probe compiled into
 * libusdt (every runtime probe's fires go through it while it is traced):
 * non-zero while a tracer is attached to it. usdt_is_enabled() already
 * includes it; usdt_is_enabled_inline() does not (one more load). For
 * bindings that check whether to fire without calling into the library
 * (they also read a probe's _sem/_site like usdt_is_enabled_inline()).
 * The address never changes.
 */
USDT_API const volatile uint16_t *usdt_system_semaphore(void);

/* libusdt: record an error on a provider (formats the code's message). */
USDT_API void usdt_error(usdt_provider_t *provider, usdt_error_t error, ...);

/*
 * The message of the provider's last error, or "no error". Never NULL
 * (also for a NULL provider, where it returns the calling thread's last
 * message). Owned by the provider: valid until its next error or its free.
 */
USDT_API char *usdt_errstr(usdt_provider_t *provider);

/* Calling thread's last error code (USDT_ERROR_NONE if none yet) and message
 * (never NULL; thread-local storage, valid until the thread's next error). */
USDT_API usdt_error_t usdt_last_error(void);
USDT_API const char *usdt_last_errstr(void);

/* A static description of an error code ("unknown argument type", ...). */
USDT_API const char *usdt_strerror(usdt_error_t error);

/* Library version, e.g. "1.0.0". */
USDT_API const char *usdt_version(void);

#ifdef __cplusplus
}
#endif
#endif /* USDT_H */
