/*
 * dof_validate.c — the DOF validator: every check of the project's DOF
 * checklist (docs/dof.md; source: dof-checklist.md items 1–65), applied as
 * the consumer of the chosen profile applies it, in the consumer's order,
 * reporting the consumer's own message (kernel text for illumos, FreeBSD and
 * macOS; dtrace-utils text for Linux). Checks that no consumer makes (the
 * strict and hygiene rules that make a document actually produce its probes)
 * report a message starting with "libusdt: ". The return value is the
 * checklist item number, so tests can assert on both.
 *
 * Every read is bounds-checked against the buffer; arithmetic is 64-bit and
 * any 32-bit wrap the consumers would suffer is itself a failure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dof/dof_internal.h"

/* Kernel pointer size: PROBES entries must be a multiple of it (P8). */
#define DOF_KERNEL_PTR 8
/* Longest string (with NUL) the consumers accept per field. */
#define DOF_FUNC_LEN_MAX 128
#define DOF_NAME_LEN_MAX 64
#define DOF_TYPE_LEN_MAX 128
/* Bytes readable around a tracepoint when checking instruction bytes (the
 * stubs of dof_stub.c keep what is compared inside the stub: at most one
 * x86 instruction or one arm64 word before the site). */
#define DOF_SITE_BEFORE 4
#define DOF_SITE_AFTER 4

struct sec {
	uint32_t type, align, flags, entsize;
	uint64_t offset, size;
};

struct vctx {
	usdt_dof_profile_t prof;     /* the consumer (plain profile) */
	usdt_dof_profile_t full;     /* as given: with the architecture */
	int lx;                  /* dtrace-utils messages */
	const uint8_t *d;
	uint64_t len, loadsz;
	unsigned version;
	uint32_t secnum, secsize;
	uint64_t secoff;
	char *msg;
	size_t msglen;
};

static int vfail(struct vctx *c, int check, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int vfail(struct vctx *c, int check, const char *fmt, ...)
{
	if (c->msg && c->msglen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->msg, c->msglen, fmt, ap);
		va_end(ap);
	}
	return check;
}

/* Kernel message, or the dtrace-utils format with its arguments. */
#define KL(n, kmsg, ...) \
	return c->lx ? vfail(c, n, __VA_ARGS__) : vfail(c, n, "%s", kmsg)

static struct sec get_sec(const struct vctx *c, uint32_t i)
{
	struct sec s;
	uint64_t h = c->secoff + (uint64_t)i * c->secsize;
	s.type = dof_rd32(c->d, h + DOFF_S_TYPE);
	s.align = dof_rd32(c->d, h + DOFF_S_ALIGN);
	s.flags = dof_rd32(c->d, h + DOFF_S_FLAGS);
	s.entsize = dof_rd32(c->d, h + DOFF_S_ENTSIZE);
	s.offset = dof_rd64(c->d, h + DOFF_S_OFFSET);
	s.size = dof_rd64(c->d, h + DOFF_S_SIZE);
	return s;
}

static int loadable_type(uint32_t t)
{
	return t >= DOF_SECT_ECBDESC && t <= DOF_SECT_PRENOFFS &&
	       t != DOF_SECT_UTSNAME;
}

/* ---- A: header ---- */

static int check_header(struct vctx *c)
{
	const uint8_t *d = c->d;
	usdt_dof_profile_t p = c->prof;

	if (c->len < DOFF_HDR_SIZE)
		KL(1, "failed to copyin DOF header", "DOF too small: %llu bytes",
		   (unsigned long long)c->len);
	c->loadsz = dof_rd64(d, DOFF_H_LOADSZ);
	uint64_t max = usdt_dof_max_loadsz(p);
	if (c->loadsz >= max)
		KL(2, "load size exceeds maximum",
		   "load size %llu exceeds maximum %llu",
		   (unsigned long long)c->loadsz, (unsigned long long)max);
	if (c->loadsz < DOFF_HDR_SIZE)
		KL(2, "invalid load size",
		   "invalid load size %llu, smaller than header size %d",
		   (unsigned long long)c->loadsz, DOFF_HDR_SIZE);
	if (c->len < c->loadsz)
		return vfail(c, 1, "libusdt: buffer of %llu bytes is shorter than "
			     "the load size %llu (the consumer fails with EFAULT)",
			     (unsigned long long)c->len,
			     (unsigned long long)c->loadsz);
	if (d[0] != 0x7f || d[1] != 'D' || d[2] != 'O' || d[3] != 'F')
		KL(3, "DOF magic string mismatch",
		   "DOF magic string mismatch: %02x %02x %02x %02x",
		   d[0], d[1], d[2], d[3]);
	if (d[DOFF_ID_MODEL] != DOF_MODEL_ILP32 &&
	    d[DOFF_ID_MODEL] != DOF_MODEL_LP64)
		KL(4, "DOF has invalid data model",
		   "DOF has invalid data model: %i", d[DOFF_ID_MODEL]);
	if (d[DOFF_ID_ENCODING] != usdt_dof_target_encoding(c->full))
		KL(5, "DOF encoding mismatch",
		   "DOF encoding mismatch: %i, expected %i", d[DOFF_ID_ENCODING],
		   usdt_dof_target_encoding(c->full));
	c->version = d[DOFF_ID_VERSION];
	int vok;
	if (p == USDT_DOF_MACOS)
		vok = c->version == 3;
	else if (p == USDT_DOF_LINUX)
		vok = c->version >= 1 && c->version <= 3;
	else
		vok = c->version == 1 || c->version == 2;
	if (!vok)
		KL(6, "DOF version mismatch", "DOF version mismatch: %i",
		   c->version);
	if (d[DOFF_ID_DIFVERS] != DOF_DIFVERS)
		KL(7, "DOF uses unsupported instruction set",
		   "DOF uses unsupported instruction set: %i", d[DOFF_ID_DIFVERS]);
	if (d[DOFF_ID_DIFIREG] > DOF_DIF_REGS)
		KL(8, "DOF uses too many integer registers",
		   "DOF uses too many integer registers: %i > %i",
		   d[DOFF_ID_DIFIREG], DOF_DIF_REGS);
	if (d[DOFF_ID_DIFTREG] > DOF_DIF_REGS)
		KL(8, "DOF uses too many tuple registers",
		   "DOF uses too many tuple registers: %i > %i",
		   d[DOFF_ID_DIFTREG], DOF_DIF_REGS);
	for (int i = DOFF_ID_PAD; i < DOFF_ID_SIZE; i++)
		if (d[i] != 0)
			KL(9, "DOF has invalid ident byte set",
			   "DOF has invalid ident byte set: %i = %i", i, d[i]);
	/* Native data model: consumers accept either, the target process
	 * needs its own (checklist 4, strict). */
	if (d[DOFF_ID_MODEL] != usdt_dof_target_model(c->full))
		return vfail(c, 4, "libusdt: DOF data model %i is not the "
			     "process's model %i", d[DOFF_ID_MODEL],
			     usdt_dof_target_model(c->full));
	uint32_t flags = dof_rd32(d, DOFF_H_FLAGS);
	if (flags != 0)
		KL(10, "DOF has invalid flag bits set",
		   "DOF has invalid flag bits set: %x", flags);

	c->secsize = dof_rd32(d, DOFF_H_SECSIZE);
	c->secnum = dof_rd32(d, DOFF_H_SECNUM);
	c->secoff = dof_rd64(d, DOFF_H_SECOFF);
	if (p == USDT_DOF_MACOS && c->secsize < DOFF_SEC_SIZE)
		return vfail(c, 11, "invalid section header size");
	if (p == USDT_DOF_LINUX && c->secsize != DOFF_SEC_SIZE)
		return vfail(c, 11, "incorrect section header size");
	if (c->secsize == 0)
		return vfail(c, 11, "zero section header size");
	uint64_t tbl = (uint64_t)c->secnum * c->secsize;
	if (c->secoff > c->loadsz || tbl > c->loadsz ||
	    c->secoff + tbl > c->loadsz)
		KL(13, "truncated section headers",
		   "truncated section headers: %llx, %u * %u > %llx",
		   (unsigned long long)c->secoff, c->secnum, c->secsize,
		   (unsigned long long)c->loadsz);
	if (c->secoff % 8)
		return vfail(c, 12, "misaligned section headers");
	if (c->secsize % 8)
		return vfail(c, 11, "misaligned section size");
	if (c->secsize != DOFF_SEC_SIZE)
		return vfail(c, 11, "libusdt: section header size %u, not %d",
			     c->secsize, DOFF_SEC_SIZE);
	/* hygiene (14) */
	uint32_t hdrsize = dof_rd32(d, DOFF_H_HDRSIZE);
	if (hdrsize != DOFF_HDR_SIZE)
		return vfail(c, 14, "libusdt: header size field is %u, not %d",
			     hdrsize, DOFF_HDR_SIZE);
	if (dof_rd64(d, DOFF_H_FILESZ) < c->loadsz)
		return vfail(c, 14, "libusdt: file size %llu is below the load "
			     "size %llu",
			     (unsigned long long)dof_rd64(d, DOFF_H_FILESZ),
			     (unsigned long long)c->loadsz);
	if (dof_rd64(d, DOFF_H_PAD) != 0)
		return vfail(c, 14, "libusdt: header padding is not zero");
	if (c->secoff < DOFF_HDR_SIZE && c->secnum > 0)
		return vfail(c, 14, "libusdt: section headers overlap the file "
			     "header");
	return 0;
}

/* ---- B: section headers ---- */

static int check_sections(struct vctx *c)
{
	uint64_t tbl_end = c->secoff + (uint64_t)c->secnum * c->secsize;
	for (uint32_t i = 0; i < c->secnum; i++) {
		struct sec s = get_sec(c, i);
		if (c->prof != USDT_DOF_MACOS && loadable_type(s.type) &&
		    !(s.flags & DOF_SECF_LOAD))
			KL(15, "loadable section with load flag unset",
			   "loadable section %u with load flag unset", i);
		if (s.type > DOF_SECT_MAX)
			return vfail(c, 20, "libusdt: section %u has unknown type %u",
				     i, s.type);
		if (s.flags & ~DOF_SECF_LOAD)
			return vfail(c, 20, "libusdt: section %u has unknown flag "
				     "bits %#x", i, s.flags);
		if (!(s.flags & DOF_SECF_LOAD))
			continue;
		if (s.align & (s.align - 1))
			KL(16, "bad section alignment",
			   "bad section %u alignment %x", i, s.align);
		if (s.align == 0)   /* the consumer's mask becomes 2^32 - 1 */
			KL(16, "misaligned section",
			   "misaligned section %u: %llx, alignment %x", i,
			   (unsigned long long)s.offset, s.align);
		if (s.offset & (s.align - 1))
			KL(17, "misaligned section",
			   "misaligned section %u: %llx, alignment %x", i,
			   (unsigned long long)s.offset, s.align);
		if (s.offset > c->loadsz || s.size > c->loadsz ||
		    s.offset + s.size > c->loadsz)
			KL(18, "corrupt section header",
			   "corrupt section %u header: offset %llx, size %llx, "
			   "load size %llx", i, (unsigned long long)s.offset,
			   (unsigned long long)s.size,
			   (unsigned long long)c->loadsz);
		if (s.type == DOF_SECT_STRTAB &&
		    (s.size == 0 || c->d[s.offset + s.size - 1] != 0))
			KL(19, "non-terminating string table",
			   "section %u: non-0-terminated string table", i);
		if (s.size && (s.offset < DOFF_HDR_SIZE ||
			       (s.offset < tbl_end && s.offset + s.size > c->secoff)))
			return vfail(c, 14, "libusdt: section %u overlaps the DOF "
				     "header or section headers", i);
		for (uint32_t j = 0; j < i; j++) {
			struct sec t = get_sec(c, j);
			if (!(t.flags & DOF_SECF_LOAD) || !t.size || !s.size)
				continue;
			if (s.offset < t.offset + t.size &&
			    t.offset < s.offset + s.size)
				return vfail(c, 20, "libusdt: sections %u and %u "
					     "overlap", j, i);
		}
	}
	return 0;
}

/* Section lookup as the consumers do it (L1–L3), reported as `check`. */
static int lookup(struct vctx *c, int check, uint32_t idx, uint32_t type,
		  struct sec *out)
{
	if (idx >= c->secnum)
		KL(check, "referenced section index is invalid",
		   "referenced section index %u is invalid, above %u", idx,
		   c->secnum);
	struct sec s = get_sec(c, idx);
	if (!(s.flags & DOF_SECF_LOAD))
		KL(check, "referenced section is not loadable",
		   "referenced section %u is not loadable", idx);
	if (type != DOF_SECT_NONE && s.type != type)
		KL(check, "referenced section is the wrong type",
		   "referenced section %u is the wrong type, %u, not %u", idx,
		   s.type, type);
	*out = s;
	return 0;
}

/* ---- C: relocations ---- */

static int check_relocations(struct vctx *c, int *have_relocs)
{
	*have_relocs = 0;
	for (uint32_t i = 0; i < c->secnum; i++) {
		struct sec u = get_sec(c, i), st, rel, tgt;
		if (u.type != DOF_SECT_URELHDR || !(u.flags & DOF_SECF_LOAD))
			continue;
		*have_relocs = 1;
		if (c->prof == USDT_DOF_MACOS)
			return vfail(c, 21, "libusdt: relocations are ignored on "
				     "macOS (dofpr_addr would stay unrelocated)");
		if (u.size < DOFF_URELHDR_SIZE || u.align != 4)
			KL(22, "invalid relocation header",
			   "invalid relocation header: size %llu, align %u",
			   (unsigned long long)u.size, u.align);
		int r;
		uint32_t ls = dof_rd32(c->d, u.offset);
		uint32_t lr = dof_rd32(c->d, u.offset + 4);
		uint32_t lt = dof_rd32(c->d, u.offset + 8);
		if ((r = lookup(c, 22, ls, DOF_SECT_STRTAB, &st)) ||
		    (r = lookup(c, 22, lr, DOF_SECT_RELTAB, &rel)) ||
		    (r = lookup(c, 22, lt, DOF_SECT_NONE, &tgt)))
			return r;
		if (rel.entsize < DOFF_RELO_SIZE || rel.align != 8)
			KL(23, "invalid relocation section",
			   "invalid relocation section: entsize %u, align %u",
			   rel.entsize, rel.align);
		uint64_t n = rel.size / rel.entsize;
		for (uint64_t k = 0; k < n; k++) {
			uint64_t e = rel.offset + k * rel.entsize;
			uint32_t type = dof_rd32(c->d, e + DOFF_RELO_TYPE);
			uint64_t off = dof_rd64(c->d, e + DOFF_RELO_OFFSET);
			if (type == DOF_RELO_NONE)
				continue;
			if (type != DOF_RELO_SETX &&
			    !(type == DOF_RELO_DOFREL && c->prof == USDT_DOF_FREEBSD))
				KL(24, "invalid relocation type",
				   "invalid relocation type %u", type);
			if (off >= tgt.size || off + 8 > tgt.size)
				KL(25, "bad relocation offset",
				   "bad relocation offset %llx, section size %llx",
				   (unsigned long long)off,
				   (unsigned long long)tgt.size);
			uint64_t at = tgt.offset + off;
			uint64_t th = c->secoff + (uint64_t)lt * c->secsize;
			if (c->prof == USDT_DOF_FREEBSD && at + 8 > th &&
			    at < th + c->secsize)
				return vfail(c, 25, "bad relocation offset");
			if (at % 8)
				KL(25, "misaligned setx relo",
				   "misaligned setx relo %llx",
				   (unsigned long long)at);
		}
	}
	return 0;
}

/* ---- D, E: provider and probes ---- */

struct strtab_view {
	const char *base;
	uint64_t size;
};

/* strnlen inside the table, from a start already known to be < size. */
static size_t st_len(const struct strtab_view *t, uint64_t off)
{
	return strnlen(t->base + off, (size_t)(t->size - off));
}

struct probe_key {
	const char *func, *name;
	uint64_t idx;
};

static int key_cmp(const void *a, const void *b)
{
	const struct probe_key *x = a, *y = b;
	int r = strcmp(x->func, y->func);
	return r ? r : strcmp(x->name, y->name);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Offsets of one probe must be pairwise distinct (48). Returns the
 * duplicate in *dup. -1 on allocation failure. */
static int find_dup(const uint8_t *d, uint64_t at, uint32_t n, uint32_t *dup)
{
	if (n < 2)
		return 0;
	uint32_t *v = malloc((size_t)n * sizeof *v);
	if (!v)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		v[i] = dof_rd32(d, at + 4 * (uint64_t)i);
	qsort(v, n, sizeof *v, u32_cmp);
	int found = 0;
	for (uint32_t i = 1; i < n && !found; i++)
		if (v[i] == v[i - 1]) {
			*dup = v[i];
			found = 1;
		}
	free(v);
	return found;
}

struct prov {
	struct sec pv, st, pr, args, offs, enoffs;
	int have_en;
	struct strtab_view t;
	const char *name;
	uint64_t nprobes;
};

/* A type string run (50/51) for native (nat=1) or translated types. */
static int check_types(struct vctx *c, const struct prov *P, uint64_t j,
		       uint32_t start, unsigned count, int nat)
{
	uint64_t off = start;
	for (unsigned k = 0; k < count; k++) {
		if (off >= P->t.size) {
			if (nat)
				KL(50, "bad native argument type",
				   "bad native argument type for arg %u: %llx",
				   k, (unsigned long long)off);
			KL(51, "bad translated argument type",
			   "bad translated argument type for arg %u: %llx", k,
			   (unsigned long long)off);
		}
		size_t l = st_len(&P->t, off);
		if (l + 1 > DOF_TYPE_LEN_MAX) {
			if (nat)
				KL(50, "native argument type too long",
				   "native argument type for arg %u too long: %.40s...",
				   k, P->t.base + off);
			KL(51, "translated argument type too long",
			   "translated argument type for arg %u too long: %.40s...",
			   k, P->t.base + off);
		}
		if (l == 0)
			return vfail(c, nat ? 50 : 51, "libusdt: probe %llu: empty "
				     "%s argument type for arg %u",
				     (unsigned long long)j,
				     nat ? "native" : "translated", k);
		off += l + 1;
	}
	return 0;
}

static int check_probe(struct vctx *c, const struct prov *P, uint64_t j,
		       struct probe_key *key)
{
	const uint8_t *d = c->d;
	uint64_t e = P->pr.offset + j * P->pr.entsize;
	uint32_t func = dof_rd32(d, e + DOFF_PR_FUNC);
	uint32_t name = dof_rd32(d, e + DOFF_PR_NAME);
	uint32_t nargv = dof_rd32(d, e + DOFF_PR_NARGV);
	uint32_t xargv = dof_rd32(d, e + DOFF_PR_XARGV);
	uint32_t argidx = dof_rd32(d, e + DOFF_PR_ARGIDX);
	uint32_t offidx = dof_rd32(d, e + DOFF_PR_OFFIDX);
	uint8_t nargc = d[e + DOFF_PR_NARGC], xargc = d[e + DOFF_PR_XARGC];
	uint16_t noffs = dof_rd16(d, e + DOFF_PR_NOFFS);
	uint32_t enoffidx = dof_rd32(d, e + DOFF_PR_ENOFFIDX);
	uint16_t nenoffs = dof_rd16(d, e + DOFF_PR_NENOFFS);
	const char *why;
	int r;

	if (func >= P->t.size)
		KL(40, "invalid function name",
		   "invalid function name: strtab offset %x, max %llx", func,
		   (unsigned long long)P->t.size);
	const char *fs = P->t.base + func;
	if (st_len(&P->t, func) + 1 > DOF_FUNC_LEN_MAX)
		KL(40, "function name too long", "function name %.40s... too long",
		   fs);
	if (name >= P->t.size)
		KL(41, "invalid probe name",
		   "invalid probe name: strtab offset %x, max %llx", name,
		   (unsigned long long)P->t.size);
	const char *ns = P->t.base + name;
	if (st_len(&P->t, name) + 1 > DOF_NAME_LEN_MAX)
		KL(41, "invalid probe name", "probe name %.40s... too long", ns);
	if (!*ns)
		return vfail(c, 41, "libusdt: probe %llu has an empty name",
			     (unsigned long long)j);
	key->func = fs;
	key->name = ns;
	key->idx = j;

	uint64_t end = (uint64_t)offidx + noffs;
	if (end > UINT32_MAX || end * 4 > P->offs.size)
		KL(44, "invalid probe offset",
		   "invalid probe offset %x (noffs %u, section size %llx)",
		   offidx, noffs, (unsigned long long)P->offs.size);
	if (c->version != 1) {
		if (!P->have_en) {
			if (enoffidx != 0 || nenoffs != 0)
				return vfail(c, 45,
					     "is-enabled offsets with null section");
		} else {
			uint64_t eend = (uint64_t)enoffidx + nenoffs;
			if (eend > UINT32_MAX ||
			    eend * P->enoffs.entsize > P->enoffs.size)
				KL(46, "invalid is-enabled offset",
				   "invalid is-enabled offset %x (nenoffs %u, "
				   "section size %llx)", enoffidx, nenoffs,
				   (unsigned long long)P->enoffs.size);
		}
		if ((uint32_t)noffs + nenoffs == 0)
			return vfail(c, 47, "zero probe and is-enabled offsets");
	} else if (noffs == 0) {
		return vfail(c, 47, "zero probe offsets");
	}
	if (c->prof == USDT_DOF_LINUX && c->version <= 2 && noffs == 0)
		return vfail(c, 47, "USDT probe with zero tracepoints");
	if (noffs == 0)
		return vfail(c, 47, "libusdt: probe %s:%s has no probe offset "
			     "(only is-enabled offsets)", fs, ns);
	if (c->prof == USDT_DOF_LINUX && c->version == 2 && nenoffs)
		return vfail(c, 6, "libusdt: probe %s:%s has is-enabled offsets "
			     "in a version 2 document; dtrace-utils ignores them "
			     "(use version 3)", fs, ns);

	uint64_t aend = (uint64_t)argidx + xargc;
	if (aend > UINT32_MAX || aend > P->args.size)
		KL(49, "invalid args",
		   "invalid args, idx %x (xargc %u, section size %llx)", argidx,
		   xargc, (unsigned long long)P->args.size);
	if ((r = check_types(c, P, j, nargv, nargc, 1)))
		return r;
	for (unsigned k = 0; k < xargc; k++) {
		uint8_t m = d[P->args.offset + argidx + k];
		int bad = c->prof == USDT_DOF_LINUX ? m >= nargc : m > nargc;
		if (bad)
			KL(52, "bad native argument index",
			   "bad native argument index for arg %u: %u (max %u)", k,
			   m, nargc);
		if (m >= nargc)   /* strict: kernels accept == nargc */
			return vfail(c, 52, "libusdt: argument mapping for arg %u "
				     "is %u, not below nargc %u", k, m, nargc);
	}
	if ((r = check_types(c, P, j, xargv, xargc, 0)))
		return r;

	uint32_t dup;
	int f = find_dup(d, P->offs.offset + 4 * (uint64_t)offidx, noffs, &dup);
	if (f < 0)
		return vfail(c, 48, "libusdt: out of memory");
	if (f)
		return c->lx ?
			vfail(c, 48, "non-unique USDT offsets at %llu: %x",
			      (unsigned long long)j, dup) :
			vfail(c, 48, "libusdt: probe %s:%s has duplicate probe "
			      "offset %#x (the kernel silently drops the probe)",
			      fs, ns, dup);
	if (P->have_en && nenoffs) {
		f = find_dup(d, P->enoffs.offset + 4 * (uint64_t)enoffidx, nenoffs,
			     &dup);
		if (f < 0)
			return vfail(c, 48, "libusdt: out of memory");
		if (f)
			return c->lx ?
				vfail(c, 48, "non-unique is-enabled USDT offsets "
				      "at %llu: %x", (unsigned long long)j, dup) :
				vfail(c, 48, "libusdt: probe %s:%s has duplicate "
				      "is-enabled offset %#x (the kernel silently "
				      "drops the probe)", fs, ns, dup);
	}
	if ((why = usdt_dof_bad_component(fs, USDT_DOF_FUNCTION_NAME_MAX)))
		return vfail(c, 42, "libusdt: function name \"%.80s\" %s", fs, why);
	if ((why = usdt_dof_bad_component(ns, USDT_DOF_PROBE_NAME_MAX)))
		return vfail(c, 42, "libusdt: probe name \"%.80s\" %s", ns, why);
	if (d[e + DOFF_PR_PAD1] || d[e + DOFF_PR_PAD1 + 1] ||
	    dof_rd32(d, e + DOFF_PR_PAD2))
		return vfail(c, 54, "libusdt: probe %s:%s has non-zero padding",
			     fs, ns);
	return 0;
}

/* ---- F: addresses ---- */

static int listed(uint64_t a, const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == a)
			return 1;
	return 0;
}

/* Linux (58): is [addr] inside a named file-backed mapping of this
 * process? */
static int in_named_mapping(uint64_t addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int ok = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long long lo, hi;
		int pos = 0;
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %n", &lo, &hi, &pos) < 2)
			continue;
		if (addr < lo || addr >= hi)
			continue;
		const char *path = line + pos;
		ok = pos > 0 && path[0] != '\n' && path[0] != '\0' &&
		     path[0] != '[';
		break;
	}
	fclose(f);
	return ok;
}

static int check_site(struct vctx *c, const struct usdt_dof_sites *S,
		      const char *fs, const char *ns, uint64_t target,
		      uint32_t raw, int isen)
{
	int chk = c->prof == USDT_DOF_MACOS ? 56 : 55;
	const uint64_t *v = isen ? S->isenabled_sites : S->probe_sites;
	size_t n = isen ? S->nisenabled_sites : S->nprobe_sites;
	const char *kind = isen ? "is-enabled" : "probe";
	if (!listed(target, v, n))
		return vfail(c, chk, "libusdt: probe %s:%s %s offset %#x resolves "
			     "to %#llx, which is not a known %s site", fs, ns, kind, raw,
			     (unsigned long long)target, kind);
	if (S->in_process) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)target;
		if (!usdt_dof_site_ok(c->full, isen, p, DOF_SITE_BEFORE,
				      DOF_SITE_AFTER))
			return vfail(c, 55, "libusdt: probe %s:%s: the code at the "
				     "%s site %#llx is not a valid %s tracepoint", fs, ns,
				     kind, (unsigned long long)target, kind);
		if (c->prof == USDT_DOF_LINUX && !in_named_mapping(target))
			return vfail(c, 58, "libusdt: tracepoint %#llx is not in a "
				     "named file-backed mapping",
				     (unsigned long long)target);
	}
	return 0;
}

static int check_addresses(struct vctx *c, const struct prov *P,
			   const struct usdt_dof_sites *S)
{
	struct dof_stub_info arch;
	const uint8_t *d = c->d;
	usdt_dof_profile_geometry(c->full, &arch);
	if (S->in_process && c->prof == USDT_DOF_LINUX &&
	    !in_named_mapping(S->dof_addr))
		return vfail(c, 58, "cannot look up mapping (process dead?)");
	if (S->in_process && (uint64_t)(uintptr_t)d != S->dof_addr)
		return vfail(c, 60, "libusdt: the document is at %p, not at the "
			     "declared address %#llx", (const void *)d,
			     (unsigned long long)S->dof_addr);
	for (uint64_t j = 0; j < P->nprobes; j++) {
		uint64_t e = P->pr.offset + j * P->pr.entsize;
		uint64_t addr = dof_rd64(d, e + DOFF_PR_ADDR);
		const char *fs = P->t.base + dof_rd32(d, e + DOFF_PR_FUNC);
		const char *ns = P->t.base + dof_rd32(d, e + DOFF_PR_NAME);
		uint32_t offidx = dof_rd32(d, e + DOFF_PR_OFFIDX);
		uint16_t noffs = dof_rd16(d, e + DOFF_PR_NOFFS);
		uint32_t enoffidx = dof_rd32(d, e + DOFF_PR_ENOFFIDX);
		uint16_t nenoffs = P->have_en ? dof_rd16(d, e + DOFF_PR_NENOFFS) : 0;
		for (int isen = 0; isen < 2; isen++) {
			uint32_t n = isen ? nenoffs : noffs;
			uint64_t at = isen ? P->enoffs.offset + 4 * (uint64_t)enoffidx
					   : P->offs.offset + 4 * (uint64_t)offidx;
			for (uint32_t k = 0; k < n; k++) {
				uint32_t raw = dof_rd32(d, at + 4 * (uint64_t)k);
				uint64_t t;
				if (c->prof == USDT_DOF_MACOS)
					t = S->dof_addr + (uint64_t)(int64_t)(int32_t)raw -
					    (uint64_t)(int64_t)(isen ? arch.macos_enabled_adj
								 : arch.macos_probe_adj);
				else
					t = addr + raw;
				/* arm64: instructions are 4-aligned; xnu clears bit 0
				 * (a leftover of Thumb), which would hide an odd
				 * offset: refuse it before that (strict). */
				if (arch.insn_align > 1 && t % arch.insn_align)
					return vfail(c, c->prof == USDT_DOF_MACOS ? 56 : 55,
						     "libusdt: probe %s:%s %s offset %#x "
						     "resolves to %#llx, which is not a "
						     "%u-byte aligned %s instruction%s", fs, ns,
						     isen ? "is-enabled" : "probe", raw,
						     (unsigned long long)t, arch.insn_align,
						     usdt_dof_profile_name(c->full),
						     arch.macos_clear_bit0 && c->prof ==
						     USDT_DOF_MACOS && (t & 1) ?
						     " (xnu would clear bit 0)" : "");
				if (arch.macos_clear_bit0 && c->prof == USDT_DOF_MACOS)
					t &= ~(uint64_t)1;
				int r = check_site(c, S, fs, ns, t, raw, isen);
				if (r)
					return r;
			}
		}
	}
	return 0;
}

/* ---- D: provider ---- */

static int check_provider(struct vctx *c, const struct usdt_dof_sites *S,
			  int have_relocs)
{
	const uint8_t *d = c->d;
	struct prov P;
	uint32_t npv = 0, pvi = 0;
	int r;

	memset(&P, 0, sizeof P);
	for (uint32_t i = 0; i < c->secnum; i++)
		if (get_sec(c, i).type == DOF_SECT_PROVIDER) {
			if (!npv)
				pvi = i;
			npv++;
		}
	if (npv != 1)
		return vfail(c, 27, "libusdt: %u provider sections, expected "
			     "exactly one", npv);
	P.pv = get_sec(c, pvi);
	if (!(P.pv.flags & DOF_SECF_LOAD))   /* only reachable on macOS */
		return vfail(c, 28, "libusdt: provider section %u is not "
			     "loadable (xnu ignores it)", pvi);
	if (P.pv.offset % 4)
		KL(28, "misaligned section offset", "misaligned section offset: %llx",
		   (unsigned long long)P.pv.offset);
	uint64_t minsz = c->version == 1 ? DOFF_PV_SIZE_V1 : DOFF_PV_SIZE;
	if (P.pv.size < minsz)
		KL(28, "provider section too small", "provider section too small: %llx",
		   (unsigned long long)P.pv.size);
	uint64_t o = P.pv.offset;
	if ((r = lookup(c, 29, dof_rd32(d, o + DOFF_PV_STRTAB), DOF_SECT_STRTAB,
			&P.st)) ||
	    (r = lookup(c, 29, dof_rd32(d, o + DOFF_PV_PROBES), DOF_SECT_PROBES,
			&P.pr)) ||
	    (r = lookup(c, 29, dof_rd32(d, o + DOFF_PV_PRARGS), DOF_SECT_PRARGS,
			&P.args)) ||
	    (r = lookup(c, 29, dof_rd32(d, o + DOFF_PV_PROFFS), DOF_SECT_PROFFS,
			&P.offs)))
		return r;
	if (c->version != 1 && dof_rd32(d, o + DOFF_PV_PRENOFFS) != DOF_SECT_NONE) {
		if ((r = lookup(c, 30, dof_rd32(d, o + DOFF_PV_PRENOFFS),
				DOF_SECT_PRENOFFS, &P.enoffs)))
			return r;
		P.have_en = 1;
	}
	P.t.base = (const char *)d + P.st.offset;
	P.t.size = P.st.size;
	uint32_t nm = dof_rd32(d, o + DOFF_PV_NAME);
	if (nm >= P.t.size)
		KL(31, "invalid provider name",
		   "invalid provider name offset: %u > %llu", nm,
		   (unsigned long long)P.t.size);
	P.name = P.t.base + nm;
	size_t nlen = st_len(&P.t, nm);
	if (nlen + 1 > DOF_NAME_LEN_MAX)
		KL(31, "invalid provider name", "provider name too long: %.40s...",
		   P.name);

	/* PROBES (35) */
	if (c->lx && (P.pr.entsize < DOFF_PR_SIZE || P.pr.entsize > P.pr.size))
		return vfail(c, 35, "invalid entry size %x, max %llx",
			     P.pr.entsize, (unsigned long long)P.pr.size);
	if (P.pr.entsize == 0 || P.pr.entsize > P.pr.size)
		KL(35, "invalid entry size", "invalid entry size %x, max %llx",
		   P.pr.entsize, (unsigned long long)P.pr.size);
	if (P.pr.entsize % DOF_KERNEL_PTR)
		KL(35, "misaligned entry size", "misaligned entry size %x",
		   P.pr.entsize);
	if (P.pr.entsize < DOFF_PR_SIZE)
		return vfail(c, 35, "libusdt: probe entry size %u is below %d",
			     P.pr.entsize, DOFF_PR_SIZE);
	if (P.pr.size % P.pr.entsize)
		return vfail(c, 35, "libusdt: PROBES size %llu is not a multiple "
			     "of the entry size %u", (unsigned long long)P.pr.size,
			     P.pr.entsize);
	/* PROFFS (36), PRARGS (37) */
	if (P.offs.entsize != 4)
		KL(36, "invalid entry size", "invalid entry size %x",
		   P.offs.entsize);
	if (P.offs.offset % 4)
		KL(36, "misaligned section offset", "misaligned section offset %llx",
		   (unsigned long long)P.offs.offset);
	if (P.offs.size % 4)
		return vfail(c, 36, "libusdt: PROFFS size %llu is not a multiple "
			     "of 4", (unsigned long long)P.offs.size);
	if (P.args.entsize != 1)
		KL(37, "invalid entry size", "invalid entry size %x",
		   P.args.entsize);
	/* PRENOFFS (38, strict) */
	if (P.have_en && (P.enoffs.entsize != 4 || P.enoffs.offset % 4 ||
			  P.enoffs.size % 4))
		return vfail(c, 38, "libusdt: PRENOFFS section must have entry "
			     "size 4, a 4-aligned offset and a size multiple of "
			     "4 (entsize %u, offset %llu, size %llu)",
			     P.enoffs.entsize, (unsigned long long)P.enoffs.offset,
			     (unsigned long long)P.enoffs.size);
	if (P.t.base[0] != '\0')
		return vfail(c, 39, "libusdt: string table does not start with "
			     "an empty string");

	/* Probes (E) */
	P.nprobes = P.pr.size / P.pr.entsize;
	struct probe_key *keys = calloc((size_t)P.nprobes, sizeof *keys);
	if (!keys)
		return vfail(c, 35, "libusdt: out of memory");
	for (uint64_t j = 0; j < P.nprobes; j++)
		if ((r = check_probe(c, &P, j, &keys[j]))) {
			free(keys);
			return r;
		}
	qsort(keys, (size_t)P.nprobes, sizeof *keys, key_cmp);
	for (uint64_t j = 1; j < P.nprobes; j++)
		if (key_cmp(&keys[j - 1], &keys[j]) == 0) {
			r = vfail(c, 43, "libusdt: probe %s:%s is defined twice "
				  "(probes %llu and %llu)", keys[j].func,
				  keys[j].name, (unsigned long long)keys[j - 1].idx,
				  (unsigned long long)keys[j].idx);
			free(keys);
			return r;
		}
	free(keys);

	/* Provider creation (F1–F4 on the kernels). */
	int kernel = !c->lx;
	if (nlen == 0)
		return kernel ?
			vfail(c, 31, "failed to register provider '': invalid "
			      "provider name") :
			vfail(c, 31, "libusdt: empty provider name");
	if (nlen > USDT_DOF_PROVIDER_NAME_MAX)
		return kernel ?
			vfail(c, 31, "failed to instantiate provider %s: name too "
			      "long to accomodate pid", P.name) :
			vfail(c, 31, "libusdt: provider name %s is longer than %d "
			      "characters", P.name, USDT_DOF_PROVIDER_NAME_MAX);
	/* What the kernel's name check refuses (F3). */
	int c0 = (unsigned char)P.name[0];
	int kbad = !((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z') ||
		     c0 == '_' || c0 == '-' || c0 == '.');
	for (size_t i = 1; i < nlen && !kbad; i++)
		kbad = !usdt_dof_name_char((unsigned char)P.name[i]) &&
		       P.name[i] != '`';
	if (kbad && kernel)
		return vfail(c, 32, "failed to register provider '%s': invalid "
			     "provider name", P.name);
	const char *why = usdt_dof_bad_provider(c->prof, P.name);
	if (why && strstr(why, "reserved"))
		return kernel ?
			vfail(c, 33, "failed to instantiate provider %s: %s is an "
			      "invalid name", P.name, P.name) :
			vfail(c, 33, "libusdt: provider name %s %s", P.name, why);
	if (why)
		return vfail(c, 32, "libusdt: provider name %s %s", P.name, why);
	if (kernel) {
		for (int a = 0; a < DOFF_PV_NATTRS; a++) {
			uint32_t v = dof_rd32(d, o + DOFF_PV_PROVATTR + 4 * (uint64_t)a);
			if ((v >> 24) > DOF_STAB_MAX || ((v >> 16) & 0xff) > DOF_STAB_MAX ||
			    ((v >> 8) & 0xff) > DOF_CLASS_MAX)
				return vfail(c, 34, "failed to register provider "
					     "'%s': invalid provider attributes",
					     P.name);
			if (v & 0xff)
				return vfail(c, 34, "libusdt: provider attribute %d "
					     "has a non-zero low byte", a);
		}
	}
	if (S && S->module) {
		why = usdt_dof_bad_component(S->module, USDT_DOF_MODULE_NAME_MAX);
		if (why)
			return vfail(c, 42, "libusdt: module name \"%.80s\" %s",
				     S->module, why);
		if (c->prof == USDT_DOF_LINUX) {
			size_t ml = strlen(S->module);
			for (uint64_t j = 0; j < P.nprobes; j++) {
				uint64_t e = P.pr.offset + j * P.pr.entsize;
				const char *fs = P.t.base + dof_rd32(d, e + DOFF_PR_FUNC);
				const char *ns = P.t.base + dof_rd32(d, e + DOFF_PR_NAME);
				if (nlen + ml + strlen(fs) + strlen(ns) + 3 >
				    USDT_DOF_LINUX_PATH_MAX)
					return vfail(c, 42, "libusdt: %s:%s:%s:%s is "
						     "longer than %d characters",
						     P.name, S->module, fs, ns,
						     USDT_DOF_LINUX_PATH_MAX);
			}
		}
	}
	if (S && S->probe_sites) {
		if (have_relocs)
			return vfail(c, 55, "libusdt: address checks need a "
				     "document without relocations");
		return check_addresses(c, &P, S);
	}
	return 0;
}

int usdt_dof_validate(usdt_dof_profile_t profile, const void *doc, size_t len,
		      const struct usdt_dof_sites *sites, char *msg,
		      size_t msglen)
{
	struct vctx c;
	int r, relocs;

	memset(&c, 0, sizeof c);
	c.full = profile;
	c.prof = usdt_dof_profile_os(profile);
	c.lx = c.prof == USDT_DOF_LINUX;
	c.d = doc;
	c.len = doc ? len : 0;
	c.msg = msg;
	c.msglen = msglen;
	if (msg && msglen)
		msg[0] = '\0';
	if (!usdt_dof_profile_valid(profile))
		return vfail(&c, 6, "libusdt: unknown profile %d", (int)profile);
	if ((r = check_header(&c)) || (r = check_sections(&c)) ||
	    (r = check_relocations(&c, &relocs)) ||
	    (r = check_provider(&c, sites, relocs)))
		return r;
	return 0;
}

/* ---- G: the helper structure handed to ADDDOF ---- */

static int check_one_helper(struct vctx *c, const uint8_t *h, const void *doc)
{
	const char *mod = (const char *)h + DOFF_HP_MOD;
	size_t ml = strnlen(mod, DOFF_HP_MODLEN);
	if (ml == DOFF_HP_MODLEN)
		return vfail(c, 59, "libusdt: dofhp_mod is not NUL-terminated");
	const char *why = usdt_dof_bad_component(mod, USDT_DOF_MODULE_NAME_MAX);
	if (why)
		return vfail(c, 59, "libusdt: dofhp_mod \"%s\" %s", mod, why);
	uint64_t a = dof_rd64(h, DOFF_HP_ADDR), p = dof_rd64(h, DOFF_HP_DOF);
	if (p != (uint64_t)(uintptr_t)doc)
		return vfail(c, 60, "libusdt: dofhp_dof %#llx is not the document "
			     "address %p", (unsigned long long)p, doc);
	if (a != p)
		return vfail(c, 60, "libusdt: dofhp_addr %#llx differs from "
			     "dofhp_dof %#llx", (unsigned long long)a,
			     (unsigned long long)p);
	return 0;
}

int usdt_dof_validate_helper(usdt_dof_profile_t profile, const void *arg,
			     const void *doc, char *msg, size_t msglen)
{
	struct vctx c;
	memset(&c, 0, sizeof c);
	c.full = profile;
	profile = usdt_dof_profile_os(profile);
	c.prof = profile;
	c.lx = profile == USDT_DOF_LINUX;
	c.msg = msg;
	c.msglen = msglen;
	if (msg && msglen)
		msg[0] = '\0';
	if (!arg)
		return vfail(&c, 59, profile == USDT_DOF_LINUX ?
			     "helper size incorrect" :
			     "failed to copyin DOF helper");
	if (profile == USDT_DOF_MACOS) {
		uint64_t addr;
		memcpy(&addr, arg, sizeof addr);
		const uint8_t *iod = (const uint8_t *)(uintptr_t)addr;
		if (!iod)
			return vfail(&c, 62, "failed copyin of dof_ioctl_data_t");
		uint64_t n = dof_rd64(iod, 0);
		if (n == 0 || n > DOF_IOD_COUNT_MAX)
			return vfail(&c, 62, "dofiod_count is not valid");
		for (uint64_t i = 0; i < n; i++) {
			int r = check_one_helper(&c, iod + DOFF_IOD_HELPERS +
						 i * USDT_DOF_HELPER_SIZE, doc);
			if (r)
				return r;
		}
		return 0;
	}
	int r = check_one_helper(&c, arg, doc);
	if (r)
		return r;
	if (profile == USDT_DOF_FREEBSD) {
		uint32_t pid = dof_rd32(arg, DOFF_HP_PID);
		if (pid != (uint32_t)getpid())
			return vfail(&c, 61, "libusdt: dofhp_pid %u is not the "
				     "caller's pid %u (EINVAL)", pid,
				     (unsigned)getpid());
	}
	return 0;
}
