"""The check action plugin's argument handling: which command line each option becomes,
which inputs are written where, and what fails before the binary runs. A fake binary
(a shell script) records its arguments and answers with a canned JSON report."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleActionFail
from ansible_collections.iredmail.ports.plugins.action.check import (
    ActionModule,
    nearest_config,
    relative_to,
    split_position,
)

REPORT = {
    'version': 1,
    'catalogue': 'iredmail',
    'findings': [{
        'rule': 'internal-port-exposed', 'severity': 'error', 'port': 3306, 'protocol': 'TCP',
        'service': 'mysql', 'scope': 'external', 'allowed_scope': 'internal',
        'object': 'Service/mail/mariadb', 'message': 'MySQL 3306 is public',
        'location': {'path': 'k8s/db.yaml', 'line': 13, 'column': 7}, 'suppressed': None,
    }],
    'summary': {'error': 1, 'warning': 0, 'note': 0, 'files': 1, 'objects': 1},
}


@pytest.fixture
def fake_binary(tmp_path):
    """A binary that appends its argv (one JSON list a line) to argv.log, prints REPORT
    for --format json, writes `<format>` to --output otherwise, and exits as the real one
    does with --fail-on error: 1."""
    log = tmp_path / 'argv.log'
    script = tmp_path / 'iredmail-ports'
    script.write_text(textwrap.dedent('''\
        #!/usr/bin/env python3
        import json, sys
        args = sys.argv[1:]
        with open(%r, 'a') as log:
            log.write(json.dumps(args) + '\\n')
        fmt = args[args.index('--format') + 1]
        if fmt == 'json':
            print(json.dumps(%r))
        else:
            open(args[args.index('--output') + 1], 'w').write(fmt + '\\n')
        sys.exit(1 if args[args.index('--fail-on') + 1] == 'error' else 0)
        ''') % (str(log), REPORT))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def action(args, basedir, check_mode=False, diff=False):
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    task.diff = diff
    task.get_path.return_value = os.path.join(str(basedir), 'site.yml:4')
    loader = MagicMock()
    loader.get_basedir.return_value = str(basedir)
    plugin = ActionModule(task, MagicMock(), MagicMock(), loader, MagicMock(), MagicMock())
    plugin._find_needle = lambda kind, name: os.path.join(str(basedir), name)
    return plugin


def argv_log(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_src_becomes_paths_relative_to_the_playbook(tmp_path, fake_binary):
    script, log = fake_binary
    (tmp_path / 'k8s').mkdir()
    result = action({'src': ['k8s'], 'binary': str(script)}, tmp_path).run(task_vars={})
    assert argv_log(log) == [[
        'check', '--fail-on', 'error', '--color', 'never', '--catalogue', 'iredmail',
        'k8s', '--format', 'json',
    ]]
    assert result['failed'] is True
    assert result['passed'] is False
    assert result['changed'] is False
    assert result['msg'] == (
        'iredmail-ports: 1 finding at or above error\n'
        'k8s/db.yaml:13:7: error[internal-port-exposed]: MySQL 3306 is public (Service/mail/mariadb)'
    )
    assert result['findings'][0]['file'] == 'k8s/db.yaml'
    assert result['findings'][0]['line'] == 13


def test_report_options_and_compose_files_in_order(tmp_path, fake_binary):
    script, log = fake_binary
    for name in ('compose.yaml', 'override.yaml'):
        (tmp_path / name).write_text('services: {}\n')
    (tmp_path / 'site.iredmail-ports.yaml').write_text('{}\n')
    args = {
        'src': ['compose.yaml', 'override.yaml'], 'kind': 'compose', 'binary': str(script),
        'catalogue': 'implicit-tls', 'config': 'site.iredmail-ports.yaml', 'fail_on': 'warning',
        'sarif_dest': 'out/ports.sarif',
    }
    result = action(args, tmp_path).run(task_vars={})
    common = [
        'check', '--fail-on', 'warning', '--color', 'never', '--catalogue', 'implicit-tls',
        '--config', str(tmp_path / 'site.iredmail-ports.yaml'),
        '-f', 'compose.yaml', '-f', 'override.yaml', '--format',
    ]
    sarif_temp = argv_log(log)[1][-1]
    assert argv_log(log) == [common + ['json'], common + ['sarif', '--output', sarif_temp]]
    assert result['passed'] is True
    assert 'failed' not in result
    assert result['changed'] is True
    assert (tmp_path / 'out' / 'ports.sarif').read_text() == 'sarif\n'


def test_a_catalogue_file_is_taken_from_the_playbook_directory(tmp_path, fake_binary):
    script, log = fake_binary
    action({'src': ['.'], 'binary': str(script), 'catalogue': 'mine.yaml', 'fail_on': 'never'},
           tmp_path).run(task_vars={})
    argv = argv_log(log)[0]
    assert argv[argv.index('--catalogue') + 1] == str(tmp_path / 'mine.yaml')


def test_check_mode_writes_no_report_and_diff_shows_it(tmp_path, fake_binary):
    script = fake_binary[0]
    args = {'src': ['.'], 'binary': str(script), 'fail_on': 'never', 'junit_dest': 'ports.xml'}
    result = action(args, tmp_path, check_mode=True, diff=True).run(task_vars={})
    assert not (tmp_path / 'ports.xml').exists()
    assert result['diff'] == [{
        'before_header': '%s (absent)' % (tmp_path / 'ports.xml'),
        'after_header': str(tmp_path / 'ports.xml'),
        'before': '',
        'after': 'junit\n',
    }]
    # Changed because the report would be written: the default callback shows diffs of
    # changed tasks only.
    assert result['changed'] is True
    assert result['reports'] == [str(tmp_path / 'ports.xml')]


def test_an_unchanged_report_shows_no_diff(tmp_path, fake_binary):
    script = fake_binary[0]
    (tmp_path / 'ports.xml').write_text('junit\n')
    args = {'src': ['.'], 'binary': str(script), 'fail_on': 'never', 'junit_dest': 'ports.xml'}
    result = action(args, tmp_path, diff=True).run(task_vars={})
    assert 'diff' not in result
    assert result['changed'] is False


def test_a_definition_is_written_under_its_project_name(tmp_path, fake_binary):
    script, log = fake_binary
    args = {'definition': {'services': {'db': {'image': 'mariadb'}}}, 'project_name': 'maildb',
            'binary': str(script), 'fail_on': 'never'}
    action(args, tmp_path).run(task_vars={})
    assert argv_log(log)[0][-3:] == [os.path.join('maildb', 'compose.yaml'), '--format', 'json']


@pytest.mark.parametrize('args, message', [
    ({}, 'one of the following is required: src, definition, template'),
    ({'src': ['a'], 'definition': {}}, 'parameters are mutually exclusive: src|definition|template'),
    ({'src': ['a'], 'fail_on': 'sometimes'},
     'value of fail_on must be one of: error, warning, note, never, got: sometimes'),
    ({'src': ['a'], 'kind': 'helm'}, 'value of kind must be one of: auto, kubernetes, compose, got: helm'),
    ({'src': ['a'], 'colour': 'red'}, 'Unsupported parameters'),
])
def test_wrong_arguments_fail_before_anything_runs(tmp_path, args, message):
    with pytest.raises(AnsibleActionFail) as error:
        action(args, tmp_path).run(task_vars={})
    assert message in str(error.value)


def test_a_definition_of_no_known_kind_fails_the_task(tmp_path, fake_binary):
    script, log = fake_binary
    result = action({'definition': {'image': 'x'}, 'binary': str(script)}, tmp_path).run(task_vars={})
    assert result['failed'] is True
    assert result['msg'].startswith('definition is neither Kubernetes objects')
    assert not log.exists()


def test_a_glob_that_matches_nothing_fails_the_task(tmp_path, fake_binary):
    script = fake_binary[0]
    result = action({'src': ['k8s/*.yaml'], 'binary': str(script)}, tmp_path).run(task_vars={})
    assert result == {'failed': True, 'changed': False, 'msg': 'src k8s/*.yaml matches no file'}


def test_a_missing_binary_fails_the_task(tmp_path):
    result = action({'src': ['.'], 'binary': str(tmp_path / 'nope')}, tmp_path).run(task_vars={})
    assert result == {'failed': True, 'changed': False,
                      'msg': 'binary %s: no such file' % (tmp_path / 'nope')}


def test_helpers(tmp_path):
    assert split_position('/p/site.yml:12') == ('/p/site.yml', 12, None)
    assert split_position(None) == (None, None, None)
    assert relative_to(str(tmp_path / 'a' / 'b.yaml'), str(tmp_path)) == os.path.join('a', 'b.yaml')
    assert relative_to('/elsewhere/b.yaml', str(tmp_path)) == '/elsewhere/b.yaml'
    (tmp_path / '.iredmail-ports.yaml').write_text('{}\n')
    (tmp_path / 'deep' / 'er').mkdir(parents=True)
    assert nearest_config(str(tmp_path / 'deep' / 'er')) == str(tmp_path / '.iredmail-ports.yaml')
