"""Inline definitions written for the binary, and their lines mapped back to the playbook."""

from __future__ import annotations

import pytest

from ansible_collections.iredmail.ports.plugins.plugin_utils.definition import (
    DefinitionError,
    emit,
    kind_of,
)


class Positioned(str):
    """A string as ansible-core < 2.19 loads it, with `ansible_pos`."""

    def __new__(cls, text, line):
        value = super().__new__(cls, text)
        value.ansible_pos = ('/play/site.yml', line, 17)
        return value


def test_kinds_told_by_shape():
    assert kind_of({'services': {}}, 'auto') == 'compose'
    assert kind_of({'apiVersion': 'v1', 'kind': 'Service'}, 'auto') == 'kubernetes'
    assert kind_of([{'apiVersion': 'v1', 'kind': 'Service'}], 'auto') == 'kubernetes'
    assert kind_of('services: {}', 'auto') == 'auto'
    with pytest.raises(DefinitionError, match='neither'):
        kind_of({'image': 'x'}, 'auto')
    with pytest.raises(DefinitionError, match='kind compose'):
        kind_of([{'apiVersion': 'v1', 'kind': 'Service'}], 'compose')
    with pytest.raises(DefinitionError, match='kind kubernetes'):
        kind_of({'services': {}}, 'kubernetes')


def test_compose_mapping_with_origins():
    definition = {'services': {'db': {'image': 'mariadb', 'ports': [Positioned('3306:3306', 14), 'computed']}}}
    emitter = emit(definition, 'compose', ('/play/site.yml', 5, None))
    assert emitter.text() == (
        '"services":\n'
        '  "db":\n'
        '    "image": "mariadb"\n'
        '    "ports":\n'
        '      - "3306:3306"\n'
        '      - "computed"\n'
    )
    assert emitter.locate(5, 9) == ('/play/site.yml', 14, 17)
    # A computed value points at the nearest written line above it.
    assert emitter.locate(6, 9) == ('/play/site.yml', 14, 17)
    # Nothing above has an origin: the task itself.
    assert emitter.locate(1, 1) == ('/play/site.yml', 5, None)


def test_kubernetes_list_is_a_stream_with_items_on_the_dash_line():
    objects = [
        {'apiVersion': 'v1', 'kind': 'Service', 'spec': {'ports': [{'port': 389, 'protocol': 'TCP'}]}},
        {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {}},
    ]
    assert emit(objects, 'kubernetes', None).text() == (
        '"apiVersion": "v1"\n'
        '"kind": "Service"\n'
        '"spec":\n'
        '  "ports":\n'
        '    - "port": 389\n'
        '      "protocol": "TCP"\n'
        '---\n'
        '"apiVersion": "v1"\n'
        '"kind": "Namespace"\n'
        '"metadata": {}\n'
    )


def test_a_yaml_string_is_written_as_is():
    assert emit('services:\n  db: {}\n', 'auto', None).text() == 'services:\n  db: {}\n'
