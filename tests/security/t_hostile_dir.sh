#!/usr/bin/env bash
# LIBUSDT_LOADER=file in a directory another user controls (issue 9, item 5).
#
# The hostile user is uid 65534 (setpriv): a racer that, for every
# libusdt-* file it sees, writes its own shared object next to it and
# rename()s it over ours. The object's constructor writes a marker file, so
# the marker appearing means code chosen by uid 65534 ran in our (root)
# process. Meanwhile tests/progs/lifecycle enables and disables a provider
# in a loop with LIBUSDT_DIR pointing there.
#   - a directory owned by 65534: refused, naming the owner; no marker
#   - a root directory writable by everyone, no sticky bit: refused,
#     naming the mode; no marker
#   - a root directory writable by everyone WITH the sticky bit (/tmp,
#     /dev/shm semantics): accepted, the racer sees our files, no marker
#     (we load through our own descriptor, never by path)
#   - LIBUSDT_DIR a symbolic link (to the sticky directory): refused
#   - XDG_RUNTIME_DIR world-writable: not used, the object goes to /dev/shm
. "$(dirname "$0")/../lib.sh"
need_root; need cc setpriv
CYCLES=${T_HOSTILE_CYCLES:-2000}
BAD=0
bad() { echo "FAIL - $*"; BAD=1; }
LC=$BUILD/tests/progs/lifecycle
NOBODY=65534

mkdir -p "$TMP/mark"; chmod 0777 "$TMP/mark"; chmod 0755 "$TMP"
MARK=$TMP/mark/pwned
cat > "$TMP/evil.c" <<C
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void evil(void)
{
	int fd = open("$MARK", O_WRONLY | O_CREAT | O_APPEND, 0666);
	dprintf(fd, "foreign code ran in pid %d uid %d\n", (int)getpid(), (int)getuid());
	close(fd);
}
C
cat > "$TMP/racer.c" <<'C'
/* racer DIR SECONDS OBJECT: until SIGTERM (at most SECONDS), rename our own object over every libusdt-* in DIR */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>
static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }
int main(int argc, char **argv)
{
	(void)argc;
	static char so[1 << 20];
	int in = open(argv[3], O_RDONLY);
	ssize_t n = read(in, so, sizeof so);
	close(in);
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s/.evil.%d", argv[1], (int)getpid());
	long seen = 0, won = 0;
	time_t end = time(NULL) + atoi(argv[2]);
	signal(SIGTERM, on_term);
	while (!stop && time(NULL) < end) {
		DIR *d = opendir(argv[1]);
		if (d == NULL) { usleep(1000); continue; }
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strncmp(e->d_name, "libusdt-", 8) != 0)
				continue;
			seen++;
			int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0755);
			if (fd < 0) continue;
			if (write(fd, so, (size_t)n) != n) { close(fd); continue; }
			close(fd);
			char dst[4096];
			snprintf(dst, sizeof dst, "%s/%s", argv[1], e->d_name);
			if (rename(tmp, dst) == 0)
				won++;
		}
		closedir(d);
	}
	unlink(tmp);
	printf("RACER seen %ld renamed %ld\n", seen, won);
	return 0;
}
C
cc -shared -fPIC -o "$TMP/evil.so" "$TMP/evil.c" || fail "cannot build the racer's object"
cc -O2 -o "$TMP/racer" "$TMP/racer.c" || fail "cannot build the racer"
chmod 0755 "$TMP/evil.so" "$TMP/racer"

# race DIR [LIBUSDT_DIR]: the racer works in DIR while lifecycle cycles
# with LIBUSDT_DIR (default DIR); leaves $TMP/lc.out and $TMP/racer.out
race() {
  local dir=$1 use=${2:-$1}
  rm -f "$MARK"
  setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$TMP/racer" "$dir" 30 "$TMP/evil.so" > "$TMP/racer.out" 2>&1 &
  local rpid=$!
  sleep 0.2
  { echo "new hd"; echo "probe hd p int"
    for ((i = 0; i < CYCLES; i++)); do echo "enable hd"; echo "disable hd"; done
    echo "free hd"; echo quit; } |
    LIBUSDT_LOADER=file LIBUSDT_DIR=$use timeout 60 "$LC" > "$TMP/lc.out" 2>&1
  kill $rpid; wait $rpid
  echo "  $(cat "$TMP/racer.out"); enables OK $(grep -c '^OK enable' "$TMP/lc.out"), refused $(grep -c '^ERR enable' "$TMP/lc.out")"
}
no_marker() {
  [ ! -e "$MARK" ] || bad "$1: code of uid $NOBODY ran in our process: $(head -n 1 "$MARK") ($(wc -l < "$MARK") times)"
}
refused_with() {   # refused_with CASE REASON-REGEX
  local n ok
  n=$(grep -c '^ERR enable' "$TMP/lc.out"); ok=$(grep -c '^OK enable' "$TMP/lc.out")
  [ "$ok" = 0 ] && [ "$n" = "$CYCLES" ] || { bad "$1: expected every enable refused, got $ok OK / $n refused"; return; }
  grep -m1 '^ERR enable' "$TMP/lc.out" | grep -qE "$2" || { bad "$1: reason not given: $(grep -m1 '^ERR enable' "$TMP/lc.out")"; return; }
  ok "$1: refused: $(grep -m1 '^ERR enable' "$TMP/lc.out" | sed 's/^ERR enable hd: //')"
}

d=$TMP/owned; mkdir "$d"; chown $NOBODY:$NOBODY "$d"; chmod 0755 "$d"
race "$d"; no_marker "directory owned by uid $NOBODY"
refused_with "directory owned by uid $NOBODY" "$d.*owned by uid $NOBODY"

d=$TMP/worldw; mkdir "$d"; chmod 0777 "$d"
race "$d"; no_marker "world-writable directory"
refused_with "world-writable directory without sticky bit" "$d.*writable.*sticky"

d=$TMP/sticky; mkdir "$d"; chmod 1777 "$d"
race "$d"; no_marker "sticky world-writable directory"
[ "$(grep -c '^OK enable' "$TMP/lc.out")" = "$CYCLES" ] || bad "sticky directory: not every enable worked: $(grep -m1 ERR "$TMP/lc.out")"
seen=$(awk '/RACER/ {print $3}' "$TMP/racer.out")
[ "${seen:-0}" -gt 0 ] || bad "sticky directory: the racer never saw one of our files (the race did not happen)"
ok "sticky world-writable directory: accepted, $CYCLES enables; the racer saw our files $seen times and never got code run"

ln -s "$TMP/sticky" "$TMP/link"
race "$TMP/sticky" "$TMP/link"; no_marker "symlinked LIBUSDT_DIR"
refused_with "symlinked LIBUSDT_DIR" "$TMP/link.*symbolic link"

# XDG_RUNTIME_DIR: a refused directory is skipped, /dev/shm used
SPEC='hx:p:int'
unset LIBUSDT_DIR
XDG_RUNTIME_DIR="$TMP/worldw" LIBUSDT_LOADER=file start_target -i 20 "$SPEC"
where=$(grep -o '/[^ ]*libusdt-[^ ]*\.so' /proc/$TPID/maps | head -n 1)
stop_target
case $where in
  /dev/shm/*) ok "world-writable XDG_RUNTIME_DIR skipped: the object went to $where" ;;
  *) bad "world-writable XDG_RUNTIME_DIR: object at [$where]" ;;
esac
[ $BAD = 0 ] || fail "see above"
