/*
 * t_arm64.c — the arm64 DTrace profiles (freebsd-arm64, macos-arm64,
 * linux-arm64) on any host: the stub words each consumer expects (written
 * from the consumers' sources, docs/dof.md "arm64"), the §14 example as
 * built for each arm64 profile compared byte for byte with the golden
 * document patched by hand, the validator accepting those documents with
 * the address checks and refusing one corruption at a time (misaligned and
 * x86-style offsets, the wrong site, the wrong instruction at the site, the
 * wrong version or model), the builder refusing unaligned stubs, the
 * profile names, and — on an aarch64 host (qemu-user in the cross build) —
 * running the stubs, with the consumers' effect at the site simulated.
 */
#include <errno.h>
#include <stdint.h>
#include "dof_test.h"
#include "dof/dof_format.h"

static const uint8_t golden[400] = {
#include "golden.inc"
};

/* Offsets in the §14 layout (t_negative.c has the full list). */
#define O_PROBES 0x128
#define O_PROFFS 0x15c
#define O_PRENOFFS 0x160
#define PR_ADDR (O_PROBES + DOFF_PR_ADDR)

/* The §14 probe with arm64 stubs: probe stub at 0x401000, is-enabled stub
 * one 32-byte stub later; the document at 0x600000. */
#define A_PROBE_STUB 0x401000ull
#define A_ENABLED_STUB 0x401020ull
#define A_BASE 0x600000ull
#define A_LINUX_SITE 8   /* the nop after str/mov in the Linux stub */

/* Instruction words (little-endian in memory). */
#define W_NOP 0xd503201fu
#define W_MOVZ_X0_0 0xd2800000u
#define W_MOVZ_X0_1 0xd2800020u   /* movz x0, #1: what xnu's effect amounts to */
#define W_MOV_X0_SP 0x910003e0u
#define W_STR_X0_X0 0xf9000000u   /* str x0, [x0]: a non-zero store to *x0 */
#define W_BRK_0 0xd4200000u

static const char *types2[] = { "int", "char *" };

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t w)
{
	p[0] = (uint8_t)w; p[1] = (uint8_t)(w >> 8);
	p[2] = (uint8_t)(w >> 16); p[3] = (uint8_t)(w >> 24);
}

static void hexdiff(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			printf("  byte 0x%03zx: got %02x want %02x\n", i, a[i], b[i]);
}

struct doc {
	uint8_t *b;
	size_t len;
	usdt_dof_profile_t prof;
};

static struct doc build(usdt_dof_profile_t prof)
{
	struct usdt_dof_probe_desc pr = { "myfunc", "myprobe", 2, types2,
					  A_PROBE_STUB, A_ENABLED_STUB };
	struct usdt_dof_provider_desc pv = { "myprov", "a.out", &pr, 1, A_BASE };
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

static void w32(struct doc *d, size_t o, uint32_t v) { memcpy(d->b + o, &v, 4); }
static uint32_t r32(const struct doc *d, size_t o) { uint32_t v; memcpy(&v, d->b + o, 4); return v; }

/* Sites a correct arm64 document resolves to. */
static const uint64_t a_probe_sites[1] = { A_PROBE_STUB };
static const uint64_t a_rv_sites[1] = { A_ENABLED_STUB };
static const uint64_t a_linux_sites[1] = { A_ENABLED_STUB + A_LINUX_SITE };

static struct usdt_dof_sites sites_for(usdt_dof_profile_t prof)
{
	struct usdt_dof_sites s = {
		.dof_addr = A_BASE, .module = "a.out",
		.probe_sites = a_probe_sites, .nprobe_sites = 1,
		.isenabled_sites = usdt_dof_profile_os(prof) == USDT_DOF_LINUX ?
			a_linux_sites : a_rv_sites,
		.nisenabled_sites = 1, .in_process = 0,
	};
	return s;
}

static void expect_s(struct doc d, usdt_dof_profile_t as,
		     const struct usdt_dof_sites *s, int check,
		     const char *want, const char *what)
{
	char msg[512];
	int rc = usdt_dof_validate(as, d.b, d.len, s, msg, sizeof msg);
	CHECK(rc == check && strcmp(msg, want) == 0,
	      "%s as %s: check %d (%s): got %d \"%s\"%s%s%s",
	      usdt_dof_profile_name(d.prof), usdt_dof_profile_name(as), check,
	      what, rc, msg, strcmp(msg, want) ? " want \"" : "",
	      strcmp(msg, want) ? want : "", strcmp(msg, want) ? "\"" : "");
	free(d.b);
}

/* The stub bytes, as read from the consumers' sources. */
static void stubs(void)
{
	static const struct {
		usdt_dof_profile_t prof;
		int isen;
		uint32_t words[5];
		size_t nwords, site;
	} want[] = {
		{ USDT_DOF_FREEBSD_ARM64, 0, { W_NOP, 0xd65f03c0u }, 2, 0 },
		{ USDT_DOF_MACOS_ARM64, 0, { W_NOP, 0xd65f03c0u }, 2, 0 },
		{ USDT_DOF_LINUX_ARM64, 0, { W_NOP, 0xd65f03c0u }, 2, 0 },
		{ USDT_DOF_FREEBSD_ARM64, 1, { W_MOVZ_X0_0, 0xd65f03c0u }, 2, 0 },
		{ USDT_DOF_MACOS_ARM64, 1, { W_MOVZ_X0_0, 0xd65f03c0u }, 2, 0 },
		{ USDT_DOF_LINUX_ARM64, 1, { 0xf81f0fffu, W_MOV_X0_SP, W_NOP,
					     0xb84107e0u, 0xd65f03c0u }, 5, 8 },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		uint8_t buf[USDT_DOF_STUB_MAX];
		size_t site = 99;
		memset(buf, 0xee, sizeof buf);
		size_t n = want[i].isen ?
			usdt_dof_stub_isenabled(want[i].prof, buf, sizeof buf, &site) :
			usdt_dof_stub_probe(want[i].prof, buf, sizeof buf, &site);
		int ok = n == 32 && site == want[i].site;
		for (size_t k = 0; ok && k < 8; k++)
			ok = le32(buf + 4 * k) == (k < want[i].nwords ? want[i].words[k] : 0);
		CHECK(ok, "%s %s stub: %zu bytes, %zu words then udf #0, site +%zu",
		      usdt_dof_profile_name(want[i].prof),
		      want[i].isen ? "is-enabled" : "probe", n, want[i].nwords, site);
	}
	uint8_t small[16];
	size_t site;
	errno = 0;
	CHECK(usdt_dof_stub_probe(USDT_DOF_MACOS_ARM64, small, sizeof small, &site) == 0 &&
	      errno == ENOSPC, "arm64 stub refused for a 16-byte buffer (ENOSPC)");
	CHECK(usdt_dof_stub_size(USDT_DOF_LINUX_ARM64) == 32 &&
	      usdt_dof_stub_size(USDT_DOF_LINUX_X86_64) == 16,
	      "stub sizes: arm64 32, x86_64 16");
}

/* The §14 document for each arm64 profile: golden, patched by hand. */
static void goldens(void)
{
	static const struct {
		usdt_dof_profile_t prof;
		uint8_t version;
		uint64_t addr;
		uint32_t off, enoff;
		const char *why;
	} g[] = {
		{ USDT_DOF_FREEBSD_ARM64, 2, A_PROBE_STUB, 0, 0x20,
		  "v2, dofpr_addr = probe stub, sites at +0 (nop) and +0x20 (movz)" },
		{ USDT_DOF_MACOS_ARM64, 3, A_BASE,
		  (uint32_t)(A_PROBE_STUB - A_BASE), (uint32_t)(A_ENABLED_STUB - A_BASE),
		  "v3, dofpr_addr = base, signed offsets from the base, no adjustment" },
		{ USDT_DOF_LINUX_ARM64, 3, A_PROBE_STUB, 0, 0x20 + A_LINUX_SITE,
		  "v3, is-enabled site at the nop after mov x0, sp (+0x28)" },
	};
	for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
		uint8_t want[400];
		memcpy(want, golden, sizeof want);
		want[DOFF_ID_VERSION] = g[i].version;
		memcpy(want + PR_ADDR, &g[i].addr, 8);
		memcpy(want + O_PROFFS, &g[i].off, 4);
		memcpy(want + O_PRENOFFS, &g[i].enoff, 4);
		struct doc d = build(g[i].prof);
		int same = d.len == sizeof want && !memcmp(d.b, want, sizeof want);
		CHECK(same, "%s: §14 golden with %s (offsets %#x, %#x)",
		      usdt_dof_profile_name(g[i].prof), g[i].why, g[i].off, g[i].enoff);
		if (!same && d.len == sizeof want)
			hexdiff(d.b, want, sizeof want);
		struct usdt_dof_sites s = sites_for(g[i].prof);
		expect_s(d, g[i].prof, &s, 0, "", "valid with the address checks");
	}
	/* The x86_64 profiles give the golden document itself on any host. */
	struct usdt_dof_probe_desc pr = { "myfunc", "myprobe", 2, types2,
					  0x401000, 0x401010 };
	struct usdt_dof_provider_desc pv = { "myprov", "a.out", &pr, 1, A_BASE };
	void *p;
	size_t len;
	char err[256];
	int rc = usdt_dof_build(USDT_DOF_FREEBSD_X86_64, &pv, &p, &len, err, sizeof err);
	CHECK(rc == 0 && len == sizeof golden && !memcmp(p, golden, len),
	      "freebsd-x86_64: the §14 golden bytes on any host");
	if (rc == 0)
		free(p);
}

static void negatives(void)
{
	const usdt_dof_profile_t FB = USDT_DOF_FREEBSD_ARM64,
		MA = USDT_DOF_MACOS_ARM64, LX = USDT_DOF_LINUX_ARM64;
	struct usdt_dof_sites sf = sites_for(FB), sm = sites_for(MA),
		sl = sites_for(LX);
	struct doc d;

	d = build(FB); w32(&d, O_PROFFS, 2);
	expect_s(d, FB, &sf, 55, "libusdt: probe myfunc:myprobe probe offset 0x2 resolves to 0x401002, which is not a 4-byte aligned freebsd-arm64 instruction", "probe offset +2 (x86 style)");
	d = build(FB); w32(&d, O_PROFFS, 4);
	expect_s(d, FB, &sf, 55, "libusdt: probe myfunc:myprobe probe offset 0x4 resolves to 0x401004, which is not a known probe site", "probe offset on the ret");
	d = build(FB); w32(&d, O_PRENOFFS, 0x23);
	expect_s(d, FB, &sf, 55, "libusdt: probe myfunc:myprobe is-enabled offset 0x23 resolves to 0x401023, which is not a 4-byte aligned freebsd-arm64 instruction", "is-enabled offset +3 (x86 style)");
	d = build(MA); w32(&d, O_PROFFS, r32(&d, O_PROFFS) + 1);
	expect_s(d, MA, &sm, 56, "libusdt: probe myfunc:myprobe probe offset 0xffe01001 resolves to 0x401001, which is not a 4-byte aligned macos-arm64 instruction (xnu would clear bit 0)", "probe offset +1 (the x86-64 macOS rule)");
	d = build(MA); w32(&d, O_PRENOFFS, r32(&d, O_PRENOFFS) - 2);
	expect_s(d, MA, &sm, 56, "libusdt: probe myfunc:myprobe is-enabled offset 0xffe0101e resolves to 0x40101e, which is not a 4-byte aligned macos-arm64 instruction", "is-enabled offset -2 (the x86-64 macOS rule)");
	{
		struct usdt_dof_sites s2 = sm;
		s2.dof_addr = A_BASE + 4;
		d = build(MA);
		expect_s(d, MA, &s2, 56, "libusdt: probe myfunc:myprobe probe offset 0xffe01000 resolves to 0x401004, which is not a known probe site", "document 4 bytes further");
	}
	d = build(LX); w32(&d, O_PRENOFFS, 0x20);
	expect_s(d, LX, &sl, 55, "libusdt: probe myfunc:myprobe is-enabled offset 0x20 resolves to 0x401020, which is not a known is-enabled site", "Linux is-enabled offset at the stub start");
	d = build(LX);
	expect_s(d, LX, &sf, 55, "libusdt: probe myfunc:myprobe is-enabled offset 0x28 resolves to 0x401028, which is not a known is-enabled site", "Linux document against return-value sites");
	d = build(MA);
	expect_s(d, FB, NULL, 6, "DOF version mismatch", "macOS (v3) document as FreeBSD");
	d = build(FB);
	expect_s(d, MA, NULL, 6, "DOF version mismatch", "FreeBSD (v2) document as macOS");
	d = build(MA); d.b[DOFF_ID_MODEL] = DOF_MODEL_ILP32;
	expect_s(d, MA, NULL, 4, "libusdt: DOF data model 1 is not the process's model 2", "ILP32 (arm64_32) document");
	d = build(LX); d.b[DOFF_ID_ENCODING] = DOF_ENCODE_MSB;
	expect_s(d, LX, NULL, 5, "DOF encoding mismatch: 2, expected 1", "big-endian document");
	/* An x86-64 document is not an arm64 one, and the other way round. */
	{
		struct doc x = { malloc(sizeof golden), sizeof golden, USDT_DOF_FREEBSD_X86_64 };
		memcpy(x.b, golden, sizeof golden);
		expect_s(x, FB, &sf, 55, "libusdt: probe myfunc:myprobe probe offset 0x2 resolves to 0x401002, which is not a 4-byte aligned freebsd-arm64 instruction", "the x86-64 golden document");
		uint64_t xp[1] = { 0x401002 }, xe[1] = { 0x401013 };
		struct usdt_dof_sites sx = { A_BASE, "a.out", xp, 1, xe, 1, 0 };
		d = build(FB);
		expect_s(d, USDT_DOF_FREEBSD_X86_64, &sx, 55, "libusdt: probe myfunc:myprobe probe offset 0 resolves to 0x401000, which is not a known probe site", "arm64 document as freebsd-x86_64");
	}
	/* The builder refuses stubs that are not instruction-aligned. */
	{
		struct usdt_dof_probe_desc pr = { "f", "n", 0, NULL, 0x401002, 0 };
		struct usdt_dof_provider_desc pv = { "prov", "mod", &pr, 1, A_BASE };
		void *p;
		size_t len;
		char err[256];
		int rc = usdt_dof_build(LX, &pv, &p, &len, err, sizeof err);
		CHECK(rc == -1 && strcmp(err, "probe f:n: linux-arm64 stubs must be 4-byte aligned (0x401002, 0)") == 0,
		      "builder refuses an unaligned arm64 stub: %s", err);
		rc = usdt_dof_build(USDT_DOF_LINUX_X86_64, &pv, &p, &len, err, sizeof err);
		CHECK(rc == 0, "the same address is fine for linux-x86_64 (%s)", rc ? err : "ok");
		if (rc == 0)
			free(p);
	}
}

/* Stubs in a memfd (a named file mapping, as on Linux): the validator reads
 * the words at each site. */
static void in_process(void)
{
	static const usdt_dof_profile_t profs[] = {
		USDT_DOF_FREEBSD_ARM64, USDT_DOF_MACOS_ARM64, USDT_DOF_LINUX_ARM64
	};
	for (size_t i = 0; i < sizeof profs / sizeof profs[0]; i++) {
		usdt_dof_profile_t prof = profs[i];
		const char *pn = usdt_dof_profile_name(prof);
		struct t_arena a;
		char err[256], msg[512], want[512];
		void *doc;
		size_t len;
		if (t_arena_open(&a, prof, 1)) {
			CHECK(0, "%s: arena", pn);
			continue;
		}
		struct usdt_dof_probe_desc pr = { "myfunc", "myprobe", 2, types2,
						  t_probe_stub(&a, 0), t_enabled_stub(&a, 0) };
		struct usdt_dof_provider_desc pv = { "myprov", "a.out", &pr, 1,
						     (uint64_t)(uintptr_t)a.doc };
		if (usdt_dof_build(prof, &pv, &doc, &len, err, sizeof err)) {
			CHECK(0, "%s: build: %s", pn, err);
			t_arena_close(&a);
			continue;
		}
		memcpy(a.doc, doc, len);
		free(doc);
		struct usdt_dof_sites s = { (uint64_t)(uintptr_t)a.doc, "a.out",
					    a.probe_sites, 1, a.enabled_sites, 1, 1 };
		int rc = usdt_dof_validate(prof, a.doc, len, &s, msg, sizeof msg);
		CHECK(rc == 0, "%s in process: valid (%d %s)", pn, rc, msg);

		/* a breakpoint on the probe nop (someone else's) */
		uint8_t *ps = (uint8_t *)(uintptr_t)a.probe_sites[0];
		put_le32(ps, W_BRK_0);
		rc = usdt_dof_validate(prof, a.doc, len, &s, msg, sizeof msg);
		snprintf(want, sizeof want, "libusdt: probe myfunc:myprobe: the code at the probe site %#llx is not a valid probe tracepoint",
			 (unsigned long long)a.probe_sites[0]);
		CHECK(rc == 55 && !strcmp(msg, want), "%s: brk #0 at the probe site: %d %s", pn, rc, msg);
		put_le32(ps, W_NOP);

		/* is-enabled: FreeBSD's dtrace -G leaves a nop (x0 undefined);
		 * xnu accepts only movz x0, #0; Linux needs mov x0, sp first */
		uint8_t *es = (uint8_t *)(uintptr_t)a.enabled_sites[0];
		int linux_v3 = usdt_dof_profile_os(prof) == USDT_DOF_LINUX;
		uint8_t *w = linux_v3 ? es - 4 : es;
		uint32_t saved = le32(w);
		put_le32(w, W_NOP);
		rc = usdt_dof_validate(prof, a.doc, len, &s, msg, sizeof msg);
		snprintf(want, sizeof want, "libusdt: probe myfunc:myprobe: the code at the is-enabled site %#llx is not a valid is-enabled tracepoint",
			 (unsigned long long)a.enabled_sites[0]);
		CHECK(rc == 55 && !strcmp(msg, want), "%s: %s replaced by a nop: %d %s", pn,
		      linux_v3 ? "mov x0, sp" : "movz x0, #0", rc, msg);
		put_le32(w, saved);
		rc = usdt_dof_validate(prof, a.doc, len, &s, msg, sizeof msg);
		CHECK(rc == 0, "%s: restored, valid again (%d %s)", pn, rc, msg);
		t_arena_close(&a);
	}
}

static void names(void)
{
	static const struct { const char *name; usdt_dof_profile_t prof; } n[] = {
		{ "freebsd-arm64", USDT_DOF_FREEBSD_ARM64 },
		{ "macos-arm64", USDT_DOF_MACOS_ARM64 },
		{ "linux-arm64", USDT_DOF_LINUX_ARM64 },
		{ "linux-aarch64", USDT_DOF_LINUX_ARM64 },
		{ "macos-x86_64", USDT_DOF_MACOS_X86_64 },
		{ "illumos-x86_64", USDT_DOF_ILLUMOS_X86_64 },
	};
	for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) {
		usdt_dof_profile_t p = USDT_DOF_ILLUMOS;
		CHECK(usdt_dof_profile_parse(n[i].name, &p) == 0 && p == n[i].prof,
		      "profile \"%s\" parses (as %s)", n[i].name, usdt_dof_profile_name(p));
	}
	usdt_dof_profile_t p;
	CHECK(usdt_dof_profile_parse("illumos-arm64", &p) == -1,
	      "no illumos-arm64 profile");
	CHECK(usdt_dof_profile_os(USDT_DOF_MACOS_ARM64) == USDT_DOF_MACOS &&
	      usdt_dof_profile_arch(USDT_DOF_MACOS_ARM64) == USDT_DOF_ARCH_ARM64 &&
	      usdt_dof_profile_version(USDT_DOF_MACOS_ARM64) == 3 &&
	      usdt_dof_profile_version(USDT_DOF_FREEBSD_ARM64) == 2 &&
	      usdt_dof_profile_version(USDT_DOF_LINUX_ARM64) == 3,
	      "macos-arm64 is macOS on arm64; versions 2 (FreeBSD), 3 (macOS, Linux)");
	CHECK(!usdt_dof_profile_valid((usdt_dof_profile_t)(USDT_DOF_ILLUMOS | USDT_DOF_ARCH_ARM64)),
	      "illumos | ARM64 is not a valid profile");
	char err[256];
	CHECK(usdt_dof_check_names(USDT_DOF_MACOS_ARM64, "objc", NULL, NULL, NULL, 0,
				   NULL, err, sizeof err) == -1 &&
	      strstr(err, "reserved by DTrace on macOS"),
	      "macos-arm64 reserves objc like macos: %s", err);
	CHECK(usdt_dof_device_present(USDT_DOF_LINUX_ARM64) >= 0,
	      "device lookup for linux-arm64 goes to the Linux helper path %s",
	      usdt_dof_helper_path(USDT_DOF_LINUX_ARM64));
	CHECK(!strcmp(usdt_dof_helper_path(USDT_DOF_MACOS_ARM64), "/dev/dtracehelper"),
	      "macos-arm64 helper device /dev/dtracehelper");
}

#if defined(__aarch64__)
#include <sys/mman.h>

typedef void (*probe_fn)(long, long, long, long, long, long, long, long,
			 long, long);
typedef int (*enabled_fn)(void);

/* Run the host's stubs; then patch each is-enabled site with one
 * instruction that has the consumer's effect, and see the stub return it:
 * xnu sets x0 = 1 and skips the movz (movz x0, #1 does the same);
 * dtrace-utils writes to *x0 (str x0, [x0] writes a non-zero value). */
static void run(void)
{
	static const usdt_dof_profile_t profs[] = {
		USDT_DOF_FREEBSD_ARM64, USDT_DOF_MACOS_ARM64, USDT_DOF_LINUX_ARM64
	};
	long pg = sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < sizeof profs / sizeof profs[0]; i++) {
		const char *pn = usdt_dof_profile_name(profs[i]);
		int linux_v3 = usdt_dof_profile_os(profs[i]) == USDT_DOF_LINUX;
		uint8_t *m = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		size_t s1, s2;
		if (m == MAP_FAILED)
			return;
		for (int pass = 0; pass < 2; pass++) {
			usdt_dof_stub_probe(profs[i], m, USDT_DOF_STUB_MAX, &s1);
			usdt_dof_stub_isenabled(profs[i], m + USDT_DOF_STUB_MAX,
						USDT_DOF_STUB_MAX, &s2);
			if (pass)
				put_le32(m + USDT_DOF_STUB_MAX + s2,
					 linux_v3 ? W_STR_X0_X0 : W_MOVZ_X0_1);
			__builtin___clear_cache((char *)m, (char *)m + 2 * USDT_DOF_STUB_MAX);
			if (mprotect(m, (size_t)pg, PROT_READ | PROT_EXEC) != 0) {
				printf("skip running stubs: mprotect exec refused\n");
				munmap(m, (size_t)pg);
				return;
			}
			probe_fn f;
			enabled_fn e;
			void *pf = m, *pe = m + USDT_DOF_STUB_MAX;
			memcpy(&f, &pf, sizeof f);
			memcpy(&e, &pe, sizeof e);
			f(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);   /* stack arguments too */
			int v = e();
			if (pass)
				CHECK(v != 0, "%s: with the consumer's effect at +%zu the "
				      "is-enabled stub returns %d", pn, s2, v);
			else
				CHECK(v == 0, "%s: probe stub returns, is-enabled stub "
				      "returns 0", pn);
			mprotect(m, (size_t)pg, PROT_READ | PROT_WRITE);
		}
		munmap(m, (size_t)pg);
	}
}
#endif

int main(void)
{
	stubs();
	goldens();
	negatives();
	in_process();
	names();
#if defined(__aarch64__)
	run();
#endif
	T_DONE();
}
