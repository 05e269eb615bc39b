//! `iredmail-ports policy vap`: the generated ValidatingAdmissionPolicies give, object by
//! object, the verdict `check` gives on that object alone. Their CEL runs here as the API
//! server runs it (variables in order, then validations, with `object`, `oldObject`,
//! `params`, `request` and `namespaceObject`) in two implementations: cel-rust, and
//! cel-python from the tool venv on the same vectors. The YAML passes Kubernetes' own
//! OpenAPI schemas (kubernetes-validate, strict).

#[path = "common/tools.rs"]
mod tools;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cel::{Context, Env, Program, Value as Cel};
use iredmail_ports::load::kinds;
use iredmail_ports::model::Rule;
use iredmail_ports::policy::{Action, LabelSelector, VapOptions, vap};
use iredmail_ports::{Catalogue, Config, Engine, Rules};
use serde_json::{Value, json};
use tools::tools_bin;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn options() -> VapOptions {
    VapOptions {
        action: Action::Deny,
        namespace_selector: LabelSelector::default(),
        params_namespace: "iredmail-ports-system".into(),
    }
}

/// What admission does with an object: refused, admitted with a warning, or admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Verdict {
    Allow,
    Warn,
    Deny,
}

/// `check`'s verdict on the object alone, for the rules the policies carry.
fn check_verdict(engine: &Engine, object: &Value) -> Verdict {
    let report = engine.check_live(std::slice::from_ref(object), Vec::new(), Rules::ObjectAlone);
    let fired = |rules: &[Rule]| {
        report
            .findings
            .iter()
            .any(|f| f.suppressed.is_none() && rules.contains(&f.rule))
    };
    // An ignore annotation without a reason makes `check` refuse the object; the other
    // invalid inputs (ports out of range, unknown protocols) the API server's own schema
    // validation refuses before any policy runs.
    let unreasoned = report.findings.iter().any(|f| {
        f.rule == Rule::InvalidInput && f.message.contains("iredmail-ports.io/ignore-reason")
    });
    if unreasoned || fired(&[Rule::InternalPortExposed]) {
        Verdict::Deny
    } else if fired(&[
        Rule::DeprecatedPort,
        Rule::RemovedService,
        Rule::HostNetwork,
    ]) {
        Verdict::Warn
    } else {
        Verdict::Allow
    }
}

fn to_cel(value: &Value) -> Cel {
    match value {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Cel::Float(n.as_f64().unwrap_or_default()), Cel::Int),
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Array(items) => Cel::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => {
            let map: HashMap<String, Cel> =
                map.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            Cel::from(map)
        }
    }
}

/// A policy compiled for cel-rust.
struct Compiled {
    env: Arc<Env>,
    variables: Vec<(String, Program)>,
    validations: Vec<(Program, Program)>,
}

impl Compiled {
    fn new(policy: &Value) -> Compiled {
        let mut env = Env::stdlib();
        env.add_extension(cel::extensions::strings)
            .expect("the strings extension");
        let env = Arc::new(env);
        let compile = |source: &Value| {
            let source = source.as_str().expect("an expression");
            env.compile(source)
                .unwrap_or_else(|e| panic!("{source}\n{e:?}"))
        };
        let spec = &policy["spec"];
        let variables = spec["variables"]
            .as_array()
            .expect("variables")
            .iter()
            .map(|v| {
                (
                    v["name"].as_str().expect("name").to_string(),
                    compile(&v["expression"]),
                )
            })
            .collect();
        let validations = spec["validations"]
            .as_array()
            .expect("validations")
            .iter()
            .map(|v| (compile(&v["expression"]), compile(&v["messageExpression"])))
            .collect();
        Compiled {
            env,
            variables,
            validations,
        }
    }

    /// The messages of the validations that fail.
    fn failures(&self, inputs: &HashMap<&str, Value>) -> Vec<String> {
        let mut context = Context::with_env(self.env.clone());
        for (name, value) in inputs {
            context.add_variable_from_value(*name, to_cel(value));
        }
        let mut variables: HashMap<String, Cel> = HashMap::new();
        for (name, program) in &self.variables {
            context.add_variable_from_value("variables", Cel::from(variables.clone()));
            let value = program
                .execute(&context)
                .unwrap_or_else(|e| panic!("variable {name}: {e:?}\n{inputs:#?}"));
            variables.insert(name.clone(), value);
        }
        context.add_variable_from_value("variables", Cel::from(variables));
        let mut failures = Vec::new();
        for (expression, message) in &self.validations {
            match expression.execute(&context) {
                Ok(Cel::Bool(true)) => {}
                Ok(Cel::Bool(false)) => match message.execute(&context) {
                    Ok(Cel::String(text)) => failures.push(text.to_string()),
                    other => panic!("messageExpression gave {other:?}"),
                },
                other => panic!("validation gave {other:?}\n{inputs:#?}"),
            }
        }
        failures
    }
}

/// The inputs the API server gives an expression for a CREATE of `object`.
fn admission_inputs<'a>(object: &Value, params: &Value) -> HashMap<&'a str, Value> {
    let namespace = object["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default");
    HashMap::from([
        ("object", object.clone()),
        ("oldObject", Value::Null),
        ("params", params.clone()),
        (
            "request",
            json!({"operation": "CREATE", "namespace": namespace,
                   "kind": {"kind": object["kind"]}, "name": object["metadata"]["name"]}),
        ),
        (
            "namespaceObject",
            json!({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": namespace,
                                "labels": {"kubernetes.io/metadata.name": namespace}}}),
        ),
    ])
}

/// The two policies and the params of a catalogue.
struct Generated {
    params: Value,
    exposure: Value,
    lifecycle: Value,
}

fn generated(catalogue: &Catalogue) -> Generated {
    let objects = vap::generate(catalogue, &options());
    let named = |name: &str| {
        objects
            .iter()
            .find(|o| o["kind"] == "ValidatingAdmissionPolicy" && o["metadata"]["name"] == name)
            .cloned()
            .expect("the policy")
    };
    Generated {
        params: objects[0].clone(),
        exposure: named(vap::EXPOSURE_POLICY),
        lifecycle: named(vap::LIFECYCLE_POLICY),
    }
}

fn matched_kinds() -> Vec<&'static str> {
    vec![
        "Service",
        "Pod",
        "ReplicationController",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "CronJob",
    ]
}

/// Every object of every Kubernetes fixture, with the catalogue its fixture uses.
fn fixture_objects() -> Vec<(PathBuf, bool, Value)> {
    let mut objects = Vec::new();
    let dir = root().join("tests/fixtures/kubernetes");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    for case in cases {
        let implicit_tls = case.join("implicit-tls").exists();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&case)
            .expect("fixture")
            .map(|e| e.expect("entry").path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
            })
            .collect();
        files.sort();
        for file in files {
            // The invalid-input fixtures (binary bytes, broken YAML) are objects the API
            // server would never admit: nothing to compare.
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let Ok(documents) = serde_saphyr::from_multiple::<Value>(&text) else {
                continue;
            };
            for document in documents {
                let items = if document["kind"] == "List" {
                    document["items"].as_array().cloned().unwrap_or_default()
                } else {
                    vec![document]
                };
                for item in items.into_iter().filter(|o| o.is_object()) {
                    objects.push((file.clone(), implicit_tls, item));
                }
            }
        }
    }
    objects
}

/// Objects the fixtures lack, for the corners of the policy: an internal load balancer
/// whose annotation is spelt in capitals, host addresses, the ignore annotation, a
/// CronJob's hostPort, externalIPs on a ClusterIP, a UDP port, a named targetPort.
fn corner_objects() -> Vec<Value> {
    let service = |name: &str, spec: Value, annotations: Value| {
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, "namespace": "mail", "annotations": annotations},
               "spec": spec})
    };
    let pod = |name: &str, spec: Value, annotations: Value| {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": "mail", "annotations": annotations},
               "spec": spec})
    };
    let port = |p: u16| json!({"name": "p", "containerPort": p});
    vec![
        service(
            "internal-lb",
            json!({"type": "LoadBalancer", "ports": [{"port": 3306}]}),
            json!({"service.beta.kubernetes.io/aws-load-balancer-internal": "TRUE"}),
        ),
        service(
            "internal-lb-external-ips",
            json!({"type": "LoadBalancer", "externalIPs": ["203.0.113.5"], "ports": [{"port": 993}]}),
            json!({"networking.gke.io/load-balancer-type": "Internal"}),
        ),
        service(
            "external-ips",
            json!({"externalIPs": ["203.0.113.5"], "ports": [{"port": 8080, "targetPort": 7777}]}),
            json!({}),
        ),
        service(
            "named-target",
            json!({"type": "NodePort", "ports": [{"port": 3306, "targetPort": "mysql"}]}),
            json!({}),
        ),
        service(
            "numeric-string-target",
            json!({"type": "NodePort", "ports": [{"port": 80, "targetPort": "3306"}]}),
            json!({}),
        ),
        service(
            "udp",
            json!({"type": "LoadBalancer", "ports": [{"port": 3306, "protocol": "UDP"}]}),
            json!({}),
        ),
        service(
            "ignored",
            json!({"type": "LoadBalancer", "ports": [{"port": 3306}, {"port": 993}]}),
            json!({"iredmail-ports.io/ignore": "internal-port-exposed:3306, deprecated-port",
                   "iredmail-ports.io/ignore-reason": "behind the office VPN"}),
        ),
        service(
            "ignored-other-port",
            json!({"type": "LoadBalancer", "ports": [{"port": 3306}]}),
            json!({"iredmail-ports.io/ignore": "internal-port-exposed:5432",
                   "iredmail-ports.io/ignore-reason": "another port"}),
        ),
        service(
            "ignored-without-reason",
            json!({"type": "LoadBalancer", "ports": [{"port": 3306}]}),
            json!({"iredmail-ports.io/ignore": "internal-port-exposed"}),
        ),
        service(
            "clusterip-removed",
            json!({"ports": [{"port": 10031}]}),
            json!({}),
        ),
        pod(
            "host-loopback",
            json!({"containers": [{"name": "db", "ports": [{"containerPort": 3306, "hostPort": 3306, "hostIP": "127.0.0.1"}]}]}),
            json!({}),
        ),
        pod(
            "host-private",
            json!({"containers": [{"name": "db", "ports": [{"containerPort": 3306, "hostPort": 3306, "hostIP": "10.1.2.3"}]}]}),
            json!({}),
        ),
        pod(
            "host-private-v6",
            json!({"containers": [{"name": "db", "ports": [{"containerPort": 993, "hostPort": 993, "hostIP": "fd00::5"}]}]}),
            json!({}),
        ),
        pod(
            "host-public",
            json!({"initContainers": [{"name": "db", "ports": [{"containerPort": 389, "hostPort": 30389, "hostIP": "198.51.100.7"}]}],
                   "containers": [{"name": "web", "ports": [port(443)]}]}),
            json!({}),
        ),
        pod(
            "host-network-ignored",
            json!({"hostNetwork": true, "containers": [{"name": "web", "ports": [port(443)]}]}),
            json!({"iredmail-ports.io/ignore": "host-network", "iredmail-ports.io/ignore-reason": "ingress node"}),
        ),
        pod(
            "removed-listener",
            json!({"containers": [{"name": "policyd", "ports": [port(10031)]}]}),
            json!({}),
        ),
        json!({"apiVersion": "batch/v1", "kind": "CronJob",
               "metadata": {"name": "backup", "namespace": "mail"},
               "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": {
                   "containers": [{"name": "dump", "ports": [{"containerPort": 5432, "hostPort": 5432}]}]}}}}}}),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
               "metadata": {"name": "edge", "namespace": "mail"},
               "spec": {"selector": {}, "template": {"spec": {"hostNetwork": true,
                   "containers": [{"name": "imap", "ports": [port(143)]}]}}}}),
    ]
}

/// One judged object: where it comes from, the catalogue, the object, and `check`'s verdict.
struct Case {
    origin: String,
    implicit_tls: bool,
    object: Value,
    expected: Verdict,
}

fn cases() -> Vec<Case> {
    let default = Catalogue::embedded_default().expect("catalogue");
    let implicit = Catalogue::embedded_implicit_tls().expect("catalogue");
    let engines = [
        Engine::new(&default, Config::default()),
        Engine::new(&implicit, Config::default()),
    ];
    let fixtures = fixture_objects()
        .into_iter()
        .map(|(file, implicit_tls, object)| {
            let origin = file
                .strip_prefix(root())
                .unwrap_or(&file)
                .display()
                .to_string();
            (origin, implicit_tls, object)
        });
    let corners = corner_objects()
        .into_iter()
        .map(|object| ("corner".to_string(), false, object));
    fixtures
        .chain(corners)
        .map(|(origin, implicit_tls, object)| Case {
            expected: check_verdict(&engines[usize::from(implicit_tls)], &object),
            origin,
            implicit_tls,
            object,
        })
        .collect()
}

fn id(object: &Value) -> String {
    format!(
        "{}/{}",
        object["kind"].as_str().unwrap_or("?"),
        object["metadata"]["name"].as_str().unwrap_or("?")
    )
}

fn policy_verdict(exposure: &[String], lifecycle: &[String]) -> Verdict {
    if !exposure.is_empty() {
        Verdict::Deny
    } else if !lifecycle.is_empty() {
        Verdict::Warn
    } else {
        Verdict::Allow
    }
}

#[test]
fn the_policy_gives_checks_verdict_on_every_fixture_object_in_cel_rust_and_cel_python() {
    let catalogues = [
        generated(&Catalogue::embedded_default().expect("catalogue")),
        generated(&Catalogue::embedded_implicit_tls().expect("catalogue")),
    ];
    let compiled: Vec<(Compiled, Compiled)> = catalogues
        .iter()
        .map(|g| (Compiled::new(&g.exposure), Compiled::new(&g.lifecycle)))
        .collect();
    let kinds = matched_kinds();
    let mut wrong = Vec::new();
    let mut unmatched = Vec::new();
    let mut vectors = Vec::new();
    let mut counts: HashMap<Verdict, usize> = HashMap::new();
    for case in cases() {
        let kind = case.object["kind"].as_str().unwrap_or_default();
        if !kinds.contains(&kind) {
            // Not matched by the policy: `check` alone has nothing of its rules to say, but
            // for the routes that expose a backend port (documented as the policy's limit).
            if case.expected != Verdict::Allow {
                unmatched.push(format!("{} {}", case.origin, id(&case.object)));
            }
            continue;
        }
        let index = usize::from(case.implicit_tls);
        let inputs = admission_inputs(&case.object, &catalogues[index].params);
        let exposure = compiled[index].0.failures(&inputs);
        let lifecycle = compiled[index].1.failures(&inputs);
        let verdict = policy_verdict(&exposure, &lifecycle);
        *counts.entry(verdict).or_default() += 1;
        if verdict != case.expected {
            wrong.push(format!(
                "{} {}: policy {verdict:?} {exposure:?} {lifecycle:?}, check {:?}",
                case.origin,
                id(&case.object),
                case.expected
            ));
        }
        vectors.push(json!({
            "catalogue": index,
            "object": case.object,
            "exposure": exposure,
            "lifecycle": lifecycle,
        }));
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(
        unmatched,
        [
            "tests/fixtures/kubernetes/route-absent-backend-fires/ingress.yaml Ingress/db-admin",
            "tests/fixtures/kubernetes/route-internal-port-fires/routes.yaml Ingress/admin",
            "tests/fixtures/kubernetes/route-internal-port-fires/routes.yaml ConfigMap/tcp-services",
            "tests/fixtures/kubernetes/route-internal-port-fires/routes.yaml IngressRouteTCP/mariadb",
        ],
        "the routes the policy does not judge (docs/admission-policy.md, Limits)"
    );
    // The comparison means something: every verdict occurs, denials many times.
    assert!(counts[&Verdict::Deny] >= 10, "{counts:?}");
    assert!(counts[&Verdict::Warn] >= 5, "{counts:?}");
    assert!(counts[&Verdict::Allow] >= 20, "{counts:?}");

    // The same vectors in cel-python: the same failing validations, the same messages.
    let policies: Vec<Value> = catalogues
        .iter()
        .map(|g| json!({"params": g.params, "exposure": g.exposure["spec"], "lifecycle": g.lifecycle["spec"]}))
        .collect();
    let input = json!({"policies": policies, "vectors": vectors});
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("vectors.json");
    std::fs::write(&file, input.to_string()).expect("write vectors");
    let output = Command::new(tools_bin().join("python"))
        .arg(root().join("tests/policy_cel.py"))
        .arg(&file)
        .output()
        .expect("run tests/policy_cel.py");
    assert!(
        output.status.success(),
        "cel-python disagrees:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let checked: usize = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("the number of vectors checked");
    assert_eq!(checked, input["vectors"].as_array().map_or(0, Vec::len));
}

/// Messages name the rule, the catalogue service, the port, how far it reaches and the fix.
#[test]
fn a_denial_names_the_port_the_service_and_the_fix() {
    let g = generated(&Catalogue::embedded_default().expect("catalogue"));
    let object = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "db", "namespace": "mail"},
        "spec": {"type": "NodePort", "ports": [{"port": 3306, "nodePort": 30306}]}});
    let failures = Compiled::new(&g.exposure).failures(&admission_inputs(&object, &g.params));
    assert_eq!(
        failures,
        [
            "internal-port-exposed: MySQL/MariaDB 3306 is reachable from outside the cluster \
          through a NodePort Service; iRedMail keeps it on 127.0.0.1. Fix: reach it through a \
          ClusterIP Service only, with a NetworkPolicy that admits the mail stack alone"
        ]
    );
    let object = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "imaps", "namespace": "mail"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 993}]}});
    let failures = Compiled::new(&g.lifecycle).failures(&admission_inputs(&object, &g.params));
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with(
            "deprecated-port: Dovecot IMAPS 993 is reachable from outside the cluster but deprecated in favour of 143"
        ),
        "{failures:?}"
    );
}

/// The generated objects pass Kubernetes' OpenAPI schemas, strict, from 1.30 (where
/// ValidatingAdmissionPolicy is GA) to the newest; the bindings never match kube-system.
#[test]
fn the_generated_yaml_passes_the_kubernetes_schemas_and_spares_kube_system() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("vap.yaml");
    let output = Command::new(env!("CARGO_BIN_EXE_iredmail-ports"))
        .args(["policy", "vap", "--action", "warn", "--namespace-selector"])
        .arg("kubernetes.io/metadata.name in (mail, kube-system)")
        .arg("--output")
        .arg(&file)
        .output()
        .expect("run policy vap");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let yaml = std::fs::read_to_string(&file).expect("the YAML");
    let objects: Vec<Value> = serde_saphyr::from_multiple(&yaml).expect("YAML");
    let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding"
        ]
    );
    for binding in objects
        .iter()
        .filter(|o| o["kind"] == "ValidatingAdmissionPolicyBinding")
    {
        let expressions =
            &binding["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"];
        assert_eq!(
            expressions,
            &json!([
                {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["mail", "kube-system"]},
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]},
            ])
        );
        assert_eq!(binding["spec"]["validationActions"], json!(["Warn"]));
    }
    for version in ["1.30.0", "1.37.0"] {
        let output = Command::new(tools_bin().join("kubernetes-validate"))
            .args(["--strict", "--kubernetes-version", version])
            .arg(&file)
            .output()
            .expect("run kubernetes-validate");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{version}: {text}");
        assert_eq!(text.matches(" passed for resource ").count(), 5, "{text}");
    }
    // The validation means something: a misspelt field fails it.
    let misspelt = dir.path().join("misspelt.yaml");
    std::fs::write(
        &misspelt,
        yaml.replace("validationActions", "validationAction"),
    )
    .expect("write");
    let output = Command::new(tools_bin().join("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", "1.37.0"])
        .arg(&misspelt)
        .output()
        .expect("run kubernetes-validate");
    assert!(!output.status.success());
}

/// The policies match every workload kind `check` judges and Services, and nothing else.
#[test]
fn the_policy_matches_the_judged_workload_and_service_kinds() {
    let g = generated(&Catalogue::embedded_default().expect("catalogue"));
    let mut resources: Vec<String> = g.exposure["spec"]["matchConstraints"]["resourceRules"]
        .as_array()
        .expect("rules")
        .iter()
        .flat_map(|r| r["resources"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect();
    resources.sort();
    let mut expected: Vec<String> = kinds::JUDGED_KINDS
        .iter()
        .filter(|k| {
            matches!(
                k.contributes,
                kinds::Contribution::Workload | kinds::Contribution::ServicePorts
            )
        })
        .map(|k| k.plural.to_string())
        .collect();
    expected.sort();
    assert_eq!(resources, expected);
    assert_eq!(
        g.lifecycle["spec"]["matchConstraints"],
        g.exposure["spec"]["matchConstraints"]
    );
}
