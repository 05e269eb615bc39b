#!/usr/bin/env bash
# Compares iredmail-ports with Checkov on the same generated corpus (DESIGN.md, "Performance
# targets": at least 50x faster than Checkov's Kubernetes scan of the same files).
#
# What it measures, with /usr/bin/time -v (wall clock and maximum RSS of each process):
#   - `iredmail-ports check DIR --format json --fail-on never`, the release binary, whole
#     process (start-up, walk, parse, rules, JSON rendering); the median of BENCH_OURS_RUNS
#     runs after one warm-up;
#   - `checkov -d DIR --framework kubernetes --skip-download --soft-fail -o json --quiet`,
#     BENCH_CHECKOV_RUNS runs (default 1, it is slow). Checkov only reads the Kubernetes
#     files of the corpus (about 80 %); iredmail-ports also reads the Compose files, so the
#     ratio is conservative.
# The corpus is the one benches/check.rs writes (BENCH_KEEP_CORPUS), BENCH_FILES files,
# 1,000 by default because Checkov is slow; the 10,000-file figure of iredmail-ports comes
# from `cargo bench --bench check`.
#
# Run from anywhere in the repository (it changes to the repository root):
#   bash benches/checkov.sh
#   BENCH_FILES=10000 bash benches/checkov.sh
# Environment: BENCH_FILES (1000), BENCH_VENV (/tmp/iredmail-ports-bench-venv),
# BENCH_CORPUS (/tmp/iredmail-ports-bench-corpus-$BENCH_FILES), BENCH_OURS_RUNS (5),
# BENCH_CHECKOV_RUNS (1), CARGO_TARGET_DIR (target), PYTHON (python3).
# Idempotent: the venv and Checkov are installed once, the corpus is rewritten each time.
# Needs Python 3 with venv, and apt-get (as root) only if /usr/bin/time is missing.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

files=${BENCH_FILES:-1000}
venv=${BENCH_VENV:-/tmp/iredmail-ports-bench-venv}
corpus=${BENCH_CORPUS:-/tmp/iredmail-ports-bench-corpus-$files}
ours_runs=${BENCH_OURS_RUNS:-5}
checkov_runs=${BENCH_CHECKOV_RUNS:-1}
target_dir=${CARGO_TARGET_DIR:-target}
python=${PYTHON:-python3}
checkov_pin=3.3.30

say() { printf '==> %s\n' "$*" >&2; }

# --- /usr/bin/time --------------------------------------------------------------------
if [[ ! -x /usr/bin/time ]]; then
    say "installing GNU time (apt-get install -y time)"
    sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
    $sudo apt-get install -y time >/dev/null 2>&1 ||
        { $sudo apt-get update >/dev/null && $sudo apt-get install -y time >/dev/null; }
fi

# --- Checkov in its own venv ------------------------------------------------------------
if [[ ! -x "$venv/bin/checkov" ]]; then
    say "creating $venv and installing Checkov"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    if ! "$venv/bin/pip" install --quiet "checkov==$checkov_pin"; then
        say "checkov==$checkov_pin is not available; installing the latest checkov"
        "$venv/bin/pip" install --quiet checkov
    fi
fi
checkov_version=$("$venv/bin/pip" show checkov | awk '/^Version:/ {print $2}')
if [[ "$checkov_version" == "$checkov_pin" ]]; then
    checkov_note="pinned"
else
    checkov_note="not the pin $checkov_pin"
fi
say "Checkov $checkov_version ($checkov_note) in $venv"

# --- iredmail-ports and the corpus --------------------------------------------------------
say "cargo build --release (target dir $target_dir)"
cargo build --release --quiet
bin="$target_dir/release/iredmail-ports"
[[ -x "$bin" ]] || { echo "no binary at $bin" >&2; exit 1; }

say "writing $files files to $corpus (cargo bench --bench check)"
work=$(mktemp -d "${TMPDIR:-/tmp}/iredmail-ports-checkov.XXXXXX")
trap 'rm -rf "$work"' EXIT
BENCH_KEEP_CORPUS="$corpus" BENCH_FILES="$files" cargo bench --quiet --bench check \
    >"$work/cargo-bench.txt" 2>&1 || { cat "$work/cargo-bench.txt" >&2; exit 1; }
grep -E '^corpus:' "$work/cargo-bench.txt" >&2 || true
kube_files=$(find "$corpus/k8s" -type f -name '*.yaml' | wc -l)
compose_files=$(find "$corpus/compose" -type f -name '*.y*ml' | wc -l)

# Wall seconds and max RSS (KiB) from a `/usr/bin/time -v` log.
wall_of() {
    awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, t, ":"); s = 0
        for (i = 1; i <= n; i++) s = s * 60 + t[i]
        printf "%.3f\n", s
    }' "$1"
}
rss_of() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
max() { sort -g | tail -n 1; }

# --- iredmail-ports ---------------------------------------------------------------------
say "iredmail-ports: one warm-up, $ours_runs timed runs"
"$bin" check "$corpus" --format json --fail-on never >"$work/ours.json"
: >"$work/ours-wall" && : >"$work/ours-rss"
for ((i = 1; i <= ours_runs; i++)); do
    /usr/bin/time -v -o "$work/time.txt" \
        "$bin" check "$corpus" --format json --fail-on never >"$work/ours.json"
    wall_of "$work/time.txt" >>"$work/ours-wall"
    rss_of "$work/time.txt" >>"$work/ours-rss"
done
ours_wall=$(median <"$work/ours-wall")
ours_rss=$(max <"$work/ours-rss")
ours_summary=$("$venv/bin/python" -c '
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
print("%d files, %d objects, %d findings" % (s["files"], s["objects"], len(r["findings"])))
' "$work/ours.json")

# --- Checkov --------------------------------------------------------------------------------
say "Checkov: $checkov_runs run(s) on the $kube_files Kubernetes files (it skips Compose)"
: >"$work/checkov-wall" && : >"$work/checkov-rss"
for ((i = 1; i <= checkov_runs; i++)); do
    /usr/bin/time -v -o "$work/time.txt" \
        "$venv/bin/checkov" -d "$corpus" --framework kubernetes --skip-download \
        --soft-fail -o json --quiet >"$work/checkov.json" 2>"$work/checkov.err"
    wall_of "$work/time.txt" >>"$work/checkov-wall"
    rss_of "$work/time.txt" >>"$work/checkov-rss"
done
checkov_wall=$(median <"$work/checkov-wall")
checkov_rss=$(max <"$work/checkov-rss")
checkov_summary=$("$venv/bin/python" -c '
import json, sys
data = json.load(open(sys.argv[1]))
reports = data if isinstance(data, list) else [data]
resources = passed = failed = 0
for r in reports:
    s = r.get("summary", {})
    resources += s.get("resource_count", 0)
    passed += s.get("passed", 0)
    failed += s.get("failed", 0)
print(f"{resources} resources, {passed} passed and {failed} failed checks")
' "$work/checkov.json")

# --- Table ----------------------------------------------------------------------------------
ratio=$(awk -v a="$checkov_wall" -v b="$ours_wall" 'BEGIN {
    if (b > 0) printf "%.0f", a / b; else print "inf" }')
verdict=$(awk -v a="$checkov_wall" -v b="$ours_wall" 'BEGIN {
    print (b > 0 && a / b >= 50) ? "met" : "MISSED" }')
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }

echo
echo "corpus: $corpus ($files files: $kube_files Kubernetes, $compose_files Compose)"
printf '%-16s %-22s %10s %12s  %s\n' "tool" "version" "wall s" "max RSS" "read"
printf '%-16s %-22s %10s %12s  %s\n' "iredmail-ports" "$("$bin" --version | awk '{print $2}') (release)" \
    "$ours_wall" "$(mib "$ours_rss")" "$ours_summary (median of $ours_runs)"
printf '%-16s %-22s %10s %12s  %s\n' "checkov" "$checkov_version ($checkov_note)" \
    "$checkov_wall" "$(mib "$checkov_rss")" "$checkov_summary (median of $checkov_runs)"
echo "speed ratio (Checkov wall / iredmail-ports wall): ${ratio}x, target 50x: $verdict"
echo "(Checkov reads only the $kube_files Kubernetes files; iredmail-ports reads all $files)"
