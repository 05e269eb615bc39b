//! Every way to suppress a finding (annotation, Compose extension, config file, baseline),
//! the config's other settings, and that suppressed findings stay visible in every format
//! without failing the run.

use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

const DB_SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: mariadb
  namespace: mail
  annotations:
    iredmail-ports.io/ignore: \"internal-port-exposed:3306\"
    iredmail-ports.io/ignore-reason: DBA access through the office firewall only
spec:
  type: LoadBalancer
  ports:
    - port: 3306
    - port: 8080
";

fn dir_with(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }
    dir
}

/// Runs `check` in `dir` with the given arguments; returns the exit code and the JSON.
fn check_json(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let output = Command::cargo_bin("iredmail-ports")
        .expect("binary")
        .current_dir(dir)
        .arg("check")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), json)
}

fn render(dir: &Path, args: &[&str], format: &str) -> String {
    let output = Command::cargo_bin("iredmail-ports")
        .expect("binary")
        .current_dir(dir)
        .arg("check")
        .args(args)
        .args(["--format", format, "--color", "never"])
        .output()
        .expect("runs");
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// (rule, port, suppressed by) of every finding.
fn summary(report: &serde_json::Value) -> Vec<(String, Option<u64>, Option<String>)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["port"].as_u64(),
                f["suppressed"]["by"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn finding(rule: &str, port: u64, by: Option<&str>) -> (String, Option<u64>, Option<String>) {
    (rule.to_string(), Some(port), by.map(str::to_string))
}

#[test]
fn an_annotation_suppresses_its_object_s_findings_for_the_named_rule_and_port() {
    let dir = dir_with(&[("db.yaml", DB_SERVICE)]);
    let (code, report) = check_json(dir.path(), &["."]);
    assert_eq!(
        summary(&report),
        [
            finding("internal-port-exposed", 3306, Some("annotation")),
            finding("unknown-port", 8080, None),
        ]
    );
    assert_eq!(
        report["findings"][0]["suppressed"]["reason"],
        "DBA access through the office firewall only"
    );
    assert_eq!(report["summary"]["error"], 0);
    assert_eq!(report["summary"]["suppressed"], 1);
    // The suppressed error does not fail the run; the warning does with --fail-on warning.
    assert_eq!(code, 0);
    assert_eq!(check_json(dir.path(), &[".", "--fail-on", "warning"]).0, 1);
}

#[test]
fn an_annotation_without_a_reason_or_with_an_unknown_rule_is_invalid_input() {
    let no_reason = DB_SERVICE.replace(
        "    iredmail-ports.io/ignore-reason: DBA access through the office firewall only\n",
        "",
    );
    let dir = dir_with(&[("db.yaml", &no_reason)]);
    let (code, report) = check_json(dir.path(), &["."]);
    assert_eq!(code, 1);
    let first = &report["findings"][0];
    assert_eq!(first["rule"], "invalid-input");
    assert_eq!(first["location"]["line"], 7);
    assert_eq!(
        first["message"],
        "`iredmail-ports.io/ignore` needs a reason in the `iredmail-ports.io/ignore-reason` annotation"
    );

    let typo = DB_SERVICE.replace("internal-port-exposed:3306", "internal-port-exposd:3306");
    let dir = dir_with(&[("db.yaml", &typo)]);
    let (_, report) = check_json(dir.path(), &["."]);
    let message = report["findings"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.starts_with("`iredmail-ports.io/ignore`: unknown rule `internal-port-exposd`"),
        "{message}"
    );
}

#[test]
fn a_compose_extension_suppresses_its_service_s_findings() {
    let compose = "services:
  mariadb:
    image: mariadb:10.11
    x-iredmail-ports:
      ignore: [internal-port-exposed]
      reason: a single-host lab behind NAT
    ports:
      - \"3306:3306\"
      - \"389:389\"
";
    let dir = dir_with(&[("compose.yaml", compose)]);
    let (code, report) = check_json(dir.path(), &["."]);
    assert_eq!(code, 0);
    assert_eq!(
        summary(&report),
        [
            finding("internal-port-exposed", 3306, Some("compose-extension")),
            finding("internal-port-exposed", 389, Some("compose-extension")),
        ]
    );
}

const CONFIG: &str = "# Site settings for iredmail-ports.
severity:
  unknown-port: error
exclude:
  - \"generated/**\"
allow:
  - port: 9154
    scope: cluster
    service: postfix-exporter
    reason: scraped by Prometheus from the monitoring namespace
ignore:
  - rule: internal-port-exposed
    port: 389
    object: \"Service/mail/*\"
    path: \"deploy/**\"
    reason: LDAP for the office VPN, firewalled upstream
";

const DEPLOY: &str = "apiVersion: v1
kind: Service
metadata: {name: edge, namespace: mail}
spec:
  type: LoadBalancer
  ports:
    - port: 389
    - port: 9154
    - port: 8080
";

#[test]
fn the_config_file_is_found_upward_and_applies_every_setting() {
    let dir = dir_with(&[
        (".iredmail-ports.yaml", CONFIG),
        ("deploy/edge.yaml", DEPLOY),
        // Excluded: a LoadBalancer for MySQL that would otherwise be an error.
        (
            "generated/db.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: mail}\nspec:\n  type: LoadBalancer\n  ports: [{port: 3306}]\n",
        ),
    ]);
    // Found from the checked path `deploy`, one directory below the config.
    let (code, report) = check_json(dir.path(), &["deploy", "generated"]);
    assert_eq!(
        summary(&report),
        [
            finding("internal-port-exposed", 389, Some("config")),
            // 9154 is allowed up to `cluster`: a LoadBalancer is still too wide.
            finding("internal-port-exposed", 9154, None),
            // unknown-port raised to error by the config.
            finding("unknown-port", 8080, None),
        ]
    );
    assert_eq!(report["findings"][2]["severity"], "error");
    assert_eq!(report["summary"]["files"], 1);
    assert_eq!(code, 1);
}

#[test]
fn an_explicit_config_replaces_discovery_and_a_broken_one_exits_two() {
    let dir = dir_with(&[
        ("deploy/edge.yaml", DEPLOY),
        (
            "ci.yaml",
            "ignore:\n  - rule: unknown-port\n    reason: checked elsewhere\n",
        ),
        ("broken.yaml", "severity:\n  unknown-port: fatal\n"),
    ]);
    let (_, report) = check_json(dir.path(), &["deploy", "--config", "ci.yaml"]);
    assert_eq!(
        summary(&report),
        [
            finding("internal-port-exposed", 389, None),
            finding("unknown-port", 9154, Some("config")),
            finding("unknown-port", 8080, Some("config")),
        ]
    );
    let output = Command::cargo_bin("iredmail-ports")
        .expect("binary")
        .current_dir(dir.path())
        .args(["check", "deploy", "--config", "broken.yaml"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: broken.yaml:1:1: `severity`: unknown variant `fatal`"),
        "{stderr}"
    );
}

#[test]
fn a_baseline_reports_only_new_findings_as_failures() {
    let dir = dir_with(&[("deploy/edge.yaml", DEPLOY)]);
    let (code, _) = check_json(dir.path(), &["deploy", "--write-baseline", "baseline.json"]);
    assert_eq!(code, 0, "recording a baseline succeeds");
    let (code, report) = check_json(dir.path(), &["deploy", "--baseline", "baseline.json"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["summary"]["suppressed"], 3);

    // An unrelated edit above the findings keeps them known; a new port is new.
    let edited = format!("# edited\n{}    - port: 3306\n", DEPLOY);
    std::fs::write(dir.path().join("deploy/edge.yaml"), edited).expect("write");
    let (code, report) = check_json(dir.path(), &["deploy", "--baseline", "baseline.json"]);
    assert_eq!(code, 1);
    let new: Vec<_> = summary(&report)
        .into_iter()
        .filter(|(_, _, by)| by.is_none())
        .collect();
    assert_eq!(new, [finding("internal-port-exposed", 3306, None)]);
}

#[test]
fn suppressed_findings_are_shown_as_suppressed_in_every_format() {
    let dir = dir_with(&[("db.yaml", DB_SERVICE)]);
    let reason = "DBA access through the office firewall only";
    let text = render(dir.path(), &["."], "text");
    assert!(text.contains("── suppressed: 1"), "{text}");
    assert!(
        text.contains(&format!("(suppressed by annotation: {reason})")),
        "{text}"
    );
    assert!(text.contains("(1 suppressed)"), "{text}");

    let sarif: serde_json::Value =
        serde_json::from_str(&render(dir.path(), &["."], "sarif")).expect("SARIF");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results[0]["suppressions"][0]["kind"], "inSource");
    assert_eq!(results[0]["suppressions"][0]["justification"], reason);
    assert!(results[1].get("suppressions").is_none());

    let junit = render(dir.path(), &["."], "junit");
    assert!(junit.contains("<skipped"), "{junit}");
    assert!(
        junit.contains(&format!("suppressed by annotation: {reason}")),
        "{junit}"
    );

    let github = render(dir.path(), &["."], "github");
    let first = github.lines().next().unwrap_or_default();
    assert!(first.starts_with("::notice "), "{github}");
    assert!(first.contains("suppressed by annotation"), "{github}");

    let markdown = render(dir.path(), &["."], "markdown");
    assert!(markdown.contains("| error (suppressed) |"), "{markdown}");
    assert!(markdown.contains("(1 suppressed)"), "{markdown}");
}
