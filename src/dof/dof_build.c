/*
 * dof_build.c — the DOF document builder: one provider per document, laid
 * out as header, section headers, STRTAB, PROBES, PRARGS, PROFFS,
 * [PRENOFFS], PROVIDER (dof.md §1–§8, §12–§14). STRTAB comes first so that a
 * PRENOFFS section can never be section 0 (index 0 means "none"). Strings
 * are de-duplicated (argument type lists are reused when the same sequence
 * already exists), argument mapping is the identity, translated types are
 * the native ones, and there are no relocations: probe addresses are
 * absolute (macOS: offsets relative to the document's own address).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dof/dof_internal.h"

/* Attributes written for all five components: Evolving/Evolving/ISA, inside
 * every kernel's accepted range (dof.md §7). */
#define DOF_BUILD_ATTR DOF_ATTR(DOF_STAB_EVOLVING, DOF_STAB_EVOLVING, DOF_CLASS_ISA)

int usdt_dof_target_model(usdt_dof_profile_t profile)
{
	if ((unsigned)profile & USDT_DOF_ARCH_MASK)
		return DOF_MODEL_LP64;   /* x86_64 and arm64 */
	return DOF_NATIVE_MODEL;
}

int usdt_dof_target_encoding(usdt_dof_profile_t profile)
{
	if ((unsigned)profile & USDT_DOF_ARCH_MASK)
		return DOF_ENCODE_LSB;   /* x86_64 and arm64 (little-endian) */
	return dof_native_encoding();
}

uint64_t usdt_dof_max_loadsz(usdt_dof_profile_t profile)
{
	switch (usdt_dof_profile_os(profile)) {
	case USDT_DOF_ILLUMOS: return DOF_MAXSZ_ILLUMOS;
	case USDT_DOF_FREEBSD: return DOF_MAXSZ_FREEBSD;
	case USDT_DOF_MACOS: return DOF_MAXSZ_MACOS;
	default: return DOF_MAXSZ_LINUX;
	}
}

/* A growing string table. */
struct strtab {
	char *buf;
	size_t len, cap;
	int oom;
};

/* Find `seq` (n bytes, made of whole NUL-terminated strings) starting at a
 * string boundary of the table. */
static long strtab_find(const struct strtab *st, const char *seq, size_t n)
{
	for (size_t i = 0; i + n <= st->len; i++) {
		if ((i == 0 || st->buf[i - 1] == '\0') &&
		    memcmp(st->buf + i, seq, n) == 0)
			return (long)i;
	}
	return -1;
}

static uint32_t strtab_add(struct strtab *st, const char *seq, size_t n)
{
	long at = strtab_find(st, seq, n);
	if (at >= 0)
		return (uint32_t)at;
	if (st->len + n > st->cap) {
		size_t cap = st->cap ? st->cap : 256;
		while (cap < st->len + n)
			cap *= 2;
		char *nb = realloc(st->buf, cap);
		if (!nb) {
			st->oom = 1;
			return 0;
		}
		st->buf = nb;
		st->cap = cap;
	}
	memcpy(st->buf + st->len, seq, n);
	st->len += n;
	return (uint32_t)(st->len - n);
}

static uint32_t strtab_str(struct strtab *st, const char *s)
{
	return strtab_add(st, s, strlen(s) + 1);
}

/* Add the type strings of a probe as one contiguous run. */
static uint32_t strtab_types(struct strtab *st, size_t argc,
			     const char *const *types)
{
	size_t n = 0;
	for (size_t i = 0; i < argc; i++)
		n += strlen(types[i]) + 1;
	char *seq = malloc(n ? n : 1);
	if (!seq) {
		st->oom = 1;
		return 0;
	}
	size_t at = 0;
	for (size_t i = 0; i < argc; i++) {
		size_t l = strlen(types[i]) + 1;
		memcpy(seq + at, types[i], l);
		at += l;
	}
	uint32_t off = strtab_add(st, seq, n);
	free(seq);
	return off;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Compute a probe's offset field; returns -1 when it does not fit. */
static int encode_offset(usdt_dof_profile_t os, uint64_t base,
			 uint64_t site, int macos_adj, uint32_t *out)
{
	if (os == USDT_DOF_MACOS) {
		int64_t d = (int64_t)(site - base) + macos_adj;
		if (d < INT32_MIN || d > INT32_MAX)
			return -1;
		*out = (uint32_t)(int32_t)d;
		return 0;
	}
	if (site < base || site - base > UINT32_MAX)
		return -1;
	*out = (uint32_t)(site - base);
	return 0;
}

static void put_section(uint8_t *doc, unsigned idx, uint32_t type,
			uint32_t align, uint32_t entsize, uint64_t off,
			uint64_t size)
{
	uint64_t h = DOFF_HDR_SIZE + (uint64_t)idx * DOFF_SEC_SIZE;
	dof_wr32(doc, h + DOFF_S_TYPE, type);
	dof_wr32(doc, h + DOFF_S_ALIGN, align);
	dof_wr32(doc, h + DOFF_S_FLAGS, DOF_SECF_LOAD);
	dof_wr32(doc, h + DOFF_S_ENTSIZE, entsize);
	dof_wr64(doc, h + DOFF_S_OFFSET, off);
	dof_wr64(doc, h + DOFF_S_SIZE, size);
}

int usdt_dof_build(usdt_dof_profile_t profile,
		   const struct usdt_dof_provider_desc *pv, void **docp,
		   size_t *lenp, char *err, size_t errlen)
{
	struct strtab st = { 0 };
	struct dof_stub_info arch;
	uint8_t *doc = NULL;
	uint32_t *names = NULL;
	int rc = -1;

	*docp = NULL;
	*lenp = 0;
	if (!usdt_dof_profile_valid(profile))
		return usdt_dof_errf(err, errlen, "unknown DTrace profile %d",
				     (int)profile);
	/* No stubs (i386): offsets with a site offset of 0, no adjustment. */
	usdt_dof_profile_geometry(profile, &arch);
	usdt_dof_profile_t os = usdt_dof_profile_os(profile);
	if (!pv || !pv->name || !pv->module)
		return usdt_dof_errf(err, errlen,
				     "DOF provider needs a name and a module");
	if (pv->nprobes == 0 || !pv->probes)
		return usdt_dof_errf(err, errlen,
				     "DOF provider %s has no probes", pv->name);
	if (pv->nprobes > UINT32_MAX / DOFF_PR_SIZE)
		return usdt_dof_errf(err, errlen, "too many probes");
	if (usdt_dof_check_names(profile, pv->name, pv->module, NULL, NULL, 0,
				 NULL, err, errlen))
		return -1;

	size_t n = pv->nprobes, nargs = 0, nen = 0;
	for (size_t i = 0; i < n; i++) {
		const struct usdt_dof_probe_desc *pr = &pv->probes[i];
		if (!pr->function || !pr->name)
			return usdt_dof_errf(err, errlen,
					     "probe %zu has no function or name", i);
		if (usdt_dof_check_names(profile, pv->name, pv->module,
					 pr->function, pr->name, pr->argc,
					 pr->types, err, errlen))
			return -1;
		if (pr->probe_addr == 0)
			return usdt_dof_errf(err, errlen,
					     "probe %s:%s has no probe site address",
					     pr->function, pr->name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(pv->probes[j].function, pr->function) == 0 &&
			    strcmp(pv->probes[j].name, pr->name) == 0)
				return usdt_dof_errf(err, errlen,
						     "probe %s:%s is defined twice in "
						     "provider %s", pr->function,
						     pr->name, pv->name);
		if (arch.insn_align > 1 &&
		    (pr->probe_addr % arch.insn_align ||
		     pr->isenabled_addr % arch.insn_align))
			return usdt_dof_errf(err, errlen,
					     "probe %s:%s: %s stubs must be %u-byte "
					     "aligned (%#llx, %#llx)", pr->function,
					     pr->name, usdt_dof_profile_name(profile),
					     arch.insn_align,
					     (unsigned long long)pr->probe_addr,
					     (unsigned long long)pr->isenabled_addr);
		nargs += pr->argc;
		if (pr->isenabled_addr)
			nen++;
	}

	/* Strings, in the order of §14: "", provider, then per probe. */
	names = calloc(n * 3, sizeof *names);
	if (!names)
		goto oom;
	strtab_add(&st, "", 1);
	uint32_t pvname = strtab_str(&st, pv->name);
	for (size_t i = 0; i < n; i++) {
		const struct usdt_dof_probe_desc *pr = &pv->probes[i];
		names[3 * i] = strtab_str(&st, pr->function);
		names[3 * i + 1] = strtab_str(&st, pr->name);
		names[3 * i + 2] = pr->argc ?
			strtab_types(&st, pr->argc, pr->types) : 0;
	}
	if (st.oom)
		goto oom;

	/* Layout. */
	unsigned secnum = nen ? 6 : 5;
	unsigned s_strtab = 0, s_probes = 1, s_prargs = 2, s_proffs = 3;
	unsigned s_prenoffs = nen ? 4 : 0, s_provider = nen ? 5 : 4;
	uint64_t o_strtab = DOFF_HDR_SIZE + (uint64_t)secnum * DOFF_SEC_SIZE;
	uint64_t o_probes = align_up(o_strtab + st.len, 8);
	uint64_t z_probes = (uint64_t)n * DOFF_PR_SIZE;
	uint64_t o_prargs = o_probes + z_probes;
	uint64_t o_proffs = align_up(o_prargs + nargs, 4);
	uint64_t z_proffs = (uint64_t)n * 4;
	uint64_t o_prenoffs = o_proffs + z_proffs;
	uint64_t z_prenoffs = (uint64_t)nen * 4;
	uint64_t o_provider = o_prenoffs + z_prenoffs;
	uint64_t total = o_provider + DOFF_PV_SIZE;
	if (total >= usdt_dof_max_loadsz(profile)) {
		usdt_dof_errf(err, errlen,
			      "DOF document for provider %s would be %llu bytes, "
			      "over the %s limit of %llu", pv->name,
			      (unsigned long long)total,
			      usdt_dof_profile_name(profile),
			      (unsigned long long)usdt_dof_max_loadsz(profile));
		goto out;
	}
	doc = calloc(1, (size_t)total);
	if (!doc)
		goto oom;

	/* Header. */
	doc[0] = 0x7f; doc[1] = 'D'; doc[2] = 'O'; doc[3] = 'F';
	doc[DOFF_ID_MODEL] = (uint8_t)usdt_dof_target_model(profile);
	doc[DOFF_ID_ENCODING] = (uint8_t)usdt_dof_target_encoding(profile);
	doc[DOFF_ID_VERSION] = (uint8_t)usdt_dof_profile_version(profile);
	doc[DOFF_ID_DIFVERS] = DOF_DIFVERS;
	doc[DOFF_ID_DIFIREG] = DOF_DIF_REGS;
	doc[DOFF_ID_DIFTREG] = DOF_DIF_REGS;
	dof_wr32(doc, DOFF_H_HDRSIZE, DOFF_HDR_SIZE);
	dof_wr32(doc, DOFF_H_SECSIZE, DOFF_SEC_SIZE);
	dof_wr32(doc, DOFF_H_SECNUM, secnum);
	dof_wr64(doc, DOFF_H_SECOFF, DOFF_HDR_SIZE);
	dof_wr64(doc, DOFF_H_LOADSZ, total);
	dof_wr64(doc, DOFF_H_FILESZ, total);

	put_section(doc, s_strtab, DOF_SECT_STRTAB, 1, 0, o_strtab, st.len);
	put_section(doc, s_probes, DOF_SECT_PROBES, 8, DOFF_PR_SIZE, o_probes,
		    z_probes);
	put_section(doc, s_prargs, DOF_SECT_PRARGS, 1, 1, o_prargs, nargs);
	put_section(doc, s_proffs, DOF_SECT_PROFFS, 4, 4, o_proffs, z_proffs);
	if (nen)
		put_section(doc, s_prenoffs, DOF_SECT_PRENOFFS, 4, 4,
			    o_prenoffs, z_prenoffs);
	put_section(doc, s_provider, DOF_SECT_PROVIDER, 4, 0, o_provider,
		    DOFF_PV_SIZE);
	memcpy(doc + o_strtab, st.buf, st.len);

	/* Site offsets inside the stubs (0 where there is no stub code). */
	uint8_t scratch[USDT_DOF_STUB_MAX];
	size_t psite = 0, esite = 0;
	if (!usdt_dof_stub_probe(profile, scratch, sizeof scratch, &psite))
		psite = 0;
	if (!usdt_dof_stub_isenabled(profile, scratch, sizeof scratch, &esite))
		esite = 0;

	/* Probes. */
	uint32_t argidx = 0, enidx = 0;
	for (size_t i = 0; i < n; i++) {
		const struct usdt_dof_probe_desc *pr = &pv->probes[i];
		uint64_t e = o_probes + (uint64_t)i * DOFF_PR_SIZE;
		uint64_t addr = pr->probe_addr;
		uint32_t off, enoff = 0;
		if (pr->isenabled_addr && pr->isenabled_addr < addr)
			addr = pr->isenabled_addr;
		if (os == USDT_DOF_MACOS)
			addr = pv->base;   /* xnu ignores it; the base is dofhp_addr */
		if (encode_offset(os, addr, pr->probe_addr + psite,
				  arch.macos_probe_adj, &off) ||
		    (pr->isenabled_addr &&
		     encode_offset(os, addr, pr->isenabled_addr + esite,
				   arch.macos_enabled_adj, &enoff))) {
			usdt_dof_errf(err, errlen,
				      "probe %s:%s: tracepoint too far from the "
				      "DOF base address", pr->function, pr->name);
			goto out;
		}
		dof_wr64(doc, e + DOFF_PR_ADDR, addr);
		dof_wr32(doc, e + DOFF_PR_FUNC, names[3 * i]);
		dof_wr32(doc, e + DOFF_PR_NAME, names[3 * i + 1]);
		dof_wr32(doc, e + DOFF_PR_NARGV, names[3 * i + 2]);
		dof_wr32(doc, e + DOFF_PR_XARGV, names[3 * i + 2]);
		dof_wr32(doc, e + DOFF_PR_ARGIDX, pr->argc ? argidx : 0);
		dof_wr32(doc, e + DOFF_PR_OFFIDX, (uint32_t)i);
		doc[e + DOFF_PR_NARGC] = (uint8_t)pr->argc;
		doc[e + DOFF_PR_XARGC] = (uint8_t)pr->argc;
		dof_wr16(doc, e + DOFF_PR_NOFFS, 1);
		for (size_t k = 0; k < pr->argc; k++)
			doc[o_prargs + argidx + k] = (uint8_t)k;
		argidx += (uint32_t)pr->argc;
		dof_wr32(doc, o_proffs + 4 * (uint64_t)i, off);
		if (pr->isenabled_addr) {
			dof_wr32(doc, e + DOFF_PR_ENOFFIDX, enidx);
			dof_wr16(doc, e + DOFF_PR_NENOFFS, 1);
			dof_wr32(doc, o_prenoffs + 4 * (uint64_t)enidx, enoff);
			enidx++;
		}
	}

	/* Provider. */
	dof_wr32(doc, o_provider + DOFF_PV_STRTAB, s_strtab);
	dof_wr32(doc, o_provider + DOFF_PV_PROBES, s_probes);
	dof_wr32(doc, o_provider + DOFF_PV_PRARGS, s_prargs);
	dof_wr32(doc, o_provider + DOFF_PV_PROFFS, s_proffs);
	dof_wr32(doc, o_provider + DOFF_PV_NAME, pvname);
	for (int a = 0; a < DOFF_PV_NATTRS; a++)
		dof_wr32(doc, o_provider + DOFF_PV_PROVATTR + 4 * (uint64_t)a,
			 DOF_BUILD_ATTR);
	dof_wr32(doc, o_provider + DOFF_PV_PRENOFFS, s_prenoffs);

	*docp = doc;
	*lenp = (size_t)total;
	doc = NULL;
	rc = 0;
	goto out;
oom:
	usdt_dof_errf(err, errlen, "out of memory building DOF: %s",
		      strerror(ENOMEM));
out:
	free(doc);
	free(names);
	free(st.buf);
	return rc;
}
