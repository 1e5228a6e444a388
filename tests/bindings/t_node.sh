#!/usr/bin/env bash
# The Node.js binding (bindings/node): builds the addon with node-gyp against
# the system's node headers (--nodedir=/usr, nothing downloaded) when needed,
# runs its `node --test` suite (dtrace-provider API and errors; bpftrace
# attached to the Node process reads int, char * and json arguments exactly;
# callbacks run only while bpftrace is attached), then checks that
# `npm install <path>` builds and that code written for dtrace-provider runs
# unchanged when the package is installed under that name, traced by bpftrace.
. "$(dirname "$0")/../lib.sh"
need node npm bpftrace; need_root
NB=bindings/node
. tests/bindings/libusdt.sh

# node-gyp: on PATH, else npm's own copy, else from the npm registry.
gyp=()
if command -v node-gyp >/dev/null 2>&1; then gyp=(node-gyp)
else
  for g in "$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js" \
           /usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js \
           /usr/share/nodejs/node-gyp/bin/node-gyp.js; do
    [ -f "$g" ] && { gyp=(node "$g"); break; }
  done
  if [ ${#gyp[@]} = 0 ]; then
    npm install --prefix "$TMP/gyp" --no-audit --no-fund node-gyp >/dev/null 2>&1 || fail "cannot install node-gyp from the npm registry"
    gyp=(node "$TMP/gyp/node_modules/node-gyp/bin/node-gyp.js")
  fi
fi
nodedir=()
[ -f /usr/include/node/node_api.h ] && nodedir=(--nodedir=/usr)

addon=$NB/build/Release/usdt.node
if [ ! -f "$addon" ] || [ -n "$(find "$NB/src" "$NB/binding.gyp" "$LIBDIR/libusdt.a" -newer "$addon" 2>/dev/null | head -n 1)" ]; then
  (cd "$NB" && LIBUSDT_NO_MAKE=1 BUILD=$LIBDIR "${gyp[@]}" rebuild "${nodedir[@]}") > "$TMP/gyp.log" 2>&1 || { tail -n 30 "$TMP/gyp.log"; fail "node-gyp rebuild failed"; }
  ok "built the addon: ${gyp[*]} rebuild ${nodedir[*]}"
fi
ok "node $(node --version), addon $addon"

USDT_TEST_TRACER=1 node --expose-gc --test "$NB/test/" > "$TMP/test.out" 2>&1
rc=$?
grep -E '^# (GOT|tests|pass|fail|skipped)|^not ok' "$TMP/test.out"
[ $rc = 0 ] || { cat "$TMP/test.out"; fail "node --test failed"; }
grep -q '^# skipped 0' "$TMP/test.out" || fail "node tests were skipped"
ok "node --test passed"

# Installed from a path under dtrace-provider's name: code written for
# dtrace-provider (its README example, bunyan-style probe names) works.
app=$TMP/app
mkdir -p "$app"
echo '{ "name": "app", "version": "1.0.0", "private": true }' > "$app/package.json"
nbabs=$PWD/$NB
(cd "$app" && BUILD=$LIBDIR npm install --no-audit --no-fund "dtrace-provider@file:$nbabs") > "$TMP/npm.log" 2>&1 ||
  { cat "$TMP/npm.log"; fail "npm install of $NB failed"; }
ok "npm install dtrace-provider@file:$NB"
cat > "$app/app.js" <<'JS'
var d = require('dtrace-provider');
var dtp = d.createDTraceProvider('nodeapp');
var p1 = dtp.addProbe('probe1', 'int', 'int');
var p2 = dtp.addProbe('log-info', 'char *', 'json');
dtp.enable();
console.log('READY ' + process.pid);
setInterval(function () {
  dtp.fire('probe1', function (p) { return [1, 2]; });
  p2.fire(function () { return ['hello, usdt via probe', { level: 30, msg: 'hi' }]; });
}, 20);
process.on('SIGTERM', function () { dtp.disable(); process.exit(0); });
JS
TARGET=node start_target "$app/app.js"
timeout 30 bpftrace -p "$TPID" -e '
  usdt:*:nodeapp:probe1 /@a == 0/ { @a = 1; printf("probe1 %d %d\n", arg0, arg1); }
  usdt:*:nodeapp:log__info /@b == 0/ { @b = 1; printf("log-info %s %s\n", str(arg0), str(arg1)); }
  interval:ms:1500 { exit(); } END { clear(@a); clear(@b); }' > "$TMP/app.bt" 2>&1 || { cat "$TMP/app.bt"; fail "bpftrace failed"; }
grep -v -e RLIMIT_MEMLOCK -e "^$" "$TMP/app.bt"
grep -qx 'probe1 1 2' "$TMP/app.bt" || fail "probe1 not read"
grep -qx 'log-info hello, usdt via probe {"level":30,"msg":"hi"}' "$TMP/app.bt" || fail "log-info not read"
stop_target
ok "dtrace-provider code runs unchanged and is traced by bpftrace"
