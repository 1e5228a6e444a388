/*
 * t_gdb_jit_shared.c — a program that has its own GDB JIT interface (as
 * LLVM's GDB listener or LuaJIT built with GDBJIT do) and libusdt in the
 * same process. libusdt's __jit_debug_descriptor and
 * __jit_debug_register_code are weak (src/linux/gdb_jit.c), so this
 * program's strong definitions win at link time, and libusdt must then:
 *   - link with them at all (no duplicate-symbol error: this file building
 *     is the first check);
 *   - add its objects to the program's list and call the program's
 *     function for each change (GDB keeps its breakpoint there), with the
 *     action and entry set during the call and cleared after;
 *   - leave the program's own entries where they were, in order, through
 *     enables, disables and frees.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gdb_jit_view.h"
#include "usdt.h"

/* The program's own (strong) definitions. */
struct jit_descriptor __jit_debug_descriptor = { 1, 0, NULL, NULL };
static int calls[3];
static int consistent = 1;
void __attribute__((noinline)) __jit_debug_register_code(void);
void __attribute__((noinline)) __jit_debug_register_code(void)
{
	uint32_t a = __jit_debug_descriptor.action_flag;
	if (a > 2 || __jit_debug_descriptor.relevant_entry == NULL)
		consistent = 0;
	else
		calls[a]++;
	__asm__ volatile("" ::: "memory");
}

static size_t list_len(void)
{
	size_t n = 0;
	const struct jit_code_entry *prev = NULL;
	for (const struct jit_code_entry *e = __jit_debug_descriptor.first_entry; e != NULL; e = e->next_entry) {
		if (e->prev_entry != prev)
			return (size_t)-1;
		prev = e;
		n++;
	}
	return n;
}

int main(void)
{
	static const char own_image[] = "the program's own JIT object";
	struct jit_code_entry own = { NULL, NULL, own_image, sizeof own_image };
	__jit_debug_descriptor.first_entry = &own;

	const char *t[1] = { "int" };
	usdt_provider_t *p = usdt_create_provider("jitshare", "m");
	usdt_provider_t *q = usdt_create_provider("jitshare2", "m");
	usdt_probedef_t *a = usdt_create_probe("f", "a", 1, t), *b = usdt_create_probe("f", "b", 1, t);
	CHECK(p && q && a && b && usdt_provider_add_probe(p, a) == 0 && usdt_provider_add_probe(q, b) == 0,
	      "providers made");
	CHECK(usdt_provider_enable(p) == 0 && usdt_provider_enable(q) == 0, "two providers enabled");
	CHECK(list_len() == 3, "the program's list holds its own entry and libusdt's two (%zu, linked both ways)",
	      list_len());
	CHECK(calls[1] == 2 && consistent, "the program's __jit_debug_register_code saw 2 registrations (%d)", calls[1]);
	CHECK(__jit_debug_descriptor.action_flag == 0 && __jit_debug_descriptor.relevant_entry == NULL,
	      "the action and entry are cleared after each call");
	const struct jit_code_entry *last = __jit_debug_descriptor.first_entry;
	while (last->next_entry != NULL)
		last = last->next_entry;
	CHECK(last == &own && memcmp(own.symfile_addr, own_image, sizeof own_image) == 0,
	      "the program's entry is still there, unchanged, at the end");
	CHECK(usdt_provider_disable(p) == 0, "disable the first provider");
	CHECK(list_len() == 2 && calls[2] == 1 && consistent, "one entry unregistered (%zu left, %d unregistrations)",
	      list_len(), calls[2]);
	usdt_provider_free(q);
	usdt_provider_free(p);
	usdt_probe_release(a);
	usdt_probe_release(b);
	CHECK(list_len() == 1 && __jit_debug_descriptor.first_entry == &own && own.prev_entry == NULL &&
	      own.next_entry == NULL, "after the frees only the program's own entry is left, as it was");
	CHECK(calls[2] == 2 && consistent, "2 unregistrations in all (%d)", calls[2]);
	return check_done();
}
