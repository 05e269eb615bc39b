//! `--format policyreport`: wg-policy reports (wgpolicyk8s.io/v1alpha2) of the shipped
//! examples, validated against the wg-policy CRD schema (vendored in schemas/vendor/) with
//! nothing the API server would prune, one PolicyReport per namespace and a
//! ClusterPolicyReport for the rest.

use std::collections::BTreeMap;
use std::path::Path;

use iredmail_ports::report::Format;
use iredmail_ports::{Catalogue, Config, Input, Report, check};
use serde_json::Value;

fn check_paths(paths: &[&str]) -> Report {
    let catalogue = Catalogue::embedded_default().expect("the embedded catalogue loads");
    let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.into())).collect();
    check(&inputs, &catalogue, &Config::default()).expect("the paths hold manifests")
}

fn documents(report: &Report) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(&report.render(Format::Policyreport, false))
        .expect("the reports are YAML")
}

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas/vendor/wgpolicyk8s.io-v1alpha2-policyreport.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON")
}

/// Fields the structural schema does not list, which the API server would drop.
fn pruned(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let Some(properties) = schema["properties"].as_object() else {
                return; // free-form (metadata) or additionalProperties maps
            };
            for (key, child) in map {
                match properties.get(key) {
                    Some(child_schema) => {
                        pruned(child_schema, child, &format!("{path}.{key}"), out)
                    }
                    None => out.push(format!("{path}.{key}")),
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                pruned(&schema["items"], item, &format!("{path}[{index}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn policyreports_of_the_examples() {
    insta::assert_snapshot!(check_paths(&["examples/"]).render(Format::Policyreport, false));
}

#[test]
fn every_report_matches_the_wg_policy_schema_and_loses_nothing_to_pruning() {
    let schema = schema();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let report = check_paths(&["examples/"]);
    let documents = documents(&report);
    for document in &documents {
        let errors: Vec<String> = validator
            .iter_errors(document)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        let mut lost = Vec::new();
        pruned(&schema, document, "", &mut lost);
        assert!(lost.is_empty(), "{lost:?}");
    }
    // The validation means something: a result outside the enum fails it.
    let mut bad = documents[0].clone();
    bad["results"][0]["result"] = Value::String("failed".into());
    assert!(!validator.is_valid(&bad));
    // Every finding is one result, in the report of its namespace.
    let results: usize = documents
        .iter()
        .map(|d| d["results"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(results, report.findings.len());
    for document in &documents {
        let namespace = document["metadata"]["namespace"].as_str();
        for result in document["results"].as_array().expect("results") {
            let resource_namespace = result["resources"][0]["namespace"].as_str().or_else(|| {
                (result["resources"][0]["kind"] == "Namespace")
                    .then(|| result["resources"][0]["name"].as_str())
                    .flatten()
            });
            match namespace {
                Some(ns) => assert_eq!(resource_namespace, Some(ns), "{result}"),
                None => assert_eq!(document["kind"], "ClusterPolicyReport"),
            }
            assert_eq!(result["policy"], result["rule"]);
            // The source location travels in the properties, as strings.
            if let Some(line) = result["properties"].get("line") {
                assert!(
                    line.as_str().is_some_and(|l| l.parse::<u32>().is_ok()),
                    "{result}"
                );
                assert!(result["properties"]["file"].is_string(), "{result}");
            }
        }
    }
    let kinds: BTreeMap<String, usize> = documents.iter().fold(BTreeMap::new(), |mut m, d| {
        *m.entry(d["kind"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
        m
    });
    assert_eq!(kinds.get("ClusterPolicyReport"), Some(&1), "{kinds:?}");
    assert_eq!(kinds.get("PolicyReport"), Some(&1), "{kinds:?}");
}

#[test]
fn a_clean_run_writes_an_empty_cluster_report() {
    let documents = documents(&check_paths(&["examples/kubernetes/clean"]));
    assert_eq!(documents.len(), 1);
    assert_eq!(documents[0]["kind"], "ClusterPolicyReport");
    assert_eq!(documents[0]["results"], Value::Array(Vec::new()));
    assert_eq!(documents[0]["summary"]["fail"], 0);
}

/// A namespace with thousands of findings still gets a report etcd accepts (1.5 MiB by
/// default): the results stop at the budget, the summary counts every finding, and an
/// annotation says how many were left out.
#[test]
fn a_report_over_the_size_budget_keeps_its_summary_and_says_what_it_left_out() {
    use iredmail_ports::report::policyreport::{MAX_RESULTS_BYTES, OMITTED_ANNOTATION};
    let services = 4_000;
    let text: String = (0..services)
        .map(|i| {
            format!(
                "apiVersion: v1\nkind: Service\nmetadata: {{name: mariadb-{i}, namespace: mail}}\n\
                 spec: {{type: LoadBalancer, ports: [{{name: mysql, port: 3306}}]}}\n---\n"
            )
        })
        .collect();
    let catalogue = Catalogue::embedded_default().expect("the embedded catalogue loads");
    let input = Input::Text {
        name: "many.yaml".into(),
        text,
    };
    let report = check(&[input], &catalogue, &Config::default()).expect("manifests");
    let exposed = report
        .findings
        .iter()
        .filter(|f| f.rule.id() == "internal-port-exposed")
        .count();
    assert_eq!(exposed, services);
    let rendered = report.render(Format::Policyreport, false);
    let reports = serde_saphyr::from_multiple::<Value>(&rendered).expect("YAML");
    let mail = reports
        .iter()
        .find(|r| r["metadata"]["namespace"] == "mail")
        .expect("the namespace's report");
    let results = mail["results"].as_array().expect("results");
    let fails = mail["summary"]["fail"].as_u64().expect("a count") as usize;
    assert_eq!(fails, report.findings.len());
    assert!(
        fails > results.len() && !results.is_empty(),
        "{}",
        results.len()
    );
    let bytes = serde_json::to_vec(&mail["results"]).expect("JSON").len();
    // The budget, and the array's brackets.
    assert!(bytes <= MAX_RESULTS_BYTES + 2, "{bytes} bytes of results");
    assert!(serde_json::to_vec(mail).expect("JSON").len() < 3 * 1024 * 1024 / 2);
    assert_eq!(
        mail["metadata"]["annotations"][OMITTED_ANNOTATION],
        format!(
            "{} of {fails} results left out to stay under 1024 KiB (least severe first); \
             the summary counts them all, `iredmail-ports check` or `cluster` lists them",
            fails - results.len()
        )
    );
}
