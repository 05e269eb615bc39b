# -*- coding: utf-8 -*-
# Copyright: iredmail-ports contributors
# MIT OR Apache-2.0
"""An ansible-lint rule (load it with `ansible-lint -r <this directory>`) that flags the
tasks publishing ports iRedMail's catalogue keeps internal: docker_container,
docker_compose_v2 and k8s tasks, judged by the iredmail-ports binary itself, so the
lint and the check never disagree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from ansiblelint.rules import AnsibleLintRule

# The modules whose tasks deploy ports, short and fully qualified.
DEPLOYING_MODULES = frozenset(
    name
    for short, collection in (
        ('docker_container', 'community.docker'),
        ('docker_compose_v2', 'community.docker'),
        ('k8s', 'kubernetes.core'),
    )
    for name in (short, '%s.%s' % (collection, short))
)

# Only the finding this rule is about: a port published wider than its catalogue scope.
RULES = frozenset(['internal-port-exposed'])


def find_binary():
    """$IREDMAIL_PORTS_BINARY, else iredmail-ports on PATH, else the one the pip package
    put beside this Python."""
    explicit = os.environ.get('IREDMAIL_PORTS_BINARY')
    if explicit:
        return explicit
    found = shutil.which('iredmail-ports')
    if found:
        return found
    beside = os.path.join(os.path.dirname(sys.executable), 'iredmail-ports')
    return beside if os.access(beside, os.X_OK) else None


def task_end(lines, start):
    """The last line (1-based) of the block-style list item that starts at line `start`:
    the line before the next non-blank, non-comment line indented no deeper than its dash."""
    if start < 1 or start > len(lines):
        return start
    first = lines[start - 1]
    dash = len(first) - len(first.lstrip())
    end = start
    for number in range(start + 1, len(lines) + 1):
        text = lines[number - 1]
        stripped = text.strip()
        if not stripped or stripped.startswith('#'):
            continue
        if len(text) - len(text.lstrip()) <= dash:
            break
        end = number
    return end


class IredmailPortsRule(AnsibleLintRule):
    """Tasks must not publish ports that iRedMail's catalogue keeps internal."""

    id = 'iredmail-ports'
    shortdesc = 'Task publishes a port iRedMail keeps internal'
    description = (
        'A docker_container, docker_compose_v2 or k8s task publishes a port that '
        "iRedMail's port catalogue keeps internal (MySQL 3306, LDAP 389, Amavisd 10024, ...), "
        'as `iredmail-ports check` judges it.'
    )
    severity = 'HIGH'
    tags = ['security', 'iredmail']
    version_changed = '0.1.0'

    def __init__(self):
        super().__init__()
        self._reports = {}

    def _findings(self, path):
        """The binary's findings for one playbook or task file, read once per file."""
        path = os.path.abspath(path)
        if path not in self._reports:
            binary = find_binary()
            if binary is None:
                raise RuntimeError(
                    'iredmail-ports not found: pip install iredmail-ports, or set IREDMAIL_PORTS_BINARY'
                )
            completed = subprocess.run(
                [binary, 'check', '--format', 'json', '--fail-on', 'never', '--color', 'never',
                 os.path.basename(path)],
                cwd=os.path.dirname(path), capture_output=True, text=True, timeout=120, check=False,
            )
            if completed.returncode != 0:
                raise RuntimeError('%s failed on %s: %s' % (binary, path, completed.stderr.strip()))
            findings = json.loads(completed.stdout).get('findings', [])
            with open(path, encoding='utf-8') as source:
                lines = source.read().splitlines()
            self._reports[path] = (findings, lines)
        return self._reports[path]

    def matchtask(self, task, file=None):
        module = task['action'].get('__ansible_module_original__') or task['action'].get('__ansible_module__')
        if module not in DEPLOYING_MODULES or file is None:
            return []
        findings, lines = self._findings(str(file.path))
        start = task.line
        end = task_end(lines, start)
        name = os.path.basename(str(file.path))
        matches = []
        for finding in findings:
            location = finding.get('location') or {}
            if finding.get('rule') not in RULES or finding.get('suppressed'):
                continue
            if location.get('path') != name or not start <= (location.get('line') or 0) <= end:
                continue
            matches.append(self.create_matcherror(
                message='%s (line %d, %s)' % (finding['message'], location['line'], finding.get('object')),
                lineno=start,
                filename=file,
                details=finding.get('object') or '',
            ))
        return matches
