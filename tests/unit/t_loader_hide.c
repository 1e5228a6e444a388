/*
 * t_loader_hide.c — the loader's own API for what the provider layer
 * needs around descriptors (issue 9, items 4 and "hide"):
 *
 *  - usdt_loaded_intact(): 1 after a load; 0 once the program dup2()s
 *    over our descriptor, and unload then leaves the program's descriptor
 *    open; 0 once the program removes our file (file strategy).
 *  - usdt_loader_hide(): the object stays mapped, its descriptor is
 *    closed, its link-map name is "" (gdb skips such entries), its file is
 *    removed. The next load gets the freed descriptor number, i.e. the
 *    name the hidden object was opened under: it must still get its own,
 *    distinct object (the collision the provider layer causes in normal
 *    operation by hiding before unloading). usdt_unload() then works on
 *    the hidden object and leaves the new one alone.
 *  - MANY_HIDDEN hidden objects at once (the provider layer defers their
 *    unload while a thread may be inside them): their closed numbers are
 *    handed out again lowest first, each a name still held; a load must
 *    walk past all of them, and once they are unloaded the next load gets
 *    the lowest number again.
 *  - the map strategy (no dlopen, GDB's JIT interface): a loaded object
 *    is on GDB's list as a copy whose addresses are the runtime ones, and
 *    in no link map; hide takes it off GDB's list and closes the
 *    descriptor while the object stays mapped; unload unmaps it; dup2()
 *    over its descriptor is seen as for memfd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/arch.h"
#include "check.h"
#include "gdb_jit_view.h"
#include "proc_count.h"
#include "linux/elf_image.h"
#include "linux/gdb_jit.h"
#include "linux/loader.h"
#include "usdt_internal.h"

#define MANY_HIDDEN 150

static uint8_t *image_for(const char *provider, int nprobes, size_t *size, struct usdt_reservation *r)
{
	static unsigned serial;
	struct usdt_elf_probe probes[8];
	uint8_t id[USDT_ELF_BUILD_ID_SIZE];
	char err[USDT_ERRMSG_MAX];
	for (int i = 0; i < nprobes && i < 8; i++) {
		probes[i].name = "p";
		probes[i].namelen = 1;
		probes[i].argspec = "-4@%edi";
		probes[i].speclen = strlen(probes[i].argspec);
	}
	memset(id, 0, sizeof id);
	snprintf((char *)id, sizeof id, "%d-%u", (int)getpid(), ++serial);
	struct usdt_elf_desc desc = { .provider = provider, .probes = probes, .nprobes = (size_t)nprobes,
	                              .build_id = id, .ro_dynamic = 0 };
	struct usdt_elf_layout layout;
	uint8_t *image = NULL;
	/* as backend_elf.c does: the image is linked where it will be mapped */
	if (usdt_elf_build(&desc, &image, &layout, err) != 0) {
		printf("# usdt_elf_build: %s\n", err);
		return NULL;
	}
	usdt_loader_reserve(layout.size, provider, r);
	if (r->base != 0) {
		free(image);
		desc.base = r->base;
		if (usdt_elf_build(&desc, &image, &layout, err) != 0) {
			printf("# usdt_elf_build: %s\n", err);
			usdt_loader_release(r);
			return NULL;
		}
	}
	*size = layout.size;
	return image;
}

static int load(const char *provider, struct usdt_loaded *obj)
{
	size_t size = 0;
	char err[USDT_ERRMSG_MAX];
	struct usdt_reservation r;
	uint8_t *image = image_for(provider, 1, &size, &r);
	int rc = image != NULL ? usdt_load(image, size, provider, &r, obj, err) : -1;
	if (rc != 0 && image != NULL)
		printf("# usdt_load(%s): %s\n", provider, err);
	free(image);
	return rc;
}

struct find { uintptr_t base; const char *name; int found; };
static int find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find *f = arg;
	(void)size;
	if (info->dlpi_addr == f->base) {
		f->name = info->dlpi_name;
		f->found = 1;
	}
	return 0;
}

/* The link-map name of the object at base, or NULL if none is there. */
static const char *lm_name(uintptr_t base)
{
	struct find f = { base, NULL, 0 };
	dl_iterate_phdr(find_cb, &f);
	return f.found ? f.name : NULL;
}

static int fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int fd_links(int fd, const char *needle)
{
	char path[64], target[256];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, target, sizeof target - 1);
	if (n <= 0)
		return 0;
	target[n] = '\0';
	return strstr(target, needle) != NULL;
}


/* The entry on GDB's list whose stapsdt probe lies in the object mapped
 * at base, or NULL; *site gets the probe's address as GDB computes it:
 * the note's pc moved by sh_addr(.stapsdt.base) - the note's base field.
 * The entry is the mapped object itself (symfile_addr == base), linked
 * at that address: its first PT_LOAD's p_vaddr is base. */
static const struct jit_code_entry *gdb_entry(uintptr_t base, uintptr_t *site)
{
	for (const struct jit_code_entry *e = __jit_debug_descriptor.first_entry; e != NULL; e = e->next_entry) {
		const ElfW(Ehdr) *eh = (const void *)e->symfile_addr;
		if ((uintptr_t)e->symfile_addr != base || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_phnum == 0)
			continue;
		const ElfW(Phdr) *ph = (const void *)(e->symfile_addr + eh->e_phoff);
		if (ph[0].p_type != PT_LOAD || ph[0].p_vaddr != base || ph[0].p_offset != 0)
			continue;
		const ElfW(Shdr) *sh = (const void *)(e->symfile_addr + eh->e_shoff);
		const char *names = e->symfile_addr + sh[eh->e_shstrndx].sh_offset;
		ElfW(Addr) base_vma = 0, pc = 0, note_base = 0;
		int found = 0;
		for (int i = 0; i < eh->e_shnum; i++) {
			if (strcmp(names + sh[i].sh_name, ".stapsdt.base") == 0)
				base_vma = sh[i].sh_addr;
			if (sh[i].sh_type != SHT_NOTE || sh[i].sh_size <= 3 * sizeof(ElfW(Addr)))
				continue;
			const char *n = e->symfile_addr + sh[i].sh_offset;
			const ElfW(Nhdr) *nh = (const void *)n;
			if (nh->n_type != 3 || nh->n_namesz != 8 || memcmp(n + sizeof *nh, "stapsdt", 8) != 0)
				continue;
			memcpy(&pc, n + sizeof *nh + 8, sizeof pc);
			memcpy(&note_base, n + sizeof *nh + 8 + sizeof pc, sizeof note_base);
			found = 1;
		}
		uintptr_t at = (uintptr_t)(pc + (base_vma - note_base));
		if (found && base_vma != 0 && at >= base && at - base < (1u << 20)) {
			*site = at;
			return e;
		}
	}
	return NULL;
}

int main(void)
{
	char err[USDT_ERRMSG_MAX];
	struct usdt_loaded *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* memfd: hide, then a load that gets the hidden object's number */
	setenv("LIBUSDT_LOADER", "memfd", 1);
	CHECK(load("hidea", a) == 0, "loaded A from descriptor %d as %s", a->fd, a->opened);
	CHECK(usdt_loaded_intact(a) == 1, "A is intact");
	const char *n = lm_name(a->base);
	CHECK(n != NULL && strcmp(n, a->opened) == 0, "A's link-map name is %s", n ? n : "(none)");
	int na = a->fd;
	CHECK(usdt_loader_hide(a, err) == 0, "hide A");
	CHECK(usdt_loaded_intact(a) == 0, "A is not intact once hidden");
	CHECK(!fd_open(na), "A's descriptor %d is closed", na);
	n = lm_name(a->base);
	CHECK(n != NULL && n[0] == '\0', "A is still in the link map, named \"%s\"", n ? n : "(none)");
	CHECK(count_maps_lines("memfd:libusdt:hidea") > 0, "A is still mapped");
	CHECK(usdt_loader_hide(a, err) == 0, "hiding twice is harmless");

	CHECK(load("hideb", b) == 0, "loaded B (descriptor %d, opened as %s)", b->fd, b->opened);
	CHECK(strcmp(b->opened, a->opened) != 0, "B was not opened under A's name %s", a->opened);
	CHECK(b->base != a->base && count_maps_lines("memfd:libusdt:hideb") > 0, "B is its own object, mapped");
	CHECK(fd_links(b->fd, "memfd:libusdt:hideb"), "B's descriptor is B's memfd");

	CHECK(usdt_unload(a, err) == 0, "unload the hidden A");
	CHECK(count_maps_lines("memfd:libusdt:hidea") == 0, "A is unmapped");
	CHECK(usdt_loaded_intact(b) == 1 && fd_links(b->fd, "memfd:libusdt:hideb"), "B is intact after A's unload");
	n = lm_name(b->base);
	CHECK(n != NULL && strcmp(n, b->path) == 0, "B's link-map name is %s", n ? n : "(none)");

	/* the program dup2()s over our descriptor */
	int nb = b->fd, devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	dup2(devnull, nb);
	close(devnull);
	CHECK(usdt_loaded_intact(b) == 0, "B is not intact once the program dup2()ed /dev/null over descriptor %d", nb);
	CHECK(usdt_unload(b, err) == 0, "unload B");
	CHECK(fd_links(nb, "/dev/null"), "the program's /dev/null at %d is still open after B's unload", nb);
	close(nb);
	CHECK(count_maps_lines("memfd:libusdt:hide") == 0, "nothing is mapped");

	/* many hidden objects */
	static struct usdt_loaded many[MANY_HIDDEN];
	int lowest = -1, loaded = 0;
	for (int i = 0; i < MANY_HIDDEN; i++) {
		if (load("hidemany", &many[i]) != 0)
			break;
		loaded++;
		if (lowest < 0 || many[i].fd < lowest)
			lowest = many[i].fd;
	}
	CHECK(loaded == MANY_HIDDEN, "%d objects loaded", loaded);
	for (int i = 0; i < loaded; i++)
		usdt_loader_hide(&many[i], err);
	memset(b, 0, sizeof *b);
	CHECK(load("hidenext", b) == 0, "with %d hidden objects, a load still works (descriptor %d)", loaded, b->fd);
	for (int i = 0; i < loaded; i++)
		usdt_unload(&many[i], err);
	usdt_unload(b, err);
	memset(b, 0, sizeof *b);
	CHECK(load("hidelow", b) == 0 && b->fd == lowest, "once they are unloaded, the next load gets descriptor %d (lowest %d)",
	      b->fd, lowest);
	usdt_unload(b, err);
	CHECK(count_maps_lines("memfd:libusdt:hide") == 0, "nothing is mapped");

	/* map strategy */
	setenv("LIBUSDT_LOADER", "map", 1);
	size_t listed = usdt_gdb_registered();
	memset(a, 0, sizeof *a);
	memset(b, 0, sizeof *b);
	CHECK(load("hidemapa", a) == 0 && a->strategy == USDT_LOAD_MAP, "map strategy: loaded A from descriptor %d", a->fd);
	uintptr_t amap = (uintptr_t)a->map;
	CHECK(a->base == 0 && amap != 0, "A is mapped where it was linked (load bias %#lx, at %#lx)",
	      (unsigned long)a->base, (unsigned long)amap);
	CHECK(lm_name(amap) == NULL, "A is in no link map");
	struct stat mst;
	CHECK(fstat(a->fd, &mst) == 0 && mst.st_blocks * 512 < 32768,
	      "A's memfd holds %lld bytes of a %lld-byte object (the padding between segments, 64 KiB on aarch64, "
	      "is a hole)", (long long)mst.st_blocks * 512, (long long)mst.st_size);
	CHECK(count_maps_lines("memfd:libusdt:hidemapa") == 2 && fd_links(a->fd, "memfd:libusdt:hidemapa"),
	      "A is mapped from its memfd (2 mappings) and its descriptor is open");
	uintptr_t site = 0;
	CHECK(usdt_gdb_registered() == listed + 1 && gdb_entry(amap, &site) != NULL,
	      "A is on GDB's JIT list (the mapped object itself), its probe at A's address");
	CHECK(site >= amap && site < amap + 4096 && usdt_arch_site_idle((const uint8_t *)site),
	      "the entry's stapsdt pc %#lx is A's probe site (A at %#lx)", (unsigned long)site, (unsigned long)amap);
	CHECK(usdt_loaded_intact(a) == 1, "A is intact");
	na = a->fd;
	CHECK(usdt_loader_hide(a, err) == 0 && !fd_open(na) && usdt_loaded_intact(a) == 0, "hide A: descriptor %d closed", na);
	CHECK(usdt_gdb_registered() == listed && gdb_entry(amap, &site) == NULL, "A is off GDB's list");
	CHECK(count_maps_lines("memfd:libusdt:hidemapa") == 2, "A is still mapped");
	CHECK(load("hidemapb", b) == 0 && b->map != a->map && gdb_entry((uintptr_t)b->map, &site) != NULL,
	      "B loads (descriptor %d) and is on GDB's list", b->fd);
	CHECK(usdt_unload(a, err) == 0 && count_maps_lines("memfd:libusdt:hidemapa") == 0, "unload of the hidden A unmaps it");
	nb = b->fd;
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	dup2(devnull, nb);
	close(devnull);
	CHECK(usdt_loaded_intact(b) == 0, "B is not intact once the program dup2()ed /dev/null over descriptor %d", nb);
	CHECK(usdt_unload(b, err) == 0 && fd_links(nb, "/dev/null"), "unload B leaves the program's /dev/null open");
	close(nb);
	CHECK(usdt_gdb_registered() == listed && count_maps_lines("memfd:libusdt:hidemap") == 0,
	      "nothing is mapped and nothing is on GDB's list");

	/* file strategy */
	char dir[] = "/tmp/usdt-hide.XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "directory %s", dir);
	setenv("LIBUSDT_LOADER", "file", 1);
	setenv("LIBUSDT_DIR", dir, 1);
	memset(a, 0, sizeof *a);
	memset(b, 0, sizeof *b);
	CHECK(load("hidec", a) == 0 && access(a->file, F_OK) == 0, "file strategy: loaded %s", a->file);
	n = lm_name(a->base);
	CHECK(n != NULL && strcmp(n, a->file) == 0, "its link-map name is the file: %s", n ? n : "(none)");
	CHECK(strncmp(a->opened, "/proc/", 6) == 0, "it was opened through our descriptor: %s", a->opened);
	CHECK(usdt_loaded_intact(a) == 1, "intact");
	char file[USDT_LOAD_PATH_MAX];
	snprintf(file, sizeof file, "%s", a->file);
	unlink(file);
	CHECK(usdt_loaded_intact(a) == 0, "not intact once the program removed the file");
	CHECK(usdt_unload(a, err) == 0, "unload");
	CHECK(load("hided", b) == 0, "loaded %s", b->file);
	snprintf(file, sizeof file, "%s", b->file);
	CHECK(usdt_loader_hide(b, err) == 0 && access(file, F_OK) != 0 && errno == ENOENT, "hide removed the file");
	CHECK(count_maps_lines("libusdt-") > 0, "and the object stays mapped");
	CHECK(usdt_unload(b, err) == 0 && count_maps_lines("libusdt-") == 0, "unload of the hidden object unmaps it");
	CHECK(count_dir_entries(dir, "libusdt-") == 0, "nothing left in %s", dir);
	rmdir(dir);
	free(a);
	free(b);
	return check_done();
}
