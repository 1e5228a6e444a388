/*
 * loader_map.c — the map strategy (loader.c's default): a provider's
 * object is mapped from its sealed memfd by libusdt itself, not by
 * dlopen, and shown to GDB through GDB's JIT interface (gdb_jit.c).
 *
 * Why: glibc's dlopen and dlclose walk every loaded object (name and
 * file-identity compares, the namespace list, a sort at close), so one
 * dlopen per provider made the 1 000th provider's enable cost 3-5 times
 * the first and the 10 000th about 100 times, and dlopen alone was 8 of a
 * 12 us enable (docs/performance.md). Our objects need nothing else from
 * a dynamic loader: no relocations, dependencies, TLS or constructors.
 * bcc, bpftrace and libbpf find the object exactly as they find a
 * dlopen()ed memfd: through /proc/PID/maps, mapping the "/memfd:..." name
 * back to /proc/PID/fd/N, which is why the descriptor stays open. GDB,
 * which reads only the dynamic loader's link map and its JIT list, gets a
 * JIT entry. What users see differently: GDB names the object
 * <in-memory@0x...>, and `info sharedlibrary`, dl_iterate_phdr() and
 * dladdr() do not list it (LIBUSDT_LOADER=memfd restores dlopen).
 *
 * Locking and fork: as loader.c (the groups lock is held by every caller;
 * a forked child keeps the mappings, the descriptor and GDB's entries,
 * all valid in it).
 */
#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/arch.h"
#include "linux/gdb_jit.h"
#include "linux/loader.h"
#include "linux/loader_internal.h"
#include "usdt_internal.h"

#define MAP_SEGMENTS_MAX 4       /* PT_LOADs mapped (elf_image.c writes 2) */

/*
 * ThreadSanitizer builds (make check-tsan) only. TSan takes an mmap() as a
 * write of the whole range by the thread that maps it. Threads that fire
 * probes read a site through a pointer that its address orders (reader.h:
 * no acquire on the site pointer in the fast path), and what keeps the
 * range mapped is a grace period made of membarrier(), which TSan does not
 * see; so every fire would be reported as racing with the enable that
 * mapped the object. The same mapping made by ld.so inside dlopen (the
 * memfd strategy) is a system call TSan never sees. Here too, in a TSan
 * build, the segments are mapped with the system call itself.
 */
#if defined(__SANITIZE_THREAD__)
#define USDT_UNSEEN_MMAP 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define USDT_UNSEEN_MMAP 1
#endif
#endif

#ifdef USDT_UNSEEN_MMAP
#include <sys/syscall.h>
static void *map_segment(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
#ifdef SYS_mmap2                /* 32-bit: the offset in 4096-byte units */
	long r = syscall(SYS_mmap2, addr, len, prot, flags, fd, (long)(off / 4096));
#else
	long r = syscall(SYS_mmap, addr, len, prot, flags, fd, (long)off);
#endif
	return r == -1 ? MAP_FAILED : (void *)r;
}
#else
#define map_segment mmap
#endif

/*
 * The range an object of at most `bound` bytes is mapped into, at an
 * address aligned to USDT_ARCH_PAGE_SIZE (the PT_LOADs' alignment). Where
 * that is the kernel's page (x86_64, i386), the range is the object's own
 * memfd, still empty, mapped R+X over all of it: the R+X PT_LOAD is then
 * in place already (a private mapping sees what is written into the file
 * later), and the reservation costs no system call of its own. Above the
 * kernel's page (aarch64: 64 KiB on a 4 KiB kernel) an address the kernel
 * picks may not be aligned: a little more PROT_NONE memory is taken, the
 * image is linked at the first aligned address in it, and map_segments()
 * maps both PT_LOADs over it.
 */
void usdt_loader_map_reserve(size_t bound, const char *tag, struct usdt_reservation *r)
{
	size_t page = (size_t)getpagesize();
	size_t align = USDT_ARCH_PAGE_SIZE > page ? USDT_ARCH_PAGE_SIZE : page;
	size_t len = ((bound + page - 1) & ~(page - 1)) + (align - page);
	int fd = usdt_loader_memfd(tag);
	if (fd < 0) {            /* r->base stays 0: the map strategy says why */
		r->failed = "memfd_create";
		r->failed_errno = errno;
		return;
	}
	void *m = align == page ? map_segment(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0)
	                        : map_segment(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		r->failed = "mmap";
		r->failed_errno = errno;
		close(fd);
		return;
	}
	r->fd = fd;
	r->addr = m;
	r->len = len;
	r->base = ((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1);
	r->rx_mapped = align == page;
}

/*
 * Map the PT_LOADs of `image` (already in fd) at the addresses the image
 * was linked for, inside the reservation: each over its part of it with
 * MAP_FIXED, then what is left of the reservation is given back. What
 * elf_image.c writes is checked: file-backed segments at base + their own
 * offsets, in order, nothing past the file or the reservation.
 */
static int map_segments(int fd, const uint8_t *image, size_t size, struct usdt_reservation *r,
                        struct usdt_loaded *out, char *err)
{
	USDT_ELF(Ehdr) eh;
	USDT_ELF(Phdr) ph[MAP_SEGMENTS_MAX];
	size_t nload = 0;
	uintptr_t base = r->base;        /* usdt_load_map checked the reservation */
	if (size < sizeof eh)
		return usdt_errf(err, "the image is too small");
	memcpy(&eh, image, sizeof eh);
	if (eh.e_phentsize != sizeof ph[0] || eh.e_phoff > size ||
	    (size - eh.e_phoff) / sizeof ph[0] < eh.e_phnum)
		return usdt_errf(err, "the image's program headers are out of bounds");
	uintptr_t page = (uintptr_t)getpagesize();
	uintptr_t end = (uintptr_t)r->addr + r->len;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		USDT_ELF(Phdr) p;
		memcpy(&p, image + eh.e_phoff + i * sizeof p, sizeof p);
		if (p.p_type != PT_LOAD)
			continue;
		if (nload == MAP_SEGMENTS_MAX || p.p_vaddr != base + p.p_offset || p.p_memsz != p.p_filesz ||
		    p.p_offset > size || p.p_filesz > size - p.p_offset || p.p_align < page ||
		    base + p.p_offset + p.p_filesz > end ||
		    (nload > 0 && p.p_offset < ph[nload - 1].p_offset + ph[nload - 1].p_filesz))
			return usdt_errf(err, "the image has a PT_LOAD the map strategy cannot map");
		ph[nload++] = p;
	}
	if (nload == 0 || ph[0].p_offset != 0)
		return usdt_errf(err, "the image has no PT_LOAD at offset 0");
	uintptr_t mapped_end = base;
	for (size_t i = 0; i < nload; i++) {
		int prot = ((ph[i].p_flags & PF_R) ? PROT_READ : 0) | ((ph[i].p_flags & PF_W) ? PROT_WRITE : 0) |
		           ((ph[i].p_flags & PF_X) ? PROT_EXEC : 0);
		uintptr_t start = (uintptr_t)ph[i].p_vaddr & ~(page - 1);
		uintptr_t stop = ((uintptr_t)(ph[i].p_vaddr + ph[i].p_memsz) + page - 1) & ~(page - 1);
		if (i == 0 && r->rx_mapped && ph[i].p_flags == (PF_R | PF_X)) {
			mapped_end = stop;       /* the reservation is this mapping */
			continue;
		}
		if (map_segment((void *)start, stop - start, prot, MAP_PRIVATE | MAP_FIXED, fd,
		                (off_t)(start - base)) == MAP_FAILED) {
			usdt_errf(err, "mmap of the object's segment %zu: %s", i, strerror(errno));
			if (mapped_end > base)   /* back to a reservation usdt_load gives back */
				map_segment((void *)base, mapped_end - base, PROT_NONE,
				            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
			return -1;
		}
		mapped_end = stop;
	}
	/* the rest of the reservation: its aligned head and its tail */
	if (base > (uintptr_t)r->addr)
		munmap(r->addr, base - (uintptr_t)r->addr);
	if (end > mapped_end)
		munmap((void *)mapped_end, end - mapped_end);
	r->addr = NULL;
	r->len = 0;
	out->map = (void *)base;
	out->map_len = mapped_end - base;
	out->base = 0;                   /* linked where it is mapped: no load bias */
	return 0;
}

int usdt_load_map(const uint8_t *image, size_t size, struct usdt_reservation *r, struct usdt_loaded *out,
                  char *err)
{
	if (r->failed != NULL)
		return usdt_errf(err, "%s: %s", r->failed, strerror(r->failed_errno));
	if (r->addr == NULL || r->base == 0 || r->fd < 0)
		return usdt_errf(err, "no address space was reserved for the object");
	if (usdt_loader_fill_memfd(r->fd, image, size, err) != 0)
		return -1;                       /* usdt_load() releases the reservation */
	int fd = r->fd;
	r->fd = -1;                              /* ours now */
	usdt_loader_count_lost(fd, out);
	out->fd = fd;
	out->file[0] = '\0';
	if (usdt_loader_note_identity(out, err) != 0 || map_segments(fd, image, size, r, out, err) != 0)
		goto fail;
	/* not a link-map name: the name bcc, bpftrace and libbpf open the
	 * object under, for libusdt:provider_enable and `usdt list` */
	usdt_loader_proc_fd_name(out->path, (long)usdt_loader_pid(), fd);
	/* GDB reads the object where it is mapped: the whole file is */
	out->gdb = usdt_gdb_register(out->map, size, err);
	if (out->gdb != NULL)
		return 0;
	munmap(out->map, out->map_len);
	out->map = NULL;
fail:
	close(fd);
	out->fd = -1;
	return -1;
}

void usdt_loader_map_hide(struct usdt_loaded *obj)
{
	usdt_gdb_unregister(obj->gdb);
	obj->gdb = NULL;
}

int usdt_loader_map_unload(struct usdt_loaded *obj, char *err)
{
	int rc = 0;
	usdt_loader_map_hide(obj);
	if (obj->map != NULL && munmap(obj->map, obj->map_len) != 0) {
		if (err != NULL)
			usdt_errf(err, "munmap of the object: %s", strerror(errno));
		rc = -1;
	}
	obj->map = NULL;
	return rc;
}
