/*
 * fuzz_input.h — reading a libFuzzer input as a stream of bytes: get()
 * returns the next byte, or 0 once the input is used up, so a harness can
 * take decisions from the data without ever reading past its end.
 */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H
#include <stddef.h>
#include <stdint.h>

struct in {
	const uint8_t *p;
	size_t n;
};

static inline unsigned get(struct in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}
#endif
