#!/usr/bin/env bash
# `ansible-test sanity` for the iredmail.ports collection, the tests that run without
# containers, each in the virtualenv ansible-test makes for it (--requirements, from PyPI).
# Skipped: pslint (PowerShell: the collection has none, and it needs pwsh) and shellcheck
# (no shell scripts in the collection, and it needs the shellcheck binary).
# ansible-test puts pip into its virtualenvs with a get-pip.py it downloads from
# ci-files.testing.ansible.com, which is not reachable here: scripts/get-pip-substitute.py
# goes where ansible-test caches that script, and does the same with ensurepip and PyPI.
# Everything stays under target/ (a private HOME, TMPDIR, no pip cache). .ci/run calls it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$("$root/scripts/python-tools.sh")"
home="$root/target/ansible-test-home"
mkdir -p "$home/.ansible/test/cache" "$home/tmp"
# The pip version ansible-test pins for its virtualenvs names the cached script.
pip_version="$("$tools/python" -c '
from ansible_test._internal.python_requirements import get_venv_packages
class Python: version = "3.11"
print(get_venv_packages(Python)["pip"])')"
cp "$root/scripts/get-pip-substitute.py" "$home/.ansible/test/cache/get_pip_${pip_version//./_}.py"
python="$("$tools/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
cd "$root/ansible/collections/ansible_collections/iredmail/ports"
# ansible-test lists the collection's files with git: a clean checkout is what it checks.
HOME="$home" TMPDIR="$home/tmp" PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
  "$tools/ansible-test" sanity --python "$python" --requirements --color no \
  --skip-test pslint --skip-test shellcheck "$@"
