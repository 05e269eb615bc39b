//! Hostile input and load stay bounded: a Compose port range is one finding per rule, not
//! one per port; joins of Services, Deployments and NetworkPolicies grow linearly; and a
//! playbook cannot make the tool read, or print, a file outside the directory checked.
//!
//! Every hostile input is generated here, in a temporary directory.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use assert_cmd::Command;
use iredmail_ports::model::{Exposure, Finding, Rule, Via};
use iredmail_ports::{Catalogue, Config, Input, check};

fn check_path(path: &Path) -> Vec<Finding> {
    let catalogue = Catalogue::embedded_default().expect("the embedded catalogue loads");
    check(
        &[Input::Path(path.to_path_buf())],
        &catalogue,
        &Config::default(),
    )
    .expect("the tree holds manifests")
    .findings
}

fn check_text(name: &str, text: String) -> Vec<Finding> {
    let catalogue = Catalogue::embedded_default().expect("the embedded catalogue loads");
    let input = Input::Text {
        name: name.to_string(),
        text,
    };
    check(&[input], &catalogue, &Config::default())
        .expect("the text is a manifest")
        .findings
}

fn text_report(path: &Path) -> String {
    let output = Command::cargo_bin("iredmail-ports")
        .expect("the binary is built")
        .args(["check", "--format", "text", "--fail-on", "never"])
        .arg(path)
        .output()
        .expect("the binary runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const CREDENTIALS: &str = "[default]\naws_access_key_id = AKIAHOSTILEEXAMPLE\n\
                           aws_secret_access_key = hostile/secret/key\n";

/// A playbook whose every reference leads out of the checked directory, directly, by
/// `..`, by an absolute path, to `/proc`, or through a symlink, plus one `src:` naming a
/// credentials file inside the tree.
fn playbook_reaching_outside(root: &Path) -> std::path::PathBuf {
    let outside = root.join("outside");
    let checked = root.join("checked");
    fs::create_dir_all(outside.join("project")).unwrap();
    fs::create_dir_all(checked.join("group_vars")).unwrap();
    fs::write(outside.join("credentials"), CREDENTIALS).unwrap();
    fs::write(outside.join("vars.yml"), "smtp_port: 2525\n").unwrap();
    fs::write(
        outside.join("tasks.yml"),
        "- community.docker.docker_container: {name: x, published_ports: ['3306:3306']}\n",
    )
    .unwrap();
    fs::write(
        outside.join("project/compose.yaml"),
        "services:\n  db:\n    image: mariadb\n    ports: ['3306:3306']\n",
    )
    .unwrap();
    symlink(outside.join("credentials"), checked.join("linked.yaml")).unwrap();
    symlink(outside.join("vars.yml"), checked.join("group_vars/all.yml")).unwrap();
    fs::write(checked.join("inside-credentials"), CREDENTIALS).unwrap();
    let absolute = outside.join("credentials");
    let playbook = format!(
        "- hosts: mail
  vars_files:
    - ../outside/vars.yml
  tasks:
    - kubernetes.core.k8s:
        src: {absolute}
    - kubernetes.core.k8s:
        src: ../../outside/credentials
    - kubernetes.core.k8s:
        src: /proc/self/environ
    - kubernetes.core.k8s:
        src: linked.yaml
    - kubernetes.core.k8s:
        src: inside-credentials
    - community.docker.docker_compose_v2:
        project_src: ../outside/project
    - include_tasks: ../outside/tasks.yml
",
        absolute = absolute.display()
    );
    fs::write(checked.join("site.yml"), playbook).unwrap();
    checked
}

#[test]
fn references_outside_the_checked_directory_are_named_and_never_read() {
    let root = tempfile::tempdir().unwrap();
    let checked = playbook_reaching_outside(root.path());
    let findings = check_path(&checked);
    let problems: Vec<(u32, &str)> = findings
        .iter()
        .filter(|f| f.rule == Rule::InvalidInput)
        .filter_map(|f| Some((f.location.as_ref()?.line, f.message.as_str())))
        .collect();
    let outside = |line: u32, reference: &str| {
        problems.iter().any(|(l, message)| {
            *l == line
                && message.contains(reference)
                && message.contains("leads outside")
                && message.contains("it is not read")
        })
    };
    let absolute = format!(
        "`src: {}`",
        root.path().join("outside/credentials").display()
    );
    assert!(
        outside(3, "`vars_files: ../outside/vars.yml`"),
        "{problems:#?}"
    );
    assert!(outside(6, &absolute), "{problems:#?}");
    assert!(
        outside(8, "`src: ../../outside/credentials`"),
        "{problems:#?}"
    );
    assert!(outside(10, "`src: /proc/self/environ`"), "{problems:#?}");
    assert!(outside(12, "`src: linked.yaml`"), "{problems:#?}");
    assert!(
        outside(16, "`project_src: ../outside/project`"),
        "{problems:#?}"
    );
    assert!(
        outside(17, "`include_tasks: ../outside/tasks.yml`"),
        "{problems:#?}"
    );
    let group_vars = problems
        .iter()
        .any(|(line, m)| *line == 1 && m.contains("group_vars/all.yml") && m.contains("not read"));
    assert!(group_vars, "{problems:#?}");
    // Nothing outside was judged: no 3306 of the outside Compose project or task file.
    assert!(
        findings.iter().all(|f| f.rule == Rule::InvalidInput),
        "{findings:#?}"
    );
    // The walk also finds `linked.yaml` (a symlink leading out): that is the walk's
    // business, but no finding may quote the credentials, and no frame show them.
    for finding in &findings {
        assert!(!finding.message.contains("AKIA"), "{finding:#?}");
    }
    let text = text_report(&checked);
    assert!(!text.contains("aws_access_key_id"), "{text}");
    assert!(!text.contains("AKIAHOSTILEEXAMPLE"), "{text}");
    assert!(!text.contains("hostile/secret"), "{text}");
}

#[test]
fn a_single_named_playbook_is_bounded_by_its_own_directory() {
    let root = tempfile::tempdir().unwrap();
    let checked = playbook_reaching_outside(root.path());
    let findings = check_path(&checked.join("site.yml"));
    let refused = findings
        .iter()
        .filter(|f| f.rule == Rule::InvalidInput && f.message.contains("leads outside"))
        .count();
    assert_eq!(refused, 7, "{findings:#?}");
    let text = text_report(&checked.join("site.yml"));
    assert!(!text.contains("aws_access_key_id"), "{text}");
}

/// Ten Compose services each publishing every port: 510 bytes that once made 655,310
/// findings.
fn compose_publishing_every_port(services: usize) -> String {
    let mut text = String::from("services:\n");
    for i in 0..services {
        writeln!(
            text,
            "  s{i}:\n    image: x\n    ports: ['1-65535:1-65535']"
        )
        .unwrap();
    }
    text
}

/// What each range publishing every port on every address is told, once per rule.
fn assert_one_finding_per_rule(findings: &[Finding], ranges: usize) {
    let count = |rule: Rule| findings.iter().filter(|f| f.rule == rule).count();
    assert_eq!(count(Rule::InternalPortExposed), ranges);
    assert_eq!(count(Rule::UnknownPort), ranges);
    assert_eq!(count(Rule::DeprecatedPort), ranges);
    assert_eq!(count(Rule::RemovedService), ranges);
    assert_eq!(findings.len(), 4 * ranges, "{findings:#?}");
    for finding in findings {
        assert_eq!(finding.port, Some(1), "{finding:#?}");
        assert!(finding.message.contains("1-65535"), "{finding:#?}");
    }
    let exposed = findings
        .iter()
        .find(|f| f.rule == Rule::InternalPortExposed)
        .unwrap();
    assert!(
        exposed.message.contains("MySQL/MariaDB 3306"),
        "{exposed:#?}"
    );
    let unknown = findings
        .iter()
        .find(|f| f.rule == Rule::UnknownPort)
        .unwrap();
    assert!(
        unknown.message.contains("65497 of those 65535 ports"),
        "{unknown:#?}"
    );
}

#[test]
fn a_compose_port_range_is_one_finding_per_rule() {
    let findings = check_text("compose.yaml", compose_publishing_every_port(10));
    assert_one_finding_per_rule(&findings, 10);
}

#[test]
fn an_ansible_port_range_is_one_finding_per_rule() {
    let mut playbook = String::from("- hosts: mail\n  tasks:\n");
    for i in 0..20 {
        writeln!(
            playbook,
            "    - community.docker.docker_container:\n        name: c{i}\n        \
             image: x\n        published_ports: ['1-65535:1-65535']"
        )
        .unwrap();
    }
    let findings = check_text("site.yml", playbook);
    assert_one_finding_per_rule(&findings, 20);
}

#[test]
fn a_range_names_only_the_catalogue_ports_inside_it() {
    let compose = "services:\n  web:\n    image: x\n    ports: ['3300-3310:3300-3310', \
                   '127.0.0.1:8000-8100:8000-8100', '2525-2600:25-100']\n";
    let findings = check_text("compose.yaml", compose.to_string());
    let summary: Vec<(Rule, u16, &str)> = findings
        .iter()
        .map(|f| (f.rule, f.port.unwrap_or(0), f.message.as_str()))
        .collect();
    let expected = [
        (
            Rule::InternalPortExposed,
            3300,
            "ports 3300-3310/TCP are reachable from outside the host through a port \
             published on all host addresses, and the range holds MySQL/MariaDB 3306 and \
             ClamAV clamd 3310, which the catalogue allows no wider than `internal`",
        ),
        (
            Rule::UnknownPort,
            3300,
            "ports 3300-3310/TCP are reachable from outside the host through a port \
             published on all host addresses, and 9 of those 11 ports are not iRedMail \
             ports (it also holds iRedMail's 3306, 3310)",
        ),
        (
            Rule::MissingPort,
            25,
            "Postfix SMTP is not offered on 25 from outside the host: it is published on \
             ports 2525-2600 of every host address instead; other mail servers deliver",
        ),
    ];
    for (rule, port, message) in expected {
        assert!(
            summary
                .iter()
                .any(|(r, p, m)| *r == rule && *p == port && m.starts_with(message)),
            "{rule:?} {port} {message}\n{summary:#?}"
        );
    }
    // Loopback-only publishing reaches no one: nothing about 8000-8100.
    assert!(summary.iter().all(|(_, p, _)| *p != 8000), "{summary:#?}");
}

/// `n` Deployments and `n` ClusterIP Services on the same selector in one namespace.
fn services_on_one_selector(n: usize) -> String {
    on_one_selector(n, false)
}

/// The same, with `n` NetworkPolicies on that selector too, each admitting 3306 from every
/// namespace.
fn policies_on_one_selector(n: usize) -> String {
    on_one_selector(n, true)
}

fn on_one_selector(n: usize, with_policies: bool) -> String {
    let mut docs = Vec::new();
    for i in 0..n {
        docs.push(format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d{i}, namespace: mail}}\n\
             spec:\n  selector: {{matchLabels: {{app: db}}}}\n  template:\n    metadata: \
             {{labels: {{app: db}}}}\n    spec:\n      containers:\n        - name: db\n          \
             image: mariadb\n          ports: [{{containerPort: 3306}}]\n"
        ));
    }
    for i in 0..n {
        docs.push(format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: mail}}\nspec:\n  \
             selector: {{app: db}}\n  ports: [{{port: 3306}}]\n"
        ));
    }
    for i in (0..n).filter(|_| with_policies) {
        docs.push(format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p{i}, \
             namespace: mail}}\nspec:\n  podSelector: {{matchLabels: {{app: db}}}}\n  \
             policyTypes: [Ingress]\n  ingress:\n    - from: [{{namespaceSelector: {{}}}}]\n      \
             ports: [{{port: 3306}}]\n"
        ));
    }
    docs.join("---\n")
}

#[test]
fn services_selecting_many_pods_give_short_findings() {
    let findings = check_text("objects.yaml", services_on_one_selector(300));
    let missing: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.rule == Rule::NetworkPolicyMissing)
        .collect();
    assert_eq!(missing.len(), 300, "{findings:#?}");
    for finding in missing {
        assert!(
            finding.message.ends_with(
                "no ingress NetworkPolicy selects Deployment/mail/d0, Deployment/mail/d1, \
                 Deployment/mail/d2, Deployment/mail/d3, Deployment/mail/d4 and 295 more; it \
                 belongs to the mail stack only"
            ),
            "{finding:#?}"
        );
    }
}

/// What keeps the joins linear: every Service and policy of one selector holds the same
/// set of pods, and every pod the same list of isolating policies, instead of a copy each
/// (n² ids). The findings stay one per Service or policy.
#[test]
fn services_and_policies_on_one_selector_share_one_set_of_pods() {
    let n = 300;
    let input = Input::Text {
        name: "objects.yaml".to_string(),
        text: policies_on_one_selector(n),
    };
    let inventory = iredmail_ports::inventory::build(iredmail_ports::load::load(&[input]));
    let services: Vec<&Exposure> = inventory
        .exposures
        .iter()
        .filter(|e| e.via == Via::ClusterIp)
        .collect();
    assert_eq!(services.len(), n);
    let shared = services[0].backends.key();
    assert_eq!(services[0].backends.len(), n);
    assert!(services.iter().all(|e| e.backends.key() == shared));
    assert_eq!(inventory.policies.len(), n);
    assert!(
        inventory
            .policies
            .iter()
            .all(|p| p.selected.key() == shared)
    );
    let first = inventory.isolating.of(0);
    assert_eq!(first, (0..n).collect::<Vec<_>>().as_slice());
    assert!((0..n).all(|id| std::ptr::eq(inventory.isolating.of(id), first)));
    // An unknown workload is isolated by nothing.
    assert!(inventory.isolating.of(n).is_empty());

    let findings = check_text("objects.yaml", policies_on_one_selector(n));
    assert_eq!(findings.len(), n, "{findings:#?}");
    for (i, finding) in findings.iter().enumerate() {
        assert_eq!(finding.rule, Rule::NetworkPolicyTooOpen, "{finding:#?}");
        assert_eq!(
            finding.message,
            format!(
                "NetworkPolicy/mail/p{i} admits MySQL/MariaDB 3306 of Deployment/mail/d0 from \
                 every namespace; it belongs to the mail stack only"
            )
        );
    }
}
