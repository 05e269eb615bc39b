//! `--format policyreport`: wg-policy `wgpolicyk8s.io/v1alpha2` reports, as Kyverno,
//! Kubewarden, Trivy Operator and Policy Reporter read them. One `PolicyReport` per
//! namespace holding the findings about its objects; one `ClusterPolicyReport` for the
//! rest (cluster-scoped objects, Compose services, files). A YAML stream ready for
//! `kubectl apply -f -`; the schema is `schemas/vendor/wgpolicyk8s.io-v1alpha2-policyreport.schema.json`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Report;
use crate::model::{Finding, Severity};

pub const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";
/// Every report this tool writes has this name, so the next run replaces it.
pub const REPORT_NAME: &str = "iredmail-ports";
pub const SOURCE: &str = "iredmail-ports";
/// The label every report carries, with [`SOURCE`] as its value: `serve --audit-interval`
/// deletes a stale report only when it has it, so reports of other tools are never touched.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The most bytes of `results` one report holds. etcd refuses an object over 1.5 MiB by
/// default: a namespace whose report could not be written would have none, which a
/// dashboard shows as clean (or keep its stale one). Past the budget, the least severe
/// results are left out; the summary still counts them all.
pub const MAX_RESULTS_BYTES: usize = 1024 * 1024;
/// The annotation that says how many results a report left out, and why.
pub const OMITTED_ANNOTATION: &str = "iredmail-ports.io/results-omitted";

/// Where a finding's result goes: a namespace's report or the cluster's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Home {
    Namespace(String),
    Cluster,
}

pub fn render(report: &Report) -> String {
    reports(report)
        .iter()
        .map(|object| serde_saphyr::to_string(object).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// The reports, namespaces in name order, the cluster's last. A clean run still writes
/// the cluster report, with no results, so a consumer sees that the check ran.
pub fn reports(report: &Report) -> Vec<Value> {
    let mut homes: BTreeMap<Home, Vec<(Option<Value>, &Finding)>> = BTreeMap::new();
    homes.entry(Home::Cluster).or_default();
    for finding in &report.findings {
        let (home, resource) = home_of(finding);
        homes.entry(home).or_default().push((resource, finding));
    }
    homes
        .into_iter()
        .map(|(home, findings)| policy_report(&home, &findings))
        .collect()
}

/// A Kubernetes object id (`Kind/namespace/name`, or `Namespace/name` for what a
/// namespace lacks) goes to its namespace; anything else to the cluster.
fn home_of(finding: &Finding) -> (Home, Option<Value>) {
    let Some(object) = finding.object.as_deref() else {
        return (Home::Cluster, None);
    };
    let parts: Vec<&str> = object.split('/').collect();
    match parts.as_slice() {
        ["compose", ..] => (Home::Cluster, None),
        [kind, namespace, name] if !namespace.is_empty() => (
            Home::Namespace(namespace.to_string()),
            Some(json!({"kind": kind, "namespace": namespace, "name": name})),
        ),
        ["Namespace", name] => (
            Home::Namespace(name.to_string()),
            Some(json!({"kind": "Namespace", "name": name})),
        ),
        [kind, "", name] | [kind, name] => {
            (Home::Cluster, Some(json!({"kind": kind, "name": name})))
        }
        _ => (Home::Cluster, None),
    }
}

fn policy_report(home: &Home, findings: &[(Option<Value>, &Finding)]) -> Value {
    let results: Vec<Value> = findings
        .iter()
        .map(|(resource, finding)| result(resource.as_ref(), finding))
        .collect();
    let count = |outcome: &str| results.iter().filter(|r| r["result"] == outcome).count();
    let summary = json!({
        "pass": 0,
        "fail": count("fail"),
        "warn": count("warn"),
        "error": 0,
        "skip": count("skip"),
    });
    let total = results.len();
    let results = within_budget(results);
    let mut metadata = json!({
        "name": REPORT_NAME,
        "labels": {MANAGED_BY_LABEL: SOURCE},
    });
    if results.len() < total {
        metadata["annotations"] = json!({
            OMITTED_ANNOTATION: format!(
                "{} of {total} results left out to stay under {} KiB (least severe first); \
                 the summary counts them all, `iredmail-ports check` or `cluster` lists them",
                total - results.len(),
                MAX_RESULTS_BYTES / 1024
            ),
        });
    }
    let kind = match home {
        Home::Namespace(namespace) => {
            metadata["namespace"] = Value::String(namespace.clone());
            "PolicyReport"
        }
        Home::Cluster => "ClusterPolicyReport",
    };
    json!({
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": metadata,
        "summary": summary,
        "results": results,
    })
}

/// The results, all of them when they fit in [`MAX_RESULTS_BYTES`]; otherwise the most
/// severe that fit (`fail`, then `warn`, then `skip`, each in report order).
fn within_budget(results: Vec<Value>) -> Vec<Value> {
    // Each result's JSON and the comma after it, measured once.
    let size = |r: &Value| serde_json::to_vec(r).map_or(0, |bytes| bytes.len() + 1);
    let mut sized: Vec<(usize, Value)> = results.into_iter().map(|r| (size(&r), r)).collect();
    let fits = sized.iter().map(|(bytes, _)| bytes).sum::<usize>() <= MAX_RESULTS_BYTES;
    if !fits {
        let rank = |r: &Value| match r["result"].as_str() {
            Some("fail") => 0,
            Some("warn") => 1,
            _ => 2,
        };
        sized.sort_by_key(|(_, r)| rank(r));
    }
    let mut used = 0;
    sized
        .into_iter()
        .take_while(|(bytes, _)| {
            used += bytes;
            used <= MAX_RESULTS_BYTES
        })
        .map(|(_, r)| r)
        .collect()
}

fn result(resource: Option<&Value>, finding: &Finding) -> Value {
    let outcome = match (finding.suppressed.is_some(), finding.severity) {
        (true, _) => "skip",
        (false, Severity::Error) => "fail",
        (false, Severity::Warning | Severity::Note) => "warn",
    };
    let severity = match finding.severity {
        Severity::Error => "high",
        Severity::Warning => "medium",
        Severity::Note => "low",
    };
    let mut result = json!({
        "source": SOURCE,
        "policy": finding.rule.id(),
        "rule": finding.rule.id(),
        "category": "Network ports",
        "result": outcome,
        "severity": severity,
        "scored": true,
        "message": finding.message,
        "properties": properties(finding),
    });
    if let Some(resource) = resource {
        result["resources"] = json!([resource]);
    }
    result
}

/// The source location and the finding's facts, as the strings the schema wants.
fn properties(finding: &Finding) -> Value {
    let mut properties = Map::new();
    let mut put = |key: &str, value: String| {
        properties.insert(key.to_string(), Value::String(value));
    };
    if let Some(location) = &finding.location {
        put("file", location.path.clone());
        put("line", location.line.to_string());
        put("column", location.column.to_string());
        if let Some(template) = &location.template {
            put("template", template.to_string());
        }
    }
    if let Some(object) = &finding.object {
        put("object", object.clone());
    }
    if let Some(port) = finding.port {
        put("port", port.to_string());
    }
    if let Some(protocol) = finding.protocol {
        put("protocol", protocol.to_string());
    }
    if let Some(service) = &finding.service {
        put("service", service.clone());
    }
    if let Some(scope) = finding.scope {
        put("scope", scope.to_string());
    }
    if let Some(allowed) = finding.allowed_scope {
        put("allowedScope", allowed.to_string());
    }
    if let Some(suppression) = &finding.suppressed {
        put("suppressedBecause", suppression.reason.clone());
    }
    Value::Object(properties)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(outcomes: &[&str], message_bytes: usize) -> Vec<Value> {
        outcomes
            .iter()
            .enumerate()
            .map(|(i, outcome)| json!({"result": outcome, "message": "x".repeat(message_bytes), "n": i}))
            .collect()
    }

    fn order(results: &[Value]) -> Vec<(String, u64)> {
        results
            .iter()
            .map(|r| {
                (
                    r["result"].as_str().unwrap_or_default().to_string(),
                    r["n"].as_u64().unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn results_within_the_budget_are_kept_in_report_order() {
        let small = results(&["warn", "skip", "fail"], 100);
        assert_eq!(within_budget(small.clone()), small);
    }

    #[test]
    fn over_the_budget_the_least_severe_results_are_left_out() {
        // Four results of about 400 KiB: only two fit in 1 MiB, the fail and the first warn.
        let big = results(&["skip", "warn", "fail", "warn"], 400 * 1024);
        let kept = within_budget(big);
        assert_eq!(
            order(&kept),
            [("fail".to_string(), 2), ("warn".to_string(), 1)]
        );
    }
}
