#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iredmail-ports contributors
# MIT OR Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
module: check
short_description: Check the ports of a containerized iRedMail before deploying it
version_added: 0.1.0
description:
  - Runs C(iredmail-ports check) on the controller against Kubernetes manifests, Compose
    files, Ansible playbooks, an inline definition or a rendered template, and compares
    every port with iRedMail's port catalogue.
  - "Fails the task when a finding is at or above O(fail_on), listing the findings one per
    line as C(file:line:column: severity[rule]: message (object))."
  - Never changes anything on the managed host. The task is changed only when it writes
    a report file (O(sarif_dest), O(junit_dest)) with new content; without those it is
    never changed. In check mode the same check runs and gives the same verdict; report
    files are not written then, and C(--diff) shows how they would change.
  - The work happens in the action plugin of the same name, on the controller, where the
    manifests and the binary are; the play's hosts do not need the binary.
author:
  - iredmail-ports contributors (@iredmail-ports)
options:
  src:
    description:
      - Files, directories or globs to check, found as M(ansible.builtin.copy) finds
        O(ansible.builtin.copy#module:src) (the role's C(files/), then the playbook's
        directory); globs are taken from the playbook's directory. Directories are walked.
      - Findings name the files relative to the playbook's directory.
    type: list
    elements: path
  definition:
    description:
      - An inline definition, as M(kubernetes.core.k8s) takes O(kubernetes.core.k8s#module:definition)
        (one object, a list of objects, or a YAML string) or
        M(community.docker.docker_compose_v2) takes O(community.docker.docker_compose_v2#module:definition)
        (a Compose mapping with C(services)).
      - Findings point at the playbook's lines where the offending values are written.
    type: raw
  template:
    description:
      - Templates rendered by Ansible with the play's variables first, found as
        M(ansible.builtin.template) finds them; then checked. Findings name the template
        with line numbers of the rendered text.
    type: list
    elements: path
  kind:
    description:
      - What O(definition) and O(template) hold. V(auto) tells a Compose mapping
        (C(services)) from Kubernetes objects (C(apiVersion) and C(kind), or a list).
      - With V(compose), files in O(src) are merged in order as one project, as
        C(docker compose -f a -f b) merges them.
    type: str
    choices: [auto, kubernetes, compose]
    default: auto
  project_name:
    description:
      - The Compose project name of an inline definition or template without a C(name),
        which findings show as C(compose/<project>/<service>); as
        O(community.docker.docker_compose_v2#module:project_name).
    type: str
    default: definition
  config:
    description:
      - The C(.iredmail-ports.yaml) config (severities, excludes, allowed ports,
        suppressions), relative to the playbook's directory. By default the binary finds
        the nearest one from the checked files upward; for O(definition) and O(template),
        from the playbook's directory upward.
    type: path
extends_documentation_fragment:
  - iredmail.ports.report
notes:
  - "The action plugin runs on the controller whatever the play's hosts are; use
    C(run_once: true) to check once per play."
seealso:
  - module: iredmail.ports.cluster
  - plugin: iredmail.ports.firewall_ports
    plugin_type: filter
'''

EXAMPLES = r'''
- name: Check the manifests before deploying them
  iredmail.ports.check:
    src: k8s/
  run_once: true

- name: Check an inline Compose project and keep the findings
  iredmail.ports.check:
    definition:
      services:
        mariadb:
          image: mariadb:11
          ports:
            - "127.0.0.1:3306:3306"
    fail_on: never
  register: ports

- name: Check a rendered template with the implicit-TLS policy, writing SARIF
  iredmail.ports.check:
    template: compose.yml.j2
    catalogue: implicit-tls
    sarif_dest: reports/ports.sarif
'''

RETURN = r'''
passed:
  description: Whether no finding (not suppressed) is at or above O(fail_on).
  returned: always
  type: bool
findings:
  description: Every finding, suppressed ones included, in the order the report gives them.
  returned: success or when the check fails
  type: list
  elements: dict
  contains:
    rule:
      description: The rule id, e.g. V(internal-port-exposed).
      type: str
    severity:
      description: V(error), V(warning) or V(note).
      type: str
    port:
      description: The port, or null for findings about no one port.
      type: int
    protocol:
      description: TCP, UDP or SCTP, when the finding is about a port.
      type: str
    service:
      description: The catalogue service, when known.
      type: str
    scope:
      description: How far the port reaches.
      type: str
    allowed_scope:
      description: How far the catalogue allows it to reach.
      type: str
    object:
      description: C(Kind/namespace/name) or C(compose/<project>/<service>).
      type: str
    file:
      description: The file to blame, relative to the playbook's directory when under it.
      type: str
    line:
      description: 1-based line in O(ignore:file).
      type: int
    column:
      description: 1-based column in O(ignore:file).
      type: int
    message:
      description: What is wrong, as the text report says it.
      type: str
    suppressed:
      description: Why the finding is suppressed (config or baseline), or null.
      type: dict
summary:
  description: Counts of the report (C(error), C(warning), C(note), C(files), C(objects)).
  returned: success or when the check fails
  type: dict
reports:
  description: The report files written (or, in check mode, that would be written) with new content.
  returned: when a report file changes
  type: list
  elements: str
catalogue:
  description: The name of the catalogue used.
  returned: success or when the check fails
  type: str
  sample: iredmail
msg:
  description: On failure, a heading and the failing findings, one per line.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.iredmail.ports.plugins.module_utils.iredmail_ports import (
    CHECK_ARGUMENT_SPEC,
    CHECK_MUTUALLY_EXCLUSIVE,
    CHECK_REQUIRED_ONE_OF,
)


def main():
    module = AnsibleModule(
        argument_spec=CHECK_ARGUMENT_SPEC,
        mutually_exclusive=CHECK_MUTUALLY_EXCLUSIVE,
        required_one_of=CHECK_REQUIRED_ONE_OF,
        supports_check_mode=True,
    )
    module.fail_json(msg='iredmail.ports.check runs on the controller through its action plugin')


if __name__ == '__main__':
    main()
