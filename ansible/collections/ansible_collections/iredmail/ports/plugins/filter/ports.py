# -*- coding: utf-8 -*-
# Copyright: iredmail-ports contributors
# MIT OR Apache-2.0
"""Filters that read iRedMail's port catalogue from the binary, so a play can open the
host firewall (ansible.posix.firewalld, community.general.ufw) from the same catalogue
the checks use."""

from __future__ import annotations

import json
import subprocess

from ansible.errors import AnsibleFilterError

from ansible_collections.iredmail.ports.plugins.module_utils.iredmail_ports import (
    BinaryNotFound,
    find_binary,
)

# The catalogue of one binary and name, read once per run of ansible-playbook.
_CATALOGUES = {}


def load_catalogue(catalogue, binary=None):
    """The catalogue as `iredmail-ports catalogue --format json` prints it: from a shipped
    catalogue's name or a file path, or the already loaded mapping itself."""
    if isinstance(catalogue, dict):
        return catalogue
    if not isinstance(catalogue, str):
        raise AnsibleFilterError('catalogue: expected a name, a file path or a mapping, got %s'
                                 % type(catalogue).__name__)
    try:
        program = find_binary(binary)
    except BinaryNotFound as error:
        raise AnsibleFilterError(str(error)) from error
    key = (program, catalogue)
    if key not in _CATALOGUES:
        argv = [program, 'catalogue', '--format', 'json', '--catalogue', catalogue]
        try:
            completed = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise AnsibleFilterError('cannot run %s: %s' % (program, error)) from error
        if completed.returncode != 0:
            raise AnsibleFilterError('%s' % (completed.stderr.strip() or 'exit code %d' % completed.returncode))
        try:
            _CATALOGUES[key] = json.loads(completed.stdout)
        except ValueError as error:
            raise AnsibleFilterError('%s printed no JSON catalogue: %s' % (program, error)) from error
    return _CATALOGUES[key]


def status_of(entry):
    """`active`, `optional`, `deprecated` or `removed`: the JSON spells the last two as
    mappings with their replacement."""
    status = entry.get('status')
    if isinstance(status, dict):
        return next(iter(status), 'active')
    return status or 'active'


def required_ports(catalogue):
    """Ports that meet a requirement (any one of a group must be reachable)."""
    return {port for requirement in catalogue.get('requirements', []) for port in requirement.get('any_of', [])}


def expected_ports(catalogue='iredmail', scope=None, binary=None):
    """Every port of the catalogue with its service, widest scope and status, sorted by
    port; `scope` (a scope or a list of them) keeps only those."""
    data = load_catalogue(catalogue, binary)
    scopes = [scope] if isinstance(scope, str) else scope
    required = required_ports(data)
    ports = []
    for entry in data.get('ports', []):
        if scopes and entry.get('scope') not in scopes:
            continue
        ports.append(dict(
            port=entry['port'],
            protocol=entry['protocol'].lower(),
            service=entry.get('service'),
            name=entry.get('name'),
            purpose=entry.get('purpose'),
            scope=entry.get('scope'),
            status=status_of(entry),
            required=entry['port'] in required,
        ))
    return sorted(ports, key=lambda p: (p['port'], p['protocol']))


def firewall_ports(catalogue='iredmail', include_optional=False, include_deprecated=False, binary=None):
    """The ports a host firewall should open to the outside under this catalogue: those of
    `external` scope that are active (with the implicit-TLS catalogue that includes 465,
    993 and 995), optionally the optional ones (SSH) and the deprecated ones; never the
    removed ones nor any internal port."""
    wanted = {'active'}
    if include_optional:
        wanted.add('optional')
    if include_deprecated:
        wanted.add('deprecated')
    return [
        dict(port=p['port'], protocol=p['protocol'], service=p['service'], name=p['name'],
             spec='%d/%s' % (p['port'], p['protocol']))
        for p in expected_ports(catalogue, scope='external', binary=binary)
        if p['status'] in wanted
    ]


class FilterModule:

    def filters(self):
        return {
            'expected_ports': expected_ports,
            'firewall_ports': firewall_ports,
        }
