//! Table-driven route semantics: for each Ingress, Gateway API, Traefik and ingress-nginx
//! feature, the routes added to one fixed deployment and what they expose (object,
//! published port, container port) and how they serve HTTP (TLS, plain HTTP, timeout).
//!
//! The deployment, in namespace `mail`: a web front end `web` (nginx, ports `http` 8080
//! and `https` 443) and SOGo (`http` 20000), each with a ClusterIP Service whose ports are
//! named like the container ports, and a Service `web-alt` whose port 80 targets `http`.

use iredmail_ports::model::{Https, PlainHttp};
use iredmail_ports::model::{Inventory, Scope, Via};
use iredmail_ports::{Catalogue, Config, Input, check, inventory, load};

const BASE: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: mail}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: nginx
          image: nginx:1.27
          ports:
            - {name: http, containerPort: 8080}
            - {name: https, containerPort: 443}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sogo, namespace: mail}
spec:
  selector: {matchLabels: {app: sogo}}
  template:
    metadata: {labels: {app: sogo}}
    spec:
      containers:
        - name: sogo
          image: registry.example.com/groupware:5
          ports:
            - {name: http, containerPort: 20000}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: mail}
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 8080}
    - {name: https, port: 443}
---
apiVersion: v1
kind: Service
metadata: {name: web-alt, namespace: mail}
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: http}
---
apiVersion: v1
kind: Service
metadata: {name: sogo, namespace: mail}
spec:
  selector: {app: sogo}
  ports:
    - {name: http, port: 20000}
"#;

const GATEWAY: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: example
  listeners:
    - {name: http, protocol: HTTP, port: 80}
    - {name: https, protocol: HTTPS, port: 443, hostname: "*.example.com"}
    - {name: smtp, protocol: TCP, port: 2525}
    - {name: imaps, protocol: TLS, port: 993, tls: {mode: Passthrough}}
"#;

fn inventory_of(objects: &str) -> Inventory {
    let text = format!("{BASE}---\n{objects}\n");
    let loaded = load::load(&[Input::Text {
        name: "case.yaml".into(),
        text,
    }]);
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let inventory = inventory::build(loaded);
    assert!(inventory.invalid.is_empty(), "{:?}", inventory.invalid);
    inventory
}

/// Exposures the route objects add: (object, published, target, scope).
fn route_exposures(inventory: &Inventory) -> Vec<(String, Option<u16>, u16, Scope)> {
    inventory
        .exposures
        .iter()
        .filter(|e| matches!(e.via, Via::HttpRoute { .. } | Via::ControllerRoute { .. }))
        .map(|e| (e.object.clone(), e.published, e.target, e.scope))
        .collect()
}

type Exposed = &'static [(&'static str, Option<u16>, u16)];

/// (case, objects added to BASE, exposures they make, all `external`)
const EXPOSURES: &[(&str, &str, Exposed)] = &[
    (
        "Ingress backend by port number",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: mail}\nspec:\n  tls: [{hosts: [a.example.com]}]\n  rules:\n    - host: a.example.com\n      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}]}",
        &[("Ingress/mail/i", Some(443), 8080)],
    ),
    (
        "Ingress backend by port name, through a named targetPort",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: mail}\nspec:\n  rules:\n    - http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web-alt, port: {name: http}}}}]}",
        &[("Ingress/mail/i", Some(443), 8080)],
    ),
    (
        "Ingress defaultBackend",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: mail}\nspec:\n  defaultBackend: {service: {name: sogo, port: {number: 20000}}}",
        &[("Ingress/mail/i", Some(443), 20000)],
    ),
    (
        "Ingress to a Service not in the input is judged by the port it names",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: mail}\nspec:\n  defaultBackend: {service: {name: elsewhere, port: {number: 3306}}}",
        &[("Ingress/mail/i", Some(443), 3306)],
    ),
    (
        "Ingress to a named port of a Service not in the input is not judged",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: mail}\nspec:\n  defaultBackend: {service: {name: elsewhere, port: {name: mysql}}}",
        &[],
    ),
    (
        "Traefik Ingress on the web entry point only: plain HTTP on 80",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: i\n  namespace: mail\n  annotations: {traefik.ingress.kubernetes.io/router.entrypoints: web}\nspec:\n  ingressClassName: traefik\n  rules:\n    - http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}]}",
        &[("Ingress/mail/i", Some(80), 8080)],
    ),
    (
        "ingress-nginx tcp-services with PROXY suffixes, udp-services",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tcp-services, namespace: ingress-nginx}\ndata: {\"8443\": \"mail/web:https:PROXY\", \"25\": \"mail/web:8080::PROXY\"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ingress-nginx-udp, namespace: ingress-nginx}\ndata: {\"53\": \"mail/sogo:20000\"}",
        &[
            ("ConfigMap/ingress-nginx/tcp-services", Some(25), 8080),
            ("ConfigMap/ingress-nginx/tcp-services", Some(8443), 443),
            ("ConfigMap/ingress-nginx/ingress-nginx-udp", Some(53), 20000),
        ],
    ),
    (
        "another ConfigMap is not a controller's",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: mail}\ndata: {\"25\": \"mail/web:8080\"}",
        &[],
    ),
    (
        "Traefik IngressRoute with TLS, old API group",
        "apiVersion: traefik.containo.us/v1alpha1\nkind: IngressRoute\nmetadata: {name: r, namespace: mail}\nspec:\n  entryPoints: [websecure]\n  routes: [{match: \"Host(`a.example.com`) && PathPrefix(`/SOGo`)\", services: [{name: sogo, port: http}]}]\n  tls: {secretName: t}",
        &[("IngressRoute/mail/r", Some(443), 20000)],
    ),
    (
        "a TraefikService (weighted) is not a Kubernetes Service",
        "apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata: {name: r, namespace: mail}\nspec:\n  routes: [{match: \"PathPrefix(`/`)\", services: [{name: canary, kind: TraefikService}]}]",
        &[],
    ),
    (
        "Traefik IngressRouteTCP with TLS passthrough: the entry point's port is unknown",
        "apiVersion: traefik.io/v1alpha1\nkind: IngressRouteTCP\nmetadata: {name: r, namespace: mail}\nspec:\n  entryPoints: [websecure]\n  routes: [{match: \"HostSNI(`*`)\", services: [{name: web, port: 443}]}]\n  tls: {passthrough: true}",
        &[("IngressRouteTCP/mail/r", None, 443)],
    ),
    (
        "HTTPRoute on both listeners of a Gateway",
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: h, namespace: mail}\nspec:\n  parentRefs: [{name: gw, namespace: infra}]\n  hostnames: [mail.example.com]\n  rules: [{backendRefs: [{name: web, port: 8080}]}]",
        &[
            ("HTTPRoute/mail/h", Some(80), 8080),
            ("HTTPRoute/mail/h", Some(443), 8080),
        ],
    ),
    (
        "HTTPRoute whose hostnames the HTTPS listener does not serve",
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: h, namespace: mail}\nspec:\n  parentRefs: [{name: gw, namespace: infra}]\n  hostnames: [mail.example.org]\n  rules: [{backendRefs: [{name: web, port: 8080}]}]",
        &[("HTTPRoute/mail/h", Some(80), 8080)],
    ),
    (
        "parentRef by port, TCPRoute and TLSRoute on their listeners",
        "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TCPRoute\nmetadata: {name: t, namespace: mail}\nspec:\n  parentRefs: [{name: gw, namespace: infra, port: 2525}]\n  rules: [{backendRefs: [{name: web, port: 8080}]}]\n---\napiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TLSRoute\nmetadata: {name: s, namespace: mail}\nspec:\n  parentRefs: [{name: gw, namespace: infra}]\n  rules: [{backendRefs: [{name: web, port: 443}]}]",
        &[
            ("TCPRoute/mail/t", Some(2525), 8080),
            ("TLSRoute/mail/s", Some(993), 443),
        ],
    ),
    (
        "GRPCRoute on both HTTP listeners, by service and method",
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: g, namespace: mail}\nspec:\n  parentRefs: [{name: gw, namespace: infra}]\n  hostnames: [mail.example.com]\n  rules: [{matches: [{method: {service: admin.v1.Admin, method: Get}}], backendRefs: [{name: web, port: 8080}]}]",
        &[
            ("GRPCRoute/mail/g", Some(80), 8080),
            ("GRPCRoute/mail/g", Some(443), 8080),
        ],
    ),
    (
        "GRPCRoute named onto the TCP listener does not attach",
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: g, namespace: mail}\nspec:\n  parentRefs: [{name: gw, namespace: infra, sectionName: smtp}]\n  rules: [{backendRefs: [{name: web, port: 8080}]}]",
        &[],
    ),
    (
        "a route to a Gateway not in the input is not judged",
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: h, namespace: mail}\nspec:\n  parentRefs: [{name: other}]\n  rules: [{backendRefs: [{name: web, port: 8080}]}]",
        &[],
    ),
];

#[test]
fn each_route_kind_exposes_its_backend_from_outside() {
    let mut failures = Vec::new();
    for (case, objects, expected) in EXPOSURES {
        let inventory = inventory_of(&format!("{GATEWAY}---\n{objects}"));
        let mut actual = route_exposures(&inventory);
        actual.sort();
        let mut expected: Vec<_> = expected
            .iter()
            .map(|(o, p, t)| (o.to_string(), *p, *t, Scope::External))
            .collect();
        expected.sort();
        if actual != expected {
            failures.push(format!("{case}: expected {expected:?}, got {actual:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (case, Ingress metadata+spec lines, TLS, plain HTTP, timeout in seconds)
type Serving = (
    &'static str,
    &'static str,
    Option<Https>,
    PlainHttp,
    Option<u32>,
);

const RULES: &str = "  rules:\n    - host: mail.example.com\n      http: {paths: [{path: /Microsoft-Server-ActiveSync, pathType: Prefix, backend: {service: {name: sogo, port: {number: 20000}}}}]}";

const SERVING: &[Serving] = &[
    (
        "ingress-nginx with TLS: redirect, 60 s default",
        "metadata: {name: i, namespace: mail}\nspec:\n  ingressClassName: nginx\n  tls: [{hosts: [mail.example.com]}]\n",
        Some(Https::Covered),
        PlainHttp::Redirect,
        Some(60),
    ),
    (
        "ingress-nginx ssl-redirect false",
        "metadata:\n  name: i\n  namespace: mail\n  annotations: {nginx.ingress.kubernetes.io/ssl-redirect: \"false\"}\nspec:\n  ingressClassName: nginx\n  tls: [{hosts: [mail.example.com]}]\n",
        Some(Https::Covered),
        PlainHttp::Served,
        Some(60),
    ),
    (
        "ingress-nginx host not in tls",
        "metadata: {name: i, namespace: mail}\nspec:\n  ingressClassName: nginx\n  tls: [{hosts: [other.example.com]}]\n",
        Some(Https::Uncovered),
        PlainHttp::Served,
        Some(60),
    ),
    (
        "ingress-nginx force-ssl-redirect without tls (TLS ends before the controller)",
        "metadata:\n  name: i\n  namespace: mail\n  annotations: {nginx.ingress.kubernetes.io/force-ssl-redirect: \"true\"}\nspec:\n  ingressClassName: nginx\n",
        Some(Https::Covered),
        PlainHttp::Redirect,
        Some(60),
    ),
    (
        "ingress-nginx timeouts: the shorter of read and send",
        "metadata:\n  name: i\n  namespace: mail\n  annotations: {nginx.ingress.kubernetes.io/proxy-read-timeout: \"3600\", nginx.ingress.kubernetes.io/proxy-send-timeout: \"3540\"}\nspec:\n  ingressClassName: nginx\n  tls: [{}]\n",
        Some(Https::Covered),
        PlainHttp::Redirect,
        Some(3540),
    ),
    (
        "Traefik by annotation: both entry points, no TLS",
        "metadata:\n  name: i\n  namespace: mail\n  annotations: {traefik.ingress.kubernetes.io/router.priority: \"10\"}\nspec:\n",
        None,
        PlainHttp::Served,
        None,
    ),
    (
        "Traefik router.tls: TLS only",
        "metadata:\n  name: i\n  namespace: mail\n  annotations: {traefik.ingress.kubernetes.io/router.tls: \"true\"}\nspec:\n  ingressClassName: traefik\n",
        Some(Https::Covered),
        PlainHttp::NotServed,
        None,
    ),
    (
        "an unknown class reads like ingress-nginx without its default timeout",
        "metadata: {name: i, namespace: mail}\nspec:\n  ingressClassName: gce\n  tls: [{hosts: [\"*.example.com\"]}]\n",
        Some(Https::Covered),
        PlainHttp::Redirect,
        None,
    ),
];

#[test]
fn ingress_tls_redirects_and_timeouts_follow_the_controller() {
    let mut failures = Vec::new();
    for (case, head, tls, plain, timeout) in SERVING {
        let inventory = inventory_of(&format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\n{head}{RULES}"
        ));
        let [route] = inventory.routes.as_slice() else {
            failures.push(format!("{case}: {} routes", inventory.routes.len()));
            continue;
        };
        let actual = (
            route.https.map(|(h, _)| h),
            route.plain,
            route.timeout.as_ref().map(|t| t.seconds),
        );
        if actual != (*tls, *plain, *timeout) {
            failures.push(format!(
                "{case}: expected {:?}, got {actual:?}",
                (tls, plain, timeout)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn findings_of(objects: &str) -> Vec<(String, String, u32, String)> {
    let text = format!("{BASE}---\n{objects}\n");
    let report = check(
        &[Input::Text {
            name: "case.yaml".into(),
            text,
        }],
        &Catalogue::embedded_default().expect("catalogue"),
        &Config::default(),
    )
    .expect("something to check");
    report
        .findings
        .iter()
        .filter(|f| f.rule.id().starts_with("eas-") || f.rule.id() == "invalid-input")
        .filter(|f| f.object.as_deref() != Some("Deployment/mail/sogo"))
        .map(|f| {
            (
                f.rule.id().to_string(),
                f.object.clone().unwrap_or_default(),
                f.location.as_ref().map_or(0, |l| l.line),
                f.message.clone(),
            )
        })
        .collect()
}

#[test]
fn only_front_ends_of_sogo_are_judged_for_activesync() {
    let plain = |ns: &str, service: &str| {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: plain, namespace: {ns}}}\nspec:\n  ingressClassName: nginx\n  rules:\n    - http: {{paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: {service}, port: {{number: 8080}}}}}}}}]}}"
        )
    };
    let blog = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: blog, namespace: blog}\nspec:\n  selector: {matchLabels: {app: blog}}\n  template:\n    metadata: {labels: {app: blog}}\n    spec:\n      containers: [{name: nginx, image: nginx:1.27, ports: [{containerPort: 8080}]}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: blog, namespace: blog}\nspec:\n  selector: {app: blog}\n  ports: [{port: 8080}]";
    // A generic nginx in a namespace without SOGo serves no ActiveSync.
    assert!(findings_of(&format!("{blog}\n---\n{}", plain("blog", "blog"))).is_empty());
    // The front end beside SOGo does: plain HTTP and the 60 s default are findings.
    let rules: Vec<String> = findings_of(&plain("mail", "web"))
        .into_iter()
        .map(|(rule, object, _, _)| format!("{rule} {object}"))
        .collect();
    assert_eq!(
        rules,
        [
            "eas-insecure Ingress/mail/plain",
            "eas-timeout Ingress/mail/plain"
        ]
    );
}

#[test]
fn alb_action_backends_are_not_routes() {
    let inventory = inventory_of(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: i\n  namespace: mail\n  annotations:\n    alb.ingress.kubernetes.io/actions.ssl-redirect: '{\"Type\": \"redirect\", \"RedirectConfig\": {\"Protocol\": \"HTTPS\", \"Port\": \"443\", \"StatusCode\": \"HTTP_301\"}}'\nspec:\n  ingressClassName: alb\n  rules:\n    - http:\n        paths:\n          - {path: /, pathType: Prefix, backend: {service: {name: ssl-redirect, port: {name: use-annotation}}}}\n          - {path: /SOGo, pathType: Prefix, backend: {service: {name: sogo, port: {number: 20000}}}}",
    );
    let paths: Vec<&str> = inventory
        .routes
        .iter()
        .map(|r| r.path.value.as_str())
        .collect();
    assert_eq!(paths, ["/SOGo"]);
}

#[test]
fn eas_to_another_backend_says_where_it_goes() {
    let findings = findings_of(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: mail}\nspec:\n  tls: [{}]\n  rules:\n    - http:\n        paths:\n          - path: /Microsoft-Server-ActiveSync\n            pathType: Exact\n            backend: {service: {name: web-alt, port: {number: 80}}}",
    );
    // The web front end (nginx image) may serve EAS: quiet. (SOGo itself, reached
    // through the front end, is filtered out by `findings_of`.)
    assert!(findings.is_empty(), "{findings:?}");
    // Neither a web image nor the web front end's 443: not a backend EAS may go to.
    let text = BASE
        .replace("image: nginx:1.27", "image: roundcube/roundcubemail:1.6")
        .replace("            - {name: https, containerPort: 443}\n", "");
    let report = check(
        &[Input::Text {
            name: "case.yaml".into(),
            text: format!(
                "{text}---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: i, namespace: mail}}\nspec:\n  tls: [{{}}]\n  rules:\n    - http:\n        paths:\n          - path: /Microsoft-Server-ActiveSync\n            pathType: Exact\n            backend: {{service: {{name: web-alt, port: {{number: 80}}}}}}\n"
            ),
        }],
        &Catalogue::embedded_default().expect("catalogue"),
        &Config::default(),
    )
    .expect("something to check");
    let eas: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule.id() == "eas-unreachable")
        .collect();
    assert_eq!(eas.len(), 1, "{:?}", report.findings);
    assert_eq!(eas[0].object.as_deref(), Some("Ingress/mail/i"));
    assert_eq!(eas[0].location.as_ref().map(|l| l.line), Some(63));
    assert!(
        eas[0]
            .message
            .contains("goes to Service/mail/web-alt:80 (Deployment/mail/web)"),
        "{}",
        eas[0].message
    );
}

#[test]
fn unusable_route_values_are_invalid_input_at_their_line() {
    let findings = findings_of(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tcp-services, namespace: ingress-nginx}\ndata:\n  \"25\": \"iredmail:25\"\n  \"smtp\": \"mail/web:8080\"\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: mail}\nspec:\n  listeners: [{name: http, protocol: HTTP, port: 80}, {name: bad, protocol: TCP, port: 70000}]\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: h, namespace: mail}\nspec:\n  parentRefs: [{name: gw}]\n  rules:\n    - backendRefs: [{name: web}]\n      timeouts: {request: 10 minutes}\n---\napiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata: {name: r, namespace: mail}\nspec:\n  routes: \"Host(`a`)\"",
    );
    let lines: Vec<(&str, u32)> = findings
        .iter()
        .map(|(rule, _, line, _)| (rule.as_str(), *line))
        .collect();
    // BASE and its `---` take 55 lines; the objects start on line 56.
    assert_eq!(
        lines,
        [
            ("invalid-input", 60),
            ("invalid-input", 61),
            ("invalid-input", 67),
            ("invalid-input", 75),
            ("invalid-input", 76),
            ("invalid-input", 82),
        ],
        "{findings:#?}"
    );
    assert!(
        findings[0]
            .3
            .contains("`iredmail:25` is not `namespace/service:port")
    );
    let message = |i: usize| findings[i].3.as_str();
    assert!(message(2).contains("`spec.listeners[1].port`: 70000 is not a port"));
    assert!(message(3).contains("needs a `port`"));
    assert!(message(4).contains("`10 minutes` is not a Gateway API duration"));
    assert!(
        message(5).starts_with("`spec.routes`: invalid type"),
        "{}",
        message(5)
    );
}

/// A gRPC call is an HTTP/2 request for `/<service>/<method>`, and implementations send a
/// GRPCRoute only gRPC requests: its backend is exposed, but it is not an HTTP route that
/// could serve (or fail to serve) ActiveSync.
#[test]
fn a_grpc_route_exposes_its_backend_by_method_path_but_serves_no_http_path() {
    let route = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: mail}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: https}]
  rules:
    - matches:
        - method: {service: admin.v1.Admin, method: Get}
        - method: {service: sogo.Sync}
        - method: {type: RegularExpression, service: "sogo.*"}
      backendRefs: [{name: sogo, port: 20000}]
"#;
    let inventory = inventory_of(&format!("{GATEWAY}---{route}"));
    assert!(inventory.routes.is_empty(), "{:?}", inventory.routes);
    let paths: Vec<(String, Option<u16>, u16)> = inventory
        .exposures
        .iter()
        .filter_map(|e| match &e.via {
            Via::HttpRoute { by, path, secure } => {
                assert_eq!(by, "a Gateway API GRPCRoute");
                assert!(secure, "served on the HTTPS listener only");
                Some((path.clone(), e.published, e.target))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        paths,
        [
            ("/admin.v1.Admin/Get".to_string(), Some(443), 20000),
            ("/sogo.Sync".to_string(), Some(443), 20000),
            ("/".to_string(), Some(443), 20000),
        ]
    );
}
