/*
 * fuzz_dof_dump.c — libFuzzer target: the DOF dump (what `usdt-dof FILE`
 * prints) must never crash or read outside its input, whatever the bytes.
 * Output goes to /dev/null.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dof/dof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	if (!sink && !(sink = fopen("/dev/null", "w")))
		return 0;
	uint8_t *doc = malloc(size ? size : 1);
	if (!doc)
		return 0;
	memcpy(doc, data, size);
	usdt_dof_dump(doc, size, sink);
	free(doc);
	return 0;
}
