#!/usr/bin/env bash
# .ci/deps-bindings.sh — what tests/bindings/t_python.sh and t_node.sh need
# beyond the core tests (bpftrace, a C compiler, make): python3 (stdlib
# only), node + npm with the node headers, and node-gyp from the npm
# registry. Run as root on Debian 12.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=()
command -v python3 >/dev/null || pkgs+=(python3)
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)
if [ ${#pkgs[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${pkgs[@]}"
fi
# node-gyp builds the addon against the installed node headers (--nodedir=/usr)
command -v node-gyp >/dev/null || npm install -g --no-audit --no-fund node-gyp
node --version; npm --version; node-gyp --version; python3 --version
