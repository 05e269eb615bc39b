"""Stands in for the get-pip.py that ansible-test downloads from ci-files.testing.ansible.com
to put pip into the virtualenvs of its sanity tests: that host is not reachable from CI
here, PyPI is. ensurepip puts the Python's bundled pip in, then that pip installs what
ansible-test asked get-pip for (its pinned pip) from the package index.
scripts/ansible-sanity.sh copies it to the path ansible-test caches get-pip.py at."""

import subprocess
import sys

# get-pip's own flags; pip install does not know them.
GET_PIP_ONLY = {'--no-setuptools', '--no-wheel'}

arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + arguments)
