/*
 * x86_64_call.S — usdt_arch_call(site, argc, argv): call a probe site with
 * argv[] spread over the SysV argument registers and stack, so that the
 * note's "%rdi".."%r9" and "8(%rsp)".. operands find them at the site.
 *
 *   %rdi = site, %rsi = argc (0..32), %rdx = argv
 * The stack stays 16-byte aligned at the call. Only argv[0..argc) is read.
 */
	.text
	.globl	usdt_arch_call
	.hidden	usdt_arch_call
	.type	usdt_arch_call, @function
	.p2align 4
usdt_arch_call:
	.cfi_startproc
	pushq	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	movq	%rdi, %r11		/* site */
	movq	%rdx, %r10		/* argv */
	movq	%rsi, %rax		/* argc */
	cmpq	$6, %rax
	jbe	2f
	/* stack arguments argv[6..argc): keep the stack 16-aligned */
	testq	$1, %rax
	jz	1f
	subq	$8, %rsp
1:	movq	-8(%r10,%rax,8), %rcx
	pushq	%rcx
	decq	%rax
	cmpq	$6, %rax
	ja	1b
2:	movq	%rsi, %rax
	testq	%rax, %rax
	jz	9f
	movq	0(%r10), %rdi
	cmpq	$2, %rax
	jb	9f
	movq	8(%r10), %rsi
	cmpq	$3, %rax
	jb	9f
	movq	16(%r10), %rdx
	cmpq	$4, %rax
	jb	9f
	movq	24(%r10), %rcx
	cmpq	$5, %rax
	jb	9f
	movq	32(%r10), %r8
	cmpq	$6, %rax
	jb	9f
	movq	40(%r10), %r9
9:	call	*%r11
	leave
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_endproc
	.size	usdt_arch_call, .-usdt_arch_call
	.section .note.GNU-stack,"",@progbits
