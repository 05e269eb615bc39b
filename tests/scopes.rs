//! One notion of "who reaches this port", read the same way by every rule: for MariaDB's
//! 3306 (an `internal` catalogue port) in each way Kubernetes and Compose let it be
//! reached, the one finding the check gives, its severity and the scope it names. An
//! internal port that reaches `cluster` is the same error in both kinds, whether a private
//! host address or a NetworkPolicy admitting another namespace brings it there.

use std::collections::BTreeMap;

use iredmail_ports::model::{Rule, Scope, Severity};
use iredmail_ports::{Catalogue, Config, Input, check};

use Rule::{InternalPortExposed, NetworkPolicyMissing, NetworkPolicyTooOpen};
use Scope::{Cluster, External};
use Severity::{Error, Warning};

/// The pods every Kubernetes case adds to: MariaDB in namespace `mail`.
const DATABASE: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: mail}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: mail}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
        - name: mariadb
          image: mariadb:10.11
          ports:
            - {name: mysql, containerPort: 3306}
"#;

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: mail}\nspec:\n  selector: {app: db}\n  ports: [{port: 3306}]";

/// A NetworkPolicy selecting the database pods that admits 3306 from `from`.
fn policy(from: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: db, namespace: mail}}\nspec:\n  podSelector: {{matchLabels: {{app: db}}}}\n  policyTypes: [Ingress]\n  ingress:\n    - from: [{from}]\n      ports: [{{port: 3306}}]"
    )
}

type Verdict = Option<(Rule, Severity, Scope)>;

fn kubernetes_cases() -> Vec<(&'static str, String, Verdict)> {
    let with_service = |extra: String| format!("{SERVICE}\n---\n{extra}");
    vec![
        (
            "containerPort only, no policy: the pod network is flat",
            String::new(),
            Some((NetworkPolicyMissing, Warning, Cluster)),
        ),
        (
            "ClusterIP Service, no policy",
            SERVICE.to_string(),
            Some((NetworkPolicyMissing, Warning, Cluster)),
        ),
        (
            "policy admitting the own namespace",
            with_service(policy("{podSelector: {}}")),
            None,
        ),
        (
            "policy admitting the own namespace by name",
            with_service(policy(
                "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: mail}}}",
            )),
            None,
        ),
        (
            "policy admitting another namespace by name, not in the input",
            with_service(policy(
                "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}",
            )),
            Some((InternalPortExposed, Error, Cluster)),
        ),
        (
            "policy admitting namespaces by a label no namespace in the input has",
            with_service(policy("{namespaceSelector: {matchLabels: {team: ops}}}")),
            Some((InternalPortExposed, Error, Cluster)),
        ),
        (
            "policy admitting every namespace but its own: kube-system and default always exist",
            with_service(policy(
                "{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [mail]}]}}",
            )),
            Some((InternalPortExposed, Error, Cluster)),
        ),
        (
            "policy admitting a private ipBlock",
            with_service(policy("{ipBlock: {cidr: 10.0.0.0/8}}")),
            Some((InternalPortExposed, Error, Cluster)),
        ),
        (
            "policy admitting every namespace",
            with_service(policy("{namespaceSelector: {}}")),
            Some((NetworkPolicyTooOpen, Error, Cluster)),
        ),
        (
            "policy admitting any address",
            with_service(policy("{ipBlock: {cidr: 0.0.0.0/0}}")),
            Some((NetworkPolicyTooOpen, Error, External)),
        ),
        (
            "LoadBalancer Service, isolated pods",
            format!(
                "{}\n---\n{}",
                SERVICE.replace("spec:\n", "spec:\n  type: LoadBalancer\n"),
                policy("{podSelector: {}}")
            ),
            Some((InternalPortExposed, Error, External)),
        ),
    ]
}

fn compose_cases() -> Vec<(&'static str, &'static str, Verdict)> {
    vec![
        ("expose only", "expose: [\"3306\"]", None),
        (
            "published on loopback",
            "ports: [\"127.0.0.1:3306:3306\"]",
            None,
        ),
        (
            "published on a private host address",
            "ports: [\"10.0.0.5:3306:3306\"]",
            Some((InternalPortExposed, Error, Cluster)),
        ),
        (
            "published on all host addresses",
            "ports: [\"3306:3306\"]",
            Some((InternalPortExposed, Error, External)),
        ),
    ]
}

/// The findings about 3306, as (rule, severity, scope).
fn verdicts(name: &str, text: String) -> Vec<(Rule, Severity, Option<Scope>)> {
    let report = check(
        &[Input::Text {
            name: name.to_string(),
            text,
        }],
        &Catalogue::embedded_default().expect("embedded catalogue"),
        &Config::default(),
    )
    .expect("something to check");
    report
        .findings
        .iter()
        .filter(|f| f.port == Some(3306))
        .map(|f| (f.rule, f.severity, f.scope))
        .collect()
}

fn expected(verdict: &Verdict) -> Vec<(Rule, Severity, Option<Scope>)> {
    verdict
        .iter()
        .map(|(rule, severity, scope)| (*rule, *severity, Some(*scope)))
        .collect()
}

#[test]
fn each_way_to_reach_an_internal_port_gives_one_finding_at_its_scope() {
    let mut failures = Vec::new();
    for (case, objects, verdict) in kubernetes_cases() {
        let actual = verdicts("manifests.yaml", format!("{DATABASE}---\n{objects}"));
        if actual != expected(&verdict) {
            failures.push(format!(
                "Kubernetes, {case}: expected {verdict:?}, got {actual:?}"
            ));
        }
    }
    for (case, publish, verdict) in compose_cases() {
        let compose = format!("services:\n  db:\n    image: mariadb:10.11\n    {publish}\n");
        let actual = verdicts("compose.yaml", compose);
        if actual != expected(&verdict) {
            failures.push(format!(
                "Compose, {case}: expected {verdict:?}, got {actual:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `network-policy-missing` is a warning by design (the gap is the missing policy, not a
/// publish); every deliberate widening of an internal port is `internal-port-exposed`.
#[test]
fn the_same_scope_is_the_same_severity_in_every_input_kind() {
    fn exposed(verdicts: impl Iterator<Item = Verdict>) -> BTreeMap<Scope, Severity> {
        verdicts
            .flatten()
            .filter(|(rule, _, _)| *rule == InternalPortExposed)
            .map(|(_, severity, scope)| (scope, severity))
            .collect()
    }
    let kubernetes = exposed(kubernetes_cases().into_iter().map(|(_, _, v)| v));
    let compose = exposed(compose_cases().into_iter().map(|(_, _, v)| v));
    assert_eq!(kubernetes, compose);
    assert_eq!(
        kubernetes,
        BTreeMap::from([(Cluster, Error), (External, Error)])
    );
}
