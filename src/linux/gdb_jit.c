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
 * So each entry points at the object itself, where it is mapped: the map
 * strategy links the image at the address it is then mapped at
 * (loader_map.c reserves the range first; elf_image.c, "Link address"),
 * and maps the whole file, notes and section headers included, so GDB
 * reads the very bytes tracers read from the memfd, at no cost in memory
 * or time. (Until 2026-12 each entry held a rebased copy: 133 bytes per
 * probe, and 47 us of a 180 us 1 000-probe enable, mostly fresh pages.)
 * GDB shows such an object as "<in-memory@0x...>" and `info
 * sharedlibrary` does not list it.
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
 * Fork: a child inherits the list and the mappings it points at, at the
 * same addresses. Locking: loader.c calls us with the groups
 * lock held (see loader.c), fork.c holds it across fork().
 */
#include <stdlib.h>

#include "linux/gdb_jit.h"
#include "usdt_internal.h"

#define JIT_NOACTION 0
#define JIT_REGISTER_FN 1
#define JIT_UNREGISTER_FN 2
#define JIT_VERSION 1

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
};

static size_t registered;

size_t usdt_gdb_registered(void)
{
	return registered;
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

struct usdt_gdb_entry *usdt_gdb_register(const void *object, size_t size, char *err)
{
	struct usdt_gdb_entry *e = malloc(sizeof *e);
	if (e == NULL) {
		usdt_errf(err, "out of memory for GDB's entry of the object");
		return NULL;
	}
	e->jit.symfile_addr = (const char *)object;
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
