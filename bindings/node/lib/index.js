'use strict';
/*
 * usdt — USDT probes for Node.js on Linux (bpftrace, bcc, perf, GDB) over
 * libusdt, with the API of dtrace-provider:
 *
 *   const d = require('usdt');           // was: require('dtrace-provider')
 *   const dtp = d.createDTraceProvider('nodeapp');
 *   const p1 = dtp.addProbe('probe1', 'int', 'char *', 'json');
 *   dtp.enable();
 *   p1.fire(() => [42, 'hello', { a: 1 }]);   // callback runs only when traced
 *   dtp.fire('probe1', () => [1, 'x', []]);
 *
 *   bpftrace -p PID -e 'usdt:*:nodeapp:probe1 { printf("%d %s %s\n", arg0, str(arg1), str(arg2)); }'
 *
 * Differences from dtrace-provider, all on the Linux side:
 *  - "int" arguments are 64-bit signed integers (dtrace-provider passed
 *    64-bit words on x86_64 too); BigInt values are accepted.
 *  - A '-' in a probe name becomes "__" in the USDT name (the convention of
 *    Node's own probes: DTrace shows "__" as "-"), so 'log-info' is traced
 *    as usdt:*:bunyan:log__info. Other characters outside [A-Za-z0-9_] are
 *    refused with libusdt's message.
 *  - An exception thrown by a fire callback propagates to the caller of
 *    fire() (dtrace-provider swallowed it or aborted, depending on version).
 *  - Several providers of the same name may be enabled at once (libusdt
 *    gives them one shared object), as dtrace-provider allowed.
 *
 * Untraced, probe.fire(cb) makes no call into the addon: it reads the
 * probe's semaphore and site byte through views the addon keeps current (a
 * usdt_vm.h client; src/addon.c, "struct inst"). USDT_NODE_FAST=0: one
 * call into the addon per fire instead.
 *
 * Additions: 'json' arguments have libusdt's json type (a string holding
 * JSON text, which `usdt trace` pretty-prints). registerStruct(name,
 * [[field, type], ...]) declares a structure (C layout, libusdt's type
 * strings: 'int32_t', 'char *', 'json', 'char[16]', 'struct other', ...);
 * a probe argument of type 'struct NAME *' then takes an object whose
 * properties are the fields' values (packed in C layout), a Buffer
 * holding the structure, an address or null:
 *
 *   d.registerStruct('request', [['status', 'int32_t'], ['path', 'char *']]);
 *   const p = dtp.addProbe('done', 'struct request *', 'json');
 *   p.fire(() => [{ status: 200, path: '/x' }, { ms: 3 }]);
 *   bpftrace: ((struct request *)arg0)->status   (declarations: usdt cdecl)
 */

const path = require('path');

const kHandle = Symbol('usdt.handle');
const kProvider = Symbol('usdt.provider');
const kKinds = Symbol('usdt.kinds');
const kProbes = Symbol('usdt.probes');
const kUntraced = Symbol('usdt.untraced');

let native = null;
let loadError = null;
for (const dir of ['Release', 'Debug']) {
  try {
    native = require(path.join(__dirname, '..', 'build', dir, 'usdt.node'));
    break;
  } catch (e) {
    if (loadError === null) loadError = e;
  }
}
if (native === null) {
  // Like dtrace-provider: without the addon, fall back to no-op probes
  // unless the caller insists.
  const hard = process.env.USDT_REQUIRE === 'hard' ||
               process.env.NODE_DTRACE_PROVIDER_REQUIRE === 'hard';
  if (hard) throw loadError;
} else {
  loadError = null;
}

// dtrace-provider's mapping of type strings, by prefix; unknown types are
// strings. Returns [kind for the addon, is json].
function argKind(type) {
  const t = String(type);
  if (t.startsWith('json')) return ['json', true];
  const m = /^struct\s+([A-Za-z_][A-Za-z0-9_]*)\s*\*$/.exec(t.trim());
  if (m) return ['struct:' + m[1], false, m[1]];
  if (t.startsWith('char *')) return ['string', false];
  if (t.startsWith('int')) return ['int', false];
  return ['string', false];
}

function usdtName(name) {
  return name.replace(/-/g, '__');
}

function stringifyArg(v) {
  if (v === undefined) return 'undefined';
  let s;
  try {
    s = JSON.stringify(v);
  } catch (e) {
    return '{ "error": "stringify failed" }';
  }
  return s === undefined ? 'undefined' : s;
}

function tracedFire(cb, ...args) {
  return this._fire(cb, args);
}

// The untraced fast path (src/addon.c, "struct inst"): `fast` holds views
// over the env's dirty flag and libusdt:fire's semaphore; a probe's cell
// holds views over its own semaphore and site byte, which the addon
// re-points (before acknowledging the change to libusdt) whenever libusdt
// changes the probe's object. The cells live only in the fire closures.
// USDT_NODE_FAST=0 turns it off (every untraced fire then makes one call
// into the addon, about 1.5x an empty Node-API call).
//
// Only on V8 9.1 and later (process.versions.v8): before it, V8 entered every
// ArrayBuffer's memory in a process-wide registry and aborted ("Check
// failed: result.second") on a second live ArrayBuffer over the same
// address, which these views create (libusdt:fire's semaphore is viewed by
// every env; an address libusdt unmapped can come back while a dead view
// of it awaits collection). V8 commit "Skip global registration of
// [Shared]ArrayBuffer backing stores" (March 2021) keeps only wasm memory
// there.
function v8AllowsAliasedViews() {
  const m = /^(\d+)\.(\d+)/.exec(process.versions.v8 || '');
  return m !== null && (Number(m[1]) > 9 || (Number(m[1]) === 9 && Number(m[2]) >= 1));
}
const fast = native !== null && typeof native.fastPath === 'function' && process.env.USDT_NODE_FAST !== '0' &&
  v8AllowsAliasedViews() ? native.fastPath() : undefined;

// () => true when the probe is surely untraced (no call into the addon),
// false when the addon must tell.
function makeUntraced(cell) {
  const dirty = fast.dirty;
  const sys = fast.sys;
  const idle = fast.idle;
  return function untraced() {
    // nothing between these loads can run a refresh: no call, no allocation
    return (dirty[0] | sys[0] | cell.s[0] | (cell.b[0] ^ idle)) === 0;
  };
}

function makeFastFire(check, cell) {
  if (cell === undefined) {
    return function fire(cb) {
      if (typeof cb !== 'function') {
        throw new TypeError('Must give probe value callback as first argument');
      }
      if (check() === undefined) return undefined;
      return tracedFire.apply(this, arguments);
    };
  }
  const dirty = fast.dirty;
  const sys = fast.sys;
  const idle = fast.idle;
  return function fire(cb) {
    if (typeof cb !== 'function') {
      throw new TypeError('Must give probe value callback as first argument');
    }
    // untraced: no call into the addon (as makeUntraced, inlined by hand)
    if ((dirty[0] | sys[0] | cell.s[0] | (cell.b[0] ^ idle)) === 0) return undefined;
    if (check() === undefined) return undefined;
    return tracedFire.apply(this, arguments);
  };
}

class DTraceProbe {
  constructor(provider, name, types, handle) {
    // reference the provider, so that a probe alone keeps it alive
    Object.defineProperty(this, kProvider, { value: provider, writable: true });
    Object.defineProperty(this, kHandle, { value: handle, writable: true });
    Object.defineProperty(this, kKinds, { value: types.map(argKind) });
    Object.defineProperty(this, 'name', { value: name, enumerable: true });
    Object.defineProperty(this, 'usdtName', { value: usdtName(name), enumerable: true });
    Object.defineProperty(this, 'types', { value: types.map(String), enumerable: true });
    if (handle !== null) {
      // probe.fire(cb, ...args): untraced, decided in JS from the probe's
      // semaphore and site byte (no call into the addon; or, without the
      // fast path, one call to the probe's own check function) and the
      // callback never runs; traced, the full path.
      const cell = fast !== undefined ? native.makeCell(handle) : undefined;
      Object.defineProperty(this, 'fire', { value: makeFastFire(native.makeCheck(handle), cell), writable: true });
      if (cell !== undefined) Object.defineProperty(this, kUntraced, { value: makeUntraced(cell) });
    }
  }

  // True while a tracer is attached to the probe (and its provider enabled).
  get enabled() {
    if (native === null || this[kHandle] === null) return false;
    const untraced = this[kUntraced];
    if (untraced !== undefined && untraced()) return false;
    return native.isEnabled(this[kHandle]);
  }

  fire(cb, ...args) {
    if (typeof cb !== 'function') {
      throw new TypeError('Must give probe value callback as first argument');
    }
    return this._fire(cb, args);
  }

  _fire(cb, args) {
    const h = this[kHandle];
    if (native === null || h === null || !native.isEnabled(h)) return undefined;
    const values = cb.apply(this, args);
    if (!Array.isArray(values)) return undefined;
    const kinds = this[kKinds];
    let out = values;
    for (let i = 0; i < kinds.length; i++) {
      if (kinds[i][1]) {
        if (out === values) out = values.slice(0, kinds.length);
        out[i] = stringifyArg(values[i]);
      } else if (kinds[i][2] !== undefined && values[i] !== null && typeof values[i] === 'object' &&
                 !Buffer.isBuffer(values[i])) {
        if (out === values) out = values.slice(0, kinds.length);
        out[i] = packStruct(kinds[i][2], values[i]);
      }
    }
    native.fire(h, out);
    return true;
  }
}

class DTraceProvider {
  constructor(name, module) {
    if (typeof name !== 'string') {
      throw new TypeError('Must give provider name as argument');
    }
    if (arguments.length > 2) {
      throw new Error('Expected only provider name and module as arguments');
    }
    if (arguments.length === 2 && typeof module !== 'string') {
      throw new TypeError('Must give module name as argument');
    }
    const handle = native === null ? null : native.createProvider(name, module);
    Object.defineProperty(this, kHandle, { value: handle, writable: true });
    Object.defineProperty(this, kProbes, { value: new Map() });
    Object.defineProperty(this, 'name', { value: name });
    Object.defineProperty(this, 'module', { value: module });
  }

  addProbe(name, ...types) {
    name = String(name);
    const existing = this[kProbes].get(name);
    if (existing !== undefined && existing.types.join('\0') === types.map(String).join('\0')) {
      this[name] = existing;
      return existing;      // the same probe again: dtrace-provider code does this
    }
    let handle = null;
    if (native !== null) {
      // as created: libusdt publishes '-' as "__" to Linux tracers and
      // keeps it for DTrace (usdtName is that Linux name)
      handle = native.addProbe(this[kHandle], name, name, types.map((t) => argKind(t)[0]));
    }
    const probe = new DTraceProbe(this, name, types, handle);
    this[kProbes].set(name, probe);
    this[name] = probe;
    return probe;
  }

  removeProbe(probe) {
    if (!(probe instanceof DTraceProbe) || probe[kProvider] !== this) {
      throw new Error('probe is not part of this provider');
    }
    if (this[probe.name] === probe) delete this[probe.name];
    this[kProbes].delete(probe.name);
    if (native !== null) {
      native.removeProbe(this[kHandle], probe[kHandle]);
    }
    probe[kProvider] = null;
    return true;
  }

  enable() {
    if (native !== null) native.enable(this[kHandle]);
  }

  disable() {
    if (native !== null) native.disable(this[kHandle]);
  }

  // Not in dtrace-provider: disable and free now rather than at collection.
  destroy() {
    if (native !== null && this[kHandle] !== null) native.free(this[kHandle]);
  }

  get enabled() {
    return native !== null && this[kHandle] !== null && native.providerEnabled(this[kHandle]);
  }

  fire(name, cb, ...args) {
    if (typeof name !== 'string') {
      throw new TypeError('Must give probe name as first argument');
    }
    if (typeof cb !== 'function') {
      throw new TypeError('Must give probe value callback as second argument');
    }
    const probe = this[kProbes].get(name);
    if (probe === undefined) return undefined;      // unknown probe: nothing
    const untraced = probe[kUntraced];
    if (untraced !== undefined && untraced()) return true;
    probe._fire(cb, args);
    return true;
  }
}

// ---- structured arguments ----

const structs = new Map();     // name -> { name, size, align, fields }
const INTS = {};
for (const [names, size, signed] of [
  [['int8_t', 'char', 'signed char'], 1, true], [['uint8_t', 'unsigned char', 'bool', '_Bool'], 1, false],
  [['int16_t', 'short', 'short int', 'signed short'], 2, true], [['uint16_t', 'unsigned short', 'unsigned short int'], 2, false],
  [['int32_t', 'int', 'signed int', 'signed', 'pid_t'], 4, true],
  [['uint32_t', 'unsigned int', 'unsigned', 'uid_t', 'gid_t'], 4, false],
  [['int64_t', 'long', 'long int', 'signed long', 'long long', 'long long int', 'ssize_t', 'intptr_t', 'off_t'], 8, true],
  [['uint64_t', 'unsigned long', 'unsigned long int', 'unsigned long long', 'size_t', 'uintptr_t'], 8, false]]) {
  for (const n of names) INTS[n] = [size, signed];
}

function normType(t) {
  return String(t).replace(/\s+/g, ' ').replace(/ ?\*/g, ' *').replace(/\* \*/g, '**').trim();
}

// [kind, size, align, extra] of a field type, or null (libusdt names it)
function fieldShape(type) {
  const t = normType(type);
  if (INTS[t]) return ['int', INTS[t][0], INTS[t][0], INTS[t][1]];
  if (t === 'char *' || t === 'const char *') return ['str', 8, 8];
  if (t === 'json') return ['json', 8, 8];
  if (t === 'void *' || t === 'const void *' || /^struct \w+ \*$/.test(t)) return ['ptr', 8, 8];
  let m = /^char ?\[(\d+)\]$/.exec(t);
  if (m) return ['chars', Number(m[1]), 1];
  m = /^struct (\w+)$/.exec(t);
  if (m && structs.has(m[1])) {
    const s = structs.get(m[1]);
    return ['struct', s.size, s.align, s];
  }
  return null;
}

function registerStruct(name, fields) {
  if (native === null) return null;
  const sname = String(name).replace(/^\s*struct\s+/, '').trim();
  if (!Array.isArray(fields)) throw new TypeError('fields must be an array of [name, type]');
  let at = 0;
  let align = 1;
  let known = true;
  const out = [];
  for (const f of fields) {
    if (!Array.isArray(f) || f.length < 2) throw new TypeError('a field is [name, type]');
    const shape = fieldShape(f[1]);
    if (shape === null) known = false;
    const [kind, size, falign, extra] = shape || ['?', 0, 1];
    at = Math.ceil(at / falign) * falign;
    out.push({ name: String(f[0]), type: String(f[1]), offset: known ? at : 0, size, kind, extra });
    at += size;
    align = Math.max(align, falign);
  }
  // an unknown type: any valid size, so that libusdt's message names it
  const size = known ? (Math.ceil(at / align) * align || 0) : 65536;
  native.registerStruct(sname, size, out.map((f) => [f.name, f.type, f.offset]));
  const desc = { name: sname, size, align, fields: out };
  if (!structs.has(sname)) structs.set(sname, desc);
  return structs.get(sname);
}

function writeInt(buf, off, size, signed, v) {
  let b;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'boolean') b = v ? 1n : 0n;
  else b = BigInt(Math.trunc(Number(v)) || 0);
  b = BigInt.asUintN(size * 8, b);
  for (let i = 0; i < size; i++) {
    buf[off + i] = Number(b & 0xffn);      // little-endian (x86_64, aarch64)
    b >>= 8n;
  }
}

function fillStruct(desc, obj, buf, base, keep) {
  for (const f of desc.fields) {
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    const off = base + f.offset;
    if (f.kind === 'int') {
      writeInt(buf, off, f.size, f.extra, v);
    } else if (f.kind === 'str' || f.kind === 'json') {
      const s = Buffer.from((f.kind === 'json' ? stringifyArg(v) : String(v)) + '\0', 'utf8');
      keep.push(s);
      writeInt(buf, off, 8, false, native.addressOf(s));
    } else if (f.kind === 'chars') {
      buf.write(String(v), off, f.size - 1, 'utf8');
    } else if (f.kind === 'struct') {
      fillStruct(f.extra, v, buf, off, keep);
    } else {
      writeInt(buf, off, 8, false, Buffer.isBuffer(v) ? native.addressOf(v) : v);
    }
  }
}

// An object as the bytes of struct NAME (C layout); the strings its
// pointers point to live as long as the returned Buffer.
function packStruct(name, obj) {
  const desc = structs.get(name);
  if (desc === undefined) throw new TypeError(`struct ${name} was not registered with registerStruct()`);
  const buf = Buffer.alloc(desc.size);
  const keep = [];
  fillStruct(desc, obj, buf, 0, keep);
  Object.defineProperty(buf, 'usdtStrings', { value: keep });
  return buf;
}

function createDTraceProvider(name, module) {
  if (arguments.length === 2) return new DTraceProvider(name, module);
  if (arguments.length > 2) return new DTraceProvider(...arguments);
  return new DTraceProvider(name);
}

module.exports = {
  DTraceProvider,
  DTraceProbe,
  createDTraceProvider,
  registerStruct,
  packStruct,
  // extras
  native: native !== null,
  // probe.fire(cb) decides "untraced" without calling into the addon
  fastPath: fast !== undefined,
  loadError,
  version: native !== null ? native.version() : null,
};
