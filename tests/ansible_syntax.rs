//! The shipped example playbook and every Ansible fixture pass real
//! `ansible-playbook --syntax-check`, so what iredmail-ports reads is what Ansible runs:
//! module names resolve (FQCN and short), arguments sit where Ansible expects them, roles
//! are found. `scripts/python-tools.sh` installs the `ansible` bundle (ansible-core with
//! the community.docker and kubernetes.core collections) from PyPI on first use.

#[path = "common/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use iredmail_ports::{Catalogue, Config, Input, check};
use tools::tools_bin;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn syntax_check(playbooks: &[PathBuf], home: &Path) -> Output {
    Command::new(tools_bin().join("ansible-playbook"))
        .arg("--syntax-check")
        .args(playbooks)
        .current_dir(root())
        // A private home: no user configuration, collections or temp files leak in.
        .env("ANSIBLE_HOME", home)
        .env("ANSIBLE_CONFIG", home.join("ansible.cfg"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_LOCALHOST_WARNING", "false")
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "false")
        .output()
        .expect("run ansible-playbook")
}

fn playbooks() -> Vec<PathBuf> {
    let mut playbooks = vec![root().join("examples/ansible/site.yml")];
    let fixtures = std::fs::read_dir(root().join("tests/fixtures/ansible")).expect("fixtures");
    let mut cases: Vec<PathBuf> = fixtures
        .flatten()
        .map(|case| case.path().join("site.yml"))
        .filter(|playbook| playbook.is_file())
        .collect();
    cases.sort();
    playbooks.extend(cases);
    playbooks
}

#[test]
fn the_example_and_the_fixtures_pass_ansible_syntax_check() {
    let home = tempfile::tempdir().expect("temp dir");
    let playbooks = playbooks();
    assert!(playbooks.len() >= 8, "playbooks are missing: {playbooks:?}");
    let output = syntax_check(&playbooks, home.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "ansible-playbook --syntax-check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for playbook in &playbooks {
        let named = format!("playbook: {}", playbook.display());
        assert!(stdout.contains(&named), "{named} not checked:\n{stdout}");
    }
}

/// The check above means something only if a wrong module name fails it: without the
/// collections, `community.docker.docker_container` would not resolve either.
#[test]
fn a_misspelt_module_fails_ansible_syntax_check() {
    let home = tempfile::tempdir().expect("temp dir");
    let playbook = home.path().join("broken.yml");
    std::fs::write(
        &playbook,
        "- hosts: all\n  tasks:\n    - community.docker.docker_containr:\n        name: x\n",
    )
    .expect("write playbook");
    let output = syntax_check(&[playbook], home.path());
    assert!(!output.status.success(), "a misspelt module passed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("docker_containr"),
        "the error does not name the module:\n{stderr}"
    );
}

/// What passes Ansible's check is also clean for iredmail-ports, and is really read: the
/// container and both Kubernetes objects count.
#[test]
fn the_example_playbook_has_no_findings() {
    let catalogue = Catalogue::embedded_default().expect("embedded catalogue");
    let input = Input::Path(root().join("examples/ansible/site.yml"));
    let report = check(&[input], &catalogue, &Config::default()).expect("a playbook");
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.summary.objects, 3);
}
