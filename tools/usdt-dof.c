/*
 * usdt-dof — inspect, validate and make DOF helper documents.
 *
 * For people debugging libusdt's DTrace backend on a real DTrace system
 * (illumos, FreeBSD, macOS, Oracle Linux): dump a document (header,
 * sections, provider, each probe with its offsets and argument types) and
 * validate it with the checks each consumer applies, printing the
 * consumer's message for the first failed check. It can also build a
 * document from a short command-line description, for round trips.
 *
 *   usdt-dof [--profile P] [--quiet] [--module M] [--base ADDR --stubs ADDR] FILE
 *   usdt-dof --build [--profile P] [--base ADDR] [--stubs ADDR] -o FILE \
 *            PROVIDER MODULE FUNC:NAME[=TYPE,TYPE...]...
 *
 * Profiles: illumos, freebsd, macos, linux (this machine's architecture),
 * <os>-x86_64 and freebsd-arm64, macos-arm64, linux-arm64 (any host).
 *
 * Exit status: 0 valid (or built), 1 invalid, 2 usage or I/O error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dof/dof.h"

/* Largest document read (above every consumer's limit). */
#define TOOL_MAX_FILE (512u << 20)
/* Probes a --build description may have, and arguments per probe. */
#define TOOL_MAX_PROBES 4096
#define TOOL_MAX_ARGS 255
/* Default addresses: where the document and the stubs are assumed to be. */
#define TOOL_DEFAULT_BASE 0x600000ull
#define TOOL_DEFAULT_STUBS 0x401000ull
/* Stub size assumed for a profile without stub code (i386 hosts). */
#define TOOL_FALLBACK_STUB 16

static void usage(FILE *f)
{
	fprintf(f,
		"usage: usdt-dof [--profile P] [--quiet] [--module M]\n"
		"                [--base ADDR --stubs ADDR] FILE|-\n"
		"       usdt-dof --build [--profile P] [--base ADDR] [--stubs ADDR]\n"
		"                -o FILE PROVIDER MODULE FUNC:NAME[=TYPE,TYPE...]...\n"
		"profiles: illumos, freebsd, macos, linux (default: %s), for this\n"
		"machine's architecture; illumos-x86_64, freebsd-x86_64,\n"
		"macos-x86_64, linux-x86_64, freebsd-arm64, macos-arm64,\n"
		"linux-arm64 for any host\n"
		"Dump and validate a DOF helper document, or build one. With\n"
		"--stubs (and --base, the document's address), the validator also\n"
		"checks that every offset lands on the stub site usdt-dof --build\n"
		"put there (probe i's probe stub at STUBS + 2*S*i, its is-enabled\n"
		"stub S bytes later; S = 16 on x86_64, 32 on arm64).\n"
		"Exit status: 0 valid, 1 invalid, 2 usage or I/O error.\n",
		usdt_dof_profile_name(usdt_dof_host_profile()));
}

static int parse_addr(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return -1;
	*v = x;
	return 0;
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 4096, n = 0;
	char *buf = NULL;
	if (!f) {
		fprintf(stderr, "usdt-dof: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap || !buf) {
			if (buf)
				cap *= 2;
			if (cap > TOOL_MAX_FILE) {
				fprintf(stderr, "usdt-dof: %s: larger than %u bytes\n",
					path, TOOL_MAX_FILE);
				goto fail;
			}
			char *nb = realloc(buf, cap);
			if (!nb)
				goto fail;
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f)) {
				fprintf(stderr, "usdt-dof: %s: read error\n", path);
				goto fail;
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
fail:
	if (f != stdin)
		fclose(f);
	free(buf);
	return NULL;
}

/* Parse FUNC:NAME[=T,T...] into a probe (strings point into a copy). */
static int parse_probe(char *spec, struct usdt_dof_probe_desc *pr,
		       const char **types)
{
	char *colon = strchr(spec, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	char *eq = strchr(colon + 1, '=');
	pr->function = spec;
	pr->name = colon + 1;
	pr->argc = 0;
	pr->types = types;
	if (eq) {
		*eq = '\0';
		char *t = eq + 1;
		for (;;) {
			if (pr->argc == TOOL_MAX_ARGS)
				return -1;
			char *comma = strchr(t, ',');
			if (comma)
				*comma = '\0';
			types[pr->argc++] = t;
			if (!comma)
				break;
			t = comma + 1;
		}
	}
	return 0;
}

/* Bytes of one stub of the profile (the layout --build and --stubs use). */
static uint64_t stub_size(usdt_dof_profile_t prof)
{
	size_t s = usdt_dof_stub_size(prof);
	return s ? s : TOOL_FALLBACK_STUB;
}

static int build(usdt_dof_profile_t prof, uint64_t base, uint64_t stubs,
		 const char *out, int argc, char **argv)
{
	if (argc < 3 || argc - 2 > TOOL_MAX_PROBES) {
		usage(stderr);
		return 2;
	}
	size_t n = (size_t)argc - 2;
	struct usdt_dof_probe_desc *pr = calloc(n, sizeof *pr);
	const char **types = calloc(n * TOOL_MAX_ARGS, sizeof *types);
	int rc = 2;
	void *doc = NULL;
	size_t len;
	char err[512];
	if (!pr || !types)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (parse_probe(argv[2 + i], &pr[i], types + i * TOOL_MAX_ARGS)) {
			fprintf(stderr, "usdt-dof: bad probe description \"%s\" "
				"(want FUNC:NAME[=TYPE,TYPE...])\n", argv[2 + i]);
			goto out;
		}
		pr[i].probe_addr = stubs + 2 * stub_size(prof) * (uint64_t)i;
		pr[i].isenabled_addr = pr[i].probe_addr + stub_size(prof);
	}
	struct usdt_dof_provider_desc pv = { argv[0], argv[1], pr, n, base };
	if (usdt_dof_build(prof, &pv, &doc, &len, err, sizeof err)) {
		fprintf(stderr, "usdt-dof: %s\n", err);
		rc = 1;
		goto out;
	}
	FILE *f = strcmp(out, "-") ? fopen(out, "wb") : stdout;
	if (!f || fwrite(doc, 1, len, f) != len || (f != stdout && fclose(f))) {
		fprintf(stderr, "usdt-dof: %s: %s\n", out, strerror(errno));
		goto out;
	}
	if (f != stdout)
		fprintf(stderr, "usdt-dof: wrote %zu-byte %s document for "
			"provider %s (%zu probe%s) to %s\n", len,
			usdt_dof_profile_name(prof), argv[0], n, n == 1 ? "" : "s",
			out);
	rc = 0;
out:
	free(doc);
	free(pr);
	free(types);
	return rc;
}

int main(int argc, char **argv)
{
	usdt_dof_profile_t prof = usdt_dof_host_profile();
	uint64_t base = TOOL_DEFAULT_BASE, stubs = 0;
	const char *out = NULL, *module = NULL;
	int do_build = 0, quiet = 0, i;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--build")) {
			do_build = 1;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = 1;
		} else if (i + 1 < argc && !strcmp(a, "--profile")) {
			if (usdt_dof_profile_parse(argv[++i], &prof)) {
				fprintf(stderr, "usdt-dof: unknown profile %s\n", argv[i]);
				return 2;
			}
		} else if (i + 1 < argc && !strcmp(a, "--base")) {
			if (parse_addr(argv[++i], &base))
				goto bad;
		} else if (i + 1 < argc && !strcmp(a, "--stubs")) {
			if (parse_addr(argv[++i], &stubs))
				goto bad;
		} else if (i + 1 < argc && !strcmp(a, "--module")) {
			module = argv[++i];
		} else if (i + 1 < argc && !strcmp(a, "-o")) {
			out = argv[++i];
		} else {
			goto bad;
		}
	}
	if (do_build) {
		if (!out)
			goto bad;
		return build(prof, base, stubs ? stubs : TOOL_DEFAULT_STUBS, out,
			     argc - i, argv + i);
	}
	if (argc - i != 1)
		goto bad;

	size_t len;
	void *doc = read_file(argv[i], &len);
	if (!doc)
		return 2;
	if (!quiet)
		usdt_dof_dump(doc, len, stdout);

	/* Known stub sites (from --stubs), as usdt-dof --build lays them out. */
	struct usdt_dof_sites sites = { 0 };
	uint64_t *ps = NULL, *es = NULL;
	if (stubs) {
		uint8_t scratch[USDT_DOF_STUB_MAX];
		size_t psite = 0, esite = 0;
		usdt_dof_stub_probe(prof, scratch, sizeof scratch, &psite);
		usdt_dof_stub_isenabled(prof, scratch, sizeof scratch, &esite);
		ps = calloc(TOOL_MAX_PROBES, sizeof *ps);
		es = calloc(TOOL_MAX_PROBES, sizeof *es);
		if (!ps || !es) {
			free(ps);
			free(es);
			free(doc);
			return 2;
		}
		for (size_t k = 0; k < TOOL_MAX_PROBES; k++) {
			ps[k] = stubs + 2 * stub_size(prof) * k + psite;
			es[k] = stubs + 2 * stub_size(prof) * k + stub_size(prof) +
				esite;
		}
		sites.probe_sites = ps;
		sites.isenabled_sites = es;
		sites.nprobe_sites = sites.nisenabled_sites = TOOL_MAX_PROBES;
	}
	sites.dof_addr = base;
	sites.module = module;
	char msg[512];
	int check = usdt_dof_validate(prof, doc, len,
				      stubs || module ? &sites : NULL, msg,
				      sizeof msg);
	if (check)
		printf("validation (%s): FAILED check %d: %s\n",
		       usdt_dof_profile_name(prof), check, msg);
	else
		printf("validation (%s): OK\n", usdt_dof_profile_name(prof));
	free(ps);
	free(es);
	free(doc);
	return check ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
