/*
 * loader.c — load a runtime ELF object so that every tracer can find it,
 * and only ours: never another object, never another user's code. This
 * file has the strategy list, the bookkeeping every strategy shares (the
 * list of loaded objects, descriptor numbers and identities, hiding,
 * fork) and the memfd and file strategies; loader_map.c has the map
 * strategy, the default.
 *
 * Measured on Linux 6.18 with bpftrace 0.17, bcc 0.26, gdb 13 and perf 6.1
 * (../shared/docs/linux-usdt.md has the matrix), what decides visibility
 * is the name under which the object is mapped and whether that name can
 * be opened by another process:
 *
 *   map (default)    the same sealed memfd (below), mapped by us with two
 *                    mmap()s instead of dlopen, and shown to GDB through
 *                    its JIT interface: loader_map.c says why and what
 *                    changes for users.
 *   memfd            memfd_create + write + seal, then
 *                    dlopen("/proc/<pid>/fd/<N>") with the fd kept open.
 *                    bcc/bpftrace map the "/memfd:..." mapping back to
 *                    /proc/PID/fd/N by inode; gdb opens the link-map name,
 *                    which must name our pid (with /proc/self gdb would
 *                    open its own fd N and hang). Nothing is ever on disk,
 *                    so nothing is left after SIGKILL. Only `perf probe -x`
 *                    cannot use it (it realpath()s the name); `perf record`
 *                    on a tracefs uprobe event works.
 *   file             a file in $LIBUSDT_DIR, else $XDG_RUNTIME_DIR then
 *                    /dev/shm, named libusdt-<pid>-<provider>-<random>.so,
 *                    created O_EXCL|O_NOFOLLOW and loaded THROUGH OUR
 *                    DESCRIPTOR (/proc/<pid>/fd/N, never by path: another
 *                    user who renames a file over the path cannot get
 *                    their code loaded). Its link-map name is the file's
 *                    path, so gdb and perf probe show and use it. The
 *                    process that created the file removes it at unload
 *                    (not a forked child); a SIGKILL leaves it, and the
 *                    next process to use this strategy removes it (its
 *                    pid is dead). Used when memfd is not available
 *                    (seccomp, kernels < 3.17) or when asked for.
 *
 * Directories for the file strategy (OpenSSH StrictModes-style), checked
 * on the descriptor we then create the file through: not a symbolic link,
 * owned by us or root, and not group/world-writable unless sticky (/tmp,
 * /dev/shm). A refused LIBUSDT_DIR fails the strategy with the directory
 * and the reason; a refused XDG_RUNTIME_DIR falls through to /dev/shm.
 * Names carry NAME_RANDOM_CHARS random characters (getrandom), so a user
 * who plants symlinks under predictable names cannot stop an enable; a
 * collision is retried (CREATE_TRIES). The stale-file sweep removes only
 * regular files owned by us whose pid is dead.
 *
 * One name, one object (memfd and file: the strategies that dlopen). glibc's dlopen returns an already-loaded object
 * whose name or alias equals the name given, without opening anything. A
 * descriptor number is reused as soon as it is closed (the program closed
 * all fds; an object was hidden), so /proc/<pid>/fd/N may be the name of
 * an object still loaded: before dlopen we check the name (our list, the
 * link map, dlopen RTLD_NOLOAD) and move our descriptor to a free number
 * if taken; after dlopen we check that the object has the build-id of the
 * image we wrote. We remember what our descriptor referred to (st_dev,
 * st_ino) and close it only while it still does, so we never close the
 * program's descriptor that took the number.
 *
 * Link-map names. After dlopen, l_name points at obj->path, a buffer we
 * own (the original pointer is restored before dlclose, which frees it).
 * That lets us rename objects: after fork() the child renames every
 * object to /proc/<child>/fd/N (the inherited name designated the
 * parent's descriptor, which the parent may reuse for another object), and
 * usdt_loader_hide() sets "" (gdb skips empty names), closes our
 * descriptor and removes our file, so that an object waiting for its grace
 * period is invisible and its number can be reused.
 *
 * The memfd is created with MFD_NOEXEC_SEAL where the kernel knows it
 * (6.3+): with vm.memfd_noexec=2 MFD_EXEC is refused, but mapping with
 * PROT_EXEC is not an execve and still works. It is sealed (no write, grow
 * or shrink, no further seals) before any code in it can run, so nobody
 * can change the code after the fact. The dlopen strategies map it only
 * once it is sealed; the map strategy maps the still-empty memfd first
 * (that is how it learns the address to link the image at, loader_map.c),
 * but publishes no probe site before the seal, and a private mapping
 * whose pages were never written shows the file's pages as they are when
 * touched: sealed ones. Both map it MAP_PRIVATE; the kernel's uprobe and
 * reference-counter writes go to private copies.
 *
 * LIBUSDT_LOADER (read with secure_getenv) is a comma-separated list of
 * strategies to try in order: "map", "memfd", "file". Default
 * "map,memfd,file".
 * Longer than LOADER_ENV_MAX bytes is refused; bytes from it (and from
 * directory names) are echoed in messages with control and non-ASCII
 * bytes as \xNN.
 *
 * Locking: usdt.c calls usdt_load, usdt_unload and usdt_loader_hide with
 * its process-wide groups lock held, and fork.c holds that lock across
 * fork() and while usdt_loader_fork_child runs, so the list of loaded
 * objects below needs no lock of its own.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "fork.h"
#include "linux/loader.h"
#include "linux/loader_internal.h"
#include "usdt_internal.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif

#define FILE_PREFIX "libusdt-"
#define FILE_SUFFIX ".so"
#define DEFAULT_STRATEGIES "map,memfd,file"
#define LOADER_ENV_MAX 63        /* longest LIBUSDT_LOADER value accepted */
#define NAME_RANDOM_CHARS 12     /* random characters in an object file name */
#define CREATE_TRIES 16          /* O_EXCL attempts with fresh names */
#define FD_MOVES_MAX 64          /* renumberings of our fd to escape a taken name */
#define ESCAPED_MAX 160          /* room for an escaped string in a message */
#define MEMFD_NAME_MAX 96        /* "libusdt:<provider>", cut to fit */

/* Every object loaded and not yet unloaded (hidden ones included). */
static struct usdt_loaded *loaded_list;

static const char hidden_name[] = "";

static size_t loaded_count;

/* getpid() is a system call: the pid is kept here, set again in a forked
 * child by usdt_loader_fork_child() (fork.c runs it in every child). */
static pid_t cached_pid;

pid_t usdt_loader_pid(void)
{
	pid_t p = __atomic_load_n(&cached_pid, __ATOMIC_RELAXED);
	if (p == 0) {
		p = getpid();
		__atomic_store_n(&cached_pid, p, __ATOMIC_RELAXED);
	}
	return p;
}

/*
 * Descriptor numbers held by loaded objects, indexed by number, so that
 * choosing a name for a new object costs the same with 10 000 providers
 * loaded as with one: name_refs[n] counts the objects whose dlopen or
 * link-map name is /proc/<pid>/fd/n (they keep it until unloaded, hidden
 * or not), open_refs[n] those whose descriptor n is open now. Grown on
 * demand; on allocation failure `fd_index_ok` drops to 0 and the list is
 * walked instead.
 */
static uint32_t *name_refs, *open_refs;
static size_t fd_index_cap;
static int fd_index_ok = 1;

static int fd_index_reserve(int n)
{
	if (n < 0 || !fd_index_ok)
		return 0;
	if ((size_t)n < fd_index_cap)
		return 1;
	size_t cap = fd_index_cap ? fd_index_cap : 64;
	while (cap <= (size_t)n)
		cap *= 2;
	uint32_t *a = realloc(name_refs, cap * sizeof *a);
	if (a != NULL)
		name_refs = a;
	uint32_t *b = a != NULL ? realloc(open_refs, cap * sizeof *b) : NULL;
	if (b != NULL)
		open_refs = b;
	if (a == NULL || b == NULL) {
		fd_index_ok = 0;
		return 0;
	}
	memset(name_refs + fd_index_cap, 0, (cap - fd_index_cap) * sizeof *name_refs);
	memset(open_refs + fd_index_cap, 0, (cap - fd_index_cap) * sizeof *open_refs);
	fd_index_cap = cap;
	return 1;
}

static void fd_index_names(const struct usdt_loaded *o, int d)
{
	if (fd_index_reserve(o->opened_fd))
		name_refs[o->opened_fd] += (uint32_t)d;
	if (o->path_fd != o->opened_fd && fd_index_reserve(o->path_fd))
		name_refs[o->path_fd] += (uint32_t)d;
}

/* Count (d = 1) or uncount (d = -1) o's open descriptor, once. */
static void fd_index_open(struct usdt_loaded *o, int d)
{
	if (d > 0 && !o->fd_counted && o->fd >= 0 && fd_index_reserve(o->fd)) {
		open_refs[o->fd]++;
		o->fd_counted = 1;
	} else if (d < 0 && o->fd_counted) {
		open_refs[o->fd]--;
		o->fd_counted = 0;
	}
}

static void list_add(struct usdt_loaded *obj)
{
	fd_index_names(obj, 1);
	fd_index_open(obj, 1);
	obj->listed = 1;
	loaded_count++;
	obj->prev = NULL;
	obj->next = loaded_list;
	if (loaded_list != NULL)
		loaded_list->prev = obj;
	loaded_list = obj;
}

/* O(1): `listed` says whether obj is in the list (unloading must not cost
 * more with every provider loaded). */
static void list_remove(struct usdt_loaded *obj)
{
	if (obj->listed) {
		loaded_count--;
		fd_index_names(obj, -1);
		fd_index_open(obj, -1);
		obj->listed = 0;
		if (obj->prev != NULL)
			obj->prev->next = obj->next;
		else
			loaded_list = obj->next;
		if (obj->next != NULL)
			obj->next->prev = obj->prev;
	}
	obj->next = obj->prev = NULL;
}

/* `s` for a message: control bytes, DEL, non-ASCII and '\' as \xNN; cut
 * with "..." if it does not fit. */
static const char *esc(const char *s, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		int plain = c >= 0x20 && c < 0x7f && c != '\\';
		size_t need = plain ? 1 : 4;
		if (o + need + 4 > size) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		if (plain) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int pwrite_all(int fd, const uint8_t *buf, size_t len, size_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		off += (size_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The padding between the object's two segments, in whole pages: [*lo,
 * *hi). elf_image.c starts the writable segment at USDT_ARCH_PAGE_SIZE
 * alignment, 64 KiB on aarch64 (the largest page size an arm64 kernel
 * may use), so a small provider's object is mostly zeros there. Written,
 * those zeros would take shmem pages for every provider; left as a hole
 * in the memfd (ftruncate, then the two parts), they read as zeros and
 * take nothing. 1 if there is at least a page of it; 0 (write the image
 * in one piece) otherwise, as on x86, where the gap is under a page.
 */
static int zero_gap(const uint8_t *image, size_t size, size_t *lo, size_t *hi)
{
	USDT_ELF(Ehdr) eh;
	if (size < sizeof eh)
		return 0;
	memcpy(&eh, image, sizeof eh);
	if (eh.e_phentsize != sizeof(USDT_ELF(Phdr)) || eh.e_shentsize != sizeof(USDT_ELF(Shdr)) ||
	    eh.e_phoff > size || (size - eh.e_phoff) / sizeof(USDT_ELF(Phdr)) < eh.e_phnum ||
	    eh.e_shoff > size || (size - eh.e_shoff) / sizeof(USDT_ELF(Shdr)) < eh.e_shnum)
		return 0;
	size_t second = 0, loads = 0;        /* the second PT_LOAD's offset */
	for (size_t i = 0; i < eh.e_phnum && loads < 2; i++) {
		USDT_ELF(Phdr) ph;
		memcpy(&ph, image + eh.e_phoff + i * sizeof ph, sizeof ph);
		if (ph.p_type == PT_LOAD && ++loads == 2)
			second = (size_t)ph.p_offset;
	}
	size_t end = (size_t)eh.e_phoff + eh.e_phnum * sizeof(USDT_ELF(Phdr));
	for (size_t i = 1; i < eh.e_shnum; i++) {     /* what lies before it */
		USDT_ELF(Shdr) sh;
		memcpy(&sh, image + eh.e_shoff + i * sizeof sh, sizeof sh);
		if (sh.sh_type != SHT_NOBITS && sh.sh_offset < second && sh.sh_offset + sh.sh_size > end)
			end = (size_t)(sh.sh_offset + sh.sh_size);
	}
	size_t page = (size_t)getpagesize();
	*lo = (end + page - 1) & ~(page - 1);
	*hi = second & ~(page - 1);
	return loads == 2 && second <= size && eh.e_shoff >= second && *hi > *lo && *hi - *lo >= page;
}

/* Decimal digits of v at p (no terminator); returns the count.
 * Async-signal-safe (used in the fork child). */
static size_t put_ulong(char *p, unsigned long v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* "/proc/<pid>/fd/<fd>" into buf (USDT_LOAD_PATH_MAX). Async-signal-safe. */
void usdt_loader_proc_fd_name(char *buf, long pid, int fd)
{
	static const char a[] = "/proc/", b[] = "/fd/";
	size_t o = 0;
	memcpy(buf, a, sizeof a - 1);
	o += sizeof a - 1;
	o += put_ulong(buf + o, (unsigned long)pid);
	memcpy(buf + o, b, sizeof b - 1);
	o += sizeof b - 1;
	o += put_ulong(buf + o, (unsigned long)fd);
	buf[o] = '\0';
}

/* ---- build-id: is the object dlopen returned the one we wrote? ---- */

/* The NT_GNU_BUILD_ID descriptor among the notes in [p, p+len). */
static const uint8_t *find_build_id_note(const uint8_t *p, size_t len, size_t *idlen)
{
	while (len >= sizeof(USDT_ELF(Nhdr))) {
		USDT_ELF(Nhdr) nh;
		memcpy(&nh, p, sizeof nh);
		size_t namesz = ((size_t)nh.n_namesz + 3) & ~(size_t)3;
		size_t descsz = ((size_t)nh.n_descsz + 3) & ~(size_t)3;
		if (namesz > len - sizeof nh || descsz > len - sizeof nh - namesz)
			return NULL;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(p + sizeof nh, "GNU", 4) == 0) {
			*idlen = nh.n_descsz;
			return p + sizeof nh + namesz;
		}
		p += sizeof nh + namesz + descsz;
		len -= sizeof nh + namesz + descsz;
	}
	return NULL;
}

/* The build-id of an image (of the architecture's ELF class, arch.h) in
 * memory (our own image: bounds-checked
 * all the same), or NULL. */
static const uint8_t *image_build_id(const uint8_t *image, size_t size, size_t *idlen)
{
	USDT_ELF(Ehdr) eh;
	if (size < sizeof eh)
		return NULL;
	memcpy(&eh, image, sizeof eh);
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != USDT_ARCH_ELF_CLASS ||
	    eh.e_phentsize != sizeof(USDT_ELF(Phdr)) || eh.e_phoff > size ||
	    (size - eh.e_phoff) / sizeof(USDT_ELF(Phdr)) < eh.e_phnum)
		return NULL;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		USDT_ELF(Phdr) ph;
		memcpy(&ph, image + eh.e_phoff + i * sizeof ph, sizeof ph);
		if (ph.p_type != PT_NOTE || ph.p_offset > size || ph.p_filesz > size - ph.p_offset)
			continue;
		const uint8_t *id = find_build_id_note(image + ph.p_offset, ph.p_filesz, idlen);
		if (id != NULL)
			return id;
	}
	return NULL;
}

struct id_check {
	const struct link_map *lm;
	const uint8_t *id;
	size_t idlen;
	int same;
};

/* dl_iterate_phdr callback: compare the build-id of lm's object (read
 * only from notes inside its loaded segments) with the expected one. */
/* Does the object loaded at `addr` with these program headers carry the
 * build-id c->id? Sets c->same. */
static void check_id_phdrs(struct id_check *c, uintptr_t addr, const ElfW(Phdr) *phdr, size_t phnum)
{
	for (size_t i = 0; i < phnum; i++) {
		const ElfW(Phdr) *n = &phdr[i];
		if (n->p_type != PT_NOTE)
			continue;
		int mapped = 0;
		for (size_t j = 0; j < phnum; j++) {
			const ElfW(Phdr) *l = &phdr[j];
			if (l->p_type == PT_LOAD && n->p_vaddr >= l->p_vaddr && n->p_memsz <= l->p_filesz &&
			    n->p_vaddr - l->p_vaddr <= l->p_filesz - n->p_memsz)
				mapped = 1;
		}
		if (!mapped)
			continue;
		size_t idlen;
		const uint8_t *id = find_build_id_note((const uint8_t *)(addr + n->p_vaddr), n->p_memsz, &idlen);
		if (id != NULL) {
			c->same = idlen == c->idlen && memcmp(id, c->id, idlen) == 0;
			return;
		}
	}
}

static int check_id_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct id_check *c = arg;
	(void)size;
	if (info->dlpi_addr != c->lm->l_addr || info->dlpi_name != c->lm->l_name)
		return 0;
	check_id_phdrs(c, info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum);
	return 1;
}

/* The object dlopen returned (lm): is it the image we wrote? One lookup
 * with RTLD_DI_PHDR (glibc 2.36+); else a walk over every loaded object,
 * which makes each enable cost O(loaded objects). */
static int is_our_object(void *handle, struct link_map *lm, struct id_check *c)
{
	c->same = 0;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 36))
	const ElfW(Phdr) *phdr = NULL;
	int phnum = dlinfo(handle, RTLD_DI_PHDR, &phdr);
	if (phnum > 0 && phdr != NULL) {
		check_id_phdrs(c, (uintptr_t)lm->l_addr, phdr, (size_t)phnum);
		return c->same;
	}
	(void)dlerror();
#else
	(void)handle;
	(void)lm;
#endif
	dl_iterate_phdr(check_id_cb, c);
	return c->same;
}


/* ---- names: never let dlopen match an object already loaded ---- */

/* N if name is "/proc/<pid>/fd/N", else -1. */
static int proc_fd_number(const char *name, long pid)
{
	char prefix[USDT_LOAD_PATH_MAX];
	usdt_loader_proc_fd_name(prefix, pid, 0);
	size_t len = strlen(prefix) - 1;          /* "/proc/<pid>/fd/" */
	if (strncmp(name, prefix, len) != 0 || name[len] < '0' || name[len] > '9')
		return -1;
	char *end;
	long n = strtol(name + len, &end, 10);
	return *end == '\0' && n <= 0x7fffffff ? (int)n : -1;
}

/* Is descriptor number `fd` in a name (dlopen name or link-map name) of
 * one of this loader's objects? Numbers, not strings: one pass of integer
 * compares, so that an enable does not cost more with every provider. */
static int held(int fd, const struct usdt_loaded *self)
{
	if (fd_index_ok && !self->listed)
		return fd >= 0 && (size_t)fd < fd_index_cap && name_refs[fd] != 0;
	for (const struct usdt_loaded *o = loaded_list; o != NULL; o = o->next)
		if (o != self && (o->opened_fd == fd || o->path_fd == fd))
			return 1;
	return 0;
}

/* Times a new descriptor came back with the number of a visible object's
 * descriptor (see loader.h); counted in pick_fd_name. */
static unsigned long lost_descriptors;

unsigned long usdt_loader_lost(void)
{
	return lost_descriptors;
}

/* We hold every descriptor of a visible object open: if the kernel just
 * gave us one of their numbers for a new one, the program closed it. */
void usdt_loader_count_lost(int fd, const struct usdt_loaded *out)
{
	if (fd_index_ok && !out->listed) {
		if ((size_t)fd < fd_index_cap && open_refs[fd] != 0)
			lost_descriptors++;
	} else {
		for (const struct usdt_loaded *o = loaded_list; o != NULL; o = o->next)
			if (!o->hidden && o != out && o->fd == fd)
				lost_descriptors++;
	}
}

/*
 * Give *fd the lowest number >= its own whose /proc/<pid>/fd name no
 * loaded object answers to, and put that name in out->opened. Returns 0,
 * or -1 with a message.
 *
 * Hidden objects waiting to be unloaded keep the names they were opened
 * under, and the kernel hands their closed numbers out again, lowest
 * first; each number this loader holds can cost one move, so the walk is
 * bounded by their count plus FD_MOVES_MAX for names held by others
 * (another copy of the library: rare). Taking the lowest usable number,
 * rather than one above every name held, keeps descriptor numbers from
 * creeping up while hidden objects come and go.
 */
static int pick_fd_name(int *fd, struct usdt_loaded *out, char *err)
{
	usdt_loader_count_lost(*fd, out);
	long pid = (long)usdt_loader_pid();
	int rc = 0;
	size_t moves = 0;
	for (;;) {
		usdt_loader_proc_fd_name(out->opened, pid, *fd);
		out->opened_fd = *fd;
		if (!held(*fd, out))
			break;
		if (moves++ == FD_MOVES_MAX + loaded_count) {
			rc = usdt_errf(err, "%s and %zu more descriptor names are taken by loaded objects", out->opened,
			               moves - 1);
			break;
		}
		int nfd = fcntl(*fd, F_DUPFD_CLOEXEC, *fd + 1);
		if (nfd < 0) {
			rc = usdt_errf(err, "fcntl(F_DUPFD_CLOEXEC): %s", strerror(errno));
			break;
		}
		close(*fd);
		*fd = nfd;
	}
	return rc;
}

/*
 * dlopen our descriptor *fd (by its /proc/<pid>/fd name) and make sure the
 * object we got is the image we wrote. `name` is the link-map name to
 * give it (NULL: the /proc name). On success out->handle, lm, base,
 * opened, path, orig_name are set and *fd may have a new number.
 */
static int open_ours(const uint8_t *image, size_t size, int *fd, const char *name, struct usdt_loaded *out, char *err)
{
	size_t idlen = 0;
	const uint8_t *id = image_build_id(image, size, &idlen);
	if (id == NULL)
		return usdt_errf(err, "the image has no build-id");
	for (int attempt = 0; attempt <= FD_MOVES_MAX; attempt++) {
		if (pick_fd_name(fd, out, err) != 0)
			return -1;
		out->handle = dlopen(out->opened, RTLD_NOW | RTLD_LOCAL);
		if (out->handle == NULL) {
			const char *e = dlerror();
			return usdt_errf(err, "dlopen(%s): %s", out->opened, e ? e : "unknown error");
		}
		struct link_map *lm = NULL;
		if (dlinfo(out->handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL) {
			const char *e = dlerror();
			usdt_errf(err, "dlinfo(%s): %s", out->opened, e ? e : "no link map");
			dlclose(out->handle);
			out->handle = NULL;
			return -1;
		}
		struct id_check c = { .lm = lm, .id = id, .idlen = idlen, .same = 0 };
		if (is_our_object(out->handle, lm, &c)) {
			out->lm = lm;
			out->base = (uintptr_t)lm->l_addr;
			out->orig_name = lm->l_name;
			const char *src = name != NULL ? name : out->opened;
			size_t len = strnlen(src, sizeof out->path - 1);
			memcpy(out->path, src, len);
			out->path[len] = '\0';
			out->path_fd = proc_fd_number(out->path, (long)usdt_loader_pid());
			lm->l_name = out->path;
			return 0;
		}
		/* another object answered to this name: drop the reference
		 * dlopen took on it and move to another number */
		dlclose(out->handle);
		out->handle = NULL;
		int nfd = fcntl(*fd, F_DUPFD_CLOEXEC, *fd + 1);
		if (nfd < 0)
			return usdt_errf(err, "fcntl(F_DUPFD_CLOEXEC): %s", strerror(errno));
		close(*fd);
		*fd = nfd;
	}
	return usdt_errf(err, "dlopen kept returning another object for our descriptor");
}

/* Remember what the descriptor refers to. */
int usdt_loader_note_identity(struct usdt_loaded *out, char *err)
{
	struct stat st;
	if (fstat(out->fd, &st) != 0)
		return usdt_errf(err, "fstat: %s", strerror(errno));
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return 0;
}

static int fd_is_ours(const struct usdt_loaded *obj, struct stat *st)
{
	return obj->fd >= 0 && fstat(obj->fd, st) == 0 && st->st_dev == obj->dev && st->st_ino == obj->ino;
}

/* Close our descriptor if it is still ours; forget it either way. */
static void release_fd(struct usdt_loaded *obj)
{
	struct stat st;
	fd_index_open(obj, -1);
	if (fd_is_ours(obj, &st))
		close(obj->fd);
	obj->fd = -1;
}

/* Remove our file: only in the process that created it, and only while
 * its name still designates our inode. */
static void release_file(struct usdt_loaded *obj)
{
	struct stat st;
	if (obj->file[0] != '\0' && obj->creator == usdt_loader_pid() && lstat(obj->file, &st) == 0 &&
	    S_ISREG(st.st_mode) && st.st_dev == obj->dev && st.st_ino == obj->ino)
		unlink(obj->file);
	obj->file[0] = '\0';
}

int usdt_memfd_create(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
	if (fd < 0 && errno == EINVAL)      /* kernel < 6.3: no MFD_NOEXEC_SEAL */
		fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return fd;
}

int usdt_memfd_seal(int fd)
{
	return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
}

int usdt_loader_memfd(const char *tag)
{
	static const char prefix[] = "libusdt:";
	char name[MEMFD_NAME_MAX];
	size_t taglen = strnlen(tag, sizeof name - sizeof prefix);    /* cut like snprintf, without it */
	memcpy(name, prefix, sizeof prefix - 1);
	memcpy(name + sizeof prefix - 1, tag, taglen);
	name[sizeof prefix - 1 + taglen] = '\0';
	return usdt_memfd_create(name);
}

/* A sealed memfd holding `image`, named "libusdt:<tag>" (what
 * /proc/PID/maps shows): the descriptor, or -1 with a message. */
static int sealed_memfd(const uint8_t *image, size_t size, const char *tag, char *err)
{
	int fd = usdt_loader_memfd(tag);
	if (fd < 0)
		return usdt_errf(err, "memfd_create: %s", strerror(errno));
	if (usdt_loader_fill_memfd(fd, image, size, err) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int usdt_loader_fill_memfd(int fd, const uint8_t *image, size_t size, char *err)
{
	size_t lo, hi;
	int rc;
	if (zero_gap(image, size, &lo, &hi))       /* aarch64: leave the gap a hole */
		rc = ftruncate(fd, (off_t)size) != 0 || pwrite_all(fd, image, lo, 0) != 0 ||
		     pwrite_all(fd, image + hi, size - hi, hi) != 0 ? -1 : 0;
	else
		rc = write_all(fd, image, size);
	if (rc != 0)
		return usdt_errf(err, "write to memfd: %s", strerror(errno));
	if (usdt_memfd_seal(fd) != 0)
		return usdt_errf(err, "sealing the memfd: %s", strerror(errno));
	return 0;
}

static int load_memfd(const uint8_t *image, size_t size, const char *tag, struct usdt_loaded *out, char *err)
{
	int fd = sealed_memfd(image, size, tag, err);
	if (fd < 0)
		return -1;
	out->fd = fd;
	out->file[0] = '\0';
	if (usdt_loader_note_identity(out, err) != 0)
		goto fail;
	if (open_ours(image, size, &fd, NULL, out, err) == 0) {
		out->fd = fd;
		return 0;
	}
fail:
	close(fd);
	out->fd = -1;
	return -1;
}

/* Random name characters: getrandom, else /dev/urandom, else a mix of
 * the clock and a counter (still O_EXCL: only predictable, not unsafe). */
static void random_chars(char *out, size_t n)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static unsigned long counter;
	unsigned char r[NAME_RANDOM_CHARS];
	ssize_t got = getrandom(r, n, GRND_NONBLOCK);
	if (got != (ssize_t)n) {
		int u = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		got = u >= 0 ? read(u, r, n) : -1;
		if (u >= 0)
			close(u);
	}
	if (got != (ssize_t)n) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		unsigned long x = (unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 20) ^
		                  __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) * 0x9e3779b97f4a7c15ul;
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			r[i] = (unsigned char)x;
		}
	}
	for (size_t i = 0; i < n; i++)
		out[i] = set[r[i] % (sizeof set - 1)];
	out[n] = '\0';
}

/* Remove files left by processes that were killed before they could:
 * regular files owned by us, named after a dead pid. */
static void sweep_stale(int dirfd_)
{
	int dup_fd = fcntl(dirfd_, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (d == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		return;
	}
	uid_t me = geteuid();
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		long pid;
		struct stat st;
		if (strncmp(e->d_name, FILE_PREFIX, strlen(FILE_PREFIX)) != 0)
			continue;
		if (sscanf(e->d_name + strlen(FILE_PREFIX), "%ld-", &pid) != 1 || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (fstatat(dirfd_, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) || st.st_uid != me)
			continue;
		unlinkat(dirfd_, e->d_name, 0);
	}
	closedir(d);
}

/* Open `dir` for creating our file in it, if it is safe: not a symbolic
 * link, a directory, owned by us or root, not writable by others unless
 * sticky. Returns the descriptor, or -1 with the reason. */
static int open_checked_dir(const char *dir, char *err)
{
	char d[USDT_LOAD_PATH_MAX], e[ESCAPED_MAX];
	size_t len = strlen(dir);
	if (len >= sizeof d)
		return usdt_errf(err, "%s: path too long", esc(dir, e, sizeof e));
	memcpy(d, dir, len + 1);
	while (len > 1 && d[len - 1] == '/')     /* "link/" would follow the link */
		d[--len] = '\0';
	esc(d, e, sizeof e);
	struct stat lst, st;
	if (lstat(d, &lst) != 0)
		return usdt_errf(err, "%s: %s", e, strerror(errno));
	if (S_ISLNK(lst.st_mode))
		return usdt_errf(err, "%s: refused: is a symbolic link", e);
	if (!S_ISDIR(lst.st_mode))
		return usdt_errf(err, "%s: not a directory", e);
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return usdt_errf(err, "%s: %s", e, strerror(errno));
	if (fstat(fd, &st) != 0) {
		usdt_errf(err, "%s: %s", e, strerror(errno));
		goto fail;
	}
	if (st.st_dev != lst.st_dev || st.st_ino != lst.st_ino) {
		usdt_errf(err, "%s: refused: replaced while being checked", e);
		goto fail;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		usdt_errf(err, "%s: refused: owned by uid %lu, not by us (uid %lu) or root", e, (unsigned long)st.st_uid,
		          (unsigned long)geteuid());
		goto fail;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		usdt_errf(err, "%s: refused: %s-writable (mode %04o) without the sticky bit", e,
		          (st.st_mode & S_IWOTH) ? "world" : "group", (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int load_file_in(const char *dir, const uint8_t *image, size_t size, const char *tag,
                        struct usdt_loaded *out, char *err)
{
	char e[ESCAPED_MAX], name[USDT_LOAD_PATH_MAX], rnd[NAME_RANDOM_CHARS + 1];
	int dfd = open_checked_dir(dir, err);
	if (dfd < 0)
		return -1;
	esc(dir, e, sizeof e);
	sweep_stale(dfd);
	int fd = -1;
	for (int tries = 0; fd < 0; tries++) {
		random_chars(rnd, NAME_RANDOM_CHARS);
		int n = snprintf(name, sizeof name, FILE_PREFIX "%ld-%s-%s" FILE_SUFFIX, (long)usdt_loader_pid(), tag, rnd);
		int m = snprintf(out->file, sizeof out->file, "%s/%s", dir, name);
		if (n < 0 || (size_t)n >= sizeof name || m < 0 || (size_t)m >= sizeof out->file) {
			usdt_errf(err, "%s: path too long", e);
			goto fail;
		}
		fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0500);
		if (fd < 0 && (errno != EEXIST || tries + 1 == CREATE_TRIES)) {
			usdt_errf(err, "open(%s/%s): %s%s", e, name, strerror(errno),
			          errno == EEXIST ? " (every name tried exists)" : "");
			goto fail;
		}
	}
	out->creator = usdt_loader_pid();
	out->fd = fd;
	if (write_all(fd, image, size) != 0) {
		usdt_errf(err, "write(%s/%s): %s", e, name, strerror(errno));
		goto fail;
	}
	if (usdt_loader_note_identity(out, err) != 0)
		goto fail;
	/* tracers see the path (perf probe -x needs a real one); an absolute
	 * path designates our file only (the directory was checked) */
	if (open_ours(image, size, &fd, out->file[0] == '/' ? out->file : NULL, out, err) != 0)
		goto fail;
	out->fd = fd;
	close(dfd);
	return 0;
fail:
	if (fd >= 0) {
		close(fd);
		unlinkat(dfd, name, 0);
	}
	close(dfd);
	out->file[0] = '\0';
	out->fd = -1;
	return -1;
}

static int load_file(const uint8_t *image, size_t size, const char *tag, struct usdt_loaded *out, char *err)
{
	const char *dirs[3];
	size_t ndirs = 0;
	const char *env = secure_getenv("LIBUSDT_DIR");
	if (env != NULL && env[0] != '\0')
		dirs[ndirs++] = env;
	else {
		env = secure_getenv("XDG_RUNTIME_DIR");
		if (env != NULL && env[0] != '\0')
			dirs[ndirs++] = env;
		dirs[ndirs++] = "/dev/shm";
	}
	size_t used = 0;
	char one[USDT_ERRMSG_MAX];
	err[0] = '\0';
	for (size_t i = 0; i < ndirs; i++) {
		if (load_file_in(dirs[i], image, size, tag, out, one) == 0)
			return 0;
		int w = snprintf(err + used, USDT_ERRMSG_MAX - used, "%s%s", used ? "; " : "", one);
		if (w > 0 && used + (size_t)w < USDT_ERRMSG_MAX)
			used += (size_t)w;
	}
	return -1;
}

/* The strategy list: LIBUSDT_LOADER, or the default. */
static const char *strategy_list(void)
{
	const char *list = secure_getenv("LIBUSDT_LOADER");
	return list == NULL || list[0] == '\0' ? DEFAULT_STRATEGIES : list;
}

/* Does the list name `what` as one of its comma-separated entries? */
static int lists(const char *list, const char *what)
{
	size_t n = strlen(what);
	for (const char *s = list; *s != '\0';) {
		size_t len = strcspn(s, ",");
		if (len == n && memcmp(s, what, n) == 0)
			return 1;
		s += len + (s[len] == ',');
	}
	return 0;
}

void usdt_loader_reserve(size_t bound, const char *tag, struct usdt_reservation *r)
{
	*r = (struct usdt_reservation){ .fd = -1 };
	if (bound == 0 || !lists(strategy_list(), "map"))
		return;
	usdt_loader_map_reserve(bound, tag, r);
}

void usdt_loader_release(struct usdt_reservation *r)
{
	if (r->addr != NULL)
		munmap(r->addr, r->len);
	if (r->fd >= 0)
		close(r->fd);
	*r = (struct usdt_reservation){ .fd = -1 };
}

static int load_listed(const uint8_t *image, size_t size, const char *tag, struct usdt_reservation *r,
                       struct usdt_loaded *out, char *err);

int usdt_load(const uint8_t *image, size_t size, const char *tag, struct usdt_reservation *r, struct usdt_loaded *out,
              char *err)
{
	int rc = load_listed(image, size, tag, r, out, err);
	usdt_loader_release(r);          /* what the map strategy did not take */
	return rc;
}

static int load_listed(const uint8_t *image, size_t size, const char *tag, struct usdt_reservation *r,
                       struct usdt_loaded *out, char *err)
{
	const char *list = strategy_list();
	char buf[LOADER_ENV_MAX + 1], one[USDT_ERRMSG_MAX], e[ESCAPED_MAX];
	size_t used = 0;
	memset(out, 0, sizeof *out);
	out->fd = -1;
	out->opened_fd = out->path_fd = -1;
	err[0] = '\0';
	size_t len = strlen(list);
	if (len > LOADER_ENV_MAX)
		return usdt_errf(err, "LIBUSDT_LOADER is too long (%zu bytes, at most %d): \"%s\"", len, LOADER_ENV_MAX,
		                 esc(list, e, sizeof e));
	memcpy(buf, list, len + 1);
	char *save = NULL;
	int tried = 0;
	for (char *s = strtok_r(buf, ",", &save); s != NULL; s = strtok_r(NULL, ",", &save)) {
		int rc;
		if (strcmp(s, "map") == 0) {
			rc = usdt_load_map(image, size, r, out, one);
			out->strategy = USDT_LOAD_MAP;
		} else if (strcmp(s, "memfd") == 0) {
			rc = load_memfd(image, size, tag, out, one);
			out->strategy = USDT_LOAD_MEMFD;
		} else if (strcmp(s, "file") == 0) {
			rc = load_file(image, size, tag, out, one);
			out->strategy = USDT_LOAD_FILE;
		} else {
			rc = usdt_errf(one, "unknown strategy in LIBUSDT_LOADER");
		}
		tried++;
		if (rc == 0) {
			list_add(out);
			return 0;
		}
		int w = snprintf(err + used, USDT_ERRMSG_MAX - used, "%s%s: %s", used ? "; " : "", esc(s, e, sizeof e), one);
		if (w > 0 && used + (size_t)w < USDT_ERRMSG_MAX)
			used += (size_t)w;
	}
	if (!tried)
		usdt_errf(err, "LIBUSDT_LOADER names no strategy");
	return -1;
}

int usdt_loaded_intact(const struct usdt_loaded *obj)
{
	struct stat st;
	if (obj->hidden || !fd_is_ours(obj, &st))
		return 0;
	return obj->strategy != USDT_LOAD_FILE || st.st_nlink > 0;
}

int usdt_loader_hide(struct usdt_loaded *obj, char *err)
{
	(void)err;
	if (obj->hidden)
		return 0;
	/* the name first: from now on gdb never opens the descriptor number */
	if (obj->lm != NULL)
		__atomic_store_n(&obj->lm->l_name, (char *)hidden_name, __ATOMIC_RELEASE);
	usdt_loader_map_hide(obj);
	obj->hidden = 1;
	release_fd(obj);
	release_file(obj);
	return 0;
}

int usdt_unload(struct usdt_loaded *obj, char *err)
{
	int rc = 0;
	list_remove(obj);
	if (obj->lm != NULL && obj->orig_name != NULL)
		__atomic_store_n(&obj->lm->l_name, obj->orig_name, __ATOMIC_RELEASE);
	obj->lm = NULL;
	obj->orig_name = NULL;
	if (obj->handle != NULL && dlclose(obj->handle) != 0) {
		const char *e = dlerror();
		rc = usdt_errf(err, "dlclose(%s): %s", obj->opened, e ? e : "unknown error");
	}
	obj->handle = NULL;
	if (usdt_loader_map_unload(obj, rc == 0 ? err : NULL) != 0)
		rc = -1;
	release_fd(obj);
	release_file(obj);
	return rc;
}

/* fork(): see fork.h. In the child, every visible object is renamed
 * /proc/<child>/fd/N: the inherited name designated the parent's
 * descriptor, which the parent may close and reuse for another object.
 * (For the map strategy the name is only what libusdt reports: GDB reads
 * the object from the child's memory, where fork() left it mapped at the
 * same address, through the JIT interface.)
 * Runs with the groups lock held (the list is stable); async-signal-safe:
 * it only rewrites the buffers l_name points at (an object whose
 * descriptor the program closed or replaced gets the name "", like a
 * hidden one: the number now designates something else). */
void usdt_loader_fork_child(void)
{
	long pid = (long)getpid();
	__atomic_store_n(&cached_pid, (pid_t)pid, __ATOMIC_RELAXED);
	struct stat st;
	for (struct usdt_loaded *o = loaded_list; o != NULL; o = o->next) {
		if (o->hidden || (o->lm == NULL && o->strategy != USDT_LOAD_MAP))
			continue;
		if (fd_is_ours(o, &st))          /* fstat: async-signal-safe */
			usdt_loader_proc_fd_name(o->path, pid, o->fd);
		else
			o->path[0] = '\0';       /* the program took the number */
	}
}
