/*
 * lifecycle.c — a process whose providers a test drives through their life
 * cycle, one command per line on stdin; prints "OK <command>" or
 * "ERR <command>: <message>" after each, and keeps firing every probe of
 * every enabled provider every 20 ms in a second thread meanwhile.
 *
 *   new P               create provider P (module "lc")
 *   probe P NAME [T,..] create probe NAME (types T) and add it to P
 *   remove P NAME       remove probe NAME from P
 *   enable P | disable P | free P
 *   many N              create and enable N providers lcN0..lcN<N-1>
 *                       with one probe "p" each; "freemany" frees them
 *   maps                print "MAPS <n>": mappings of libusdt objects
 *   fds                 print "FDS <n>": open memfds of libusdt
 *   quit
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "usdt.h"
#include "proc_count.h"

#define MAXP 16
#define MAXPROBES 64

struct prov {
	usdt_provider_t *p;
	usdt_probedef_t *defs[MAXPROBES];
	int n;
};
static struct prov provs[MAXP];
static usdt_provider_t **many;
static int nmany;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct prov *find(const char *name)
{
	for (int i = 0; i < MAXP; i++)
		if (provs[i].p != NULL && strcmp(provs[i].p->name, name) == 0)
			return &provs[i];
	return NULL;
}

static void *firing(void *arg)
{
	(void)arg;
	void *argv[USDT_ARG_MAX] = { (void *)42, (void *)"lc" };
	struct timespec ts = { 0, 20 * 1000000 };
	for (;;) {
		pthread_mutex_lock(&lock);
		for (int i = 0; i < MAXP; i++)
			for (int j = 0; j < provs[i].n; j++)
				if (provs[i].defs[j] != NULL)
					usdt_fire_probe(provs[i].defs[j]->probe, provs[i].defs[j]->argc, argv);
		pthread_mutex_unlock(&lock);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(void)
{
	char line[512];
	pthread_t t;
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_create(&t, NULL, firing, NULL);
	printf("READY %ld\n", (long)getpid());
	while (fgets(line, sizeof line, stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		char cmd[32] = "", a[128] = "", b[128] = "", c[256] = "";
		sscanf(line, "%31s %127s %127s %255s", cmd, a, b, c);
		int rc = 0;
		const char *msg = "";
		pthread_mutex_lock(&lock);
		struct prov *p = find(a);
		if (strcmp(cmd, "new") == 0) {
			for (int i = 0; i < MAXP; i++)
				if (provs[i].p == NULL) {
					provs[i].p = usdt_create_provider(a, "lc");
					if (provs[i].p == NULL) {
						rc = -1;
						msg = usdt_last_errstr();
					}
					break;
				}
		} else if (strcmp(cmd, "probe") == 0 && p != NULL) {
			const char *types[USDT_ARG_MAX];
			size_t n = 0;
			for (char *s = strtok(c, ","); s != NULL && n < USDT_ARG_MAX; s = strtok(NULL, ","))
				types[n++] = s;
			usdt_probedef_t *pd = usdt_create_probe(b, b, n, types);
			if (pd == NULL) {
				rc = -1;
				msg = usdt_last_errstr();
			} else if ((rc = usdt_provider_add_probe(p->p, pd)) != 0) {
				msg = usdt_errstr(p->p);
				usdt_probe_release(pd);
			} else {
				p->defs[p->n++] = pd;
			}
		} else if (strcmp(cmd, "remove") == 0 && p != NULL) {
			rc = -1;
			msg = "no such probe";
			for (int j = 0; j < p->n; j++)
				if (p->defs[j] != NULL && strcmp(p->defs[j]->name, b) == 0) {
					usdt_probedef_t *pd = p->defs[j];
					p->defs[j] = NULL;
					rc = usdt_provider_remove_probe(p->p, pd);
					msg = usdt_errstr(p->p);
					usdt_probe_release(pd);
				}
		} else if (strcmp(cmd, "enable") == 0 && p != NULL) {
			rc = usdt_provider_enable(p->p);
			msg = usdt_errstr(p->p);
		} else if (strcmp(cmd, "disable") == 0 && p != NULL) {
			rc = usdt_provider_disable(p->p);
			msg = usdt_errstr(p->p);
		} else if (strcmp(cmd, "free") == 0 && p != NULL) {
			for (int j = 0; j < p->n; j++)
				usdt_probe_release(p->defs[j]);
			usdt_provider_free(p->p);
			memset(p, 0, sizeof *p);
		} else if (strcmp(cmd, "many") == 0) {
			nmany = atoi(a);
			many = calloc((size_t)nmany, sizeof *many);
			for (int i = 0; i < nmany && rc == 0; i++) {
				char name[64];
				snprintf(name, sizeof name, "lcN%d_", i);
				many[i] = usdt_create_provider(name, "lc");
				usdt_probedef_t *pd = usdt_create_probe("f", "p", 0, NULL);
				usdt_provider_add_probe(many[i], pd);
				usdt_probe_release(pd);
				if ((rc = usdt_provider_enable(many[i])) != 0)
					msg = usdt_errstr(many[i]);
			}
		} else if (strcmp(cmd, "freemany") == 0) {
			for (int i = 0; i < nmany; i++)
				usdt_provider_free(many[i]);
			free(many);
			many = NULL;
			nmany = 0;
		} else if (strcmp(cmd, "maps") == 0) {
			printf("MAPS %d\n", count_maps_lines("libusdt:"));
		} else if (strcmp(cmd, "fds") == 0) {
			printf("FDS %d\n", count_fds_linking("libusdt"));
		} else if (strcmp(cmd, "quit") == 0) {
			pthread_mutex_unlock(&lock);
			break;
		} else {
			rc = -1;
			msg = "unknown command or provider";
		}
		pthread_mutex_unlock(&lock);
		if (rc == 0)
			printf("OK %s\n", line);
		else
			printf("ERR %s: %s\n", line, msg);
	}
	printf("BYE\n");
	return 0;
}
