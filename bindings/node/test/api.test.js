'use strict';
// The dtrace-provider API and its error behaviour, without a tracer.
const test = require('node:test');
const assert = require('node:assert');
const d = require('..');

test('the native addon is loaded', () => {
  assert.strictEqual(d.native, true, String(d.loadError));
  assert.match(d.version, /^\d+\.\d+\.\d+/);
});

test('createDTraceProvider argument errors', () => {
  assert.throws(() => d.createDTraceProvider(), { name: 'TypeError', message: 'Must give provider name as argument' });
  assert.throws(() => d.createDTraceProvider(5), TypeError);
  assert.throws(() => d.createDTraceProvider('nodeapp', 5), { name: 'TypeError', message: 'Must give module name as argument' });
  assert.throws(() => d.createDTraceProvider('nodeapp', 'm', 'x'), { message: 'Expected only provider name and module as arguments' });
  assert.ok(new d.DTraceProvider('nodeapp') instanceof d.DTraceProvider);
  assert.ok(d.createDTraceProvider('nodeapp', 'mymod') instanceof d.DTraceProvider);
});

test('library errors carry libusdt\'s message', () => {
  assert.throws(() => d.createDTraceProvider('bad name'),
    { code: 'USDT_ERROR_BADNAME', message: /provider name "bad name" has an illegal character/ });
  assert.throws(() => d.createDTraceProvider('1abc'), { message: /must start with a letter/ });
  d.createDTraceProvider('provider0');      // libusdt 0.x's names: a trailing digit is fine
  const dtp = d.createDTraceProvider('apierr');
  assert.throws(() => dtp.addProbe('a:b', 'int'), { code: 'USDT_ERROR_BADNAME', message: /probe name "a:b"/ });
  assert.throws(() => d.createDTraceProvider('apiempty').enable(),
    { code: 'USDT_ERROR_NOPROBES', message: 'provider apiempty has no probes' });
  dtp.addProbe('p', 'int');
  assert.throws(() => dtp.addProbe('p', 'char *'), { code: 'USDT_ERROR_DUP_PROBE', message: /already exists/ });
  assert.throws(() => dtp.addProbe('many', ...new Array(33).fill('int')), RangeError);
  dtp.enable();
  // a second provider of the same name (dtrace-provider allowed it): both
  // enabled at once, sharing one object
  const other = d.createDTraceProvider('apierr');
  other.addProbe('q');
  other.enable();
  dtp.destroy();
  other.destroy();
});

test('fire argument errors and unknown probes', () => {
  const dtp = d.createDTraceProvider('apifire');
  const p = dtp.addProbe('p1', 'int', 'int');
  dtp.enable();
  assert.throws(() => dtp.fire(1, () => []), { name: 'TypeError', message: 'Must give probe name as first argument' });
  assert.throws(() => dtp.fire('p1'), { name: 'TypeError', message: 'Must give probe value callback as second argument' });
  assert.throws(() => p.fire('x'), { name: 'TypeError', message: 'Must give probe value callback as first argument' });
  // dtrace-provider's bad-probe test: firing non-probes never crashes
  dtp.typenull = null;
  dtp.typeobj1 = {};
  dtp.typeobj2 = { fire: 5 };
  dtp.typenum = 10;
  for (const name of ['kaboom', 'fire', 'toString', 'typenull', 'typeobj1', 'typeobj2', 'typenum']) {
    assert.strictEqual(dtp.fire(name, () => [1, 2]), undefined, name);
  }
  assert.strictEqual(dtp.fire('p1', () => [1, 2]), true);
  dtp.destroy();
});

test('callbacks do not run while no tracer is attached', () => {
  const dtp = d.createDTraceProvider('apicb');
  const p = dtp.addProbe('p', 'int', 'char *', 'json');
  let calls = 0;
  const cb = () => { calls++; return [1, 'x', {}]; };
  p.fire(cb);                          // never enabled
  dtp.fire('p', cb);
  dtp.enable();
  for (let i = 0; i < 1000; i++) {
    assert.strictEqual(p.fire(cb), undefined);
    dtp.fire('p', cb);
  }
  assert.strictEqual(p.enabled, false);
  dtp.disable();
  p.fire(cb);
  // the fast path: probe.fire is a per-probe function (reading the probe's
  // views, test/fastpath.test.js); it never runs the callback while
  // untraced, whatever happens to the provider
  assert.strictEqual(typeof p.fire, 'function');
  assert.notStrictEqual(p.fire, d.DTraceProbe.prototype.fire);
  dtp.enable();
  const q = dtp.addProbe('q', 'int');           // rebuilt while enabled
  for (let i = 0; i < 1000; i++) {
    assert.strictEqual(p.fire(cb, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), undefined);
    assert.strictEqual(q.fire(cb), undefined);
  }
  dtp.removeProbe(q);
  q.fire(cb);
  assert.throws(() => q.fire(), { name: 'TypeError', message: 'Must give probe value callback as first argument' });
  dtp.destroy();
  p.fire(cb);
  assert.strictEqual(calls, 0);
});

test('the addon exports an empty function (bench baseline)', () => {
  const native = require('../build/Release/usdt.node');
  assert.strictEqual(native.noop(() => 1), undefined);
});

test('probes are provider properties; the same probe twice is the same object', () => {
  const dtp = d.createDTraceProvider('apiprops');
  const p = dtp.addProbe('probe1', 'int');
  assert.strictEqual(dtp.probe1, p);
  assert.strictEqual(dtp.addProbe('probe1', 'int'), p);
  const dash = dtp.addProbe('log-info', 'char *');
  assert.strictEqual(dtp['log-info'], dash);
  assert.strictEqual(dash.usdtName, 'log__info');
  assert.strictEqual(dtp.removeProbe(dash), true);
  assert.strictEqual(dtp['log-info'], undefined);
  assert.throws(() => dtp.removeProbe(dash), /not part of this provider/);
  dtp.destroy();
});

test('enable twice, disable/enable cycles, add while enabled', () => {
  const dtp = d.createDTraceProvider('apicycle');
  dtp.addProbe('a', 'int');
  for (let i = 0; i < 5; i++) {
    dtp.enable();
    dtp.enable();
    assert.strictEqual(dtp.enabled, true);
    dtp.disable();
    dtp.disable();
    assert.strictEqual(dtp.enabled, false);
  }
  dtp.enable();
  const b = dtp.addProbe('b', 'json');
  assert.strictEqual(b.fire(() => [{}]), undefined);
  dtp.destroy();
  assert.strictEqual(dtp.enabled, false);
  assert.strictEqual(b.fire(() => [{}]), undefined);
});

test('providers and probes survive garbage collection', { skip: typeof global.gc !== 'function' && 'run node with --expose-gc' }, () => {
  let probe;
  for (let i = 0; i < 100; i++) {
    const dtp = d.createDTraceProvider('apigc');
    probe = dtp.addProbe('p', 'int', 'char *');
    dtp.enable();
    dtp.disable();     // a collected provider is freed, which disables it
  }
  global.gc();
  assert.strictEqual(probe.fire(() => [1, 'x']), undefined);
  const dtp = d.createDTraceProvider('apigc');
  dtp.addProbe('q');
  dtp.enable();
  dtp.destroy();
});

test('handles are checked by the addon', () => {
  const native = require('../build/Release/usdt.node');
  assert.throws(() => native.fire({}, []), TypeError);
  assert.throws(() => native.isEnabled(null), TypeError);
  assert.throws(() => native.enable(42), TypeError);
});

test('worker threads: workers load, use and unload the addon; the process survives', () => {
  // In a fresh process, so that a worker is the first to load the addon and
  // Node unloads it when that worker exits.
  const { spawnSync } = require('node:child_process');
  const mod = JSON.stringify(require.resolve('..'));
  const worker = `
    const d = require(${mod});
    const p = d.createDTraceProvider('apiworker');
    const a = p.addProbe('a', 'int', 'json');
    p.enable();
    for (let i = 0; i < 1000; i++) a.fire(() => [i, { i }]);
    if (require('node:worker_threads').workerData) p.destroy();   // else freed at teardown
    require('node:worker_threads').parentPort.postMessage(d.native);`;
  const main = `
    const { Worker } = require('node:worker_threads');
    const run = (destroy) => new Promise((resolve, reject) => {
      const w = new Worker(${JSON.stringify(worker)}, { eval: true, workerData: destroy });
      let msg;
      w.on('message', (m) => { msg = m; });
      w.on('error', reject);
      w.on('exit', () => resolve(msg));
    });
    (async () => {
      const got = [await run(true), await run(false)];
      const d = require(${mod});                // the workers' providers are gone
      const p = d.createDTraceProvider('apiworker');
      p.addProbe('x');
      p.enable();
      p.destroy();
      const q = d.createDTraceProvider('apimain');
      q.addProbe('y');
      q.enable();
      got.push(await run(true));                // a worker beside the main thread
      q.destroy();
      console.log('OK ' + got.join(','));
    })();`;
  const r = spawnSync(process.execPath, ['-e', main], { encoding: 'utf8', timeout: 60000 });
  assert.strictEqual(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.stdout.trim(), 'OK true,true,true');
});
