#!/usr/bin/env python3
"""`helm template` and `helm lint` for the tests, on Helm's own Go SDK.

No registry reachable here ships the `helm` binary, so this drives libhelm_c (Helm v4's Go
SDK built as a C library, from the PyPI package helm-python-sdk that scripts/python-tools.sh
installs) with the same calls the CLI makes: `template` is an install with a client-side
dry run (values.schema.json validation, Helm's manifest order and `# Source:` headers),
`lint` is Helm's linter. Run it with the tools venv's python.

  helm.py template CHART --name NAME --namespace NS [-f FILE]... [--set K=V]... [--notes]
          [--kubeconfig FILE]   render against a cluster: `lookup` sees its objects
  helm.py lint CHART [-f FILE]... [--set K=V]... [--strict]

Exit code 1 and Helm's message on standard error when Helm refuses the chart or values.
"""

import argparse
import sys
from typing import Any

import helm_python as helm


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's rule for -f and --set: maps merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def user_values(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for path in args.values:
        with open(path, encoding="utf-8") as file:
            values = merge(values, helm.values_from_yaml(file.read()))
    for expression in args.set:
        values = merge(values, helm.parse_set_string(expression))
    for expression in args.set_json:
        values = merge(values, helm.parse_set_json(expression))
    return values


def template(args: argparse.Namespace) -> None:
    values = user_values(args)
    with helm.Chart.load(args.chart) as chart:
        if args.kubeconfig:
            # An upgrade rendered against a live cluster, as `helm upgrade --dry-run=server`.
            with helm.Config(kubeconfig_path=args.kubeconfig, namespace=args.namespace) as cfg:
                chart.validate_schema(values)
                rendered = cfg.render(
                    chart, values, name=args.name, namespace=args.namespace, is_upgrade=True
                )
            for path in sorted(rendered):
                text = rendered[path].strip()
                if path.endswith("NOTES.txt"):
                    if args.notes:
                        print(text)
                elif text and not args.notes:
                    print(f"---\n# Source: {path}\n{text}")
            return
        with helm.Config(storage_driver="memory", namespace=args.namespace) as cfg:
            release = cfg.install(
                chart, args.name, values, namespace=args.namespace, dry_run="client"
            )
    print(release["notes"] if args.notes else release["manifest"], end="")


def lint(args: argparse.Namespace) -> None:
    report = helm.lint(args.chart, user_values(args), strict=args.strict)
    for message in report["messages"]:
        severity = {1: "INFO", 2: "WARNING", 3: "ERROR"}.get(message["severity"], "UNKNOWN")
        print(f"[{severity}] {message['path']}: {message['error'].strip()}")
    failed = any(m["severity"] == 3 or (args.strict and m["severity"] == 2)
                 for m in report["messages"])
    print(f"{report['total_charts_linted']} chart(s) linted, {'1' if failed else '0'} chart(s) failed")
    if failed or report.get("errors"):
        for error in report.get("errors") or []:
            print(f"Error: {error}", file=sys.stderr)
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("template", "lint"):
        command = commands.add_parser(name)
        command.add_argument("chart")
        command.add_argument("-f", "--values", action="append", default=[])
        command.add_argument("--set", action="append", default=[])
        command.add_argument("--set-json", action="append", default=[])
        if name == "template":
            command.add_argument("--name", default="release-name")
            command.add_argument("--namespace", default="default")
            command.add_argument("--kubeconfig")
            command.add_argument("--notes", action="store_true")
        else:
            command.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    try:
        template(args) if args.command == "template" else lint(args)
    except helm.HelmError as error:
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
