/*
 * t_dlclose.c — libusdt.so loaded with dlopen() (as Python ctypes and Node
 * addons do), used from a thread, unloaded with dlclose(), and the thread
 * exits afterwards: the thread-exit hook must not run in unmapped code.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"

static void *lib;
static atomic_int ready;

static void *worker(void *arg)
{
	(void)arg;
	int (*is_enabled)(void *) = (int (*)(void *))dlsym(lib, "usdt_is_enabled");
	void *fake_probe[4] = { 0 };     /* a usdt_probe_t with no binding */
	if (is_enabled != NULL)
		is_enabled(fake_probe);     /* registers this thread as a reader */
	atomic_store(&ready, 1);
	usleep(300 * 1000);              /* exits after the library is gone */
	return NULL;
}

int main(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/libusdt.so", getenv("BUILD") ? getenv("BUILD") : "build");
	lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	CHECK(lib != NULL, "dlopen(%s): %s", path, lib ? "ok" : dlerror());
	if (lib == NULL)
		return check_done();
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	while (!atomic_load(&ready))
		usleep(1000);
	CHECK(dlclose(lib) == 0, "dlclose while a registered thread is alive");
	pthread_join(t, NULL);
	CHECK(1, "the thread exited after the library was unloaded, without a crash");
	return check_done();
}
