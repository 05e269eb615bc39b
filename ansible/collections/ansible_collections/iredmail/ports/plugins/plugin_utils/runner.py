# -*- coding: utf-8 -*-
# Copyright: iredmail-ports contributors
# MIT OR Apache-2.0
"""Controller-side machinery of the check and cluster action plugins: runs the binary,
reads its JSON report, writes the SARIF and JUnit reports (with --check and --diff), and
turns the outcome into a task result."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

from ansible_collections.iredmail.ports.plugins.module_utils.iredmail_ports import (
    failure_message,
    finding_from_report,
)

# How long one run of the binary may take: a check is milliseconds, a cluster read a few
# seconds; this only stops a hung API server from hanging the play.
RUN_TIMEOUT = 600


class RunError(Exception):
    """The binary could not run or did not produce a report; the message says why."""


def run_binary(argv, cwd):
    """Runs the binary; exit codes 0 and 1 are verdicts, anything else is an error whose
    message is the binary's own standard error."""
    try:
        completed = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
        )
    except OSError as error:
        raise RunError('cannot run %s: %s' % (argv[0], error)) from error
    except subprocess.TimeoutExpired as error:
        raise RunError('%s did not finish within %d s' % (argv[0], RUN_TIMEOUT)) from error
    if completed.returncode not in (0, 1):
        detail = completed.stderr.strip() or 'no message'
        raise RunError('%s exited with %d: %s' % (argv[0], completed.returncode, detail))
    return completed


def json_report(argv, cwd):
    """The JSON report of one run and whether it passed (exit code 0: nothing at or above
    --fail-on), so the verdict is the binary's own."""
    completed = run_binary(argv + ['--format', 'json'], cwd)
    try:
        report = json.loads(completed.stdout)
    except ValueError as error:
        raise RunError('%s printed no JSON report: %s' % (argv[0], error)) from error
    return report, completed.returncode == 0


def render_report(argv, cwd, report_format):
    """The text of the report in another format (sarif, junit)."""
    handle, path = tempfile.mkstemp(prefix='iredmail-ports-', suffix='.' + report_format)
    os.close(handle)
    try:
        run_binary(argv + ['--format', report_format, '--output', path], cwd)
        with open(path, encoding='utf-8') as report:
            return report.read()
    finally:
        os.unlink(path)


def write_reports(argv, cwd, destinations, check_mode, diff_mode):
    """Writes each requested report file whose content changes (not in check mode).
    Returns the files it changed or would change, and their diffs for --diff."""
    changed = []
    diffs = []
    for report_format, dest in destinations:
        after = render_report(argv, cwd, report_format)
        before = None
        if os.path.exists(dest):
            with open(dest, encoding='utf-8') as current:
                before = current.read()
        if before == after:
            continue
        changed.append(dest)
        if diff_mode:
            diffs.append(dict(
                before_header=dest if before is not None else '%s (absent)' % dest,
                after_header=dest,
                before=before or '',
                after=after,
            ))
        if not check_mode:
            parent = os.path.dirname(dest)
            if parent:
                os.makedirs(parent, exist_ok=True)
            with open(dest, 'w', encoding='utf-8') as out:
                out.write(after)
    return changed, diffs


def task_result(report, passed, fail_on, relocate, written=(), diffs=()):
    """The task's result: findings (relocated to the files the user wrote), summary and
    verdict; a failing check fails the task with the findings one per line. The check
    changes nothing; only a report file it writes (or would write, in check mode) with new
    content makes the task changed, which is also what lets --diff show it."""
    findings = [relocate(finding_from_report(raw)) for raw in report.get('findings', [])]
    result = dict(
        changed=bool(written),
        passed=passed,
        findings=findings,
        summary=report.get('summary', {}),
        catalogue=report.get('catalogue'),
    )
    if written:
        result['reports'] = list(written)
    if diffs:
        result['diff'] = list(diffs)
    if not passed:
        result['failed'] = True
        result['msg'] = failure_message(findings, fail_on)
    else:
        noun = 'finding' if len(findings) == 1 else 'findings'
        result['msg'] = 'iredmail-ports: %d %s, none failing at %s' % (len(findings), noun, fail_on)
    return result
