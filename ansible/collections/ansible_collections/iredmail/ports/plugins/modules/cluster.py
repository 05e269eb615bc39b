#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iredmail-ports contributors
# MIT OR Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
module: cluster
short_description: Check the ports of the iRedMail running in a Kubernetes cluster
version_added: 0.1.0
description:
  - Runs C(iredmail-ports cluster) on the controller, reading Services, workloads,
    NetworkPolicies, Ingresses and Gateway API routes with a kubeconfig's credentials,
    and compares every port with iRedMail's port catalogue.
  - The connection options are named as M(kubernetes.core.k8s_info) names them, with the
    same E(K8S_AUTH_KUBECONFIG) and E(K8S_AUTH_CONTEXT) fallbacks.
  - Fails the task when a finding is at or above O(fail_on), listing the findings one per
    line. Changes nothing in the cluster; the task is changed only when it writes a
    report file with new content. Check mode runs the same check.
author:
  - iredmail-ports contributors (@iredmail-ports)
options:
  kubeconfig:
    description:
      - The kubeconfig file, relative to the playbook's directory. Default
        E(K8S_AUTH_KUBECONFIG), else E(KUBECONFIG), else C(~/.kube/config), else the
        in-cluster service account.
    type: path
  context:
    description: The kubeconfig context. Default E(K8S_AUTH_CONTEXT), else the current context.
    type: str
  namespace:
    description: The namespace to check. Default the context's namespace.
    type: str
  all_namespaces:
    description: Check every namespace.
    type: bool
    default: false
  label_selectors:
    description:
      - Check only the objects with these labels (C(app=mail), C(tier!=db)), as
        O(kubernetes.core.k8s_info#module:label_selectors); NetworkPolicies and
        Namespaces are always read, since they decide reachability.
    type: list
    elements: str
    default: []
  request_timeout:
    description: How long one request to the API server may take (V(30s), V(2m)); default no limit.
    type: str
  config:
    description:
      - The C(.iredmail-ports.yaml) config (severities, excludes, allowed ports,
        suppressions), relative to the playbook's directory. By default the nearest one
        from the playbook's directory upward.
    type: path
extends_documentation_fragment:
  - iredmail.ports.report
seealso:
  - module: iredmail.ports.check
  - module: kubernetes.core.k8s_info
'''

EXAMPLES = r'''
- name: Check the mail namespace after deploying it
  iredmail.ports.cluster:
    namespace: mail
    context: production
  run_once: true
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
      description: Null for live objects, which have no file.
      type: str
    line:
      description: Null for live objects.
      type: int
    column:
      description: Null for live objects.
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
    CLUSTER_ARGUMENT_SPEC,
    CLUSTER_MUTUALLY_EXCLUSIVE,
)


def main():
    module = AnsibleModule(
        argument_spec=CLUSTER_ARGUMENT_SPEC,
        mutually_exclusive=CLUSTER_MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    module.fail_json(msg='iredmail.ports.cluster runs on the controller through its action plugin')


if __name__ == '__main__':
    main()
