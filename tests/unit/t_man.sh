#!/usr/bin/env bash
# t_man.sh — the manual pages: man/usdt.3 names every function usdt.h
# declares and every error code, man/usdt_vm.3 every function of usdt_vm.h, man/usdt-dof.1 documents the tool; both
# render with no warning (groff -ww, and mandoc -T lint when installed) and
# `make install` puts them under MANDIR.
. "$(dirname "$0")/../lib.sh"
need groff
for f in man/usdt.3 man/usdt_vm.3 man/usdt-dof.1; do
  [ -f "$f" ] || fail "no $f"
  out=$(LC_ALL=C.UTF-8 groff -ww -b -man -Tutf8 -z "$f" 2>&1)
  [ -z "$out" ] || { echo "$out"; fail "groff warns on $f"; }
  if command -v mandoc >/dev/null; then
    out=$(mandoc -T lint -W warning "$f" 2>&1)
    [ -z "$out" ] || { echo "$out"; fail "mandoc -T lint warns on $f"; }
  elif [ "${CI:-}" = true ]; then
    fail "mandoc is not installed (tests/deps.sh installs it)"
  fi
done
ok "usdt.3, usdt_vm.3 and usdt-dof.1 render without warnings (groff -ww$(command -v mandoc >/dev/null && echo ', mandoc -T lint'))"
text=$(LC_ALL=C.UTF-8 MANWIDTH=200 groff -man -Tutf8 man/usdt.3 2>/dev/null | col -b)
missing=
for fn in $(sed -n '/^USDT_API/p' include/usdt.h | grep -v '#define' | sed -E 's/\(.*//; s/\[.*//; s/.*[ *]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*$/\1/' | sort -u) \
          $(grep -o 'USDT_ERROR_[A-Z_]*' include/usdt.h | grep -v 'USDT_ERROR_MAX_' | sort -u); do
  grep -qw -- "$fn" <<<"$text" || missing="$missing $fn"
done
[ -z "$missing" ] || fail "usdt.3 does not mention:$missing"
ok "usdt.3 mentions every function, object and error code of usdt.h"
text=$(LC_ALL=C.UTF-8 MANWIDTH=200 groff -man -Tutf8 man/usdt_vm.3 2>/dev/null | col -b)
missing=
for fn in $(sed -n '/^USDT_API/p' include/usdt_vm.h | sed -E 's/\(.*//; s/.*[ *]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*$/\1/' | sort -u) \
          $(grep -o 'USDT_VM_[A-Z_]*' include/usdt_vm.h | grep -v -e '_H$' -e 'USDT_VM_ARGSPEC_MAX' | sort -u); do
  grep -qw -- "$fn" <<<"$text" || missing="$missing $fn"
done
[ -z "$missing" ] || fail "usdt_vm.3 does not mention:$missing"
ok "usdt_vm.3 mentions every function and constant of usdt_vm.h"
make -s install PREFIX="$TMP/p" BUILD="$TMP/b" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "make install"; }
[ -f "$TMP/p/share/man/man3/usdt.3" ] && [ -f "$TMP/p/share/man/man3/usdt_vm.3" ] && [ -f "$TMP/p/share/man/man1/usdt-dof.1" ] && [ -x "$TMP/p/bin/usdt-dof" ] ||
  { find "$TMP/p"; fail "make install did not install the pages and usdt-dof"; }
ok "make install: share/man/man3/usdt.3, share/man/man1/usdt-dof.1, bin/usdt-dof"
make -s uninstall PREFIX="$TMP/p" BUILD="$TMP/b" > "$TMP/log" 2>&1 || { cat "$TMP/log"; fail "make uninstall"; }
left=$(find "$TMP/p" -type f -o -type l)
[ -z "$left" ] || fail "make uninstall left: $left"
ok "make uninstall removes everything it installed"
