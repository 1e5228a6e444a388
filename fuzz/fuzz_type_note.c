/*
 * fuzz_type_note.c — libFuzzer target: the .note.libusdt reader
 * (usdt_type_note_next, what the `usdt` command runs on other processes'
 * objects) must never crash or read outside the section, whatever the
 * bytes, and must always advance or stop: (*off, names_at) grows at every
 * call (inside a probe-names note *off stays and names_at moves on).
 * Seeds: sections of real objects in fuzz/corpus/ (version 2: structure
 * notes, json and short probe notes; version 3: probe-names notes, names
 * with '-', twin modules).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linux/type_note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct usdt_type_note note;
	uint8_t *sec = malloc(size ? size : 1);    /* exactly size bytes: ASan sees overreads */
	if (!sec)
		return 0;
	memcpy(sec, data, size);
	memset(&note, 0, sizeof note);
	size_t off = 0, last = 0, last_at = 0;
	int first = 1;
	volatile size_t sink = 0;
	while (usdt_type_note_next(sec, size, &off, &note) > 0) {
		if (!first && (off < last || (off == last && note.names_at <= last_at)))
			abort();                        /* no progress: a reader loop would spin */
		first = 0;
		last = off;
		last_at = note.names_at;
		if (note.type == USDT_NT_LIBUSDT_STRUCT)
			for (uint32_t f = 0; f < note.nfields; f++)
				sink += strlen(note.fields[f].name) + strlen(note.fields[f].type);
		if (note.type == USDT_NT_LIBUSDT_PROBE) {
			sink += strlen(note.module) + strlen(note.function) + strlen(note.name);
			for (uint32_t a = 0; a < note.argc; a++)
				sink += strlen(note.types[a]);
		}
	}
	(void)sink;
	free(sec);
	return 0;
}
