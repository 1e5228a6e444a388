/*
 * i386.c — i386 site bytes and argument specs (cdecl), for the Linux
 * backend (backend_elf.c writes the specs into .note.stapsdt).
 *
 * All arguments are memory operands relative to %esp at the site (the
 * callee's first instruction, where 0(%esp) is the return address), in
 * the block usdt_arch_call builds (layout in i386.h): "-4@4(%esp)",
 * "2@8(%esp)", and for 8-byte types "-8@132(%esp)" (sign-extended view)
 * or "8@388(%esp)" (zero-extended view). Decimal displacements only (gdb
 * and perf stop parsing hex ones); %esp is a name bcc, libbpf, GDB and
 * perf all know on i386.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "arch/spec_format.h"

const uint8_t usdt_arch_site_code[USDT_ARCH_SITE_STRIDE] = {
	0x0f, 0x1f, 0x44, 0x00, 0x00,   /* nopl 0x0(%eax,%eax,1) — the probe site */
	0xc3,                           /* ret */
	0xcc, 0xcc                      /* padding, never executed */
};

#define RET_ADDR_SIZE 4

int usdt_arch_argspec(char *buf, size_t buflen, size_t argc, const int8_t *size)
{
	size_t n = 0;
	if (buflen == 0)
		return -1;
	buf[0] = '\0';
	for (size_t i = 0; i < argc; i++) {
		int s = size[i];
		size_t disp;
		if (i >= I386_MAX_WORDS)
			return -1;
		if (abs(s) == 8)
			disp = RET_ADDR_SIZE + (s < 0 ? I386_SEXT_OFF : I386_ZEXT_OFF) + 8 * i;
		else
			disp = RET_ADDR_SIZE + 4 * i;
		char op[48], *q = op;
		if (i > 0)
			*q++ = ' ';
		q = put_dec(q, s);
		*q++ = '@';
		q = put_dec(q, (long)disp);
		q = put_str(q, "(%esp)");
		if (append(buf, buflen, &n, op, (size_t)(q - op)) != 0)
			return -1;
	}
	return (int)n;
}

/* VM-chosen locations: 32-bit register names ("-4@%ebx"); an 8-byte value
 * cannot be in one register, so it must be in memory ("8@16(%ebp)", which
 * readers read in full, see above). */
const char *const usdt_arch_vm_regs[] = { "eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp" };

const size_t usdt_arch_vm_nregs = sizeof usdt_arch_vm_regs / sizeof usdt_arch_vm_regs[0];

int usdt_arch_vm_operand(char *buf, size_t buflen, int size, const char *reg, int deref, int32_t offset)
{
	if (!deref && abs(size) > 4)
		return -1;
	int w = deref ? snprintf(buf, buflen, "%d@%ld(%%%s)", size, (long)offset, reg)
	              : snprintf(buf, buflen, "%d@%%%s", size, reg);
	return w < 0 || (size_t)w >= buflen ? -1 : w;
}
