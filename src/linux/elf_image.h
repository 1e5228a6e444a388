/*
 * elf_image.h — build, in memory, the ELF shared object that carries one
 * provider's probes on Linux (layout and rationale in elf_image.c).
 */
#ifndef USDT_ELF_IMAGE_H
#define USDT_ELF_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* One probe to lay out. argspec is the note's argument string; the
 * lengths (strlen) are given so that a large provider's names, scattered
 * over the heap, are read as few times as possible. */
struct usdt_elf_probe {
	const char *name;
	const char *argspec;
	size_t namelen, speclen;
};

struct usdt_elf_desc {
	const char *provider;
	const struct usdt_elf_probe *probes;
	size_t nprobes;
	const uint8_t *build_id;          /* USDT_ELF_BUILD_ID_SIZE bytes */
	const uint8_t *extra_text;        /* more code after the sites (DTrace
	                                     stubs), or NULL */
	size_t extra_text_size;
	int ro_dynamic;                   /* .dynamic in the read-only segment */
	const uint8_t *meta_notes;        /* contents of the non-allocated
	                                     .note.libusdt section (type
	                                     metadata, linux/type_note.h), or NULL */
	size_t meta_notes_size;
};

#define USDT_ELF_BUILD_ID_SIZE 20

/* Where things ended up (offsets == link-time virtual addresses). */
struct usdt_elf_layout {
	size_t size;             /* image size in bytes */
	uint64_t text;           /* first probe site; site i at text + i*stride */
	uint64_t extra_text;     /* where extra_text was placed (16-aligned) */
	uint64_t probes;         /* first semaphore; semaphore i at probes + 2*i */
	uint64_t stapsdt_base;
	uint64_t rw_offset;      /* start of the writable segment */
};

/* Build the image into a malloc'd buffer. Returns 0, or -1 with a message
 * in err (USDT_ERRMSG_MAX bytes). */
int usdt_elf_build(const struct usdt_elf_desc *desc, uint8_t **image, struct usdt_elf_layout *layout, char *err);

#endif
