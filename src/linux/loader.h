/*
 * loader.h — put a built ELF image into the process so tracers see it.
 */
#ifndef USDT_LOADER_H
#define USDT_LOADER_H

#include <stddef.h>
#include <stdint.h>

/* Loading strategies, tried in order (see loader.c for what each gives). */
enum usdt_load_strategy {
	USDT_LOAD_MEMFD = 1,     /* sealed memfd, dlopen("/proc/<pid>/fd/N") */
	USDT_LOAD_FILE = 2,      /* file in a runtime directory, removed at unload */
};

#define USDT_LOAD_PATH_MAX 256

struct usdt_loaded {
	void *handle;            /* dlopen handle */
	int fd;                  /* memfd or file descriptor kept open */
	uintptr_t base;          /* load bias: runtime address of offset 0 */
	enum usdt_load_strategy strategy;
	char path[USDT_LOAD_PATH_MAX];      /* the name dlopen() was given */
	char file[USDT_LOAD_PATH_MAX];      /* file to unlink at unload, or "" */
};

/* Load `image`; `tag` names the memfd/file (the provider name). Tries the
 * strategies chosen by LIBUSDT_LOADER (default "memfd,file") in order.
 * Returns 0, or -1 with every attempt's reason in err. */
int usdt_load(const uint8_t *image, size_t size, const char *tag, struct usdt_loaded *out, char *err);

/* A memfd for generated content: close-on-exec, sealable, and marked
 * non-executable (MFD_NOEXEC_SEAL) where the kernel knows the flag, so it
 * works under vm.memfd_noexec=2. Returns the fd or -1 (errno set). */
int usdt_memfd_create(const char *name);

/* Seal a memfd against writes, growth, shrinking and further seals. */
int usdt_memfd_seal(int fd);

/* dlclose and release the fd/file. Returns 0, or -1 with a message. */
int usdt_unload(struct usdt_loaded *obj, char *err);

#endif
