/*
 * aarch64_call.S — usdt_arch_call(site, argc, argv) for aarch64: call a
 * probe site with argv[] spread over x0..x7 and the stack slots of
 * AAPCS64, so that the note's "x0".."x7" and "[x9, N]" operands
 * (aarch64.c) find them at the site. Consumer: usdt.c's traced fire path.
 *
 *   x0 = site, x1 = argc (0..32), x2 = argv
 * Arguments 8.. go to [sp + 8*(i-8)] at the call, and x9 = sp. sp stays
 * 16-byte aligned. Only argv[0..argc) is read. x9..x17 are scratch
 * registers in AAPCS64; x29/x30 are saved in a normal frame, so every ret
 * returns where its blr/bl came from (guarded control stacks, aarch64.h).
 *
 * Branch protection: when the C code is built with -mbranch-protection
 * (__ARM_FEATURE_BTI_DEFAULT, __ARM_FEATURE_PAC_DEFAULT), the function
 * starts with a landing pad / signs its return address like the compiler
 * would, and this object carries the same GNU property note as the C
 * objects: the linker ANDs them, and one object without it would strip
 * the marks from the whole libusdt.so.
 */
#define REG_ARGS 8
#define SLOT 8

#if defined(__ARM_FEATURE_PAC_DEFAULT)
#define SIGN hint #25          /* paciasp */
#define AUTH hint #29          /* autiasp */
#define PROP_PAC 2
#else
#define SIGN
#define AUTH
#define PROP_PAC 0
#endif
#if defined(__ARM_FEATURE_BTI_DEFAULT)
#define LANDING hint #34       /* bti c */
#define PROP_BTI 1
#else
#define LANDING
#define PROP_BTI 0
#endif

	.text
	.globl	usdt_arch_call
	.hidden	usdt_arch_call
	.type	usdt_arch_call, %function
	.p2align 4
usdt_arch_call:
	.cfi_startproc
	LANDING
	SIGN
	stp	x29, x30, [sp, #-16]!
	.cfi_def_cfa_offset 16
	.cfi_offset x29, -16
	.cfi_offset x30, -8
	mov	x29, sp
	.cfi_def_cfa_register x29
	mov	x16, x0			/* site */
	mov	x17, x2			/* argv */
	mov	x15, x1			/* argc */
	subs	x10, x15, #REG_ARGS	/* stack arguments */
	b.ls	2f
	add	x11, x10, #1
	and	x11, x11, #~1		/* an even number of slots: 16-aligned */
	sub	sp, sp, x11, lsl #3
	add	x12, x17, #REG_ARGS * SLOT
	mov	x13, #0
1:	ldr	x14, [x12, x13, lsl #3]
	str	x14, [sp, x13, lsl #3]
	add	x13, x13, #1
	cmp	x13, x10
	b.lo	1b
2:	mov	x9, sp
	cbz	x15, 9f
	ldr	x0, [x17, #0]
	cmp	x15, #2
	b.lo	9f
	ldr	x1, [x17, #8]
	cmp	x15, #3
	b.lo	9f
	ldr	x2, [x17, #16]
	cmp	x15, #4
	b.lo	9f
	ldr	x3, [x17, #24]
	cmp	x15, #5
	b.lo	9f
	ldr	x4, [x17, #32]
	cmp	x15, #6
	b.lo	9f
	ldr	x5, [x17, #40]
	cmp	x15, #7
	b.lo	9f
	ldr	x6, [x17, #48]
	cmp	x15, #8
	b.lo	9f
	ldr	x7, [x17, #56]
9:	blr	x16
	mov	sp, x29
	ldp	x29, x30, [sp], #16
	.cfi_def_cfa sp, 0
	.cfi_restore x29
	.cfi_restore x30
	AUTH
	ret
	.cfi_endproc
	.size	usdt_arch_call, .-usdt_arch_call
	.section .note.GNU-stack,"",%progbits

#if PROP_BTI || PROP_PAC
/* NT_GNU_PROPERTY_TYPE_0, owner "GNU": GNU_PROPERTY_AARCH64_FEATURE_1_AND
 * (0xc0000000) = BTI (1) | PAC (2) as the C objects claim them. */
	.section .note.gnu.property,"a"
	.p2align 3
	.long	4			/* n_namesz */
	.long	16			/* n_descsz */
	.long	5			/* n_type: NT_GNU_PROPERTY_TYPE_0 */
	.asciz	"GNU"
	.long	0xc0000000		/* pr_type */
	.long	4			/* pr_datasz */
	.long	(PROP_BTI | PROP_PAC)	/* pr_data */
	.p2align 3
#endif
