'use strict';
// bpftrace attached to this Node process reads the exact values of probes of
// every type (int, char *, json), fired through provider.fire() and
// probe.fire(); the callbacks run only while bpftrace is attached.
// Needs root and bpftrace; skipped without them unless USDT_TEST_TRACER=1
// (tests/bindings/t_node.sh sets it, so a missing tracer is a failure).
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

// bpftrace attached to this process, running `program`: its child process,
// what it has printed so far (t.out, t.err) and a promise of its exit code.
function attachBpftrace(program) {
  const bt = spawn(bpftrace, ['-p', String(process.pid), '-e', program], { stdio: ['ignore', 'pipe', 'pipe'] });
  const t = { bt, out: '', err: '', exited: new Promise((r) => bt.on('exit', r)) };
  bt.stdout.on('data', (b) => { t.out += b; });
  bt.stderr.on('data', (b) => { t.err += b; });
  return t;
}

// name -> { types, values (what the callback returns), want (what bpftrace must print) }
const PROBES = {
  ints: {
    types: ['int', 'int', 'int', 'int', 'int', 'int'],
    values: [0, -1, 2147483647, -2147483648, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER],
    want: ['0', '-1', '2147483647', '-2147483648', '9007199254740991', '-9007199254740991'],
  },
  bigints: {
    types: ['int', 'int', 'int'],
    values: [2n ** 63n - 1n, -(2n ** 63n), 4294967296n],
    want: ['9223372036854775807', '-9223372036854775808', '4294967296'],
  },
  coerced: {
    types: ['int', 'int', 'int', 'int', 'int', 'int'],
    values: ['42', true, null, undefined, 3.9, -3.9],
    want: ['42', '1', '0', '0', '3', '-3'],
  },
  strings: {
    types: ['char *', 'char *', 'char *', 'char *', 'char *'],
    values: ['hello', '', 'h\u00e9llo w\u00f6rld \u2713', 12345, undefined],
    want: ['hello', '', 'h\u00e9llo w\u00f6rld \u2713', '12345', 'undefined'],
  },
  json: {
    types: ['json', 'json', 'json', 'json'],
    values: [{ a: 1, b: [true, null, 'x'] }, 'str', undefined, [1, 2.5, -3]],
    want: ['{"a":1,"b":[true,null,"x"]}', '"str"', 'undefined', '[1,2.5,-3]'],
  },
  mixed: {
    types: ['int', 'char *', 'json'],
    values: [200, 'GET /index.html', { status: 'ok' }],
    want: ['200', 'GET /index.html', '{"status":"ok"}'],
  },
  fewer: {
    types: ['int', 'char *', 'json'],
    values: [7],
    want: ['7', 'undefined', 'undefined'],
  },
  'log-info': {       // traced as log__info
    types: ['char *'],
    values: ['{"msg":"hi","level":30}'],
    want: ['{"msg":"hi","level":30}'],
  },
};

function bpftraceProgram() {
  let prog = '';
  for (const [name, spec] of Object.entries(PROBES)) {
    const uname = name.replace(/-/g, '__');
    const fmt = spec.types.map((t) => (t === 'int' ? '%ld' : '%s')).join('|');
    const args = spec.types.map((t, i) => (t === 'int' ? `, arg${i}` : `, str(arg${i})`)).join('');
    prog += `usdt:*:nodetest:${uname} /@seen["${uname}"] == 0/ { @seen["${uname}"] = 1; ` +
            `printf("GOT ${uname}|${fmt}|\\n"${args}); }\n`;
  }
  prog += 'usdt:*:nodetest:after /@seen["after"] == 0/ { @seen["after"] = 1; ' +
          'printf("GOT after|%ld|%s|%ld|\\n", arg0, str(arg1), arg2); }\n';
  prog += 'END { clear(@seen); }\n';
  return prog;
}

test('bpftrace reads what Node fires', { skip, timeout: 120000 }, async () => {
  assert.ok(haveTracer, 'bpftrace and root are required (USDT_TEST_TRACER=1)');
  const dtp = d.createDTraceProvider('nodetest', 'traced.test.js');
  const probes = {};
  for (const [name, spec] of Object.entries(PROBES)) probes[name] = dtp.addProbe(name, ...spec.types);
  const after = dtp.addProbe('after', 'int', 'char *', 'int');
  dtp.enable();

  const calls = {};
  let afterArgs = null;
  let n = 0;
  const fireAll = () => {
    n++;
    for (const [name, spec] of Object.entries(PROBES)) {
      const cb = function () {
        assert.strictEqual(this, probes[name]);          // `this` is the probe
        calls[name] = (calls[name] || 0) + 1;
        return spec.values;
      };
      if (n % 2) probes[name].fire(cb); else dtp.fire(name, cb);
    }
    // extra fire() arguments are passed to the callback
    dtp.fire('after', (a, b, c) => { afterArgs = [a, b, c]; return [a, b, c + 5]; }, 42, 'forty-two', 10);
  };
  const total = () => Object.values(calls).reduce((a, b) => a + b, 0);

  // No tracer: callbacks never run.
  for (let i = 0; i < 20; i++) { fireAll(); await sleep(10); }
  assert.strictEqual(total(), 0, 'a callback ran while no tracer was attached');
  assert.strictEqual(probes.ints.enabled, false);

  const t = attachBpftrace(bpftraceProgram());
  const { bt, exited } = t;

  const names = Object.keys(PROBES).map((k) => k.replace(/-/g, '__')).concat(['after']);
  const deadline = Date.now() + 60000;
  let sawEnabled = false;
  while (Date.now() < deadline && !names.every((k) => t.out.includes(`GOT ${k}|`))) {
    if (bt.exitCode !== null) break;
    sawEnabled = sawEnabled || probes.ints.enabled;
    fireAll();
    await sleep(20);
  }
  fireAll();
  bt.kill('SIGINT');
  const code = await exited;
  assert.ok(names.every((k) => t.out.includes(`GOT ${k}|`)),
    `bpftrace did not see every probe (exit ${code}):\n${t.out}\n${t.err}`);
  assert.ok(sawEnabled, 'probe.enabled never became true while bpftrace was attached');

  for (const [name, spec] of Object.entries(PROBES)) {
    const uname = name.replace(/-/g, '__');
    const line = t.out.split('\n').find((l) => l.startsWith(`GOT ${uname}|`));
    const got = line.slice(`GOT ${uname}|`.length).split('|').slice(0, -1);
    assert.deepStrictEqual(got, spec.want, `values of ${name}`);
    assert.ok(calls[name] > 0, `callback of ${name} ran while traced`);
  }
  assert.deepStrictEqual(afterArgs, [42, 'forty-two', 10]);
  assert.ok(t.out.includes('GOT after|42|forty-two|15|'), t.out);

  // Detached: enabled goes back to false and callbacks stop.
  for (let i = 0; i < 200 && probes.ints.enabled; i++) await sleep(25);
  assert.strictEqual(probes.ints.enabled, false, 'probe still enabled after bpftrace exited');
  const before = total();
  for (let i = 0; i < 20; i++) { fireAll(); await sleep(5); }
  assert.strictEqual(total(), before, 'a callback ran after the tracer detached');
  dtp.destroy();
  console.log(t.out.trim());
});

// The fast path's views follow libusdt's objects: after a rebuild (a probe
// added while enabled), a disable + enable and a second provider of the
// same name, a tracer attaching is seen by the first probe; and it is seen
// by a hot synchronous loop of fires already running when it attaches (the
// check is re-read at every fire, never hoisted out of the loop).
test('bpftrace sees a probe after its object changed, from inside a running loop', { skip, timeout: 120000 }, async () => {
  assert.ok(haveTracer, 'bpftrace and root are required (USDT_TEST_TRACER=1)');
  const dtp = d.createDTraceProvider('nodemove');
  const p = dtp.addProbe('p', 'int', 'char *');
  dtp.enable();
  let calls = 0;
  const cb = () => { calls++; return [7, 'moved']; };
  for (let i = 0; i < 100; i++) p.fire(cb);
  dtp.addProbe('q', 'int');                     // rebuilt while enabled
  for (let i = 0; i < 100; i++) p.fire(cb);
  dtp.disable();
  dtp.enable();
  for (let i = 0; i < 100; i++) p.fire(cb);
  const twin = d.createDTraceProvider('nodemove');
  const tp = twin.addProbe('p', 'int', 'char *');
  twin.enable();
  for (let i = 0; i < 100; i++) { p.fire(cb); tp.fire(cb); }
  assert.strictEqual(calls, 0);

  const t = attachBpftrace(
    'usdt:*:nodemove:p /@n == 0/ { @n = 1; printf("GOT %ld %s\\n", arg0, str(arg1)); } END { clear(@n); }');
  const { bt, exited } = t;
  await sleep(0);
  // one synchronous loop: no event-loop turn until the callback runs
  const loopStart = Date.now();
  const deadline = loopStart + 45000;
  let n = 0;
  while (calls === 0 && Date.now() < deadline) {
    for (let i = 0; i < 100000; i++) p.fire(cb);
    n++;
  }
  if (calls === 0) bt.kill('SIGKILL');
  assert.ok(calls > 0, `the callback never ran in a loop of ${n * 100000} fires (${Date.now() - loopStart} ms) ` +
    `while bpftrace attached: ${t.err}`);
  const t0 = Date.now();
  while (!t.out.includes('GOT ') && Date.now() - t0 < 30000) {
    p.fire(cb);
    await sleep(20);
  }
  bt.kill('SIGINT');
  const killer = setTimeout(() => bt.kill('SIGKILL'), 15000);
  await exited;
  clearTimeout(killer);
  assert.ok(t.out.includes('GOT 7 moved'), `bpftrace output: ${t.out}\n${t.err}`);
  twin.destroy();
  dtp.destroy();
});
