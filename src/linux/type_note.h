/*
 * type_note.h — the type metadata libusdt puts in every runtime ELF object:
 * for each probe its provider, module, function, name as created and the
 * declared C type of each argument (the canonical spelling of
 * probedef->types[i]). Stapsdt notes only say "-4@%edi" (a signed 4-byte
 * value); the `usdt` command (tools/usdt.c) reads this to list probes with
 * their C types and to print each argument as what it is (a string, a
 * pointer, an int8_t...).
 *
 * It lives in a non-allocated SHT_NOTE section, ".note.libusdt", after
 * .note.stapsdt: never mapped, and no tracer looks at it (bpftrace, bcc,
 * GDB, perf and libbpf find their notes by section name ".note.stapsdt").
 * Format (all notes owner "libusdt", 4-byte aligned, native byte order):
 *
 *   0x75736401  provider  u32 version (3; 2 before probe-names notes, 1
 *                         before structures and json), u32 number of
 *                         probes, provider name NUL
 *   0x75736404  struct    (version 2) the layout of a structure a probe
 *                         argument points to (usdt_register_struct), or
 *                         one such a structure contains: u32 size, u32
 *                         alignment, u32 number of fields (at most
 *                         USDT_STRUCT_FIELDS_MAX), name NUL (without
 *                         "struct "), then per field in offset order u32
 *                         offset, u32 size, u32 kind (structs.h: USDT_FK_*,
 *                         | USDT_FK_SIGNED), name NUL, type NUL (canonical:
 *                         "int32_t", "char *", "json", "char[16]",
 *                         "struct inner", "struct node *")
 *   0x75736402  probe     u32 index (the probe's position among the
 *                         .note.stapsdt notes, sites and semaphores),
 *                         u32 argc, module NUL, function NUL, name as
 *                         created NUL (with '-', where the stapsdt note
 *                         has "__"), then argc type strings, each
 *                         NUL-terminated ("json" for a JSON string,
 *                         "struct NAME *" for a structure pointer)
 *   0x75736405  probe     (version 3) u32 first index, u32 count (>= 1),
 *               names     then count names as created, each NUL-terminated:
 *                         probes first .. first + count - 1, each with the
 *                         module, function, argc and types of the previous
 *                         probe note
 *   0x75736403  probe,    (version 2; still read, no longer written) u32
 *               short     index, u32 argc, name as created NUL: the
 *                         module, function and types of the previous
 *                         probe note
 *
 * One provider note first, then the structure notes (a structure after
 * those it contains inline; each once), then the probes in index order:
 * the probes are cut into runs of consecutive probes of one shape (same
 * module, function, argc, types and json-ness of each argument; providers
 * declare many probes of a few shapes), each run written as a full probe
 * note for its first probe and, if the run is longer, one probe-names note
 * for the rest. Version 2 wrote a note per probe, at least 36 bytes for a
 * short one (header, owner, index, argc, padded name); a run of 1000
 * probes of one shape costs a full note, one 28-byte header and the names
 * (about 5.5 bytes per probe for "p0".."p999"), and writing it touches
 * each definition about once (types are compared by address: they point
 * at canonical static strings; names are copied from the generation's
 * names, in runs, where they are spelled as created, see
 * usdt_type_note_plan()). Readers skip notes of other types (later
 * versions may add some): version 2 readers skip the probe-names notes
 * and give the types of the first probe of each run only; version 1
 * readers also skip the structure notes and show "json" and "struct NAME
 * *" as type names.
 */
#ifndef USDT_TYPE_NOTE_H
#define USDT_TYPE_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "usdt.h"

#define USDT_TYPE_NOTE_SECTION ".note.libusdt"
#define USDT_TYPE_NOTE_OWNER "libusdt"
#define USDT_TYPE_NOTE_VERSION 3
/* Note types: "usd" and a number (readelf gives small values such as 1, 2
 * and 0x100 generic names: NT_VERSION, NT_ARCH, OPEN). */
#define USDT_NT_LIBUSDT_PROVIDER 0x75736401
#define USDT_NT_LIBUSDT_PROBE 0x75736402
#define USDT_NT_LIBUSDT_PROBE_SAME 0x75736403
#define USDT_NT_LIBUSDT_STRUCT 0x75736404
#define USDT_NT_LIBUSDT_PROBE_NAMES 0x75736405

struct usdt_generation;
struct usdt_struct;

/* Build the section contents for the probes of gen (provider: the one
 * being published; a probe of a twin provider carries its own module).
 * Returns a malloc'd buffer and its size, or NULL with a message in err. */
uint8_t *usdt_type_note_build(const usdt_provider_t *provider, const struct usdt_generation *gen, size_t *size,
                              char *err);

/* The same in two steps, to write the section straight into the ELF
 * image (backend_elf.c). The caller gives plan->same (gen->nprobes bytes,
 * any contents); usdt_type_note_plan() returns the section's size (also
 * in plan->size), or 0 with a message in err; usdt_type_note_write()
 * then writes exactly that many bytes at buf (4-aligned) and frees what
 * the plan holds (usdt_type_note_plan_free() does, when the writing is
 * abandoned). Nothing the definitions point to may change in between.
 * When gen->bindings and gen->names are filled (as usdt.c's collect()
 * does before the backends run: Linux-form names back to back), a name
 * spelled the same in both forms (no '-') is copied from gen->names,
 * consecutive ones in one piece, without touching its definition again. */
struct usdt_type_note_plan {
	uint8_t *same;                          /* per probe: USDT_TN_* flags */
	const struct usdt_struct **structs;     /* structure notes, in order */
	size_t nstructs;
	size_t size;
};
/* plan->same[i]: the probe continues the run of the one before (same
 * shape: in the probe-names note), and its name is at
 * gen->bindings[i].name as created, the next name right after it. */
#define USDT_TN_SAME 0x1
#define USDT_TN_PLAIN 0x2
size_t usdt_type_note_plan(const usdt_provider_t *provider, const struct usdt_generation *gen,
                           struct usdt_type_note_plan *plan, char *err);
void usdt_type_note_write(const usdt_provider_t *provider, const struct usdt_generation *gen,
                          struct usdt_type_note_plan *plan, uint8_t *buf);
void usdt_type_note_plan_free(struct usdt_type_note_plan *plan);

/* One parsed note. Strings point into the section buffer. */
struct usdt_type_note {
	uint32_t type;                   /* USDT_NT_LIBUSDT_* */
	/* provider note */
	uint32_t version, nprobes;
	const char *provider;
	/* probe note */
	uint32_t index, argc;
	const char *module, *function, *name;
	const char *types[USDT_ARG_MAX];
	/* structure note */
	const char *struct_name;
	uint32_t struct_size, struct_align, nfields;
	struct usdt_type_note_field {
		uint32_t offset, size, kind;
		const char *name, *type;
	} fields[USDT_STRUCT_FIELDS_MAX];
	/* reader state inside a probe-names note (the one at *off): names
	 * left after this one, and the offset in the section of the next */
	uint32_t names_left;
	size_t names_at;
};

/* Parse the note at *off in sec[0..size) and advance *off. Returns 1 with
 * *note filled (notes of other owners or types have type 0; a short
 * 0x75736403 note is returned as a full USDT_NT_LIBUSDT_PROBE), 0 at the
 * end, -1 if the section is malformed. A probe-names note is returned one
 * probe per call, each as a USDT_NT_LIBUSDT_PROBE: *off stays at the note
 * until its last name (note->names_left is 0 then; (*off, names_at) grows
 * at every call). Pass the same *note, zeroed before the first call, every
 * time: short and probe-names notes take their module, function and types
 * from the previous call's probe note, and the reader keeps its place in
 * a probe-names note there. */
int usdt_type_note_next(const uint8_t *sec, size_t size, size_t *off, struct usdt_type_note *note);

#endif
