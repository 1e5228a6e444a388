/*
 * usdt — list the runtime USDT providers of running processes, and trace
 * them with bpftrace, each argument printed as its declared C type.
 *
 *   usdt list [-p PID] [--json]
 *   usdt trace [-p PID] [--lib PATH] [--print] PROVIDER[:PROBE]...
 *   usdt cdecl [-p PID] [PROVIDER]...
 *
 * `list` finds every object libusdt loaded, in every process it may read:
 * mappings named /memfd:libusdt:PROVIDER (memfd strategy) or
 * .../libusdt-PID-PROVIDER-RANDOM.so (file strategy) in /proc/PID/maps,
 * the descriptor of the process that refers to the same inode (the path
 * tracers use: /proc/PID/fd/N for a memfd, the file for a file object;
 * forked children hold inherited descriptors of the same objects), then
 * reads the object through that descriptor: its .note.stapsdt notes (probe
 * names, argument specs, site and semaphore addresses) and its
 * .note.libusdt notes (module, function and the declared C type of each
 * argument, src/linux/type_note.h). "Attached" is read from the process's
 * memory: the semaphore (kernel-maintained by bpftrace, bcc, perf, GDB) is
 * non-zero, or the site's first byte is no longer the idle nop (a uprobe
 * or breakpoint without a semaphore). Objects without a descriptor are
 * hidden ones awaiting unload and are not listed. Needs no tracer.
 *
 * `trace` generates a bpftrace program and runs it. With -p it attaches
 * to that process's objects (usdt:/proc/PID/fd/N:provider:probe, -p PID);
 * without -p it traces every process through the probe libusdt.so carries
 * itself, usdt:LIB:libusdt:fire (arg0 provider, arg1 probe, arg2 argc,
 * arg3.. the probe's arguments as 64-bit words), filtered on the provider
 * and probe names, with the types taken from the running processes'
 * metadata; a process linked with libusdt.a carries libusdt:fire in its
 * executable, which is then attached to as well. bpftrace before 0.24 reads only arg0..arg5: through -p the
 * first six arguments, through libusdt:fire the first three; the rest are
 * reported as not readable. SIGINT (Ctrl-C, or kill) stops bpftrace and
 * usdt exits 0.
 *
 * Structured arguments ("struct NAME *", usdt_register_struct): the
 * metadata carries each structure's layout; `list` shows it, `trace`
 * declares the structures at the top of the bpftrace program and prints
 * every field by its type ({status=200 path="/x" ...}), and `cdecl` prints
 * the C declarations alone, for a bpftrace script of one's own (inline, or
 * in a header it #includes: `((struct request *)arg0)->status`) or for
 * `dtrace -C`. They use base C types only (bpftrace has no <stdint.h>),
 * with explicit padding, so that the offsets are those registered. A "json"
 * argument or field is printed by bpftrace between two \x1f bytes; usdt
 * reads bpftrace's output and pretty-prints the JSON there (marking text
 * bpftrace truncated, BPFTRACE_STRLEN, or that is not JSON).
 *
 * Exit status: 0 success, 1 nothing found or bpftrace failed, 2 usage.
 * Depends on nothing but libc (bpftrace only for `trace`).
 */
#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/type_note.h"
#include "structs.h"
#include "usdt.h"

/* Largest object read (libusdt's own limit is 2 GiB; nobody has that). */
#define OBJECT_MAX (256u << 20)
/* Longest /proc/PID/maps line and path handled. */
#define LINE_MAX_BYTES 8192
#define PATH_BYTES 4096
/* Descriptors examined per process. */
#define FDS_MAX 65536
/* bpftrace: oldest version whose usdt paths, casts and str() we use;
 * first version that reads arg6..arg11. */
#define BPFTRACE_MIN_MAJOR 0
#define BPFTRACE_MIN_MINOR 12
#define BPFTRACE_WIDE_MINOR 24
#define BPFTRACE_ARGS_OLD 6
#define BPFTRACE_ARGS_WIDE 12
/* Bytes of `bpftrace --version` / `--help` output examined. */
#define BPFTRACE_OUTPUT_MAX 8192
/* libusdt:fire: the probe's arguments start at arg3, nine of them. */
#define FIRE_FIRST_ARG 3
#define FIRE_WORDS 9
/* The idle site's first byte (x86 nop 0f 1f..., aarch64 nop 1f 20 03 d5). */
#define IDLE_BYTE_X86 0x0f
#define IDLE_BYTE_AARCH64 0x1f
/* Installed library paths tried for system-wide tracing. */
static const char *const installed_libs[] = {
	"/usr/local/lib/libusdt.so.1", "/usr/lib/libusdt.so.1", "/usr/lib/x86_64-linux-gnu/libusdt.so.1",
	"/usr/lib/aarch64-linux-gnu/libusdt.so.1", "/usr/lib/i386-linux-gnu/libusdt.so.1", "/usr/lib64/libusdt.so.1",
};
/* Marks a JSON string in bpftrace's output (pretty-printed by usdt). */
#define JSON_MARK '\x1f'
#define JSON_MARK_STR "\\x1f"
/* Deepest JSON nesting pretty-printed; deeper text is shown as it is. */
#define JSON_DEPTH_MAX 64
/* Longest bpftrace output line handled whole (longer ones pass through). */
#define OUT_LINE_MAX 65536
#define MEMFD_MARK "/memfd:libusdt:"
#define FILE_MARK "libusdt-"

enum strategy { OBJ_MEMFD, OBJ_FILE };

struct probe {
	char *name;              /* as Linux tracers show it */
	char *created;           /* as created ('-' kept), or NULL */
	char *function;          /* or NULL without metadata */
	char *module;            /* its provider's module (twins differ), or NULL */
	char *argspec;
	int argc;
	int8_t size[USDT_ARG_MAX];       /* signed size per argument, from the spec */
	char *types[USDT_ARG_MAX];       /* declared C types, or NULL */
	int typed;
	uint64_t pc, sem;
	int state_known, sem_value, site_byte, attached;
};

/* A structure layout from the metadata (type_note.h, structure note). */
struct tfield {
	uint32_t offset, size, kind;
	char *name, *type;
};
struct tstruct {
	char *name;
	uint32_t size, align, nfields;
	struct tfield *fields;
};

struct object {
	struct tstruct *structs;         /* layouts its probes use */
	size_t nstructs;
	pid_t pid;
	char comm[64];
	enum strategy strategy;
	char path[PATH_BYTES];   /* what a tracer should use */
	char *provider, *module;
	uint64_t base;           /* runtime address of file offset 0 */
	uint64_t link_delta;     /* link-time address - file offset */
	struct probe *probes;
	size_t nprobes;
};

struct objects {
	struct object *v;
	size_t n, cap;
};

/* Library files mapped by scanned processes (system-wide tracing). */
struct libs {
	char (*path)[PATH_BYTES];
	dev_t *dev;
	ino_t *ino;
	size_t n, cap;
};

static const char *prog = "usdt";

static void die_nomem(void)
{
	fprintf(stderr, "%s: out of memory\n", prog);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		die_nomem();
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (d == NULL)
		die_nomem();
	return d;
}

/* ---------- a growing string ---------- */

struct buf {
	char *s;
	size_t n, cap;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = b->cap - b->n;
		va_start(ap, fmt);
		int len = vsnprintf(b->s ? b->s + b->n : NULL, room, fmt, ap);
		va_end(ap);
		if (len < 0)
			die_nomem();
		if ((size_t)len < room) {
			b->n += (size_t)len;
			return;
		}
		b->cap = (b->cap + (size_t)len + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
}

/* ---------- reading an object ---------- */

static uint8_t *read_all(int fd, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size <= 0 || (uint64_t)st.st_size > OBJECT_MAX)
		return NULL;
	uint8_t *b = xrealloc(NULL, (size_t)st.st_size);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = pread(fd, b + got, (size_t)st.st_size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(b);
			return NULL;
		}
		got += (size_t)r;
	}
	*len = got;
	return b;
}

struct section {
	uint64_t off, size, addr;
	int found;
};

static uint64_t rd(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	if (n == 8) {
		memcpy(&v, p, 8);
	} else {
		uint32_t w;
		memcpy(&w, p, 4);
		v = w;
	}
	return v;
}

/* Find sections by name (ELF32 or ELF64, native byte order). 0 or -1. */
static int find_sections(const uint8_t *img, size_t len, const char *const *names, struct section *out, size_t n,
                         int *is64, unsigned *machine)
{
	if (len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0)
		return -1;
	*is64 = img[EI_CLASS] == ELFCLASS64;
	uint64_t shoff, shnum, shentsize, shstrndx;
	if (*is64) {
		Elf64_Ehdr eh;
		if (len < sizeof eh)
			return -1;
		memcpy(&eh, img, sizeof eh);
		shoff = eh.e_shoff, shnum = eh.e_shnum, shentsize = eh.e_shentsize, shstrndx = eh.e_shstrndx;
		*machine = eh.e_machine;
	} else {
		Elf32_Ehdr eh;
		if (len < sizeof eh)
			return -1;
		memcpy(&eh, img, sizeof eh);
		shoff = eh.e_shoff, shnum = eh.e_shnum, shentsize = eh.e_shentsize, shstrndx = eh.e_shstrndx;
		*machine = eh.e_machine;
	}
	size_t want = *is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	if (shentsize != want || shoff > len || shnum > (len - shoff) / want || shstrndx >= shnum)
		return -1;
	uint64_t soff[2] = { 0, 0 }, ssz[2] = { 0, 0 }, sname, saddr;
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t i = pass ? 0 : shstrndx; i < (pass ? shnum : shstrndx + 1); i++) {
			const uint8_t *sh = img + shoff + i * want;
			if (*is64) {
				Elf64_Shdr s;
				memcpy(&s, sh, sizeof s);
				sname = s.sh_name, soff[0] = s.sh_offset, ssz[0] = s.sh_size, saddr = s.sh_addr;
			} else {
				Elf32_Shdr s;
				memcpy(&s, sh, sizeof s);
				sname = s.sh_name, soff[0] = s.sh_offset, ssz[0] = s.sh_size, saddr = s.sh_addr;
			}
			if (soff[0] > len || ssz[0] > len - soff[0])
				return -1;
			if (pass == 0) {
				soff[1] = soff[0], ssz[1] = ssz[0];
				continue;
			}
			if (sname >= ssz[1])
				continue;
			const char *nm = (const char *)img + soff[1] + sname;
			size_t maxlen = ssz[1] - sname;
			for (size_t k = 0; k < n; k++)
				if (strnlen(nm, maxlen) == strlen(names[k]) && strncmp(nm, names[k], maxlen) == 0) {
					out[k].off = soff[0];
					out[k].size = ssz[0];
					out[k].addr = saddr;
					out[k].found = 1;
				}
		}
	}
	return 0;
}

/* Signed sizes from a stapsdt argument string ("-4@%edi 8@%rsi ..."). */
static int parse_argspec(const char *spec, int8_t *size)
{
	int n = 0;
	const char *p = spec;
	while (*p != '\0' && n < USDT_ARG_MAX) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		char *end;
		long v = strtol(p, &end, 10);
		size[n++] = end != p && *end == '@' ? (int8_t)v : 8;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	return n;
}

/* Walk the stapsdt notes: provider, name, argspec, pc, semaphore. */
static int parse_stapsdt(const uint8_t *img, const struct section *sec, int is64, struct object *o)
{
	size_t off = 0, asz = is64 ? 8 : 4;
	const uint8_t *s = img + sec->off;
	while (off + 12 <= sec->size) {
		uint32_t h[3];
		memcpy(h, s + off, sizeof h);
		size_t nsz = (h[0] + 3u) & ~3u, dsz = (h[1] + 3u) & ~3u;
		if (nsz > sec->size - off - 12 || dsz > sec->size - off - 12 - nsz)
			return -1;
		const uint8_t *name = s + off + 12, *d = name + nsz, *end = d + h[1];
		off += 12 + nsz + dsz;
		if (h[2] != 3 || h[0] != 8 || memcmp(name, "stapsdt", 8) != 0 || h[1] < 3 * asz)
			continue;
		const char *str[3];
		const uint8_t *q = d + 3 * asz;
		for (int k = 0; k < 3; k++) {
			const uint8_t *nul = memchr(q, 0, (size_t)(end - q));
			if (nul == NULL)
				return -1;
			str[k] = (const char *)q;
			q = nul + 1;
		}
		if (o->provider == NULL)
			o->provider = xstrdup(str[0]);
		o->probes = xrealloc(o->probes, (o->nprobes + 1) * sizeof *o->probes);
		struct probe *p = &o->probes[o->nprobes++];
		memset(p, 0, sizeof *p);
		p->pc = rd(d, asz);
		p->sem = rd(d + 2 * asz, asz);
		p->name = xstrdup(str[1]);
		p->argspec = xstrdup(str[2]);
		p->argc = parse_argspec(str[2], p->size);
	}
	return 0;
}

static void parse_meta(const uint8_t *img, const struct section *sec, struct object *o)
{
	size_t off = 0;
	static struct usdt_type_note nt;   /* large: not on the stack */
	memset(&nt, 0, sizeof nt);     /* short notes read the previous one */
	int rc;
	while ((rc = usdt_type_note_next(img + sec->off, sec->size, &off, &nt)) > 0) {
		if (nt.type == USDT_NT_LIBUSDT_STRUCT) {
			o->structs = xrealloc(o->structs, (o->nstructs + 1) * sizeof *o->structs);
			struct tstruct *t = &o->structs[o->nstructs++];
			t->name = xstrdup(nt.struct_name);
			t->size = nt.struct_size;
			t->align = nt.struct_align;
			t->nfields = nt.nfields;
			t->fields = xrealloc(NULL, nt.nfields * sizeof *t->fields);
			for (uint32_t f = 0; f < nt.nfields; f++) {
				t->fields[f].offset = nt.fields[f].offset;
				t->fields[f].size = nt.fields[f].size;
				t->fields[f].kind = nt.fields[f].kind;
				t->fields[f].name = xstrdup(nt.fields[f].name);
				t->fields[f].type = xstrdup(nt.fields[f].type);
			}
		}
		if (nt.type == USDT_NT_LIBUSDT_PROBE && nt.index < o->nprobes) {
			struct probe *p = &o->probes[nt.index];
			if ((int)nt.argc != p->argc)
				continue;
			p->created = xstrdup(nt.name);
			p->function = xstrdup(nt.function);
			p->module = xstrdup(nt.module);
			for (uint32_t a = 0; a < nt.argc; a++)
				p->types[a] = xstrdup(nt.types[a]);
			p->typed = 1;
			if (o->module == NULL)
				o->module = xstrdup(nt.module);
		}
	}
}

/* Read the object behind fd into o's probes. 0 or -1. */
static int read_object(int fd, struct object *o, unsigned *machine)
{
	size_t len;
	uint8_t *img = read_all(fd, &len);
	if (img == NULL)
		return -1;
	static const char *const names[] = { ".note.stapsdt", USDT_TYPE_NOTE_SECTION, ".stapsdt.base" };
	struct section sec[3] = { { 0, 0, 0, 0 }, { 0, 0, 0, 0 }, { 0, 0, 0, 0 } };
	int is64, rc = -1;
	if (find_sections(img, len, names, sec, 3, &is64, machine) == 0 && sec[0].found &&
	    parse_stapsdt(img, &sec[0], is64, o) == 0) {
		if (sec[1].found)
			parse_meta(img, &sec[1], o);
		/* libusdt links an object at 0, or where it maps it (the map
		 * strategy): link address - file offset, the same for every
		 * section, turns the notes' addresses into file offsets */
		if (sec[2].found)
			o->link_delta = sec[2].addr - sec[2].off;
		rc = 0;
	}
	free(img);
	return rc;
}

static void free_structs(struct object *o)
{
	for (size_t i = 0; i < o->nstructs; i++) {
		for (uint32_t f = 0; f < o->structs[i].nfields; f++) {
			free(o->structs[i].fields[f].name);
			free(o->structs[i].fields[f].type);
		}
		free(o->structs[i].fields);
		free(o->structs[i].name);
	}
	free(o->structs);
	o->structs = NULL;
	o->nstructs = 0;
}

/* Does the file at path carry libusdt:fire? */
static int has_fire_probe(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct object o;
	unsigned machine;
	memset(&o, 0, sizeof o);
	int found = 0;
	if (read_object(fd, &o, &machine) == 0)
		for (size_t i = 0; i < o.nprobes; i++)
			if (strcmp(o.probes[i].name, "fire") == 0 && o.provider && strcmp(o.provider, "libusdt") == 0)
				found = 1;
	close(fd);
	for (size_t i = 0; i < o.nprobes; i++) {
		free(o.probes[i].name);
		free(o.probes[i].argspec);
	}
	free(o.probes);
	free(o.provider);
	free_structs(&o);
	return found;
}

/* ---------- scanning processes ---------- */

struct mapping {
	uint64_t start, offset;
	dev_t dev;
	ino_t ino;
	char path[PATH_BYTES];
};

struct fdent {
	int fd;
	dev_t dev;
	ino_t ino;
};

static int is_object_path(const char *path, enum strategy *st)
{
	if (strncmp(path, MEMFD_MARK, strlen(MEMFD_MARK)) == 0) {
		*st = OBJ_MEMFD;
		return 1;
	}
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t bl = strcspn(base, " ");
	if (strncmp(base, FILE_MARK, strlen(FILE_MARK)) == 0 && bl > 3 && strncmp(base + bl - 3, ".so", 3) == 0) {
		*st = OBJ_FILE;
		return 1;
	}
	return 0;
}

static int is_lib_path(const char *path)
{
	const char *base = strrchr(path, '/');
	return base != NULL && strncmp(base + 1, "libusdt.so", 10) == 0 && strstr(path, " (deleted)") == NULL;
}

static void add_lib(struct libs *l, const char *path, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->dev[i] == dev && l->ino[i] == ino)
			return;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4;
		l->path = xrealloc(l->path, l->cap * sizeof *l->path);
		l->dev = xrealloc(l->dev, l->cap * sizeof *l->dev);
		l->ino = xrealloc(l->ino, l->cap * sizeof *l->ino);
	}
	snprintf(l->path[l->n], PATH_BYTES, "%s", path);
	l->dev[l->n] = dev;
	l->ino[l->n] = ino;
	l->n++;
}

static void read_state(int memfd, struct probe *p, uint64_t base, unsigned machine)
{
	uint16_t sem = 0;
	uint8_t site = 0;
	if (memfd < 0 || pread(memfd, &sem, sizeof sem, (off_t)(base + p->sem)) != (ssize_t)sizeof sem ||
	    pread(memfd, &site, 1, (off_t)(base + p->pc)) != 1)
		return;
	int idle = machine == EM_AARCH64 ? IDLE_BYTE_AARCH64 : IDLE_BYTE_X86;
	p->state_known = 1;
	p->sem_value = sem;
	p->site_byte = site;
	p->attached = sem != 0 || site != idle;
}

static void scan_process(pid_t pid, struct objects *objs, struct libs *libs)
{
	char path[PATH_BYTES], line[LINE_MAX_BYTES];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return;
	struct mapping *maps = NULL;
	size_t nmaps = 0;
	int maps_lib = 0;        /* the process maps a libusdt.so */
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long long start, end, offset, inode;
		unsigned maj, min;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &offset, &maj, &min, &inode,
		           &pos) < 7 || pos == 0)
			continue;
		char *p = line + pos;
		p[strcspn(p, "\n")] = '\0';
		enum strategy st;
		if (is_lib_path(p) && libs != NULL) {
			add_lib(libs, p, makedev(maj, min), (ino_t)inode);
			maps_lib = 1;
		}
		if (!is_object_path(p, &st))
			continue;
		size_t i;
		for (i = 0; i < nmaps; i++)
			if (maps[i].ino == (ino_t)inode && maps[i].dev == makedev(maj, min))
				break;
		if (i == nmaps) {
			maps = xrealloc(maps, (nmaps + 1) * sizeof *maps);
			maps[nmaps].start = UINT64_MAX;
			maps[nmaps].dev = makedev(maj, min);
			maps[nmaps].ino = (ino_t)inode;
			snprintf(maps[nmaps].path, sizeof maps[nmaps].path, "%s", p);
			nmaps++;
		}
		if (offset == 0 && start < maps[i].start)
			maps[i].start = start;
	}
	fclose(f);
	if (nmaps == 0)
		return;

	size_t nbefore = objs->n;
	/* the descriptors, once */
	struct fdent *fds = NULL;
	size_t nfds = 0;
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL && nfds < FDS_MAX) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		struct stat st;
		char fp[PATH_BYTES];
		snprintf(fp, sizeof fp, "/proc/%d/fd/%s", (int)pid, de->d_name);
		if (stat(fp, &st) != 0)
			continue;
		fds = xrealloc(fds, (nfds + 1) * sizeof *fds);
		fds[nfds].fd = atoi(de->d_name);
		fds[nfds].dev = st.st_dev;
		fds[nfds].ino = st.st_ino;
		nfds++;
	}
	if (d != NULL)
		closedir(d);

	char comm[64] = "?";
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(comm, sizeof comm, f) != NULL)
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
	int memfd = open(path, O_RDONLY | O_CLOEXEC);

	for (size_t i = 0; i < nmaps; i++) {
		int fdnum = -1;
		for (size_t k = 0; k < nfds && fdnum < 0; k++)
			if (fds[k].dev == maps[i].dev && fds[k].ino == maps[i].ino)
				fdnum = fds[k].fd;
		if (fdnum < 0 || maps[i].start == UINT64_MAX)
			continue;        /* hidden: awaiting unload, invisible to tracers */
		struct object o;
		memset(&o, 0, sizeof o);
		o.pid = pid;
		snprintf(o.comm, sizeof o.comm, "%s", comm);
		is_object_path(maps[i].path, &o.strategy);
		o.base = maps[i].start;
		char fp[PATH_BYTES];
		snprintf(fp, sizeof fp, "/proc/%d/fd/%d", (int)pid, fdnum);
		if (o.strategy == OBJ_MEMFD) {
			snprintf(o.path, sizeof o.path, "%s", fp);
		} else {
			snprintf(o.path, sizeof o.path, "%s", maps[i].path);
			char *del = strstr(o.path, " (deleted)");
			if (del != NULL)
				*del = '\0';
		}
		int ofd = open(fp, O_RDONLY | O_CLOEXEC);
		unsigned machine = 0;
		if (ofd < 0 || read_object(ofd, &o, &machine) != 0 || o.nprobes == 0) {
			if (ofd >= 0)
				close(ofd);
			free(o.probes);
			free(o.provider);
			free_structs(&o);
			continue;
		}
		close(ofd);
		if (o.module == NULL)
			o.module = xstrdup("");
		for (size_t k = 0; k < o.nprobes; k++)
			read_state(memfd, &o.probes[k], o.base - o.link_delta, machine);
		if (objs->n == objs->cap) {
			objs->cap = objs->cap ? 2 * objs->cap : 8;
			objs->v = xrealloc(objs->v, objs->cap * sizeof *objs->v);
		}
		objs->v[objs->n++] = o;
	}
	if (memfd >= 0)
		close(memfd);
	free(fds);
	free(maps);
	/* linked with libusdt.a: libusdt:fire is in the executable itself */
	if (libs != NULL && !maps_lib && objs->n > nbefore) {
		char exe[PATH_BYTES];
		struct stat st;
		snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
		ssize_t n = readlink(path, exe, sizeof exe - 1);
		if (n > 0 && stat(path, &st) == 0) {
			exe[n] = '\0';
			if (strstr(exe, " (deleted)") == NULL && has_fire_probe(exe))
				add_lib(libs, exe, st.st_dev, st.st_ino);
		}
	}
}

static int cmp_pid(const void *a, const void *b)
{
	const struct object *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return strcmp(x->provider, y->provider);
}

static void scan(pid_t only, struct objects *objs, struct libs *libs)
{
	if (only > 0) {
		scan_process(only, objs, libs);
	} else {
		DIR *d = opendir("/proc");
		struct dirent *de;
		pid_t self = getpid();
		while (d != NULL && (de = readdir(d)) != NULL) {
			char *end;
			long pid = strtol(de->d_name, &end, 10);
			if (*end != '\0' || pid <= 0 || pid == self)
				continue;
			scan_process((pid_t)pid, objs, libs);
		}
		if (d != NULL)
			closedir(d);
	}
	if (objs->n > 1)
		qsort(objs->v, objs->n, sizeof *objs->v, cmp_pid);
}

/* ---------- usdt list ---------- */

static const char *strategy_name(enum strategy s)
{
	return s == OBJ_MEMFD ? "memfd" : "file";
}

/* ---------- structures ---------- */

/* A structure "struct NAME *" argument type names: NAME, or NULL. */
static const char *struct_ptr_name(const char *type, char *name, size_t size)
{
	size_t n;
	if (type == NULL || strncmp(type, "struct ", 7) != 0 || (n = strlen(type)) < 10 ||
	    strcmp(type + n - 2, " *") != 0 || n - 9 >= size)
		return NULL;
	memcpy(name, type + 7, n - 9);
	name[n - 9] = '\0';
	return name;
}

/* Every structure known from the scanned objects, first layout of each
 * name (in the objects' order: a structure after those it contains). */
struct structs {
	const struct tstruct **v;
	const struct object **from;
	unsigned char *want;
	size_t n;
	int conflict;
};

static int same_struct(const struct tstruct *a, const struct tstruct *b)
{
	if (a->size != b->size || a->nfields != b->nfields)
		return 0;
	for (uint32_t f = 0; f < a->nfields; f++)
		if (a->fields[f].offset != b->fields[f].offset || strcmp(a->fields[f].name, b->fields[f].name) != 0 ||
		    strcmp(a->fields[f].type, b->fields[f].type) != 0)
			return 0;
	return 1;
}

static void structs_collect(struct structs *ss, const struct objects *objs)
{
	for (size_t i = 0; i < objs->n; i++)
		for (size_t k = 0; k < objs->v[i].nstructs; k++) {
			const struct tstruct *t = &objs->v[i].structs[k];
			size_t j;
			for (j = 0; j < ss->n; j++)
				if (strcmp(ss->v[j]->name, t->name) == 0)
					break;
			if (j < ss->n) {
				if (!same_struct(ss->v[j], t) && !ss->conflict) {
					ss->conflict = 1;
					fprintf(stderr, "%s: note: struct %s has different layouts in pids %d and %d; "
					                "using pid %d's\n", prog, t->name, (int)ss->from[j]->pid,
					        (int)objs->v[i].pid, (int)ss->from[j]->pid);
				}
				continue;
			}
			ss->v = xrealloc(ss->v, (ss->n + 1) * sizeof *ss->v);
			ss->from = xrealloc(ss->from, (ss->n + 1) * sizeof *ss->from);
			ss->want = xrealloc(ss->want, ss->n + 1);
			ss->v[ss->n] = t;
			ss->from[ss->n] = &objs->v[i];
			ss->want[ss->n++] = 0;
		}
}

static const struct tstruct *structs_find(const struct structs *ss, const char *name, size_t *at)
{
	for (size_t j = 0; j < ss->n; j++)
		if (strcmp(ss->v[j]->name, name) == 0) {
			if (at)
				*at = j;
			return ss->v[j];
		}
	return NULL;
}

/* Mark NAME and what it refers to (inline and by pointer) as wanted. */
static void structs_want(struct structs *ss, const char *name)
{
	size_t at;
	char sub[USDT_STRUCT_NAME_MAX + 8];
	const struct tstruct *t = structs_find(ss, name, &at);
	if (t == NULL || ss->want[at])
		return;
	ss->want[at] = 1;
	for (uint32_t f = 0; f < t->nfields; f++) {
		uint32_t kind = t->fields[f].kind & USDT_FK_KIND_MASK;
		const char *ty = t->fields[f].type;
		if (kind == USDT_FK_STRUCT && strncmp(ty, "struct ", 7) == 0)
			structs_want(ss, ty + 7);
		else if (kind == USDT_FK_STRUCTPTR && struct_ptr_name(ty, sub, sizeof sub))
			structs_want(ss, sub);
	}
}

/* The base C type a tracer is given for an integer field: bpftrace knows
 * no <stdint.h> types. */
static const char *c_int_type(const struct tfield *f)
{
	int sign = (f->kind & USDT_FK_SIGNED) != 0;
	if (strcmp(f->type, "char") == 0)
		return "char";
	switch (f->size) {
	case 1: return sign ? "signed char" : "unsigned char";
	case 2: return sign ? "short" : "unsigned short";
	case 4: return sign ? "int" : "unsigned int";
	default: return sign ? "long long" : "unsigned long long";
	}
}

/* The C declaration of one structure: base types, explicit padding (the
 * registered offsets are natural ones: no `packed` needed). */
static void struct_decl(struct buf *b, const struct tstruct *t)
{
	uint32_t at = 0;
	bprintf(b, "struct %s {\n", t->name);
	for (uint32_t f = 0; f < t->nfields; f++) {
		const struct tfield *fl = &t->fields[f];
		uint32_t kind = fl->kind & USDT_FK_KIND_MASK;
		struct buf d = { 0 };
		if (fl->offset > at)
			bprintf(b, "\tchar __pad%u[%u];\n", at, fl->offset - at);
		if (kind == USDT_FK_INT)
			bprintf(&d, "%s %s;", c_int_type(fl), fl->name);
		else if (kind == USDT_FK_STRING || kind == USDT_FK_JSON)
			bprintf(&d, "char *%s;", fl->name);
		else if (kind == USDT_FK_CHARS)
			bprintf(&d, "char %s[%u];", fl->name, fl->size);
		else if (kind == USDT_FK_STRUCT)
			bprintf(&d, "%s %s;", fl->type, fl->name);
		else if (kind == USDT_FK_STRUCTPTR)
			bprintf(&d, "%s%s;", fl->type, fl->name);
		else
			bprintf(&d, "void *%s;", fl->name);
		bprintf(b, "\t%-32s /* %s, offset %u */\n", d.s, fl->type, fl->offset);
		free(d.s);
		at = fl->offset + fl->size;
	}
	if (t->size > at)
		bprintf(b, "\tchar __pad%u[%u];\n", at, t->size - at);
	bprintf(b, "};\n");
}

/* The declarations of the wanted structures, in dependency order. */
static void structs_decls(struct buf *b, const struct structs *ss)
{
	for (size_t j = 0; j < ss->n; j++)
		if (ss->want[j])
			struct_decl(b, ss->v[j]);
}

static void list_structs(const struct object *o)
{
	for (size_t i = 0; i < o->nstructs; i++) {
		const struct tstruct *t = &o->structs[i];
		printf("  struct %s (%u bytes)\n", t->name, t->size);
		for (uint32_t f = 0; f < t->nfields; f++)
			printf("    +%-4u %-16s %s\n", t->fields[f].offset, t->fields[f].name, t->fields[f].type);
	}
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void print_types(FILE *f, const struct probe *p)
{
	for (int a = 0; a < p->argc; a++) {
		if (p->typed)
			fprintf(f, "%s%s", a ? ", " : "", p->types[a]);
		else
			fprintf(f, "%s%s%d", a ? ", " : "", p->size[a] < 0 ? "int" : "uint", 8 * abs(p->size[a]));
	}
}

static void list_text(const struct objects *objs)
{
	for (size_t i = 0; i < objs->n; i++) {
		const struct object *o = &objs->v[i];
		printf("%d %s: provider %s, module %s, %s object %s\n", (int)o->pid, o->comm, o->provider,
		       o->module[0] ? o->module : "-", strategy_name(o->strategy), o->path);
		for (size_t k = 0; k < o->nprobes; k++) {
			const struct probe *p = &o->probes[k];
			printf("  %-9s %s:%s(", !p->state_known ? "?" : p->attached ? "attached" : "-", o->provider,
			       p->name);
			print_types(stdout, p);
			printf(")");
			if (!p->typed)
				printf(" [no type metadata]");
			else if (strcmp(p->module, o->module) != 0)
				printf(" [module %s]", p->module[0] ? p->module : "-");
			printf("\n");
		}
		list_structs(o);
	}
}

static void list_json(const struct objects *objs)
{
	printf("[");
	for (size_t i = 0; i < objs->n; i++) {
		const struct object *o = &objs->v[i];
		printf("%s\n  {\"pid\": %d, \"command\": ", i ? "," : "", (int)o->pid);
		json_str(stdout, o->comm);
		printf(", \"provider\": ");
		json_str(stdout, o->provider);
		printf(", \"module\": ");
		json_str(stdout, o->module);
		printf(", \"strategy\": \"%s\", \"path\": ", strategy_name(o->strategy));
		json_str(stdout, o->path);
		printf(", \"base\": \"0x%" PRIx64 "\",\n   \"probes\": [", o->base);
		for (size_t k = 0; k < o->nprobes; k++) {
			const struct probe *p = &o->probes[k];
			printf("%s\n    {\"name\": ", k ? "," : "");
			json_str(stdout, p->name);
			printf(", \"created_as\": ");
			if (p->created)
				json_str(stdout, p->created);
			else
				printf("null");
			printf(", \"module\": ");
			if (p->module)
				json_str(stdout, p->module);
			else
				printf("null");
			printf(", \"function\": ");
			if (p->function)
				json_str(stdout, p->function);
			else
				printf("null");
			printf(", \"types\": [");
			for (int a = 0; a < p->argc; a++) {
				printf("%s", a ? ", " : "");
				if (p->typed)
					json_str(stdout, p->types[a]);
				else
					printf("null");
			}
			printf("], \"argspec\": ");
			json_str(stdout, p->argspec);
			if (p->state_known)
				printf(", \"attached\": %s, \"semaphore\": %d, \"site_byte\": \"0x%02x\"}",
				       p->attached ? "true" : "false", p->sem_value, p->site_byte);
			else
				printf(", \"attached\": null, \"semaphore\": null, \"site_byte\": null}");
		}
		printf("],\n   \"structs\": [");
		for (size_t k = 0; k < o->nstructs; k++) {
			const struct tstruct *t = &o->structs[k];
			printf("%s\n    {\"name\": ", k ? "," : "");
			json_str(stdout, t->name);
			printf(", \"size\": %u, \"align\": %u, \"fields\": [", t->size, t->align);
			for (uint32_t f = 0; f < t->nfields; f++) {
				printf("%s{\"name\": ", f ? ", " : "");
				json_str(stdout, t->fields[f].name);
				printf(", \"type\": ");
				json_str(stdout, t->fields[f].type);
				printf(", \"offset\": %u, \"size\": %u}", t->fields[f].offset, t->fields[f].size);
			}
			printf("]}");
		}
		printf("]}");
	}
	printf("%s]\n", objs->n ? "\n" : "");
}

/* ---------- usdt trace ---------- */

struct target {
	char provider[USDT_PROVIDER_NAME_MAX + 1];
	char probe[2 * USDT_PROBE_NAME_MAX + 1];    /* "" = every probe */
	int matched;
};

static int has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static int target_match(const struct target *t, const char *provider, const char *probe)
{
	return fnmatch(t->provider, provider, 0) == 0 && (t->probe[0] == '\0' || fnmatch(t->probe, probe, 0) == 0);
}

/* Run `bpftrace ARG` and keep the start of its output (stdout and
 * stderr) in out. Returns 0, or -1 when it could not be run. */
static int run_capture(const char *bpftrace, const char *arg, char *out, size_t outsize)
{
	int pfd[2];
	if (pipe(pfd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		execlp(bpftrace, bpftrace, arg, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	size_t n = 0;
	char sink[512];
	for (;;) {          /* read to the end, keep what fits */
		ssize_t r = n < outsize - 1 ? read(pfd[0], out + n, outsize - 1 - n) : read(pfd[0], sink, sizeof sink);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n < outsize - 1)
			n += (size_t)r;
	}
	out[n] = '\0';
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -1 : 0;
}

/* bpftrace's version, as major*1000 + minor, or -1 (not found), -2 (no version). */
static int bpftrace_version(const char *bpftrace)
{
	char out[BPFTRACE_OUTPUT_MAX];
	if (run_capture(bpftrace, "--version", out, sizeof out) != 0)
		return -1;
	const char *v = strstr(out, "v");
	int major, minor;
	if (v == NULL || sscanf(v + 1, "%d.%d", &major, &minor) != 2)
		return -2;
	return major * 1000 + minor;
}

/* Does this bpftrace take --no-warnings? (0.17 warns "Addrspace mismatch"
 * on str(arg0) of usdt probes in predicates, harmlessly.) */
static int bpftrace_has_no_warnings(const char *bpftrace)
{
	char out[BPFTRACE_OUTPUT_MAX];
	return run_capture(bpftrace, "--help", out, sizeof out) == 0 && strstr(out, "--no-warnings") != NULL;
}

/* The structures `usdt trace` knows, and those its program declares. */
static struct structs trace_structs;

/* The fields of structure t at bpftrace expression prefix `expr` (e.g.
 * "((struct request *)arg0)->"), as " {name=value ...}". */
static void fields_format(const struct tstruct *t, const char *expr, struct buf *fmt, struct buf *args, int depth)
{
	bprintf(fmt, "{");
	for (uint32_t f = 0; f < t->nfields; f++) {
		const struct tfield *fl = &t->fields[f];
		uint32_t kind = fl->kind & USDT_FK_KIND_MASK;
		const struct tstruct *sub = kind == USDT_FK_STRUCT && strncmp(fl->type, "struct ", 7) == 0 ?
		                            structs_find(&trace_structs, fl->type + 7, NULL) : NULL;
		bprintf(fmt, "%s%s=", f ? " " : "", fl->name);
		if (kind == USDT_FK_INT) {
			int sign = (fl->kind & USDT_FK_SIGNED) != 0;
			bprintf(fmt, "%s", fl->size == 8 ? (sign ? "%ld" : "%lu") : (sign ? "%d" : "%u"));
			bprintf(args, ", %s%s", expr, fl->name);
		} else if (kind == USDT_FK_STRING) {
			bprintf(fmt, "\\\"%%s\\\"");
			bprintf(args, ", str(%s%s)", expr, fl->name);
		} else if (kind == USDT_FK_JSON) {
			bprintf(fmt, JSON_MARK_STR "%%s" JSON_MARK_STR);
			bprintf(args, ", str(%s%s)", expr, fl->name);
		} else if (kind == USDT_FK_CHARS) {
			bprintf(fmt, "\\\"%%s\\\"");
			bprintf(args, ", %s%s", expr, fl->name);
		} else if (sub != NULL && depth < JSON_DEPTH_MAX) {
			struct buf e = { 0 };
			bprintf(&e, "%s%s.", expr, fl->name);
			fields_format(sub, e.s, fmt, args, depth + 1);
			free(e.s);
		} else {
			bprintf(fmt, "0x%%lx");
			bprintf(args, ", (uint64)%s%s", expr, fl->name);
		}
	}
	bprintf(fmt, "}");
}

/* One printf argument and its conversion, for argument `a` of p read as
 * bpftrace's `var` (arg0.. or arg3.. of libusdt:fire). */
static void arg_format(const struct probe *p, int a, const char *var, struct buf *fmt, struct buf *args)
{
	const char *type = p->typed ? p->types[a] : NULL;
	int size = p->size[a];
	char sname[USDT_STRUCT_NAME_MAX + 8];
	const struct tstruct *t = struct_ptr_name(type, sname, sizeof sname) ?
	                          structs_find(&trace_structs, sname, NULL) : NULL;
	if (t != NULL) {
		struct buf e = { 0 };
		structs_want(&trace_structs, sname);
		bprintf(&e, "((struct %s *)%s)->", sname, var);
		bprintf(fmt, " ");
		fields_format(t, e.s, fmt, args, 0);
		free(e.s);
	} else if (type != NULL && strcmp(type, "json") == 0) {
		bprintf(fmt, " " JSON_MARK_STR "%%s" JSON_MARK_STR);
		bprintf(args, ", str(%s)", var);
	} else if (type != NULL && strcmp(type, "char *") == 0) {
		bprintf(fmt, " \\\"%%s\\\"");
		bprintf(args, ", str(%s)", var);
	} else if (type != NULL && strstr(type, "*") != NULL) {
		bprintf(fmt, " 0x%%lx");
		bprintf(args, ", (uint64)%s", var);
	} else if (size < 0) {
		bprintf(fmt, " %s", size == -8 ? "%ld" : "%d");
		bprintf(args, ", (int%d)%s", -8 * size, var);
	} else {
		bprintf(fmt, " %s", size == 8 ? "%lu" : "%u");
		bprintf(args, ", (uint%d)%s", 8 * size, var);
	}
}

/* Emit one action: the line printed for each fire of p. first: the
 * bpftrace argument holding the probe's first argument; readable: how
 * many of its arguments bpftrace can read there. */
static void emit_action(struct buf *out, const char *provider, const struct probe *p, int first, int readable,
                        int systemwide)
{
	struct buf fmt = { 0 }, args = { 0 };
	bprintf(&fmt, "%%s %%d %s:%s", provider, p->name);
	bprintf(&args, ", strftime(\"%%H:%%M:%%S\", nsecs), pid");
	int n = p->argc < readable ? p->argc : readable;
	for (int a = 0; a < n; a++) {
		char var[16];
		snprintf(var, sizeof var, "arg%d", first + a);
		arg_format(p, a, var, &fmt, &args);
	}
	if (p->argc > n)
		bprintf(&fmt, " ...");
	if (systemwide)
		bprintf(out, "/str(arg0) == \"%s\" && str(arg1) == \"%s\"/ ", provider, p->name);
	bprintf(out, "{ printf(\"%s\\n\"%s); }\n", fmt.s, args.s);
	free(fmt.s);
	free(args.s);
}

static const struct probe *find_known(const struct objects *objs, const char *provider, const char *name,
                                      int *conflict)
{
	const struct probe *found = NULL;
	for (size_t i = 0; i < objs->n; i++) {
		if (strcmp(objs->v[i].provider, provider) != 0)
			continue;
		for (size_t k = 0; k < objs->v[i].nprobes; k++) {
			const struct probe *p = &objs->v[i].probes[k];
			if (strcmp(p->name, name) != 0 || !p->typed)
				continue;
			if (found == NULL)
				found = p;
			else if (found->argc != p->argc || memcmp(found->size, p->size, (size_t)p->argc) != 0)
				*conflict = 1;
			else
				for (int a = 0; a < p->argc; a++)
					if (strcmp(found->types[a], p->types[a]) != 0)
						*conflict = 1;
		}
	}
	return found;
}

/* ---------- JSON in bpftrace's output ---------- */

static void indent(struct buf *b, int depth)
{
	bprintf(b, "\n  %*s", 2 * depth, "");
}

/* Pretty-print JSON text j[0..n) into b, continuation lines indented
 * (the first line continues the output line). 0, 1 when the text ends
 * early (bpftrace truncates strings: BPFTRACE_STRLEN), -1 when it is not
 * JSON (b then holds nothing useful). */
static int json_pretty(const char *j, size_t n, struct buf *b)
{
	char stack[JSON_DEPTH_MAX];
	int depth = 0, in_str = 0, want_value = 1, any = 0;
	for (size_t i = 0; i < n; i++) {
		char c = j[i];
		if (in_str) {
			bprintf(b, "%c", c);
			if (c == '\\' && i + 1 < n)
				bprintf(b, "%c", j[++i]);
			else if (c == '"')
				in_str = 0;
			if (in_str || depth > 0)
				continue;
			for (size_t k = i + 1; k < n; k++)      /* a string alone */
				if (!isspace((unsigned char)j[k]))
					return -1;
			return 0;
		}
		switch (c) {
		case ' ': case '\t': case '\n': case '\r':
			break;
		case '"':
			in_str = 1;
			want_value = 0;
			any = 1;
			bprintf(b, "\"");
			break;
		case '{': case '[':
			if (depth == JSON_DEPTH_MAX)
				return -1;
			stack[depth++] = c;
			any = 1;
			bprintf(b, "%c", c);
			/* an empty container stays on its line */
			{
				size_t k = i + 1;
				while (k < n && (j[k] == ' ' || j[k] == '\t' || j[k] == '\n' || j[k] == '\r'))
					k++;
				if (k < n && j[k] == (c == '{' ? '}' : ']')) {
					bprintf(b, "%c", j[k]);
					depth--;
					i = k;
					want_value = 0;
					break;
				}
			}
			indent(b, depth);
			want_value = 1;
			break;
		case '}': case ']':
			if (depth == 0 || stack[depth - 1] != (c == '}' ? '{' : '['))
				return -1;
			depth--;
			indent(b, depth);
			bprintf(b, "%c", c);
			want_value = 0;
			break;
		case ',':
			if (depth == 0 || want_value)
				return -1;
			bprintf(b, ",");
			indent(b, depth);
			want_value = 1;
			break;
		case ':':
			if (depth == 0 || stack[depth - 1] != '{')
				return -1;
			bprintf(b, ": ");
			want_value = 1;
			break;
		default: {
			/* a number, true, false or null */
			size_t k = i;
			while (k < n && (isalnum((unsigned char)j[k]) || j[k] == '-' || j[k] == '+' || j[k] == '.'))
				k++;
			size_t len = k - i;
			int lit = (len == 4 && (strncmp(j + i, "true", 4) == 0 || strncmp(j + i, "null", 4) == 0)) ||
			          (len == 5 && strncmp(j + i, "false", 5) == 0);
			int num = len > 0 && (isdigit((unsigned char)j[i]) || j[i] == '-');
			for (size_t m = i; num && m < k; m++)
				num = isdigit((unsigned char)j[m]) || strchr("+-.eE", j[m]) != NULL;
			if (!lit && !num) {
				/* the end of a truncated literal ("tr") is not an error */
				if (k == n && len > 0 && len < 5 &&
				    (strncmp(j + i, "true", len) == 0 || strncmp(j + i, "null", len) == 0 ||
				     strncmp(j + i, "false", len) == 0)) {
					bprintf(b, "%.*s", (int)len, j + i);
					return 1;
				}
				return -1;
			}
			bprintf(b, "%.*s", (int)len, j + i);
			i = k - 1;
			want_value = 0;
			any = 1;
		}
		}
		if (depth == 0 && any && !in_str) {
			/* one value: only spaces may follow */
			for (size_t k = i + 1; k < n; k++)
				if (!isspace((unsigned char)j[k]))
					return -1;
			return 0;
		}
	}
	return any ? 1 : -1;
}

/* Rewrite one output line: each \x1f-delimited JSON text pretty-printed. */
static void json_line(const char *line, size_t len, FILE *out)
{
	struct buf b = { 0 };
	const char *p = line, *end = line + len;
	bprintf(&b, "%s", "");
	while (p < end) {
		const char *m = memchr(p, JSON_MARK, (size_t)(end - p));
		const char *m2 = m ? memchr(m + 1, JSON_MARK, (size_t)(end - m - 1)) : NULL;
		if (m == NULL || m2 == NULL) {
			bprintf(&b, "%.*s", (int)(end - p), p);
			break;
		}
		bprintf(&b, "%.*s", (int)(m - p), p);
		struct buf pj = { 0 };
		bprintf(&pj, "%s", "");
		int rc = json_pretty(m + 1, (size_t)(m2 - m - 1), &pj);
		if (rc < 0)
			bprintf(&b, "%.*s (not JSON)", (int)(m2 - m - 1), m + 1);
		else
			bprintf(&b, "%s%s", pj.s, rc ? " ... (truncated: bpftrace reads BPFTRACE_STRLEN bytes)" : "");
		free(pj.s);
		p = m2 + 1;
	}
	fputs(b.s, out);
	free(b.s);
}

/* Copy bpftrace's output from fd to stdout line by line, JSON
 * pretty-printed, flushed per line. */
static void filter_output(int fd)
{
	static char line[OUT_LINE_MAX];
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, line + n, sizeof line - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		size_t start = 0;
		for (size_t i = 0; i < n; i++)
			if (line[i] == '\n') {
				json_line(line + start, i + 1 - start, stdout);
				start = i + 1;
			}
		if (start == 0 && n == sizeof line) {       /* a huge line: as it is */
			fwrite(line, 1, n, stdout);
			n = 0;
		} else {
			memmove(line, line + start, n - start);
			n -= start;
		}
		fflush(stdout);
	}
	if (n > 0)
		json_line(line, n, stdout);
	fflush(stdout);
}

static volatile sig_atomic_t child_pid;

static void forward(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	/* A terminal's Ctrl-C reaches bpftrace itself (same process group):
	 * forward only signals sent to us alone. */
	if (child_pid > 0 && (si == NULL || si->si_code != SI_KERNEL))
		kill((pid_t)child_pid, sig);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: usdt list [-p PID] [--json]\n"
		"       usdt trace [-p PID] [--lib PATH] [--print] PROVIDER[:PROBE]...\n"
		"       usdt cdecl [-p PID] [PROVIDER]...\n"
		"\n"
		"list   every process with runtime USDT providers (libusdt): provider, module,\n"
		"       probes with their declared C argument types, whether a tracer is\n"
		"       attached now, and the path tracers use for the object\n"
		"trace  run bpftrace, printing each fire with its arguments formatted by type;\n"
		"       -p: that process's objects; without -p: every process, through\n"
		"       usdt:LIB:libusdt:fire (LIB from the processes' maps, --lib, or the\n"
		"       installed library); --print: print the program instead of running it\n"
		"cdecl  C declarations of the structures the probes' arguments point to, for\n"
		"       a bpftrace program (inline or #include) or dtrace -C\n"
		"PROBE may use shell wildcards (* ? [...]).\n");
}

static pid_t parse_pid(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v <= 0 || v > INT_MAX) {
		fprintf(stderr, "%s: bad pid '%s'\n", prog, s);
		exit(2);
	}
	return (pid_t)v;
}

static int cmd_list(int argc, char **argv)
{
	pid_t pid = 0;
	int json = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
			pid = parse_pid(argv[++i]);
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) {
		fprintf(stderr, "%s: no process %d\n", prog, (int)pid);
		return 1;
	}
	/* static: what was read lives until exit (a one-shot command; leak
	 * checkers see it as reachable) */
	static struct objects objs;
	scan(pid, &objs, NULL);
	if (json)
		list_json(&objs);
	else if (objs.n == 0)
		fprintf(stderr, "%s: no runtime providers found%s\n", prog,
		        getuid() != 0 ? " (only processes you may trace are read; try as root)" : "");
	else
		list_text(&objs);
	return 0;
}

static int cmd_cdecl(int argc, char **argv)
{
	pid_t pid = 0;
	static char **want;              /* live until exit, see cmd_list */
	int nwant = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
			pid = parse_pid(argv[++i]);
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-') {
			usage(stderr);
			return 2;
		} else {
			want = xrealloc(want, (size_t)(nwant + 1) * sizeof *want);
			want[nwant++] = argv[i];
		}
	}
	if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) {
		fprintf(stderr, "%s: no process %d\n", prog, (int)pid);
		return 1;
	}
	static struct objects objs, chosen;   /* live until exit, see cmd_list */
	scan(pid, &objs, NULL);
	for (size_t i = 0; i < objs.n; i++) {
		int match = nwant == 0;
		for (int k = 0; k < nwant && !match; k++)
			match = fnmatch(want[k], objs.v[i].provider, 0) == 0;
		if (!match)
			continue;
		chosen.v = xrealloc(chosen.v, (chosen.n + 1) * sizeof *chosen.v);
		chosen.v[chosen.n++] = objs.v[i];
	}
	static struct structs ss;
	structs_collect(&ss, &chosen);
	if (ss.n == 0) {
		char where[32] = "";
		if (pid > 0)
			snprintf(where, sizeof where, " in process %d", (int)pid);
		fprintf(stderr, "%s: no structure types found (%zu provider object%s%s%s)\n", prog, chosen.n,
		        chosen.n == 1 ? "" : "s", where, getuid() != 0 ? "; only processes you may trace are read" : "");
		return 1;
	}
	memset(ss.want, 1, ss.n);
	static struct buf b;
	bprintf(&b, "/* C declarations of the structures of libusdt probe arguments (usdt cdecl):\n"
	            " * base C types, explicit padding, the offsets registered. Use them\n"
	            " * inline in a bpftrace program or #include them (bpftrace, dtrace -C). */\n");
	structs_decls(&b, &ss);
	fputs(b.s, stdout);
	return 0;
}

static int cmd_trace(int argc, char **argv)
{
	pid_t pid = 0;
	int print = 0;
	const char *lib = NULL;
	static struct target *t;         /* live until exit, see cmd_list */
	size_t nt = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
			pid = parse_pid(argv[++i]);
		} else if (strcmp(argv[i], "--lib") == 0 && i + 1 < argc) {
			lib = argv[++i];
		} else if (strcmp(argv[i], "--print") == 0) {
			print = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-') {
			usage(stderr);
			return 2;
		} else {
			t = xrealloc(t, (nt + 1) * sizeof *t);
			const char *colon = strchr(argv[i], ':');
			size_t plen = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);
			if (plen == 0 || plen > USDT_PROVIDER_NAME_MAX ||
			    (colon && strlen(colon + 1) > 2 * USDT_PROBE_NAME_MAX) || strchr(colon ? colon + 1 : "", ':')) {
				fprintf(stderr, "%s: bad probe '%s': expected PROVIDER or PROVIDER:PROBE\n", prog, argv[i]);
				return 2;
			}
			memcpy(t[nt].provider, argv[i], plen);
			t[nt].provider[plen] = '\0';
			snprintf(t[nt].probe, sizeof t[nt].probe, "%s", colon ? colon + 1 : "");
			if (strcmp(t[nt].probe, "*") == 0)
				t[nt].probe[0] = '\0';
			t[nt].matched = 0;
			nt++;
		}
	}
	if (nt == 0) {
		usage(stderr);
		return 2;
	}
	const char *bpftrace = getenv("BPFTRACE");
	if (bpftrace == NULL || *bpftrace == '\0')
		bpftrace = "bpftrace";
	/* USDT_BPFTRACE_VERSION=MAJOR.MINOR: write for that version (--print
	 * without bpftrace defaults to the arg0..arg5 limit of older ones) */
	const char *forced = getenv("USDT_BPFTRACE_VERSION");
	int ver, major, minor;
	if (forced != NULL && sscanf(forced, "%d.%d", &major, &minor) == 2)
		ver = major * 1000 + minor;
	else
		ver = bpftrace_version(bpftrace);
	if (print && ver < 0)
		ver = BPFTRACE_MIN_MAJOR * 1000 + BPFTRACE_MIN_MINOR;
	if (ver == -1) {
		fprintf(stderr, "%s: usdt trace runs bpftrace, which is not installed (%s not found in PATH);\n"
		                "  install it (Debian/Ubuntu: apt install bpftrace), or use `usdt list` for the probes\n",
		        prog, bpftrace);
		return 1;
	}
	if (ver == -2 || ver < BPFTRACE_MIN_MAJOR * 1000 + BPFTRACE_MIN_MINOR) {
		fprintf(stderr, "%s: %s is too old (or printed no version): usdt trace needs bpftrace %d.%d or later\n",
		        prog, bpftrace, BPFTRACE_MIN_MAJOR, BPFTRACE_MIN_MINOR);
		return 1;
	}
	int readable = ver >= BPFTRACE_MIN_MAJOR * 1000 + BPFTRACE_WIDE_MINOR ? BPFTRACE_ARGS_WIDE : BPFTRACE_ARGS_OLD;

	if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) {
		fprintf(stderr, "%s: no process %d\n", prog, (int)pid);
		return 1;
	}
	static struct objects objs;      /* live until exit, see cmd_list */
	static struct libs libs;
	scan(pid, &objs, &libs);
	structs_collect(&trace_structs, &objs);
	static struct buf prog_text;     /* live until exit, see cmd_list */
	size_t nactions = 0;
	int truncated = 0;

	if (pid > 0) {
		if (objs.n == 0) {
			fprintf(stderr, "%s: process %d has no runtime providers%s\n", prog, (int)pid,
			        getuid() != 0 ? " (or you may not read it: try as root)" : "");
			return 1;
		}
		for (size_t i = 0; i < objs.n; i++) {
			const struct object *o = &objs.v[i];
			for (size_t k = 0; k < o->nprobes; k++) {
				const struct probe *p = &o->probes[k];
				int want = 0, dup = 0;
				for (size_t j = 0; j < nt; j++)
					if (target_match(&t[j], o->provider, p->name))
						want = t[j].matched = 1;
				for (size_t j = 0; j < k; j++)
					if (strcmp(o->probes[j].name, p->name) == 0)
						dup = 1;
				if (!want || dup)
					continue;
				bprintf(&prog_text, "usdt:%s:%s:%s ", o->path, o->provider, p->name);
				emit_action(&prog_text, o->provider, p, 0, readable, 0);
				nactions++;
				if (p->argc > readable)
					truncated = 1;
			}
		}
		for (size_t j = 0; j < nt; j++)
			if (!t[j].matched) {
				fprintf(stderr, "%s: process %d has no probe %s%s%s; it has:", prog, (int)pid, t[j].provider,
				        t[j].probe[0] ? ":" : "", t[j].probe);
				for (size_t i = 0; i < objs.n; i++)
					fprintf(stderr, " %s (%zu probes)", objs.v[i].provider, objs.v[i].nprobes);
				fprintf(stderr, "\n");
				return 1;
			}
		if (truncated)
			fprintf(stderr, "%s: note: bpftrace %d.%d reads only arg0..arg%d: arguments past the %dth are shown as ...\n",
			        prog, ver / 1000, ver % 1000, readable - 1, readable);
	} else {
		/* system-wide: usdt:LIB:libusdt:fire for every library file */
		struct libs use = { 0 };
		if (lib != NULL) {
			struct stat st;
			if (stat(lib, &st) != 0) {
				fprintf(stderr, "%s: %s: %s\n", prog, lib, strerror(errno));
				return 1;
			}
			char real[PATH_MAX];
			add_lib(&use, realpath(lib, real) ? real : lib, st.st_dev, st.st_ino);
		} else {
			for (size_t i = 0; i < libs.n; i++)
				add_lib(&use, libs.path[i], libs.dev[i], libs.ino[i]);
			for (size_t i = 0; i < sizeof installed_libs / sizeof installed_libs[0]; i++) {
				struct stat st;
				char real[PATH_MAX];
				if (stat(installed_libs[i], &st) == 0 && realpath(installed_libs[i], real) != NULL)
					add_lib(&use, real, st.st_dev, st.st_ino);
			}
		}
		for (size_t i = 0; i < use.n; i++)
			if (!has_fire_probe(use.path[i])) {
				fprintf(stderr, "%s: %s carries no libusdt:fire probe (a libusdt without system-wide tracing?)\n",
				        prog, use.path[i]);
				return 1;
			}
		if (use.n == 0) {
			fprintf(stderr, "%s: no libusdt.so found (no running process maps one, none installed): "
			                "give its path with --lib PATH\n", prog);
			return 1;
		}
		struct buf head = { 0 };
		for (size_t i = 0; i < use.n; i++)
			bprintf(&head, "%susdt:%s:libusdt:fire", i ? ",\n" : "", use.path[i]);
		int fire_readable = readable - FIRE_FIRST_ARG < FIRE_WORDS ? readable - FIRE_FIRST_ARG : FIRE_WORDS;
		const struct object **emitted = NULL;    /* (object, probe) pairs traced */
		size_t *emitted_k = NULL, nemitted = 0;
		for (size_t j = 0; j < nt; j++) {
			/* every known probe of the running processes this target names */
			size_t before = nactions;
			for (size_t i = 0; i < objs.n; i++) {
				const struct object *o = &objs.v[i];
				for (size_t k = 0; k < o->nprobes; k++) {
					const struct probe *p = &o->probes[k];
					if (!target_match(&t[j], o->provider, p->name))
						continue;
					int seen = 0, conflict = 0;
					for (size_t e = 0; e < nemitted && !seen; e++)
						seen = strcmp(emitted[e]->provider, o->provider) == 0 &&
						       strcmp(emitted[e]->probes[emitted_k[e]].name, p->name) == 0;
					if (seen)
						continue;
					emitted = xrealloc(emitted, (nemitted + 1) * sizeof *emitted);
					emitted_k = xrealloc(emitted_k, (nemitted + 1) * sizeof *emitted_k);
					emitted[nemitted] = o;
					emitted_k[nemitted++] = k;
					const struct probe *typed = find_known(&objs, o->provider, p->name, &conflict);
					if (conflict)
						fprintf(stderr, "%s: note: %s:%s has different types in different processes; "
						                "printing it as in pid %d\n", prog, o->provider, p->name, (int)o->pid);
					bprintf(&prog_text, "%s\n", head.s);
					emit_action(&prog_text, o->provider, typed ? typed : p, FIRE_FIRST_ARG, fire_readable, 1);
					nactions++;
					if (p->argc > fire_readable)
						truncated = 1;
				}
			}
			if (nactions > before)
				continue;
			/* nothing running has it: trace it anyway, untyped */
			if (has_glob(t[j].provider) || has_glob(t[j].probe)) {
				fprintf(stderr, "%s: no running process has a probe matching %s%s%s (wildcards need a "
				                "running process to expand them)\n", prog, t[j].provider,
				        t[j].probe[0] ? ":" : "", t[j].probe);
				return 1;
			}
			fprintf(stderr, "%s: note: no running process has %s%s%s: its types are unknown, "
			                "printing argc and the first %d arguments as 64-bit words\n",
			        prog, t[j].provider, t[j].probe[0] ? ":" : "", t[j].probe, fire_readable);
			bprintf(&prog_text, "%s\n/str(arg0) == \"%s\"", head.s, t[j].provider);
			if (t[j].probe[0])
				bprintf(&prog_text, " && str(arg1) == \"%s\"", t[j].probe);
			bprintf(&prog_text, "/ { printf(\"%%s %%d %%s:%%s argc=%%d");
			for (int a = 0; a < fire_readable; a++)
				bprintf(&prog_text, " 0x%%lx");
			bprintf(&prog_text, "\\n\", strftime(\"%%H:%%M:%%S\", nsecs), pid, str(arg0), str(arg1), arg2");
			for (int a = 0; a < fire_readable; a++)
				bprintf(&prog_text, ", arg%d", FIRE_FIRST_ARG + a);
			bprintf(&prog_text, "); }\n");
			nactions++;
		}
		free(head.s);
		free(emitted);
		free(emitted_k);
		if (truncated)
			fprintf(stderr, "%s: note: through libusdt:fire bpftrace %d.%d reads the first %d arguments "
			                "(arg%d..arg%d); later ones are shown as ...\n",
			        prog, ver / 1000, ver % 1000, fire_readable, FIRE_FIRST_ARG, readable - 1);
		fprintf(stderr, "%s: tracing system-wide through", prog);
		for (size_t i = 0; i < use.n; i++)
			fprintf(stderr, " %s", use.path[i]);
		fprintf(stderr, " (processes started later are seen if they use one of these files)\n");
		free(use.path);
		free(use.dev);
		free(use.ino);
	}
	/* the structures the actions cast to, declared first */
	static struct buf decls;         /* live until exit, see cmd_list */
	structs_decls(&decls, &trace_structs);
	if (decls.n > 0) {
		bprintf(&decls, "%s", prog_text.s);
		free(prog_text.s);
		prog_text = decls;
	}
	if (print) {
		fputs(prog_text.s, stdout);
		return 0;
	}
	char pidarg[16];
	snprintf(pidarg, sizeof pidarg, "%d", (int)pid);
	/* bpftrace -B none [--no-warnings] -e PROG [-p PID] NULL */
	char *args[10] = { (char *)bpftrace, "-B", "none" }, **a = args + 3;
	if (bpftrace_has_no_warnings(bpftrace))
		*a++ = "--no-warnings";
	*a++ = "-e";
	*a++ = prog_text.s;
	if (pid > 0) {
		*a++ = "-p";
		*a++ = pidarg;
	}
	*a = NULL;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fflush(NULL);
	/* bpftrace's output comes through us: JSON is pretty-printed */
	int out[2];
	if (pipe(out) != 0) {
		fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
		return 1;
	}
	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		return 1;
	}
	if (child == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		execvp(bpftrace, args);
		fprintf(stderr, "%s: cannot run %s: %s\n", prog, bpftrace, strerror(errno));
		_exit(127);
	}
	child_pid = child;
	close(out[1]);
	filter_output(out[0]);
	close(out[0]);
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 0 ? 0 : 1;
	if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM))
		return 0;
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 2, argv + 2);
	if (strcmp(argv[1], "trace") == 0)
		return cmd_trace(argc - 2, argv + 2);
	if (strcmp(argv[1], "cdecl") == 0)
		return cmd_cdecl(argc - 2, argv + 2);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[1]);
	usage(stderr);
	return 2;
}
