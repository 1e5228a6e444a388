/*
 * elf_image.c — the runtime ELF object: one per enabled provider.
 * Architecture-neutral: the class (ELF64/ELF32, via USDT_ELF()), machine,
 * page size, site bytes, stride and GNU property come from arch/arch.h,
 * so adding an architecture does not touch this file. backend_elf.c
 * (the Linux backend) is its consumer.
 *
 * Linux tracers find USDT probes by reading ELF files, not process memory:
 * bcc/bpftrace walk /proc/PID/maps, open each executable mapping's file and
 * parse its section headers; libbpf, perf, GDB and SystemTap do the same
 * from a path. So a runtime provider must be a real ELF object, mapped from
 * a file (a memfd here), with:
 *
 *   - section headers (no tool scans PT_NOTE alone), and in header order
 *     .text < .probes < .note.stapsdt: bcc walks the table with one cursor,
 *     first to the first executable section, then on to ".probes", then on
 *     to ".note.stapsdt"; any other order hides the probes or semaphores;
 *   - a section named exactly ".text" covering the probe sites (bcc converts
 *     semaphore addresses with .text's address/offset delta);
 *   - ".stapsdt.base" whose address equals the base field of every note
 *     (gdb shows no probe without it; gdb, perf, libbpf and SystemTap adjust
 *     pc by sh_addr(.stapsdt.base) - note.base, bcc ignores it, so we make
 *     the delta zero and everybody agrees);
 *   - the semaphores (2-byte, 2-aligned counters) in a section named
 *     ".probes" inside the file-backed part of a private writable PT_LOAD:
 *     the kernel's uprobe reference counter (used by bpftrace and perf)
 *     only works on a file-backed page of the same inode, and bcc and perf
 *     locate semaphores through .probes' address/offset delta;
 *   - a unique NT_GNU_BUILD_ID note (perf probe refuses objects without one
 *     and caches by it);
 *   - a .note.gnu.property with the architecture's property
 *     (USDT_ARCH_GNU_PROPERTY_*; on x86_64 the shadow-stack mark, without
 *     which glibc with CET shadow stacks enforced refuses the dlopen — why
 *     it is always correct to claim it is in arch/x86_64.h). Written as ld
 *     writes it: a word-aligned (8 in ELFCLASS64, 4 in ELFCLASS32)
 *     NT_GNU_PROPERTY_TYPE_0 note (owner "GNU", properties padded to the word) in the R+X segment, covered by
 *     PT_GNU_PROPERTY with p_align 8 (glibc's _dl_process_pt_gnu_property
 *     reads it from memory and ignores any other alignment) and by a PT_NOTE
 *     of alignment 8 of its own (loaders before PT_GNU_PROPERTY scan
 *     PT_NOTE; 4-aligned notes such as the build-id cannot share it);
 *   - .dynamic/.dynsym/.dynstr/.hash so that dlopen() accepts it and GDB
 *     can name the site functions; dlopen puts the object in the loader's
 *     link map, which is where GDB finds it.
 * Link address. Every address in the object is desc->base + its file
 * offset: segments, sections, symbols, .dynamic's pointers and the three
 * addresses of every stapsdt note. The difference between address and
 * offset is one constant, so every tool's address to file offset
 * conversion (through .text, .probes, .stapsdt.base or a PT_LOAD) gives the
 * same answer. desc->base is 0 (a plain shared object) or, for the map
 * strategy (loader_map.c), the address the object is then mapped at, so
 * that it needs no relocation: GDB's JIT interface (gdb_jit.c) reads
 * objects from memory without relocating them, and can then read the
 * mapped object itself instead of a rebased copy. A dlopen() of a based
 * object works as for a prelinked library (ld.so adds the load bias).
 * Tools see an ordinary shared object that happens to be mapped where it
 * was linked; only a hand-made tracefs uprobe must take the link address
 * (the first PT_LOAD's p_vaddr) off readelf's addresses (README, perf).
 *
 * Two PT_LOADs keep a provider at two mappings and W^X: R+X (headers,
 * dynamic symbols, build-id, probe sites, .stapsdt.base) and R+W (.dynamic,
 * .probes, then the rest of the file). The whole file is loaded: the R+W
 * segment runs to its end, over .note.stapsdt, .note.libusdt, .shstrtab
 * and the section headers, so that the mapped object is the complete
 * file GDB's JIT interface needs; those pages are never written, so they
 * stay the memfd's own (no memory of their own). Layout:
 *
 *   0           ELF header, program headers
 *               .note.gnu.property (word-aligned)
 *               .note.gnu.build-id, .hash, .dynsym, .dynstr
 *               [.dynamic, with desc->ro_dynamic]
 *   align 64    .text: one site per probe, USDT_ARCH_SITE_STRIDE bytes each,
 *               then (16-aligned) any extra code: the DTrace stubs when a
 *               DTrace helper device is present (linux/dtrace_linux.c)
 *               .stapsdt.base (1 byte)
 *   page        [.dynamic, without ro_dynamic], .probes (2 bytes per probe)
 *               .note.stapsdt, .note.libusdt (libusdt's type metadata,
 *               desc->meta_notes; no tracer reads it), .shstrtab,
 *               section header table (all in the R+W PT_LOAD's file
 *               range; only .dynamic and .probes are SHF_ALLOC there)
 *
 * ro_dynamic (glibc >= 2.35, see backend_elf.c): a PT_DYNAMIC without PF_W
 * tells ld.so not to relocate .dynamic in place, so dlopen() never touches
 * the R+W page: one page fault per enable instead of three (the read and
 * copy-on-write faults of that page), about 4 us of a 25 us enable, and
 * the page stays unallocated until a tracer or is-enabled reads it. Older
 * glibc writes into .dynamic unconditionally and would fault on it.
 */
#include <elf.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "linux/elf_image.h"
#include "usdt_internal.h"

/* An address in the generated object's class: the stapsdt note's three
 * addresses, symbol values and section alignments are this wide. */
typedef USDT_ELF(Addr) ADDR;

#define NOTE_STAPSDT_TYPE 3
#define NOTE_STAPSDT_OWNER "stapsdt"
#define TEXT_ALIGN 64
#define SYM_PREFIX "usdt_"
#ifndef PT_GNU_PROPERTY                 /* elf.h before glibc 2.32 */
#define PT_GNU_PROPERTY 0x6474e553
#endif
#ifndef NT_GNU_PROPERTY_TYPE_0
#define NT_GNU_PROPERTY_TYPE_0 5
#endif
/* Property notes are aligned to the word size: 8 (ELFCLASS64) or 4. */
#define PROPERTY_ALIGN sizeof(ADDR)
/* One property: pr_type, pr_datasz, 4 bytes of data, padded to the word. */
#define PROPERTY_DESC_SIZE (USDT_ARCH_ELF_CLASS == ELFCLASS64 ? 16 : 12)
#define PROPERTY_WORDS 4                /* room for the larger of the two */

enum {
	SH_NULL, SH_PROPERTY, SH_BUILDID, SH_HASH, SH_DYNSYM, SH_DYNSTR, SH_TEXT, SH_BASE,
	SH_DYNAMIC, SH_PROBES, SH_NOTE, SH_META, SH_SHSTRTAB, SH_COUNT
};
enum { PH_LOAD_RX, PH_LOAD_RW, PH_DYNAMIC, PH_NOTE, PH_NOTE_PROPERTY, PH_PROPERTY, PH_STACK, PH_COUNT };
#define NDYN 6
/* The SysV .hash table has a single bucket: a valid table, whose chain
 * holds every symbol. Nothing looks our symbols up by name in a hot path
 * (gdb and perf read .dynsym, a dlsym() still finds them by walking the
 * chain), and computing the ELF hash of every symbol name was 13 % of a
 * 1 000-probe enable. */
#define HASH_BUCKETS 1

/* .shstrtab, laid out as a struct of char arrays so that every name's
 * offset is a compile-time constant (offsetof): no lookup per build. */
#define SECTION_NAMES(X)                                                                       \
	X(property, ".note.gnu.property") X(buildid, ".note.gnu.build-id") X(hash, ".hash")     \
	X(dynsym, ".dynsym") X(dynstr, ".dynstr") X(text, ".text") X(base, ".stapsdt.base")     \
	X(dynamic, ".dynamic") X(probes, ".probes") X(note, ".note.stapsdt")                     \
	X(meta, ".note.libusdt") X(shstrtab, ".shstrtab")
#define SECTION_FIELD(id, str) char id[sizeof str];
#define SECTION_INIT(id, str) str,
#define SECTION_SIZE(id, str) + sizeof str
static const struct shstr_table {
	char null;
	SECTION_NAMES(SECTION_FIELD)
} shstrtab = { '\0', SECTION_NAMES(SECTION_INIT) };
_Static_assert(sizeof shstrtab == 1 SECTION_NAMES(SECTION_SIZE), ".shstrtab must have no padding");
#define SHSTR(id) ((uint32_t)offsetof(struct shstr_table, id))

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static size_t note_size(size_t namesz, size_t descsz)
{
	return sizeof(USDT_ELF(Nhdr)) + align_up(namesz, 4) + align_up(descsz, 4);
}

/* A growing-free writer: the sizes are computed first, then every byte is
 * written once, in file order. Only the size of .note.stapsdt (each note
 * is padded to 4 bytes on its own) is known exactly after its notes are
 * written; the buffer is sized for the most it can be (usdt_elf_bound),
 * and what follows it is placed once it is written. */
struct plan {
	uint64_t base;           /* link-time address of file offset 0 */
	size_t nprobes, provlen;
	size_t nsyms, nbucket;
	size_t property_off, property_size;
	size_t buildid_off, buildid_size;
	size_t hash_off, hash_size;
	size_t dynsym_off, dynsym_size;
	size_t dynstr_off, dynstr_size;
	size_t text_off, text_size, extra_off;
	size_t base_off;
	size_t rx_end;
	size_t rw_off;           /* start of the R+W segment (page aligned) */
	int ro_dynamic;
	size_t dynamic_off, dynamic_size;
	size_t probes_off, probes_size;
	size_t rw_end;
	size_t note_off, note_size;
	size_t meta_off, meta_size;
	size_t shstrtab_off;
	size_t shdr_off;
	size_t total;
};

/* Fixed part of a stapsdt note: header, owner, the three addresses, the
 * provider name and the NULs of the probe name and argument spec. */
static size_t stapsdt_fixed(size_t provlen)
{
	return sizeof(USDT_ELF(Nhdr)) + align_up(sizeof NOTE_STAPSDT_OWNER, 4) + 3 * sizeof(ADDR) + provlen + 1 + 2;
}

/* Everything up to .note.stapsdt, and the size of .note.stapsdt when each
 * note takes its most padding (3 bytes): the rest follows from
 * place_tail() once the real size is known. */
static void plan_head(const struct usdt_elf_desc *d, struct plan *p)
{
	size_t provlen = d->provlen ? d->provlen : strlen(d->provider);
	memset(p, 0, sizeof *p);
	p->base = d->base;
	p->nprobes = d->nprobes;
	p->provlen = provlen;
	p->nsyms = d->nprobes + 1;
	p->nbucket = HASH_BUCKETS;
	size_t off = sizeof(USDT_ELF(Ehdr)) + PH_COUNT * sizeof(USDT_ELF(Phdr));
	p->property_off = align_up(off, PROPERTY_ALIGN);
	p->property_size = sizeof(USDT_ELF(Nhdr)) + 4 + PROPERTY_DESC_SIZE;
	p->buildid_off = align_up(p->property_off + p->property_size, 4);
	p->buildid_size = note_size(4, USDT_ELF_BUILD_ID_SIZE);
	p->hash_off = align_up(p->buildid_off + p->buildid_size, 8);
	p->hash_size = 4 * (2 + p->nbucket + p->nsyms);
	p->dynsym_off = align_up(p->hash_off + p->hash_size, 8);
	p->dynsym_size = p->nsyms * sizeof(USDT_ELF(Sym));
	p->dynstr_off = p->dynsym_off + p->dynsym_size;
	/* "usdt_<provider>_<name>" per probe */
	p->dynstr_size = 1 + d->nprobes * (strlen(SYM_PREFIX) + provlen + 1) + d->names_size;
	p->dynamic_size = NDYN * sizeof(USDT_ELF(Dyn));
	if (d->ro_dynamic) {
		p->dynamic_off = align_up(p->dynstr_off + p->dynstr_size, 8);
		p->text_off = align_up(p->dynamic_off + p->dynamic_size, TEXT_ALIGN);
	} else {
		p->text_off = align_up(p->dynstr_off + p->dynstr_size, TEXT_ALIGN);
	}
	p->extra_off = align_up(p->text_off + d->nprobes * USDT_ARCH_SITE_STRIDE, 16);
	p->text_size = (d->extra_text_size ? p->extra_off + d->extra_text_size : p->extra_off) - p->text_off;
	p->base_off = p->text_off + p->text_size;
	p->rx_end = p->base_off + 1;
	p->rw_off = align_up(p->rx_end, USDT_ARCH_PAGE_SIZE);
	if (d->ro_dynamic) {
		p->probes_off = p->rw_off;
	} else {
		p->dynamic_off = p->rw_off;
		p->probes_off = p->dynamic_off + p->dynamic_size;
	}
	p->ro_dynamic = d->ro_dynamic;
	p->probes_size = d->nprobes * 2;
	p->rw_end = p->probes_off + p->probes_size;
	p->note_off = align_up(p->rw_end, 4);
	p->note_size = d->nprobes * (stapsdt_fixed(provlen) + 3) + d->names_size + d->specs_total;
	p->meta_size = d->meta_notes_size;
}

/* .note.libusdt, .shstrtab and the section headers, after a
 * .note.stapsdt of p->note_size bytes. */
static void place_tail(struct plan *p)
{
	p->meta_off = p->note_off + p->note_size;
	p->shstrtab_off = p->meta_off + p->meta_size;
	p->shdr_off = align_up(p->shstrtab_off + sizeof shstrtab, 8);
	p->total = p->shdr_off + SH_COUNT * sizeof(USDT_ELF(Shdr));
}

static void set_shdr(USDT_ELF(Shdr) *sh, uint32_t name, uint32_t type, uint64_t flags, size_t off,
                     size_t size, uint64_t addr, uint32_t link, uint32_t info, uint64_t align, uint64_t entsize)
{
	sh->sh_name = name;
	sh->sh_type = type;
	sh->sh_flags = flags;
	sh->sh_addr = addr;
	sh->sh_offset = off;
	sh->sh_size = size;
	sh->sh_link = link;
	sh->sh_info = info;
	sh->sh_addralign = align;
	sh->sh_entsize = entsize;
}

static void set_phdr(USDT_ELF(Phdr) *ph, uint32_t type, uint32_t flags, size_t off, size_t size, uint64_t align,
                     uint64_t base)
{
	ph->p_type = type;
	ph->p_flags = flags;
	ph->p_offset = off;
	ph->p_vaddr = (ADDR)(base + off);
	ph->p_paddr = (ADDR)(base + off);
	ph->p_filesz = size;
	ph->p_memsz = size;
	ph->p_align = align;
}

static uint8_t *put_note(uint8_t *q, const char *owner, size_t ownersz, uint32_t type,
                         const void *desc, size_t descsz)
{
	USDT_ELF(Nhdr) nh = { .n_namesz = (USDT_ELF(Word))ownersz, .n_descsz = (USDT_ELF(Word))descsz, .n_type = type };
	memcpy(q, &nh, sizeof nh);
	q += sizeof nh;
	memcpy(q, owner, ownersz);
	q += align_up(ownersz, 4);
	memcpy(q, desc, descsz);
	return q + align_up(descsz, 4);
}

static void write_headers(uint8_t *img, const struct plan *p)
{
	USDT_ELF(Ehdr) *eh = (USDT_ELF(Ehdr) *)img;
	memset(img, 0, sizeof *eh + PH_COUNT * sizeof(USDT_ELF(Phdr)));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = USDT_ARCH_ELF_CLASS;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_ident[EI_OSABI] = ELFOSABI_SYSV;
	eh->e_type = ET_DYN;
	eh->e_machine = USDT_ARCH_ELF_MACHINE;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(USDT_ELF(Ehdr));
	eh->e_shoff = p->shdr_off;
	eh->e_ehsize = sizeof(USDT_ELF(Ehdr));
	eh->e_phentsize = sizeof(USDT_ELF(Phdr));
	eh->e_phnum = PH_COUNT;
	eh->e_shentsize = sizeof(USDT_ELF(Shdr));
	eh->e_shnum = SH_COUNT;
	eh->e_shstrndx = SH_SHSTRTAB;

	USDT_ELF(Phdr) *ph = (USDT_ELF(Phdr) *)(img + eh->e_phoff);
	/* The R+X segment runs up to the R+W one: with USDT_ARCH_PAGE_SIZE
	 * above the kernel's page size (aarch64: 64 KiB on a 4 KiB kernel)
	 * ld.so would otherwise map the hole between them as a third,
	 * PROT_NONE mapping; on x86_64 this covers the same pages as before. */
	const uint64_t b = p->base;
	set_phdr(&ph[PH_LOAD_RX], PT_LOAD, PF_R | PF_X, 0, p->rw_off, USDT_ARCH_PAGE_SIZE, b);
	/* to the end of the file: see "The whole file is loaded" above */
	set_phdr(&ph[PH_LOAD_RW], PT_LOAD, PF_R | PF_W, p->rw_off, p->total - p->rw_off, USDT_ARCH_PAGE_SIZE, b);
	set_phdr(&ph[PH_DYNAMIC], PT_DYNAMIC, p->ro_dynamic ? PF_R : PF_R | PF_W, p->dynamic_off, p->dynamic_size,
	         sizeof(ADDR), b);
	set_phdr(&ph[PH_NOTE], PT_NOTE, PF_R, p->buildid_off, p->buildid_size, 4, b);
	set_phdr(&ph[PH_NOTE_PROPERTY], PT_NOTE, PF_R, p->property_off, p->property_size, PROPERTY_ALIGN, b);
	set_phdr(&ph[PH_PROPERTY], PT_GNU_PROPERTY, PF_R, p->property_off, p->property_size, PROPERTY_ALIGN, b);
	set_phdr(&ph[PH_STACK], PT_GNU_STACK, PF_R | PF_W, 0, 0, 16, 0);
	ph[PH_STACK].p_vaddr = ph[PH_STACK].p_paddr = 0;

	USDT_ELF(Shdr) *sh = (USDT_ELF(Shdr) *)(img + p->shdr_off);
	memset(sh, 0, SH_COUNT * sizeof *sh);    /* SH_NULL, and SH_META when empty */
	set_shdr(&sh[SH_PROPERTY], SHSTR(property), SHT_NOTE, SHF_ALLOC, p->property_off, p->property_size,
	         b + p->property_off, 0, 0, PROPERTY_ALIGN, 0);
	set_shdr(&sh[SH_BUILDID], SHSTR(buildid), SHT_NOTE, SHF_ALLOC, p->buildid_off, p->buildid_size,
	         b + p->buildid_off, 0, 0, 4, 0);
	set_shdr(&sh[SH_HASH], SHSTR(hash), SHT_HASH, SHF_ALLOC, p->hash_off, p->hash_size, b + p->hash_off,
	         SH_DYNSYM, 0, 8, 4);
	set_shdr(&sh[SH_DYNSYM], SHSTR(dynsym), SHT_DYNSYM, SHF_ALLOC, p->dynsym_off, p->dynsym_size,
	         b + p->dynsym_off, SH_DYNSTR, 1, sizeof(ADDR), sizeof(USDT_ELF(Sym)));
	set_shdr(&sh[SH_DYNSTR], SHSTR(dynstr), SHT_STRTAB, SHF_ALLOC, p->dynstr_off, p->dynstr_size,
	         b + p->dynstr_off, 0, 0, 1, 0);
	set_shdr(&sh[SH_TEXT], SHSTR(text), SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, p->text_off, p->text_size,
	         b + p->text_off, 0, 0, TEXT_ALIGN, 0);
	set_shdr(&sh[SH_BASE], SHSTR(base), SHT_PROGBITS, SHF_ALLOC, p->base_off, 1, b + p->base_off,
	         0, 0, 1, 0);
	set_shdr(&sh[SH_DYNAMIC], SHSTR(dynamic), SHT_DYNAMIC, p->ro_dynamic ? SHF_ALLOC : SHF_ALLOC | SHF_WRITE, p->dynamic_off,
	         p->dynamic_size, b + p->dynamic_off, SH_DYNSTR, 0, sizeof(ADDR), sizeof(USDT_ELF(Dyn)));
	set_shdr(&sh[SH_PROBES], SHSTR(probes), SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, p->probes_off,
	         p->probes_size, b + p->probes_off, 0, 0, 2, 0);
	set_shdr(&sh[SH_NOTE], SHSTR(note), SHT_NOTE, 0, p->note_off, p->note_size, 0, 0, 0, 4, 0);
	if (p->meta_size > 0)   /* else an inactive entry (readelf fails on an empty note section) */
		set_shdr(&sh[SH_META], SHSTR(meta), SHT_NOTE, 0, p->meta_off, p->meta_size, 0, 0, 0, 4, 0);
	set_shdr(&sh[SH_SHSTRTAB], SHSTR(shstrtab), SHT_STRTAB, 0, p->shstrtab_off, sizeof shstrtab, 0,
	         0, 0, 1, 0);
	memcpy(img + p->shstrtab_off, &shstrtab, sizeof shstrtab);

	USDT_ELF(Dyn) *dyn = (USDT_ELF(Dyn) *)(img + p->dynamic_off);
	const int64_t tags[NDYN] = { DT_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT, DT_NULL };
	const uint64_t vals[NDYN] = { b + p->hash_off, b + p->dynstr_off, b + p->dynsym_off, p->dynstr_size,
	                                 sizeof(USDT_ELF(Sym)), 0 };
	for (int i = 0; i < NDYN; i++) {
		dyn[i].d_tag = (ADDR)tags[i];
		dyn[i].d_un.d_val = (ADDR)vals[i];
	}
}

/* memcpy for the short strings of the probe loop (names, argument specs,
 * the provider name): inline, without a call per string. */
static inline void copy_short(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	if (n >= 8) {
		if (n > 16) {
			memcpy(d, s, n);
			return;
		}
		uint64_t a, b;             /* two words, overlapping for n < 16 */
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	}
}

/* Zero [from, to): the gaps alignment leaves between sections. */
static void zero(uint8_t *img, size_t from, size_t to)
{
	memset(img + from, 0, to - from);
}

size_t usdt_elf_bound(const struct usdt_elf_desc *d, char *err)
{
	struct plan p;
	plan_head(d, &p);
	place_tail(&p);
	if (p.total > (size_t)1 << 31) {
		usdt_errf(err, "provider %s: ELF object would exceed 2 GiB", d->provider);
		return 0;
	}
	return p.total;
}

void usdt_elf_write(const struct usdt_elf_desc *d, uint8_t *img, struct usdt_elf_layout *layout)
{
	struct plan p;
	plan_head(d, &p);
	size_t provlen = p.provlen;

	/* Notes: build-id and GNU property. The property's owner "GNU" (4
	 * bytes) keeps its descriptor 8-aligned; its padding words are 0. */
	zero(img, sizeof(USDT_ELF(Ehdr)) + PH_COUNT * sizeof(USDT_ELF(Phdr)), p.property_off);
	const uint32_t prop[PROPERTY_WORDS] = { USDT_ARCH_GNU_PROPERTY_TYPE, 4, USDT_ARCH_GNU_PROPERTY_VALUE, 0 };
	put_note(img + p.property_off, "GNU", 4, NT_GNU_PROPERTY_TYPE_0, prop, PROPERTY_DESC_SIZE);
	zero(img, p.property_off + p.property_size, p.buildid_off);
	put_note(img + p.buildid_off, "GNU", 4, NT_GNU_BUILD_ID, d->build_id, USDT_ELF_BUILD_ID_SIZE);
	zero(img, p.buildid_off + p.buildid_size, p.hash_off);

	/* Symbols, hash table, probe sites and stapsdt notes, one probe at a
	 * time: each probe's name is read once, where it is written twice. */
	uint32_t *hash = (uint32_t *)(img + p.hash_off);
	uint32_t *buckets = hash + 2, *chains = hash + 2 + p.nbucket;
	hash[0] = (uint32_t)p.nbucket;
	hash[1] = (uint32_t)p.nsyms;
	buckets[0] = (uint32_t)d->nprobes;      /* the chain runs from the last symbol down */
	chains[0] = 0;
	zero(img, p.hash_off + p.hash_size, p.dynsym_off);
	USDT_ELF(Sym) *syms = (USDT_ELF(Sym) *)(img + p.dynsym_off);
	memset(&syms[0], 0, sizeof syms[0]);
	char *strs = (char *)(img + p.dynstr_off);
	size_t stroff = 1;
	strs[0] = '\0';
	/* "usdt_<provider>_", the same at the start of every symbol name:
	 * written once, then copied from the first symbol's name */
	const size_t symhead = strlen(SYM_PREFIX) + provlen + 1;
	char *symhead_str = strs + 1;
	if (d->nprobes > 0) {
		memcpy(symhead_str, SYM_PREFIX, strlen(SYM_PREFIX));
		memcpy(symhead_str + strlen(SYM_PREFIX), d->provider, provlen);
		symhead_str[symhead - 1] = '_';
	}
	uint8_t *note = img + p.note_off;
	const char *names = d->names;
	/* the note's fixed part up to the provider name, the same for all
	 * but the descriptor size and the addresses */
	const size_t addrs_at = sizeof(USDT_ELF(Nhdr)) + align_up(sizeof NOTE_STAPSDT_OWNER, 4);
	for (size_t i = 0; i < d->nprobes; i++) {
		const char *name, *spec;
		size_t namelen, speclen;
		if (d->probes != NULL) {
			name = d->probes[i].name;
			namelen = d->probes[i].namelen;
			spec = d->probes[i].argspec;
			speclen = d->probes[i].speclen;
		} else {
			name = names;
			namelen = strlen(name);
			names += namelen + 1;
			spec = d->specs + d->spec[i].off;
			speclen = d->spec[i].len;
		}
		uint64_t site = p.text_off + i * USDT_ARCH_SITE_STRIDE;
		uint64_t sem = p.probes_off + 2 * i;
		uint32_t symidx = (uint32_t)(i + 1);

		memcpy(img + site, usdt_arch_site_code, USDT_ARCH_SITE_STRIDE);

		char *sname = strs + stroff;
		if (i > 0)
			copy_short(sname, symhead_str, symhead);
		copy_short(sname + symhead, name, namelen);
		sname[symhead + namelen] = '\0';
		/* Field by field, in place (.dynsym is aligned): a struct built
		 * on the stack and copied was read back by wider loads than
		 * the stores that built it, a store-forwarding stall per
		 * probe that was a quarter of this function. */
		USDT_ELF(Sym) *sym = &syms[symidx];
		sym->st_name = (USDT_ELF(Word))stroff;
		sym->st_info = USDT_ELF_ST_INFO(STB_GLOBAL, STT_FUNC);
		sym->st_other = STV_DEFAULT;
		sym->st_shndx = SH_TEXT;
		sym->st_value = (ADDR)(p.base + site);
		sym->st_size = USDT_ARCH_SITE_STRIDE;
		stroff += symhead + namelen + 1;
		chains[symidx] = symidx - 1;    /* one bucket: see HASH_BUCKETS */

		/* The stapsdt note: pc, base, semaphore, then three strings.
		 * Stored field by field (notes are 4-aligned), for the same
		 * reason as the symbol. */
		size_t descsz = 3 * sizeof(ADDR) + provlen + 1 + namelen + 1 + speclen + 1;
		USDT_ELF(Nhdr) *nh = (USDT_ELF(Nhdr) *)note;
		nh->n_namesz = sizeof NOTE_STAPSDT_OWNER;
		nh->n_descsz = (USDT_ELF(Word))descsz;
		nh->n_type = NOTE_STAPSDT_TYPE;
		memcpy(note + sizeof *nh, NOTE_STAPSDT_OWNER, sizeof NOTE_STAPSDT_OWNER);
		uint8_t *q = note + addrs_at;
		ADDR a_pc = (ADDR)(p.base + site), a_base = (ADDR)(p.base + p.base_off), a_sem = (ADDR)(p.base + sem);
		memcpy(q, &a_pc, sizeof(ADDR));
		memcpy(q + sizeof(ADDR), &a_base, sizeof(ADDR));
		memcpy(q + 2 * sizeof(ADDR), &a_sem, sizeof(ADDR));
		q += 3 * sizeof(ADDR);
		copy_short(q, d->provider, provlen + 1);
		q += provlen + 1;
		copy_short(q, name, namelen);
		q[namelen] = '\0';
		q += namelen + 1;
		copy_short(q, spec, speclen);
		q[speclen] = '\0';
		q += speclen + 1;
		/* the note's padding (0-3 bytes): 4 zero bytes, one store; what
		 * they write past it is the next note's, or written after the
		 * loop (and usdt_elf_bound counts 2 bytes more per note) */
		memset(q, 0, 4);
		note += addrs_at + align_up(descsz, 4);
	}
	zero(img, p.dynstr_off + p.dynstr_size, p.text_off);   /* and .dynamic's place */
	size_t sites_end = p.text_off + d->nprobes * USDT_ARCH_SITE_STRIDE;
	memset(img + sites_end, 0xcc, p.extra_off - sites_end);
	if (d->extra_text_size > 0)
		memcpy(img + p.extra_off, d->extra_text, d->extra_text_size);
	img[p.base_off] = 0;    /* .stapsdt.base: one byte, content irrelevant */
	zero(img, p.rx_end, p.rw_off);
	zero(img, p.rw_off, p.note_off);        /* .dynamic's place, the semaphores */

	p.note_size = (size_t)(note - (img + p.note_off));
	place_tail(&p);
	if (d->meta_notes != NULL && d->meta_notes_size > 0)
		memcpy(img + p.meta_off, d->meta_notes, d->meta_notes_size);
	write_headers(img, &p);   /* also .dynamic and .shstrtab */
	zero(img, p.shstrtab_off + sizeof shstrtab, p.shdr_off);

	layout->size = p.total;
	layout->text = p.base + p.text_off;
	layout->extra_text = p.base + p.extra_off;
	layout->probes = p.base + p.probes_off;
	layout->stapsdt_base = p.base + p.base_off;
	layout->rw_offset = p.rw_off;
	layout->meta = p.meta_off;
}

int usdt_elf_build(const struct usdt_elf_desc *d, uint8_t **image, struct usdt_elf_layout *layout, char *err)
{
	struct usdt_elf_desc desc = *d;
	if (d->probes != NULL) {        /* sizes for the bound */
		desc.names_size = desc.specs_total = 0;
		for (size_t i = 0; i < d->nprobes; i++) {
			desc.names_size += d->probes[i].namelen + 1;
			desc.specs_total += d->probes[i].speclen + 1;
		}
	}
	size_t bound = usdt_elf_bound(&desc, err);
	if (bound == 0)
		return -1;
	uint8_t *img = malloc(bound);
	if (img == NULL)
		return usdt_errf(err, "out of memory building a %zu-byte ELF object", bound);
	usdt_elf_write(&desc, img, layout);
	*image = img;
	return 0;
}
