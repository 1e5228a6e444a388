/*
 * loader.h — put a built ELF image into the process so tracers see it,
 * make it invisible again, and tell whether the program has taken away
 * the descriptor it is found through (loader.c explains each rule).
 */
#ifndef USDT_LOADER_H
#define USDT_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Loading strategies, tried in order (see loader.c for what each gives). */
enum usdt_load_strategy {
	USDT_LOAD_MEMFD = 1,     /* sealed memfd, dlopen("/proc/<pid>/fd/N") */
	USDT_LOAD_FILE = 2,      /* file in a checked runtime directory, loaded
	                            through our descriptor, removed at unload */
	USDT_LOAD_MAP = 3,       /* sealed memfd mapped by us (no dlopen), shown
	                            to GDB through its JIT interface (gdb_jit.c) */
};

#define USDT_LOAD_PATH_MAX 256

struct link_map;
struct usdt_gdb_entry;

struct usdt_loaded {
	void *handle;            /* dlopen handle */
	int fd;                  /* memfd or file descriptor kept open, -1 once released */
	uintptr_t base;          /* load bias: runtime address of offset 0 */
	enum usdt_load_strategy strategy;
	dev_t dev;               /* what fd referred to when we loaded it: */
	ino_t ino;               /*   fd is only closed by us while it still does */
	pid_t creator;           /* process that created `file` (only it removes it) */
	int hidden;              /* usdt_loader_hide() ran */
	struct link_map *lm;     /* the dynamic loader's entry for the object */
	void *map;               /* USDT_LOAD_MAP: our mapping of the object */
	size_t map_len;          /*   and its length */
	struct usdt_gdb_entry *gdb;   /* USDT_LOAD_MAP: GDB's entry, NULL once hidden */
	char *orig_name;         /* lm->l_name as dlopen set it; put back before
	                            dlclose (glibc frees it there) */
	struct usdt_loaded *next, *prev;    /* loader.c's list of loaded objects */
	int listed;              /* in loader.c's list (and its descriptor index) */
	int fd_counted;          /* fd is counted in that index as open */
	int opened_fd, path_fd;  /* the descriptor numbers in `opened` and `path`
	                            (-1: not a /proc/<pid>/fd name, or the map
	                            strategy, whose names dlopen never sees) */
	char opened[USDT_LOAD_PATH_MAX];    /* the name dlopen() was given (glibc
	                                       keeps it as an alias of the object) */
	char path[USDT_LOAD_PATH_MAX];      /* the link-map name tracers (gdb) see:
	                                       lm->l_name points here; for the
	                                       map strategy, /proc/<pid>/fd/N */
	char file[USDT_LOAD_PATH_MAX];      /* file to unlink at unload, or "" */
};

/*
 * Address space set aside before an image is written, so that the map
 * strategy maps the object at the address it was linked for
 * (elf_image.c, "Link address"): usdt_loader_reserve() takes a range able
 * to hold an image of at most `bound` bytes when the strategy list names
 * "map" (the object's memfd, still empty, mapped R+X over all of it, or
 * PROT_NONE memory: loader_map.c), and says at which address to link the image
 * (r->base, aligned to USDT_ARCH_PAGE_SIZE); r->base is 0 when there is
 * nothing reserved (other strategies, or no address space), and the image
 * is then linked at 0. usdt_load() always consumes the reservation: the
 * map strategy maps the object over it and gives back the rest, any other
 * outcome gives it all back. usdt_loader_release() gives it back when
 * usdt_load() is not reached.
 */
struct usdt_reservation {
	void *addr;              /* the reserved range, or NULL */
	size_t len;
	uintptr_t base;          /* link address of the image, or 0 */
	int fd;                  /* the object's memfd (`tag` names it), empty
	                            until usdt_load() fills it, or -1 */
	int rx_mapped;           /* addr..len is that memfd mapped R+X at offset
	                            0 (base == addr), not PROT_NONE memory */
	const char *failed;      /* with base 0 after the map strategy asked:
	                            the call that failed ("memfd_create",
	                            "mmap"), and its errno */
	int failed_errno;
};
void usdt_loader_reserve(size_t bound, const char *tag, struct usdt_reservation *r);
void usdt_loader_release(struct usdt_reservation *r);

/* Load `image`; `tag` names the memfd/file (the provider name). Tries the
 * strategies chosen by LIBUSDT_LOADER (default "map,memfd,file") in order.
 * Returns 0, or -1 with every attempt's reason in err. `out` must stay at
 * its address until usdt_unload() (the link map points into it). */
int usdt_load(const uint8_t *image, size_t size, const char *tag, struct usdt_reservation *r, struct usdt_loaded *out,
              char *err);

/* A memfd for generated content: close-on-exec, sealable, and marked
 * non-executable (MFD_NOEXEC_SEAL) where the kernel knows the flag, so it
 * works under vm.memfd_noexec=2. Returns the fd or -1 (errno set). */
int usdt_memfd_create(const char *name);

/* Seal a memfd against writes, growth, shrinking and further seals. */
int usdt_memfd_seal(int fd);

/* This process's pid without a system call (kept up to date in forked
 * children by fork.c). */
pid_t usdt_loader_pid(void);

/* dlclose and release the fd (only if it is still ours) and the file
 * (only in the process that created it). Works on a hidden object.
 * Returns 0, or -1 with a message. */
int usdt_unload(struct usdt_loaded *obj, char *err);

/* 1 if obj's descriptor still refers to the object we loaded (and, for
 * the file strategy, the file still has a name), 0 if the program closed
 * or replaced it (close-all-fds, dup2 over it), the file was removed, or
 * the object is hidden. An object that is not intact is invisible to
 * bcc/bpftrace -p (they find memfd objects through the descriptor) and,
 * if the number was reused, gdb reads whatever now has that number:
 * the caller should rebuild it. Reads only; no lock needed. */
int usdt_loaded_intact(const struct usdt_loaded *obj);

/* How many times a new descriptor came back with the number of a visible
 * object's descriptor, i.e. the program closed one of ours (close-all-fds
 * in a daemon, then a new object): the caller should then look for objects
 * that are not intact. A counter; only its changes matter. */
unsigned long usdt_loader_lost(void);

/* Make obj invisible to tracers while it stays mapped (it is unmapped
 * later by usdt_unload, after a grace period): its link-map name becomes
 * "" (gdb skips such entries, so it never opens whatever gets the
 * descriptor number next), its descriptor is closed if it is still ours,
 * its file removed if this process created it. Idempotent. Returns 0, or
 * -1 with a message (the object is hidden all the same). */
int usdt_loader_hide(struct usdt_loaded *obj, char *err);

#endif
