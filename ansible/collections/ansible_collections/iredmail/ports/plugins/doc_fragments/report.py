# -*- coding: utf-8 -*-
# Copyright: iredmail-ports contributors
# MIT OR Apache-2.0

from __future__ import annotations


class ModuleDocFragment:
    """The options and attributes that iredmail.ports.check and iredmail.ports.cluster
    share: the catalogue, the failure threshold, the report files and the binary
    (module_utils.iredmail_ports.REPORT_OPTIONS, less `config`, whose default differs)."""

    DOCUMENTATION = r'''
options:
  catalogue:
    description:
      - The port catalogue. V(iredmail) is the default embedded one, V(implicit-tls) the
        RFC 8314 variant that allows 465, 993 and 995; anything else is a catalogue file,
        relative to the playbook's directory.
    type: str
    default: iredmail
  fail_on:
    description:
      - Fail the task when a finding that is not suppressed is at or above this severity.
        V(never) only reports.
    type: str
    choices: [error, warning, note, never]
    default: error
  sarif_dest:
    description:
      - Also write a SARIF 2.1.0 report to this file on the controller (relative to the
        playbook's directory), for code scanning.
    type: path
  junit_dest:
    description:
      - Also write a JUnit XML report to this file on the controller (relative to the
        playbook's directory), for CI test reports.
    type: path
  binary:
    description:
      - The C(iredmail-ports) binary on the controller. By default C(iredmail-ports) on
        E(PATH), else the one the C(iredmail-ports) pip package installed beside the
        controller's Python.
    type: path
attributes:
  check_mode:
    support: full
    description: The same check runs; report files are not written.
  diff_mode:
    support: full
    description: Shows the report files (O(sarif_dest), O(junit_dest)) it changes or would change.
  platform:
    support: full
    platforms: all
    description: Runs on the controller.
'''
