/*
 * i386_call.S — usdt_arch_call(site, argc, argv) for i386: call a probe
 * site with the argument block i386.h describes (each word as a cdecl
 * argument, then its sign- and zero-extended 64-bit views), so that the
 * note's "N(%esp)" operands (i386.c) find them. Consumer: usdt.c's traced
 * fire path.
 *
 *   4(%esp) = site, 8(%esp) = argc (0..32), 12(%esp) = argv
 * The stack is 16-byte aligned at the call. Only argv[0..argc) is read.
 * %eax, %ecx, %edx are scratch in cdecl; %esi, %edi are saved.
 */
#include "arch/i386.h"

	.text
	.globl	usdt_arch_call
	.hidden	usdt_arch_call
	.type	usdt_arch_call, @function
	.p2align 4
usdt_arch_call:
	.cfi_startproc
	pushl	%ebp
	.cfi_def_cfa_offset 8
	.cfi_offset %ebp, -8
	movl	%esp, %ebp
	.cfi_def_cfa_register %ebp
	pushl	%esi
	pushl	%edi
	.cfi_offset %esi, -12
	.cfi_offset %edi, -16
	movl	8(%ebp), %eax		/* site */
	movl	12(%ebp), %ecx		/* argc */
	movl	16(%ebp), %esi		/* argv */
	subl	$I386_BLOCK_SIZE, %esp
	andl	$-16, %esp
	xorl	%edi, %edi
1:	cmpl	%ecx, %edi
	jae	2f
	movl	(%esi,%edi,4), %edx
	movl	%edx, (%esp,%edi,4)			/* word */
	movl	%edx, I386_SEXT_OFF(%esp,%edi,8)	/* sign-extended */
	movl	%edx, I386_ZEXT_OFF(%esp,%edi,8)	/* zero-extended */
	movl	$0, I386_ZEXT_OFF+4(%esp,%edi,8)
	sarl	$31, %edx
	movl	%edx, I386_SEXT_OFF+4(%esp,%edi,8)
	incl	%edi
	jmp	1b
2:	call	*%eax
	leal	-8(%ebp), %esp
	popl	%edi
	.cfi_restore %edi
	popl	%esi
	.cfi_restore %esi
	popl	%ebp
	.cfi_restore %ebp
	.cfi_def_cfa %esp, 4
	ret
	.cfi_endproc
	.size	usdt_arch_call, .-usdt_arch_call
	.section .note.GNU-stack,"",@progbits
