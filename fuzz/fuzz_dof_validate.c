/*
 * fuzz_dof_validate.c — libFuzzer target: the DOF validator must never
 * crash, hang or read outside its input, for any bytes and every profile,
 * with and without stub-site knowledge (section F, not in-process).
 * The first input byte selects the profile: bits 0-1 the consumer (OS),
 * bits 4-5 the architecture (0 and 3 the host's, 1 x86_64, 2 arm64; an
 * illumos arm64 profile, which does not exist, falls back to illumos), bit
 * 2 whether sites are given, bit 3 a module name; the rest is the document.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dof/dof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t sites[2] = { 0x401002, 0x401022 };
	static const uint64_t en[2] = { 0x401013, 0x401033 };
	char msg[512];
	if (size < 1)
		return 0;
	unsigned sel = data[0];
	/* a private, exactly-sized copy so ASan sees any overread */
	size_t n = size - 1;
	uint8_t *doc = malloc(n ? n : 1);
	if (!doc)
		return 0;
	memcpy(doc, data + 1, n);
	struct usdt_dof_sites s = { 0x600000, (sel & 8) ? "a.out" : NULL,
				    sites, 2, en, 2, 0 };
	static const unsigned archs[4] = { USDT_DOF_ARCH_HOST, USDT_DOF_ARCH_X86_64, USDT_DOF_ARCH_ARM64,
	                                   USDT_DOF_ARCH_HOST };
	usdt_dof_profile_t p = (usdt_dof_profile_t)((sel % USDT_DOF_NPROFILES) | archs[(sel >> 4) & 3]);
	if (!usdt_dof_profile_valid(p))
		p = (usdt_dof_profile_t)(sel % USDT_DOF_NPROFILES);
	int rc = usdt_dof_validate(p, doc, n, (sel & 4) ? &s : NULL, msg,
				   sizeof msg);
	if (rc < 0 || rc > 65 || (rc && !msg[0]))
		abort();
	/* the message is always terminated */
	if (strnlen(msg, sizeof msg) == sizeof msg)
		abort();
	free(doc);
	return 0;
}
