'use strict';
// npm install hook: build the addon with node-gyp. Uses the node headers
// installed with the distribution's nodejs (/usr/include/node) when they
// match this node, so nothing is downloaded; otherwise node-gyp's default.
// libusdt itself is found (and built) by scripts/libusdt.sh from binding.gyp.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

function headersMatch(dir) {
  try {
    const h = fs.readFileSync(path.join(dir, 'include', 'node', 'node_version.h'), 'utf8');
    const v = ['MAJOR', 'MINOR', 'PATCH'].map((k) => (h.match(new RegExp('#define NODE_' + k + '_VERSION (\\d+)')) || [])[1]);
    return 'v' + v.join('.') === process.version && fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'));
  } catch (e) {
    return false;
  }
}

const args = ['rebuild'];
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir) {
  for (const dir of [prefix, '/usr', '/usr/local']) {
    if (headersMatch(dir)) { args.push('--nodedir=' + dir); break; }
  }
}

let cmd = 'node-gyp';
let argv = args;
const bundled = process.env.npm_config_node_gyp;
if (bundled && fs.existsSync(bundled)) {
  cmd = process.execPath;
  argv = [bundled, ...args];
}
console.log('> ' + [cmd, ...argv].join(' '));
const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: path.join(__dirname, '..') });
if (r.error) {
  console.error('libusdt: cannot run node-gyp (' + r.error.message + '); install it: npm install -g node-gyp');
  process.exit(1);
}
process.exit(r.status === null ? 1 : r.status);
