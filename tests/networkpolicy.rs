//! Table-driven NetworkPolicy semantics: for each feature, the policies added to one
//! fixed deployment and the scope each port of its ClusterIP Service ends up with.
//!
//! The deployment: pods `app: db, tier: backend` in namespace `mail` listening on 3306
//! (`mysql`) and 9104 (`metrics`), a ClusterIP Service for both, and namespaces `mail`
//! (`team: mail`) and `monitoring` (`team: ops`).

use iredmail_ports::model::{Isolation, Scope};
use iredmail_ports::{Input, inventory, load};

const BASE: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: mail, labels: {team: mail}}
---
apiVersion: v1
kind: Namespace
metadata: {name: monitoring, labels: {team: ops}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: mail}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db, tier: backend}}
    spec:
      containers:
        - name: mariadb
          image: mariadb:10.11
          ports:
            - {name: mysql, containerPort: 3306}
            - {name: metrics, containerPort: 9104}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: mail}
spec:
  selector: {app: db}
  ports:
    - {name: mysql, port: 3306}
    - {name: metrics, port: 9104}
"#;

use Scope::{Cluster, Internal, Loopback};

/// (case, policies added to BASE, scope of 3306, scope of 9104)
const CASES: &[(&str, &str, Scope, Scope)] = &[
    ("no policy: open to the cluster", "", Cluster, Cluster),
    (
        "deny-all is isolation, not absence",
        "spec: {podSelector: {}, policyTypes: [Ingress]}",
        Loopback,
        Loopback,
    ),
    (
        "policyTypes absent: Ingress is implied",
        "spec:\n  podSelector: {}\n  ingress:\n    - from: [{podSelector: {}}]\n      ports: [{port: 3306}]",
        Internal,
        Loopback,
    ),
    (
        "policyTypes [Egress] only: ingress stays open",
        "spec: {podSelector: {}, policyTypes: [Egress]}",
        Cluster,
        Cluster,
    ),
    (
        "matchLabels that select other pods",
        "spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}",
        Cluster,
        Cluster,
    ),
    (
        "matchExpressions In",
        "spec:\n  podSelector: {matchExpressions: [{key: app, operator: In, values: [db, cache]}]}\n  policyTypes: [Ingress]",
        Loopback,
        Loopback,
    ),
    (
        "matchExpressions NotIn excludes the pods",
        "spec:\n  podSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [backend]}]}\n  policyTypes: [Ingress]",
        Cluster,
        Cluster,
    ),
    (
        "matchExpressions Exists",
        "spec:\n  podSelector: {matchExpressions: [{key: tier, operator: Exists}]}\n  policyTypes: [Ingress]",
        Loopback,
        Loopback,
    ),
    (
        "matchExpressions DoesNotExist excludes the pods",
        "spec:\n  podSelector: {matchExpressions: [{key: tier, operator: DoesNotExist}]}\n  policyTypes: [Ingress]",
        Cluster,
        Cluster,
    ),
    (
        "namespaceSelector of another namespace",
        "spec:\n  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {team: ops}}}]}]",
        Cluster,
        Cluster,
    ),
    (
        "namespaceSelector {} admits every namespace",
        "spec:\n  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {}}]}]",
        Cluster,
        Cluster,
    ),
    (
        "namespaceSelector by kubernetes.io/metadata.name of its own namespace",
        "spec:\n  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: mail}}}]}]",
        Internal,
        Internal,
    ),
    (
        "namespaceSelector and podSelector in one peer",
        "spec:\n  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {team: ops}}, podSelector: {matchLabels: {app: prometheus}}}]}]",
        Cluster,
        Cluster,
    ),
    (
        "ipBlock 0.0.0.0/0 with except",
        "spec:\n  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]}]",
        Cluster,
        Cluster,
    ),
    (
        "ipBlock of a private network",
        "spec:\n  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]",
        Cluster,
        Cluster,
    ),
    (
        "port by name, resolved per pod",
        "spec:\n  podSelector: {}\n  ingress: [{from: [{podSelector: {}}], ports: [{port: mysql}]}]",
        Internal,
        Loopback,
    ),
    (
        "endPort range",
        "spec:\n  podSelector: {}\n  ingress: [{from: [{podSelector: {}}], ports: [{port: 3300, endPort: 3310}]}]",
        Internal,
        Loopback,
    ),
    (
        "protocol UDP does not admit TCP",
        "spec:\n  podSelector: {}\n  ingress: [{from: [{podSelector: {}}], ports: [{port: 3306, protocol: UDP}]}]",
        Loopback,
        Loopback,
    ),
    (
        "an empty rule admits everything",
        "spec:\n  podSelector: {}\n  ingress: [{}]",
        Cluster,
        Cluster,
    ),
    (
        "several policies are a union",
        "spec:\n  podSelector: {}\n  ingress: [{from: [{podSelector: {}}], ports: [{port: 3306}]}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: scrape, namespace: mail}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {team: ops}}}], ports: [{port: metrics}]}]",
        Internal,
        Cluster,
    ),
];

fn scopes(policies: &str) -> (Vec<(u16, Scope)>, Vec<Isolation>) {
    let mut text = BASE.to_string();
    if !policies.is_empty() {
        text.push_str(&format!(
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: case, namespace: mail}}\n{policies}\n"
        ));
    }
    let loaded = load::load(&[Input::Text {
        name: "case.yaml".into(),
        text,
    }]);
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let inventory = inventory::build(loaded);
    let exposures = inventory
        .exposures
        .iter()
        .filter(|e| e.object == "Service/mail/db");
    (
        exposures.clone().map(|e| (e.target, e.scope)).collect(),
        exposures.map(|e| e.isolation).collect(),
    )
}

#[test]
fn each_networkpolicy_feature_gives_the_documented_scope() {
    let mut failures = Vec::new();
    for (case, policies, mysql, metrics) in CASES {
        let (actual, _) = scopes(policies);
        let expected = vec![(3306, *mysql), (9104, *metrics)];
        if actual != expected {
            failures.push(format!("{case}: expected {expected:?}, got {actual:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_policy_in_another_namespace_does_not_isolate() {
    let (actual, isolation) = scopes(
        "spec: {podSelector: {}, policyTypes: [Ingress]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: elsewhere, namespace: monitoring}\nspec: {podSelector: {}, policyTypes: [Ingress]}",
    );
    assert_eq!(actual, [(3306, Loopback), (9104, Loopback)]);
    assert_eq!(isolation, [Isolation::Isolated, Isolation::Isolated]);
    let (actual, isolation) = scopes(
        "spec: {podSelector: {matchLabels: {app: web}}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: elsewhere, namespace: monitoring}\nspec: {podSelector: {}, policyTypes: [Ingress]}",
    );
    assert_eq!(actual, [(3306, Cluster), (9104, Cluster)]);
    assert_eq!(isolation, [Isolation::Unisolated, Isolation::Unisolated]);
}
