/*
 * elf_notes.h — walk an ELF note area (a PT_NOTE segment or an SHT_NOTE
 * section) one note at a time, bounds-checked: what loader.c (the
 * build-id of the object dlopen returned) and gdb_jit.c (the stapsdt
 * notes of GDB's copy) both need. Notes are 4-aligned (name and
 * descriptor padded to 4), in the class of arch/arch.h.
 */
#ifndef USDT_ELF_NOTES_H
#define USDT_ELF_NOTES_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arch/arch.h"

struct usdt_note {
	USDT_ELF(Nhdr) h;
	size_t name_off, desc_off;   /* from the start of this note */
	size_t size;                 /* header, padded name and descriptor */
};

/* The note at p (len bytes left in the area) into *n: 1, or 0 at the end
 * of the area or when the note does not fit in it. */
static inline int usdt_note_at(const uint8_t *p, size_t len, struct usdt_note *n)
{
	if (len < sizeof n->h)
		return 0;
	memcpy(&n->h, p, sizeof n->h);
	size_t namesz = ((size_t)n->h.n_namesz + 3) & ~(size_t)3;
	size_t descsz = ((size_t)n->h.n_descsz + 3) & ~(size_t)3;
	if (namesz > len - sizeof n->h || descsz > len - sizeof n->h - namesz)
		return 0;
	n->name_off = sizeof n->h;
	n->desc_off = sizeof n->h + namesz;
	n->size = sizeof n->h + namesz + descsz;
	return 1;
}

/* Is n (at p) owned by `owner` (a string literal, NUL included in its
 * size) with type `type`? */
#define USDT_NOTE_IS(p, n, owner, type)                                                            \
	((n)->h.n_type == (type) && (n)->h.n_namesz == sizeof(owner) &&                              \
	 memcmp((p) + (n)->name_off, (owner), sizeof(owner)) == 0)

#endif
