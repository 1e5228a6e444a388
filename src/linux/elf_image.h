/*
 * elf_image.h — build, in memory, the ELF shared object that carries one
 * provider's probes on Linux (layout and rationale in elf_image.c).
 */
#ifndef USDT_ELF_IMAGE_H
#define USDT_ELF_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* One probe to lay out (usdt_elf_build's form). argspec is the note's
 * argument string; the lengths (strlen) are given. */
struct usdt_elf_probe {
	const char *name;
	const char *argspec;
	size_t namelen, speclen;
};

/* Where one probe's argument spec is in usdt_elf_desc.specs. */
struct usdt_elf_spec {
	uint32_t off, len;       /* len without the NUL */
};

struct usdt_elf_desc {
	const char *provider;
	size_t provlen;                   /* strlen(provider), or 0 to compute it */
	size_t nprobes;
	/* The probes, either one struct each (probes) or packed (probes NULL):
	 * the packed form is what an enable has at hand with no per-probe
	 * allocation: the names back to back, each NUL-terminated, in probe
	 * order (names_size bytes in all, NULs included), and per probe the
	 * offset and length of its argument spec in specs (probes of one
	 * signature share one string); specs_total is the sum over the probes
	 * of their spec's length + 1. */
	const struct usdt_elf_probe *probes;
	const char *names;
	size_t names_size;
	const char *specs;
	const struct usdt_elf_spec *spec;
	size_t specs_total;
	const uint8_t *build_id;          /* USDT_ELF_BUILD_ID_SIZE bytes */
	const uint8_t *extra_text;        /* more code after the sites (DTrace
	                                     stubs), or NULL */
	size_t extra_text_size;
	int ro_dynamic;                   /* .dynamic in the read-only segment */
	const uint8_t *meta_notes;        /* contents of the non-allocated
	                                     .note.libusdt section (type
	                                     metadata, linux/type_note.h), or
	                                     NULL: then meta_notes_size bytes
	                                     are left at layout.meta for the
	                                     caller to write */
	size_t meta_notes_size;
	uint64_t base;                    /* link-time address of file offset 0:
	                                     0, or where the object will be
	                                     mapped (elf_image.c, "Link
	                                     address") */
};

#define USDT_ELF_BUILD_ID_SIZE 20

/* Where things ended up: link-time virtual addresses (desc->base + the
 * file offset) for text, extra_text, probes and stapsdt_base; file
 * offsets for rw_offset and meta. */
struct usdt_elf_layout {
	size_t size;             /* image size in bytes */
	uint64_t text;           /* first probe site; site i at text + i*stride */
	uint64_t extra_text;     /* where extra_text was placed (16-aligned) */
	uint64_t probes;         /* first semaphore; semaphore i at probes + 2*i */
	uint64_t stapsdt_base;
	uint64_t rw_offset;      /* file offset of the writable segment */
	uint64_t meta;           /* file offset of .note.libusdt's contents */
};

/* Build the image into a malloc'd buffer. Returns 0, or -1 with a message
 * in err (USDT_ERRMSG_MAX bytes). */
int usdt_elf_build(const struct usdt_elf_desc *desc, uint8_t **image, struct usdt_elf_layout *layout, char *err);

/* The same in two steps, for a caller that keeps a buffer from build to
 * build: the most bytes the image of desc can take (packed form only),
 * or 0 with a message in err; then the image written into buf (at least
 * that many bytes, 8-aligned, any contents: every byte of the image is
 * written), layout->size its exact size. */
size_t usdt_elf_bound(const struct usdt_elf_desc *desc, char *err);
void usdt_elf_write(const struct usdt_elf_desc *desc, uint8_t *buf, struct usdt_elf_layout *layout);

#endif
