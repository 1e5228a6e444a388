/*
 * bench_bpftrace.h — the bpftrace run behind the traced benchmarks
 * (bench/traced.c, bench/peer/libstapsdt.c): bpftrace attached to this
 * process with a program of count() maps, its output in a temporary file,
 * stopped with SIGINT (bpftrace then prints the maps), and the counts read
 * back, so that each benchmark can check that every fire was traced.
 */
#ifndef BENCH_BPFTRACE_H
#define BENCH_BPFTRACE_H

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_BT_STOP_POLLS 200          /* x 50 ms: wait 10 s, then SIGKILL */

struct bench_bt {
	pid_t pid;               /* the bpftrace child, -1 when none */
	char out[64];            /* its stdout and stderr */
};

/* Start `bpftrace -p <our pid> -e prog`, unpinned (the benchmark pins
 * itself to one CPU; bpftrace must not share it) and with SIGINT at its
 * default (a benchmark started in the background inherits it ignored).
 * tag names the output file. 0, or -1. */
static inline int bench_bt_start(struct bench_bt *bt, const char *bpftrace, const char *prog, const char *tag)
{
	char pid[32];
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	snprintf(bt->out, sizeof bt->out, "/tmp/libusdt-bench-%s.XXXXXX", tag);
	int fd = mkstemp(bt->out);
	if (fd < 0)
		return -1;
	bt->pid = fork();
	if (bt->pid < 0)
		return -1;
	if (bt->pid == 0) {
		cpu_set_t all;
		CPU_ZERO(&all);
		for (int i = 0; i < CPU_SETSIZE; i++)
			CPU_SET(i, &all);
		sched_setaffinity(0, sizeof all, &all);
		signal(SIGINT, SIG_DFL);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp(bpftrace, bpftrace, "-p", pid, "-e", prog, (char *)NULL);
		_exit(127);
	}
	close(fd);
	return 0;
}

/* Has bpftrace exited (reaped here, once)? */
static inline int bench_bt_exited(struct bench_bt *bt)
{
	int st;
	if (bt->pid > 0 && waitpid(bt->pid, &st, WNOHANG) == bt->pid)
		bt->pid = -1;
	return bt->pid <= 0;
}

/* SIGINT (bpftrace prints its maps and exits), SIGKILL after 10 s. */
static inline void bench_bt_stop(struct bench_bt *bt)
{
	if (bt->pid <= 0)
		return;
	kill(bt->pid, SIGINT);
	for (int i = 0; i < BENCH_BT_STOP_POLLS; i++) {
		if (bench_bt_exited(bt))
			return;
		usleep(50000);
	}
	int st;
	kill(bt->pid, SIGKILL);
	waitpid(bt->pid, &st, 0);
	bt->pid = -1;
}

/* The value bpftrace printed for @map, or -1. */
static inline long bench_bt_count(const struct bench_bt *bt, const char *map)
{
	FILE *f = fopen(bt->out, "r");
	char line[256], key[64];
	long v = -1;
	snprintf(key, sizeof key, "@%s: ", map);
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0)
			v = atol(line + strlen(key));
	fclose(f);
	return v;
}

/* What bpftrace printed, on stderr (without its RLIMIT_MEMLOCK noise). */
static inline void bench_bt_dump(const struct bench_bt *bt)
{
	FILE *f = fopen(bt->out, "r");
	char line[256];
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL)
		if (strstr(line, "RLIMIT_MEMLOCK") == NULL)
			fprintf(stderr, "  bpftrace| %s", line);
	fclose(f);
}

#endif
