'use strict';
// Structured and JSON argument types (issue 14 part 2): registerStruct()
// layouts and errors; bpftrace attached to this Node process reads every
// field of a 'struct request *' argument packed from a JS object (int8 ..
// uint64 extremes, a string, a char[16]) and a 'json' argument, through C
// declarations of the structure. Needs root and bpftrace for the traced
// part; skipped without them unless USDT_TEST_TRACER=1 (t_node.sh sets it).
const test = require('node:test');
const assert = require('node:assert');
const { spawn, spawnSync } = require('node:child_process');
const d = require('..');

const required = process.env.USDT_TEST_TRACER === '1';
const bpftrace = process.env.BPFTRACE || 'bpftrace';
const haveTracer = process.getuid() === 0 &&
  spawnSync(bpftrace, ['--version'], { stdio: 'ignore' }).status === 0;
const skip = !haveTracer && !required && 'needs root and bpftrace';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const FIELDS = [['i8', 'int8_t'], ['u8', 'uint8_t'], ['i16', 'int16_t'], ['u16', 'uint16_t'],
  ['i32', 'int32_t'], ['u32', 'uint32_t'], ['i64', 'int64_t'], ['u64', 'uint64_t'],
  ['path', 'char *'], ['name', 'char[16]'], ['meta', 'json']];
const VALUES = { i8: -128, u8: 255, i16: -32768, u16: 65535, i32: -2147483648, u32: 4294967295,
  i64: -(2n ** 63n), u64: 2n ** 64n - 1n, path: '/node/index', name: 'carol', meta: { k: [1, 2] } };
const WANT = 'GOT -128 255 -32768 65535 -2147483648 4294967295 -9223372036854775808 18446744073709551615 ' +
  '/node/index carol {"k":[1,2]} {"a":1,"b":[true,null,"x"]}';
// what `usdt cdecl` prints for this layout (base C types)
const DECL = `struct nodereq {
  signed char i8; unsigned char u8; short i16; unsigned short u16; int i32; unsigned int u32;
  long long i64; unsigned long long u64; char *path; char name[16]; char *meta;
};
`;

test('registerStruct: C layout, same layout again, errors', () => {
  const s = d.registerStruct('nodereq', FIELDS);
  assert.strictEqual(s.size, 64);
  assert.deepStrictEqual(s.fields.map((f) => f.offset), [0, 1, 2, 4, 8, 12, 16, 24, 32, 40, 56]);
  assert.strictEqual(d.registerStruct('nodereq', FIELDS), s);
  assert.throws(() => d.registerStruct('nodereq', [['x', 'int']]),
    (e) => e.code === 'USDT_ERROR_DUP_STRUCT' && /another layout/.test(e.message));
  assert.throws(() => d.registerStruct('nodebad', [['x', 'float']]),
    (e) => e.code === 'USDT_ERROR_LAYOUT' && /field x has an unknown type "float"/.test(e.message));
  assert.throws(() => d.registerStruct('node-bad', [['x', 'int']]), (e) => e.code === 'USDT_ERROR_LAYOUT');
  const dtp = d.createDTraceProvider('nodestructerr');
  assert.throws(() => dtp.addProbe('x', 'struct nosuch *'),
    (e) => e.code === 'USDT_ERROR_BADTYPE' && /no structure "nosuch" is registered/.test(e.message));
  const buf = d.packStruct('nodereq', VALUES);
  assert.strictEqual(buf.length, 64);
  assert.strictEqual(buf.readInt32LE(8), -2147483648);
  assert.strictEqual(buf.readBigUInt64LE(24), 2n ** 64n - 1n);
  assert.strictEqual(buf.toString('utf8', 40, 45), 'carol');
  dtp.destroy();
});

test('bpftrace reads a struct packed from an object and a json argument', { skip, timeout: 120000 }, async () => {
  assert.ok(haveTracer, 'bpftrace and root are required (USDT_TEST_TRACER=1)');
  d.registerStruct('nodereq', FIELDS);
  const dtp = d.createDTraceProvider('nodestruct');
  const req = dtp.addProbe('req', 'struct nodereq *', 'json');
  const raw = dtp.addProbe('raw', 'struct nodereq *');
  dtp.enable();
  const prog = DECL +
    'usdt:*:nodestruct:req { $r = (struct nodereq *)arg0; ' +
    'printf("GOT %d %u %d %u %d %u %ld %lu %s %s %s %s\\n", $r->i8, $r->u8, $r->i16, $r->u16, ' +
    '$r->i32, $r->u32, $r->i64, $r->u64, str($r->path), $r->name, str($r->meta), str(arg1)); }\n' +
    'usdt:*:nodestruct:raw { printf("RAW %d %s\\n", ((struct nodereq *)arg0)->i32, ((struct nodereq *)arg0)->name); }\n';
  const bt = spawn(bpftrace, ['-p', String(process.pid), '-e', prog], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  bt.stdout.on('data', (b) => { out += b; });
  bt.stderr.on('data', (b) => { err += b; });
  const exited = new Promise((r) => bt.on('exit', r));
  const buf = d.packStruct('nodereq', { i32: -7, name: 'buffer' });
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline && !(out.includes('GOT ') && out.includes('RAW '))) {
    if (bt.exitCode !== null) break;
    req.fire(() => [VALUES, { a: 1, b: [true, null, 'x'] }]);
    raw.fire(() => [buf]);
    await sleep(20);
  }
  bt.kill('SIGINT');
  const code = await exited;
  const lines = out.split('\n');
  assert.ok(lines.includes(WANT), `bpftrace (exit ${code}) did not print '${WANT}':\n${out}\n${err}`);
  assert.ok(lines.includes('RAW -7 buffer'), `no 'RAW -7 buffer':\n${out}\n${err}`);
  console.log(lines.filter((l) => /^(GOT|RAW) /.test(l)).slice(0, 2).join('\n'));
  dtp.destroy();
});
