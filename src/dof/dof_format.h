/*
 * dof_format.h — byte layout of a DOF helper document (dof.md §2–§7, §11):
 * field offsets, sizes, type codes and the bounds-checked native-endian
 * accessors shared by the builder, the validator and the dump. Every
 * structure is described by offsets rather than C structs so that no
 * padding or alignment assumption can creep in and so that readers can
 * never touch a byte outside the buffer they were given.
 */
#ifndef USDT_DOF_FORMAT_H
#define USDT_DOF_FORMAT_H

#include <stdint.h>
#include <string.h>

#include "dof/dof.h"

/* Header (64 bytes). */
#define DOFF_HDR_SIZE 64
#define DOFF_ID_MAG0 0
#define DOFF_ID_MODEL 4
#define DOFF_ID_ENCODING 5
#define DOFF_ID_VERSION 6
#define DOFF_ID_DIFVERS 7
#define DOFF_ID_DIFIREG 8
#define DOFF_ID_DIFTREG 9
#define DOFF_ID_PAD 10
#define DOFF_ID_SIZE 16
#define DOFF_H_FLAGS 16
#define DOFF_H_HDRSIZE 20
#define DOFF_H_SECSIZE 24
#define DOFF_H_SECNUM 28
#define DOFF_H_SECOFF 32
#define DOFF_H_LOADSZ 40
#define DOFF_H_FILESZ 48
#define DOFF_H_PAD 56

#define DOF_MODEL_ILP32 1
#define DOF_MODEL_LP64 2
#define DOF_ENCODE_LSB 1
#define DOF_ENCODE_MSB 2
#define DOF_DIFVERS 2
#define DOF_DIF_REGS 8

/* Section header (32 bytes). */
#define DOFF_SEC_SIZE 32
#define DOFF_S_TYPE 0
#define DOFF_S_ALIGN 4
#define DOFF_S_FLAGS 8
#define DOFF_S_ENTSIZE 12
#define DOFF_S_OFFSET 16
#define DOFF_S_SIZE 24
#define DOF_SECF_LOAD 1u

/* Section types. */
#define DOF_SECT_NONE 0
#define DOF_SECT_COMMENTS 1
#define DOF_SECT_SOURCE 2
#define DOF_SECT_ECBDESC 3
#define DOF_SECT_STRTAB 8
#define DOF_SECT_RELTAB 10
#define DOF_SECT_URELHDR 12
#define DOF_SECT_PROVIDER 15
#define DOF_SECT_PROBES 16
#define DOF_SECT_PRARGS 17
#define DOF_SECT_PROFFS 18
#define DOF_SECT_UTSNAME 20
#define DOF_SECT_PRENOFFS 26
#define DOF_SECT_MAX 26

/* Provider (44 bytes; 40 in version 1). */
#define DOFF_PV_SIZE 44
#define DOFF_PV_SIZE_V1 40
#define DOFF_PV_STRTAB 0
#define DOFF_PV_PROBES 4
#define DOFF_PV_PRARGS 8
#define DOFF_PV_PROFFS 12
#define DOFF_PV_NAME 16
#define DOFF_PV_PROVATTR 20   /* five attributes, 4 bytes each */
#define DOFF_PV_NATTRS 5
#define DOFF_PV_PRENOFFS 40

/* Probe (48 bytes). */
#define DOFF_PR_SIZE 48
#define DOFF_PR_ADDR 0
#define DOFF_PR_FUNC 8
#define DOFF_PR_NAME 12
#define DOFF_PR_NARGV 16
#define DOFF_PR_XARGV 20
#define DOFF_PR_ARGIDX 24
#define DOFF_PR_OFFIDX 28
#define DOFF_PR_NARGC 32
#define DOFF_PR_XARGC 33
#define DOFF_PR_NOFFS 34
#define DOFF_PR_ENOFFIDX 36
#define DOFF_PR_NENOFFS 40
#define DOFF_PR_PAD1 42
#define DOFF_PR_PAD2 44

/* Relocations. */
#define DOFF_URELHDR_SIZE 12
#define DOFF_RELO_SIZE 24
#define DOFF_RELO_TYPE 4
#define DOFF_RELO_OFFSET 8
#define DOF_RELO_NONE 0
#define DOF_RELO_SETX 1
#define DOF_RELO_DOFREL 2

/* Helper struct (dof_helper_t). */
#define DOFF_HP_MOD 0
#define DOFF_HP_MODLEN 64
#define DOFF_HP_ADDR 64
#define DOFF_HP_DOF 72
#define DOFF_HP_PID 80
#define DOFF_HP_GEN 84
#define DOFF_IOD_HELPERS 8   /* macOS dof_ioctl_data_t: count, helpers */
#define DOF_IOD_COUNT_MAX 1024

/* Attributes: name stability, data stability, dependency class. */
#define DOF_STAB_EVOLVING 5
#define DOF_STAB_MAX 7
#define DOF_CLASS_ISA 4
#define DOF_CLASS_MAX 5
#define DOF_ATTR(n, d, c) (((uint32_t)(n) << 24) | ((uint32_t)(d) << 16) | ((uint32_t)(c) << 8))

/* Native-endian accessors; the caller guarantees off+width is in range. */
static inline uint16_t dof_rd16(const uint8_t *p, uint64_t off)
{ uint16_t v; memcpy(&v, p + off, sizeof v); return v; }
static inline uint32_t dof_rd32(const uint8_t *p, uint64_t off)
{ uint32_t v; memcpy(&v, p + off, sizeof v); return v; }
static inline uint64_t dof_rd64(const uint8_t *p, uint64_t off)
{ uint64_t v; memcpy(&v, p + off, sizeof v); return v; }
static inline void dof_wr16(uint8_t *p, uint64_t off, uint16_t v)
{ memcpy(p + off, &v, sizeof v); }
static inline void dof_wr32(uint8_t *p, uint64_t off, uint32_t v)
{ memcpy(p + off, &v, sizeof v); }
static inline void dof_wr64(uint8_t *p, uint64_t off, uint64_t v)
{ memcpy(p + off, &v, sizeof v); }

/* The native encoding and data model of this process. */
static inline int dof_native_encoding(void)
{
	const uint16_t one = 1;
	uint8_t b;
	memcpy(&b, &one, 1);
	return b ? DOF_ENCODE_LSB : DOF_ENCODE_MSB;
}
#define DOF_NATIVE_MODEL (sizeof(void *) == 8 ? DOF_MODEL_LP64 : DOF_MODEL_ILP32)

/* Maximum load size (exclusive) per profile, dof.md §9. */
#define DOF_MAXSZ_ILLUMOS (8u << 20)
#define DOF_MAXSZ_FREEBSD (8u << 20)
#define DOF_MAXSZ_MACOS (512u << 10)
#define DOF_MAXSZ_LINUX (256u << 20)

/* Stub geometry (dof_stub.c) used by the builder and validator. */
struct dof_stub_info {
	int has_code;            /* 0: this architecture has no stubs (for
				    usdt_dof_arch_info: no stubs the Linux
				    in-process integration can use) */
	int macos_probe_adj;     /* added to (site - base) for probe offsets */
	int macos_enabled_adj;   /* added to (site - base) for is-enabled */
	int macos_clear_bit0;    /* xnu arm64: target = (base + off) & ~1 */
	unsigned insn_align;     /* tracepoints are multiples of this (4 on
				    arm64, 1 on x86-64) */
};
/* The host: what src/linux/dtrace_linux.c may use. */
void usdt_dof_arch_info(struct dof_stub_info *info);
/* The architecture of a profile; returns -1 (has_code 0) when it has no
 * stubs. */
int usdt_dof_profile_geometry(usdt_dof_profile_t profile,
			      struct dof_stub_info *info);
/* 1 if the bytes at p are a valid tracepoint of that kind for the profile
 * (checklist 55); `before` bytes before p and `after` bytes from p are
 * readable. */
int usdt_dof_site_ok(int profile, int isenabled, const uint8_t *p,
		     size_t before, size_t after);

#endif
