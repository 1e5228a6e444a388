#!/usr/bin/env bash
# t_deb.sh — the Debian packages (issue 10): `dpkg-buildpackage -b -us -uc`
# on a copy of the tree builds libusdt1, libusdt-dev, libusdt-tools and
# python3-usdt; lintian reports no error; the packages install; the
# README's C example builds with pkg-config against them and bpftrace reads
# its probe on the live process; python3 imports usdt from the package;
# purging them leaves none of their files behind.
. "$(dirname "$0")/../lib.sh"
need dpkg-buildpackage lintian bpftrace pkg-config; need_root
[ -e /usr/share/perl5/Debian/Debhelper/Buildsystem.pm ] || { echo "SKIP: debhelper is not installed"; exit 77; }
for p in libusdt1 libusdt-dev libusdt-tools python3-usdt; do
  dpkg -s "$p" >/dev/null 2>&1 && { echo "SKIP: $p is already installed (not touching it)"; exit 77; }
done
PKGS=(libusdt1 libusdt-dev libusdt-tools python3-usdt)
cleanup_deb() { dpkg -P "${PKGS[@]}" >/dev/null 2>&1 || true; }
trap 'cleanup_deb; cleanup_lib' EXIT
src=$TMP/src/libusdt-1.0.0
mkdir -p "$src"
# the tree as it is: tracked files and new ones, without build directories
git ls-files -z --cached --others --exclude-standard | grep -zv -e '^build' -e '/build/' -e '^bench/peer/' |
  xargs -0 cp --parents -t "$src" 2>/dev/null
[ -f "$src/debian/rules" ] || fail "copying the tree"
(cd "$src" && dpkg-buildpackage -b -us -uc) > "$TMP/build.log" 2>&1 || { tail -n 40 "$TMP/build.log"; fail "dpkg-buildpackage -b -us -uc"; }
debs=()
for p in "${PKGS[@]}"; do
  f=$(ls "$TMP"/src/${p}_1.0.0_*.deb 2>/dev/null | head -1)
  [ -n "$f" ] || { ls "$TMP/src"; fail "no $p .deb"; }
  debs+=("$f")
done
ok "built: $(cd "$TMP/src" && ls *.deb | tr '\n' ' ')"
lintian --no-tag-display-limit "$TMP"/src/*.changes > "$TMP/lintian" 2>&1
if grep -q '^E:' "$TMP/lintian"; then cat "$TMP/lintian"; fail "lintian reports errors"; fi
ok "lintian: no errors ($(grep -c '^W:' "$TMP/lintian") warnings)"
dpkg -i "${debs[@]}" > "$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "dpkg -i"; }
ok "installed ${PKGS[*]}"
awk '/^## A complete C example/{f=1} f&&/^```c/{g=1;next} g&&/^```/{exit} g' README.md > "$TMP/hello.c"
cc "$TMP/hello.c" $(pkg-config --cflags --libs libusdt) -o "$TMP/hello" || fail "README example against the package"
ldd "$TMP/hello" | grep -qE '=> (/usr)?/lib/x86_64-linux-gnu/libusdt.so.1 ' || { ldd "$TMP/hello"; fail "not linked to the packaged libusdt.so.1"; }
ok "README example built with pkg-config against the packages"
"$TMP/hello" > "$TMP/hello.out" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q '^pid' "$TMP/hello.out" && break; sleep 0.1; done
got=$(timeout 30 bpftrace -p "$TPID" -e 'usdt:*:myapp:request { printf("%d %s\n", arg0, str(arg1)); exit(); }' 2>/dev/null | grep -v Attaching)
[[ $got =~ ^[0-9]+\ /index.html$ ]] || fail "bpftrace read [$got]"
ok "bpftrace read myapp:request from the packaged library: $got"
stop_target
out=$(cd / && /usr/bin/python3 -c 'import usdt, usdt._lib as l; p = usdt.Provider("debcheck"); p.add_probe("x-y", "int"); p.enable(); print(l.path, usdt.__file__)') ||
  fail "/usr/bin/python3 -c 'import usdt' with python3-usdt: $out"
[[ $out == *"/usr/lib/python3/dist-packages/usdt/"* ]] || fail "usdt imported from elsewhere: $out"
ok "python3-usdt: import usdt and enable a provider: $out"
usdt-dof --build --profile illumos -o "$TMP/x.dof" p a.out 'f:n=int' && usdt-dof -q --profile illumos "$TMP/x.dof" > /dev/null || fail "usdt-dof from libusdt-tools"
man -w usdt >/dev/null 2>&1 && man -w usdt-dof >/dev/null 2>&1 || fail "man pages not found by man -w"
ok "usdt-dof and its man page, usdt(3)"
files=$(for d in "${debs[@]}"; do dpkg-deb -c "$d" | awk '{print $6}' | sed 's|^\./|/|'; done | grep -v '/$' | sort -u)
dpkg -P "${PKGS[@]}" > "$TMP/purge.log" 2>&1 || { cat "$TMP/purge.log"; fail "dpkg -P"; }
left=
for f in $files; do [ -e "$f" ] || [ -L "$f" ] && left="$left $f"; done
[ -z "$left" ] || fail "left after purge:$left"
ok "purged: none of the packages' $(echo "$files" | wc -l) files is left"
