//! The Ansible collection `iredmail.ports` (ansible/collections/ansible_collections/iredmail/ports)
//! driven by real tools from the venv of `scripts/python-tools.sh`: `ansible-playbook` runs
//! tests/ansible_collection/site.yml, every case in one play, with the freshly built binary
//! found on PATH (as a pip install puts it), normally and in check mode with `--diff`;
//! ansible-lint runs the collection's rule; pytest runs the action plugins' unit tests;
//! `ansible-galaxy collection build` makes the tarball.

// Shared with tests/cluster.rs, which uses the helpers this file does not.
#[allow(dead_code)]
#[path = "common/fake_api.rs"]
mod fake_api;
#[path = "common/tools.rs"]
mod tools;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use fake_api::{Cluster, FakeApi, TOKEN};
use tools::tools_bin;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn collection() -> PathBuf {
    root().join("ansible/collections/ansible_collections/iredmail/ports")
}

fn cases() -> PathBuf {
    root().join("tests/ansible_collection")
}

/// A private home with a bin directory that holds `iredmail-ports` (a link to the binary
/// cargo built), put first on PATH: the modules find it there as they would find a pip
/// install, without the `binary` option.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().expect("temp dir");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin dir");
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_iredmail-ports"),
            bin.join("iredmail-ports"),
        )
        .expect("link the binary");
        Home { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A tool of the venv with Ansible's and the binary's environment made private.
    fn command(&self, tool: &str) -> Command {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![self.path().join("bin")];
        dirs.extend(std::env::split_paths(&path));
        let mut command = Command::new(tools_bin().join(tool));
        command
            .env("PATH", std::env::join_paths(dirs).expect("PATH"))
            .env("HOME", self.path())
            .env("ANSIBLE_HOME", self.path().join(".ansible"))
            .env("ANSIBLE_CONFIG", self.path().join("ansible.cfg"))
            .env(
                "ANSIBLE_COLLECTIONS_PATH",
                root().join("ansible/collections"),
            )
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_FORCE_COLOR", "0")
            .env("ANSIBLE_STDOUT_CALLBACK", "default")
            .env("ANSIBLE_CALLBACK_RESULT_FORMAT", "json")
            .env("ANSIBLE_LOCALHOST_WARNING", "false")
            .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "false")
            .env("PYTHONWARNINGS", "ignore")
            .env_remove("KUBECONFIG")
            .env_remove("K8S_AUTH_KUBECONFIG")
            .env_remove("K8S_AUTH_CONTEXT")
            .env_remove("IREDMAIL_PORTS_BINARY");
        command
    }
}

/// One task's outcome in `ansible-playbook -v` output: `ok`, `fatal` (ignored or not) and
/// its result as JSON.
#[derive(Debug)]
struct TaskResult {
    status: String,
    result: Value,
}

/// The results by task name, from the default callback's `TASK [name]` headers and its
/// `ok: [localhost] => {…}` / `fatal: [localhost]: FAILED! => {…}` lines; a result that
/// spans lines (debug's) is read until it parses.
fn task_results(stdout: &str) -> BTreeMap<String, TaskResult> {
    let mut results = BTreeMap::new();
    let mut task = String::new();
    let mut lines = stdout.lines();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("TASK [") {
            task = rest.split("] ").next().unwrap_or(rest).to_string();
            continue;
        }
        let Some((head, json_text)) = line.split_once(" => ") else {
            continue;
        };
        let status = match head {
            "ok: [localhost]" => "ok",
            "changed: [localhost]" => "changed",
            "fatal: [localhost]: FAILED!" => "fatal",
            _ => continue,
        };
        let mut text = json_text.to_string();
        let result = loop {
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                break value;
            }
            let more = lines
                .next()
                .unwrap_or_else(|| panic!("unterminated result of {task}: {text}"));
            text.push('\n');
            text.push_str(more);
        };
        results.insert(
            task.clone(),
            TaskResult {
                status: status.to_string(),
                result,
            },
        );
    }
    results
}

/// A cluster with MariaDB behind a LoadBalancer in namespace `mail`.
fn cluster() -> Cluster {
    Cluster {
        objects: vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}}),
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "mariadb", "namespace": "mail"},
                "spec": {"type": "LoadBalancer", "selector": {"app": "mariadb"},
                         "ports": [{"name": "mysql", "port": 3306, "protocol": "TCP"}]}
            }),
        ],
        ..Cluster::default()
    }
}

struct PlayRun {
    output: Output,
    results: BTreeMap<String, TaskResult>,
    reports: PathBuf,
    stdout: String,
}

fn run_site(home: &Home, extra: &[&str]) -> PlayRun {
    let api = FakeApi::start(cluster());
    let kubeconfig = api.kubeconfig(home.path(), TOKEN);
    let reports = home.path().join("reports");
    let output = home
        .command("ansible-playbook")
        .arg("-v")
        .args(extra)
        .arg("site.yml")
        .arg("-e")
        .arg(format!("report_dir={}", reports.display()))
        .arg("-e")
        .arg(format!("kubeconfig={}", kubeconfig.display()))
        .current_dir(cases())
        .output()
        .expect("run ansible-playbook");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    PlayRun {
        results: task_results(&stdout),
        output,
        reports,
        stdout,
    }
}

impl PlayRun {
    fn task(&self, name: &str) -> &TaskResult {
        self.results.get(name).unwrap_or_else(|| {
            panic!(
                "no result for task {name:?}:\n{}\n{}",
                self.stdout,
                String::from_utf8_lossy(&self.output.stderr)
            )
        })
    }

    /// `file:line:column rule port object` of each finding the task returned.
    fn findings(&self, name: &str) -> Vec<String> {
        let field = |v: &Value| match v {
            Value::Null => "-".to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        self.task(name).result["findings"]
            .as_array()
            .unwrap_or_else(|| panic!("no findings in {name}: {:?}", self.task(name)))
            .iter()
            .map(|f| {
                format!(
                    "{}:{}:{} {} {} {}",
                    field(&f["file"]),
                    field(&f["line"]),
                    field(&f["column"]),
                    field(&f["rule"]),
                    field(&f["port"]),
                    field(&f["object"])
                )
            })
            .collect()
    }

    fn msg(&self, name: &str) -> &str {
        self.task(name).result["msg"].as_str().unwrap_or_default()
    }
}

const MARIADB_PUBLIC: &str = "MySQL/MariaDB 3306 is reachable from outside the host through a port published on all host addresses; iRedMail keeps it on 127.0.0.1";
const MARIADB_LOADBALANCER: &str = "MySQL/MariaDB 3306 is reachable from outside the cluster through a LoadBalancer Service; iRedMail keeps it on 127.0.0.1";

/// What every run of site.yml gives, in check mode too: the verdicts, the findings at the
/// playbook's own lines, the failure texts. Only the report tasks differ (`reports`).
fn assert_the_cases(run: &PlayRun, reports: Reports) {
    let status = |name: &str| run.task(name).status.as_str();

    assert_eq!(status("Bad compose definition"), "fatal");
    assert_eq!(
        run.msg("Bad compose definition"),
        format!(
            "iredmail-ports: 1 finding at or above error\n\
             site.yml:28:19: error[internal-port-exposed]: {MARIADB_PUBLIC} (compose/definition/mariadb)"
        )
    );
    assert_eq!(
        run.findings("Bad compose definition"),
        ["site.yml:28:19 internal-port-exposed 3306 compose/definition/mariadb"]
    );
    assert_eq!(run.task("Bad compose definition").result["passed"], false);
    assert_eq!(run.task("Bad compose definition").result["changed"], false);

    let clean = &run.task("Clean compose definition");
    assert_eq!(clean.status, "ok");
    assert_eq!(clean.result["changed"], false);
    assert_eq!(clean.result["passed"], true);
    assert_eq!(clean.result["findings"], json!([]));

    // fail_on: never with register: the play's own assert reads the findings.
    let never = run.task("Findings registered without failing");
    assert_eq!(never.status, "ok");
    assert_eq!(never.result["passed"], true);
    assert_eq!(
        run.findings("Findings registered without failing"),
        ["site.yml:48:19 internal-port-exposed 3306 compose/maildb/mariadb"]
    );
    assert_eq!(never.result["findings"][0]["message"], MARIADB_PUBLIC);
    assert_eq!(never.result["findings"][0]["suppressed"], Value::Null);
    assert_eq!(
        status("The registered findings are there for the play"),
        "ok"
    );

    assert_eq!(status("Kubernetes directory"), "fatal");
    assert_eq!(
        run.msg("Kubernetes directory"),
        format!(
            "iredmail-ports: 1 finding at or above error\n\
             k8s/database.yaml:13:7: error[internal-port-exposed]: {MARIADB_LOADBALANCER} (Service/mail/mariadb)"
        )
    );

    assert_eq!(status("Inline Kubernetes objects"), "fatal");
    assert_eq!(
        run.findings("Inline Kubernetes objects"),
        ["site.yml:81:25 internal-port-exposed 389 Service/mail/ldap"]
    );

    assert_eq!(status("Template rendered first"), "fatal");
    assert_eq!(
        run.findings("Template rendered first"),
        ["templates/compose.yml.j2:6:9 internal-port-exposed 3306 compose/definition/mariadb"]
    );
    assert_eq!(status("Template rendered clean"), "ok");
    assert_eq!(
        run.task("Template rendered clean").result["findings"],
        json!([])
    );

    // 465 and 993 meet submission and IMAP under implicit-tls; the default catalogue
    // wants 587 and 143 and warns on the two.
    let implicit = run.task("Implicit TLS catalogue by name");
    assert_eq!(implicit.status, "ok");
    assert_eq!(implicit.result["catalogue"], "iredmail-implicit-tls");
    assert_eq!(status("Default catalogue on implicit TLS"), "fatal");
    assert_eq!(
        run.findings("Default catalogue on implicit TLS"),
        [
            "site.yml:17:15 deprecated-port 465 compose/definition/iredmail",
            "site.yml:18:15 deprecated-port 993 compose/definition/iredmail",
            "-:-:- missing-port 143 compose/definition",
            "-:-:- missing-port 587 compose/definition",
        ]
    );
    assert!(
        run.msg("Default catalogue on implicit TLS")
            .starts_with("iredmail-ports: 4 findings at or above warning\nsite.yml:17:15: warning[deprecated-port]: Postfix SMTPS 465"),
        "{}",
        run.msg("Default catalogue on implicit TLS")
    );

    // The first report task writes both files (in check mode: would write them); the
    // second finds them as they are, except in check mode, where nothing was written.
    let written = [
        run.reports.join("ports.sarif").display().to_string(),
        run.reports.join("ports.xml").display().to_string(),
    ];
    assert_eq!(status("Reports written"), "changed");
    assert_eq!(
        run.task("Reports written").result["reports"],
        json!(written)
    );
    assert_eq!(run.task("Reports written").result["passed"], true);
    let unchanged = run.task("Reports unchanged");
    match reports {
        Reports::Written => {
            assert_eq!(unchanged.status, "ok");
            assert_eq!(unchanged.result.get("reports"), None);
        }
        Reports::CheckMode => {
            assert_eq!(unchanged.status, "changed");
            assert_eq!(unchanged.result["reports"], json!(written));
        }
    }

    let debug = |name: &str| run.task(name).result["msg"].clone();
    assert_eq!(
        debug("Firewall ports of the default catalogue"),
        json!([
            "25/tcp", "80/tcp", "110/tcp", "143/tcp", "443/tcp", "587/tcp"
        ])
    );
    assert_eq!(
        debug("Firewall ports of the implicit TLS catalogue with SSH"),
        json!([
            "22/tcp", "25/tcp", "80/tcp", "110/tcp", "143/tcp", "443/tcp", "465/tcp", "587/tcp",
            "993/tcp", "995/tcp"
        ])
    );
    assert_eq!(
        debug("Required and internal ports of the catalogue"),
        json!({"required": [25, 143, 443, 587], "internal": [389, 3306]})
    );

    assert_eq!(status("Live cluster"), "fatal");
    assert_eq!(
        run.findings("Live cluster"),
        ["Service/mail/mariadb:12:5 internal-port-exposed 3306 Service/mail/mariadb"]
    );
    assert_eq!(
        run.msg("Live cluster"),
        format!(
            "iredmail-ports: 1 finding at or above error\n\
             Service/mail/mariadb:12:5: error[internal-port-exposed]: {MARIADB_LOADBALANCER} (Service/mail/mariadb)"
        )
    );

    assert_eq!(status("Missing binary"), "fatal");
    assert_eq!(
        run.msg("Missing binary"),
        "binary /nonexistent/iredmail-ports: no such file"
    );
    assert_eq!(status("Wrong argument"), "fatal");
    assert_eq!(
        run.msg("Wrong argument"),
        "value of fail_on must be one of: error, warning, note, never, got: sometimes"
    );

    // The last check fails the play: nothing after it runs, ansible-playbook exits 2.
    assert_eq!(status("A failing check stops the play"), "fatal");
    assert!(!run.results.contains_key("Never reached"));
    assert_eq!(run.output.status.code(), Some(2), "{}", run.stdout);
    let recap = match reports {
        Reports::Written => "ok=18   changed=1 ",
        Reports::CheckMode => "ok=18   changed=2 ",
    };
    assert!(
        run.stdout.contains(&format!(
            "localhost                  : {recap}   unreachable=0    failed=1    skipped=0    rescued=0    ignored=8"
        )),
        "{}",
        run.stdout
    );
}

/// Whether a run writes the report files or, in check mode, only says it would.
#[derive(Clone, Copy)]
enum Reports {
    Written,
    CheckMode,
}

#[test]
fn the_check_module_fails_plays_on_findings_and_returns_them() {
    let home = Home::new();
    let run = run_site(&home, &[]);
    assert_the_cases(&run, Reports::Written);
    let sarif: Value = serde_json::from_str(
        &std::fs::read_to_string(run.reports.join("ports.sarif")).expect("the SARIF report"),
    )
    .expect("SARIF is JSON");
    assert_eq!(
        sarif["runs"][0]["results"][0]["ruleId"],
        "internal-port-exposed"
    );
    let junit = std::fs::read_to_string(run.reports.join("ports.xml")).expect("the JUnit report");
    assert!(junit.starts_with("<?xml"), "{junit}");
    assert!(junit.contains("internal-port-exposed"), "{junit}");
}

/// `--check` runs the same check with the same verdicts; the report files are not
/// written, and `--diff` shows them as they would be.
#[test]
fn check_mode_gives_the_same_verdicts_and_diffs_the_reports() {
    let home = Home::new();
    let run = run_site(&home, &["--check", "--diff"]);
    assert_the_cases(&run, Reports::CheckMode);
    assert!(!run.reports.exists(), "check mode wrote reports");
    let sarif = run.reports.join("ports.sarif");
    for header in [
        format!("--- before: {} (absent)", sarif.display()),
        format!("+++ after: {}", sarif.display()),
        format!("+++ after: {}", run.reports.join("ports.xml").display()),
    ] {
        assert!(
            run.stdout.contains(&header),
            "{header} missing:\n{}",
            run.stdout
        );
    }
    assert!(run.stdout.contains("+  \"$schema\""), "{}", run.stdout);
}

/// Without the binary on PATH, beside Python or in `binary`, the task says where it
/// looked and how to install it.
#[test]
fn a_binary_found_nowhere_fails_with_the_install_hint() {
    let home = Home::new();
    std::fs::remove_file(home.path().join("bin/iredmail-ports")).expect("unlink");
    let playbook = home.path().join("nowhere.yml");
    std::fs::write(
        &playbook,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: No binary\n      iredmail.ports.check:\n        src: .\n",
    )
    .expect("write the playbook");
    let output = home
        .command("ansible-playbook")
        .arg("-v")
        .arg(&playbook)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run ansible-playbook");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let results = task_results(&stdout);
    let result = &results.get("No binary").expect("the task ran").result;
    let venv_bin = tools_bin();
    assert_eq!(
        result["msg"],
        format!(
            "iredmail-ports not found (looked in PATH, {}): install it with `pip install iredmail-ports` or set the binary option to its path",
            venv_bin.display()
        )
    );
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn ansible_lint_flags_the_task_that_publishes_an_internal_port() {
    let home = Home::new();
    let rules = collection().join("extensions/ansible-lint");
    let output = home
        .command("ansible-lint")
        .args(["--offline", "--nocolor", "--format", "pep8", "-r"])
        .arg(&rules)
        .arg("site.yml")
        .current_dir(cases().join("lint"))
        .env(
            "IREDMAIL_PORTS_BINARY",
            env!("CARGO_BIN_EXE_iredmail-ports"),
        )
        .output()
        .expect("run ansible-lint");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [format!(
            "site.yml:6: iredmail-ports: {MARIADB_PUBLIC} (line 11, compose/mail-stack/mariadb)"
        )],
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn the_action_plugins_pass_their_unit_tests() {
    let home = Home::new();
    let output = home
        .command("python")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"])
        .current_dir(collection())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" passed"), "{stdout}");
}

/// `ansible-galaxy collection build` makes the tarball, at the crate's version, with the
/// plugins and without test output.
#[test]
fn the_collection_builds_at_the_crates_version() {
    let home = Home::new();
    let galaxy = std::fs::read_to_string(collection().join("galaxy.yml")).expect("galaxy.yml");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        galaxy.lines().any(|l| l == format!("version: {version}")),
        "galaxy.yml is not at {version}"
    );
    let output = home
        .command("ansible-galaxy")
        .args(["collection", "build", "--output-path"])
        .arg(home.path())
        .arg(collection())
        .output()
        .expect("run ansible-galaxy");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tarball = home.path().join(format!("iredmail-ports-{version}.tar.gz"));
    let listing = Command::new("tar")
        .arg("tzf")
        .arg(&tarball)
        .output()
        .expect("run tar");
    let files = String::from_utf8_lossy(&listing.stdout);
    for file in [
        "MANIFEST.json",
        "meta/runtime.yml",
        "plugins/action/check.py",
        "plugins/action/cluster.py",
        "plugins/modules/check.py",
        "plugins/filter/ports.py",
        "extensions/ansible-lint/iredmail_ports_rule.py",
    ] {
        assert!(files.lines().any(|l| l == file), "{file} not in:\n{files}");
    }
    assert!(!files.contains("__pycache__"), "{files}");
}
