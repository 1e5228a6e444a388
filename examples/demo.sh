#!/usr/bin/env bash
# examples/demo.sh — `make demo`: build libusdt, start the demo program
# (a provider made at run time, firing in a loop), attach bpftrace to it
# (installing bpftrace first if it is missing), print live traced events
# for a few seconds, clean up, exit 0.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECS=${DEMO_SECONDS:-5}
[ -x "$BUILD/examples/demo" ] || make -s lib "$BUILD/examples/demo"

if [ "$(id -u)" != 0 ]; then
  echo "demo: tracing needs root (run: sudo make demo)" >&2; exit 1
fi
if ! command -v bpftrace >/dev/null; then
  echo "demo: installing bpftrace (apt-get)..."
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >/dev/null
fi
[ -e /sys/kernel/tracing/uprobe_events ] || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true

"$BUILD/examples/demo" $((SECS + 10)) &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
sleep 0.5
echo
echo "== probes of pid $pid, as bpftrace lists them:"
bpftrace -l 'usdt:*' -p "$pid" 2>/dev/null | grep webdemo
echo
echo "== tracing them live for ${SECS}s:"
echo "   bpftrace -p $pid -e 'usdt:*:webdemo:request { printf(...) } ...'"
bpftrace -p "$pid" -e '
usdt:*:webdemo:request { printf("request  %-6s %-16s -> %d (%d bytes)\n", str(arg1), str(arg2), arg0, arg3); }
usdt:*:webdemo:latency { @usec[str(arg1)] = hist(arg0); }
usdt:*:webdemo:tick    { @ticks = count(); }
interval:s:'"$SECS"' { exit(); }' 2> >(grep -v RLIMIT_MEMLOCK >&2)
kill "$pid"; wait "$pid" || true
trap - EXIT
echo "demo: done (the provider was freed, nothing is left on disk)"
