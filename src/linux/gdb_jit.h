/*
 * gdb_jit.h — show objects that libusdt mapped itself (not through
 * dlopen, so absent from the dynamic loader's link map) to GDB, through
 * GDB's JIT interface. Rationale and format in gdb_jit.c; loader.c is the
 * only user.
 */
#ifndef USDT_GDB_JIT_H
#define USDT_GDB_JIT_H

#include <stddef.h>
#include <stdint.h>

struct usdt_gdb_entry;

/*
 * Register a copy of `image` (one of elf_image.c's objects, whose virtual
 * addresses equal its file offsets) that is mapped at `bias`: the copy has
 * `bias` added to every address GDB reads. Returns the entry, or NULL with
 * a message in err (USDT_ERRMSG_MAX bytes) when out of memory or when the
 * image's headers are not what elf_image.c writes. The caller serialises
 * register and unregister calls (loader.c runs under the groups lock).
 */
struct usdt_gdb_entry *usdt_gdb_register(const uint8_t *image, size_t size, uintptr_t bias, char *err);

/* Take the entry off GDB's list and free it. NULL does nothing. */
void usdt_gdb_unregister(struct usdt_gdb_entry *entry);

/* How many entries are on the list (tests). */
size_t usdt_gdb_registered(void);

#endif
