#!/usr/bin/env bash
# libbpf: bpf_program__attach_usdt() + <bpf/usdt.bpf.h> (libbpf's own
# argument-spec parser and bpf_usdt_arg()) attach by pid to every probe of
# the tracer targets and read all 12 arguments exactly: every integer width
# and sign in every position, strings; then the test JIT's probes
# (tests/progs/jit.c, usdt_vm.h), including the one whose arguments are at
# VM-chosen locations (a register and memory relative to another). The BPF
# program and its loader (tests/tracers/libbpf_read{.bpf,}.c) are compiled
# here with clang -target bpf and libbpf-dev.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/specs.sh"
need clang cc readelf; need_root
[ -e /usr/include/bpf/usdt.bpf.h ] || { echo "SKIP: libbpf-dev is not installed"; exit 77; }
case $(uname -m) in
  x86_64) barch=x86 ;;
  aarch64) barch=arm64 ;;
  *) echo "SKIP: no BPF target arch for $(uname -m)"; exit 77 ;;
esac
multiarch=$(cc -print-multiarch)
clang -O2 -g -target bpf -D__TARGET_ARCH_$barch -I/usr/include/"$multiarch" \
  -c tests/tracers/libbpf_read.bpf.c -o "$TMP/read.bpf.o" 2> "$TMP/cc" || { cat "$TMP/cc"; fail "clang -target bpf failed"; }
cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$TMP/libbpf_read" tests/tracers/libbpf_read.c -lbpf 2> "$TMP/cc" ||
  { cat "$TMP/cc"; fail "building the libbpf loader failed"; }
ok "built the BPF program and its libbpf loader (libbpf $(dpkg-query -W -f '${Version}' libbpf-dev 2>/dev/null || echo '?'))"

start_target -i 20 "${SPECS[@]}"
timeout 60 "$TMP/libbpf_read" "$TPID" "$TMP/read.bpf.o" "${SPECS[@]}" > "$TMP/got" 2> "$TMP/err" ||
  { cat "$TMP/got" "$TMP/err" | tail -20; fail "libbpf_read failed"; }
compare_got "$TMP/got" 12 || { tail -5 "$TMP/err"; fail "libbpf read wrong values"; }
ok "libbpf read all arguments (up to 12) of $(expect_lines | wc -l) probes exactly"
stop_target

JIT=$BUILD/tests/progs/jit
if readelf -h "$JIT" | grep -q -e X86-64 -e AArch64; then
  TARGET=$JIT start_target serve 50
  timeout 60 "$TMP/libbpf_read" "$TPID" "$TMP/read.bpf.o" jitprov:tick:int64_t,int32_t \
    "jitprov:vmarg:int64_t,int32_t,int16_t,int8_t,uint8_t,char *" > "$TMP/got" 2> "$TMP/err" ||
    { cat "$TMP/got" "$TMP/err" | tail -20; fail "libbpf_read (JIT) failed"; }
  compare_got "$TMP/got" 6 || { tail -5 "$TMP/err"; fail "libbpf read wrong values from the JIT's probes"; }
  ok "libbpf read the JIT's C-call probe and its VM-located probe exactly"
  stop_target
fi
