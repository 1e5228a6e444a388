/*
 * loader_internal.h — what loader.c's strategies share: loader.c keeps
 * the list of loaded objects, the descriptor bookkeeping and the memfd
 * and file strategies; loader_map.c is the map strategy (the default).
 * Only those two files include this.
 */
#ifndef USDT_LOADER_INTERNAL_H
#define USDT_LOADER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct usdt_loaded;
struct usdt_reservation;

/* The object's memfd in two steps: an empty memfd named "libusdt:<tag>"
 * (-1, errno set), then `image` written into it and the seals added (0,
 * or -1 with a message; the caller closes it). */
int usdt_loader_memfd(const char *tag);
int usdt_loader_fill_memfd(int fd, const uint8_t *image, size_t size, char *err);

/* Remember what out->fd refers to (st_dev, st_ino): 0, or -1 with a
 * message. */
int usdt_loader_note_identity(struct usdt_loaded *out, char *err);

/* Count a new descriptor that took the number of a visible object's
 * descriptor (the program closed ours; usdt_loader_lost). */
void usdt_loader_count_lost(int fd, const struct usdt_loaded *out);

/* "/proc/<pid>/fd/<fd>" into buf (USDT_LOAD_PATH_MAX). Async-signal-safe. */
void usdt_loader_proc_fd_name(char *buf, long pid, int fd);

/* loader_map.c: load `image` with the map strategy, into the memfd and
 * the range of r (0, or -1 with a message); take obj off GDB's list
 * (hide); and unload it (GDB's entry, then the mapping: 0, or -1 with a
 * message in err when err is not NULL). */
int usdt_load_map(const uint8_t *image, size_t size, struct usdt_reservation *r, struct usdt_loaded *out,
                  char *err);
void usdt_loader_map_hide(struct usdt_loaded *obj);
int usdt_loader_map_unload(struct usdt_loaded *obj, char *err);
/* usdt_loader_reserve()'s work (loader_map.c): the range the map
 * strategy will map the object into. */
void usdt_loader_map_reserve(size_t bound, const char *tag, struct usdt_reservation *r);

#endif
