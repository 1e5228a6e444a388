/*
 * gdb_jit.c — GDB's JIT interface, for the objects loader.c maps itself.
 *
 * Why. The "map" strategy (loader.c) maps a provider's object from its
 * memfd with two mmap calls instead of dlopen: an enable then costs what
 * the kernel costs, and the 10 000th provider costs what the first did,
 * where glibc's dlopen and dlclose walk every loaded object. bcc,
 * bpftrace, libbpf and raw uprobes find objects through /proc/PID/maps,
 * so they see a mapped object as they see a dlopen()ed one. GDB does not:
 * it learns of shared objects from the dynamic loader's link map, which
 * only dlopen can extend safely. GDB also reads a second list, meant for
 * JIT compilers (GDB manual, "JIT Compilation Interface"), and that list
 * is ours to write:
 *
 *   - two symbols, found by name in any object GDB loads: the function
 *     __jit_debug_register_code, on which GDB keeps a breakpoint, and the
 *     descriptor __jit_debug_descriptor (version 1, an action, the entry
 *     the action is about, the first entry of a doubly linked list);
 *   - each entry points at an ELF object in the inferior's memory, which
 *     GDB reads as it would a file, with no relocation: every address in
 *     it must be the runtime address. GDB reads the stapsdt notes from it
 *     (`info probes`, `break -probe-stap`, $_probe_argN, and it sets the
 *     semaphore while a probe breakpoint is inserted);
 *   - to add or remove an entry, the program links or unlinks it, stores
 *     the action and the entry in the descriptor, and calls the function.
 *     A GDB that attaches later walks the list from first_entry.
 *
 * So each entry carries a copy of the object whose addresses have the load
 * bias added: allocated sections, dynamic symbols and .dynamic pointers.
 * Not the stapsdt notes: GDB moves each note's pc and semaphore by
 * sh_addr(.stapsdt.base) - the note's base field (gdb/stap-probe.c,
 * handle_stap_probe), so rebasing the .stapsdt.base section moves every
 * probe, and the notes (most of a large object) are copied as they are.
 * GDB shows such an object as "<in-memory@0x...>" and `info
 * sharedlibrary` does not list it. The copy is packed (pack_for_gdb): the
 * sections GDB reads, without libusdt's type metadata or the padding
 * between segments.
 *
 * The two names are exported from libusdt.so (libusdt.map, node
 * LIBUSDT_1.0) and are weak: a program that also links a JIT with the same
 * interface (LLVM's GDB listener, LuaJIT built with GDBJIT) has one
 * definition, and both then add to one list, as the interface intends.
 * Each writer serialises with its own lock, so two of them changing the
 * list at the same instant could break it: a limit of the interface
 * (README, Limitations). GDB reads the list only while the process is
 * stopped, and we change it with single pointer stores in an order that
 * keeps it walkable from first_entry at every step.
 *
 * Fork: a child inherits the list and the copies, whose addresses are the
 * child's too (same mappings). Locking: loader.c calls us with the groups
 * lock held (see loader.c), fork.c holds it across fork().
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "linux/gdb_jit.h"
#include "usdt_internal.h"

typedef USDT_ELF(Addr) ADDR;

#define JIT_NOACTION 0
#define JIT_REGISTER_FN 1
#define JIT_UNREGISTER_FN 2
#define JIT_VERSION 1
#define META_SECTION ".note.libusdt"    /* left out of GDB's copy */
#define GDB_SECTIONS_MAX 32             /* sections packed (elf_image.c writes 13) */
#define GDB_ALIGN_MAX 4096              /* largest section alignment accepted */

/* GDB's layout (gdb/jit.h): pointers in the process's own width. */
struct jit_code_entry {
	struct jit_code_entry *next_entry;
	struct jit_code_entry *prev_entry;
	const char *symfile_addr;
	uint64_t symfile_size;
};

struct jit_descriptor {
	uint32_t version;
	uint32_t action_flag;
	struct jit_code_entry *relevant_entry;
	struct jit_code_entry *first_entry;
};

/* GDB keeps a breakpoint here: it must be a real call that is never
 * inlined or merged away. */
__attribute__((weak, noinline, used, visibility("default"))) void __jit_debug_register_code(void);
__attribute__((weak, noinline, used, visibility("default"))) void __jit_debug_register_code(void)
{
	__asm__ volatile("" ::: "memory");
}

__attribute__((weak, used, visibility("default"))) struct jit_descriptor __jit_debug_descriptor = {
	JIT_VERSION, JIT_NOACTION, NULL, NULL
};

struct usdt_gdb_entry {
	struct jit_code_entry jit;
	size_t size;
	uint8_t image[];           /* the rebased copy GDB reads */
};

static size_t registered;

size_t usdt_gdb_registered(void)
{
	return registered;
}

/* Is [off, off + len) inside an image of `size` bytes? */
static int within(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

static void rebase_symbols(uint8_t *p, size_t len, uintptr_t bias)
{
	for (size_t off = 0; off + sizeof(USDT_ELF(Sym)) <= len; off += sizeof(USDT_ELF(Sym))) {
		USDT_ELF(Sym) s;
		memcpy(&s, p + off, sizeof s);
		if (s.st_shndx == SHN_UNDEF || s.st_shndx >= SHN_LORESERVE)
			continue;
		s.st_value = (ADDR)(s.st_value + bias);
		memcpy(p + off, &s, sizeof s);
	}
}

static void rebase_dynamic(uint8_t *p, size_t len, uintptr_t bias)
{
	for (size_t off = 0; off + sizeof(USDT_ELF(Dyn)) <= len; off += sizeof(USDT_ELF(Dyn))) {
		USDT_ELF(Dyn) d;
		memcpy(&d, p + off, sizeof d);
		if (d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_HASH || d.d_tag == DT_GNU_HASH || d.d_tag == DT_STRTAB || d.d_tag == DT_SYMTAB) {
			d.d_un.d_ptr = (ADDR)(d.d_un.d_ptr + bias);
			memcpy(p + off, &d, sizeof d);
		}
	}
}

/* Tell a GDB that may be attached: store the action, then call. */
static void notify_gdb(uint32_t action, struct jit_code_entry *e)
{
	__jit_debug_descriptor.relevant_entry = e;
	__atomic_store_n(&__jit_debug_descriptor.action_flag, action, __ATOMIC_RELEASE);
	__jit_debug_register_code();
	__atomic_store_n(&__jit_debug_descriptor.action_flag, (uint32_t)JIT_NOACTION, __ATOMIC_RELEASE);
	__jit_debug_descriptor.relevant_entry = NULL;
}

/*
 * GDB's copy holds the sections GDB reads, packed one after the other
 * (each at its own alignment), then the section header table: no program
 * headers. BFD reads a JIT object by its sections; program headers would
 * have to describe file ranges, which the packing does not keep. What is
 * left out: .note.libusdt (type metadata only the usdt command reads, a
 * quarter of a large provider's object), and the padding between
 * segments (on aarch64 the writable segment starts 64 KiB in, so a
 * one-probe object is 64 KiB of zeros; its copy is under 2 KiB).
 * Written into out (when not NULL) with `bias` added to every address GDB
 * reads (see the top of the file): section addresses, the entry point,
 * .dynsym values and .dynamic pointers. Returns the copy's size, or 0
 * when the image's headers are not what elf_image.c writes (bounds, class,
 * too many sections, a section without contents). Every header is
 * bounds-checked, although the image is our own.
 */
static size_t pack_for_gdb(uint8_t *out, const uint8_t *img, size_t size, uintptr_t bias)
{
	USDT_ELF(Ehdr) eh;
	USDT_ELF(Shdr) sh[GDB_SECTIONS_MAX];
	if (size < sizeof eh)
		return 0;
	memcpy(&eh, img, sizeof eh);
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != USDT_ARCH_ELF_CLASS ||
	    eh.e_shentsize != sizeof sh[0] || eh.e_shnum == 0 || eh.e_shnum > GDB_SECTIONS_MAX ||
	    eh.e_shstrndx >= eh.e_shnum || !within(size, eh.e_shoff, (uint64_t)eh.e_shnum * sizeof sh[0]))
		return 0;
	memcpy(sh, img + eh.e_shoff, eh.e_shnum * sizeof sh[0]);
	const USDT_ELF(Shdr) *str = &sh[eh.e_shstrndx];
	if (!within(size, str->sh_offset, str->sh_size))
		return 0;
	size_t off = sizeof eh;
	for (size_t i = 1; i < eh.e_shnum; i++) {
		if (sh[i].sh_type == SHT_NOBITS || !within(size, sh[i].sh_offset, sh[i].sh_size))
			return 0;
		int meta = sh[i].sh_name < str->sh_size && str->sh_size - sh[i].sh_name >= sizeof META_SECTION &&
		           memcmp(img + str->sh_offset + sh[i].sh_name, META_SECTION, sizeof META_SECTION) == 0;
		uint64_t align = sh[i].sh_addralign > 1 ? sh[i].sh_addralign : 1;
		if (align > GDB_ALIGN_MAX)
			return 0;
		off = (size_t)((off + align - 1) & ~(align - 1));
		size_t from = (size_t)sh[i].sh_offset, len = meta ? 0 : (size_t)sh[i].sh_size;
		sh[i].sh_size = len;
		sh[i].sh_offset = (USDT_ELF(Off))off;
		if (sh[i].sh_flags & SHF_ALLOC)
			sh[i].sh_addr = (ADDR)(sh[i].sh_addr + bias);
		if (out != NULL) {
			memcpy(out + off, img + from, len);
			if (sh[i].sh_type == SHT_DYNSYM || sh[i].sh_type == SHT_SYMTAB)
				rebase_symbols(out + off, len, bias);
			else if (sh[i].sh_type == SHT_DYNAMIC)
				rebase_dynamic(out + off, len, bias);
		}
		off += len;
	}
	off = (off + sizeof(ADDR) - 1) & ~(sizeof(ADDR) - 1);
	if (out != NULL) {
		if (eh.e_entry != 0)
			eh.e_entry = (ADDR)(eh.e_entry + bias);
		eh.e_phoff = 0;
		eh.e_phnum = 0;
		eh.e_shoff = (USDT_ELF(Off))off;
		memcpy(out, &eh, sizeof eh);
		memcpy(out + off, sh, eh.e_shnum * sizeof sh[0]);
	}
	return off + eh.e_shnum * sizeof sh[0];
}

struct usdt_gdb_entry *usdt_gdb_register(const uint8_t *image, size_t size, uintptr_t bias, char *err)
{
	size_t len = pack_for_gdb(NULL, image, size, bias);
	if (len == 0) {
		usdt_errf(err, "the object's ELF headers cannot be rebased for GDB");
		return NULL;
	}
	struct usdt_gdb_entry *e = malloc(sizeof *e + len);
	if (e == NULL) {
		usdt_errf(err, "out of memory for GDB's copy of the object (%zu bytes)", len);
		return NULL;
	}
	size = pack_for_gdb(e->image, image, size, bias);
	e->size = size;
	e->jit.symfile_addr = (const char *)e->image;
	e->jit.symfile_size = size;
	e->jit.prev_entry = NULL;
	e->jit.next_entry = __jit_debug_descriptor.first_entry;
	if (e->jit.next_entry != NULL)
		e->jit.next_entry->prev_entry = &e->jit;
	__atomic_store_n(&__jit_debug_descriptor.first_entry, &e->jit, __ATOMIC_RELEASE);
	registered++;
	notify_gdb(JIT_REGISTER_FN, &e->jit);
	return e;
}

void usdt_gdb_unregister(struct usdt_gdb_entry *e)
{
	if (e == NULL)
		return;
	struct jit_code_entry *j = &e->jit;
	if (j->prev_entry != NULL)
		j->prev_entry->next_entry = j->next_entry;
	else
		__atomic_store_n(&__jit_debug_descriptor.first_entry, j->next_entry, __ATOMIC_RELEASE);
	if (j->next_entry != NULL)
		j->next_entry->prev_entry = j->prev_entry;
	registered--;
	notify_gdb(JIT_UNREGISTER_FN, j);
	free(e);
}
