#!/usr/bin/env bash
# Builds the `iredmail-ports` wheel (pyproject.toml: maturin's `bin` bindings, both
# executables) and proves what it promises: installed offline into a fresh virtualenv, it
# gives `iredmail-ports` and `kubectl-iredmail_ports` on the venv's bin/, at the crate's
# version, that check the examples; and the Ansible collection finds that binary beside
# the venv's Python without being told where it is. .ci/run calls it after the release
# build, whose compiled dependencies maturin reuses. WHEEL_PROFILE=dev builds from the
# debug build's dependencies instead, in seconds, to try the script itself.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
tools="$(./scripts/python-tools.sh)"
out="$root/target/wheels"
venv="$root/target/wheel-venv"
# pip and maturin unpack into TMPDIR: keep it under target/, as scripts/python-tools.sh does.
scratch="$root/target/wheel-scratch"
rm -rf "$out" "$venv" "$scratch"
mkdir -p "$scratch"
export TMPDIR="$scratch" PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

"$tools/maturin" build --locked --profile "${WHEEL_PROFILE:-release}" --out "$out" >&2
wheels=("$out"/iredmail_ports-*.whl)
if [ "${#wheels[@]}" -ne 1 ] || [ ! -f "${wheels[0]}" ]; then
  echo "expected one wheel in $out, found: ${wheels[*]}" >&2
  exit 1
fi
echo "wheel: $(basename "${wheels[0]}") ($(du -h "${wheels[0]}" | cut -f1))"

python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --no-index --no-deps "${wheels[0]}"

crate_version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
expect() {
  if [ "$1" != "$2" ]; then
    echo "expected \`$2\`, got \`$1\`" >&2
    exit 1
  fi
  echo "$1"
}
expect "$("$venv/bin/iredmail-ports" --version)" "iredmail-ports $crate_version"
expect "$("$venv/bin/kubectl-iredmail_ports" --version)" "kubectl iredmail-ports $crate_version"
# The clean examples: exit code 0, and set -e stops here on anything else.
"$venv/bin/iredmail-ports" check examples/kubernetes/clean examples/compose/clean examples/ansible

# The collection's module_utils is plain Python: with an empty PATH it must still find the
# pip-installed binary beside the venv's interpreter.
found="$(PYTHONPATH="$root/ansible/collections" "$venv/bin/python" -c '
from ansible_collections.iredmail.ports.plugins.module_utils.iredmail_ports import find_binary
print(find_binary(path=""))')"
expect "$found" "$venv/bin/iredmail-ports"
rm -rf "$scratch"
