/*
 * no_memfd.c — run a command with memfd_create() refused (EPERM) by a
 * seccomp filter, as on locked-down systems and in some sandboxes.
 * usage: no_memfd COMMAND [ARG...]
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The filter is for this program's own architecture (and the target it
 * runs, built alike): x86_64, i386 or aarch64. */
#if defined(__x86_64__)
#define OWN_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define OWN_AUDIT_ARCH AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define OWN_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "no_memfd: unknown architecture"
#endif

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: no_memfd COMMAND [ARG...]\n");
		return 2;
	}
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, OWN_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_memfd_create, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof filter / sizeof filter[0], filter };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		perror("no_memfd: seccomp");
		return 2;
	}
	execvp(argv[1], argv + 1);
	perror("no_memfd: exec");
	return 127;
}
