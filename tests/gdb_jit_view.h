/*
 * gdb_jit_view.h — GDB's JIT interface as a test sees it (gdb/jit.h's
 * layout; libusdt's own copy is private to src/linux/gdb_jit.c): the list
 * entries and the descriptor. t_loader_hide reads libusdt's list through
 * it; t_gdb_jit_shared defines the descriptor itself, as a program with
 * its own JIT would.
 */
#ifndef TESTS_GDB_JIT_VIEW_H
#define TESTS_GDB_JIT_VIEW_H

#include <stdint.h>

struct jit_code_entry {
	struct jit_code_entry *next_entry, *prev_entry;
	const char *symfile_addr;
	uint64_t symfile_size;
};
struct jit_descriptor {
	uint32_t version, action_flag;
	struct jit_code_entry *relevant_entry, *first_entry;
};
extern struct jit_descriptor __jit_debug_descriptor;

#endif
