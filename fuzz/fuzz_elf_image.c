/*
 * fuzz_elf_image.c — libFuzzer target: the in-memory ELF builder
 * (usdt_elf_build, src/linux/elf_image.c) fed with providers made from
 * arbitrary bytes (provider and probe names of any non-NUL bytes, 0..64
 * probes, argument specs from usdt_arch_argspec with any signed sizes,
 * optional extra code, both .dynamic placements). Every built image is
 * re-parsed by an independent reader, libelf, and must be a valid object:
 * ELF header, program headers (p_vaddr == base + p_offset, the R+W one
 * running to the end of the file, inside the file, no
 * segment both writable and executable, the sections in the right
 * segments), section headers (inside the file, the order bcc needs),
 * the build-id note, the dynamic symbols reachable through .hash, the
 * .dynamic entries, and one .note.stapsdt note per probe (owner "stapsdt",
 * type 3, site/base/semaphore addresses inside .text/.stapsdt.base/.probes,
 * provider, name and argument strings equal to the inputs). Any mismatch
 * aborts (a finding).
 *
 * Input: byte 0 flags (bit 0 ro_dynamic, bit 1 extra code, bit 2 a link
 * address, from a later byte, as the map strategy's), byte 1 probe
 * count (% 65), then a length-prefixed provider name, then per probe a
 * length-prefixed name, an argument count (% 33) and one byte per argument
 * selecting its signed size; missing bytes read as 0.
 */
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "fuzz_input.h"
#include "linux/elf_image.h"
#include "usdt_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXPROBES 64
#define NAMEMAX 80
#define SPECMAX (USDT_ARG_MAX * 16)

/* A length-prefixed name of 0..NAMEMAX-1 non-NUL bytes. */
static void get_name(struct in *in, char *out)
{
	unsigned len = get(in) % NAMEMAX;
	for (unsigned i = 0; i < len; i++) {
		unsigned c = get(in);
		out[i] = (char)(c ? c : 'a' + i % 26);
	}
	out[len] = '\0';
}

#define FAIL(...) do { fprintf(stderr, "fuzz_elf_image: " __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)

static uint32_t sysv_hash(const char *s)
{
	uint32_t h = 0, g;
	while (*s) {
		h = (h << 4) + (unsigned char)*s++;
		g = h & 0xf0000000u;
		if (g)
			h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

struct sec {
	size_t idx;
	GElf_Shdr sh;
};

static int find_sec(Elf *e, size_t shstrndx, const char *name, struct sec *out)
{
	Elf_Scn *scn = NULL;
	int found = 0;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) == NULL)
			FAIL("gelf_getshdr: %s", elf_errmsg(-1));
		const char *n = elf_strptr(e, shstrndx, sh.sh_name);
		if (n == NULL)
			FAIL("section name offset %u unreadable", sh.sh_name);
		if (strcmp(n, name) == 0) {
			if (found++)
				FAIL("two sections named %s", name);
			out->idx = elf_ndxscn(scn);
			out->sh = sh;
		}
	}
	return found;
}

static void need_sec(Elf *e, size_t shstrndx, const char *name, struct sec *out)
{
	if (!find_sec(e, shstrndx, name, out))
		FAIL("no section %s", name);
}

static int in_range(uint64_t addr, uint64_t len, uint64_t lo, uint64_t size)
{
	return addr >= lo && addr <= lo + size && len <= lo + size - addr;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct in in = { data, size };
	char provider[NAMEMAX], names[MAXPROBES][NAMEMAX], specs[MAXPROBES][SPECMAX];
	struct usdt_elf_probe probes[MAXPROBES];
	uint8_t build_id[USDT_ELF_BUILD_ID_SIZE], extra[MAXPROBES * 32 + 16];
	static const int8_t sizes[8] = { 1, 2, 4, 8, -1, -2, -4, -8 };
	char err[USDT_ERRMSG_MAX];

	if (!init) {
		if (elf_version(EV_CURRENT) == EV_NONE)
			FAIL("libelf: %s", elf_errmsg(-1));
		init = 1;
	}
	unsigned flags = get(&in);
	size_t n = get(&in) % (MAXPROBES + 1);
	get_name(&in, provider);
	for (size_t i = 0; i < n; i++) {
		int8_t sz[USDT_ARG_MAX];
		get_name(&in, names[i]);
		size_t argc = get(&in) % (USDT_ARG_MAX + 1);
		for (size_t a = 0; a < argc; a++)
			sz[a] = sizes[get(&in) % 8];
		int len = usdt_arch_argspec(specs[i], sizeof specs[i], argc, sz);
		if (len < 0 || (size_t)len != strlen(specs[i]))
			FAIL("usdt_arch_argspec(%zu args) returned %d", argc, len);
		probes[i].name = names[i];
		probes[i].namelen = strlen(names[i]);
		probes[i].argspec = specs[i];
		probes[i].speclen = (size_t)len;
	}
	for (size_t i = 0; i < sizeof build_id; i++)
		build_id[i] = (uint8_t)(get(&in) ^ i);
	size_t extra_size = (flags & 2) ? (get(&in) % (n + 1)) * 32 + (get(&in) % 16) : 0;
	for (size_t i = 0; i < extra_size; i++)
		extra[i] = (uint8_t)get(&in);

	/* linked at 0, or (flag 4) at a page-aligned address as the map
	 * strategy links it: every address is then base + its offset */
	uint64_t link = (flags & 4) ? (uint64_t)(get(&in) + 1) << 28 : 0;
	struct usdt_elf_desc d = { .provider = provider, .probes = probes, .nprobes = n, .build_id = build_id,
	                           .extra_text = extra_size ? extra : NULL, .extra_text_size = extra_size,
	                           .ro_dynamic = flags & 1, .base = link };
	uint8_t *img = NULL;
	struct usdt_elf_layout lay;
	if (usdt_elf_build(&d, &img, &lay, err) != 0)
		FAIL("usdt_elf_build failed: %s", err);

	/* ---- independent re-parse ---- */
	Elf *e = elf_memory((char *)img, lay.size);
	if (e == NULL || elf_kind(e) != ELF_K_ELF)
		FAIL("libelf does not take the image: %s", elf_errmsg(-1));
	GElf_Ehdr eh;
	if (gelf_getehdr(e, &eh) == NULL || gelf_getclass(e) != ELFCLASS64)
		FAIL("ELF header: %s", elf_errmsg(-1));
	if (eh.e_type != ET_DYN || eh.e_machine != USDT_ARCH_ELF_MACHINE || eh.e_version != EV_CURRENT ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_ehsize != sizeof(Elf64_Ehdr) ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_entry != 0)
		FAIL("ELF header fields");
	if (eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize > lay.size ||
	    eh.e_phoff + (uint64_t)eh.e_phnum * eh.e_phentsize > lay.size)
		FAIL("header tables outside the image");
	size_t shstrndx, phnum, shnum;
	if (elf_getshdrstrndx(e, &shstrndx) != 0 || elf_getphdrnum(e, &phnum) != 0 || elf_getshdrnum(e, &shnum) != 0)
		FAIL("header counts: %s", elf_errmsg(-1));

	struct sec text, base, probes_s, note, dynsym, dynstr, hash, dynamic, bid;
	need_sec(e, shstrndx, ".text", &text);
	need_sec(e, shstrndx, ".stapsdt.base", &base);
	need_sec(e, shstrndx, ".probes", &probes_s);
	need_sec(e, shstrndx, ".note.stapsdt", &note);
	need_sec(e, shstrndx, ".dynsym", &dynsym);
	need_sec(e, shstrndx, ".dynstr", &dynstr);
	need_sec(e, shstrndx, ".hash", &hash);
	need_sec(e, shstrndx, ".dynamic", &dynamic);
	need_sec(e, shstrndx, ".note.gnu.build-id", &bid);
	if (!(text.idx < probes_s.idx && probes_s.idx < note.idx))
		FAIL("section order .text %zu .probes %zu .note.stapsdt %zu", text.idx, probes_s.idx, note.idx);
	if (text.sh.sh_addr != lay.text || probes_s.sh.sh_addr != lay.probes || base.sh.sh_addr != lay.stapsdt_base)
		FAIL("layout differs from the section headers");
	if (!(text.sh.sh_flags & SHF_EXECINSTR) || (text.sh.sh_flags & SHF_WRITE) || !(probes_s.sh.sh_flags & SHF_WRITE))
		FAIL("section flags");
	if (probes_s.sh.sh_size != 2 * n || text.sh.sh_size < n * USDT_ARCH_SITE_STRIDE + extra_size)
		FAIL("section sizes");

	/* every section inside the image; allocated ones at addr == offset */
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		if (sh.sh_type != SHT_NOBITS && !in_range(sh.sh_offset, sh.sh_size, 0, lay.size))
			FAIL("section %zu outside the image", elf_ndxscn(scn));
		if ((sh.sh_flags & SHF_ALLOC) && sh.sh_addr != link + sh.sh_offset)
			FAIL("section %zu: address != base + offset", elf_ndxscn(scn));
		if (sh.sh_addralign > 1 && sh.sh_offset % sh.sh_addralign != 0)
			FAIL("section %zu misaligned", elf_ndxscn(scn));
	}

	/* program headers */
	int nload = 0, nrx = 0, nrw = 0;
	GElf_Phdr rx = { 0 }, rw = { 0 };
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) == NULL)
			FAIL("gelf_getphdr %zu", i);
		if ((ph.p_flags & PF_W) && (ph.p_flags & PF_X))
			FAIL("segment %zu is writable and executable", i);
		if (ph.p_type == PT_GNU_STACK && (ph.p_flags & PF_X))
			FAIL("executable stack");
		if (ph.p_type == PT_GNU_STACK)
			continue;
		if (ph.p_vaddr != link + ph.p_offset || ph.p_filesz != ph.p_memsz ||
		    !in_range(ph.p_offset, ph.p_filesz, 0, lay.size))
			FAIL("segment %zu: vaddr/offset/size", i);
		if (ph.p_type == PT_LOAD) {
			nload++;
			if (ph.p_align != USDT_ARCH_PAGE_SIZE || ph.p_offset % ph.p_align != 0)
				FAIL("PT_LOAD %zu alignment", i);
			if (ph.p_flags & PF_X) {
				nrx++;
				rx = ph;
			} else if (ph.p_flags & PF_W) {
				nrw++;
				rw = ph;
			}
		}
		if (ph.p_type == PT_DYNAMIC && (ph.p_offset != dynamic.sh.sh_offset || ph.p_filesz != dynamic.sh.sh_size))
			FAIL("PT_DYNAMIC != .dynamic");
	}
	if (nload != 2 || nrx != 1 || nrw != 1)
		FAIL("%d PT_LOAD (%d R+X, %d R+W)", nload, nrx, nrw);
	if (rx.p_offset + rx.p_filesz > rw.p_offset)
		FAIL("segments overlap");
	if (rw.p_offset + rw.p_filesz != lay.size)
		FAIL("the R+W segment does not run to the end of the file (the whole file is loaded)");
	if (!in_range(text.sh.sh_addr, text.sh.sh_size, rx.p_vaddr, rx.p_memsz) ||
	    !in_range(base.sh.sh_addr, base.sh.sh_size, rx.p_vaddr, rx.p_memsz) ||
	    !in_range(hash.sh.sh_addr, hash.sh.sh_size, rx.p_vaddr, rx.p_memsz) ||
	    !in_range(dynsym.sh.sh_addr, dynsym.sh.sh_size, rx.p_vaddr, rx.p_memsz) ||
	    !in_range(dynstr.sh.sh_addr, dynstr.sh.sh_size, rx.p_vaddr, rx.p_memsz) ||
	    !in_range(bid.sh.sh_addr, bid.sh.sh_size, rx.p_vaddr, rx.p_memsz))
		FAIL("a read-only section outside the R+X segment");
	if (!in_range(probes_s.sh.sh_addr, probes_s.sh.sh_size, rw.p_vaddr, rw.p_memsz))
		FAIL(".probes outside the R+W segment");
	if (!in_range(dynamic.sh.sh_addr, dynamic.sh.sh_size, (flags & 1) ? rx.p_vaddr : rw.p_vaddr,
	              (flags & 1) ? rx.p_memsz : rw.p_memsz))
		FAIL(".dynamic in the wrong segment");
	if (note.sh.sh_flags & SHF_ALLOC)
		FAIL(".note.stapsdt is allocated");

	/* build-id note */
	Elf_Data *nd = elf_getdata(elf_getscn(e, bid.idx), NULL);
	GElf_Nhdr nh;
	size_t name_off, desc_off;
	if (nd == NULL || gelf_getnote(nd, 0, &nh, &name_off, &desc_off) == 0 || nh.n_type != NT_GNU_BUILD_ID ||
	    nh.n_namesz != 4 || memcmp((char *)nd->d_buf + name_off, "GNU", 4) != 0 ||
	    nh.n_descsz != USDT_ELF_BUILD_ID_SIZE || memcmp((char *)nd->d_buf + desc_off, build_id, sizeof build_id) != 0)
		FAIL("build-id note");

	/* dynamic entries */
	Elf_Data *dd = elf_getdata(elf_getscn(e, dynamic.idx), NULL);
	uint64_t dyn[DT_NUM] = { 0 };
	int seen_null = 0;
	for (size_t i = 0; dd != NULL && i < dynamic.sh.sh_size / sizeof(Elf64_Dyn); i++) {
		GElf_Dyn dy;
		gelf_getdyn(dd, (int)i, &dy);
		if (dy.d_tag == DT_NULL) {
			seen_null = 1;
			break;
		}
		if (dy.d_tag > 0 && dy.d_tag < DT_NUM)
			dyn[dy.d_tag] = dy.d_un.d_val;
	}
	if (!seen_null || dyn[DT_HASH] != hash.sh.sh_addr || dyn[DT_STRTAB] != dynstr.sh.sh_addr ||
	    dyn[DT_SYMTAB] != dynsym.sh.sh_addr || dyn[DT_STRSZ] != dynstr.sh.sh_size || dyn[DT_SYMENT] != sizeof(Elf64_Sym))
		FAIL(".dynamic entries");

	/* symbols: one per probe, at its site, found through .hash */
	if (dynsym.sh.sh_size / sizeof(Elf64_Sym) != n + 1 || dynsym.sh.sh_link != dynstr.idx)
		FAIL(".dynsym count/link");
	Elf_Data *sd = elf_getdata(elf_getscn(e, dynsym.idx), NULL);
	const uint32_t *ht = (const uint32_t *)(img + hash.sh.sh_offset);
	if (hash.sh.sh_size < 8 || ht[1] != n + 1 || hash.sh.sh_size != 4 * (2 + (uint64_t)ht[0] + ht[1]) || ht[0] == 0)
		FAIL(".hash header");
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		char want[2 * NAMEMAX + 8];
		gelf_getsym(sd, (int)(i + 1), &sym);
		const char *sn = elf_strptr(e, dynstr.idx, sym.st_name);
		snprintf(want, sizeof want, "usdt_%s_%s", provider, names[i]);
		if (sn == NULL || strcmp(sn, want) != 0 || sym.st_value != lay.text + i * USDT_ARCH_SITE_STRIDE ||
		    sym.st_shndx != text.idx || GELF_ST_TYPE(sym.st_info) != STT_FUNC)
			FAIL("symbol %zu", i + 1);
		/* the loader's lookup reaches a symbol of this name (names may repeat) */
		uint32_t k = ht[2 + sysv_hash(want) % ht[0]];
		size_t steps = 0;
		for (; k != 0 && steps <= n + 1; k = ht[2 + ht[0] + k], steps++) {
			GElf_Sym s2;
			if (k > n || gelf_getsym(sd, (int)k, &s2) == NULL)
				FAIL("hash chain index %u", k);
			const char *n2 = elf_strptr(e, dynstr.idx, s2.st_name);
			if (n2 != NULL && strcmp(n2, want) == 0)
				break;
		}
		if (k == 0 || steps > n + 1)
			FAIL("symbol %s not reachable through .hash", want);
	}

	/* stapsdt notes */
	Elf_Data *sn = elf_getdata(elf_getscn(e, note.idx), NULL);
	size_t off = 0, count = 0;
	while (sn != NULL && off < sn->d_size) {
		size_t next = gelf_getnote(sn, off, &nh, &name_off, &desc_off);
		if (next == 0)
			FAIL("note at %zu unparsable", off);
		if (count >= n)
			FAIL("more notes than probes");
		const char *owner = (const char *)sn->d_buf + name_off;
		const uint8_t *desc = (const uint8_t *)sn->d_buf + desc_off;
		if (nh.n_type != 3 || nh.n_namesz != 8 || memcmp(owner, "stapsdt", 8) != 0)
			FAIL("note %zu owner/type", count);
		if (nh.n_descsz < 24 + 3)
			FAIL("note %zu too short", count);
		uint64_t a[3];
		memcpy(a, desc, sizeof a);
		if (a[0] != lay.text + count * USDT_ARCH_SITE_STRIDE || !in_range(a[0], USDT_ARCH_SITE_STRIDE, text.sh.sh_addr, text.sh.sh_size))
			FAIL("note %zu: site address", count);
		if (a[1] != base.sh.sh_addr)
			FAIL("note %zu: base address", count);
		if (a[2] != probes_s.sh.sh_addr + 2 * count || !in_range(a[2], 2, probes_s.sh.sh_addr, probes_s.sh.sh_size))
			FAIL("note %zu: semaphore address", count);
		if (memcmp(img + (a[0] - link), usdt_arch_site_code, USDT_ARCH_SITE_STRIDE) != 0)
			FAIL("note %zu: site bytes", count);
		if (*(const uint16_t *)(img + (a[2] - link)) != 0)
			FAIL("note %zu: semaphore not zero", count);
		const char *s = (const char *)desc + 24, *end = (const char *)desc + nh.n_descsz;
		const char *want[3] = { provider, names[count], specs[count] };
		for (int k = 0; k < 3; k++) {
			size_t len = strnlen(s, (size_t)(end - s));
			if (s + len >= end || strcmp(s, want[k]) != 0)
				FAIL("note %zu: string %d", count, k);
			s += len + 1;
		}
		if (s != end)
			FAIL("note %zu: %zu trailing bytes", count, (size_t)(end - s));
		count++;
		off = next;
	}
	if (count != n)
		FAIL("%zu notes for %zu probes", count, n);
	if (extra_size && (lay.extra_text % 16 != 0 || memcmp(img + (lay.extra_text - link), extra, extra_size) != 0 ||
	                   !in_range(lay.extra_text, extra_size, text.sh.sh_addr, text.sh.sh_size)))
		FAIL("extra code");
	elf_end(e);
	free(img);
	return 0;
}
