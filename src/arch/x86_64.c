/*
 * x86_64.c — x86_64 site bytes and argument specs (SysV ABI).
 *
 * usdt_arch_call() (x86_64_call.S) puts argument i in %rdi, %rsi, %rdx,
 * %rcx, %r8, %r9 for i < 6 and in the caller's stack slots above the return
 * address for i >= 6, exactly like a C call. At the site (the callee's first
 * instruction) argument 7 is therefore at 8(%rsp), argument 8 at 16(%rsp),
 * and so on. The note says so with operands every reader parses: a sized
 * register name ("-4@%edi", "8@%rsi", "1@%r8b") and decimal displacements
 * ("-4@16(%rsp)"); no hex displacements (gdb and perf stop parsing) and no
 * immediates (perf drops them). A one-byte argument in %r8/%r9 is written
 * "1@%r8": gdb does not know the GNU as names %r8b/%r9b and stops parsing
 * the whole spec, while every reader honours the size prefix on a 64-bit
 * register name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "arch/spec_format.h"

const uint8_t usdt_arch_site_code[USDT_ARCH_SITE_STRIDE] = {
	0x0f, 0x1f, 0x44, 0x00, 0x00,   /* nopl 0x0(%rax,%rax,1) — the probe site */
	0xc3,                           /* ret */
	0xcc, 0xcc                      /* padding, never executed */
};

static const char *const regs[6][4] = {
	/* 1 byte, 2 bytes, 4 bytes, 8 bytes */
	{ "%dil", "%di", "%edi", "%rdi" },
	{ "%sil", "%si", "%esi", "%rsi" },
	{ "%dl", "%dx", "%edx", "%rdx" },
	{ "%cl", "%cx", "%ecx", "%rcx" },
	{ "%r8", "%r8w", "%r8d", "%r8" },     /* not %r8b: gdb 13 rejects it */
	{ "%r9", "%r9w", "%r9d", "%r9" },     /* (its name is r8l); size 1 */

};

static int width_index(int bytes)
{
	switch (bytes) {
	case 1: return 0;
	case 2: return 1;
	case 4: return 2;
	default: return 3;
	}
}

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
		if (i < 6) {
			q = put_str(q, regs[i][width_index(abs(s))]);
		} else {
			q = put_dec(q, (long)(8 * (i - 5)));
			q = put_str(q, "(%rsp)");
		}
		if (append(buf, buflen, &n, op, (size_t)(q - op)) != 0)
			return -1;
	}
	return (int)n;
}

/* VM-chosen locations: a register is always named by its 64-bit name and
 * the size prefix narrows it ("-4@%rbx", "1@%r12"), which bcc, libbpf, GDB
 * and perf all honour (see above: sub-register names are where readers
 * disagree); memory is "size@disp(%reg)" with a decimal displacement. */
const char *const usdt_arch_vm_regs[] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

const size_t usdt_arch_vm_nregs = sizeof usdt_arch_vm_regs / sizeof usdt_arch_vm_regs[0];

int usdt_arch_vm_operand(char *buf, size_t buflen, int size, const char *reg, int deref, int32_t offset)
{
	int w = deref ? snprintf(buf, buflen, "%d@%ld(%%%s)", size, (long)offset, reg)
	              : snprintf(buf, buflen, "%d@%%%s", size, reg);
	return w < 0 || (size_t)w >= buflen ? -1 : w;
}
