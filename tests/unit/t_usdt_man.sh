#!/usr/bin/env bash
# t_usdt_man.sh — the usdt command's manual page (man/usdt.1): renders with
# no warning (groff -ww, mandoc -T lint when installed), documents every
# option `usdt --help` shows, and `make install` installs the command and
# the page (uninstall removes them).
. "$(dirname "$0")/../lib.sh"
need groff
f=man/usdt.1
[ -f "$f" ] || fail "no $f"
out=$(LC_ALL=C.UTF-8 groff -ww -b -man -Tutf8 -z "$f" 2>&1)
[ -z "$out" ] || { echo "$out"; fail "groff warns on $f"; }
if command -v mandoc >/dev/null; then
  out=$(mandoc -T lint -W warning "$f" 2>&1)
  [ -z "$out" ] || { echo "$out"; fail "mandoc -T lint warns on $f"; }
elif [ "${CI:-}" = true ]; then
  fail "mandoc is not installed (tests/deps.sh installs it)"
fi
ok "usdt.1 renders without warnings"
USDT=$BUILD/bin/usdt
[ -x "$USDT" ] || fail "$USDT is not built"
"$USDT" --help > "$TMP/help" || fail "usdt --help failed"
text=$(LC_ALL=C.UTF-8 MANWIDTH=200 groff -man -Tutf8 "$f" 2>/dev/null | col -b)
missing=
for opt in $(grep -oE -- '--?[a-z][a-z-]*' "$TMP/help" | sort -u) list trace cdecl BPFTRACE USDT_BPFTRACE_VERSION .note.libusdt; do
  grep -qF -- "$opt" <<<"$text" || missing="$missing $opt"
done
[ -z "$missing" ] || fail "usdt.1 does not document:$missing"
ok "usdt.1 documents every option of usdt --help, the three commands and the environment"
"$USDT" frob > /dev/null 2>&1; [ $? = 2 ] || fail "unknown command does not exit 2"
make -s install PREFIX="$TMP/p" BUILD="$TMP/b" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "make install"; }
[ -x "$TMP/p/bin/usdt" ] && [ -f "$TMP/p/share/man/man1/usdt.1" ] ||
  { find "$TMP/p"; fail "make install did not install bin/usdt and share/man/man1/usdt.1"; }
ok "make install: bin/usdt, share/man/man1/usdt.1"
make -s uninstall PREFIX="$TMP/p" BUILD="$TMP/b" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "make uninstall"; }
[ ! -e "$TMP/p/bin/usdt" ] && [ ! -e "$TMP/p/share/man/man1/usdt.1" ] || fail "make uninstall left usdt or usdt.1"
ok "make uninstall removes them"
