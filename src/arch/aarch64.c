/*
 * aarch64.c — aarch64 site bytes and argument specs (AAPCS64), for the
 * Linux backend (backend_elf.c writes the specs into .note.stapsdt; the
 * tracers bpftrace, bcc, libbpf, GDB and perf parse them).
 *
 * usdt_arch_call() (aarch64_call.S) puts argument i in x<i> for i < 8,
 * exactly like a C call, and arguments 8.. in the stack slots a C call
 * would use ([sp], [sp, 8], ... at the site), with x9 pointing at them.
 * The note reads them as "8@[x9, 0]", "-4@[x9, 8]": the forms every
 * reader parses. "[sp, N]" (what GCC's sdt.h emits) is NOT used: bcc
 * before 0.29 (Debian 12's 0.26, and so bpftrace 0.17) accepts only an x
 * register as a memory base and fails the whole probe on "[sp, N]"; perf
 * (which accepts only sp as a base) skips such arguments instead.
 * Registers are always named xN with the size prefix doing the narrowing
 * ("-4@x0", "1@x3"): libbpf and bcc know no wN names, and GDB, bcc,
 * libbpf and perf all truncate and extend an xN register by the prefix.
 * Offsets are decimal with ", " after the base, which libbpf's pattern
 * requires and GDB's (optional '#') and bcc's (strtol) accept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "arch/spec_format.h"

const uint8_t usdt_arch_site_code[USDT_ARCH_SITE_STRIDE] = {
	0x1f, 0x20, 0x03, 0xd5,   /* nop — the probe site */
	0xc0, 0x03, 0x5f, 0xd6,   /* ret */
};

int usdt_arch_argspec(char *buf, size_t buflen, size_t argc, const int8_t *size)
{
	size_t n = 0;
	if (buflen == 0)
		return -1;
	buf[0] = '\0';
	for (size_t i = 0; i < argc; i++) {
		int s = size[i];
		char op[48], *q = op;
		if (i > 0)
			*q++ = ' ';
		q = put_dec(q, s);
		*q++ = '@';
		if (i < USDT_AARCH64_REG_ARGS) {
			*q++ = 'x';
			q = put_dec(q, (long)i);
		} else {
			q = put_str(q, "[" USDT_AARCH64_STACK_REG ", ");
			q = put_dec(q, (long)(8 * (i - USDT_AARCH64_REG_ARGS)));
			*q++ = ']';
		}
		if (append(buf, buflen, &n, op, (size_t)(q - op)) != 0)
			return -1;
	}
	return (int)n;
}

/* VM-chosen locations: x0..x30, narrowed by the size prefix ("-4@x19"),
 * memory as "[xN, off]" (decimal, ", " after the base: see above). sp is
 * refused: bcc before 0.29 cannot read memory based on it. */
const char *const usdt_arch_vm_regs[] = {
	"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10",
	"x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20",
	"x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30",
};

const size_t usdt_arch_vm_nregs = sizeof usdt_arch_vm_regs / sizeof usdt_arch_vm_regs[0];

int usdt_arch_vm_operand(char *buf, size_t buflen, int size, const char *reg, int deref, int32_t offset)
{
	int w = deref ? snprintf(buf, buflen, "%d@[%s, %ld]", size, reg, (long)offset)
	              : snprintf(buf, buflen, "%d@%s", size, reg);
	return w < 0 || (size_t)w >= buflen ? -1 : w;
}
