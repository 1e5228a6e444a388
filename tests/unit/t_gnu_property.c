/*
 * t_gnu_property.c — the generated ELF object is marked shadow-stack
 * compatible (issue 9 item 15): a .note.gnu.property the dynamic loader
 * accepts, as ld would write it.
 *
 * On glibc with x86 shadow stacks (CET SHSTK) enforced, dlopen() refuses an
 * object without GNU_PROPERTY_X86_FEATURE_1_SHSTK (or, in permissive mode,
 * turns shadow stacks off for the process). Images from usdt_elf_build()
 * (with and without extra code, both .dynamic placements) are checked with
 * <elf.h>, the way glibc's _dl_process_pt_gnu_property reads them:
 *   - a PT_GNU_PROPERTY segment with p_align 8 (glibc ignores any other),
 *     inside the R+X PT_LOAD (the loader reads it from memory), equal to a
 *     section ".note.gnu.property" (SHT_NOTE, SHF_ALLOC, 8-aligned) and to
 *     a PT_NOTE of alignment 8 (older loaders scan PT_NOTE);
 *   - in it one NT_GNU_PROPERTY_TYPE_0 note, owner "GNU", n_descsz a
 *     multiple of 8, properties in ascending type order, each padded to 8,
 *     among them GNU_PROPERTY_X86_FEATURE_1_AND with data size 4 and the
 *     SHSTK bit set and the IBT bit clear (the sites do not start with
 *     endbr64: src/arch/x86_64.h);
 *   - the build-id PT_NOTE still holds only 4-aligned notes;
 *   - `readelf -nW` of the image (written to a file) shows
 *     "x86 feature: SHSTK" with no warning, `readelf -lW` a GNU_PROPERTY
 *     segment; the same file loads with dlopen() and a site called through
 *     usdt_arch_call() returns.
 */
#include <dlfcn.h>
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "check.h"
#include "linux/elf_image.h"
#include "usdt_internal.h"

#ifndef PT_GNU_PROPERTY
#define PT_GNU_PROPERTY 0x6474e553
#endif
#ifndef NT_GNU_PROPERTY_TYPE_0
#define NT_GNU_PROPERTY_TYPE_0 5
#endif
#ifndef GNU_PROPERTY_X86_FEATURE_1_AND
#define GNU_PROPERTY_X86_FEATURE_1_AND 0xc0000002
#define GNU_PROPERTY_X86_FEATURE_1_IBT (1U << 0)
#define GNU_PROPERTY_X86_FEATURE_1_SHSTK (1U << 1)
#endif
#define PROPERTY_ALIGN 8       /* ELFCLASS64 */
#define OUT_MAX 8192

static size_t up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static const Elf64_Shdr *section(const uint8_t *img, const char *name)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	const char *names = (const char *)img + sh[eh->e_shstrndx].sh_offset;
	for (int i = 0; i < eh->e_shnum; i++)
		if (strcmp(names + sh[i].sh_name, name) == 0)
			return &sh[i];
	return NULL;
}

/* glibc's walk (elf/dl-load.c _dl_process_pt_gnu_property): returns the
 * X86_FEATURE_1_AND value, or -1 with a reason when glibc would skip it. */
static long walk(const uint8_t *seg, size_t size, size_t align, const char **why)
{
	size_t off = 0;
	long found = -1;
	*why = "no NT_GNU_PROPERTY_TYPE_0 note";
	if (align != PROPERTY_ALIGN) {
		*why = "p_align is not 8";
		return -1;
	}
	while (off + sizeof(Elf64_Nhdr) < size) {
		const Elf64_Nhdr *nh = (const Elf64_Nhdr *)(seg + off);
		if (nh->n_namesz == 4 && nh->n_type == NT_GNU_PROPERTY_TYPE_0 &&
		    memcmp(seg + off + sizeof *nh, "GNU", 4) == 0) {
			if (nh->n_descsz < 8 || nh->n_descsz % 8 != 0) {
				*why = "n_descsz not a positive multiple of 8";
				return -1;
			}
			const uint8_t *p = seg + off + sizeof *nh + 4, *end = p + nh->n_descsz;
			if (end > seg + size) {
				*why = "note runs past the segment";
				return -1;
			}
			uint32_t last = 0;
			do {
				uint32_t type, datasz;
				memcpy(&type, p, 4);
				memcpy(&datasz, p + 4, 4);
				if (type < last) {
					*why = "properties not in ascending order";
					return -1;
				}
				p += 8;
				if (p + datasz > end) {
					*why = "property data runs past the note";
					return -1;
				}
				last = type;
				if (type == GNU_PROPERTY_X86_FEATURE_1_AND) {
					uint32_t v;
					if (datasz != 4) {
						*why = "X86_FEATURE_1_AND data size is not 4";
						return -1;
					}
					memcpy(&v, p, 4);
					found = v;
				}
				p += up(datasz, 8);
			} while (end - p >= 8);
			*why = found < 0 ? "no GNU_PROPERTY_X86_FEATURE_1_AND" : "ok";
			return found;
		}
		off += sizeof *nh + up(nh->n_namesz, align) + up(nh->n_descsz, align);
	}
	return -1;
}

static int run(const char *cmd, char *out, size_t len)
{
	FILE *f = popen(cmd, "r");
	size_t n = 0;
	if (f == NULL)
		return -1;
	while (n + 1 < len && fgets(out + n, (int)(len - n), f) != NULL)
		n += strlen(out + n);
	out[n] = '\0';
	return pclose(f);
}

static void check_image(int ro_dynamic, int extra, int with_tools)
{
	static const uint8_t stubs[32] = { 0xc3 };
	struct usdt_elf_probe pr[3] = {
		{ "alpha", "-4@%edi", 5, 7 }, { "beta", "", 4, 0 }, { "gamma", "8@%rdi 8@%rsi", 5, 13 },
	};
	uint8_t bid[USDT_ELF_BUILD_ID_SIZE] = { 1, 2, 3 };
	struct usdt_elf_desc d = { .provider = "gp", .probes = pr, .nprobes = 3, .build_id = bid,
	                           .extra_text = extra ? stubs : NULL, .extra_text_size = extra ? sizeof stubs : 0,
	                           .ro_dynamic = ro_dynamic };
	struct usdt_elf_layout lay;
	uint8_t *img = NULL;
	char err[USDT_ERRMSG_MAX], what[64];
	snprintf(what, sizeof what, "[ro_dynamic %d, extra %d]", ro_dynamic, extra);
	if (usdt_elf_build(&d, &img, &lay, err) != 0) {
		CHECK(0, "%s usdt_elf_build: %s", what, err);
		return;
	}
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + eh->e_phoff);
	const Elf64_Phdr *prop = NULL, *rx = NULL, *note8 = NULL;
	int bad_note4 = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_GNU_PROPERTY)
			prop = &ph[i];
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X))
			rx = &ph[i];
		if (ph[i].p_type == PT_NOTE && ph[i].p_align == 8)
			note8 = &ph[i];
		if (ph[i].p_type == PT_NOTE && ph[i].p_align == 4) {
			/* every note in it is a 4-aligned one (the build-id) */
			for (size_t o = 0; o + sizeof(Elf64_Nhdr) <= ph[i].p_filesz;) {
				const Elf64_Nhdr *nh = (const Elf64_Nhdr *)(img + ph[i].p_offset + o);
				bad_note4 |= nh->n_type == NT_GNU_PROPERTY_TYPE_0;
				o += sizeof *nh + up(nh->n_namesz, 4) + up(nh->n_descsz, 4);
			}
		}
	}
	const Elf64_Shdr *sh = section(img, ".note.gnu.property");
	CHECK(prop != NULL, "%s a PT_GNU_PROPERTY program header", what);
	CHECK(sh != NULL && sh->sh_type == SHT_NOTE && (sh->sh_flags & SHF_ALLOC) && sh->sh_addralign == 8 &&
	      sh->sh_offset % 8 == 0 && sh->sh_addr == sh->sh_offset,
	      "%s a .note.gnu.property section: SHT_NOTE, SHF_ALLOC, 8-aligned, addr == offset", what);
	if (prop == NULL || sh == NULL || rx == NULL) {
		free(img);
		return;
	}
	CHECK(prop->p_offset == sh->sh_offset && prop->p_vaddr == sh->sh_addr && prop->p_filesz == sh->sh_size &&
	      prop->p_memsz == sh->sh_size && prop->p_align == PROPERTY_ALIGN && prop->p_flags == PF_R,
	      "%s PT_GNU_PROPERTY = the section, p_align %lu, flags R", what, (unsigned long)prop->p_align);
	CHECK(prop->p_offset >= rx->p_offset && prop->p_offset + prop->p_filesz <= rx->p_offset + rx->p_filesz,
	      "%s inside the R+X PT_LOAD (read from memory by ld.so)", what);
	CHECK(note8 != NULL && note8->p_offset == prop->p_offset && note8->p_filesz == prop->p_filesz,
	      "%s a PT_NOTE of alignment 8 covers it too", what);
	CHECK(!bad_note4, "%s the 4-aligned PT_NOTE holds no property note", what);
	const char *why;
	long v = walk(img + prop->p_offset, prop->p_memsz, prop->p_align, &why);
	CHECK(v >= 0, "%s glibc's walk finds X86_FEATURE_1_AND: %s", what, why);
	CHECK(v >= 0 && (v & GNU_PROPERTY_X86_FEATURE_1_SHSTK), "%s SHSTK set (%#lx)", what, v);
	CHECK(v >= 0 && !(v & GNU_PROPERTY_X86_FEATURE_1_IBT), "%s IBT clear: sites do not start with endbr64", what);

	if (with_tools) {
		char path[] = "/tmp/t_gnu_property.XXXXXX", cmd[256], out[OUT_MAX];
		int fd = mkstemp(path);
		int wrote = fd >= 0 && write(fd, img, lay.size) == (ssize_t)lay.size;
		if (fd >= 0)
			close(fd);
		CHECK(wrote, "%s image written to %s", what, path);
		if (access("/usr/bin/readelf", X_OK) == 0) {
			snprintf(cmd, sizeof cmd, "readelf -nW %s 2>&1", path);
			int rc = run(cmd, out, sizeof out);
			CHECK(rc == 0 && strstr(out, "NT_GNU_PROPERTY_TYPE_0") && strstr(out, "x86 feature: SHSTK") &&
			      !strstr(out, "IBT") && !strstr(out, "arning") && !strstr(out, "<corrupt"),
			      "%s readelf -nW: x86 feature: SHSTK, no warning:\n%s", what, out);
			snprintf(cmd, sizeof cmd, "readelf -lW %s 2>&1", path);
			rc = run(cmd, out, sizeof out);
			CHECK(rc == 0 && strstr(out, "GNU_PROPERTY") != NULL && !strstr(out, "arning"),
			      "%s readelf -lW lists GNU_PROPERTY", what);
		} else {
			printf("# readelf not installed: tool checks skipped\n");
		}
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		CHECK(h != NULL, "%s dlopen accepts it: %s", what, h ? "ok" : dlerror());
		if (h != NULL) {
			void *site = dlsym(h, "usdt_gp_gamma");
			void *argv[2] = { (void *)1, (void *)2 };
			if (site != NULL)
				usdt_arch_call(site, 2, argv);
			CHECK(site != NULL, "%s site usdt_gp_gamma called and returned", what);
			dlclose(h);
		}
		unlink(path);
	}
	free(img);
}

int main(void)
{
	for (int ro = 0; ro <= 1; ro++)
		for (int extra = 0; extra <= 1; extra++)
			check_image(ro, extra, ro == extra);
	return check_done();
}
