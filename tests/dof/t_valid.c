/*
 * t_valid.c — every document the builder produces, for all four profiles,
 * passes the validator, including the address checks (section F) against
 * real stubs in a memfd mapping — for the four plain profiles and for the
 * seven explicit ones (x86_64 and arm64 stubs alike, on any host). Providers cover 0..32 arguments, every
 * argument type the core accepts, probes with and without is-enabled sites,
 * shared type lists and function names. Also checks the definition-time
 * name rules (usdt_dof_check_names) and that the stubs run.
 */
#include <stdint.h>
#include "dof_test.h"
#include "dof/dof_format.h"

#define NPROV 5
#define MAXP 48

struct spec {
	const char *name;
	size_t nprobes;
	struct usdt_dof_probe_desc probes[MAXP];
	char fn[MAXP][32], pn[MAXP][32];
	const char *types[MAXP][40];
};

static struct spec specs[NPROV];

static void make_specs(void)
{
	struct spec *s;
	/* 0: probe i has i arguments (0..32), rotating through every type. */
	s = &specs[0];
	s->name = "argcounts";
	s->nprobes = 33;
	for (size_t i = 0; i < 33; i++) {
		snprintf(s->fn[i], 32, "fn%zu", i % 4);
		snprintf(s->pn[i], 32, "args-%zu", i);
		for (size_t k = 0; k < i; k++)
			s->types[i][k] = t_all_types[(i + k) % T_NTYPES];
		s->probes[i].argc = i;
	}
	/* 1: one probe per type, every other one without is-enabled. */
	s = &specs[1];
	s->name = "every_type";
	s->nprobes = T_NTYPES;
	for (size_t i = 0; i < T_NTYPES; i++) {
		snprintf(s->fn[i], 32, "types");
		snprintf(s->pn[i], 32, "t%zu", i);
		s->types[i][0] = t_all_types[i];
		s->probes[i].argc = 1;
	}
	/* 2: a single probe without arguments. */
	s = &specs[2];
	s->name = "tiny";
	s->nprobes = 1;
	snprintf(s->fn[0], 32, "main");
	snprintf(s->pn[0], 32, "start");
	/* 3: many probes with the same type list (de-duplicated strings). */
	s = &specs[3];
	s->name = "node.http-server_";
	s->nprobes = MAXP;
	for (size_t i = 0; i < MAXP; i++) {
		snprintf(s->fn[i], 32, "handler");
		snprintf(s->pn[i], 32, "request.%zu", i);
		s->types[i][0] = "int";
		s->types[i][1] = "char *";
		s->types[i][2] = i % 2 ? "uint64_t" : "char *";
		s->probes[i].argc = i % 4;
	}
	/* 4: 32 arguments of the same type, longest names. */
	s = &specs[4];
	s->name = "p23456789_123456789_123456789_123456789_123456789_12x";
	s->nprobes = 2;
	for (size_t i = 0; i < 2; i++) {
		snprintf(s->fn[i], 32, "f%s", i ? "" : "_long-function.name");
		snprintf(s->pn[i], 32, "n%zu", i);
		for (size_t k = 0; k < 32; k++)
			s->types[i][k] = "unsigned long long";
		s->probes[i].argc = 32;
	}
	for (int p = 0; p < NPROV; p++)
		for (size_t i = 0; i < specs[p].nprobes; i++) {
			specs[p].probes[i].function = specs[p].fn[i];
			specs[p].probes[i].name = specs[p].pn[i];
			specs[p].probes[i].types = specs[p].types[i];
		}
}

static void one(usdt_dof_profile_t prof, struct spec *s)
{
	const char *pn = usdt_dof_profile_name(prof);
	struct t_arena a;
	char err[256], msg[256];
	void *doc;
	size_t len;

	if (t_arena_open(&a, prof, s->nprobes)) {
		CHECK(0, "%s/%s: stub arena", pn, s->name);
		return;
	}
	for (size_t i = 0; i < s->nprobes; i++) {
		s->probes[i].probe_addr = t_probe_stub(&a, i);
		s->probes[i].isenabled_addr = (s == &specs[1] && i % 2) ? 0 :
					      t_enabled_stub(&a, i);
	}
	struct usdt_dof_provider_desc pv = {
		.name = s->name, .module = "libtest.so", .probes = s->probes,
		.nprobes = s->nprobes, .base = (uint64_t)(uintptr_t)a.doc,
	};
	int rc = usdt_dof_build(prof, &pv, &doc, &len, err, sizeof err);
	CHECK(rc == 0, "%s/%s: build %zu probes (%s)", pn, s->name, s->nprobes,
	      rc ? err : "ok");
	if (rc) {
		t_arena_close(&a);
		return;
	}
	CHECK(len <= T_ARENA_DOC_MAX, "%s/%s: %zu bytes fit", pn, s->name, len);
	memcpy(a.doc, doc, len);
	free(doc);
	struct usdt_dof_sites sites = {
		.dof_addr = (uint64_t)(uintptr_t)a.doc, .module = "libtest.so",
		.probe_sites = a.probe_sites, .nprobe_sites = s->nprobes,
		.isenabled_sites = a.enabled_sites,
		.nisenabled_sites = s->nprobes, .in_process = 1,
	};
	rc = usdt_dof_validate(prof, a.doc, len, &sites, msg, sizeof msg);
	CHECK(rc == 0, "%s/%s: validates with address checks (check %d: %s)",
	      pn, s->name, rc, msg);
	/* Every document validates for its own profile only where versions
	 * demand it: a v2 document is refused by macOS, v3 by illumos. */
	usdt_dof_profile_t other = usdt_dof_profile_os(prof) == USDT_DOF_MACOS ?
				   USDT_DOF_ILLUMOS : USDT_DOF_MACOS;
	if (usdt_dof_profile_version(other) != usdt_dof_profile_version(prof)) {
		rc = usdt_dof_validate(other, a.doc, len, NULL, msg, sizeof msg);
		CHECK(rc == 6 && strcmp(msg, "DOF version mismatch") == 0,
		      "%s/%s: refused by %s (check %d: %s)", pn, s->name,
		      usdt_dof_profile_name(other), rc, msg);
	}
	t_arena_close(&a);
}

static void names(void)
{
	char err[256];
	for (int p = 0; p < USDT_DOF_NPROFILES; p++) {
		usdt_dof_profile_t prof = t_profiles[p];
		const char *pn = usdt_dof_profile_name(prof);
		int rc = usdt_dof_check_names(prof, "myprov", "mod", "f", "n",
					      T_NTYPES, t_all_types, err,
					      sizeof err);
		CHECK(rc == 0, "%s: every core type accepted (%s)", pn,
		      rc ? err : "");
		static const struct { const char *prov, *mod, *fn, *nm, *type, *want; } bad[] = {
			{ "pid", NULL, NULL, NULL, NULL, "is reserved" },
			{ "", NULL, NULL, NULL, NULL, "is empty" },
			{ "1abc", NULL, NULL, NULL, NULL, "must start with a letter" },
			{ "a`b", NULL, NULL, NULL, NULL, "contains a character" },
			{ "a:b", NULL, NULL, NULL, NULL, "contains a character" },
			{ "p23456789_123456789_123456789_123456789_123456789_1234",
			  NULL, NULL, NULL, NULL, "longer than 53" },
			{ "ok", "", NULL, NULL, NULL, "module name \"\" is empty" },
			{ "ok", "a/b", NULL, NULL, NULL, "contains a character" },
			{ "ok", "..", NULL, NULL, NULL, "cannot be \".\"" },
			{ "ok", "m", "", NULL, NULL, "function name \"\" is empty" },
			{ "ok", "m", "f:g", NULL, NULL, "contains a character" },
			{ "ok", "m", "f", "", NULL, "probe name \"\" is empty" },
			{ "ok", "m", "f", "a b", NULL, "contains a character" },
			{ "ok", "m", "f",
			  "n123456789012345678901234567890123456789012345678901234567890123",
			  NULL, "is too long" },
			{ "ok", "m", "f", "n", "", "type \"\" is empty" },
			{ "ok", "m", "f", "n", "int;", "not part of a C type" },
		};
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			const char *ty[1] = { bad[i].type };
			rc = usdt_dof_check_names(prof, bad[i].prov, bad[i].mod,
						  bad[i].fn, bad[i].nm,
						  bad[i].type ? 1 : 0, ty, err,
						  sizeof err);
			CHECK(rc == -1 && strstr(err, bad[i].want),
			      "%s: refused %s/%s/%s/%s/%s: %s", pn, bad[i].prov,
			      bad[i].mod ? bad[i].mod : "-",
			      bad[i].fn ? bad[i].fn : "-",
			      bad[i].nm ? bad[i].nm : "-",
			      bad[i].type ? bad[i].type : "-", err);
		}
		rc = usdt_dof_check_names(prof, "objc", NULL, NULL, NULL, 0, NULL,
					  err, sizeof err);
		CHECK((rc == -1) == (prof == USDT_DOF_MACOS),
		      "%s: \"objc\" %s", pn, rc ? "refused" : "accepted");
		char f[200];
		memset(f, 'f', 199);
		f[199] = 0;
		f[120] = 0;
		rc = usdt_dof_check_names(prof, "p", "m", f, f, 0, NULL, err,
					  sizeof err);
		CHECK(rc == -1, "%s: 120-char probe name refused: %s", pn, err);
		char m[64], fn2[128], nm[64];
		memset(m, 'm', 63); m[63] = 0;
		memset(fn2, 'f', 127); fn2[127] = 0;
		memset(nm, 'n', 63); nm[63] = 0;
		rc = usdt_dof_check_names(prof, "p", m, fn2, nm, 0, NULL, err,
					  sizeof err);
		CHECK((rc == -1) == (prof == USDT_DOF_LINUX),
		      "%s: 1+63+127+63+3 path length %s", pn,
		      rc ? "refused (NAME_MAX)" : "accepted");
	}
}

static void builder_refusals(void)
{
	char err[256];
	void *doc;
	size_t len;
	const char *ty[] = { "int" };
	struct usdt_dof_probe_desc pr[2] = {
		{ "f", "n", 1, ty, 0x1000, 0 }, { "f", "n", 1, ty, 0x2000, 0 },
	};
	struct usdt_dof_provider_desc pv = { "prov", "mod", pr, 2, 0x1000 };
	CHECK(usdt_dof_build(USDT_DOF_ILLUMOS, &pv, &doc, &len, err, sizeof err)
	      == -1 && strstr(err, "defined twice"), "duplicate probe refused: %s",
	      err);
	pv.nprobes = 0;
	CHECK(usdt_dof_build(USDT_DOF_ILLUMOS, &pv, &doc, &len, err, sizeof err)
	      == -1 && strstr(err, "no probes"), "empty provider refused: %s", err);
	pv.nprobes = 1;
	pv.name = "9prov";
	CHECK(usdt_dof_build(USDT_DOF_LINUX, &pv, &doc, &len, err, sizeof err)
	      == -1 && strstr(err, "must start with a letter"), "bad provider refused: %s", err);
	pv.name = "prov";
	pr[0].probe_addr = 0x100000000ull + 0x1000;
	pr[0].isenabled_addr = 0x1000;
	CHECK(usdt_dof_build(USDT_DOF_FREEBSD, &pv, &doc, &len, err, sizeof err)
	      == -1 && strstr(err, "too far"), "offset over 4 GiB refused: %s", err);
	pr[0].isenabled_addr = 0;
	pr[0].probe_addr = 0x1000;
	pv.base = 0x1000 + 0x90000000ull;
	CHECK(usdt_dof_build(USDT_DOF_MACOS, &pv, &doc, &len, err, sizeof err)
	      == -1 && strstr(err, "too far"), "macos: stub 2 GiB away refused: %s",
	      err);
	pv.base = 0x1000;
	/* over the macOS 512 KiB limit: many probes with 255 arguments */
	static struct usdt_dof_probe_desc many[60];
	static const char *t255[255];
	for (int k = 0; k < 255; k++)
		t255[k] = "unsigned long long";
	static char nms[60][8];
	for (int i = 0; i < 60; i++) {
		snprintf(nms[i], 8, "p%d", i);
		many[i] = (struct usdt_dof_probe_desc){ "f", nms[i], 255, t255,
							0x1000 + 64 * (uint64_t)i, 0 };
	}
	struct usdt_dof_provider_desc big = { "big", "mod", many, 60, 0x1000 };
	int rc = usdt_dof_build(USDT_DOF_MACOS, &big, &doc, &len, err, sizeof err);
	CHECK(rc == 0, "macos: 60 probes x 255 args build (%s)", rc ? err : "ok");
	if (rc == 0) {
		char msg[256];
		CHECK(usdt_dof_validate(USDT_DOF_MACOS, doc, len, NULL, msg,
					sizeof msg) == 0,
		      "macos: %zu-byte document validates (%s)", len, msg);
		free(doc);
	}
}

#if defined(__x86_64__)
typedef void (*probe_fn)(long, long, long, long, long, long, long, long,
			 long, long);
typedef int (*enabled_fn)(void);

static void run_stubs(void)
{
	for (int p = 0; p < USDT_DOF_NPROFILES; p++) {
		uint8_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		size_t s1, s2;
		if (m == MAP_FAILED)
			return;
		usdt_dof_stub_probe(t_profiles[p], m, USDT_DOF_STUB_MAX, &s1);
		usdt_dof_stub_isenabled(t_profiles[p], m + 16, USDT_DOF_STUB_MAX, &s2);
		if (mprotect(m, 4096, PROT_READ | PROT_EXEC) != 0) {
			printf("skip running stubs: mprotect exec refused\n");
			munmap(m, 4096);
			return;
		}
		probe_fn f;
		enabled_fn e;
		void *pf = m, *pe = m + 16;
		memcpy(&f, &pf, sizeof f);
		memcpy(&e, &pe, sizeof e);
		f(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);   /* stack arguments too */
		int v = e();
		CHECK(v == 0, "%s: probe stub returns, is-enabled stub returns 0 "
		      "(sites at +%zu, +%zu)", usdt_dof_profile_name(t_profiles[p]),
		      s1, s2);
		munmap(m, 4096);
	}
}
#endif

int main(void)
{
	make_specs();
	for (int p = 0; p < USDT_DOF_NPROFILES; p++)
		for (int s = 0; s < NPROV; s++)
			one(t_profiles[p], &specs[s]);
	for (int p = 0; p < USDT_DOF_NEXPLICIT; p++)
		for (int s = 0; s < NPROV; s++)
			one(usdt_dof_explicit_profiles[p], &specs[s]);
	names();
	builder_refusals();
#if defined(__x86_64__)
	run_stubs();
#endif
	CHECK(usdt_dof_host_profile() == USDT_DOF_LINUX ||
	      usdt_dof_host_profile() != USDT_DOF_LINUX, "host profile: %s",
	      usdt_dof_profile_name(usdt_dof_host_profile()));
	T_DONE();
}
