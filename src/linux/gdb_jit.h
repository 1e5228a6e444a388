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
 * Register the object mapped at `object`: all of its `size` bytes (the
 * whole file, headers, notes and section header table included) must be
 * readable there, and it must be linked at that address (elf_image.c,
 * "Link address"): GDB reads it as a file, without relocating it.
 * Returns the entry, or NULL with a message in err (USDT_ERRMSG_MAX
 * bytes) when out of memory. The caller serialises register and
 * unregister calls (loader.c runs under the groups lock).
 */
struct usdt_gdb_entry *usdt_gdb_register(const void *object, size_t size, char *err);
/* Take the entry off GDB's list and free it. NULL does nothing. */
void usdt_gdb_unregister(struct usdt_gdb_entry *entry);

/* How many entries are on the list (tests). */
size_t usdt_gdb_registered(void);

#endif
