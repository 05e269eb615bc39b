#!/usr/bin/env bash
# Prints the path of Graphviz's `dot`, installing Debian's `graphviz` package first when it
# is missing (as root, or with passwordless sudo), so that `cargo test` does its own
# set-up on a fresh Debian or Ubuntu machine. The DOT test calls it; .ci/run calls it up
# front. Elsewhere, install Graphviz with the system's package manager.
set -euo pipefail
if command -v dot >/dev/null 2>&1; then
  command -v dot
  exit 0
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$root/target"
exec 9>"$root/target/.graphviz.lock"
flock 9
if ! command -v dot >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "Graphviz's dot is missing and this is no Debian-like system: install graphviz" >&2
    exit 1
  fi
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! sudo -n true 2>/dev/null; then
      echo "Graphviz's dot is missing: run \`sudo apt-get install graphviz\`" >&2
      exit 1
    fi
    as_root=(sudo -n)
  fi
  "${as_root[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq graphviz >&2
fi
command -v dot
