"""The catalogue filters on a catalogue mapping as `iredmail-ports catalogue --format json`
prints it (the tests of tests/ansible_collection.rs run them on the real binary)."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.iredmail.ports.plugins.filter.ports import expected_ports, firewall_ports

CATALOGUE = {
    'name': 'test',
    'requirements': [{'name': 'smtp', 'any_of': [25]}],
    'ports': [
        {'service': 'postfix', 'name': 'Postfix SMTP', 'port': 25, 'protocol': 'TCP',
         'purpose': 'SMTP', 'scope': 'external', 'status': 'active'},
        {'service': 'postfix', 'name': 'Postfix SMTPS', 'port': 465, 'protocol': 'TCP',
         'purpose': 'smtps', 'scope': 'external', 'status': {'deprecated': {'replacement': 587}}},
        {'service': 'sshd', 'name': 'SSH', 'port': 22, 'protocol': 'TCP',
         'purpose': 'ssh', 'scope': 'external', 'status': 'optional'},
        {'service': 'mysql', 'name': 'MySQL', 'port': 3306, 'protocol': 'TCP',
         'purpose': 'SQL', 'scope': 'internal', 'status': 'active'},
        {'service': 'policyd', 'name': 'Policyd', 'port': 10031, 'protocol': 'TCP',
         'purpose': 'policy', 'scope': 'external', 'status': {'removed': {'release': '0.9.3'}}},
    ],
}


def specs(ports):
    return [p['spec'] for p in ports]


def test_firewall_ports_per_policy():
    assert specs(firewall_ports(CATALOGUE)) == ['25/tcp']
    assert specs(firewall_ports(CATALOGUE, include_optional=True)) == ['22/tcp', '25/tcp']
    assert specs(firewall_ports(CATALOGUE, True, True)) == ['22/tcp', '25/tcp', '465/tcp']


def test_expected_ports_with_status_and_requirement():
    ports = expected_ports(CATALOGUE)
    assert [(p['port'], p['status'], p['required']) for p in ports] == [
        (22, 'optional', False), (25, 'active', True), (465, 'deprecated', False),
        (3306, 'active', False), (10031, 'removed', False),
    ]
    assert [p['port'] for p in expected_ports(CATALOGUE, scope='internal')] == [3306]
    assert [p['port'] for p in expected_ports(CATALOGUE, scope=['internal', 'cluster'])] == [3306]


def test_a_catalogue_of_the_wrong_type_is_named():
    with pytest.raises(AnsibleFilterError, match='got int'):
        firewall_ports(3)
