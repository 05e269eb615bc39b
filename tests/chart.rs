//! The Helm chart `charts/iredmail-ports`, rendered by Helm's own engine: libhelm_c, Helm
//! v4's Go SDK as a C library, from the PyPI package helm-python-sdk that
//! `scripts/python-tools.sh` installs (no registry reachable here ships the `helm` binary),
//! driven by `scripts/helm.py` the way `helm template` and `helm lint` drive it. The rendered
//! manifests are checked for what the webhook needs, validated against Kubernetes' own
//! schemas (kubernetes-validate, strict) and fed to `iredmail-ports check -`; the CEL
//! matchCondition runs in cel-python, the Dockerfile is read by BuildKit's parser (PyPI
//! `dockerfile`). All of them come from the same venv.

#[path = "common/tools.rs"]
mod tools;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use serde_json::{Value, json};
use tools::tools_bin;

const RELEASE: &str = "ipw";
const NAMESPACE: &str = "iredmail-ports-system";
const FULLNAME: &str = "ipw-iredmail-ports";
const SECRET: &str = "ipw-iredmail-ports-tls";
/// The name the API server calls the webhook by (Service `FULLNAME` in `NAMESPACE`).
const SERVICE_DNS: &str = "ipw-iredmail-ports.iredmail-ports-system.svc";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn helm(args: &[&str]) -> Output {
    Command::new(tools_bin().join("python"))
        .arg(root().join("scripts/helm.py"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run scripts/helm.py")
}

fn template_output(values: &[&str]) -> Output {
    let mut args = vec![
        "template",
        "charts/iredmail-ports",
        "--name",
        RELEASE,
        "--namespace",
        NAMESPACE,
    ];
    args.extend_from_slice(values);
    helm(&args)
}

/// `helm template` with the given value flags; it must succeed.
fn render(values: &[&str]) -> String {
    let output = template_output(values);
    assert!(
        output.status.success(),
        "helm template {values:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 manifests")
}

fn objects(manifests: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(manifests)
        .expect("the rendered manifests are YAML")
        .into_iter()
        .filter(|object| !object.is_null())
        .collect()
}

fn render_objects(values: &[&str]) -> Vec<Value> {
    objects(&render(values))
}

fn find<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// The one object of a kind; the test fails if there is none or several.
fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found = find(objects, kind);
    assert_eq!(found.len(), 1, "expected one {kind}, got {}", found.len());
    found[0]
}

fn kinds(objects: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    kinds.sort();
    kinds
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|item| {
            item.as_str()
                .unwrap_or_else(|| panic!("not a string: {item}"))
                .to_string()
        })
        .collect()
}

fn webhook(objects: &[Value]) -> &Value {
    let configuration = one(objects, "ValidatingWebhookConfiguration");
    let webhooks = configuration["webhooks"].as_array().expect("webhooks");
    assert_eq!(webhooks.len(), 1);
    &webhooks[0]
}

fn container(objects: &[Value]) -> &Value {
    let containers = &one(objects, "Deployment")["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers.as_array().map(Vec::len), Some(1));
    &containers[0]
}

/// (apiGroup, resource) → operations, over every rule of the webhook.
fn rule_table(webhook: &Value) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut table = BTreeMap::new();
    for rule in webhook["rules"].as_array().expect("rules") {
        assert_eq!(rule["scope"], "Namespaced", "{rule}");
        let operations: BTreeSet<String> = strings(&rule["operations"]).into_iter().collect();
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                let previous = table.insert((group.clone(), resource), operations.clone());
                assert!(previous.is_none(), "{group} listed twice in the rules");
            }
        }
    }
    table
}

fn pairs(entries: &[(&str, &[&str])]) -> BTreeSet<(String, String)> {
    entries
        .iter()
        .flat_map(|(group, resources)| resources.iter().map(|r| (group.to_string(), r.to_string())))
        .collect()
}

const CORE: &str = "";

/// What the server judges at admission: every kind with ports or routes, including the
/// Gateway API routes and Traefik routes it does not watch.
fn admission_kinds() -> BTreeSet<(String, String)> {
    pairs(&[
        (
            CORE,
            &["services", "pods", "replicationcontrollers", "configmaps"],
        ),
        (
            "apps",
            &["deployments", "statefulsets", "daemonsets", "replicasets"],
        ),
        ("batch", &["jobs", "cronjobs"]),
        ("networking.k8s.io", &["ingresses", "networkpolicies"]),
        (
            "gateway.networking.k8s.io",
            &[
                "gateways",
                "httproutes",
                "grpcroutes",
                "tlsroutes",
                "tcproutes",
                "udproutes",
            ],
        ),
        ("traefik.io", &["ingressroutes", "ingressroutetcps"]),
        (
            "traefik.containo.us",
            &["ingressroutes", "ingressroutetcps"],
        ),
    ])
}

/// Exactly what `serve --watch` lists and watches: the kinds table of src/load/kinds.rs,
/// which the cache watches (and `cluster` lists).
fn watched_kinds() -> BTreeSet<(String, String)> {
    iredmail_ports::load::kinds::JUDGED_KINDS
        .iter()
        .map(|kind| (kind.group.to_string(), kind.plural.to_string()))
        .collect()
}

/// What the chart installs for the webhook, in `kinds` order.
const WEBHOOK_KINDS: [&str; 9] = [
    "ClusterRole",
    "ClusterRoleBinding",
    "Deployment",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "Secret",
    "Service",
    "ServiceAccount",
    "ValidatingWebhookConfiguration",
];

#[test]
fn default_values_render_a_hardened_webhook_deployment() {
    let objects = render_objects(&[]);
    assert_eq!(kinds(&objects), WEBHOOK_KINDS);
    let deployment = one(&objects, "Deployment");
    assert_eq!(deployment["metadata"]["namespace"], NAMESPACE);
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(
        deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
        0
    );
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(pod["serviceAccountName"], FULLNAME);
    assert_eq!(pod["automountServiceAccountToken"], true);

    let container = container(&objects);
    assert_eq!(container["image"], "iredmail-ports:0.1.0");
    assert_eq!(
        strings(&container["args"]),
        [
            "serve",
            "--listen",
            "0.0.0.0:8443",
            "--tls-cert",
            "/tls/tls.crt",
            "--tls-key",
            "/tls/tls.key",
            "--mode",
            "enforce",
            "--request-timeout",
            "4",
            "--shutdown-grace",
            "30",
            "--watch"
        ]
    );
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(
        container["ports"],
        json!([{"name": "https", "containerPort": 8443, "protocol": "TCP"}])
    );
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["scheme"], "HTTPS", "{probe}");
        assert_eq!(get["path"], path, "{probe}");
        assert_eq!(get["port"], "https", "{probe}");
    }
    assert!(container["resources"]["requests"]["memory"].is_string());
    assert!(container["resources"]["limits"]["memory"].is_string());
    assert_eq!(
        container["volumeMounts"],
        json!([{"name": "tls", "mountPath": "/tls", "readOnly": true}])
    );
    assert_eq!(pod["volumes"][0]["secret"]["secretName"], SECRET);

    let selector =
        json!({"app.kubernetes.io/name": "iredmail-ports", "app.kubernetes.io/instance": RELEASE});
    let spread =
        &pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(
        spread["podAffinityTerm"]["topologyKey"],
        "kubernetes.io/hostname"
    );
    assert_eq!(
        spread["podAffinityTerm"]["labelSelector"]["matchLabels"],
        selector
    );
    let zones = &pod["topologySpreadConstraints"][0];
    assert_eq!(zones["topologyKey"], "topology.kubernetes.io/zone");
    assert_eq!(zones["labelSelector"]["matchLabels"], selector);

    let service = one(&objects, "Service");
    assert_eq!(service["spec"]["type"], "ClusterIP");
    assert_eq!(service["spec"]["selector"], selector);
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}])
    );

    let budget = one(&objects, "PodDisruptionBudget");
    assert_eq!(budget["spec"]["minAvailable"], 1);
    assert_eq!(budget["spec"]["selector"]["matchLabels"], selector);

    let policy = one(&objects, "NetworkPolicy");
    assert_eq!(policy["spec"]["podSelector"]["matchLabels"], selector);
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress"]));
    assert_eq!(
        policy["spec"]["ingress"],
        json!([{"ports": [{"port": 8443, "protocol": "TCP"}], "from": [kube_system_pods()]}])
    );
}

/// The NetworkPolicy's default peer: every pod of kube-system, host-network ones included
/// where the CNI lets a podSelector match them.
fn kube_system_pods() -> Value {
    json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
           "podSelector": {}})
}

fn ingress_rules(objects: &[Value]) -> Vec<Value> {
    one(objects, "NetworkPolicy")["spec"]["ingress"]
        .as_array()
        .expect("ingress rules")
        .clone()
}

fn https_port() -> Value {
    json!([{"port": 8443, "protocol": "TCP"}])
}

/// By default only the API server's likely sources reach the webhook port; the values
/// widen it (control-plane addresses, scrapers of /metrics, any source), and a policy left
/// with no source at all is refused rather than rendered as one that admits everything.
#[test]
fn the_network_policy_admits_only_the_api_servers_sources_unless_widened() {
    let defaults = ingress_rules(&render_objects(&[]));
    assert_eq!(
        defaults,
        [json!({"ports": https_port(), "from": [kube_system_pods()]})]
    );

    let monitoring = json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}});
    let widened = render(&[
        "--set-json",
        r#"networkPolicy.apiServerCIDRs=["10.0.0.0/24","fd00:10::/64"]"#,
        "--set-json",
        &format!("networkPolicy.metricsSources=[{monitoring}]"),
    ]);
    assert_eq!(
        ingress_rules(&objects(&widened)),
        [
            json!({"ports": https_port(), "from": [
                kube_system_pods(),
                {"ipBlock": {"cidr": "10.0.0.0/24"}},
                {"ipBlock": {"cidr": "fd00:10::/64"}},
            ]}),
            json!({"ports": https_port(), "from": [monitoring]}),
        ]
    );
    let output = kubernetes_validate(&widened, "1.37.0");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    // Any source, as the README says to: the sources replaced by the whole address space.
    let open = ingress_rules(&render_objects(&[
        "--set-json",
        r#"networkPolicy.apiServerSources=[]"#,
        "--set-json",
        r#"networkPolicy.apiServerCIDRs=["0.0.0.0/0","::/0"]"#,
    ]));
    assert_eq!(
        open,
        [json!({"ports": https_port(), "from": [
            {"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}
        ]})]
    );
    let off = render_objects(&["--set", "networkPolicy.enabled=false"]);
    assert!(find(&off, "NetworkPolicy").is_empty());

    // No source left: an ingress rule without `from` would admit every source.
    let nobody = template_output(&["--set-json", "networkPolicy.apiServerSources=[]"]);
    assert!(!nobody.status.success());
    assert!(
        String::from_utf8_lossy(&nobody.stderr)
            .contains("apiServerSources and apiServerCIDRs are both empty"),
        "{}",
        String::from_utf8_lossy(&nobody.stderr)
    );
    // The schema refuses what is no NetworkPolicyPeer, and the old `from` key.
    for (value, path) in [
        (
            r#"networkPolicy.metricsSources=[{}]"#,
            "/networkPolicy/metricsSources/0",
        ),
        (
            r#"networkPolicy.apiServerSources=[{"ipBlock":{"cidr":"10.0.0.0/8"},"podSelector":{}}]"#,
            "/networkPolicy/apiServerSources/0",
        ),
        (
            r#"networkPolicy.apiServerCIDRs=["10.0.0.1"]"#,
            "/networkPolicy/apiServerCIDRs/0",
        ),
        (r#"networkPolicy.from=[]"#, "/networkPolicy"),
    ] {
        let refused = template_output(&["--set-json", value]);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{value} rendered");
        assert!(
            stderr.contains(&format!("at '{path}'")),
            "{value}: {stderr}"
        );
    }
}

#[test]
fn the_webhook_configuration_follows_the_api_servers_contract() {
    let objects = render_objects(&[]);
    let webhook = webhook(&objects);
    assert_eq!(webhook["name"], "check.iredmail-ports.io");
    assert_eq!(webhook["failurePolicy"], "Ignore");
    assert_eq!(webhook["sideEffects"], "None");
    assert_eq!(webhook["admissionReviewVersions"], json!(["v1"]));
    assert_eq!(webhook["matchPolicy"], "Equivalent");
    assert_eq!(webhook["timeoutSeconds"], 5);
    assert_eq!(
        webhook["clientConfig"]["service"],
        json!({"name": FULLNAME, "namespace": NAMESPACE, "path": "/validate", "port": 443})
    );
    assert_eq!(
        webhook["namespaceSelector"],
        json!({
            "matchLabels": {"iredmail-ports.io/webhook": "enabled"},
            "matchExpressions": [{
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": [NAMESPACE, "kube-system", "kube-public", "kube-node-lease"]
            }]
        })
    );
    assert_eq!(
        webhook["objectSelector"],
        json!({"matchExpressions": [{
            "key": "iredmail-ports.io/webhook", "operator": "NotIn", "values": ["disabled"]
        }]})
    );
    let conditions = webhook["matchConditions"]
        .as_array()
        .expect("matchConditions");
    assert_eq!(conditions.len(), 1);
    let expression = conditions[0]["expression"].as_str().expect("expression");
    assert!(
        expression.starts_with("request.operation == 'DELETE' ||"),
        "{expression}"
    );
    assert!(expression.contains("ownerReferences"), "{expression}");
}

#[test]
fn the_webhook_never_matches_its_own_namespace_whatever_the_selector() {
    let objects = render_objects(&[
        "--set-json",
        // Helm merges maps with the defaults: `null` removes the default label.
        r#"webhook.namespaceSelector={"matchLabels":null,"matchExpressions":[{"key":"team","operator":"In","values":["mail"]}]}"#,
        "--set-json",
        "webhook.excludedNamespaces=[]",
    ]);
    assert_eq!(
        webhook(&objects)["namespaceSelector"],
        json!({"matchExpressions": [
            {"key": "team", "operator": "In", "values": ["mail"]},
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [NAMESPACE]}
        ]})
    );

    // No selector at all: every namespace but the excluded ones.
    let objects = render_objects(&["--set-json", "webhook.namespaceSelector=null"]);
    assert_eq!(
        webhook(&objects)["namespaceSelector"],
        json!({"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn",
             "values": [NAMESPACE, "kube-system", "kube-public", "kube-node-lease"]}
        ]})
    );
}

#[test]
fn the_rules_cover_every_kind_the_server_judges() {
    let objects = render_objects(&[]);
    let table = rule_table(webhook(&objects));
    let covered: BTreeSet<(String, String)> = table.keys().cloned().collect();
    assert_eq!(covered, admission_kinds());
    let create_update: BTreeSet<String> = ["CREATE", "UPDATE"].map(String::from).into();
    for ((group, resource), operations) in &table {
        if resource == "networkpolicies" {
            // Deleting a NetworkPolicy widens what its ports reach.
            let all: BTreeSet<String> = ["CREATE", "UPDATE", "DELETE"].map(String::from).into();
            assert_eq!(operations, &all);
        } else {
            assert_eq!(operations, &create_update, "{group}/{resource}");
        }
    }

    let without_crds = render_objects(&["--set", "webhook.gatewayApi=false,webhook.traefik=false"]);
    let groups: BTreeSet<String> = rule_table(webhook(&without_crds))
        .into_keys()
        .map(|(group, _)| group)
        .collect();
    assert_eq!(
        groups,
        ["", "apps", "batch", "networking.k8s.io"]
            .map(String::from)
            .into()
    );
}

#[test]
fn the_cluster_role_only_lists_and_watches_what_serve_watch_reads() {
    let objects = render_objects(&[]);
    let role = one(&objects, "ClusterRole");
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().expect("rules") {
        assert_eq!(rule["verbs"], json!(["list", "watch"]), "{rule}");
        // ConfigMaps by name only (the kinds table's `only_named`): no other ConfigMap's data.
        let names = rule.get("resourceNames").map(strings);
        if rule["resources"] == json!(["configmaps"]) {
            let expected: Vec<String> = iredmail_ports::load::kinds::CONTROLLER_PORT_CONFIGMAPS
                .iter()
                .map(|name| name.to_string())
                .collect();
            assert_eq!(names, Some(expected), "{rule}");
        } else {
            assert!(names.is_none(), "{rule}");
        }
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                assert!(granted.insert((group.clone(), resource)), "granted twice");
            }
        }
    }
    assert_eq!(granted, watched_kinds());
    let binding = one(&objects, "ClusterRoleBinding");
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": FULLNAME})
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}])
    );
    let account = one(&objects, "ServiceAccount");
    assert_eq!(account["automountServiceAccountToken"], false);
}

/// `audit.interval` adds `--audit-interval` and a ClusterRole that may write exactly the
/// wg-policy reports, bound to the webhook's account; without it neither exists, and the
/// watch role stays read-only either way.
#[test]
fn the_audit_role_grants_exactly_the_reports_and_only_when_enabled() {
    let audit_role = format!("{FULLNAME}-audit");
    let named = |objects: &[Value], kind: &str| -> Vec<Value> {
        find(objects, kind)
            .into_iter()
            .filter(|o| o["metadata"]["name"] == audit_role.as_str())
            .cloned()
            .collect()
    };
    let off = render_objects(&[]);
    assert!(named(&off, "ClusterRole").is_empty());
    assert!(named(&off, "ClusterRoleBinding").is_empty());
    let args = strings(&container(&off)["args"]);
    assert!(!args.contains(&"--audit-interval".to_string()), "{args:?}");

    let on = render_objects(&["--set", "audit.interval=5m"]);
    let args = strings(&container(&on)["args"]);
    let at = args
        .iter()
        .position(|a| a == "--audit-interval")
        .expect("--audit-interval");
    assert_eq!(args[at + 1], "5m");
    assert!(args.contains(&"--watch".to_string()), "{args:?}");
    let role = named(&on, "ClusterRole");
    assert_eq!(role.len(), 1);
    assert_eq!(
        role[0]["rules"],
        json!([{"apiGroups": ["wgpolicyk8s.io"],
                "resources": ["policyreports", "clusterpolicyreports"],
                "verbs": ["get", "list", "create", "update", "patch", "delete"]}])
    );
    let binding = named(&on, "ClusterRoleBinding");
    assert_eq!(binding.len(), 1);
    assert_eq!(
        binding[0]["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": audit_role})
    );
    assert_eq!(
        binding[0]["subjects"],
        json!([{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}])
    );
    // The watch role is the same with or without the audit: list and watch only.
    let watch_role = |objects: &[Value]| -> Value {
        find(objects, "ClusterRole")
            .into_iter()
            .find(|o| o["metadata"]["name"] == FULLNAME)
            .cloned()
            .expect("the watch role")
    };
    assert_eq!(watch_role(&on), watch_role(&off));

    // No RBAC of our own: no audit role either.
    let unmanaged = render_objects(&["--set", "audit.interval=5m,rbac.create=false"]);
    assert!(named(&unmanaged, "ClusterRole").is_empty());
    assert!(strings(&container(&unmanaged)["args"]).contains(&"--audit-interval".to_string()));

    // The audit judges what --watch keeps: without it the chart refuses to render.
    let output = template_output(&["--set", "audit.interval=5m,watch=false"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("audit.interval needs watch: true"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The rendered audit role passes Kubernetes' schemas too.
    let manifests = render(&["--set", "audit.interval=1h30m"]);
    let output = kubernetes_validate(&manifests, "1.37.0");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn without_watch_there_is_no_cluster_role_and_no_api_token() {
    let objects = render_objects(&["--set", "watch=false"]);
    assert!(find(&objects, "ClusterRole").is_empty());
    assert!(find(&objects, "ClusterRoleBinding").is_empty());
    let args = strings(&container(&objects)["args"]);
    assert!(!args.contains(&"--watch".to_string()), "{args:?}");
    let pod = &one(&objects, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
}

#[test]
fn overrides_reach_the_manifests() {
    let values = tempfile::NamedTempFile::new().expect("temp file");
    let catalogue = std::fs::read_to_string(root().join("policies/iredmail-implicit-tls.yaml"))
        .expect("read the implicit-TLS policy");
    let config = "severity:\n  unknown-port: error\n";
    let file = serde_json::to_string(&json!({
        "replicaCount": 3,
        "mode": "audit",
        "catalogue": {"content": catalogue},
        "config": {"content": config},
        "webhook": {"failurePolicy": "Fail", "timeoutSeconds": 10},
        "serviceMonitor": {"enabled": true, "labels": {"release": "prometheus"}},
        "extraArgs": ["--fail-on", "warning"],
    }))
    .expect("values as JSON");
    std::fs::write(values.path(), file).expect("write values");
    let path = values.path().to_str().expect("UTF-8 path");
    let objects = render_objects(&["-f", path]);

    assert_eq!(one(&objects, "Deployment")["spec"]["replicas"], 3);
    let webhook = webhook(&objects);
    assert_eq!(webhook["failurePolicy"], "Fail");
    assert_eq!(webhook["timeoutSeconds"], 10);

    let container = container(&objects);
    let args = strings(&container["args"]);
    assert_eq!(
        args[7..],
        [
            "--mode",
            "audit",
            "--request-timeout",
            "9",
            "--shutdown-grace",
            "30",
            "--catalogue",
            "/etc/iredmail-ports/catalogue/catalogue.yaml",
            "--config",
            "/etc/iredmail-ports/config/config.yaml",
            "--watch",
            "--fail-on",
            "warning"
        ]
    );
    let mounts: Vec<&str> = container["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .map(|m| m["mountPath"].as_str().expect("mountPath"))
        .collect();
    assert_eq!(
        mounts,
        [
            "/tls",
            "/etc/iredmail-ports/catalogue",
            "/etc/iredmail-ports/config"
        ]
    );
    let maps = find(&objects, "ConfigMap");
    assert_eq!(maps.len(), 2);
    assert_eq!(maps[0]["metadata"]["name"], format!("{FULLNAME}-catalogue"));
    assert_eq!(maps[0]["data"]["catalogue.yaml"], catalogue.as_str());
    assert_eq!(maps[1]["metadata"]["name"], format!("{FULLNAME}-config"));
    assert_eq!(maps[1]["data"]["config.yaml"], config);

    let monitor = one(&objects, "ServiceMonitor");
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], "https");
    assert_eq!(endpoint["scheme"], "https");
    assert_eq!(endpoint["path"], "/metrics");
    assert_eq!(endpoint["tlsConfig"]["serverName"], SERVICE_DNS);
    assert_eq!(
        endpoint["tlsConfig"]["ca"],
        json!({"secret": {"name": SECRET, "key": "ca.crt"}})
    );

    // One replica: no budget, which would block every node drain.
    let single = render_objects(&["--set", "replicaCount=1"]);
    assert!(find(&single, "PodDisruptionBudget").is_empty());
}

/// Hours in a Go duration of whole hours (`2160h`), as the chart's defaults write them.
fn hours(duration: &Value) -> u64 {
    duration
        .as_str()
        .and_then(|d| d.strip_suffix('h'))
        .and_then(|h| h.parse().ok())
        .unwrap_or_else(|| panic!("not a duration in hours: {duration}"))
}

fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> = find(objects, kind)
        .into_iter()
        .filter(|o| o["metadata"]["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "expected one {kind} {name}");
    found[0]
}

/// cert-manager mode without an issuer of yours: a self-signed Issuer signs a long-lived CA
/// Certificate, a CA Issuer signs the serving Certificate with it, and the CA injector copies
/// the CA Certificate (not the serving one) into the caBundle, so renewing the serving
/// certificate never leaves the caBundle behind it.
#[test]
fn cert_manager_mode_signs_the_serving_certificate_with_a_ca_the_webhook_trusts() {
    let objects = render_objects(&["--set", "tls.mode=cert-manager"]);
    assert!(
        find(&objects, "Secret").is_empty(),
        "cert-manager writes the Secrets"
    );
    assert_eq!(find(&objects, "Issuer").len(), 2);
    assert_eq!(find(&objects, "Certificate").len(), 2);
    let ca_name = format!("{FULLNAME}-ca");
    for object in find(&objects, "Issuer")
        .into_iter()
        .chain(find(&objects, "Certificate"))
    {
        assert_eq!(object["apiVersion"], "cert-manager.io/v1");
        assert_eq!(object["metadata"]["namespace"], NAMESPACE);
    }
    let issuer_ref =
        |name: &str| json!({"name": name, "kind": "Issuer", "group": "cert-manager.io"});

    // The root: self-signed, a CA, with a key that survives its renewal.
    let self_signed = named(&objects, "Issuer", &format!("{FULLNAME}-selfsigned"));
    assert_eq!(self_signed["spec"], json!({"selfSigned": {}}));
    let ca = named(&objects, "Certificate", &ca_name);
    assert_eq!(ca["spec"]["isCA"], true);
    assert_eq!(
        ca["spec"]["issuerRef"],
        issuer_ref(self_signed["metadata"]["name"].as_str().unwrap_or_default())
    );
    assert_eq!(ca["spec"]["privateKey"]["rotationPolicy"], "Never");
    let ca_secret = ca["spec"]["secretName"].as_str().expect("the CA's Secret");
    assert_ne!(ca_secret, SECRET, "the pods never mount the CA's key");

    // The CA Issuer signs with that Secret, and signs the serving certificate.
    let ca_issuer = named(&objects, "Issuer", &ca_name);
    assert_eq!(ca_issuer["spec"], json!({"ca": {"secretName": ca_secret}}));
    let serving = named(&objects, "Certificate", FULLNAME);
    assert_eq!(serving["spec"]["issuerRef"], issuer_ref(&ca_name));
    assert!(serving["spec"].get("isCA").is_none());
    assert_eq!(serving["spec"]["secretName"], SECRET);
    assert_eq!(serving["spec"]["privateKey"]["rotationPolicy"], "Always");
    assert_eq!(
        serving["spec"]["dnsNames"],
        json!([
            FULLNAME,
            format!("{FULLNAME}.{NAMESPACE}"),
            SERVICE_DNS,
            format!("{SERVICE_DNS}.cluster.local")
        ])
    );

    // The caBundle comes from the CA, which lives far longer than a serving certificate and
    // is renewed long before any serving certificate it signed expires.
    let configuration = one(&objects, "ValidatingWebhookConfiguration");
    assert_eq!(
        configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        format!("{NAMESPACE}/{ca_name}")
    );
    assert!(webhook(&objects)["clientConfig"].get("caBundle").is_none());
    let (ca_life, ca_renew) = (
        hours(&ca["spec"]["duration"]),
        hours(&ca["spec"]["renewBefore"]),
    );
    let serving_life = hours(&serving["spec"]["duration"]);
    assert!(
        ca_life >= 10 * serving_life,
        "{ca_life} h vs {serving_life} h"
    );
    assert!(ca_renew > serving_life, "{ca_renew} h vs {serving_life} h");
    assert!(hours(&serving["spec"]["renewBefore"]) < serving_life);

    let tuned = render_objects(&[
        "--set",
        "tls.mode=cert-manager,tls.certManager.ca.duration=43800h,tls.certManager.ca.renewBefore=4380h",
    ]);
    let ca = named(&tuned, "Certificate", &ca_name);
    assert_eq!(
        (
            hours(&ca["spec"]["duration"]),
            hours(&ca["spec"]["renewBefore"])
        ),
        (43800, 4380)
    );

    // An issuer of yours signs the serving certificate; its Secret's ca.crt is that issuer's
    // CA, which the injector copies.
    let own_issuer = render_objects(&[
        "--set",
        "tls.mode=cert-manager,tls.certManager.issuerRef.name=corp-ca,tls.certManager.issuerRef.kind=ClusterIssuer",
    ]);
    assert!(find(&own_issuer, "Issuer").is_empty());
    assert_eq!(
        one(&own_issuer, "Certificate")["spec"]["issuerRef"],
        json!({"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"})
    );
    assert_eq!(
        one(&own_issuer, "ValidatingWebhookConfiguration")["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        format!("{NAMESPACE}/{FULLNAME}")
    );
}

fn secret_data(objects: &[Value], key: &str) -> Vec<u8> {
    let secret = one(objects, "Secret");
    let encoded = secret["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key}"));
    base64_decode(encoded)
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let value = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
        }
    }
    bytes
}

/// A full TLS handshake in memory: the server presents the Secret's certificate, the client
/// trusts only the webhook's caBundle and asks for `name`, as the API server does.
fn handshake(
    ca_bundle_pem: &[u8],
    cert_pem: &[u8],
    key_pem: &[u8],
    name: &str,
) -> Result<(), String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| e.to_string())?;
    let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| e.to_string())?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(ca_bundle_pem) {
        roots
            .add(ca.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server_name = ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
    let mut client = rustls::ClientConnection::new(Arc::new(client_config), server_name)
        .map_err(|e| e.to_string())?;
    let mut server =
        rustls::ServerConnection::new(Arc::new(server_config)).map_err(|e| e.to_string())?;
    for _ in 0..10 {
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
        let mut wire = Vec::new();
        client.write_tls(&mut wire).map_err(|e| e.to_string())?;
        let mut wire = &wire[..];
        while !wire.is_empty() {
            server.read_tls(&mut wire).map_err(|e| e.to_string())?;
        }
        server.process_new_packets().map_err(|e| e.to_string())?;
        let mut wire = Vec::new();
        server.write_tls(&mut wire).map_err(|e| e.to_string())?;
        let mut wire = &wire[..];
        while !wire.is_empty() {
            client.read_tls(&mut wire).map_err(|e| e.to_string())?;
        }
        client.process_new_packets().map_err(|e| e.to_string())?;
    }
    Err("the handshake did not finish".into())
}

#[test]
fn the_generated_certificate_is_trusted_by_the_ca_bundle_for_the_service_name() {
    let objects = render_objects(&[]);
    let secret = one(&objects, "Secret");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert_eq!(secret["metadata"]["name"], SECRET);
    let ca_bundle = webhook(&objects)["clientConfig"]["caBundle"]
        .as_str()
        .expect("caBundle");
    assert_eq!(secret["data"]["ca.crt"], ca_bundle);
    let ca = base64_decode(ca_bundle);
    let (cert, key) = (
        secret_data(&objects, "tls.crt"),
        secret_data(&objects, "tls.key"),
    );
    for name in [
        FULLNAME.to_string(),
        SERVICE_DNS.to_string(),
        format!("{SERVICE_DNS}.cluster.local"),
    ] {
        handshake(&ca, &cert, &key, &name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let wrong = handshake(&ca, &cert, &key, "other.iredmail-ports-system.svc");
    assert!(
        wrong
            .as_ref()
            .is_err_and(|e| e.contains("certificate not valid for name")),
        "{wrong:?}"
    );

    // Every render without a cluster makes a new CA: the bundle of one does not trust another.
    let other = render_objects(&[]);
    let other_ca = base64_decode(
        webhook(&other)["clientConfig"]["caBundle"]
            .as_str()
            .expect("caBundle"),
    );
    assert_ne!(other_ca, ca);
    let mismatch = handshake(&other_ca, &cert, &key, SERVICE_DNS);
    // Same subject name, another key: rustls finds the issuer and refuses its signature.
    assert!(
        mismatch.as_ref().is_err_and(|e| e.contains("BadSignature")),
        "{mismatch:?}"
    );
}

/// A minimal Kubernetes API server on loopback (plain HTTP, JSON), enough for Helm's
/// `lookup`: the v1 discovery document and GETs of Secrets, answered from `secrets`.
struct FakeApiServer {
    port: u16,
    requests: Arc<std::sync::Mutex<Vec<String>>>,
}

impl FakeApiServer {
    fn start(secrets: Vec<Value>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("address").port();
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = requests.clone();
        let secrets = Arc::new(secrets);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, secrets) = (log.clone(), secrets.clone());
                std::thread::spawn(move || serve_connection(stream, &secrets, &log));
            }
        });
        FakeApiServer { port, requests }
    }

    fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: \"http://127.0.0.1:{}\"}}\nusers:\n- name: fake\n  user: {{token: test}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: fake, namespace: {NAMESPACE}}}\ncurrent-context: fake\n",
            self.port
        );
        std::fs::write(&path, config).expect("write kubeconfig");
        path
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("request log").clone()
    }
}

fn serve_connection(stream: TcpStream, secrets: &[Value], log: &std::sync::Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut content_length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let target = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_string();
        let path = target.split('?').next().unwrap_or("/").to_string();
        log.lock().expect("request log").push(path.clone());
        let (status, answer) = answer(&path, secrets);
        let body = answer.to_string();
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn answer(path: &str, secrets: &[Value]) -> (&'static str, Value) {
    if path == "/api/v1" {
        let secrets = json!({"name": "secrets", "singularName": "secret", "namespaced": true,
                             "kind": "Secret", "verbs": ["get", "list", "watch"]});
        let list = json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1",
                          "resources": [secrets]});
        return ("200 OK", list);
    }
    let found = secrets.iter().find(|secret| {
        let metadata = &secret["metadata"];
        let own = format!(
            "/api/v1/namespaces/{}/secrets/{}",
            metadata["namespace"].as_str().unwrap_or_default(),
            metadata["name"].as_str().unwrap_or_default()
        );
        own == path
    });
    match found {
        Some(secret) => ("200 OK", secret.clone()),
        None => (
            "404 Not Found",
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                   "reason": "NotFound", "code": 404}),
        ),
    }
}

#[test]
fn an_upgrade_keeps_the_certificate_already_in_the_cluster() {
    let installed = render_objects(&[]);
    let secret = one(&installed, "Secret").clone();
    let server = FakeApiServer::start(vec![secret.clone()]);
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = server.kubeconfig(dir.path());
    let upgraded = render_objects(&["--kubeconfig", kubeconfig.to_str().expect("UTF-8")]);

    assert_eq!(one(&upgraded, "Secret")["data"], secret["data"]);
    assert_eq!(
        webhook(&upgraded)["clientConfig"]["caBundle"],
        webhook(&installed)["clientConfig"]["caBundle"]
    );
    let secret_path = format!("/api/v1/namespaces/{NAMESPACE}/secrets/{SECRET}");
    assert!(
        server.requests().contains(&secret_path),
        "{:?}",
        server.requests()
    );

    // A cluster without the Secret (a first install, or one deleted to renew): a new CA.
    let empty = FakeApiServer::start(Vec::new());
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = empty.kubeconfig(dir.path());
    let fresh = render_objects(&["--kubeconfig", kubeconfig.to_str().expect("UTF-8")]);
    assert_ne!(
        one(&fresh, "Secret")["data"]["ca.crt"],
        secret["data"]["ca.crt"]
    );
    assert!(empty.requests().contains(&secret_path));
}

fn kubernetes_validate(manifests: &str, version: &str) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, manifests).expect("write manifests");
    Command::new(tools_bin().join("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", version])
        .arg(&file)
        .output()
        .expect("run kubernetes-validate")
}

/// Every built-in object the chart renders passes Kubernetes' own OpenAPI schemas, strict
/// (unknown fields refused), for the oldest Kubernetes the chart supports and the newest.
#[test]
fn rendered_manifests_pass_the_kubernetes_schemas() {
    let everything = render(&[
        "--set",
        "catalogue.content=x,config.content=y,serviceMonitor.enabled=true,podAntiAffinity=hard",
        "--set-json",
        r#"networkPolicy.apiServerCIDRs=["10.0.0.0/24"]"#,
        "--set-json",
        r#"networkPolicy.metricsSources=[{"podSelector":{"matchLabels":{"app":"prometheus"}}}]"#,
    ]);
    for manifests in [render(&[]), everything] {
        let builtin = objects(&manifests)
            .iter()
            .filter(|o| {
                !["Certificate", "Issuer", "ServiceMonitor"]
                    .contains(&o["kind"].as_str().unwrap_or_default())
            })
            .count();
        for version in ["1.30.0", "1.37.0"] {
            let output = kubernetes_validate(&manifests, version);
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "kubernetes-validate {version} failed:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let passed = stdout
                .lines()
                .filter(|l| l.contains(" passed for resource "))
                .count()
                + String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .filter(|l| l.contains(" passed for resource "))
                    .count();
            assert_eq!(passed, builtin, "{stdout}");
        }
    }
    // The validation means something: a misspelt field of the webhook fails it.
    let misspelt = render(&[]).replace("sideEffects: None", "sideEffect: None");
    assert!(!kubernetes_validate(&misspelt, "1.37.0").status.success());
}

fn check(manifests: &str) -> (Option<i32>, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iredmail-ports"))
        .args(["check", "-", "--format", "json", "--fail-on", "warning"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run iredmail-ports");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(manifests.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("iredmail-ports finished");
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}):\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), report)
}

/// iredmail-ports reads its own chart as valid Kubernetes: every object typed, no
/// invalid-input, and one finding, the webhook's own HTTPS port, which the Service's
/// annotation suppresses with its reason; so even `--fail-on warning` passes.
#[test]
fn iredmail_ports_check_accepts_the_rendered_chart() {
    let defaults = render(&[]);
    let everything = render(&[
        "--set",
        "tls.mode=cert-manager,serviceMonitor.enabled=true,mode=warn",
        "--set-json",
        r#"networkPolicy.apiServerCIDRs=["10.0.0.0/24"]"#,
        "--set-json",
        r#"networkPolicy.metricsSources=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]"#,
    ]);
    // cert-manager: no Secret, but two Issuers and two Certificates (the CA's and the
    // serving one); and the ServiceMonitor.
    for (manifests, objects) in [(defaults, 9), (everything, 13)] {
        let (code, report) = check(&manifests);
        assert_eq!(code, Some(0), "{report:#}");
        assert_eq!(
            report["summary"],
            json!({"error": 0, "warning": 0, "note": 0, "suppressed": 1, "files": 1, "objects": objects}),
        );
        let line = manifests
            .lines()
            .position(|l| l.trim() == "port: 443")
            .map(|index| index + 1)
            .expect("the Service's port line");
        assert_eq!(
            report["findings"],
            json!([{
                "rule": "unknown-port",
                "severity": "warning",
                "port": 8443,
                "protocol": "TCP",
                "service": null,
                "scope": "cluster",
                "allowed_scope": null,
                "object": format!("Service/{NAMESPACE}/{FULLNAME}"),
                "message": "port 443 reaches 8443/TCP in the container from every pod in the cluster through a ClusterIP Service, but 8443 is not an iRedMail port",
                "location": {"path": "-", "line": line, "column": 7,
                             "template": "iredmail-ports/templates/service.yaml"},
                "suppressed": {"by": "annotation",
                               "reason": "the admission webhook's own HTTPS port, called by the API server"}
            }])
        );
    }
}

#[test]
fn values_schema_rejects_wrong_values() {
    let cases = [
        (
            vec!["--set", "replicaCount=two"],
            "at '/replicaCount': got string, want integer",
        ),
        (
            vec!["--set", "webhook.failurePolicy=Sometimes"],
            "at '/webhook/failurePolicy': value must be one of 'Ignore', 'Fail'",
        ),
        (
            vec!["--set", "webhook.failurepolicy=Fail"],
            "at '/webhook': additional properties 'failurepolicy' not allowed",
        ),
        (
            vec!["--set", "webhook.timeoutSeconds=60"],
            "at '/webhook/timeoutSeconds'",
        ),
        (vec!["--set", "tls.mode=vault"], "at '/tls/mode'"),
        (vec!["--set", "containerPort=70000"], "at '/containerPort'"),
        (vec!["--set", "audit.interval=soon"], "at '/audit/interval'"),
        (vec!["--set", "audit.interval=0s"], "at '/audit/interval'"),
    ];
    for (values, expected) in cases {
        let output = template_output(&values);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{values:?} rendered");
        assert!(stderr.contains(expected), "{values:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{values:?} printed manifests");
    }
    let both = template_output(&["--set", "catalogue.content=x,catalogue.existingConfigMap=y"]);
    assert!(!both.status.success());
    assert!(
        String::from_utf8_lossy(&both.stderr)
            .contains("catalogue: set either content or existingConfigMap, not both")
    );
}

#[test]
fn helm_lint_passes_the_chart_and_fails_a_wrong_value() {
    let clean = helm(&["lint", "charts/iredmail-ports", "--strict"]);
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert!(
        clean.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert!(
        stdout.contains("1 chart(s) linted, 0 chart(s) failed"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("[ERROR]") && !stdout.contains("[WARNING]"),
        "{stdout}"
    );

    let wrong = helm(&["lint", "charts/iredmail-ports", "--set", "replicaCount=two"]);
    let stdout = String::from_utf8_lossy(&wrong.stdout);
    assert!(!wrong.status.success());
    assert!(
        stdout.contains("[ERROR] values.yaml: - at '/replicaCount': got string, want integer"),
        "{stdout}"
    );
}

#[test]
fn notes_tell_how_to_enable_a_namespace() {
    let notes = render(&["--notes"]);
    assert!(notes.contains("in enforce mode"), "{notes}");
    assert!(
        notes.contains("kubectl label namespace mail iredmail-ports.io/webhook=enabled"),
        "{notes}"
    );
    assert!(
        notes.contains(&format!(
            "Never checked: {NAMESPACE}, kube-system, kube-public, kube-node-lease."
        )),
        "{notes}"
    );
    assert!(notes.contains("failurePolicy Ignore"), "{notes}");
    assert!(!notes.contains("WARNING"), "{notes}");
    assert!(
        notes.contains(&format!(
            "Network: the NetworkPolicy {FULLNAME} admits port 8443 only from networkPolicy.apiServerSources."
        )),
        "{notes}"
    );
    assert!(
        notes.contains("list its addresses in networkPolicy.apiServerCIDRs"),
        "{notes}"
    );
    // Addresses given: no advice to give them; a ServiceMonitor the policy keeps out warns.
    let scraped = render(&[
        "--notes",
        "--set",
        "serviceMonitor.enabled=true,tls.mode=cert-manager",
        "--set-json",
        r#"networkPolicy.apiServerCIDRs=["10.0.0.0/24"]"#,
    ]);
    assert!(
        scraped.contains("only from networkPolicy.apiServerSources and 10.0.0.0/24."),
        "{scraped}"
    );
    assert!(!scraped.contains("list its addresses"), "{scraped}");
    assert!(
        scraped.contains("WARNING: the NetworkPolicy keeps Prometheus from /metrics"),
        "{scraped}"
    );
    assert!(
        scraped.contains(&format!("from the chart's CA {FULLNAME}-ca (valid 87600h)")),
        "{scraped}"
    );

    let fragile = render(&[
        "--notes",
        "--set",
        "webhook.failurePolicy=Fail,replicaCount=1,mode=audit",
    ]);
    assert!(fragile.contains("in audit mode"), "{fragile}");
    assert!(
        fragile.contains("refuses matching requests (failurePolicy Fail)"),
        "{fragile}"
    );
    assert!(
        fragile.contains("WARNING: failurePolicy Fail with a single replica"),
        "{fragile}"
    );
}

/// The Dockerfile's instructions as BuildKit's own parser reads them (the PyPI package
/// `dockerfile` wraps it): `[{"cmd", "flags", "value"}]`.
fn dockerfile_instructions() -> Vec<Value> {
    let script = "import dockerfile, json, sys\n\
                  print(json.dumps([{'cmd': c.cmd, 'flags': list(c.flags), 'value': list(c.value)}\n\
                                    for c in dockerfile.parse_file(sys.argv[1])]))";
    let output = Command::new(tools_bin().join("python"))
        .args(["-c", script])
        .arg(root().join("Dockerfile"))
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "the Dockerfile does not parse:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("instructions as JSON")
}

/// The image the chart runs: built by `cargo build --release --locked` in a first stage,
/// shipped alone on distroless/static as the user the chart's securityContext expects, with
/// the binary as entrypoint (the chart passes `serve …` as args) and the chart's port.
#[test]
fn the_dockerfile_builds_the_image_the_chart_expects() {
    let instructions = dockerfile_instructions();
    let of =
        |cmd: &str| -> Vec<&Value> { instructions.iter().filter(|i| i["cmd"] == cmd).collect() };
    let stages = of("FROM");
    assert_eq!(stages.len(), 2, "a build stage and a runtime stage");
    assert!(strings(&stages[0]["value"]).ends_with(&["AS".to_string(), "build".to_string()]));
    assert_eq!(
        strings(&stages[1]["value"]),
        ["gcr.io/distroless/static-debian12:nonroot"]
    );
    let builds: Vec<String> = of("RUN")
        .iter()
        .flat_map(|run| strings(&run["value"]))
        .filter(|command| command.contains("cargo build"))
        .collect();
    assert_eq!(builds.len(), 1, "{builds:?}");
    for flag in ["--release", "--locked", "-unknown-linux-musl"] {
        assert!(builds[0].contains(flag), "{flag} missing: {}", builds[0]);
    }
    let copies = of("COPY");
    let shipped = copies.last().expect("COPY into the runtime stage");
    assert_eq!(shipped["flags"], json!(["--from=build"]));
    let binary = strings(&shipped["value"])[1].clone();
    assert_eq!(strings(&of("ENTRYPOINT")[0]["value"]), [binary]);

    let objects = render_objects(&[]);
    let pod = &one(&objects, "Deployment")["spec"]["template"]["spec"];
    let (user, group) = (
        &pod["securityContext"]["runAsUser"],
        &pod["securityContext"]["runAsGroup"],
    );
    assert_eq!(
        strings(&of("USER")[0]["value"]),
        [format!("{user}:{group}")]
    );
    let port = &container(&objects)["ports"][0]["containerPort"];
    assert_eq!(strings(&of("EXPOSE")[0]["value"]), [port.to_string()]);
}

fn check_paths(dir: &Path, paths: &[&str]) -> (Option<i32>, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_iredmail-ports"))
        .arg("check")
        .args(paths)
        .args(["--format", "json"])
        .current_dir(dir)
        .output()
        .expect("run iredmail-ports");
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}):\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), report)
}

/// A directory walk (`check .`, the GitHub Action's default) does not read a chart's Go
/// templates, which are no YAML until rendered; a `templates/` that is not a chart's is
/// still read. With nothing else to check, the run says how to render the chart and exits
/// 2, unless `--allow-no-manifests`.
#[test]
fn a_directory_walk_skips_helm_templates() {
    let output = Command::new(env!("CARGO_BIN_EXE_iredmail-ports"))
        .args(["check", "charts"])
        .current_dir(root())
        .output()
        .expect("run iredmail-ports");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: nothing to check: charts holds no Kubernetes manifest, Compose file or \
         Ansible playbook (3 YAML or JSON files of other kinds); the Helm templates in \
         charts/iredmail-ports/templates are no manifests until rendered: helm template \
         RELEASE charts/iredmail-ports | iredmail-ports check - (--allow-no-manifests lets \
         such a run pass)\n"
    );
    let (code, report) = check_paths(root(), &["charts", "--allow-no-manifests"]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["findings"], json!([]));
    assert_eq!(report["summary"]["objects"], 0);

    let dir = tempfile::tempdir().expect("temp dir");
    let template =
        std::fs::read_to_string(root().join("charts/iredmail-ports/templates/service.yaml"))
            .expect("read a template");
    for (folder, chart) in [("chart", true), ("plain", false)] {
        let templates = dir.path().join(folder).join("templates");
        std::fs::create_dir_all(&templates).expect("create templates/");
        std::fs::write(templates.join("service.yaml"), &template).expect("write template");
        if chart {
            std::fs::write(
                dir.path().join(folder).join("Chart.yaml"),
                "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
            )
            .expect("write Chart.yaml");
        }
    }
    let (code, report) = check_paths(dir.path(), &["."]);
    assert_eq!(code, Some(1), "{report:#}");
    let findings = report["findings"].as_array().expect("findings");
    assert!(!findings.is_empty());
    for finding in findings {
        assert_eq!(finding["rule"], "invalid-input");
        assert_eq!(
            finding["location"]["path"],
            "./plain/templates/service.yaml"
        );
    }
}

/// The webhook's CEL matchCondition, evaluated by a CEL implementation (cel-python) on
/// AdmissionRequest-shaped inputs: only objects a controller owns are skipped, and a DELETE
/// (no `object`) is always sent. A condition that does not compile would make the API server
/// refuse the whole configuration.
#[test]
fn the_match_condition_skips_only_objects_a_controller_owns() {
    let objects = render_objects(&[]);
    let expression = webhook(&objects)["matchConditions"][0]["expression"]
        .as_str()
        .expect("expression")
        .to_string();
    let owned = json!({"metadata": {"name": "mariadb-5d8f", "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "mariadb-5d8f", "uid": "1", "controller": true}
    ]}});
    let referenced = json!({"metadata": {"name": "mariadb", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "2"}
    ]}});
    let bare = json!({"metadata": {"name": "mariadb"}});
    let cases = json!([
        ["CREATE", owned, false],
        ["UPDATE", owned, false],
        ["CREATE", referenced, true],
        ["CREATE", bare, true],
        ["UPDATE", bare, true],
        ["DELETE", null, true],
    ]);
    let script = "import celpy, json, sys\n\
                  env = celpy.Environment()\n\
                  program = env.program(env.compile(sys.argv[1]))\n\
                  results = []\n\
                  for operation, obj, _ in json.loads(sys.argv[2]):\n\
                  \x20   activation = {'request': celpy.json_to_cel({'operation': operation}),\n\
                  \x20                 'object': celpy.json_to_cel(obj)}\n\
                  \x20   results.append(bool(program.evaluate(activation)))\n\
                  print(json.dumps(results))";
    let output = Command::new(tools_bin().join("python"))
        .args(["-c", script, &expression, &cases.to_string()])
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "{expression}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Value = serde_json::from_slice(&output.stdout).expect("results");
    let expected: Vec<Value> = cases
        .as_array()
        .expect("cases")
        .iter()
        .map(|case| case[2].clone())
        .collect();
    assert_eq!(results, Value::Array(expected), "{expression}");
}

/// Every value path the schema knows, with whether it is a leaf (no `properties`);
/// `$ref`s to the schema's own definitions are followed.
fn schema_paths(root: &Value, schema: &Value, prefix: &str, paths: &mut BTreeMap<String, bool>) {
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    for (key, property) in properties {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let property = match property["$ref"].as_str() {
            Some(reference) => root
                .pointer(reference.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("unresolved {reference}")),
            None => property,
        };
        paths.insert(path.clone(), property.get("properties").is_none());
        schema_paths(root, property, &path, paths);
    }
}

/// The keys in the first column of the chart README's values table.
fn documented_values() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(root().join("charts/iredmail-ports/README.md"))
        .expect("read the chart README");
    let table = readme
        .split("## Values")
        .nth(1)
        .expect("a Values section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    table
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|cell| cell.split_once('`').map(|(key, _)| key.to_string()))
        .collect()
}

/// The README's values table and values.schema.json agree: every value is documented
/// (itself or the object holding it), and no row names a value that does not exist. The
/// schema in turn refuses any key that values.yaml has and it lacks (every render
/// validates the defaults against it).
#[test]
fn the_readme_documents_every_value_of_the_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("charts/iredmail-ports/values.schema.json"))
            .expect("read values.schema.json"),
    )
    .expect("values.schema.json is JSON");
    let mut paths = BTreeMap::new();
    schema_paths(&schema, &schema, "", &mut paths);
    let documented = documented_values();
    assert!(documented.len() > 40, "{documented:?}");
    for key in &documented {
        assert!(
            paths.contains_key(key),
            "README documents `{key}`, which the schema lacks"
        );
    }
    for (path, leaf) in &paths {
        let mut ancestors = std::iter::successors(Some(path.as_str()), |p| {
            p.rsplit_once('.').map(|(parent, _)| parent)
        });
        assert!(
            !leaf || ancestors.any(|p| documented.contains(p)),
            "`{path}` is not in the README's values table"
        );
    }
}

/// The kinds each `admission.mode` installs: `policy` needs no running pod, so nothing of
/// the webhook (no Deployment, Service, webhook configuration, certificate, budget, RBAC).
#[test]
fn each_admission_mode_installs_exactly_its_kinds() {
    let policy_kinds = [
        "ConfigMap",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingAdmissionPolicyBinding",
    ];
    let mut both: Vec<&str> = WEBHOOK_KINDS.iter().chain(&policy_kinds).copied().collect();
    both.sort();
    for (mode, expected) in [
        ("webhook", WEBHOOK_KINDS.to_vec()),
        ("policy", policy_kinds.to_vec()),
        ("both", both),
    ] {
        let objects = render_objects(&["--set", &format!("admission.mode={mode}")]);
        assert_eq!(kinds(&objects), expected, "admission.mode={mode}");
    }
    // Every other webhook option stays off in policy mode, whatever it says.
    let objects = render_objects(&[
        "--set",
        "admission.mode=policy,serviceMonitor.enabled=true,tls.mode=cert-manager",
    ]);
    assert_eq!(kinds(&objects), policy_kinds);

    let refused = template_output(&["--set", "admission.mode=sometimes"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("at '/admission/mode'"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // The params are the embedded catalogue's: a custom one would judge by two catalogues.
    let custom = template_output(&["--set", "admission.mode=both,catalogue.content=x"]);
    assert!(!custom.status.success());
    assert!(
        String::from_utf8_lossy(&custom.stderr)
            .contains("for a custom catalogue apply `iredmail-ports policy vap --catalogue FILE`"),
        "{}",
        String::from_utf8_lossy(&custom.stderr)
    );
}

const COMMITTED_POLICY: &str = "charts/iredmail-ports/files/admission-policy.txt";

fn policy_vap(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_iredmail-ports"))
        .args(["policy", "vap"])
        .args(args)
        .output()
        .expect("run iredmail-ports policy vap");
    assert!(
        output.status.success(),
        "policy vap {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 YAML")
}

/// Helm cannot run the binary, so the chart ships its output; a change to the catalogue or
/// the CEL must regenerate that copy.
#[test]
fn the_charts_policy_copy_is_what_policy_vap_generates() {
    let committed =
        std::fs::read_to_string(root().join(COMMITTED_POLICY)).expect("read the committed policy");
    assert!(
        committed == policy_vap(&[]),
        "{COMMITTED_POLICY} is stale: regenerate it with \
         `cargo run -- policy vap --output {COMMITTED_POLICY}`"
    );
}

/// `policy vap`'s objects with the substitutions the chart makes (names prefixed with the
/// release's full name, params in the release namespace), so they compare equal to the
/// rendered ones outside labels and the namespaceSelector, which are compared apart.
fn as_the_chart_names_them(mut object: Value) -> Value {
    let params = format!("{FULLNAME}-policy-params");
    let name = object["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_string();
    object["metadata"]["name"] = json!(match object["kind"].as_str() {
        Some("ConfigMap") => params.clone(),
        _ => format!("{FULLNAME}-{}", name.trim_start_matches("iredmail-ports-")),
    });
    if object["kind"] == "ValidatingAdmissionPolicyBinding" {
        object["spec"]["policyName"] = object["metadata"]["name"].clone();
        object["spec"]["paramRef"]["name"] = json!(params);
    }
    object
}

/// What the chart renders in policy mode is, object for object, what `policy vap` generates
/// for the same action, params namespace and namespace selector: only names and labels
/// differ, and the chart's namespaceSelector excludes more namespaces, never fewer.
#[test]
fn the_rendered_policy_is_policy_vap_for_the_same_settings() {
    for (mode, action) in [("enforce", "deny"), ("warn", "warn"), ("audit", "audit")] {
        let rendered = render_objects(&["--set", &format!("admission.mode=policy,mode={mode}")]);
        let generated = objects(&policy_vap(&[
            "--action",
            action,
            "--params-namespace",
            NAMESPACE,
            "--namespace-selector",
            "iredmail-ports.io/webhook=enabled",
        ]));
        assert_eq!(rendered.len(), generated.len(), "{mode}");
        for expected in generated {
            let expected = as_the_chart_names_them(expected);
            let mut actual = rendered
                .iter()
                .find(|o| {
                    o["kind"] == expected["kind"]
                        && o["metadata"]["name"] == expected["metadata"]["name"]
                })
                .unwrap_or_else(|| panic!("{mode}: no {} rendered", expected["metadata"]["name"]))
                .clone();
            let labels = actual["metadata"]["labels"]
                .as_object()
                .expect("labels")
                .clone();
            for (key, value) in expected["metadata"]["labels"].as_object().expect("labels") {
                assert_eq!(labels.get(key), Some(value), "{mode}: label {key}");
            }
            assert_eq!(labels["app.kubernetes.io/instance"], RELEASE);
            actual["metadata"]["labels"] = expected["metadata"]["labels"].clone();
            if expected["kind"] == "ValidatingAdmissionPolicyBinding" {
                let path = "/spec/matchResources/namespaceSelector";
                let (chart, generator) = (
                    actual.pointer(path).expect("selector").clone(),
                    expected.pointer(path).expect("selector").clone(),
                );
                assert_eq!(chart["matchLabels"], generator["matchLabels"]);
                assert_eq!(
                    chart["matchExpressions"],
                    json!([{"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                            "values": [NAMESPACE, "kube-system", "kube-public", "kube-node-lease"]}])
                );
                assert_eq!(
                    generator["matchExpressions"],
                    json!([{"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                            "values": ["kube-system"]}])
                );
                *actual.pointer_mut(path).expect("selector") = generator;
            }
            assert!(
                actual == expected,
                "{mode}: {} differs",
                expected["metadata"]["name"]
            );
        }
    }
}

/// The bindings exclude kube-system whatever the selector and the exclusions say: a
/// `NotIn` expression is ANDed with every other requirement of the selector.
#[test]
fn the_policy_bindings_never_select_kube_system() {
    for values in [
        vec!["--set", "admission.mode=policy"],
        vec![
            "--set",
            "admission.mode=both",
            "--set-json",
            "webhook.excludedNamespaces=[]",
            "--set-json",
            "webhook.namespaceSelector=null",
        ],
        vec![
            "--set",
            "admission.mode=policy",
            "--set-json",
            "webhook.excludedNamespaces=[]",
            "--set-json",
            r#"webhook.namespaceSelector={"matchLabels":null,"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"In","values":["kube-system","mail"]}]}"#,
        ],
    ] {
        let objects = render_objects(&values);
        let bindings = find(&objects, "ValidatingAdmissionPolicyBinding");
        assert_eq!(bindings.len(), 2, "{values:?}");
        for binding in bindings {
            let selector = &binding["spec"]["matchResources"]["namespaceSelector"];
            let excludes = selector["matchExpressions"]
                .as_array()
                .expect("matchExpressions")
                .iter()
                .any(|e| {
                    e["key"] == "kubernetes.io/metadata.name"
                        && e["operator"] == "NotIn"
                        && strings(&e["values"]).contains(&"kube-system".to_string())
                });
            assert!(excludes, "{values:?}: {selector}");
        }
    }
}

/// The policy objects pass Kubernetes' own schemas, strict, from 1.30 (where
/// ValidatingAdmissionPolicy v1 is GA) to the newest.
#[test]
fn the_rendered_policy_mode_passes_the_kubernetes_schemas() {
    let manifests = render(&["--set", "admission.mode=policy"]);
    for version in ["1.30.0", "1.37.0"] {
        let output = kubernetes_validate(&manifests, version);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "kubernetes-validate {version}:\n{all}"
        );
        let passed = all
            .lines()
            .filter(|l| l.contains(" passed for resource "))
            .count();
        assert_eq!(passed, 5, "{all}");
    }
}

/// On deletion the pod keeps answering for `shutdown.preStopSeconds` (the kubelet's sleep
/// action: the image has no shell) while endpoints drain, then serve drains its reviews for
/// `--shutdown-grace`; the kubelet's grace period covers both, so it never kills a drain.
#[test]
fn a_pre_stop_delay_drains_endpoints_before_the_listener_closes() {
    for (values, pre_stop, grace) in [
        ("", Some(10), 30),
        (
            "shutdown.preStopSeconds=20,shutdown.graceSeconds=15",
            Some(20),
            15,
        ),
        ("shutdown.preStopSeconds=0", None, 30),
    ] {
        let flags: Vec<&str> = if values.is_empty() {
            vec![]
        } else {
            vec!["--set", values]
        };
        let objects = render_objects(&flags);
        let container = container(&objects);
        let pod = &one(&objects, "Deployment")["spec"]["template"]["spec"];
        match pre_stop {
            Some(seconds) => assert_eq!(
                container["lifecycle"],
                json!({"preStop": {"sleep": {"seconds": seconds}}}),
                "{values}"
            ),
            None => assert!(container.get("lifecycle").is_none(), "{values}"),
        }
        let args = strings(&container["args"]);
        let at = args
            .iter()
            .position(|a| a == "--shutdown-grace")
            .expect("--shutdown-grace");
        assert_eq!(args[at + 1], grace.to_string(), "{values}");
        let period = pod["terminationGracePeriodSeconds"]
            .as_i64()
            .expect("grace period");
        assert!(period > pre_stop.unwrap_or(0) + grace, "{values}: {period}");
    }
}
