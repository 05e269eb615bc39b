#!/usr/bin/env bash
# Hostile input and load stay bounded (issue "Bounded under hostile input and load", items
# 1 and 2): prints wall time, peak RSS and finding count of `iredmail-ports check` at 1x,
# 2x and 4x of each hostile corpus, so that linear growth can be read off the figures.
#
# Corpora (generated here into a temporary directory, never committed):
#   ranges       N Compose services each publishing '1-65535:1-65535' (1x = 10)
#   ansible      N docker_container tasks publishing '1-65535:1-65535' (1x = 20)
#   selector     N ClusterIP Services x N Deployments on one selector (1x = 3,000)
#   policies     N NetworkPolicies x N Services x N Deployments in one namespace (1x = 700)
#   compose      one Compose file with N services (1x = 50,000)
#
# Run from anywhere in the repository:
#   cargo build --release && bash benches/hostile.sh
#   BIN=target/debug/iredmail-ports BENCH_SCALES="1 2" bash benches/hostile.sh selector
# Environment: BIN (target/release/iredmail-ports), BENCH_SCALES ("1 2 4").
# Arguments: the corpora to run (all by default). Needs python3 and /usr/bin/time.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=${BIN:-target/release/iredmail-ports}
scales=${BENCH_SCALES:-1 2 4}
corpora=("$@")
if [ ${#corpora[@]} -eq 0 ]; then
    corpora=(ranges ansible selector policies compose)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Writes corpus $1 at size $2 into file $3.
generate() {
    python3 - "$1" "$2" "$3" <<'PY'
import sys

kind, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
parts = []
if kind == "ranges":
    parts.append("services:\n")
    for i in range(n):
        parts.append(f"  s{i}:\n    image: x\n    ports: ['1-65535:1-65535']\n")
elif kind == "ansible":
    parts.append("- hosts: mail\n  tasks:\n")
    for i in range(n):
        parts.append(
            f"    - community.docker.docker_container:\n        name: c{i}\n"
            "        image: x\n        published_ports: ['1-65535:1-65535']\n"
        )
elif kind in ("selector", "policies"):
    def deployment(i):
        return (
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d{i}, namespace: mail}}\n"
            "spec:\n  selector: {matchLabels: {app: db}}\n  template:\n"
            "    metadata: {labels: {app: db}}\n    spec:\n      containers:\n"
            "        - name: db\n          image: mariadb\n"
            "          ports: [{containerPort: 3306}]\n"
        )

    def service(i):
        return (
            f"apiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: mail}}\n"
            "spec:\n  selector: {app: db}\n  ports: [{port: 3306}]\n"
        )

    def policy(i):
        return (
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            f"metadata: {{name: p{i}, namespace: mail}}\n"
            "spec:\n  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Ingress]\n"
            "  ingress:\n    - from: [{namespaceSelector: {}}]\n"
            "      ports: [{port: 3306}]\n"
        )

    docs = [deployment(i) for i in range(n)] + [service(i) for i in range(n)]
    if kind == "policies":
        docs += [policy(i) for i in range(n)]
    parts.append("---\n".join(docs))
elif kind == "compose":
    parts.append("services:\n")
    for i in range(n):
        parts.append(f"  s{i}:\n    image: x\n    ports: ['{10000 + i % 50000}:3306']\n")
with open(out, "w") as f:
    f.write("".join(parts))
PY
}

base() {
    case $1 in
        ranges) echo 10 ;;
        ansible) echo 20 ;;
        selector) echo 3000 ;;
        policies) echo 700 ;;
        compose) echo 50000 ;;
    esac
}

printf '%-9s %5s %8s %10s %9s %10s\n' corpus scale size wall_s peak_MiB findings
for corpus in "${corpora[@]}"; do
    for scale in $scales; do
        n=$(($(base "$corpus") * scale))
        dir="$work/$corpus-$scale"
        mkdir -p "$dir"
        case $corpus in
            ansible) file="$dir/site.yml" ;;
            ranges | compose) file="$dir/compose.yaml" ;;
            *) file="$dir/objects.yaml" ;;
        esac
        generate "$corpus" "$n" "$file"
        /usr/bin/time -f '%e %M' -o "$work/time" \
            "$bin" check "$file" --format json --fail-on never >"$work/report.json"
        read -r wall rss <"$work/time"
        findings=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$work/report.json")
        printf '%-9s %5s %8s %10s %9s %10s\n' "$corpus" "${scale}x" "$n" "$wall" "$((rss / 1024))" "$findings"
    done
done
