/*
 * x86_64_call.S — usdt_arch_call(site, argc, argv): call a probe site with
 * argv[] spread over the SysV argument registers and stack, so that the
 * note's "%rdi".."%r9" and "8(%rsp)".. operands find them at the site.
 *
 *   %rdi = site, %rsi = argc (0..32), %rdx = argv
 * The stack stays 16-byte aligned at the call. Only argv[0..argc) is read.
 *
 * CET: call/leave/ret is shadow-stack correct (each ret returns where its
 * call came from; so is the site it calls, see x86_64.h). When the C code
 * is built with -fcf-protection (__CET__: bit 0 IBT, bit 1 SHSTK), this
 * file carries the same GNU property note as the compiler puts in every C
 * object, and starts the function with endbr64 for IBT: the linker ANDs
 * the notes of all inputs, and one object without it would strip the
 * marks from the whole libusdt.so. Without -fcf-protection it claims
 * nothing, like the C objects.
 */
#if defined(__CET__) && (__CET__ & 1)
#define ENDBR endbr64
#else
#define ENDBR
#endif
	.text
	.globl	usdt_arch_call
	.hidden	usdt_arch_call
	.type	usdt_arch_call, @function
	.p2align 4
usdt_arch_call:
	.cfi_startproc
	ENDBR
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

#if defined(__CET__)
/* NT_GNU_PROPERTY_TYPE_0, owner "GNU": GNU_PROPERTY_X86_FEATURE_1_AND
 * (0xc0000002) = __CET__'s IBT/SHSTK bits; 8-aligned (ELFCLASS64). */
	.section .note.gnu.property,"a"
	.p2align 3
	.long	4			/* n_namesz */
	.long	16			/* n_descsz */
	.long	5			/* n_type: NT_GNU_PROPERTY_TYPE_0 */
	.asciz	"GNU"
	.long	0xc0000002		/* pr_type */
	.long	4			/* pr_datasz */
	.long	(__CET__ & 3)		/* pr_data */
	.p2align 3
#endif
