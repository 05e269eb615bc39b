# -*- coding: utf-8 -*-
# Copyright: iredmail-ports contributors
# MIT OR Apache-2.0
"""What the check and cluster modules share: their argument specs (one source for the
modules' docs, the action plugins' validation and ansible-test's validate-modules), how
to find the iredmail-ports binary, and how findings are said one per line."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig

BINARY_NAME = 'iredmail-ports'

# The catalogues embedded in the binary, by the names its --catalogue takes.
SHIPPED_CATALOGUES = ('iredmail', 'implicit-tls', 'iredmail-implicit-tls')

FAIL_ON = ['error', 'warning', 'note', 'never']

# Severities from the most to the least severe, as the binary's --fail-on ranks them.
SEVERITY_RANK = {'error': 3, 'warning': 2, 'note': 1}

REPORT_OPTIONS = dict(
    catalogue=dict(type='str', default='iredmail'),
    config=dict(type='path'),
    fail_on=dict(type='str', default='error', choices=FAIL_ON),
    sarif_dest=dict(type='path'),
    junit_dest=dict(type='path'),
    binary=dict(type='path'),
)

CHECK_ARGUMENT_SPEC = dict(
    src=dict(type='list', elements='path'),
    definition=dict(type='raw'),
    template=dict(type='list', elements='path'),
    kind=dict(type='str', default='auto', choices=['auto', 'kubernetes', 'compose']),
    project_name=dict(type='str', default='definition'),
    **REPORT_OPTIONS
)

CHECK_MUTUALLY_EXCLUSIVE = [['src', 'definition', 'template']]
CHECK_REQUIRED_ONE_OF = [['src', 'definition', 'template']]

CLUSTER_ARGUMENT_SPEC = dict(
    kubeconfig=dict(type='path'),
    context=dict(type='str'),
    namespace=dict(type='str'),
    all_namespaces=dict(type='bool', default=False),
    label_selectors=dict(type='list', elements='str', default=[]),
    request_timeout=dict(type='str'),
    **REPORT_OPTIONS
)

CLUSTER_MUTUALLY_EXCLUSIVE = [['namespace', 'all_namespaces']]


class BinaryNotFound(Exception):
    """No usable iredmail-ports binary; the message says where it was looked for."""


def find_binary(explicit=None, path=None, python=None):
    """The binary to run: the `binary` option if given, else `iredmail-ports` on PATH,
    else the one the `iredmail-ports` pip package installed beside the controller's Python
    (an execution environment or a venv that is not activated)."""
    if explicit:
        if not os.path.isfile(explicit):
            raise BinaryNotFound('binary %s: no such file' % explicit)
        if not os.access(explicit, os.X_OK):
            raise BinaryNotFound('binary %s: not executable' % explicit)
        return explicit
    on_path = shutil.which(BINARY_NAME, path=path)
    if on_path:
        return on_path
    tried = ['PATH']
    for scripts in pip_script_dirs(python or sys.executable):
        candidate = os.path.join(scripts, BINARY_NAME)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
        tried.append(scripts)
    raise BinaryNotFound(
        '%s not found (looked in %s): install it with `pip install iredmail-ports` '
        'or set the binary option to its path' % (BINARY_NAME, ', '.join(tried))
    )


def pip_script_dirs(python):
    """Where pip puts the executables of packages installed for this Python."""
    dirs = [os.path.dirname(python)]
    scripts = sysconfig.get_path('scripts')
    if scripts and scripts not in dirs:
        dirs.append(scripts)
    return dirs


def catalogue_argument(catalogue, basedir):
    """A shipped catalogue's name as is; a catalogue file relative to the playbook's
    directory, like every other path the modules take."""
    if catalogue in SHIPPED_CATALOGUES:
        return catalogue
    return os.path.join(basedir, os.path.expanduser(catalogue))


def at_or_above(severity, fail_on):
    """Whether a finding of this severity fails at this `fail_on`."""
    if fail_on == 'never':
        return False
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[fail_on]


def finding_from_report(raw):
    """A finding of the JSON report (schemas/report.schema.json) as the modules return it:
    the location flattened into file, line and column."""
    location = raw.get('location') or {}
    return dict(
        rule=raw.get('rule'),
        severity=raw.get('severity'),
        port=raw.get('port'),
        protocol=raw.get('protocol'),
        service=raw.get('service'),
        scope=raw.get('scope'),
        allowed_scope=raw.get('allowed_scope'),
        object=raw.get('object'),
        file=location.get('path'),
        line=location.get('line'),
        column=location.get('column'),
        message=raw.get('message'),
        suppressed=raw.get('suppressed'),
    )


def finding_line(finding):
    """One finding on one line, as the text report heads it:
    `file:line:column: severity[rule]: message (object)`; a finding no file is to blame
    for (a missing port) starts at the severity."""
    text = '%s[%s]: %s' % (finding.get('severity'), finding.get('rule'), finding.get('message'))
    if finding.get('object'):
        text += ' (%s)' % finding['object']
    if not finding.get('file'):
        return text
    where = finding['file']
    if finding.get('line'):
        where += ':%s' % finding['line']
        if finding.get('column'):
            where += ':%s' % finding['column']
    return '%s: %s' % (where, text)


def failure_message(findings, fail_on):
    """The task's failure text: a heading, then each finding that fails it, one per line."""
    failing = [f for f in findings if not f.get('suppressed') and at_or_above(f.get('severity'), fail_on)]
    noun = 'finding' if len(failing) == 1 else 'findings'
    lines = ['iredmail-ports: %d %s at or above %s' % (len(failing), noun, fail_on)]
    lines.extend(finding_line(f) for f in failing)
    return '\n'.join(lines)
