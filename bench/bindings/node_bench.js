#!/usr/bin/env node
'use strict';
/*
 * node_bench.js — cost of the Node binding's probes (issue 13, target 4).
 *
 * In one process, in the same run: an untraced probe.fire(cb) (the
 * dtrace-provider API) against the floor of any call into a Node-API
 * addon, the addon's empty exported function called with the same
 * argument (noop(cb)). Target: <= 1.5x, and the callback never runs (the
 * count of callback runs is a row too). For information: the same fire
 * through the addon's per-probe check function (the path without the JS
 * fast path, USDT_NODE_FAST=0, and what probe.fire was before it),
 * provider.fire(name, cb), probe.enabled, and an empty JS function call. With bpftrace
 * attached (root, bpftrace installed): the traced probe.fire(cb), and
 * bpftrace's count checked against the fires.
 *
 * Each run is ROUNDS short rounds timing every statement in turn; a figure
 * is the median over all rounds, its ratio the median of per-round ratios;
 * the empty loop's time is subtracted. Output: the table and CSV of
 * bench/bench.h ("section figure median unit ratio baseline target status",
 * CSV appended to $BENCH_CSV). Environment: BENCH_SMOKE=1, BENCH_RUNS
 * (default 7, at least 5), BENCH_CSV, BPFTRACE. Exit status 0, or 1 on
 * error (no figure ever fails the run).
 */
const fs = require('fs');
const path = require('path');
const { spawn, execSync } = require('child_process');

const root = path.join(__dirname, '..', '..');
const d = require(path.join(root, 'bindings', 'node'));
const native = require(path.join(root, 'bindings', 'node', 'build', 'Release', 'usdt.node'));

const SMOKE = !['', '0', undefined].includes(process.env.BENCH_SMOKE);
const RUNS = Math.min(64, Math.max(5, parseInt(process.env.BENCH_RUNS || '7', 10) || 7));
const ROUNDS = SMOKE ? 2 : 6;
const N = SMOKE ? 20000 : 200000;

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}
function fmt(v) { return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2); }
function pad(s, n) { s = String(s); return s.length >= n ? s : s + ' '.repeat(n - s.length); }
function lpad(s, n) { s = String(s); return s.length >= n ? s : ' '.repeat(n - s.length) + s; }
function header(title) {
  console.log(`\n== ${title}\n${pad('section', 10)} ${pad('figure', 44)} ${lpad('median', 10)} ${pad('unit', 6)} ${pad('ratio (same run)', 34)} ${pad('target', 16)} status`);
}
function row(section, name, value, unit, ratio, baseline, target, status) {
  const r = ratio == null ? '-' : `${ratio.toFixed(2)}x ${baseline}`;
  console.log(`${pad(section, 10)} ${pad(name, 44)} ${lpad(fmt(value), 10)} ${pad(unit, 6)} ${pad(r, 34)} ${pad(target || '', 16)} ${status || ''}`);
  if (process.env.BENCH_CSV) {
    fs.appendFileSync(process.env.BENCH_CSV, `${section},"${name}",${value.toFixed(4)},${unit},${(ratio == null ? 0 : ratio).toFixed(4)},"${ratio == null ? '' : baseline}","${target || ''}",${status || ''}\n`);
  }
}

// Each case is its own function (its own call site, so V8 keeps it
// monomorphic), timed over n iterations.
function timeLoop(fn, n) {
  const t0 = process.hrtime.bigint();
  fn(n);
  return Number(process.hrtime.bigint() - t0) / n;
}

function measure(cases, runs, n) {
  const out = {};
  for (const k of Object.keys(cases)) { out[k] = []; cases[k](Math.min(n, 20000)); }   // warm up
  const empty = (m) => { let x = 0; for (let i = 0; i < m; i++) x += i; return x; };
  empty(n);
  for (let r = 0; r < runs * ROUNDS; r++) {
    const loop = timeLoop(empty, n);
    for (const k of Object.keys(cases)) out[k].push(Math.max(0.01, timeLoop(cases[k], n) - loop));
  }
  return out;
}
const ratios = (a, b) => median(a.map((x, i) => x / b[i]));

function untraced() {
  const dtp = d.createDTraceProvider('nodebench');
  const p = dtp.addProbe('p1', 'int', 'char *');
  dtp.enable();
  let calls = 0;
  const cb = () => { calls++; return [1, 'x']; };
  const noop = native.noop;
  const oldFire = d.DTraceProbe.prototype.fire;
  // the addon-only path: one call to the probe's native check per fire
  const handle = p[Object.getOwnPropertySymbols(p).find((s) => s.description === 'usdt.handle')];
  const check = native.makeCheck(handle);
  const viaAddon = function fire(cb) {
    if (typeof cb !== 'function') throw new TypeError('Must give probe value callback as first argument');
    if (check() === undefined) return undefined;
    return cb();
  };
  function jsEmpty(f) { return undefined; }
  const cases = {
    noop: (m) => { for (let i = 0; i < m; i++) noop(cb); },
    fire: (m) => { for (let i = 0; i < m; i++) p.fire(cb); },
    pfire: (m) => { for (let i = 0; i < m; i++) dtp.fire('p1', cb); },
    addon: (m) => { for (let i = 0; i < m; i++) viaAddon.call(p, cb); },
    // what probe.fire(cb) was before issue 13: JS, then native.isEnabled(handle)
    old: (m) => { for (let i = 0; i < m; i++) oldFire.call(p, cb); },
    enabled: (m) => { let x = 0; for (let i = 0; i < m; i++) if (p.enabled) x++; return x; },
    js: (m) => { for (let i = 0; i < m; i++) jsEmpty(cb); },
  };
  const m = measure(cases, RUNS, N);
  header(`Node binding, untraced (node ${process.version}, fast path ${d.fastPath ? 'on' : 'off'})`);
  console.log(`# ${RUNS} runs x ${ROUNDS} rounds x ${N} calls; ns per call (wall), empty loop subtracted`);
  row('node', 'empty N-API function noop(cb)', median(m.noop), 'ns');
  const r = ratios(m.fire, m.noop);
  row('node', 'untraced probe.fire(cb)', median(m.fire), 'ns', r, 'empty N-API noop(cb)', '<= 1.5x', r <= 1.5 ? 'PASS' : 'MISS');
  row('node', "untraced fire(cb) via the addon's check()", median(m.addon), 'ns', ratios(m.addon, m.noop), 'empty N-API noop(cb)');
  row('node', 'untraced fire(cb), JS + isEnabled(handle) (old)', median(m.old), 'ns', ratios(m.old, m.noop), 'empty N-API noop(cb)');
  row('node', "untraced provider.fire('p1', cb)", median(m.pfire), 'ns', ratios(m.pfire, m.noop), 'empty N-API noop(cb)');
  row('node', 'untraced probe.enabled', median(m.enabled), 'ns', ratios(m.enabled, m.noop), 'empty N-API noop(cb)');
  row('node', 'empty JS function f(cb)', median(m.js), 'ns');
  row('node', 'callback runs while untraced', calls, 'calls', null, '', '== 0', calls === 0 ? 'PASS' : 'MISS');
  dtp.destroy();
}

function sleep(ms) { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); }

function traced() {
  const bpftrace = process.env.BPFTRACE || 'bpftrace';
  if (process.getuid() !== 0) { console.log('node traced: SKIP: needs root to attach bpftrace'); return; }
  try { execSync(`command -v ${bpftrace}`, { stdio: 'ignore', shell: '/bin/sh' }); } catch (e) {
    console.log(`node traced: SKIP: ${bpftrace} is not installed`); return;
  }
  const dtp = d.createDTraceProvider('nodebencht');
  const p = dtp.addProbe('traced', 'int', 'char *');
  dtp.enable();
  const outFile = path.join(require('os').tmpdir(), `node_bench_bt.${process.pid}`);
  const fd = fs.openSync(outFile, 'w');
  const bt = spawn(bpftrace, ['-p', String(process.pid), '-e', 'usdt:*:nodebencht:traced { @n = count(); }'],
    { stdio: ['ignore', fd, fd], detached: true });
  const t0 = Date.now();
  while (!p.enabled) {
    if (Date.now() - t0 > 60000) { console.log('node traced: bpftrace did not attach'); process.kill(-bt.pid, 'SIGKILL'); return; }
    sleep(50);
  }
  const n = SMOKE ? 1000 : 5000;
  let calls = 0;
  const cb = () => { calls++; return [1, 'x']; };
  const noop = native.noop;
  const m = measure({
    fire: (k) => { for (let i = 0; i < k; i++) p.fire(cb); },
    noop: (k) => { for (let i = 0; i < k; i++) noop(cb); },
  }, RUNS, n);
  const fires = calls;
  process.kill(-bt.pid, 'SIGINT');
  const wait = Date.now();
  let out = '';
  while (Date.now() - wait < 30000) {
    out = fs.readFileSync(outFile, 'utf8');
    if (/@n: \d+/.test(out)) break;
    sleep(100);
  }
  fs.closeSync(fd);
  fs.unlinkSync(outFile);
  header('Node binding, traced (bpftrace attached, count())');
  console.log(`# ${RUNS} runs x ${ROUNDS} rounds x ${n} fires; bpftrace attached after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  row('node', 'traced probe.fire(cb)', median(m.fire), 'ns', ratios(m.fire, m.noop), 'empty N-API noop(cb)');
  const got = /@n: (\d+)/.exec(out);
  const count = got ? parseInt(got[1], 10) : 0;
  row('node', `bpftrace count = fires (${fires})`, count, 'fires', null, '', '== fires', count === fires ? 'PASS' : 'MISS');
  dtp.destroy();
}

untraced();
if (process.env.BENCH_NODE_TRACED !== '0') traced();
