//! `iredmail-ports policy vap`: two ValidatingAdmissionPolicies with their bindings and
//! the params ConfigMap they read, as YAML for `kubectl apply -f -` or the chart.
//!
//! Two policies because a binding's `validationActions` cover every validation of its
//! policy: `iredmail-ports-exposure` (an internal or loopback catalogue port exposed by
//! a LoadBalancer, NodePort, externalIPs, hostPort or hostNetwork) gets `--action`;
//! `iredmail-ports-lifecycle` (deprecated ports, removed services, hostNetwork) only ever
//! warns, as `check` calls them warnings.

use serde_json::{Value, json};

use super::cel::{self, Validation};
use super::selector::LabelSelector;
use crate::catalogue::{Catalogue, PortEntry, Status};

/// The API server's own namespace, which no binding may include: a policy that denied
/// its pods could keep the control plane from starting.
const PROTECTED_NAMESPACE: &str = "kube-system";
pub const EXPOSURE_POLICY: &str = "iredmail-ports-exposure";
pub const LIFECYCLE_POLICY: &str = "iredmail-ports-lifecycle";
pub const PARAMS_NAME: &str = "iredmail-ports-catalogue";

/// What the exposure policy's binding does with a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// Refuse the object.
    Deny,
    /// Admit it with a warning to the client (kubectl prints it).
    Warn,
    /// Admit it and record the violation in the audit log.
    Audit,
}

impl Action {
    fn validation_action(self) -> &'static str {
        match self {
            Action::Deny => "Deny",
            Action::Warn => "Warn",
            Action::Audit => "Audit",
        }
    }
}

/// How to generate the objects.
#[derive(Debug, Clone)]
pub struct VapOptions {
    pub action: Action,
    /// Namespaces to judge; kube-system is excluded whatever it says.
    pub namespace_selector: LabelSelector,
    /// Where the params ConfigMap lives.
    pub params_namespace: String,
}

/// The resources the policies judge: Services and every workload kind, the ones whose
/// single object decides an exposure (tests hold this to `load::kinds`).
pub const MATCHED: &[(&str, &str, &[&str])] = &[
    ("", "v1", &["services", "pods", "replicationcontrollers"]),
    (
        "apps",
        "v1",
        &["deployments", "statefulsets", "daemonsets", "replicasets"],
    ),
    ("batch", "v1", &["jobs", "cronjobs"]),
];

/// The params ConfigMap, both policies and both bindings, in the order to apply them.
pub fn generate(catalogue: &Catalogue, options: &VapOptions) -> Vec<Value> {
    let exposure_action = options.action.validation_action();
    let lifecycle_action = match options.action {
        Action::Audit => "Audit",
        Action::Deny | Action::Warn => "Warn",
    };
    vec![
        params(catalogue, &options.params_namespace),
        policy(
            EXPOSURE_POLICY,
            "internal and loopback catalogue ports exposed outside the mail stack",
            &cel::exposure_validations(),
        ),
        binding(EXPOSURE_POLICY, exposure_action, options),
        policy(
            LIFECYCLE_POLICY,
            "deprecated catalogue ports, removed services and hostNetwork",
            &cel::lifecycle_validations(),
        ),
        binding(LIFECYCLE_POLICY, lifecycle_action, options),
    ]
}

/// The objects as one multi-document YAML stream.
pub fn to_yaml(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|object| serde_saphyr::to_string(object).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// The catalogue facts the CEL reads, keyed `<fact>.<port>.<protocol>`.
pub fn params(catalogue: &Catalogue, namespace: &str) -> Value {
    let mut data = serde_json::Map::new();
    for entry in &catalogue.ports {
        let key = format!("{}.{}", entry.port, entry.protocol);
        let mut put = |fact: &str, value: String| {
            data.insert(format!("{fact}.{key}"), Value::String(value));
        };
        put("scope", entry.scope.to_string());
        put("name", entry.name.clone());
        put("service", entry.service.clone());
        put("keep", keep_phrase(entry));
        match &entry.status {
            Status::Deprecated {
                replacement,
                reason,
            } => put(
                "deprecated",
                format!("deprecated in favour of {replacement} ({reason})"),
            ),
            Status::Removed {
                release,
                replacement,
            } => put(
                "removed",
                format!("was removed in iRedMail {release}; use {replacement}"),
            ),
            Status::Active | Status::Optional => {}
        }
    }
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": PARAMS_NAME,
            "namespace": namespace,
            "labels": labels(),
            "annotations": {"iredmail-ports.io/catalogue": catalogue.name},
        },
        "data": data,
    })
}

/// What the message says iRedMail does with the port, as `check` says it.
fn keep_phrase(entry: &PortEntry) -> String {
    if entry.listen.starts_with("127.") || entry.listen == "::1" {
        format!("iRedMail keeps it on {}", entry.listen)
    } else {
        format!("the catalogue allows it no wider than {}", entry.scope)
    }
}

fn labels() -> Value {
    json!({"app.kubernetes.io/name": "iredmail-ports", "app.kubernetes.io/component": "admission-policy"})
}

fn policy(name: &str, about: &str, validations: &[Validation]) -> Value {
    let resource_rules: Vec<Value> = MATCHED
        .iter()
        .map(|(group, version, resources)| {
            json!({
                "apiGroups": [group],
                "apiVersions": [version],
                "resources": resources,
                "operations": ["CREATE", "UPDATE"],
            })
        })
        .collect();
    let variables: Vec<Value> = cel::variables()
        .into_iter()
        .map(|v| json!({"name": v.name, "expression": v.expression}))
        .collect();
    let validations: Vec<Value> = validations
        .iter()
        .map(|v| {
            json!({
                "expression": v.expression,
                "messageExpression": v.message,
                "message": format!("iredmail-ports {}: see `iredmail-ports explain {}`", v.rule, v.rule),
                "reason": "Invalid",
            })
        })
        .collect();
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {
            "name": name,
            "labels": labels(),
            "annotations": {"iredmail-ports.io/judges": about},
        },
        "spec": {
            // A policy whose params are missing or whose CEL errs (or runs out of budget)
            // refuses rather than lets an unjudged object through.
            "failurePolicy": "Fail",
            "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "matchConstraints": {"resourceRules": resource_rules},
            "variables": variables,
            "validations": validations,
        },
    })
}

fn binding(policy: &str, action: &str, options: &VapOptions) -> Value {
    let selector = options.namespace_selector.to_json(&[(
        "kubernetes.io/metadata.name",
        "NotIn",
        &[PROTECTED_NAMESPACE],
    )]);
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": policy, "labels": labels()},
        "spec": {
            "policyName": policy,
            "validationActions": [action],
            "paramRef": {
                "name": PARAMS_NAME,
                "namespace": options.params_namespace,
                "parameterNotFoundAction": "Deny",
            },
            "matchResources": {"namespaceSelector": selector},
        },
    })
}
