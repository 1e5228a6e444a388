'use strict';
// The untraced fast path of probe.fire(cb): JavaScript reads the probe's
// semaphore and site byte through views the addon keeps over them (as a
// usdt_vm.h client: an object it viewed stays mapped until the addon has
// replaced the views and acknowledged the change), so an untraced fire
// makes no call into the addon and never runs the callback. Changes made
// inside other changes, by the garbage collector's finalizers and by
// worker threads never make a fire read unmapped memory.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const d = require('..');
const native = require('../build/Release/usdt.node');

// (lib/index.js: V8 before 9.1 aborts on two ArrayBuffers over one address)
const v8 = /^(\d+)\.(\d+)/.exec(process.versions.v8).slice(1).map(Number);
const fastExpected = process.platform === 'linux' && ['x64', 'arm64', 'ia32'].includes(process.arch) &&
  process.env.USDT_NODE_FAST !== '0' && (v8[0] > 9 || (v8[0] === 9 && v8[1] >= 1));

// A change made by another thread (a worker's teardown frees its twins) or
// by a finalizer is acknowledged from the event loop: wait for it (up to
// 2 s) before comparing generations.
async function settled() {
  for (let i = 0; i < 200; i++) {
    const s = native.fastStats();
    if (s.acked === s.generation) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('untraced probe.fire(cb) makes no call into the addon', () => {
  assert.strictEqual(d.fastPath, fastExpected);
  if (!fastExpected) return;
  const dtp = d.createDTraceProvider('nodefast1');
  const p = dtp.addProbe('p', 'int', 'char *');
  let calls = 0;
  const cb = () => { calls++; return [1, 'x']; };
  p.fire(cb);                                   // not enabled yet
  dtp.enable();
  p.fire(cb);                                   // refreshes the views
  const before = native.fastStats();
  for (let i = 0; i < 10000; i++) assert.strictEqual(p.fire(cb), undefined);
  const after = native.fastStats();
  assert.strictEqual(after.checks, before.checks, 'an untraced fire called into the addon');
  assert.strictEqual(after.acked, after.generation, 'the change was not acknowledged');
  // a change: the next fire refreshes once, then no call again
  dtp.addProbe('q', 'int');                     // rebuilt while enabled
  for (let i = 0; i < 1000; i++) assert.strictEqual(p.fire(cb), undefined);
  const again = native.fastStats();
  assert.ok(again.refreshes > after.refreshes, 'no refresh after a rebuild');
  assert.ok(again.checks - after.checks <= 2, `${again.checks - after.checks} calls into the addon after one change`);
  assert.strictEqual(again.acked, again.generation);
  dtp.destroy();
  for (let i = 0; i < 1000; i++) assert.strictEqual(p.fire(cb), undefined);
  assert.strictEqual(calls, 0);
});

// Providers of the same name managed from two threads at once (libusdt
// builds them into one object): the main thread adds and removes probes of
// its enabled provider while a worker enables and disables a twin, whose
// rebuilds read the main thread's probe list. Seen failing (SIGSEGV,
// SIGABRT "double free or corruption", ASan: heap-buffer-overflow in
// libusdt's build_generation()) in most runs before the addon serialised
// libusdt's management calls process-wide (src/addon.c, manage_lock); it
// needs no fast path and no collection.
test('twins managed from two threads at once never corrupt libusdt', { timeout: 120000 }, async () => {
  const ms = Number(process.env.USDT_NODE_TWIN_MS || 2000);
  const w = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const d = require(workerData.dir);
    const t = d.createDTraceProvider('nodetwinrace');
    const p = t.addProbe('w', 'int');
    let calls = 0, n = 0;
    const cb = () => { calls++; return [1]; };
    parentPort.postMessage('ready');
    const end = Date.now() + workerData.ms;
    do {
      t.enable();
      p.fire(cb);
      t.disable();
      n++;
    } while (Date.now() < end);
    t.destroy();
    parentPort.postMessage({ calls, n });
  `, { eval: true, workerData: { dir: path.join(__dirname, '..'), ms } });
  const msgs = [];
  const result = new Promise((resolve, reject) => {
    w.on('message', (m) => { msgs.push(m); if (typeof m === 'object') resolve(m); });
    w.on('error', reject);
  });
  const exited = new Promise((resolve) => w.on('exit', resolve));
  while (msgs.length === 0) await new Promise((r) => setTimeout(r, 5));
  const dtp = d.createDTraceProvider('nodetwinrace');
  const p0 = dtp.addProbe('p0', 'int');
  // a long list: the worker's rebuild walks it for longer
  for (let i = 1; i < 64; i++) dtp.addProbe('p' + i, 'int');
  dtp.enable();
  let calls = 0, n = 0;
  const cb = () => { calls++; return [1]; };
  const end = Date.now() + ms;
  do {
    const q = dtp.addProbe('x' + (n % 8), 'int');   // rebuilt while enabled
    p0.fire(cb);
    q.fire(cb);
    dtp.removeProbe(q);
    n++;
  } while (Date.now() < end);
  const r = await result;
  await exited;
  dtp.destroy();
  assert.strictEqual(calls, 0, 'a callback ran untraced');
  assert.strictEqual(r.calls, 0, 'a callback ran untraced in the worker');
  assert.ok(n > 0 && r.n > 0, `${n} rounds here, ${r.n} in the worker`);
});

// Providers that only the garbage collector frees: their finalizers
// (usdt_provider_free) change libusdt's objects whenever a collection runs,
// also while the addon is refreshing views.
function garbage(n) {
  for (let i = 0; i < n; i++) {
    const g = d.createDTraceProvider('nodefastgc');
    g.addProbe('p', 'int');
    g.enable();
  }
}

test('changes inside changes, by finalizers and by worker threads never crash a fire', { timeout: 120000 }, async () => {
  const ms = Number(process.env.USDT_NODE_STRESS_MS || 3000);
  const worker = `
    const { parentPort, workerData } = require('node:worker_threads');
    const d = require(workerData.dir);
    const end = Date.now() + workerData.ms;
    let calls = 0, n = 0;
    const cb = () => { calls++; return [1]; };
    const twins = [];
    while (Date.now() < end) {
      // same names as the main thread's providers: twins of its objects
      const t = d.createDTraceProvider(n % 2 ? 'nodefast2' : 'nodefastgc');
      const p = t.addProbe('p', 'int');
      t.enable();
      for (let i = 0; i < 50; i++) p.fire(cb);
      if (n % 3 === 0) t.addProbe('x' + n, 'int');
      for (let i = 0; i < 50; i++) p.fire(cb);
      if (n % 5 === 0) twins.push(t); else t.destroy();
      if (twins.length > 4) twins.shift().disable();
      n++;
    }
    parentPort.postMessage({ calls, n });
  `;
  const dir = path.join(__dirname, '..');
  const workers = [0, 1].map(() => new Worker(worker, { eval: true, workerData: { dir, ms } }));
  const done = workers.map((w) => new Promise((resolve, reject) => { w.on('message', resolve); w.on('error', reject); }));
  const exits = workers.map((w) => new Promise((resolve) => w.on('exit', resolve)));

  const dtp = d.createDTraceProvider('nodefast2');
  const probes = [dtp.addProbe('p', 'int')];
  dtp.enable();
  let calls = 0;
  const cb = () => { calls++; return [1]; };
  const end = Date.now() + ms;
  let round = 0;
  while (Date.now() < end) {
    round++;
    for (let i = 0; i < 200; i++) for (const p of probes) assert.strictEqual(p.fire(cb), undefined);
    switch (round % 6) {
      case 0: dtp.disable(); break;
      case 1: dtp.enable(); break;
      case 2: probes.push(dtp.addProbe('a' + round, 'int', 'char *')); break;
      case 3: if (probes.length > 3) dtp.removeProbe(probes.splice(1, 1)[0]); break;
      case 4: garbage(20); if (global.gc) global.gc(); break;
      default: {                                  // a twin in this thread
        const t = d.createDTraceProvider('nodefast2');
        t.addProbe('p', 'int');
        t.enable();
        for (let i = 0; i < 100; i++) probes[0].fire(cb);
        t.destroy();
      }
    }
    if (round % 20 === 0) await new Promise((r) => setImmediate(r));
  }
  const results = await Promise.all(done);
  await Promise.all(exits);
  for (let i = 0; i < 100; i++) for (const p of probes) p.fire(cb);
  assert.strictEqual(calls, 0, 'a callback ran untraced');
  for (const r of results) {
    assert.strictEqual(r.calls, 0, 'a callback ran untraced in a worker');
    assert.ok(r.n > 0);
  }
  if (d.fastPath) {
    await settled();
    const s = native.fastStats();
    assert.ok(s.refreshes > 0);
    assert.strictEqual(s.acked, s.generation, 'the last change was not acknowledged');
  }
  dtp.destroy();
});

test('a change made by another thread is acknowledged without a fire', async () => {
  if (!d.fastPath) return;
  const dtp = d.createDTraceProvider('nodefast3');
  dtp.addProbe('p', 'int');
  dtp.enable();
  await settled();
  const start = native.fastStats();
  assert.strictEqual(start.acked, start.generation);
  const w = new Worker(`
    const d = require(${JSON.stringify(path.join(__dirname, '..'))});
    const t = d.createDTraceProvider('nodefast3');
    t.addProbe('p', 'int');
    t.enable();       // a twin: the main thread's object is replaced
    t.destroy();
  `, { eval: true });
  await new Promise((resolve, reject) => { w.on('exit', resolve); w.on('error', reject); });
  for (let i = 0; i < 100 && native.fastStats().acked < native.fastStats().generation; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const s = native.fastStats();
  assert.ok(s.generation > start.generation, 'the worker changed nothing');
  assert.strictEqual(s.acked, s.generation, 'not acknowledged from the event loop');
  assert.strictEqual(s.checks, start.checks, 'a check ran (no fire was made)');
  dtp.destroy();
});

test('USDT_NODE_FAST=0: no fast path, the callback still never runs untraced', () => {
  const { spawnSync } = require('node:child_process');
  const r = spawnSync(process.execPath, ['-e', `
    const d = require(${JSON.stringify(path.join(__dirname, '..'))});
    const dtp = d.createDTraceProvider('nodefast4');
    const p = dtp.addProbe('p', 'int');
    dtp.enable();
    let calls = 0;
    for (let i = 0; i < 1000; i++) p.fire(() => { calls++; return [1]; });
    dtp.addProbe('q', 'int');
    for (let i = 0; i < 1000; i++) p.fire(() => { calls++; return [1]; });
    console.log(JSON.stringify({ fast: d.fastPath, calls, enabled: p.enabled }));
  `], { env: { ...process.env, USDT_NODE_FAST: '0' }, encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.deepStrictEqual(JSON.parse(r.stdout), { fast: false, calls: 0, enabled: false });
});
