# -*- coding: utf-8 -*-
# Copyright: iredmail-ports contributors
# MIT OR Apache-2.0
"""iredmail.ports.cluster runs `iredmail-ports cluster` on the controller against the
cluster of a kubeconfig, with the connection options named as kubernetes.core names them
(and their K8S_AUTH_* environment fallbacks)."""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.iredmail.ports.plugins.module_utils.iredmail_ports import (
    CLUSTER_ARGUMENT_SPEC,
    CLUSTER_MUTUALLY_EXCLUSIVE,
    BinaryNotFound,
    catalogue_argument,
    find_binary,
)
from ansible_collections.iredmail.ports.plugins.plugin_utils.runner import (
    RunError,
    json_report,
    task_result,
    write_reports,
)

# kubernetes.core reads these when the options are not set.
ENVIRONMENT_FALLBACKS = dict(
    kubeconfig='K8S_AUTH_KUBECONFIG',
    context='K8S_AUTH_CONTEXT',
)


def cluster_command(binary, args):
    """The binary's `cluster` command line for these options."""
    argv = [binary, 'cluster', '--fail-on', args['fail_on'], '--color', 'never',
            '--catalogue', args['catalogue']]
    for option, env in ENVIRONMENT_FALLBACKS.items():
        value = args.get(option) or os.environ.get(env)
        if value:
            argv += ['--%s' % option, value]
    if args.get('all_namespaces'):
        argv.append('--all-namespaces')
    elif args.get('namespace'):
        argv += ['--namespace', args['namespace']]
    if args.get('label_selectors'):
        argv += ['--selector', ','.join(args['label_selectors'])]
    if args.get('request_timeout'):
        argv += ['--request-timeout', args['request_timeout']]
    if args.get('config'):
        argv += ['--config', args['config']]
    return argv


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(
            argument_spec=CLUSTER_ARGUMENT_SPEC,
            mutually_exclusive=CLUSTER_MUTUALLY_EXCLUSIVE,
        )
        basedir = self._loader.get_basedir()
        args['catalogue'] = catalogue_argument(args['catalogue'], basedir)
        for option in ('config', 'kubeconfig'):
            if args.get(option):
                args[option] = os.path.join(basedir, args[option])
        destinations = [
            (report_format, os.path.join(basedir, args['%s_dest' % report_format]))
            for report_format in ('sarif', 'junit')
            if args.get('%s_dest' % report_format)
        ]
        try:
            argv = cluster_command(find_binary(args.get('binary')), args)
            report, passed = json_report(argv, basedir)
            written, diffs = write_reports(argv, basedir, destinations, self._task.check_mode, self._task.diff)
        except (BinaryNotFound, RunError) as error:
            result.update(failed=True, changed=False, msg=str(error))
            return result
        result.update(task_result(report, passed, args['fail_on'], lambda f: f, written, diffs))
        return result
