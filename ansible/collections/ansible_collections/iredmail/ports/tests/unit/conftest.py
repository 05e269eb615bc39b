"""Lets plain pytest import the collection as ansible-core does: the directory that holds
ansible_collections/ goes on sys.path (ansible-test units does this itself)."""

import os
import sys

COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
