#!/usr/bin/python3
"""bcc_read.py PID SPEC... — read every argument of every probe with libbcc.

Attaches bcc's USDT support (python3-bpfcc: USDT + bpf_usdt_readarg) to the
probes of a running libusdt test target and prints, once per probe,
"GOT provider:probe v1 v2 ..." with integers as 64-bit hex (after the sign
or zero extension the probe's declared type implies) and strings quoted,
the format of the target's EXPECT lines. SPEC is the target's
provider:probe:type,... argument. bcc reads all 12 arguments (bpftrace 0.17
only 6). Exits after every probe was seen once or after 20 s.
"""
import ctypes, sys, time
from bcc import BPF, USDT

SIZES = {"int8_t": (1, 1), "uint8_t": (1, 0), "int16_t": (2, 1), "uint16_t": (2, 0),
         "int32_t": (4, 1), "uint32_t": (4, 0), "int64_t": (8, 1), "uint64_t": (8, 0),
         "int": (4, 1), "long": (8, 1), "unsigned long": (8, 0), "uintptr_t": (8, 0),
         "void *": (8, 0), "char *": (8, 0)}
CTYPE = {(1, 1): "s8", (1, 0): "u8", (2, 1): "s16", (2, 0): "u16", (4, 1): "s32",
         (4, 0): "u32", (8, 1): "s64", (8, 0): "u64"}
STRLEN = 32

pid = int(sys.argv[1])
probes = []
for spec in sys.argv[2:]:
    parts = spec.split(":")
    types = [] if len(parts) < 3 or parts[2] == "-" else parts[2].split(",")
    probes.append((parts[0], parts[1], types))

u = USDT(pid=pid)
text = ["#include <uapi/linux/ptrace.h>",
        "struct ev { u32 id; u32 pad; u64 v[12]; char s[%d]; };" % (12 * STRLEN),
        "BPF_PERF_OUTPUT(out);",
        "BPF_ARRAY(ev_buf, struct ev, 1);"]
for idx, (prov, name, types) in enumerate(probes):
    fn = "on_%d" % idx
    u.enable_probe(probe="%s:%s" % (prov, name), fn_name=fn)
    body = ["int %s(struct pt_regs *ctx) {" % fn,
            "  int z = 0; struct ev *e = ev_buf.lookup(&z); if (!e) return 0;",
            "  __builtin_memset(e, 0, sizeof(*e)); e->id = %d;" % idx]
    for i, t in enumerate(types):
        size, signed = SIZES[t]
        ct = CTYPE[(size, signed)]
        body.append("  { %s x = 0; bpf_usdt_readarg(%d, ctx, &x); e->v[%d] = (u64)(%s)x; }"
                    % (ct, i + 1, i, "s64" if signed else "u64"))
        if t == "char *":
            body.append("  bpf_probe_read_user_str(&e->s[%d], %d, (void *)e->v[%d]);" % (i * STRLEN, STRLEN, i))
    body.append("  out.perf_submit(ctx, e, sizeof(*e)); return 0; }")
    text += body

b = BPF(text="\n".join(text), usdt_contexts=[u])
class Ev(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32), ("pad", ctypes.c_uint32),
                ("v", ctypes.c_uint64 * 12), ("s", ctypes.c_char * (12 * STRLEN))]

seen = {}
def on_event(cpu, data, size):
    e = ctypes.cast(data, ctypes.POINTER(Ev)).contents
    prov, name, types = probes[e.id]
    key = "%s:%s" % (prov, name)
    if key in seen:
        return
    vals = []
    for i, t in enumerate(types):
        if t == "char *":
            raw = ctypes.string_at(ctypes.addressof(e) + Ev.s.offset + i * STRLEN, STRLEN)
            vals.append('"%s"' % raw.split(b"\0")[0].decode())
        else:
            vals.append("%x" % (e.v[i] & 0xffffffffffffffff))
    seen[key] = 1
    print(("GOT %s %s" % (key, " ".join(vals))).rstrip(), flush=True)

b["out"].open_perf_buffer(on_event)
deadline = time.time() + 20
while len(seen) < len(probes) and time.time() < deadline:
    b.perf_buffer_poll(timeout=200)
