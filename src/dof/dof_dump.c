/*
 * dof_dump.c — a human-readable description of a DOF document for people
 * debugging on a real DTrace system (used by the usdt-dof tool): the
 * header, every section header, each provider and each probe with its
 * offsets, resulting addresses and argument types. It is written for
 * damaged input: every read is checked against the buffer, and what cannot
 * be read is reported instead of read. Long lists are cut short.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dof/dof_internal.h"

/* Output caps so that a hostile document cannot make the dump huge. */
#define DUMP_MAX_SECTIONS 256
#define DUMP_MAX_PROBES 1024
#define DUMP_MAX_LIST 32
#define DUMP_MAX_STR 160

struct dsec {
	uint32_t type, align, flags, entsize;
	uint64_t offset, size;
	int ok;   /* the data lies inside the buffer */
};

struct dump {
	const uint8_t *d;
	uint64_t len;
	FILE *out;
	uint32_t secnum;
	uint64_t secoff;
};

static const char *type_name(uint32_t t)
{
	static const char *const names[] = {
		"NONE", "COMMENTS", "SOURCE", "ECBDESC", "PROBEDESC", "ACTDESC",
		"DIFOHDR", "DIF", "STRTAB", "VARTAB", "RELTAB", "TYPTAB",
		"URELHDR", "KRELHDR", "OPTDESC", "PROVIDER", "PROBES", "PRARGS",
		"PROFFS", "INTTAB", "UTSNAME", "XLTAB", "XLMEMBERS", "XLIMPORT",
		"XLEXPORT", "PREXPORT", "PRENOFFS",
	};
	return t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static int get(const struct dump *D, uint32_t i, struct dsec *s)
{
	uint64_t h = D->secoff + (uint64_t)i * DOFF_SEC_SIZE;
	if (i >= D->secnum || h + DOFF_SEC_SIZE > D->len || h < D->secoff)
		return -1;
	s->type = dof_rd32(D->d, h + DOFF_S_TYPE);
	s->align = dof_rd32(D->d, h + DOFF_S_ALIGN);
	s->flags = dof_rd32(D->d, h + DOFF_S_FLAGS);
	s->entsize = dof_rd32(D->d, h + DOFF_S_ENTSIZE);
	s->offset = dof_rd64(D->d, h + DOFF_S_OFFSET);
	s->size = dof_rd64(D->d, h + DOFF_S_SIZE);
	s->ok = s->offset <= D->len && s->size <= D->len - s->offset;
	return 0;
}

/* Print the string at off of table st (quoted, escaped, bounded). */
static void put_str(const struct dump *D, const struct dsec *st, uint64_t off)
{
	if (!st || !st->ok || off >= st->size) {
		fprintf(D->out, "<bad string offset %" PRIu64 ">", off);
		return;
	}
	const uint8_t *p = D->d + st->offset + off;
	uint64_t max = st->size - off;
	fputc('"', D->out);
	uint64_t i;
	for (i = 0; i < max && p[i]; i++) {
		if (i == DUMP_MAX_STR) {
			fputs("...", D->out);
			break;
		}
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			fputc(p[i], D->out);
		else
			fprintf(D->out, "\\x%02x", p[i]);
	}
	fputc('"', D->out);
	if (i == max)
		fputs(" <unterminated>", D->out);
}

/* Length of the string at off (bounded by the table); 0 if invalid. */
static uint64_t str_len(const struct dump *D, const struct dsec *st,
			uint64_t off)
{
	if (!st->ok || off >= st->size)
		return 0;
	const uint8_t *p = D->d + st->offset + off;
	const uint8_t *z = memchr(p, 0, (size_t)(st->size - off));
	return z ? (uint64_t)(z - p) : st->size - off;
}

static void put_attr(FILE *out, uint32_t v)
{
	static const char *const stab[] = { "Internal", "Private", "Obsolete",
		"External", "Unstable", "Evolving", "Stable", "Standard" };
	static const char *const cls[] = { "Unknown", "CPU", "Platform",
		"Group", "ISA", "Common" };
	unsigned n = v >> 24, dd = (v >> 16) & 0xff, c = (v >> 8) & 0xff;
	fprintf(out, "%s/%s/%s", n < 8 ? stab[n] : "?", dd < 8 ? stab[dd] : "?",
		c < 6 ? cls[c] : "?");
	if (n >= 8 || dd >= 8 || c >= 6 || (v & 0xff))
		fprintf(out, " (0x%08x, out of range)", v);
}

static void put_types(const struct dump *D, const struct dsec *st,
		      uint32_t start, unsigned n)
{
	uint64_t off = start;
	for (unsigned k = 0; k < n; k++) {
		if (k)
			fputs(", ", D->out);
		if (!st->ok || off >= st->size) {
			fprintf(D->out, "<bad offset %" PRIu64 ">", off);
			return;
		}
		put_str(D, st, off);
		off += str_len(D, st, off) + 1;
	}
}

static void put_offsets(const struct dump *D, const char *what,
			const struct dsec *s, uint32_t idx, uint32_t n,
			uint64_t addr)
{
	fprintf(D->out, "    %s (%u):", what, n);
	if (!n) {
		fputc('\n', D->out);
		return;
	}
	if (!s || !s->ok || s->entsize != 4 ||
	    ((uint64_t)idx + n) * 4 > s->size) {
		fputs(" <outside the section>\n", D->out);
		return;
	}
	for (uint32_t k = 0; k < n; k++) {
		if (k == DUMP_MAX_LIST) {
			fprintf(D->out, " ... %u more", n - k);
			break;
		}
		uint32_t v = dof_rd32(D->d, s->offset + 4 * ((uint64_t)idx + k));
		fprintf(D->out, " %#x (=%#" PRIx64 ")", v, addr + v);
	}
	fputc('\n', D->out);
}

static void dump_provider(const struct dump *D, uint32_t pi,
			  const struct dsec *pv, unsigned version)
{
	FILE *out = D->out;
	const uint8_t *d = D->d;
	struct dsec st, pr, args, offs, en;
	int have_en = 0;

	if (!pv->ok || pv->size < DOFF_PV_SIZE_V1) {
		fprintf(out, "provider section %u: too small or outside the "
			"buffer\n", pi);
		return;
	}
	uint64_t o = pv->offset;
	uint32_t ls = dof_rd32(d, o + DOFF_PV_STRTAB);
	uint32_t lp = dof_rd32(d, o + DOFF_PV_PROBES);
	uint32_t la = dof_rd32(d, o + DOFF_PV_PRARGS);
	uint32_t lo = dof_rd32(d, o + DOFF_PV_PROFFS);
	uint32_t le = pv->size >= DOFF_PV_SIZE && version != 1 ?
		dof_rd32(d, o + DOFF_PV_PRENOFFS) : 0;
	int bs = get(D, ls, &st), bp = get(D, lp, &pr), ba = get(D, la, &args),
	    bo = get(D, lo, &offs);
	if (le && get(D, le, &en) == 0)
		have_en = 1;
	fprintf(out, "provider ");
	put_str(D, bs ? NULL : &st, dof_rd32(d, o + DOFF_PV_NAME));
	fprintf(out, " (section %u)\n  links: strtab %u, probes %u, prargs "
		"%u, proffs %u, prenoffs %u%s\n", pi, ls, lp, la, lo, le,
		le ? "" : " (none)");
	static const char *const an[DOFF_PV_NATTRS] = { "provider", "module",
		"function", "name", "args" };
	for (int a = 0; a < DOFF_PV_NATTRS; a++) {
		fprintf(out, "  %-8s attributes ", an[a]);
		put_attr(out, dof_rd32(d, o + DOFF_PV_PROVATTR + 4 * (uint64_t)a));
		fputc('\n', out);
	}
	if (bs || bp || ba || bo || !pr.ok || pr.entsize < DOFF_PR_SIZE ||
	    !args.ok) {
		fprintf(out, "  (probes not shown: a linked section is missing, "
			"outside the buffer or has entries under 48 bytes)\n");
		return;
	}
	uint64_t n = pr.size / pr.entsize;
	fprintf(out, "  %" PRIu64 " probe%s\n", n, n == 1 ? "" : "s");
	if (version == 3)
		fprintf(out, "  (version 3: on macOS the offsets are signed and "
			"relative to dofhp_addr, probe -1 / is-enabled +2 on "
			"x86-64, bit 0 cleared and no adjustment on arm64, and "
			"dofpr_addr is ignored; the (=...) addresses below are "
			"dofpr_addr + offset as Linux reads them)\n");
	for (uint64_t j = 0; j < n; j++) {
		if (j == DUMP_MAX_PROBES) {
			fprintf(out, "  ... %" PRIu64 " more probes\n", n - j);
			break;
		}
		uint64_t e = pr.offset + j * pr.entsize;
		uint64_t addr = dof_rd64(d, e + DOFF_PR_ADDR);
		uint8_t nargc = d[e + DOFF_PR_NARGC], xargc = d[e + DOFF_PR_XARGC];
		uint32_t argidx = dof_rd32(d, e + DOFF_PR_ARGIDX);
		fprintf(out, "  probe ");
		put_str(D, &st, dof_rd32(d, e + DOFF_PR_FUNC));
		fputc(':', out);
		put_str(D, &st, dof_rd32(d, e + DOFF_PR_NAME));
		fprintf(out, "\n    dofpr_addr %#" PRIx64 "\n", addr);
		put_offsets(D, "probe offsets", &offs,
			    dof_rd32(d, e + DOFF_PR_OFFIDX),
			    dof_rd16(d, e + DOFF_PR_NOFFS), addr);
		put_offsets(D, "is-enabled offsets", have_en ? &en : NULL,
			    dof_rd32(d, e + DOFF_PR_ENOFFIDX),
			    dof_rd16(d, e + DOFF_PR_NENOFFS), addr);
		fprintf(out, "    native args (%u): ", nargc);
		put_types(D, &st, dof_rd32(d, e + DOFF_PR_NARGV), nargc);
		fprintf(out, "\n    translated args (%u): ", xargc);
		put_types(D, &st, dof_rd32(d, e + DOFF_PR_XARGV), xargc);
		fprintf(out, "\n    mapping (argidx %u):", argidx);
		for (unsigned k = 0; k < xargc; k++) {
			if ((uint64_t)argidx + k >= args.size) {
				fputs(" <outside PRARGS>", out);
				break;
			}
			fprintf(out, " %u", d[args.offset + argidx + k]);
		}
		fputc('\n', out);
	}
}

int usdt_dof_dump(const void *doc, size_t len, FILE *out)
{
	struct dump D = { doc, doc ? len : 0, out, 0, 0 };
	const uint8_t *d = doc;

	fprintf(out, "DOF document: %zu bytes\n", (size_t)D.len);
	if (D.len < DOFF_HDR_SIZE) {
		fprintf(out, "too short for a DOF header (64 bytes)\n");
		return -1;
	}
	unsigned model = d[DOFF_ID_MODEL], enc = d[DOFF_ID_ENCODING];
	fprintf(out, "header:\n  ident %02x %02x %02x %02x (%s), model %u (%s), "
		"encoding %u (%s), version %u, difvers %u, difireg %u, diftreg "
		"%u\n", d[0], d[1], d[2], d[3],
		d[0] == 0x7f && d[1] == 'D' && d[2] == 'O' && d[3] == 'F' ?
		"\\177DOF" : "bad magic", model,
		model == 1 ? "ILP32" : model == 2 ? "LP64" : "?", enc,
		enc == 1 ? "LSB" : enc == 2 ? "MSB" : "?", d[DOFF_ID_VERSION],
		d[DOFF_ID_DIFVERS], d[DOFF_ID_DIFIREG], d[DOFF_ID_DIFTREG]);
	D.secnum = dof_rd32(d, DOFF_H_SECNUM);
	D.secoff = dof_rd64(d, DOFF_H_SECOFF);
	fprintf(out, "  flags %#x, hdrsize %u, secsize %u, secnum %u, secoff "
		"%#" PRIx64 ", loadsz %" PRIu64 ", filesz %" PRIu64 "\n",
		dof_rd32(d, DOFF_H_FLAGS), dof_rd32(d, DOFF_H_HDRSIZE),
		dof_rd32(d, DOFF_H_SECSIZE), D.secnum, D.secoff,
		dof_rd64(d, DOFF_H_LOADSZ), dof_rd64(d, DOFF_H_FILESZ));
	if (enc != (unsigned)dof_native_encoding())
		fprintf(out, "  (foreign byte order: values below are read in "
			"this machine's order)\n");
	if (dof_rd32(d, DOFF_H_SECSIZE) != DOFF_SEC_SIZE) {
		fprintf(out, "section headers not shown: size is not 32\n");
		return -1;
	}
	if (D.secoff > D.len ||
	    (uint64_t)D.secnum * DOFF_SEC_SIZE > D.len - D.secoff) {
		fprintf(out, "section headers not shown: they lie outside the "
			"%" PRIu64 " bytes\n", D.len);
		return -1;
	}
	fprintf(out, "sections:\n");
	for (uint32_t i = 0; i < D.secnum; i++) {
		struct dsec s;
		if (i == DUMP_MAX_SECTIONS) {
			fprintf(out, "  ... %u more sections\n", D.secnum - i);
			break;
		}
		get(&D, i, &s);
		fprintf(out, "  [%u] %-9s align %u, flags %#x%s, entsize %u, "
			"offset %#" PRIx64 ", size %" PRIu64 "%s\n", i,
			type_name(s.type), s.align, s.flags,
			s.flags & DOF_SECF_LOAD ? " (LOAD)" : "", s.entsize,
			s.offset, s.size, s.ok ? "" : " <outside the buffer>");
	}
	uint32_t shown = 0;
	for (uint32_t i = 0; i < D.secnum && shown < DUMP_MAX_SECTIONS; i++) {
		struct dsec s;
		get(&D, i, &s);
		if (s.type != DOF_SECT_PROVIDER)
			continue;
		shown++;
		dump_provider(&D, i, &s, d[DOFF_ID_VERSION]);
	}
	if (!shown)
		fprintf(out, "no provider section\n");
	return 0;
}
