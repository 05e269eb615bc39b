//! One engine, one verdict: the Kubernetes fixtures that pin down who reaches a port (the
//! flat pod network, policies admitting other namespaces, required ports on their own
//! number, SOGo wherever it runs) give the same findings through `check` on the files and
//! through `cluster` on a fake API server (tests/common/fake_api.rs) holding the same
//! objects. Lines differ by design (a live object is framed as the API server returns
//! it), so a finding is compared by severity, rule, port and object.

#[path = "common/fake_api.rs"]
#[allow(dead_code)] // the cluster tests use the rest of the fake API
mod fake_api;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

use fake_api::{Cluster, FakeApi, TOKEN};

/// Fixture directories under tests/fixtures/kubernetes/ whose verdicts both front doors
/// must share, firing and quiet.
const CASES: &[&str] = &[
    "network-policy-missing-fires",
    "network-policy-missing-quiet",
    "policy-other-namespace-fires",
    "policy-other-namespace-quiet",
    "network-policy-too-open-fires",
    "port-remapped-fires",
    "missing-port-fires",
    "eas-all-in-one-fires",
    "eas-all-in-one-quiet",
    "eas-sogo-elsewhere-fires",
    "route-absent-backend-fires",
    "all-in-one-quiet",
];

fn case_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kubernetes")
        .join(case)
}

/// Every object of every YAML file of a fixture, as the API server would store it: a
/// namespaced object without a namespace lands in `default`.
fn objects_of(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read the fixture directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let mut objects = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read the fixture");
        let documents: Vec<Value> = serde_saphyr::from_multiple(&text).expect("the fixture parses");
        for mut object in documents.into_iter().filter(|o| o.is_object()) {
            let cluster_scoped = object["kind"] == "Namespace";
            if !cluster_scoped && object["metadata"]["namespace"].is_null() {
                object["metadata"]["namespace"] = Value::from("default");
            }
            objects.push(object);
        }
    }
    objects
}

/// `severity rule port object` of each finding of a JSON report, sorted.
fn verdicts(output: &Output) -> Vec<String> {
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not a JSON report ({e}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let mut lines: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}",
                f["severity"].as_str().unwrap_or("-"),
                f["rule"].as_str().unwrap_or("-"),
                f["port"],
                f["object"].as_str().unwrap_or("-")
            )
        })
        .collect();
    lines.sort();
    lines
}

fn iredmail_ports(args: &[&str], home: &Path) -> Output {
    Command::cargo_bin("iredmail-ports")
        .expect("the binary is built")
        .args(args)
        .env_remove("KUBECONFIG")
        .env("HOME", home)
        .output()
        .expect("run iredmail-ports")
}

#[test]
fn check_and_cluster_give_the_same_verdicts() {
    let mut differing = Vec::new();
    for case in CASES {
        let dir = case_dir(case);
        let home = tempfile::tempdir().expect("temp dir");
        let from_files = iredmail_ports(
            &[
                "check",
                dir.to_str().expect("UTF-8 path"),
                "--format",
                "json",
            ],
            home.path(),
        );
        let api = FakeApi::start(Cluster {
            objects: objects_of(&dir),
            gateway_api: true,
            traefik: true,
            ..Cluster::default()
        });
        let kubeconfig = api.kubeconfig(home.path(), TOKEN);
        let live = iredmail_ports(
            &[
                "cluster",
                "--kubeconfig",
                kubeconfig.to_str().expect("UTF-8 path"),
                "--all-namespaces",
                "--format",
                "json",
            ],
            home.path(),
        );
        assert_eq!(
            from_files.status.code(),
            live.status.code(),
            "{case}: exit codes differ\n{}",
            String::from_utf8_lossy(&live.stderr)
        );
        let (files, cluster) = (verdicts(&from_files), verdicts(&live));
        if files != cluster {
            differing.push(format!(
                "{case}:\n  check:   {files:?}\n  cluster: {cluster:?}"
            ));
        }
    }
    assert!(differing.is_empty(), "{}", differing.join("\n"));
}

/// The comparison above can fail: a fixture that fires gives findings in both.
#[test]
fn the_firing_cases_do_fire() {
    let home = tempfile::tempdir().expect("temp dir");
    for case in CASES.iter().filter(|c| c.ends_with("-fires")) {
        let dir = case_dir(case);
        let output = iredmail_ports(
            &[
                "check",
                dir.to_str().expect("UTF-8 path"),
                "--format",
                "json",
            ],
            home.path(),
        );
        assert!(!verdicts(&output).is_empty(), "{case} has no findings");
    }
}
