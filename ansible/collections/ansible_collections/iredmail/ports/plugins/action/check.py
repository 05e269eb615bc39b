# -*- coding: utf-8 -*-
# Copyright: iredmail-ports contributors
# MIT OR Apache-2.0
"""iredmail.ports.check runs on the controller, where the manifests, the templates and
the binary are: it resolves `src` like the copy module does, renders `template` with the
play's variables, writes an inline `definition` out with a map back to the playbook's
lines, runs `iredmail-ports check`, and returns its findings."""

from __future__ import annotations

import glob
import os
import shutil
import tempfile

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.iredmail.ports.plugins.module_utils.iredmail_ports import (
    CHECK_ARGUMENT_SPEC,
    CHECK_MUTUALLY_EXCLUSIVE,
    CHECK_REQUIRED_ONE_OF,
    BinaryNotFound,
    catalogue_argument,
    find_binary,
)
from ansible_collections.iredmail.ports.plugins.plugin_utils.definition import (
    DefinitionError,
    emit,
    kind_of,
)
from ansible_collections.iredmail.ports.plugins.plugin_utils.runner import (
    RunError,
    json_report,
    task_result,
    write_reports,
)

try:  # ansible-core >= 2.19 renders only text marked as a trusted template
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 renders any text
    def trust_as_template(value):
        return value

CONFIG_NAME = '.iredmail-ports.yaml'
GLOB_CHARACTERS = frozenset('*?[')


class CheckFailed(Exception):
    """The task cannot run the check; the message is the task's failure."""


def base_command(binary, args):
    """The binary's `check` command line with the report options, without inputs."""
    argv = [binary, 'check', '--fail-on', args['fail_on'], '--color', 'never',
            '--catalogue', args['catalogue']]
    if args.get('config'):
        argv += ['--config', args['config']]
    return argv


def report_destinations(args, basedir):
    """The (format, path) of each report file asked for, relative paths taken from the
    playbook's directory."""
    destinations = []
    for report_format in ('sarif', 'junit'):
        dest = args.get('%s_dest' % report_format)
        if dest:
            destinations.append((report_format, os.path.join(basedir, dest)))
    return destinations


def nearest_config(start):
    """The nearest .iredmail-ports.yaml from `start` upward, as the binary finds it for
    files: rendered and inline inputs live in a temporary directory, where it would not."""
    directory = os.path.abspath(start)
    while True:
        candidate = os.path.join(directory, CONFIG_NAME)
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def relative_to(path, basedir):
    """`path` relative to the playbook's directory when it lies under it, else as is."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, basedir)
    except ValueError:
        return absolute
    return absolute if relative.startswith(os.pardir) else relative


def split_position(position):
    """`path:line` from Ansible's get_path() as (path, line, column)."""
    path, _colon, line = (position or '').rpartition(':')
    if path and line.isdigit():
        return (path, int(line), None)
    return (position or None, None, None)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(
            argument_spec=CHECK_ARGUMENT_SPEC,
            mutually_exclusive=CHECK_MUTUALLY_EXCLUSIVE,
            required_one_of=CHECK_REQUIRED_ONE_OF,
        )
        workdir = tempfile.mkdtemp(prefix='iredmail-ports-')
        try:
            result.update(self._check(args, task_vars or {}, workdir))
        except (BinaryNotFound, CheckFailed, DefinitionError, RunError) as error:
            result.update(failed=True, changed=False, msg=str(error))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return result

    def _check(self, args, task_vars, workdir):
        basedir = self._loader.get_basedir()
        binary = find_binary(args.get('binary'))
        args['catalogue'] = catalogue_argument(args['catalogue'], basedir)
        if args.get('config'):
            args['config'] = os.path.join(basedir, args['config'])
        if args.get('src'):
            cwd, inputs, relocate = basedir, self._src_inputs(args, basedir), None
        else:
            if not args.get('config'):
                args['config'] = nearest_config(basedir)
            if args.get('template'):
                inputs, relocate = self._templates(args, task_vars, workdir, basedir)
            else:
                inputs, relocate = self._definition(args, workdir, basedir)
            cwd = workdir
        argv = base_command(binary, args)
        report, passed = json_report(argv + inputs, cwd)
        written, diffs = write_reports(
            argv + inputs, cwd, report_destinations(args, basedir),
            self._task.check_mode, self._task.diff,
        )
        return task_result(report, passed, args['fail_on'], relocate or (lambda f: f), written, diffs)

    def _src_inputs(self, args, basedir):
        """Files, directories and globs of `src`, found as the copy module finds `src`
        (the role's files/, then the playbook's directory), as the binary's arguments."""
        paths = []
        for entry in args['src']:
            if GLOB_CHARACTERS & set(entry):
                pattern = os.path.join(basedir, entry)
                matches = sorted(glob.glob(pattern, recursive=True))
                if not matches:
                    raise CheckFailed('src %s matches no file' % entry)
                paths.extend(matches)
                continue
            try:
                paths.append(self._find_needle('files', entry))
            except AnsibleError as error:
                raise CheckFailed('src %s: not found (%s)' % (entry, error.message)) from error
        inputs = []
        for path in paths:
            relative = relative_to(path, basedir)
            # Compose files listed for kind compose merge in order, as docker compose -f does.
            if args['kind'] == 'compose' and os.path.isfile(path):
                inputs += ['-f', relative]
            else:
                inputs.append(relative)
        return inputs

    def _task_position(self):
        return split_position(self._task.get_path())

    def _definition(self, args, workdir, basedir):
        definition = args['definition']
        kind = kind_of(definition, args['kind'])
        emitter = emit(definition, kind, self._task_position())
        name = os.path.join(args['project_name'], 'compose.yaml' if kind == 'compose' else 'definition.yaml')
        os.makedirs(os.path.join(workdir, args['project_name']), exist_ok=True)
        with open(os.path.join(workdir, name), 'w', encoding='utf-8') as out:
            out.write(emitter.text())

        def relocate(finding):
            if finding.get('file') == name and finding.get('line'):
                path, line, column = emitter.locate(finding['line'], finding.get('column'))
                finding.update(file=relative_to(path, basedir) if path else path, line=line, column=column)
            return finding

        return [name], relocate

    def _templates(self, args, task_vars, workdir, basedir):
        """Each template rendered with the play's variables, as the template module would,
        into its own file named like the template without `.j2`."""
        inputs = {}
        for index, entry in enumerate(args['template']):
            try:
                source = self._find_needle('templates', entry)
            except AnsibleError as error:
                raise CheckFailed('template %s: not found (%s)' % (entry, error.message)) from error
            rendered = self._render(source, task_vars)
            base = os.path.basename(source)
            if base.endswith('.j2'):
                base = base[:-3]
            name = os.path.join(str(index), args['project_name'], base)
            os.makedirs(os.path.dirname(os.path.join(workdir, name)))
            with open(os.path.join(workdir, name), 'w', encoding='utf-8') as out:
                out.write(rendered)
            inputs[name] = relative_to(source, basedir)

        def relocate(finding):
            # Lines are those of the rendered text, which the template maps one to one
            # unless it loops or includes.
            if finding.get('file') in inputs:
                finding['file'] = inputs[finding['file']]
            return finding

        return list(inputs), relocate

    def _render(self, source, task_vars):
        try:
            with open(source, encoding='utf-8') as template:
                text = trust_as_template(template.read())
        except (OSError, UnicodeDecodeError) as error:
            raise CheckFailed('template %s: %s' % (source, error)) from error
        searchpath = list(task_vars.get('ansible_search_path', []))
        searchpath.extend([self._loader.get_basedir(), os.path.dirname(source)])
        searchpath = [p for d in searchpath for p in (os.path.join(d, 'templates'), d)]
        templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=task_vars)
        try:
            rendered = templar.template(text, preserve_trailing_newlines=True, escape_backslashes=False)
        except AnsibleError as error:
            raise CheckFailed('template %s: %s' % (source, error.message)) from error
        return '' if rendered is None else str(rendered)
