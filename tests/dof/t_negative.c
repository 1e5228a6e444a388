/*
 * t_negative.c — one corruption per checklist check (dof-checklist.md,
 * items 1–56, 58, 60), each made from a valid document (the dof.md §14
 * example as built for the profile, or a two-probe variant), each expecting
 * the validator to report that check's number and the consumer's exact
 * message (kernel text, dtrace-utils text on Linux, "libusdt: ..." for the
 * strict rules no consumer states). Items 59–65 (helper structure and
 * submission) are covered by t_submit.
 */
#include <stdint.h>
#include "dof_test.h"
#include "dof/dof_format.h"

/* Layout of the §14 example (identical for every profile). */
#define O_STRTAB 0x100
#define O_PROBES 0x128
#define O_PRARGS 0x158
#define O_PROFFS 0x15c
#define O_PRENOFFS 0x160
#define O_PROV 0x164
#define S_STRTAB 0
#define S_PROBES 1
#define S_PRARGS 2
#define S_PROFFS 3
#define S_PRENOFFS 4
#define S_PROV 5
#define SEC(i, f) (DOFF_HDR_SIZE + 32 * (i) + (f))
#define PR(f) (O_PROBES + (f))
#define PV(f) (O_PROV + (f))

struct doc {
	uint8_t *b;
	size_t len;
	usdt_dof_profile_t prof;
};

static const char *types2[] = { "int", "char *" };

static struct doc base(usdt_dof_profile_t prof, int nprobes)
{
	struct usdt_dof_probe_desc pr[2] = {
		{ "myfunc", "myprobe", 2, types2, 0x401000, 0x401010 },
		{ "myfunc", "other", 2, types2, 0x401020, 0x401030 },
	};
	struct usdt_dof_provider_desc pv = { "myprov", "a.out", pr,
					     (size_t)nprobes, 0x600000 };
	struct doc d = { NULL, 0, prof };
	char err[256];
	void *p;
	if (usdt_dof_build(prof, &pv, &p, &d.len, err, sizeof err) != 0) {
		printf("build failed: %s\n", err);
		exit(1);
	}
	d.b = p;
	return d;
}

static void w8(struct doc *d, size_t o, uint8_t v) { d->b[o] = v; }
static void w16(struct doc *d, size_t o, uint16_t v) { memcpy(d->b + o, &v, 2); }
static void w32(struct doc *d, size_t o, uint32_t v) { memcpy(d->b + o, &v, 4); }
static void w64(struct doc *d, size_t o, uint64_t v) { memcpy(d->b + o, &v, 8); }
static uint32_t r32(struct doc *d, size_t o) { uint32_t v; memcpy(&v, d->b + o, 4); return v; }

/* Append data at the end (aligned), growing loadsz and filesz. */
static uint64_t append(struct doc *d, const void *data, size_t n, size_t align)
{
	size_t at = (d->len + align - 1) / align * align;
	d->b = realloc(d->b, at + n);
	memset(d->b + d->len, 0, at - d->len);
	memcpy(d->b + at, data, n);
	d->len = at + n;
	w64(d, DOFF_H_LOADSZ, d->len);
	w64(d, DOFF_H_FILESZ, d->len);
	return at;
}

/* Move the string table to the end with s added; returns s's offset. */
static uint32_t add_string(struct doc *d, const char *s)
{
	uint64_t off, size;
	memcpy(&off, d->b + SEC(S_STRTAB, DOFF_S_OFFSET), 8);
	memcpy(&size, d->b + SEC(S_STRTAB, DOFF_S_SIZE), 8);
	size_t n = strlen(s) + 1;
	uint8_t *t = malloc(size + n);
	memcpy(t, d->b + off, size);
	memcpy(t + size, s, n);
	uint64_t at = append(d, t, size + n, 1);
	free(t);
	w64(d, SEC(S_STRTAB, DOFF_S_OFFSET), at);
	w64(d, SEC(S_STRTAB, DOFF_S_SIZE), size + n);
	return (uint32_t)size;
}

/* Move the section-header table to the end, with room for `extra` more
 * headers (returned index of the first new one). */
static uint32_t add_sections(struct doc *d, uint32_t extra)
{
	uint32_t n = r32(d, DOFF_H_SECNUM);
	uint8_t *t = calloc(n + extra, 32);
	memcpy(t, d->b + DOFF_HDR_SIZE, 32 * (size_t)n);
	uint64_t at = append(d, t, 32 * (size_t)(n + extra), 8);
	free(t);
	w64(d, DOFF_H_SECOFF, at);
	w32(d, DOFF_H_SECNUM, n + extra);
	return n;
}

static void set_sec(struct doc *d, uint32_t i, uint32_t type, uint32_t align,
		    uint32_t entsize, uint64_t off, uint64_t size)
{
	uint64_t so;
	memcpy(&so, d->b + DOFF_H_SECOFF, 8);
	size_t h = (size_t)so + 32 * (size_t)i;
	w32(d, h + DOFF_S_TYPE, type);
	w32(d, h + DOFF_S_ALIGN, align);
	w32(d, h + DOFF_S_FLAGS, DOF_SECF_LOAD);
	w32(d, h + DOFF_S_ENTSIZE, entsize);
	w64(d, h + DOFF_S_OFFSET, off);
	w64(d, h + DOFF_S_SIZE, size);
}

/* Add a URELHDR + RELTAB pair with one SETX on probe 0's dofpr_addr. */
static void add_relocs(struct doc *d, uint32_t type, uint64_t off)
{
	uint32_t first = add_sections(d, 2);
	uint32_t hdr[3] = { S_STRTAB, first + 1, S_PROBES };
	uint64_t h = append(d, hdr, sizeof hdr, 4);
	uint8_t rel[24] = { 0 };
	uint32_t name = 8;
	memcpy(rel, &name, 4);
	memcpy(rel + 4, &type, 4);
	memcpy(rel + 8, &off, 8);
	uint64_t r = append(d, rel, sizeof rel, 8);
	set_sec(d, first, DOF_SECT_URELHDR, 4, 0, h, 12);
	set_sec(d, first + 1, DOF_SECT_RELTAB, 8, 24, r, 24);
}

static void expect_s(struct doc d, const struct usdt_dof_sites *sites,
		     int check, const char *want, const char *what)
{
	char msg[512];
	int rc = usdt_dof_validate(d.prof, d.b, d.len, sites, msg, sizeof msg);
	CHECK(rc == check && strcmp(msg, want) == 0,
	      "%-7s check %2d (%s): got %d \"%s\"%s%s%s",
	      usdt_dof_profile_name(d.prof), check, what, rc, msg,
	      strcmp(msg, want) ? " want \"" : "", strcmp(msg, want) ? want : "",
	      strcmp(msg, want) ? "\"" : "");
	free(d.b);
}

static void expect(struct doc d, int check, const char *want, const char *what)
{
	expect_s(d, NULL, check, want, what);
}

static void expect_ok(struct doc d, const char *what)
{
	expect(d, 0, "", what);
}

/* The x86-64 profiles, so that the sites below (x86-64 stubs) hold on every
 * host; the arm64 corruptions are in t_arm64.c. */
#define IL USDT_DOF_ILLUMOS_X86_64
#define FB USDT_DOF_FREEBSD_X86_64
#define MA USDT_DOF_MACOS_X86_64
#define LX USDT_DOF_LINUX_X86_64

static char *repeat(char c, size_t n)
{
	static char buf[8][300];
	static int k;
	char *b = buf[k++ % 8];
	memset(b, c, n);
	b[n] = 0;
	return b;
}

int main(void)
{
	struct doc d;
	char want[512];

	for (int p = 0; p < USDT_DOF_NPROFILES; p++)
		expect_ok(base(t_profiles[p], 1), "unmodified");
	for (int p = 0; p < USDT_DOF_NEXPLICIT; p++)
		expect_ok(base(usdt_dof_explicit_profiles[p], 1), "unmodified");

	/* A: buffer and header */
	d = base(IL, 1); d.len = 63; expect(d, 1, "failed to copyin DOF header", "63-byte buffer");
	d = base(LX, 1); d.len = 63; expect(d, 1, "DOF too small: 63 bytes", "63-byte buffer");
	d = base(IL, 1); d.len = 399;
	expect(d, 1, "libusdt: buffer of 399 bytes is shorter than the load size 400 (the consumer fails with EFAULT)", "buffer < loadsz");
	d = base(IL, 1); w64(&d, DOFF_H_LOADSZ, 8u << 20); expect(d, 2, "load size exceeds maximum", "loadsz 8 MiB");
	d = base(MA, 1); w64(&d, DOFF_H_LOADSZ, 512u << 10); expect(d, 2, "load size exceeds maximum", "loadsz 512 KiB");
	d = base(LX, 1); w64(&d, DOFF_H_LOADSZ, 256u << 20);
	expect(d, 2, "load size 268435456 exceeds maximum 268435456", "loadsz 256 MiB");
	d = base(FB, 1); w64(&d, DOFF_H_LOADSZ, 63); expect(d, 2, "invalid load size", "loadsz 63");
	d = base(LX, 1); w64(&d, DOFF_H_LOADSZ, 63);
	expect(d, 2, "invalid load size 63, smaller than header size 64", "loadsz 63");
	d = base(IL, 1); w8(&d, 1, 'X'); expect(d, 3, "DOF magic string mismatch", "magic");
	d = base(LX, 1); w8(&d, 1, 'X'); expect(d, 3, "DOF magic string mismatch: 7f 58 4f 46", "magic");
	d = base(IL, 1); w8(&d, 4, 0); expect(d, 4, "DOF has invalid data model", "model 0");
	d = base(MA, 1); w8(&d, 4, 1);
	expect(d, 4, "libusdt: DOF data model 1 is not the process's model 2", "model ILP32");
	d = base(FB, 1); w8(&d, 5, 2); expect(d, 5, "DOF encoding mismatch", "encoding MSB");
	d = base(LX, 1); w8(&d, 5, 2); expect(d, 5, "DOF encoding mismatch: 2, expected 1", "encoding MSB");
	d = base(IL, 1); w8(&d, 6, 3); expect(d, 6, "DOF version mismatch", "version 3 on illumos");
	d = base(FB, 1); w8(&d, 6, 3); expect(d, 6, "DOF version mismatch", "version 3 on FreeBSD");
	d = base(MA, 1); w8(&d, 6, 2); expect(d, 6, "DOF version mismatch", "version 2 on macOS");
	d = base(LX, 1); w8(&d, 6, 4); expect(d, 6, "DOF version mismatch: 4", "version 4 on Linux");
	d = base(LX, 1); w8(&d, 6, 2);
	expect(d, 6, "libusdt: probe myfunc:myprobe has is-enabled offsets in a version 2 document; dtrace-utils ignores them (use version 3)", "v2 is-enabled on Linux");
	d = base(IL, 1); w8(&d, 7, 1); expect(d, 7, "DOF uses unsupported instruction set", "difvers 1");
	d = base(LX, 1); w8(&d, 7, 1); expect(d, 7, "DOF uses unsupported instruction set: 1", "difvers 1");
	d = base(IL, 1); w8(&d, 8, 9); expect(d, 8, "DOF uses too many integer registers", "difireg 9");
	d = base(MA, 1); w8(&d, 9, 9); expect(d, 8, "DOF uses too many tuple registers", "diftreg 9");
	d = base(IL, 1); w8(&d, 12, 1); expect(d, 9, "DOF has invalid ident byte set", "ident[12]");
	d = base(LX, 1); w8(&d, 12, 1); expect(d, 9, "DOF has invalid ident byte set: 12 = 1", "ident[12]");
	d = base(IL, 1); w32(&d, DOFF_H_FLAGS, 1); expect(d, 10, "DOF has invalid flag bits set", "flags 1");
	d = base(LX, 1); w32(&d, DOFF_H_FLAGS, 1); expect(d, 10, "DOF has invalid flag bits set: 1", "flags 1");
	d = base(IL, 1); w32(&d, DOFF_H_SECSIZE, 0); expect(d, 11, "zero section header size", "secsize 0");
	d = base(MA, 1); w32(&d, DOFF_H_SECSIZE, 24); expect(d, 11, "invalid section header size", "secsize 24");
	d = base(LX, 1); w32(&d, DOFF_H_SECSIZE, 40); expect(d, 11, "incorrect section header size", "secsize 40");
	d = base(FB, 1); w32(&d, DOFF_H_SECSIZE, 36); expect(d, 11, "misaligned section size", "secsize 36");
	d = base(IL, 1); w32(&d, DOFF_H_SECSIZE, 40); expect(d, 11, "libusdt: section header size 40, not 32", "secsize 40");
	d = base(IL, 1); w64(&d, DOFF_H_SECOFF, 60); expect(d, 12, "misaligned section headers", "secoff 60");
	d = base(IL, 1); w32(&d, DOFF_H_SECNUM, 1000000); expect(d, 13, "truncated section headers", "secnum huge");
	d = base(LX, 1); w32(&d, DOFF_H_SECNUM, 1000000);
	expect(d, 13, "truncated section headers: 40, 1000000 * 32 > 190", "secnum huge");
	d = base(IL, 1); w32(&d, DOFF_H_HDRSIZE, 0); expect(d, 14, "libusdt: header size field is 0, not 64", "hdrsize 0");
	d = base(IL, 1); w64(&d, DOFF_H_FILESZ, 10); expect(d, 14, "libusdt: file size 10 is below the load size 400", "filesz 10");
	d = base(IL, 1); w64(&d, DOFF_H_PAD, 1); expect(d, 14, "libusdt: header padding is not zero", "pad");
	d = base(IL, 1); w64(&d, DOFF_H_SECOFF, 0); expect(d, 14, "libusdt: section headers overlap the file header", "secoff 0");
	d = base(IL, 1); w64(&d, SEC(S_PRARGS, DOFF_S_OFFSET), 0x80);
	expect(d, 14, "libusdt: section 2 overlaps the DOF header or section headers", "PRARGS over headers");

	/* B: section headers */
	d = base(IL, 1); w32(&d, SEC(S_PROBES, DOFF_S_FLAGS), 0); expect(d, 15, "loadable section with load flag unset", "PROBES flags 0");
	d = base(LX, 1); w32(&d, SEC(S_PROBES, DOFF_S_FLAGS), 0); expect(d, 15, "loadable section 1 with load flag unset", "PROBES flags 0");
	d = base(IL, 1); w32(&d, SEC(S_PROFFS, DOFF_S_ALIGN), 3); expect(d, 16, "bad section alignment", "PROFFS align 3");
	d = base(LX, 1); w32(&d, SEC(S_PROFFS, DOFF_S_ALIGN), 3); expect(d, 16, "bad section 3 alignment 3", "PROFFS align 3");
	d = base(FB, 1); w32(&d, SEC(S_PROFFS, DOFF_S_ALIGN), 0); expect(d, 16, "misaligned section", "PROFFS align 0");
	d = base(IL, 1); w64(&d, SEC(S_PROFFS, DOFF_S_OFFSET), O_PROFFS + 2); expect(d, 17, "misaligned section", "PROFFS offset +2");
	d = base(LX, 1); w64(&d, SEC(S_PROFFS, DOFF_S_OFFSET), O_PROFFS + 2);
	expect(d, 17, "misaligned section 3: 15e, alignment 4", "PROFFS offset +2");
	d = base(IL, 1); w64(&d, SEC(S_STRTAB, DOFF_S_SIZE), 34 + 1000); expect(d, 18, "corrupt section header", "STRTAB size +1000");
	d = base(LX, 1); w64(&d, SEC(S_STRTAB, DOFF_S_SIZE), 34 + 1000);
	expect(d, 18, "corrupt section 0 header: offset 100, size 40a, load size 190", "STRTAB size +1000");
	d = base(IL, 1); w8(&d, O_STRTAB + 33, 'x'); expect(d, 19, "non-terminating string table", "STRTAB last byte");
	d = base(LX, 1); w8(&d, O_STRTAB + 33, 'x'); expect(d, 19, "section 0: non-0-terminated string table", "STRTAB last byte");
	d = base(MA, 1); w64(&d, SEC(S_STRTAB, DOFF_S_SIZE), 0); expect(d, 19, "non-terminating string table", "STRTAB size 0");
	d = base(IL, 1); w32(&d, SEC(S_PRARGS, DOFF_S_TYPE), 99); expect(d, 20, "libusdt: section 2 has unknown type 99", "type 99");
	d = base(IL, 1); w32(&d, SEC(S_PRARGS, DOFF_S_FLAGS), 3); expect(d, 20, "libusdt: section 2 has unknown flag bits 0x3", "flags 3");
	d = base(IL, 1); w64(&d, SEC(S_PROFFS, DOFF_S_OFFSET), O_PRENOFFS); expect(d, 20, "libusdt: sections 3 and 4 overlap", "overlap");

	/* C: relocations */
	d = base(IL, 1); add_relocs(&d, DOF_RELO_SETX, 0); expect_ok(d, "SETX relocation accepted");
	d = base(FB, 1); add_relocs(&d, DOF_RELO_DOFREL, 0); expect_ok(d, "DOFREL accepted on FreeBSD");
	d = base(MA, 1); add_relocs(&d, DOF_RELO_SETX, 0);
	expect(d, 21, "libusdt: relocations are ignored on macOS (dofpr_addr would stay unrelocated)", "relocations on macOS");
	d = base(IL, 1); add_relocs(&d, DOF_RELO_SETX, 0); w32(&d, (size_t)r32(&d, DOFF_H_SECOFF) + 32 * 6 + DOFF_S_ALIGN, 8);
	expect(d, 22, "invalid relocation header", "URELHDR align 8");
	d = base(LX, 1); add_relocs(&d, DOF_RELO_SETX, 0);
	{ uint64_t h; memcpy(&h, d.b + r32(&d, DOFF_H_SECOFF) + 32 * 6 + DOFF_S_OFFSET, 8); w32(&d, (size_t)h + 4, S_STRTAB); }
	expect(d, 22, "referenced section 0 is the wrong type, 8, not 10", "URELHDR relsec -> STRTAB");
	d = base(IL, 1); add_relocs(&d, DOF_RELO_SETX, 0); w32(&d, (size_t)r32(&d, DOFF_H_SECOFF) + 32 * 7 + DOFF_S_ALIGN, 4);
	expect(d, 23, "invalid relocation section", "RELTAB align 4");
	d = base(IL, 1); add_relocs(&d, DOF_RELO_DOFREL, 0); expect(d, 24, "invalid relocation type", "DOFREL on illumos");
	d = base(LX, 1); add_relocs(&d, 7, 0); expect(d, 24, "invalid relocation type 7", "type 7");
	d = base(IL, 1); add_relocs(&d, DOF_RELO_SETX, 44); expect(d, 25, "bad relocation offset", "offset 44 of 48");
	d = base(FB, 1); add_relocs(&d, DOF_RELO_SETX, 4); expect(d, 25, "misaligned setx relo", "offset 4");

	/* D: provider */
	d = base(IL, 1); w32(&d, SEC(S_PROV, DOFF_S_TYPE), 25);
	expect(d, 27, "libusdt: 0 provider sections, expected exactly one", "no provider");
	d = base(LX, 1);
	{ uint8_t pv[44]; memcpy(pv, d.b + O_PROV, 44); uint32_t n = add_sections(&d, 1);
	  uint64_t o = append(&d, pv, 44, 4); set_sec(&d, n, DOF_SECT_PROVIDER, 4, 0, o, 44); }
	expect(d, 27, "libusdt: 2 provider sections, expected exactly one", "two providers");
	d = base(IL, 1); w32(&d, SEC(S_PROV, DOFF_S_ALIGN), 1); w64(&d, SEC(S_PROV, DOFF_S_OFFSET), O_PROV + 1);
	w64(&d, SEC(S_PROV, DOFF_S_SIZE), 43); expect(d, 28, "misaligned section offset", "provider offset +1");
	d = base(IL, 1); w64(&d, SEC(S_PROV, DOFF_S_SIZE), 40); expect(d, 28, "provider section too small", "provider size 40");
	d = base(LX, 1); w64(&d, SEC(S_PROV, DOFF_S_SIZE), 40); expect(d, 28, "provider section too small: 28", "provider size 40");
	d = base(MA, 1); w32(&d, SEC(S_PROV, DOFF_S_FLAGS), 0);
	expect(d, 28, "libusdt: provider section 5 is not loadable (xnu ignores it)", "provider not LOAD");
	d = base(MA, 1); w32(&d, SEC(S_PROBES, DOFF_S_FLAGS), 0); expect(d, 29, "referenced section is not loadable", "PROBES flags 0");
	d = base(IL, 1); w32(&d, PV(DOFF_PV_PROBES), 0); expect(d, 29, "referenced section is the wrong type", "dofpv_probes 0");
	d = base(IL, 1); w32(&d, PV(DOFF_PV_PROBES), 99); expect(d, 29, "referenced section index is invalid", "dofpv_probes 99");
	d = base(LX, 1); w32(&d, PV(DOFF_PV_PROBES), 99);
	expect(d, 29, "referenced section index 99 is invalid, above 6", "dofpv_probes 99");
	d = base(FB, 1); w32(&d, PV(DOFF_PV_PRENOFFS), S_PROFFS); expect(d, 30, "referenced section is the wrong type", "prenoffs -> PROFFS");
	d = base(IL, 1); w32(&d, PV(DOFF_PV_NAME), 34); expect(d, 31, "invalid provider name", "name offset = size");
	d = base(LX, 1); w32(&d, PV(DOFF_PV_NAME), 34); expect(d, 31, "invalid provider name offset: 34 > 34", "name offset = size");
	d = base(IL, 1); w32(&d, PV(DOFF_PV_NAME), add_string(&d, repeat('p', 64)));
	expect(d, 31, "invalid provider name", "64-char name");
	d = base(FB, 1); w32(&d, PV(DOFF_PV_NAME), add_string(&d, repeat('p', 54)));
	snprintf(want, sizeof want, "failed to instantiate provider %s: name too long to accomodate pid", repeat('p', 54));
	expect(d, 31, want, "54-char name");
	d = base(IL, 1); w32(&d, PV(DOFF_PV_NAME), 0);
	expect(d, 31, "failed to register provider '': invalid provider name", "empty name");
	d = base(LX, 1); w32(&d, PV(DOFF_PV_NAME), 0); expect(d, 31, "libusdt: empty provider name", "empty name");
	d = base(IL, 1); w32(&d, PV(DOFF_PV_NAME), add_string(&d, "1abc"));
	expect(d, 32, "failed to register provider '1abc': invalid provider name", "name 1abc");
	d = base(MA, 1); w32(&d, PV(DOFF_PV_NAME), add_string(&d, "myprov1"));
	expect_ok(d, "trailing digit allowed (libusdt 0.x's provider0; the pid follows it)");
	d = base(LX, 1); w32(&d, PV(DOFF_PV_NAME), add_string(&d, "a:b"));
	expect(d, 32, "libusdt: provider name a:b contains a character other than [A-Za-z0-9_.-]", "name a:b");
	d = base(IL, 1); w32(&d, PV(DOFF_PV_NAME), add_string(&d, "pid"));
	expect(d, 33, "failed to instantiate provider pid: pid is an invalid name", "name pid");
	d = base(MA, 1); w32(&d, PV(DOFF_PV_NAME), add_string(&d, "objc"));
	expect(d, 33, "failed to instantiate provider objc: objc is an invalid name", "name objc");
	d = base(IL, 1); w32(&d, PV(DOFF_PV_NAME), add_string(&d, "objc")); expect_ok(d, "objc allowed on illumos");
	d = base(IL, 1); w32(&d, PV(DOFF_PV_PROVATTR + 8), DOF_ATTR(6, 6, 6));
	expect(d, 34, "failed to register provider 'myprov': invalid provider attributes", "class 6");
	d = base(FB, 1); w32(&d, PV(DOFF_PV_PROVATTR), DOF_ATTR(8, 5, 4));
	expect(d, 34, "failed to register provider 'myprov': invalid provider attributes", "stability 8");
	d = base(IL, 1); w32(&d, PV(DOFF_PV_PROVATTR), DOF_ATTR(5, 5, 4) | 1);
	expect(d, 34, "libusdt: provider attribute 0 has a non-zero low byte", "low byte");
	d = base(LX, 1); w32(&d, PV(DOFF_PV_PROVATTR), DOF_ATTR(9, 9, 9)); expect_ok(d, "attributes ignored on Linux");
	d = base(IL, 1); w32(&d, SEC(S_PROBES, DOFF_S_ENTSIZE), 44); expect(d, 35, "misaligned entry size", "PROBES entsize 44");
	d = base(LX, 1); w32(&d, SEC(S_PROBES, DOFF_S_ENTSIZE), 44); expect(d, 35, "invalid entry size 2c, max 30", "PROBES entsize 44");
	d = base(IL, 1); w32(&d, SEC(S_PROBES, DOFF_S_ENTSIZE), 0); expect(d, 35, "invalid entry size", "PROBES entsize 0");
	d = base(FB, 1); w32(&d, SEC(S_PROBES, DOFF_S_ENTSIZE), 40); expect(d, 35, "libusdt: probe entry size 40 is below 48", "PROBES entsize 40");
	d = base(IL, 1);
	{ uint8_t pr[56] = { 0 }; memcpy(pr, d.b + O_PROBES, 48); uint64_t o = append(&d, pr, 56, 8);
	  w64(&d, SEC(S_PROBES, DOFF_S_OFFSET), o); w64(&d, SEC(S_PROBES, DOFF_S_SIZE), 56); }
	expect(d, 35, "libusdt: PROBES size 56 is not a multiple of the entry size 48", "PROBES size 56");
	d = base(IL, 1); w32(&d, SEC(S_PROFFS, DOFF_S_ENTSIZE), 8); expect(d, 36, "invalid entry size", "PROFFS entsize 8");
	d = base(LX, 1); w32(&d, SEC(S_PROFFS, DOFF_S_ENTSIZE), 8); expect(d, 36, "invalid entry size 8", "PROFFS entsize 8");
	d = base(IL, 1);
	{ uint8_t o5[5] = { 0 }; memcpy(o5 + 1, d.b + O_PROFFS, 4); uint64_t o = append(&d, o5, 5, 4);
	  w32(&d, SEC(S_PROFFS, DOFF_S_ALIGN), 1); w64(&d, SEC(S_PROFFS, DOFF_S_OFFSET), o + 1); }
	expect(d, 36, "misaligned section offset", "PROFFS at odd offset");
	d = base(IL, 1); w64(&d, SEC(S_PROFFS, DOFF_S_SIZE), 3); expect(d, 36, "libusdt: PROFFS size 3 is not a multiple of 4", "PROFFS size 3");
	d = base(IL, 1); w32(&d, SEC(S_PRARGS, DOFF_S_ENTSIZE), 2); expect(d, 37, "invalid entry size", "PRARGS entsize 2");
	d = base(IL, 1); w32(&d, SEC(S_PRENOFFS, DOFF_S_ENTSIZE), 0);
	expect(d, 38, "libusdt: PRENOFFS section must have entry size 4, a 4-aligned offset and a size multiple of 4 (entsize 0, offset 352, size 4)", "PRENOFFS entsize 0");
	d = base(IL, 1); w8(&d, O_STRTAB, 'x'); expect(d, 39, "libusdt: string table does not start with an empty string", "strtab[0]");

	/* E: probes */
	d = base(IL, 1); w32(&d, PR(DOFF_PR_FUNC), 34); expect(d, 40, "invalid function name", "func offset = size");
	d = base(LX, 1); w32(&d, PR(DOFF_PR_FUNC), 34); expect(d, 40, "invalid function name: strtab offset 22, max 22", "func offset");
	d = base(MA, 1); w32(&d, PR(DOFF_PR_FUNC), add_string(&d, repeat('f', 128))); expect(d, 40, "function name too long", "128-char func");
	d = base(IL, 1); w32(&d, PR(DOFF_PR_NAME), 40); expect(d, 41, "invalid probe name", "name offset 40");
	d = base(FB, 1); w32(&d, PR(DOFF_PR_NAME), add_string(&d, repeat('n', 64))); expect(d, 41, "invalid probe name", "64-char name");
	d = base(IL, 1); w32(&d, PR(DOFF_PR_NAME), 0); expect(d, 41, "libusdt: probe 0 has an empty name", "empty name");
	d = base(IL, 1); w8(&d, O_STRTAB + 10, '/');
	expect(d, 42, "libusdt: function name \"my/unc\" contains a character other than [A-Za-z0-9_.-]", "func my/unc");
	d = base(LX, 1); w32(&d, PR(DOFF_PR_NAME), add_string(&d, ".."));
	expect(d, 42, "libusdt: probe name \"..\" cannot be \".\" or \"..\" (it becomes a path component)", "name ..");
	{ struct usdt_dof_sites s = { .dof_addr = 0x600000, .module = "a:b" };
	  d = base(IL, 1); expect_s(d, &s, 42, "libusdt: module name \"a:b\" contains a character other than [A-Za-z0-9_.-]", "module a:b"); }
	{ struct usdt_dof_sites s = { .dof_addr = 0x600000, .module = repeat('m', 63) };
	  d = base(LX, 1); w32(&d, PR(DOFF_PR_FUNC), add_string(&d, repeat('f', 127)));
	  w32(&d, PR(DOFF_PR_NAME), add_string(&d, repeat('n', 63)));
	  snprintf(want, sizeof want, "libusdt: myprov:%s:%s:%s is longer than 255 characters", repeat('m', 63), repeat('f', 127), repeat('n', 63));
	  expect_s(d, &s, 42, want, "path length 262"); }
	d = base(IL, 2); w32(&d, O_PROBES + 48 + DOFF_PR_NAME, r32(&d, PR(DOFF_PR_NAME)));
	expect(d, 43, "libusdt: probe myfunc:myprobe is defined twice (probes 0 and 1)", "duplicate probe");
	d = base(IL, 1); w16(&d, PR(DOFF_PR_NOFFS), 2); expect(d, 44, "invalid probe offset", "noffs 2");
	d = base(LX, 1); w32(&d, PR(DOFF_PR_OFFIDX), 0xffffffff);
	expect(d, 44, "invalid probe offset ffffffff (noffs 1, section size 4)", "offidx wraps");
	d = base(IL, 1); w32(&d, PV(DOFF_PV_PRENOFFS), 0); expect(d, 45, "is-enabled offsets with null section", "prenoffs 0, nenoffs 1");
	d = base(FB, 1); w16(&d, PR(DOFF_PR_NENOFFS), 2); expect(d, 46, "invalid is-enabled offset", "nenoffs 2");
	d = base(LX, 1); w32(&d, PR(DOFF_PR_ENOFFIDX), 1);
	expect(d, 46, "invalid is-enabled offset 1 (nenoffs 1, section size 4)", "enoffidx 1");
	d = base(IL, 1); w16(&d, PR(DOFF_PR_NOFFS), 0); w16(&d, PR(DOFF_PR_NENOFFS), 0);
	expect(d, 47, "zero probe and is-enabled offsets", "no offsets");
	d = base(IL, 1); w8(&d, 6, 1); w16(&d, PR(DOFF_PR_NOFFS), 0); expect(d, 47, "zero probe offsets", "v1 noffs 0");
	d = base(LX, 1); w8(&d, 6, 2); w16(&d, PR(DOFF_PR_NOFFS), 0);
	expect(d, 47, "USDT probe with zero tracepoints", "Linux v2 only is-enabled");
	d = base(MA, 1); w16(&d, PR(DOFF_PR_NOFFS), 0);
	expect(d, 47, "libusdt: probe myfunc:myprobe has no probe offset (only is-enabled offsets)", "only is-enabled");
	d = base(IL, 1);
	{ uint32_t two[2] = { r32(&d, O_PROFFS), r32(&d, O_PROFFS) }; uint64_t o = append(&d, two, 8, 4);
	  w64(&d, SEC(S_PROFFS, DOFF_S_OFFSET), o); w64(&d, SEC(S_PROFFS, DOFF_S_SIZE), 8); w16(&d, PR(DOFF_PR_NOFFS), 2); }
	expect(d, 48, "libusdt: probe myfunc:myprobe has duplicate probe offset 0x2 (the kernel silently drops the probe)", "duplicate offset");
	d = base(LX, 1);
	{ uint32_t two[2] = { r32(&d, O_PROFFS), r32(&d, O_PROFFS) }; uint64_t o = append(&d, two, 8, 4);
	  w64(&d, SEC(S_PROFFS, DOFF_S_OFFSET), o); w64(&d, SEC(S_PROFFS, DOFF_S_SIZE), 8); w16(&d, PR(DOFF_PR_NOFFS), 2); }
	expect(d, 48, "non-unique USDT offsets at 0: 2", "duplicate offset");
	d = base(LX, 1);
	{ uint32_t two[2] = { r32(&d, O_PRENOFFS), r32(&d, O_PRENOFFS) }; uint64_t o = append(&d, two, 8, 4);
	  w64(&d, SEC(S_PRENOFFS, DOFF_S_OFFSET), o); w64(&d, SEC(S_PRENOFFS, DOFF_S_SIZE), 8); w16(&d, PR(DOFF_PR_NENOFFS), 2); }
	expect(d, 48, "non-unique is-enabled USDT offsets at 0: 15", "duplicate is-enabled offset");
	d = base(IL, 1); w8(&d, PR(DOFF_PR_XARGC), 3); expect(d, 49, "invalid args", "xargc 3");
	d = base(LX, 1); w8(&d, PR(DOFF_PR_XARGC), 3); expect(d, 49, "invalid args, idx 0 (xargc 3, section size 2)", "xargc 3");
	d = base(IL, 1); w32(&d, PR(DOFF_PR_NARGV), 34); expect(d, 50, "bad native argument type", "nargv = size");
	d = base(LX, 1); w8(&d, PR(DOFF_PR_NARGC), 3); expect(d, 50, "bad native argument type for arg 2: 22", "nargc 3");
	d = base(IL, 1); w32(&d, PR(DOFF_PR_NARGV), add_string(&d, repeat('t', 130))); expect(d, 50, "native argument type too long", "130-char type");
	d = base(IL, 1); w32(&d, PR(DOFF_PR_NARGV), 0); w8(&d, PR(DOFF_PR_NARGC), 1); w8(&d, PR(DOFF_PR_XARGC), 1);
	expect(d, 50, "libusdt: probe 0: empty native argument type for arg 0", "empty type");
	d = base(IL, 1); w32(&d, PR(DOFF_PR_XARGV), 34); expect(d, 51, "bad translated argument type", "xargv = size");
	d = base(LX, 1); w32(&d, PR(DOFF_PR_XARGV), add_string(&d, repeat('t', 130)));
	snprintf(want, sizeof want, "translated argument type for arg 0 too long: %s...", repeat('t', 40));
	expect(d, 51, want, "130-char translated type");
	d = base(IL, 1); w8(&d, O_PRARGS + 1, 5); expect(d, 52, "bad native argument index", "PRARGS byte 5");
	d = base(LX, 1); w8(&d, O_PRARGS + 1, 2); expect(d, 52, "bad native argument index for arg 1: 2 (max 2)", "PRARGS = nargc");
	d = base(FB, 1); w8(&d, O_PRARGS + 1, 2);
	expect(d, 52, "libusdt: argument mapping for arg 1 is 2, not below nargc 2", "PRARGS = nargc (strict)");
	d = base(IL, 1); w8(&d, O_PRARGS, 1); w8(&d, O_PRARGS + 1, 0); expect_ok(d, "swapped argument mapping accepted");
	d = base(IL, 1); w8(&d, PR(DOFF_PR_PAD1), 1); expect(d, 54, "libusdt: probe myfunc:myprobe has non-zero padding", "pad1");
	d = base(IL, 1); w32(&d, PR(DOFF_PR_PAD2), 1); expect(d, 54, "libusdt: probe myfunc:myprobe has non-zero padding", "pad2");

	/* F: addresses (sites of the §14 example: stubs at 0x401000/0x401010) */
	{
		uint64_t ps[1] = { 0x401002 }, es[1] = { 0x401013 }, esl[1] = { 0x401015 };
		struct usdt_dof_sites s = { 0x600000, "a.out", ps, 1, es, 1, 0 };
		struct usdt_dof_sites sl = { 0x600000, "a.out", ps, 1, esl, 1, 0 };
		d = base(IL, 1); expect_s(d, &s, 0, "", "sites match");
		d = base(MA, 1); expect_s(d, &s, 0, "", "sites match");
		d = base(LX, 1); expect_s(d, &sl, 0, "", "sites match");
		d = base(IL, 1); w32(&d, O_PROFFS, 3);
		expect_s(d, &s, 55, "libusdt: probe myfunc:myprobe probe offset 0x3 resolves to 0x401003, which is not a known probe site", "probe offset +1");
		d = base(FB, 1); w64(&d, PR(DOFF_PR_ADDR), 0x401001);
		expect_s(d, &s, 55, "libusdt: probe myfunc:myprobe probe offset 0x2 resolves to 0x401003, which is not a known probe site", "dofpr_addr +1");
		d = base(LX, 1);
		expect_s(d, &s, 55, "libusdt: probe myfunc:myprobe is-enabled offset 0x15 resolves to 0x401015, which is not a known is-enabled site", "Linux is-enabled site");
		d = base(MA, 1); w32(&d, O_PRENOFFS, r32(&d, O_PRENOFFS) + 2);
		expect_s(d, &s, 56, "libusdt: probe myfunc:myprobe is-enabled offset 0xffe01013 resolves to 0x401015, which is not a known is-enabled site", "macOS is-enabled +2");
		d = base(MA, 1);
		struct usdt_dof_sites s2 = s;
		s2.dof_addr = 0x600001;
		expect_s(d, &s2, 56, "libusdt: probe myfunc:myprobe probe offset 0xffe01003 resolves to 0x401003, which is not a known probe site", "macOS base differs");
		d = base(IL, 1); add_relocs(&d, DOF_RELO_SETX, 0);
		expect_s(d, &s, 55, "libusdt: address checks need a document without relocations", "relocations with sites");
	}
	/* F in process: code bytes, named mappings, document address. */
	{
		struct t_arena a;
		static const usdt_dof_profile_t x86[USDT_DOF_NPROFILES] = { IL, FB, MA, LX };
		for (int p = 0; p < USDT_DOF_NPROFILES; p++) {
			usdt_dof_profile_t prof = x86[p];
			if (t_arena_open(&a, prof, 1)) {
				CHECK(0, "arena");
				break;
			}
			struct usdt_dof_probe_desc pr = { "myfunc", "myprobe", 2, types2,
							  t_probe_stub(&a, 0), t_enabled_stub(&a, 0) };
			struct usdt_dof_provider_desc pv = { "myprov", "a.out", &pr, 1,
							     (uint64_t)(uintptr_t)a.doc };
			void *doc;
			size_t len;
			char err[256], msg[512];
			usdt_dof_build(prof, &pv, &doc, &len, err, sizeof err);
			memcpy(a.doc, doc, len);
			struct usdt_dof_sites s = { (uint64_t)(uintptr_t)a.doc, "a.out",
						    a.probe_sites, 1, a.enabled_sites, 1, 1 };
			int rc = usdt_dof_validate(prof, a.doc, len, &s, msg, sizeof msg);
			CHECK(rc == 0, "%s in process: valid (%d %s)", usdt_dof_profile_name(prof), rc, msg);
			uint8_t *site = (uint8_t *)(uintptr_t)a.enabled_sites[0];
			uint8_t saved = site[-1];
			site[-1] = 0x90;   /* break the xor / mov %rsp,%rdi before the site */
			rc = usdt_dof_validate(prof, a.doc, len, &s, msg, sizeof msg);
			snprintf(want, sizeof want, "libusdt: probe myfunc:myprobe: the code at the is-enabled site %#llx is not a valid is-enabled tracepoint",
				 (unsigned long long)a.enabled_sites[0]);
			CHECK(rc == 55 && strcmp(msg, want) == 0, "%s check 55: is-enabled code bytes: %d %s",
			      usdt_dof_profile_name(prof), rc, msg);
			site[-1] = saved;
			if (prof == LX) {
				/* a document outside any file mapping */
				s.dof_addr = (uint64_t)(uintptr_t)doc;
				rc = usdt_dof_validate(prof, doc, len, &s, msg, sizeof msg);
				CHECK(rc == 58 && strcmp(msg, "cannot look up mapping (process dead?)") == 0,
				      "linux check 58: document on the heap: %d %s", rc, msg);
			}
			s.dof_addr = (uint64_t)(uintptr_t)a.doc;
			rc = usdt_dof_validate(prof, doc, len, &s, msg, sizeof msg);
			snprintf(want, sizeof want, "libusdt: the document is at %p, not at the declared address %#llx",
				 doc, (unsigned long long)(uintptr_t)a.doc);
			CHECK(rc == 60 && strcmp(msg, want) == 0, "%s check 60: document address: %d %s",
			      usdt_dof_profile_name(prof), rc, msg);
			free(doc);
			t_arena_close(&a);
		}
	}
	T_DONE();
}
