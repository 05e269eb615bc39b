//! The binary as users and CI scripts run it: exit codes, formats, flags, and snapshots
//! of the report formats on the shipped examples.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn bin() -> Command {
    let mut command = Command::cargo_bin("iredmail-ports").expect("the binary is built");
    command.env_remove("NO_COLOR");
    command
}

fn stdout_of(args: &[&str]) -> String {
    let output = bin().args(args).output().expect("runs");
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn text_report_on_the_examples() {
    bin()
        .args(["check", "examples/", "--color", "never"])
        .assert()
        .code(1);
    insta::assert_snapshot!(stdout_of(&["check", "examples/", "--color", "never"]));
}

#[test]
fn json_report_on_the_examples() {
    let json = stdout_of(&["check", "examples/", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    insta::assert_json_snapshot!(report);
}

#[test]
fn json_report_matches_its_committed_schema() {
    let schema_text = std::fs::read_to_string("schemas/report.schema.json").expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for dir in ["examples/", "tests/fixtures/kubernetes/invalid-input-fires"] {
        let json = stdout_of(&["check", dir, "--format", "json"]);
        let report: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        let errors: Vec<String> = validator
            .iter_errors(&report)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{dir}: {errors:?}");
    }
}

#[test]
fn clean_examples_exit_zero() {
    bin()
        .args([
            "check",
            "examples/kubernetes/clean",
            "examples/compose/clean",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "no findings in 5 files (6 objects)",
        ));
}

#[test]
fn fail_on_sets_the_threshold() {
    // Only warnings: deprecated ports.
    let warnings_only = "tests/fixtures/compose/deprecated-port-fires";
    bin().args(["check", warnings_only]).assert().code(0);
    bin()
        .args(["check", warnings_only, "--fail-on", "warning"])
        .assert()
        .code(1);
    bin()
        .args(["check", "examples/", "--fail-on", "never"])
        .assert()
        .code(0);
}

#[test]
fn usage_errors_exit_two() {
    bin().args(["check", "--format", "xml"]).assert().code(2);
    bin()
        .args(["explain", "no-such-rule"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule `no-such-rule`"));
}

#[test]
fn a_broken_catalogue_names_file_line_and_field_and_exits_two() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("catalogue.yaml");
    std::fs::write(
        &path,
        "name: mine\ndescription: d\nsource: s\nports:\n  - service: postfix\n    name: SMTP\n    port: 25\n    purpose: p\n    listen: 0.0.0.0\n    scope: everywhere\n    source: s\n",
    )
    .expect("write");
    let expected = format!(
        "error: {}:10:5: `ports[0].scope`: unknown variant `everywhere`",
        path.display()
    );
    bin()
        .args(["check", "examples/", "--catalogue"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(expected));
}

/// `--catalogue` takes the shipped catalogues by name, so the Ansible collection and CI
/// jobs need no checkout of policies/; a name that is none of them is a file path.
#[test]
fn shipped_catalogues_are_chosen_by_name() {
    for (choice, name) in [
        ("iredmail", "iredmail"),
        ("implicit-tls", "iredmail-implicit-tls"),
        ("iredmail-implicit-tls", "iredmail-implicit-tls"),
    ] {
        let json = stdout_of(&["catalogue", "--format", "json", "--catalogue", choice]);
        let catalogue: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(catalogue["name"], name, "--catalogue {choice}");
    }
    bin()
        .args(["catalogue", "--catalogue", "implicit-tl"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("implicit-tl"));
}

#[test]
fn a_user_catalogue_replaces_the_default() {
    let implicit_tls = "policies/iredmail-implicit-tls.yaml";
    let json = stdout_of(&[
        "check",
        "tests/fixtures/compose/deprecated-port-fires",
        "--catalogue",
        implicit_tls,
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(report["catalogue"], "iredmail-implicit-tls");
    let findings: Vec<(&str, u64)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| Some((f["rule"].as_str()?, f["port"].as_u64()?)))
        .collect();
    // 465, 993 and 995 are fine under RFC 8314 (and meet submission and IMAP); the old
    // managesieve port 2000 is not, and SMTP and HTTPS are missing.
    assert_eq!(
        findings,
        [
            ("deprecated-port", 2000),
            ("missing-port", 25),
            ("missing-port", 443)
        ]
    );
}

#[test]
fn output_flag_writes_the_report_to_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.json");
    bin()
        .args([
            "check",
            "examples/kubernetes/clean",
            "--format",
            "json",
            "--output",
        ])
        .arg(&path)
        .assert()
        .code(0)
        .stdout("");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("written")).expect("JSON");
    assert_eq!(report["summary"]["files"], 4);
}

#[test]
fn standard_input_is_named_dash() {
    let manifest = "apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: mail}\nspec:\n  type: LoadBalancer\n  ports:\n    - port: 3306\n";
    let output = bin()
        .args(["check", "-", "--format", "json"])
        .write_stdin(manifest)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let finding = &report["findings"][0];
    assert_eq!(finding["rule"], "internal-port-exposed");
    assert_eq!(finding["location"]["path"], "-");
    assert_eq!(finding["location"]["line"], 7);
}

#[test]
fn compose_files_merge_in_the_order_given() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().join("base.yml");
    let prod = dir.path().join("prod.yml");
    std::fs::write(
        &base,
        "services:\n  db:\n    image: mariadb:10.11\n    ports:\n      - \"127.0.0.1:3306:3306\"\n",
    )
    .expect("write");
    std::fs::write(
        &prod,
        "services:\n  db:\n    ports:\n      - \"3306:3306\"\n",
    )
    .expect("write");
    let json = stdout_of(&[
        "check",
        "-f",
        base.to_str().expect("UTF-8 path"),
        "-f",
        prod.to_str().expect("UTF-8 path"),
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{findings:?}");
    // Compose's project name from the directory: lower case, `[a-z0-9_-]` only.
    let project: String = dir
        .path()
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name")
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect();
    assert_eq!(findings[0]["object"], format!("compose/{project}/db"));
    assert_eq!(findings[0]["location"]["line"], 4);
    assert!(
        findings[0]["location"]["path"]
            .as_str()
            .is_some_and(|p| Path::new(p).ends_with("prod.yml"))
    );
}

#[test]
fn color_only_when_asked_or_on_a_terminal() {
    let fixture = "tests/fixtures/compose/deprecated-port-fires";
    let plain = stdout_of(&["check", fixture]);
    assert!(!plain.contains('\u{1b}'), "no escapes off a terminal");
    let colored = stdout_of(&["check", fixture, "--color", "always"]);
    assert!(colored.contains('\u{1b}'), "escapes with --color always");
}

#[test]
fn catalogue_in_every_format() {
    insta::assert_snapshot!(stdout_of(&["catalogue"]));
    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(&["catalogue", "--format", "json"])).expect("JSON");
    assert_eq!(json["name"], "iredmail");
    let yaml = stdout_of(&["catalogue", "--format", "yaml"]);
    let round_trip = iredmail_ports::Catalogue::from_yaml(&yaml, "printed").expect("re-reads");
    assert_eq!(
        round_trip,
        iredmail_ports::Catalogue::embedded_default().expect("default")
    );
}

#[test]
fn explain_prints_what_why_fix_and_examples() {
    let text = stdout_of(&["explain", "internal-port-exposed"]);
    for heading in [
        "# internal-port-exposed",
        "## Why",
        "## How to fix",
        "## Bad",
        "## Good",
    ] {
        assert!(text.contains(heading), "missing {heading}");
    }
}

#[test]
fn committed_schemas_are_up_to_date() {
    for kind in ["catalogue", "config", "report"] {
        let generated = stdout_of(&["schema", kind]);
        let committed = std::fs::read_to_string(format!("schemas/{kind}.schema.json"))
            .expect("committed schema");
        assert_eq!(
            generated, committed,
            "schemas/{kind}.schema.json is stale: run `cargo run -- schema {kind} > schemas/{kind}.schema.json`"
        );
    }
}

#[test]
fn shipped_catalogues_match_the_catalogue_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("schemas/catalogue.schema.json").expect("schema"),
    )
    .expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    for name in ["iredmail", "iredmail-implicit-tls"] {
        let json = stdout_of(&[
            "catalogue",
            "--format",
            "json",
            "--catalogue",
            &format!("policies/{name}.yaml"),
        ]);
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn unresolved_jinja_is_a_note_that_does_not_fail_the_run() {
    let fixture = "tests/fixtures/ansible/jinja-unresolved-fires";
    let output = bin()
        .args(["check", "--format", "json", fixture])
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "notes pass at --fail-on error"
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let severities: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|finding| finding["severity"].as_str().expect("severity"))
        .collect();
    assert_eq!(severities, ["note", "note", "note"]);
    let failing = bin()
        .args(["check", "--fail-on", "note", fixture])
        .output()
        .expect("runs");
    assert_eq!(failing.status.code(), Some(1));
}

#[test]
fn a_plain_task_file_named_on_the_command_line_is_ansible_with_nothing_to_judge() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tasks = dir.path().join("packages.yml");
    let text = "- name: Docker\n  ansible.builtin.apt:\n    name: [docker.io]\n\
                - name: Started\n  service: {name: docker, state: started}\n\
                - community.general.ufw: {rule: allow, port: \"25\"}\n";
    std::fs::write(&tasks, text).expect("written");
    bin()
        .args(["check", "--color", "never"])
        .arg(&tasks)
        .assert()
        .code(0)
        .stdout("no findings in 1 file (0 objects), catalogue iredmail\n");
    // A list of mappings that name no Ansible module is still not ours.
    let env = dir.path().join("env.yml");
    std::fs::write(&env, "- name: SMTP\n  value: \"25\"\n").expect("written");
    bin()
        .args(["check", "--color", "never"])
        .arg(&env)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "error[invalid-input]: not a Kubernetes manifest, a Compose file or an Ansible playbook",
        ));
}

/// `--write-baseline FILE` says what it wrote, and succeeds: recording the findings is
/// the run's purpose. A file that cannot be written is exit 2.
#[test]
fn write_baseline_says_what_it_wrote_and_exits_0() {
    let dir = tempfile::tempdir().expect("temp dir");
    let baseline = dir.path().join("baseline.json");
    let baseline = baseline.to_str().expect("UTF-8 path");
    let output = bin()
        .args([
            "check",
            "examples/",
            "--format",
            "json",
            "--write-baseline",
            baseline,
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(baseline).expect("written")).expect("JSON");
    let count = written["fingerprints"]
        .as_array()
        .expect("fingerprints")
        .len();
    assert_eq!(
        count,
        report["findings"].as_array().expect("findings").len()
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "wrote a baseline of {count} findings to {baseline}; `--baseline {baseline}` fails \
             only on new ones\n"
        )
    );
    // Checked against it, the same findings are known: exit 0.
    bin()
        .args(["check", "examples/", "--baseline", baseline])
        .assert()
        .code(0);

    let unwritable = dir.path().join("no/such/dir/baseline.json");
    let output = bin()
        .args(["check", "examples/", "--write-baseline"])
        .arg(&unwritable)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: {}: cannot write the baseline: ",
            unwritable.display()
        )),
        "{stderr}"
    );
}

/// `-o` is the format for `check` too; the report file takes `--output` only.
#[test]
fn dash_o_is_the_format_and_output_is_long_only() {
    let json = stdout_of(&["check", "examples/kubernetes/clean", "-o", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(report["findings"], serde_json::json!([]));
    let yaml = stdout_of(&["check", "examples/kubernetes/clean", "-o", "yaml"]);
    let from_yaml: serde_json::Value = serde_saphyr::from_str(&yaml).expect("YAML");
    assert_eq!(from_yaml, report);
    bin()
        .args(["check", "examples/", "--output", "sarif"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("use `-o sarif`"));
}

/// An exit-0 run under `--fail-on never` has no failed JUnit test case, and its findings
/// are still there as passing cases with their text.
#[test]
fn junit_of_an_exit_0_run_has_no_failure() {
    let output = bin()
        .args(["check", "examples/", "-o", "junit", "--fail-on", "never"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let xml = String::from_utf8_lossy(&output.stdout);
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(xml.contains("failures=\"0\""), "{xml}");
    assert!(xml.contains("<system-out>examples/"), "{xml}");
}

// Nothing checked is said, not passed: exit 2 with one line saying what was looked at.

/// Runs `check ARGS…` and returns the exit code, standard output and standard error.
fn run(args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    let output = bin()
        .arg("check")
        .args(args)
        .write_stdin(stdin)
        .output()
        .expect("runs");
    (
        output.status.code(),
        String::from_utf8(output.stdout).expect("UTF-8"),
        String::from_utf8(output.stderr).expect("UTF-8"),
    )
}

const ALLOW_HINT: &str = " (--allow-no-manifests lets such a run pass)\n";

#[test]
fn an_empty_directory_exits_two_saying_so() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().display().to_string();
    let (code, stdout, stderr) = run(&[&path], "");
    assert_eq!(code, Some(2));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!("error: nothing to check: {path} is an empty directory{ALLOW_HINT}")
    );
}

/// A tree of other tools' YAML and a Helm chart, whose templates a walk does not read:
/// the line says what the walk saw and how to render the chart.
#[test]
fn a_tree_without_manifests_exits_two_and_says_how_to_render_a_chart() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let chart = dir.path().join("chart");
    std::fs::create_dir_all(chart.join("templates")).expect("templates/");
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: mail\nversion: 1.0.0\n",
    )
    .expect("Chart.yaml");
    std::fs::write(chart.join("values.yaml"), "image: {tag: stable}\n").expect("values.yaml");
    std::fs::write(
        chart.join("templates/service.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: {{ .Release.Name }}}\n",
    )
    .expect("a template");
    std::fs::write(
        dir.path().join("tsconfig.json"),
        "{\n  // comments\n  \"a\": 1,\n}\n",
    )
    .expect("tsconfig.json");
    std::fs::write(dir.path().join("README.md"), "# mail\n").expect("README.md");
    let path = dir.path().display().to_string();
    let (code, _, stderr) = run(&[&path], "");
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        format!(
            "error: nothing to check: {path} holds no Kubernetes manifest, Compose file or \
             Ansible playbook (3 YAML or JSON files of other kinds); the Helm templates in \
             {path}/chart/templates are no manifests until rendered: helm template RELEASE \
             {path}/chart | iredmail-ports check -{ALLOW_HINT}"
        )
    );
}

#[test]
fn empty_standard_input_exits_two_saying_so() {
    let (code, stdout, stderr) = run(&["-"], "");
    assert_eq!((code, stdout.as_str()), (Some(2), ""));
    assert_eq!(
        stderr,
        format!("error: nothing to check: standard input is empty{ALLOW_HINT}")
    );
    let (code, _, stderr) = run(&["-"], "# helm template rendered nothing\n");
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        format!("error: nothing to check: standard input holds only comments{ALLOW_HINT}")
    );
}

#[test]
fn a_path_that_does_not_exist_exits_two_naming_it() {
    for args in [
        &["examples/kubernetes/clean", "deploy/no-such-dir"][..],
        &["deploy/no-such-dir", "--allow-no-manifests"][..],
        &["-f", "no-such-compose.yaml"][..],
    ] {
        let (code, stdout, stderr) = run(args, "");
        assert_eq!((code, stdout.as_str()), (Some(2), ""), "{args:?}");
        let missing = args.iter().find(|a| a.contains("no-such")).expect("a path");
        assert_eq!(
            stderr,
            format!("error: {missing}: no such file or directory\n")
        );
    }
}

#[test]
fn allow_no_manifests_passes_an_empty_check_with_an_empty_report() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("mkdocs.yml"), "site_name: mail\n").expect("mkdocs.yml");
    let path = dir.path().display().to_string();
    let (code, stdout, stderr) = run(&[&path, "--allow-no-manifests", "--format", "json"], "");
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(report["findings"], serde_json::json!([]));
    assert_eq!(report["summary"]["files"], 0);
    let (code, _, _) = run(&["-", "--allow-no-manifests"], "");
    assert_eq!(code, Some(0));
}

/// The README's commands are not affected: the examples still hold manifests.
#[test]
fn the_readme_commands_still_check_the_examples() {
    bin().args(["check", "examples/"]).assert().code(1);
    bin()
        .args([
            "check",
            "examples/kubernetes/clean",
            "examples/compose/clean",
            "examples/ansible",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no findings"));
}
