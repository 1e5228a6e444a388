/*
 * dof.h — the DTrace backend of libusdt: DOF helper documents, tracepoint
 * stubs and submission to a DTrace helper device.
 *
 * This is an internal interface. It knows nothing about the core's provider
 * and probe structures: callers describe a provider with the plain structs
 * below. One document describes exactly one provider. The target platform
 * ("profile") is a run-time value so that the illumos, FreeBSD, macOS and
 * Oracle Linux (dtrace-utils) variants can all be built and tested on any
 * host; usdt_dof_host_profile() gives the compile-time default.
 *
 * Life of a provider on a DTrace system:
 *   1. usdt_dof_check_names() at definition time (refuse what a consumer
 *      would refuse, with a clear message);
 *   2. place one probe stub and one is-enabled stub per probe in executable
 *      memory (usdt_dof_stub_probe / usdt_dof_stub_isenabled give the bytes
 *      and the offset of the tracepoint inside them);
 *   3. usdt_dof_build() with the absolute tracepoint addresses and the
 *      address the document will live at (`base`), then copy the document
 *      there (on Linux: into a named file-backed mapping, one file per
 *      document; on macOS: keep it mapped and unchanged until removal);
 *   4. usdt_dof_register() hands it to the helper device, and
 *      usdt_dof_unregister() removes it at disable.
 * usdt_dof_validate() implements the checks of the DOF checklist
 * (docs/dof.md of the project) and is what the tests and the usdt-dof tool
 * run on every document.
 *
 * Functions returning int return 0 on success and -1 on failure with a
 * NUL-terminated message in err (truncated to errlen) unless stated
 * otherwise.
 */
#ifndef USDT_DOF_H
#define USDT_DOF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * A profile is a consumer (the OS) and, optionally, the architecture of the
 * target process. The four plain values mean "this OS, on the architecture
 * libusdt was compiled for"; the others name the architecture explicitly,
 * so that every variant can be built and validated on any host (dof.md of
 * the project, "arm64"). DOF itself has no machine field: the architecture
 * decides the stub code, where the tracepoint lies in it, and the macOS
 * address rule.
 */
#define USDT_DOF_ARCH_HOST 0x000      /* the architecture compiled for */
#define USDT_DOF_ARCH_X86_64 0x100
#define USDT_DOF_ARCH_ARM64 0x200     /* AArch64, little-endian, LP64 */
#define USDT_DOF_ARCH_MASK 0x300
#define USDT_DOF_OS_MASK 0x0ff

typedef enum {
	USDT_DOF_ILLUMOS,  /* DOF version 2, return-value is-enabled */
	USDT_DOF_FREEBSD,  /* DOF version 2, 88-byte helper struct */
	USDT_DOF_MACOS,    /* DOF version 3, offsets relative to the base */
	USDT_DOF_LINUX,    /* DOF version 3, argument-driven is-enabled */
	USDT_DOF_ILLUMOS_X86_64 = USDT_DOF_ILLUMOS | USDT_DOF_ARCH_X86_64,
	USDT_DOF_FREEBSD_X86_64 = USDT_DOF_FREEBSD | USDT_DOF_ARCH_X86_64,
	USDT_DOF_MACOS_X86_64 = USDT_DOF_MACOS | USDT_DOF_ARCH_X86_64,
	USDT_DOF_LINUX_X86_64 = USDT_DOF_LINUX | USDT_DOF_ARCH_X86_64,
	/* arm64 (there is no illumos arm64 profile) */
	USDT_DOF_FREEBSD_ARM64 = USDT_DOF_FREEBSD | USDT_DOF_ARCH_ARM64,
	USDT_DOF_MACOS_ARM64 = USDT_DOF_MACOS | USDT_DOF_ARCH_ARM64,
	USDT_DOF_LINUX_ARM64 = USDT_DOF_LINUX | USDT_DOF_ARCH_ARM64
} usdt_dof_profile_t;

/* The number of consumers (OSes): plain profiles are 0 .. this - 1. */
#define USDT_DOF_NPROFILES 4
/* Every profile with an explicit architecture, for loops in tests and
 * tools: USDT_DOF_NEXPLICIT entries. */
#define USDT_DOF_NEXPLICIT 7
extern const usdt_dof_profile_t usdt_dof_explicit_profiles[USDT_DOF_NEXPLICIT];

/* Format limits a document built here obeys (checked by
 * usdt_dof_check_names and usdt_dof_build). */
#define USDT_DOF_PROVIDER_NAME_MAX 53   /* + 10 pid digits < 64 */
#define USDT_DOF_MODULE_NAME_MAX 63     /* dofhp_mod is 64 bytes */
#define USDT_DOF_FUNCTION_NAME_MAX 127
#define USDT_DOF_PROBE_NAME_MAX 63
#define USDT_DOF_TYPE_NAME_MAX 127
#define USDT_DOF_ARGS_MAX 255
#define USDT_DOF_LINUX_PATH_MAX 255     /* prov+mod+func+name+3 (NAME_MAX) */

/* The profile of the host this file was compiled for (a plain one). */
usdt_dof_profile_t usdt_dof_host_profile(void);
/* 1 if profile is one of the values above. */
int usdt_dof_profile_valid(usdt_dof_profile_t profile);
/* The consumer of a profile: one of the four plain values (an invalid
 * profile is returned unchanged, so range checks still refuse it). */
usdt_dof_profile_t usdt_dof_profile_os(usdt_dof_profile_t profile);
/* The architecture of a profile with USDT_DOF_ARCH_HOST resolved:
 * USDT_DOF_ARCH_X86_64, USDT_DOF_ARCH_ARM64, or USDT_DOF_ARCH_HOST for a
 * plain profile on a host without DTrace stubs (i386). */
unsigned usdt_dof_profile_arch(usdt_dof_profile_t profile);
/* "illumos", "freebsd", "macos", "linux" for the plain profiles;
 * "<os>-x86_64" and "<os>-arm64" for the others. */
const char *usdt_dof_profile_name(usdt_dof_profile_t profile);
/* Parse a profile name (also "<os>-aarch64"); returns 0 or -1 for an
 * unknown name. */
int usdt_dof_profile_parse(const char *name, usdt_dof_profile_t *profile);
/* The DOF version byte written for a profile (2 or 3). */
int usdt_dof_profile_version(usdt_dof_profile_t profile);

/* One probe: its names, argument types (C spellings such as "int",
 * "char *", "uint64_t") and the absolute addresses of its two stubs as made
 * by usdt_dof_stub_probe / usdt_dof_stub_isenabled (isenabled_addr 0 =
 * none). The builder adds the stubs' site offsets itself; dofpr_addr is the
 * lower of the two stub addresses. */
struct usdt_dof_probe_desc {
	const char *function;
	const char *name;
	size_t argc;
	const char *const *types;
	uint64_t probe_addr;
	uint64_t isenabled_addr;
};

/* One provider. `base` is the address the document will be copied to (it
 * becomes dofhp_addr = dofhp_dof; macOS offsets are relative to it). */
struct usdt_dof_provider_desc {
	const char *name;
	const char *module;
	const struct usdt_dof_probe_desc *probes;
	size_t nprobes;
	uint64_t base;
};

/*
 * Refuse, at definition time, names and types a DTrace consumer of this
 * profile would refuse or that D could not address. module, function and
 * name may be NULL to check only the others (NULL types with argc 0).
 */
int usdt_dof_check_names(usdt_dof_profile_t profile, const char *provider,
			 const char *module, const char *function,
			 const char *name, size_t argc,
			 const char *const *types, char *err, size_t errlen);

/*
 * Build the DOF document for one provider. On success *doc is a malloc'ed
 * buffer of *len bytes (free() it). Layout: header, section headers, then
 * STRTAB, PROBES, PRARGS, PROFFS, [PRENOFFS], PROVIDER; no relocations.
 */
int usdt_dof_build(usdt_dof_profile_t profile,
		   const struct usdt_dof_provider_desc *provider,
		   void **doc, size_t *len, char *err, size_t errlen);

/* What the generator knows about where the tracepoints are (checklist
 * section F). All addresses absolute. */
struct usdt_dof_sites {
	uint64_t dof_addr;                 /* dofhp_addr = dofhp_dof */
	const char *module;                /* dofhp_mod, or NULL */
	const uint64_t *probe_sites;       /* every intended probe site
					      (NULL: no address checks) */
	size_t nprobe_sites;
	const uint64_t *isenabled_sites;   /* every intended is-enabled site */
	size_t nisenabled_sites;
	int in_process;    /* 1: the sites and the document are mapped in this
			      process: also check the instruction bytes at
			      each site and (Linux) the file-backed mappings */
};

/*
 * Validate a document as the consumer of `profile` would (plus the strict
 * rules of the checklist). sites may be NULL (skips section F).
 * Returns 0 when every check passes; otherwise the number of the failed
 * checklist item (1..65) with the consumer's message in msg.
 */
int usdt_dof_validate(usdt_dof_profile_t profile, const void *doc, size_t len,
		      const struct usdt_dof_sites *sites, char *msg,
		      size_t msglen);

/*
 * Validate the argument a submission passes to ADDDOF (checklist section G):
 * `arg` is what the ioctl receives (the 80/88-byte helper, or for macOS the
 * 64-bit variable holding the address of the dof_ioctl_data_t). Same return
 * convention as usdt_dof_validate.
 */
int usdt_dof_validate_helper(usdt_dof_profile_t profile, const void *arg,
			     const void *doc, char *msg, size_t msglen);

/* Write a human-readable description of a document (header, sections,
 * provider, probes with offsets and argument types) to out. Never reads
 * outside [doc, doc+len). Returns 0, or -1 if the document is too damaged to
 * describe beyond the point where it stopped (the output says why). */
int usdt_dof_dump(const void *doc, size_t len, FILE *out);

/* ---- Tracepoint stubs (x86_64 and arm64; others report ENOTSUP) ----
 *
 * Probe stub: a function void stub(args...) whose tracepoint sees the
 * arguments exactly as at a `dtrace -G` call site (registers and stack).
 * Is-enabled stub: a function int stub(void) returning 1 when a tracer has
 * enabled the probe, 0 otherwise, on every profile (return-register
 * convention on illumos/FreeBSD/macOS, a pointer in arg0 on Linux v3).
 * Each call writes usdt_dof_stub_size(profile) bytes (at most
 * USDT_DOF_STUB_MAX) into buf, returns that length (0 if unsupported or
 * cap too small) and stores the offset of the tracepoint within the stub
 * in *site. Stubs are 16 bytes on x86_64 and 32 on arm64.
 */
#define USDT_DOF_STUB_MAX 32
size_t usdt_dof_stub_size(usdt_dof_profile_t profile);
size_t usdt_dof_stub_probe(usdt_dof_profile_t profile, uint8_t *buf,
			   size_t cap, size_t *site);
size_t usdt_dof_stub_isenabled(usdt_dof_profile_t profile, uint8_t *buf,
			       size_t cap, size_t *site);

/* ---- Submission to the helper device ---- */

/* The device entry points, replaceable for tests. ioctl receives the
 * request code and the argument exactly as the real ioctl(2) would (a
 * pointer, or an integer cast to a pointer); each returns -1 with errno set
 * on failure. */
struct usdt_dof_device_ops {
	int (*open)(void *ctx, const char *path, int flags);
	int (*ioctl)(void *ctx, int fd, unsigned long request, void *arg);
	int (*close)(void *ctx, int fd);
	void *ctx;
};
/* Install test doubles (NULL restores the real open/ioctl/close). */
void usdt_dof_set_device_ops(const struct usdt_dof_device_ops *ops);

/* Request codes (dof.md §11.2). */
#define USDT_DOF_ILLUMOS_ADDDOF 0x64746803UL
#define USDT_DOF_ILLUMOS_REMOVE 0x64746802UL
#define USDT_DOF_FREEBSD_ADDDOF 0xC0587A03UL
#define USDT_DOF_FREEBSD_REMOVE 0x80047A02UL
#define USDT_DOF_MACOS_ADDDOF   0x80086804UL
#define USDT_DOF_MACOS_REMOVE   0x20006802UL
#define USDT_DOF_LINUX_ADDDOF   0x4050D803UL
#define USDT_DOF_LINUX_REMOVE   0x4004D802UL
#define USDT_DOF_HELPER_SIZE 80          /* dof_helper_t */
#define USDT_DOF_FREEBSD_HELPER_SIZE 88  /* + dofhp_pid, dofhp_gen */
/* Per-process provider limits (checklist 65). */
#define USDT_DOF_MAX_REGISTERED 32
#define USDT_DOF_MACOS_MAX_REGISTERED 64

/* Is there a helper device to register with? 1 yes, 0 no (no DTrace
 * here), -1 it exists but cannot be opened (errno set). Goes through the
 * device ops, so test doubles answer it. */
int usdt_dof_device_present(usdt_dof_profile_t profile);

/* Helper device path for a profile. */
const char *usdt_dof_helper_path(usdt_dof_profile_t profile);

/* One registered document. The caller owns the struct and keeps it (and, on
 * macOS, the document) alive and unchanged until usdt_dof_unregister. */
struct usdt_dof_registration {
	usdt_dof_profile_t profile;
	int active;          /* 1 while registered */
	int gen;             /* generation returned by the helper device */
	const void *doc;     /* the document at its final address */
	size_t len;
	char module[USDT_DOF_MODULE_NAME_MAX + 1];
	struct usdt_dof_registration *next;   /* internal list */
};

/*
 * Register a document (already at its final address) under `module`.
 * Returns 0 when registered, 1 when there is no helper device (nothing
 * done, no error: DTrace is not installed), -1 on error (err holds the
 * message, with the errno text when the device refused the document).
 */
int usdt_dof_register(usdt_dof_profile_t profile, const void *doc,
		      size_t len, const char *module,
		      struct usdt_dof_registration *reg, char *err,
		      size_t errlen);
/* Remove a registration (REMOVE with its generation). No-op when inactive. */
int usdt_dof_unregister(struct usdt_dof_registration *reg, char *err,
			size_t errlen);
/*
 * Linux only: in a forked child, add every active registration again (the
 * helper daemon keys documents by pid and does not inherit them). Installed
 * from usdt_dof_fork_child() (src/fork.c) once a Linux registration has
 * been made; callable directly.
 * Returns the number of documents that failed to re-register.
 */
int usdt_dof_reregister_after_fork(void);

/* fork() hooks, called only by src/fork.c: prepare takes the registration
 * lock, parent releases it, child releases it and re-registers. */
void usdt_dof_fork_prepare(void);
void usdt_dof_fork_parent(void);
void usdt_dof_fork_child(void);

#endif
