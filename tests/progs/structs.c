/*
 * structs.c — a target for the structured argument tests
 * (tests/tracers/t_struct_types.sh): it registers two structure layouts
 * (usdt_register_struct) and fires probes whose arguments point to them,
 * with fixed values of every integer width and signedness, strings, an
 * inline character array, a nested structure, pointers and JSON, so that
 * bpftrace (with `usdt cdecl`'s declarations) and `usdt trace` output can
 * be compared exactly.
 *
 * Usage: structs PROVIDER
 *   Enables PROVIDER (module "structmod"), prints "READY <pid>", then fires
 *   each probe every FIRE_INTERVAL_US while a tracer is attached to it;
 *   exits 0 on SIGTERM.
 *
 *   req(struct request *, json, int)   the request below, REQ_JSON, 42
 *   big(json)                          BIG_JSON (longer than bpftrace's
 *                                      64-byte strings: shown truncated)
 *   bad(json)                          "not json {" (shown as not JSON)
 *
 *   struct request: i8 -100, u8 200, i16 -30000, u16 60000,
 *     i32 -2000000000, u32 4000000000, i64 -5000000000,
 *     u64 18446744073709551615, status 200, path "/index.html",
 *     name "alice" (char[16]), in {a -7, b 4000000001}, next NULL,
 *     json {"k":[1,2]}, opaque 0xdeadbeef, flag 1
 */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "usdt.h"

#define FIRE_INTERVAL_US 20000
#define NPROBES 3
#define REQ_JSON "{\"a\":1,\"b\":[true,null,\"x\"],\"c\":{}}"
#define BIG_JSON "{\"items\":[{\"id\":1,\"name\":\"first\"},{\"id\":2,\"name\":\"second\"},{\"id\":3,\"name\":\"third\"}]}"

struct inner {
	int16_t a;
	uint32_t b;
};

struct request {
	int8_t i8;
	uint8_t u8;
	int16_t i16;
	uint16_t u16;
	int32_t i32;
	uint32_t u32;
	int64_t i64;
	uint64_t u64;
	int32_t status;
	const char *path;
	char name[16];
	struct inner in;
	struct request *next;
	const char *json;
	void *opaque;
	_Bool flag;
};

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

#define F(n, t) { #n, t, offsetof(struct request, n) }

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	static const usdt_field_t inner_f[] = { { "a", "int16_t", offsetof(struct inner, a) },
		                                { "b", "uint32_t", offsetof(struct inner, b) } };
	static const usdt_field_t req_f[] = {
		F(i8, "int8_t"), F(u8, "uint8_t"), F(i16, "int16_t"), F(u16, "uint16_t"), F(i32, "int32_t"),
		F(u32, "uint32_t"), F(i64, "int64_t"), F(u64, "uint64_t"), F(status, "int32_t"), F(path, "char *"),
		F(name, "char[16]"), F(in, "struct inner"), F(next, "struct request *"), F(json, "json"),
		F(opaque, "void *"), F(flag, "bool"),
	};
	if (usdt_register_struct("inner", sizeof(struct inner), 2, inner_f) != 0 ||
	    usdt_register_struct("request", sizeof(struct request), sizeof req_f / sizeof req_f[0], req_f) != 0) {
		printf("FAIL %s\n", usdt_last_errstr());
		return 1;
	}
	static char path[32], name_json[32];
	snprintf(path, sizeof path, "/index.html");
	snprintf(name_json, sizeof name_json, "{\"k\":[1,2]}");
	static struct request r;
	r.i8 = -100;
	r.u8 = 200;
	r.i16 = -30000;
	r.u16 = 60000;
	r.i32 = -2000000000;
	r.u32 = 4000000000u;
	r.i64 = -5000000000ll;
	r.u64 = UINT64_MAX;
	r.status = 200;
	r.path = path;
	snprintf(r.name, sizeof r.name, "alice");
	r.in.a = -7;
	r.in.b = 4000000001u;
	r.next = NULL;
	r.json = name_json;
	r.opaque = (void *)(uintptr_t)0xdeadbeef;
	r.flag = 1;
	static char req_json[64], big_json[128], bad_json[16];
	snprintf(req_json, sizeof req_json, "%s", REQ_JSON);
	snprintf(big_json, sizeof big_json, "%s", BIG_JSON);
	snprintf(bad_json, sizeof bad_json, "not json {");

	static const char *t_req[] = { "struct request *", "json", "int" };
	static const char *t_json[] = { "json" };
	void *a_req[] = { &r, req_json, (void *)(intptr_t)42 };
	void *a_big[] = { big_json };
	void *a_bad[] = { bad_json };
	struct { const char *name; size_t argc; const char **types; void **args; usdt_probedef_t *d; } p[NPROBES] = {
		{ "req", 3, t_req, a_req, NULL }, { "big", 1, t_json, a_big, NULL }, { "bad", 1, t_json, a_bad, NULL },
	};
	signal(SIGTERM, on_term);
	usdt_provider_t *prov = usdt_create_provider(argv[1], "structmod");
	if (prov == NULL) {
		printf("FAIL %s\n", usdt_last_errstr());
		return 1;
	}
	for (int i = 0; i < NPROBES; i++) {
		p[i].d = usdt_create_probe("main", p[i].name, p[i].argc, p[i].types);
		if (p[i].d == NULL || usdt_provider_add_probe(prov, p[i].d) != 0) {
			printf("FAIL %s %s\n", p[i].name, p[i].d ? usdt_errstr(prov) : usdt_last_errstr());
			return 1;
		}
	}
	if (usdt_provider_enable(prov) != 0) {
		printf("FAIL %s\n", usdt_errstr(prov));
		return 1;
	}
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	while (!stop) {
		for (int i = 0; i < NPROBES; i++)
			if (usdt_is_enabled(p[i].d->probe))
				usdt_fire_probe(p[i].d->probe, p[i].argc, p[i].args);
		usleep(FIRE_INTERVAL_US);
	}
	for (int i = 0; i < NPROBES; i++)
		usdt_probe_release(p[i].d);
	usdt_provider_free(prov);
	return 0;
}
