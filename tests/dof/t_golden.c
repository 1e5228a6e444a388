/*
 * t_golden.c — the worked example of dof.md §14 byte for byte: provider
 * "myprov", probe myfunc:myprobe (int, char *), one probe site and one
 * is-enabled site, DOF version 2 (illumos/FreeBSD). The expected bytes were
 * written from the specification (not produced by the builder). Choices the
 * specification leaves open: probe stub at 0x401000 (site +2), is-enabled
 * stub at 0x401010 (site +3), attributes Evolving/Evolving/ISA (0x05050400).
 * Also checks the macOS and Linux variants the section describes. The
 * explicit x86_64 profiles are used, so this runs on every host (the arm64
 * variants are in t_arm64.c); on x86_64 the plain profiles must give the
 * same bytes.
 */
#include <stdint.h>
#include "dof_test.h"
#include "dof/dof_format.h"

static const uint8_t golden[400] = {
#include "golden.inc"
};

static void hexdiff(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			printf("  byte 0x%03zx: got %02x want %02x\n", i, a[i], b[i]);
}

int main(void)
{
	static const usdt_dof_profile_t v2[2] = {
		USDT_DOF_ILLUMOS_X86_64, USDT_DOF_FREEBSD_X86_64
	};
	const char *types[] = { "int", "char *" };
	struct usdt_dof_probe_desc pr = {
		.function = "myfunc", .name = "myprobe", .argc = 2,
		.types = types, .probe_addr = 0x401000,
		.isenabled_addr = 0x401010,
	};
	struct usdt_dof_provider_desc pv = {
		.name = "myprov", .module = "a.out", .probes = &pr,
		.nprobes = 1, .base = 0x600000,
	};
	void *doc;
	size_t len;
	char err[256], msg[256];

	for (int p = 0; p < 2; p++) {
		int rc = usdt_dof_build(v2[p], &pv, &doc, &len, err,
					sizeof err);
		CHECK(rc == 0, "%s: build ok (%s)",
		      usdt_dof_profile_name(v2[p]), rc ? err : "");
		if (rc)
			continue;
		CHECK(len == sizeof golden, "%s: length %zu == 400",
		      usdt_dof_profile_name(v2[p]), len);
		int same = len == sizeof golden && !memcmp(doc, golden, len);
		CHECK(same, "%s: bytes identical to the §14 example",
		      usdt_dof_profile_name(v2[p]));
		if (!same && len == sizeof golden)
			hexdiff(doc, golden, len);
		CHECK(usdt_dof_validate(v2[p], doc, len, NULL, msg,
					sizeof msg) == 0, "%s: validates (%s)",
		      usdt_dof_profile_name(v2[p]), msg);
		free(doc);
	}
	/* The golden document itself passes the validator. */
	CHECK(usdt_dof_validate(USDT_DOF_ILLUMOS_X86_64, golden, sizeof golden,
				NULL, msg, sizeof msg) == 0, "golden validates (%s)",
	      msg);
#if defined(__x86_64__)
	/* On x86_64 the plain profiles are the x86_64 ones. */
	for (int p = 0; p < USDT_DOF_NPROFILES; p++) {
		void *a, *b;
		size_t la, lb;
		int ra = usdt_dof_build(t_profiles[p], &pv, &a, &la, err, sizeof err);
		int rb = usdt_dof_build(usdt_dof_explicit_profiles[p], &pv, &b, &lb,
					err, sizeof err);
		CHECK(ra == 0 && rb == 0 && la == lb && !memcmp(a, b, la),
		      "%s and %s build the same bytes on x86_64",
		      usdt_dof_profile_name(t_profiles[p]),
		      usdt_dof_profile_name(usdt_dof_explicit_profiles[p]));
		if (ra == 0)
			free(a);
		if (rb == 0)
			free(b);
	}
#endif

	/* macOS: version 3, offsets relative to the document address with the
	 * x86-64 adjustments (+1 probe, -2 is-enabled), dofpr_addr = base. */
	CHECK(usdt_dof_build(USDT_DOF_MACOS_X86_64, &pv, &doc, &len, err,
			     sizeof err) == 0, "macos-x86_64: build ok");
	uint8_t *d = doc;
	uint8_t want[400];
	memcpy(want, golden, sizeof want);
	want[6] = 3;
	uint64_t base = 0x600000;
	memcpy(want + 0x128, &base, 8);
	uint32_t off = (uint32_t)(0x401002 - 0x600000 + 1);
	uint32_t enoff = (uint32_t)(0x401013 - 0x600000 - 2);
	memcpy(want + 0x15c, &off, 4);
	memcpy(want + 0x160, &enoff, 4);
	CHECK(len == 400 && !memcmp(d, want, 400),
	      "macos: golden with version 3, addr = base, offsets %#x/%#x",
	      off, enoff);
	if (len == 400)
		hexdiff(d, want, 400);
	free(doc);

	/* Linux: version 3, is-enabled site inside the pointer-argument stub
	 * (+5 instead of +3). */
	CHECK(usdt_dof_build(USDT_DOF_LINUX_X86_64, &pv, &doc, &len, err,
			     sizeof err) == 0, "linux-x86_64: build ok");
	memcpy(want, golden, sizeof want);
	want[6] = 3;
	enoff = 0x15;
	memcpy(want + 0x160, &enoff, 4);
	CHECK(len == 400 && !memcmp(doc, want, 400),
	      "linux: golden with version 3 and is-enabled offset 0x15");
	if (len == 400)
		hexdiff(doc, want, 400);
	free(doc);

	/* Without is-enabled sites: no PRENOFFS, prenoffs = 0, 5 sections. */
	pr.isenabled_addr = 0;
	CHECK(usdt_dof_build(USDT_DOF_LINUX_X86_64, &pv, &doc, &len, err,
			     sizeof err) == 0, "linux without is-enabled: build ok");
	d = doc;
	uint32_t secnum, prenoffs;
	memcpy(&secnum, d + DOFF_H_SECNUM, 4);
	memcpy(&prenoffs, d + len - 4, 4);
	CHECK(secnum == 5 && prenoffs == 0,
	      "linux without is-enabled: 5 sections, dofpv_prenoffs 0");
	CHECK(usdt_dof_validate(USDT_DOF_LINUX_X86_64, doc, len, NULL, msg,
				sizeof msg) == 0,
	      "linux without is-enabled: validates (%s)", msg);
	free(doc);
	T_DONE();
}
