#!/usr/bin/env bash
# Installs the Node.js tools the end-to-end tests drive (Mermaid, whose own parser checks
# `--format mermaid`, and jsdom, the DOM that Mermaid's sanitizer needs outside a browser)
# under target/, once, and prints the directory that holds their node_modules. Uses the
# machine's node and npm and the npm registry; no browser. Tests call it before they run a tool, so `cargo test` works on a fresh
# machine with the registry reachable; .ci/run calls it up front so the tests find
# everything ready.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${IREDMAIL_PORTS_NODE_TOOLS:-$root/target/node-tools}"
stamp="$dir/.installed-v1"
if [ ! -f "$stamp" ]; then
  mkdir -p "$root/target"
  exec 9>"$root/target/.node-tools.lock"
  flock 9
  if [ ! -f "$stamp" ]; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
      "mermaid@11.17.2" "jsdom@29.1.1" >&2
    touch "$stamp"
  fi
fi
echo "$dir"
