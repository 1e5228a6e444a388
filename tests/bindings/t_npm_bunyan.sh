#!/usr/bin/env bash
# The npm package as a user gets it (README "Install", Node.js): `npm pack`
# in bindings/node gives libusdt-<version>.tgz carrying libusdt's C sources;
# `npm install ./libusdt-<version>.tgz` in a project outside this tree, with
# no libusdt installed (pkg-config sees none), builds them and the addon at
# install time, downloading nothing but packages from the npm registry (no
# node headers: node-gyp's devdir stays empty). bunyan 1.x, installed from
# the registry in the same project, loads this package as its optional
# dtrace-provider through npm "overrides"; every record logged through
# bunyan (all six levels, quotes, escapes, UTF-8) reaches bpftrace exactly
# on bunyan's probes log-trace..log-fatal (published as log__trace ...).
# npm's cache, logs and node-gyp's devdir live in $TMP: nothing is cached
# elsewhere, and the source tree is not touched (packed from a copy).
. "$(dirname "$0")/../lib.sh"
need node npm bpftrace make cc; need_root
bpid=
trap '[ -n "$bpid" ] && kill "$bpid" 2>/dev/null; cleanup_lib' EXIT
export npm_config_cache=$TMP/npm-cache npm_config_devdir=$TMP/node-gyp npm_config_update_notifier=false \
       npm_config_audit=false npm_config_fund=false npm_config_loglevel=warn
unset LIBUSDT_DIR LIBUSDT_NO_MAKE
export PKG_CONFIG_LIBDIR=$TMP/no-pkgconfig PKG_CONFIG_PATH=   # no system libusdt, whatever is installed
mkdir -p "$PKG_CONFIG_LIBDIR"

# A copy of the tree as a clean checkout has it (the files the package's
# prepack script reads), so that packing leaves the working tree alone.
src=$TMP/src
mkdir -p "$src/bindings"
cp -R src include Makefile libusdt.pc.in LICENSE "$src/"
mkdir -p "$src/bindings/node"
(cd bindings/node && tar cf - --exclude=./build --exclude=./node_modules --exclude=./libusdt --exclude='*.tgz' .) |
  (cd "$src/bindings/node" && tar xf -)
version=$(node -p "require('$src/bindings/node/package.json').version")
name=$(node -p "require('$src/bindings/node/package.json').name")
libversion=$(sed -n 's/^VERSION := //p' Makefile)
[ "$version" = "$libversion" ] || fail "package.json version $version differs from libusdt's $libversion"
tgz=$name-$version.tgz
[ "$tgz" = "libusdt-$libversion.tgz" ] || fail "npm pack would give $tgz, not libusdt-$libversion.tgz"

app=$TMP/app
mkdir -p "$app"
(cd "$src/bindings/node" && npm pack --pack-destination "$app") > "$TMP/pack.log" 2>&1 ||
  { cat "$TMP/pack.log"; fail "npm pack failed"; }
[ -f "$app/$tgz" ] || { cat "$TMP/pack.log"; fail "npm pack did not write $tgz"; }
tar tzf "$app/$tgz" > "$TMP/contents"
for f in package/package.json package/binding.gyp package/src/addon.c package/lib/index.js \
         package/scripts/install.js package/scripts/libusdt.sh package/libusdt/Makefile \
         package/libusdt/libusdt.pc.in package/libusdt/LICENSE package/libusdt/include/usdt.h \
         package/libusdt/src/usdt.c package/libusdt/src/libusdt.map; do
  grep -qx "$f" "$TMP/contents" || { cat "$TMP/contents"; fail "$tgz lacks $f"; }
done
! grep -E '/(build|node_modules|test)/|\.(node|o|a)$' "$TMP/contents" || fail "$tgz carries build products or tests"
[ ! -e "$src/bindings/node/libusdt" ] || fail "postpack left bindings/node/libusdt behind"
ok "npm pack: $tgz, $(wc -l < "$TMP/contents") files, $(du -k "$app/$tgz" | cut -f1) KiB, libusdt's sources in package/libusdt/"

# The project: bunyan 1.x from the registry, its dtrace-provider replaced by
# our tarball; then the README's command.
cat > "$app/package.json" <<JSON
{
  "name": "npm-bunyan-test", "version": "1.0.0", "private": true,
  "dependencies": { "bunyan": "^1.8.15" },
  "overrides": { "dtrace-provider": "file:$tgz" }
}
JSON
t0=$EPOCHREALTIME
(cd "$app" && env -u BUILD npm install "./$tgz") > "$TMP/install.log" 2>&1 ||
  { tail -n 40 "$TMP/install.log"; fail "npm install ./$tgz failed"; }
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
ok "npm install ./$tgz (with bunyan from the registry) in ${secs}s"
[ -z "$(ls -A "$TMP/node-gyp" 2>/dev/null)" ] || { ls -R "$TMP/node-gyp" | head; fail "node-gyp downloaded node headers"; }
for m in libusdt dtrace-provider; do
  a=$app/node_modules/$m/build/Release/usdt.node
  [ -f "$a" ] || fail "node_modules/$m has no addon"
  [ -f "$app/node_modules/$m/libusdt/build/libusdt.a" ] || fail "node_modules/$m did not build its bundled libusdt"
  ! ldd "$a" | grep -q libusdt || fail "$a needs a shared libusdt"
done
ok "both copies built libusdt from the sources they carry and link it statically; no headers downloaded"

cat > "$app/app.js" <<'JS'
'use strict';
const fs = require('fs');
const dp = require('dtrace-provider/package.json');
if (dp.name !== 'libusdt') throw new Error('dtrace-provider is ' + dp.name + ', not libusdt');
if (require('libusdt').native == null) throw new Error('libusdt addon not loaded');
const bunyan = require('bunyan');
const lines = [];
const log = bunyan.createLogger({ name: 'npmtest', hostname: 'h', level: 'trace',
  streams: [{ level: 'trace', stream: { write(s) { lines.push(s); } } }] });
console.log('bunyan ' + require('bunyan/package.json').version + ', dtrace-provider = ' + dp.name + '@' + dp.version);
const msgs = ['plain', 'quote " and backslash \\ and tab \t', 'UTF-8: h\u00e9llo \u2713 \u{1f600}',
              'json-ish {"a":[1,2]}', ''];
process.on('SIGUSR1', () => {
  let n = 0;
  for (const lvl of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
    msgs.forEach((m, i) => log[lvl]({ seq: ++n, k: i % 2 ? null : { x: [n, 'y'] } }, '%s #%d', m, i));
    log.child({ component: 'c-' + lvl })[lvl]('child record');
  }
  for (const s of lines) {
    if (Buffer.byteLength(s) > 199) throw new Error('record over bpftrace string size: ' + s);
  }
  fs.writeFileSync('expected.json', lines.map((s) => JSON.parse(s).level + ' ' + s).join(''));
  console.log('DONE ' + lines.length);
});
console.log('READY ' + process.pid);
setInterval(() => {}, 1000);
JS
(cd "$app" && exec node app.js) > "$TMP/app.out" 2>&1 &
TPID=$!
for _ in $(seq 100); do grep -q '^READY' "$TMP/app.out" && break; kill -0 $TPID 2>/dev/null || break; sleep 0.1; done
grep -q '^READY' "$TMP/app.out" || { cat "$TMP/app.out"; fail "the app did not start"; }
grep -v READY "$TMP/app.out"

prog='BEGIN { printf("ATTACHED\n"); }'
for l in trace:10 debug:20 info:30 warn:40 error:50 fatal:60; do
  prog="$prog usdt:*:bunyan:log__${l%:*} { printf(\"${l#*:} %s\", str(arg0)); }"
done
# bpftrace 0.17 reads at most 200 bytes of a string (the app keeps records shorter).
BPFTRACE_STRLEN=200 timeout 40 bpftrace -p "$TPID" -e "$prog" > "$TMP/bt.out" 2> "$TMP/bt.err" &
bpid=$!
for _ in $(seq 150); do grep -q '^ATTACHED' "$TMP/bt.out" && break; kill -0 $bpid 2>/dev/null || break; sleep 0.1; done
grep -q '^ATTACHED' "$TMP/bt.out" || { cat "$TMP/bt.out" "$TMP/bt.err"; fail "bpftrace did not attach to bunyan's probes"; }
kill -USR1 "$TPID"
for _ in $(seq 100); do grep -q '^DONE' "$TMP/app.out" && break; sleep 0.1; done
grep -q '^DONE' "$TMP/app.out" || { cat "$TMP/app.out"; fail "the app did not log its records"; }
n=$(awk '/^DONE/ {print $2}' "$TMP/app.out")
for _ in $(seq 100); do [ "$(grep -c '^[1-6]0 {' "$TMP/bt.out")" -ge "$n" ] && break; sleep 0.1; done
kill -INT $bpid; wait $bpid; bpid=
grep '^[1-6]0 {' "$TMP/bt.out" | sort > "$TMP/got"
sort "$app/expected.json" > "$TMP/want"
head -n 3 "$TMP/want" | sed 's/^/  logged: /'
if ! diff -u "$TMP/want" "$TMP/got" > "$TMP/diff"; then
  head -n 40 "$TMP/diff"; grep -v -e RLIMIT_MEMLOCK -e '^$' "$TMP/bt.err" | head
  fail "bpftrace did not read every bunyan record exactly"
fi
ok "bpftrace read all $n bunyan records exactly, each on its level's probe (log__trace..log__fatal)"
kill "$TPID"; wait "$TPID" 2>/dev/null; TPID=
