"""Finding the binary and saying findings one per line."""

from __future__ import annotations

import os

import pytest

from ansible_collections.iredmail.ports.plugins.module_utils.iredmail_ports import (
    BinaryNotFound,
    at_or_above,
    catalogue_argument,
    failure_message,
    find_binary,
    finding_line,
)


def executable(path):
    path.write_text('#!/bin/sh\n')
    path.chmod(0o755)
    return str(path)


def test_the_binary_option_wins(tmp_path):
    assert find_binary(executable(tmp_path / 'mine')) == str(tmp_path / 'mine')


def test_a_binary_that_cannot_run_is_named(tmp_path):
    (tmp_path / 'plain').write_text('')
    (tmp_path / 'plain').chmod(0o644)
    with pytest.raises(BinaryNotFound, match='not executable'):
        find_binary(str(tmp_path / 'plain'))


def test_path_then_the_pip_scripts_beside_python(tmp_path):
    on_path = tmp_path / 'path'
    venv = tmp_path / 'venv' / 'bin'
    on_path.mkdir()
    venv.mkdir(parents=True)
    python = str(venv / 'python')
    pip_installed = executable(venv / 'iredmail-ports')
    assert find_binary(path=str(on_path), python=python) == pip_installed
    first = executable(on_path / 'iredmail-ports')
    assert find_binary(path=str(on_path), python=python) == first


def test_nowhere_says_where_it_looked(tmp_path):
    python = str(tmp_path / 'python')
    with pytest.raises(BinaryNotFound) as error:
        find_binary(path=str(tmp_path), python=python)
    assert str(error.value).startswith('iredmail-ports not found (looked in PATH, %s' % tmp_path)
    assert 'pip install iredmail-ports' in str(error.value)


def test_shipped_catalogues_by_name_files_from_the_playbook():
    assert catalogue_argument('implicit-tls', '/play') == 'implicit-tls'
    assert catalogue_argument('iredmail', '/play') == 'iredmail'
    assert catalogue_argument('policies/site.yaml', '/play') == os.path.join('/play', 'policies/site.yaml')
    assert catalogue_argument('/abs/site.yaml', '/play') == '/abs/site.yaml'


def test_fail_on_thresholds():
    assert at_or_above('error', 'warning')
    assert at_or_above('warning', 'warning')
    assert not at_or_above('note', 'warning')
    assert not at_or_above('error', 'never')


def test_findings_one_per_line_as_the_text_report_heads_them():
    located = dict(file='site.yml', line=18, column=19, severity='error', rule='internal-port-exposed',
                   message='MySQL 3306 is public', object='compose/db/mariadb')
    missing = dict(file=None, line=None, column=None, severity='error', rule='missing-port',
                   message='SMTP (25) is not offered', object='compose/db')
    note = dict(located, severity='note', rule='unknown-port')
    suppressed = dict(located, suppressed={'reason': 'accepted'})
    assert finding_line(located) == (
        'site.yml:18:19: error[internal-port-exposed]: MySQL 3306 is public (compose/db/mariadb)'
    )
    assert finding_line(missing) == 'error[missing-port]: SMTP (25) is not offered (compose/db)'
    assert failure_message([located, missing, note, suppressed], 'error').splitlines() == [
        'iredmail-ports: 2 findings at or above error',
        finding_line(located),
        finding_line(missing),
    ]
