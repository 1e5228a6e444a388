#!/usr/bin/env bash
# t_dump.sh — the usdt-dof tool end to end: build a document for each
# profile from a command-line description, dump it (header, sections,
# provider, probes with offsets and argument types), validate it for its
# profile (with the stub-address checks), refuse it for a profile with
# another DOF version, and report the consumer's message for a corrupted
# copy with a non-zero exit status. The same for the arm64 profiles
# (freebsd-arm64, macos-arm64, linux-arm64: 32-byte stubs, sites at +0 and,
# for the Linux is-enabled stub, +8), on any host.
set -u
BUILD=${BUILD:-build}
T=$BUILD/bin/usdt-dof
[ -x "$T" ] || { echo "no $T (run make)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# x86-64 stubs (16 bytes) on every host: the <os>-x86_64 profiles
for p in illumos freebsd macos linux; do
  P=$p-x86_64
  f=$tmp/$p.dof
  "$T" --build --profile $P --base 0x600000 --stubs 0x401000 -o "$f" \
       myprov a.out 'myfunc:myprobe=int,char *' 'myfunc:done' 'other:x=uint64_t,bool,const char *' \
       2>"$tmp/err" && ok "$p: built" || { bad "$p: build: $(cat "$tmp/err")"; continue; }
  out=$("$T" --profile $P --base 0x600000 --stubs 0x401000 --module a.out "$f"); rc=$?
  [ $rc = 0 ] && ok "$p: validates, exit 0" || bad "$p: exit $rc"
  v=3; case $p in illumos|freebsd) v=2;; esac
  for want in "version $v" "secnum 6" '[0] STRTAB' '[5] PROVIDER' 'provider "myprov"' \
              'probe "myfunc":"myprobe"' 'native args (2): "int", "char \*"' \
              'native args (3): "uint64_t", "bool", "const char \*"' 'mapping (argidx 2): 0 1 2' \
              '3 probes' "validation ($P): OK"; do
    grep -qF -- "${want//\\/}" <<<"$out" && ok "$p: dump shows '${want//\\/}'" || bad "$p: dump lacks '$want'"
  done
  case $p in
    illumos|freebsd) grep -qF 'probe offsets (1): 0x2 (=0x401002)' <<<"$out" && ok "$p: probe offset 0x2" || bad "$p: probe offset";;
    linux) grep -qF 'is-enabled offsets (1): 0x15 (=0x401015)' <<<"$out" && ok "$p: is-enabled offset 0x15" || bad "$p: is-enabled offset";;
    macos) grep -qF 'probe offsets (1): 0xffe01003' <<<"$out" && ok "$p: probe offset relative to the base" || bad "$p: macOS offset";;
  esac
  other=macos; [ $p = macos ] && other=illumos
  out=$("$T" -q --profile $other "$f"); rc=$?
  if [ $p = linux ] && [ $other = macos ]; then
    [ $rc = 0 ] && ok "$p document also passes as macos (same version)" || bad "linux as macos: $out"
  else
    [ $rc = 1 ] && grep -qF 'FAILED check 6: DOF version mismatch' <<<"$out" \
      && ok "$p: refused as $other: $out" || bad "$p as $other: rc $rc: $out"
  fi
done

# arm64: probe i's stubs at 0x401000 + 64*i (probe) and +32 (is-enabled)
for p in freebsd-arm64 macos-arm64 linux-arm64; do
  f=$tmp/$p.dof
  "$T" --build --profile $p --base 0x600000 --stubs 0x401000 -o "$f" \
       myprov a.out 'myfunc:myprobe=int,char *' 'myfunc:done' 'other:x=uint64_t,bool,const char *' \
       2>"$tmp/err" && ok "$p: built" || { bad "$p: build: $(cat "$tmp/err")"; continue; }
  out=$("$T" --profile $p --base 0x600000 --stubs 0x401000 --module a.out "$f"); rc=$?
  [ $rc = 0 ] && grep -qF "validation ($p): OK" <<<"$out" && ok "$p: validates with the stub sites, exit 0" || bad "$p: exit $rc: $(tail -n1 <<<"$out")"
  v=3; [ $p = freebsd-arm64 ] && v=2
  grep -qF "version $v" <<<"$out" && ok "$p: version $v" || bad "$p: version"
  case $p in
    freebsd-arm64) want='probe offsets (1): 0 (=0x401000)'; want2='is-enabled offsets (1): 0x20 (=0x401020)';;
    linux-arm64) want='probe offsets (1): 0 (=0x401040)'; want2='is-enabled offsets (1): 0x28 (=0x401028)';;
    macos-arm64) want='probe offsets (1): 0xffe01000'; want2='is-enabled offsets (1): 0xffe01060';;
  esac
  grep -qF "$want" <<<"$out" && ok "$p: dump shows '$want'" || bad "$p: dump lacks '$want'"
  grep -qF "$want2" <<<"$out" && ok "$p: dump shows '$want2'" || bad "$p: dump lacks '$want2'"
  # the x86-64 stub layout (or a stub one byte off) is refused
  out=$("$T" -q --profile $p --base 0x600000 --stubs 0x401001 "$f"); rc=$?
  [ $rc = 1 ] && grep -qE 'check 5[56]' <<<"$out" && ok "$p: stubs one byte off: $out" || bad "$p: stubs one byte off: rc $rc: $out"
  x86=${p%-arm64}-x86_64
  out=$("$T" -q --profile $x86 --base 0x600000 --stubs 0x401000 "$f"); rc=$?
  [ $rc = 1 ] && grep -qE 'check 5[56]' <<<"$out" && ok "$p document as $x86: $out" || bad "$p as $x86: rc $rc: $out"
done
"$T" -q --profile linux-aarch64 --base 0x600000 --stubs 0x401000 "$tmp/linux-arm64.dof" >/dev/null \
  && ok "linux-aarch64 is linux-arm64" || bad "linux-aarch64 alias"
"$T" -q --profile illumos-arm64 "$tmp/linux-arm64.dof" 2>/dev/null; rc=$?
[ $rc = 2 ] && ok "no illumos-arm64 profile: exit 2" || bad "illumos-arm64: exit $rc"

# corrupt the PROBES entry size (offset 64 + 32*1 + 12) to 44
f=$tmp/illumos.dof
cp "$f" "$tmp/bad.dof"
printf '\x2c' | dd of="$tmp/bad.dof" bs=1 seek=108 conv=notrunc 2>/dev/null
out=$("$T" --profile illumos "$tmp/bad.dof"); rc=$?
[ $rc = 1 ] && grep -qF 'validation (illumos): FAILED check 35: misaligned entry size' <<<"$out" \
  && ok "corrupted entsize: exit 1, $(tail -n1 <<<"$out")" || bad "corrupted: rc $rc: $(tail -n1 <<<"$out")"
out=$("$T" --profile linux -q "$f"); rc=$?
[ $rc = 1 ] && grep -qF 'FAILED check 6' <<<"$out" && ok "linux: v2 document with is-enabled refused" || bad "linux v2: $out"
# wrong stub addresses
out=$("$T" -q --profile illumos --stubs 0x401001 "$f"); rc=$?
[ $rc = 1 ] && grep -qF 'check 55' <<<"$out" && ok "wrong --stubs: $out" || bad "wrong stubs: $out"
# garbage and truncated input
head -c 100 /dev/urandom > "$tmp/rnd"
"$T" --profile linux "$tmp/rnd" >/dev/null; rc=$?
[ $rc = 1 ] && ok "random bytes: exit 1" || bad "random bytes: exit $rc"
head -c 10 "$f" > "$tmp/short"
out=$("$T" --profile illumos "$tmp/short"); rc=$?
[ $rc = 1 ] && grep -qF 'failed to copyin DOF header' <<<"$out" && ok "10 bytes: $(tail -n1 <<<"$out")" || bad "short: $out"
# refused descriptions and usage errors
"$T" --build --profile illumos -o "$tmp/n.dof" 9prov a.out 'f:n' 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -qF 'must start with a letter' "$tmp/err" && ok "provider 9prov refused: $(cat "$tmp/err")" || bad "9prov: rc $rc"
"$T" --build -o "$tmp/n.dof" prov a.out 'nocolon' 2>/dev/null; rc=$?
[ $rc = 2 ] && ok "bad probe description: exit 2" || bad "bad description: exit $rc"
"$T" --profile nosuch "$f" 2>/dev/null; rc=$?
[ $rc = 2 ] && ok "unknown profile: exit 2" || bad "unknown profile: exit $rc"
"$T" "$tmp/missing" 2>/dev/null; rc=$?
[ $rc = 2 ] && ok "missing file: exit 2" || bad "missing file: exit $rc"
exit $fail
