//! Ingress controllers: Kubernetes Ingress (networking.k8s.io/v1) as ingress-nginx and
//! Traefik read it, Traefik's own IngressRoute and IngressRouteTCP, and ingress-nginx's
//! `tcp-services` / `udp-services` ConfigMaps. Each makes the container port behind its
//! backend Service reachable from outside: an Ingress or IngressRoute on 80/443 for its
//! HTTP paths, a TCP route on its mapped port.
//!
//! Ingress semantics covered (the Kubernetes and controller documentation):
//! - rules with a host or none, paths with `pathType` `Exact`, `Prefix` (by path
//!   element) and `ImplementationSpecific` (a character prefix, as nginx locations are);
//!   `defaultBackend` for requests no rule matches; backends by Service port number or
//!   name (kube-linter #388);
//! - `tls` hosts (exact or `*.` wildcard; a `tls` entry without hosts covers every host);
//! - ingress-nginx: 443 always served (a host without a `tls` entry gets the controller's
//!   default certificate), plain HTTP redirected when the host has TLS (`ssl-redirect`,
//!   default true) or always (`force-ssl-redirect`), `proxy-read-timeout` and
//!   `proxy-send-timeout` (default 60 s), none of which apply with `ssl-passthrough`;
//! - Traefik: `router.entrypoints` (default: every entry point, `web` and `websecure`),
//!   `router.tls`, a `router.middlewares` Middleware with `redirectScheme: https`;
//! - an Ingress of any other class is read like ingress-nginx, without its default
//!   timeout: the manifests do not say what that controller does.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::networking::v1::{Ingress, IngressBackend};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::route::{PortRef, Services, expose, expose_route, host_covered};
use crate::load::crd::{ControllerPorts, IngressRoute, seconds_of};
use crate::load::kubernetes::{KubeObject, Typed};
use crate::load::yaml::field_path;
use crate::model::PathSegment;
use crate::model::{
    Backends, HttpRoute, Https, Inventory, Location, PathKind, PathMatch, PlainHttp, Protocol,
    RouteBackend, Timeout, Via,
};

use crate::load::yaml::Step::{Index, Key};

const NGINX: &str = "nginx.ingress.kubernetes.io/";
const TRAEFIK: &str = "traefik.ingress.kubernetes.io/";
/// The port name by which an Ingress backend refers to an AWS Load Balancer Controller
/// action annotation.
const ALB_ACTION: &str = "use-annotation";
/// ingress-nginx's default `proxy-read-timeout` and `proxy-send-timeout`, in seconds.
const NGINX_DEFAULT_TIMEOUT: u32 = 60;

/// Adds the routes and exposures of every Ingress, Traefik route and ingress-nginx port
/// ConfigMap. Services and workloads must already be in the inventory.
pub fn add(objects: &[KubeObject], services: &Services, inventory: &mut Inventory) {
    let traefik = TraefikObjects::index(objects);
    for object in objects {
        match &object.typed {
            Typed::Ingress(ingress) => add_ingress(object, ingress, services, &traefik, inventory),
            Typed::TraefikRoute { tcp: false, route } => {
                add_ingress_route(object, route, services, &traefik, inventory);
            }
            Typed::TraefikRoute { tcp: true, route } => {
                add_ingress_route_tcp(object, route, services, inventory);
            }
            Typed::ControllerPorts(protocol, ports) => {
                add_controller_ports(object, *protocol, ports, services, inventory);
            }
            _ => {}
        }
    }
}

/// Which controller reads an Ingress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Controller {
    Nginx,
    Traefik,
    Other,
}

fn controller_of(ingress: &Ingress, annotations: &BTreeMap<String, String>) -> Controller {
    let class = ingress
        .spec
        .as_ref()
        .and_then(|s| s.ingress_class_name.clone())
        .or_else(|| annotations.get("kubernetes.io/ingress.class").cloned())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let has = |prefix: &str| annotations.keys().any(|k| k.starts_with(prefix));
    if class.contains("traefik") || (class.is_empty() && has(TRAEFIK)) {
        Controller::Traefik
    } else if class.contains("nginx") || (class.is_empty() && has(NGINX)) {
        Controller::Nginx
    } else {
        Controller::Other
    }
}

/// What one Ingress says about TLS, redirects and timeouts, the same for all its paths.
struct IngressTraits {
    controller: Controller,
    tls_hosts: Vec<String>,
    has_tls: bool,
    /// ingress-nginx: `ssl-redirect` (default true), `force-ssl-redirect`.
    ssl_redirect: bool,
    force_ssl_redirect: bool,
    /// Traefik: the router's entry points, TLS, and a redirecting middleware.
    entry_points: Vec<String>,
    router_tls: bool,
    traefik_redirect: bool,
    timeout: Option<Timeout>,
    /// ingress-nginx `use-regex` (or `rewrite-target`, which implies it): paths are
    /// regular expressions.
    regex_paths: bool,
}

fn annotation_is_true(annotations: &BTreeMap<String, String>, name: &str) -> Option<bool> {
    annotations
        .get(name)
        .map(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn traits_of(
    object: &KubeObject,
    ingress: &Ingress,
    traefik: &TraefikObjects,
    inventory: &mut Inventory,
) -> IngressTraits {
    let annotations = ingress.metadata.annotations.clone().unwrap_or_default();
    let controller = controller_of(ingress, &annotations);
    let tls = ingress
        .spec
        .as_ref()
        .and_then(|s| s.tls.clone())
        .unwrap_or_default();
    let mut tls_hosts: Vec<String> = Vec::new();
    let mut any_without_hosts = false;
    for entry in &tls {
        match &entry.hosts {
            Some(hosts) if !hosts.is_empty() => tls_hosts.extend(hosts.iter().cloned()),
            _ => any_without_hosts = true,
        }
    }
    if any_without_hosts {
        // A `tls` entry without hosts covers every host.
        tls_hosts.clear();
    }
    let entry_points = annotations
        .get(&format!("{TRAEFIK}router.entrypoints"))
        .map(|v| v.split(',').map(|e| e.trim().to_string()).collect())
        .unwrap_or_default();
    let traefik_redirect = annotations
        .get(&format!("{TRAEFIK}router.middlewares"))
        .is_some_and(|list| {
            list.split(',')
                .any(|m| traefik.redirects_by_qualified_name(m.trim()))
        });
    // With `ssl-passthrough` ingress-nginx forwards the TLS stream by SNI without reading
    // HTTP, so its HTTP proxy timeouts do not apply (the controller must run with
    // `--enable-ssl-passthrough` for the annotation to take effect).
    let passthrough = controller == Controller::Nginx
        && annotation_is_true(&annotations, &format!("{NGINX}ssl-passthrough")).unwrap_or(false);
    let timeout = match controller {
        Controller::Nginx if !passthrough => Some(nginx_timeout(object, &annotations, inventory)),
        _ => None,
    };
    IngressTraits {
        controller,
        has_tls: !tls.is_empty(),
        tls_hosts,
        ssl_redirect: annotation_is_true(&annotations, &format!("{NGINX}ssl-redirect"))
            .unwrap_or(true),
        force_ssl_redirect: annotation_is_true(&annotations, &format!("{NGINX}force-ssl-redirect"))
            .unwrap_or(false),
        entry_points,
        router_tls: annotation_is_true(&annotations, &format!("{TRAEFIK}router.tls"))
            .unwrap_or(false),
        traefik_redirect,
        timeout,
        regex_paths: controller == Controller::Nginx
            && (annotation_is_true(&annotations, &format!("{NGINX}use-regex")).unwrap_or(false)
                || annotations.contains_key(&format!("{NGINX}rewrite-target"))),
    }
}

/// The shorter of ingress-nginx's read and send timeouts, each 60 s unless annotated.
fn nginx_timeout(
    object: &KubeObject,
    annotations: &BTreeMap<String, String>,
    inventory: &mut Inventory,
) -> Timeout {
    let mut shortest = Timeout {
        seconds: NGINX_DEFAULT_TIMEOUT,
        set_by: "ingress-nginx's default proxy-read-timeout".into(),
        location: None,
    };
    let mut annotated = Vec::new();
    for which in ["proxy-read-timeout", "proxy-send-timeout"] {
        let name = format!("{NGINX}{which}");
        let path = field_path(&[Key("metadata"), Key("annotations"), Key(&name)]);
        let Some(value) = annotations.get(&name) else {
            continue;
        };
        let Some(seconds) = value.trim().parse::<u32>().ok() else {
            inventory
                .invalid
                .push(object.problem_at(&path, format!("`{value}` is not a number of seconds")));
            continue;
        };
        annotated.push(which);
        let candidate = Timeout {
            seconds,
            set_by: format!("its `{which}` annotation"),
            location: Some(object.location(&path)),
        };
        if annotated.len() == 1 || seconds < shortest.seconds {
            shortest = candidate;
        }
    }
    if annotated.len() == 1 {
        // The other one keeps its 60 s default.
        let other = if annotated[0] == "proxy-read-timeout" {
            "proxy-send-timeout"
        } else {
            "proxy-read-timeout"
        };
        if NGINX_DEFAULT_TIMEOUT < shortest.seconds {
            shortest = Timeout {
                seconds: NGINX_DEFAULT_TIMEOUT,
                set_by: format!("ingress-nginx's default {other}"),
                location: None,
            };
        }
    }
    shortest
}

impl IngressTraits {
    /// TLS and plain HTTP for one host, as the controller serves it.
    fn serving(&self, host: Option<&str>) -> (Option<(Https, u16)>, PlainHttp) {
        let covered = self.has_tls && host_covered(host, &self.tls_hosts);
        match self.controller {
            Controller::Traefik => {
                let tls = self.router_tls || covered;
                let points = &self.entry_points;
                let everywhere = points.is_empty();
                let on_web = everywhere || points.iter().any(|p| p == "web");
                let on_secure = everywhere || points.iter().any(|p| p != "web");
                let https = (tls && on_secure).then_some((Https::Covered, 443));
                let plain = if !on_web || self.router_tls {
                    PlainHttp::NotServed
                } else if self.traefik_redirect {
                    PlainHttp::Redirect
                } else {
                    PlainHttp::Served
                };
                (https, plain)
            }
            Controller::Nginx | Controller::Other => {
                let https = if covered || self.force_ssl_redirect {
                    Https::Covered
                } else {
                    Https::Uncovered
                };
                let redirect = self.force_ssl_redirect || (self.ssl_redirect && covered);
                let plain = if redirect {
                    PlainHttp::Redirect
                } else {
                    PlainHttp::Served
                };
                (Some((https, 443)), plain)
            }
        }
    }
}

fn add_ingress(
    object: &KubeObject,
    ingress: &Ingress,
    services: &Services,
    traefik: &TraefikObjects,
    inventory: &mut Inventory,
) {
    let Some(spec) = &ingress.spec else {
        return;
    };
    let traits = traits_of(object, ingress, traefik, inventory);
    if let Some(backend) = &spec.default_backend {
        let path = field_path(&[Key("spec"), Key("defaultBackend")]);
        let route = PathMatch::prefix("/");
        add_ingress_path(
            object, &traits, None, route, true, backend, &path, services, inventory,
        );
    }
    for (i, rule) in spec.rules.iter().flatten().enumerate() {
        let Some(http) = &rule.http else {
            continue;
        };
        for (j, item) in http.paths.iter().enumerate() {
            let item_path = field_path(&[
                Key("spec"),
                Key("rules"),
                Index(i),
                Key("http"),
                Key("paths"),
                Index(j),
            ]);
            let value = item.path.clone().unwrap_or_else(|| "/".into());
            let kind = match item.path_type.as_str() {
                "Exact" => PathKind::Exact,
                "Prefix" => PathKind::Prefix,
                _ => PathKind::StringPrefix,
            };
            let value = if traits.regex_paths {
                literal_start(&value)
            } else {
                value
            };
            let route = PathMatch { value, kind };
            add_ingress_path(
                object,
                &traits,
                rule.host.as_deref(),
                route,
                false,
                &item.backend,
                &item_path,
                services,
                inventory,
            );
        }
    }
}

/// The part of a regular expression before its first operator (`/SOGo(/|$)(.*)` →
/// `/SOGo`): every path it matches starts with that.
pub fn literal_start(path: &str) -> String {
    let end = path
        .find(|c: char| "([*+?^$|\\{".contains(c))
        .unwrap_or(path.len());
    path[..end].trim_end_matches('.').to_string()
}

#[allow(clippy::too_many_arguments)]
fn add_ingress_path(
    object: &KubeObject,
    traits: &IngressTraits,
    host: Option<&str>,
    path: PathMatch,
    fallback: bool,
    backend: &IngressBackend,
    item_path: &[PathSegment],
    services: &Services,
    inventory: &mut Inventory,
) {
    let backend_path: Vec<_> = if fallback {
        item_path.to_vec()
    } else {
        [item_path, &[PathSegment::key("backend")]].concat()
    };
    let resolved = match &backend.service {
        // An AWS Load Balancer Controller action (a redirect, a fixed response) named in
        // an annotation: not a Service, and not a finding (DESIGN.md, vendor annotations).
        Some(service)
            if service.port.as_ref().and_then(|p| p.name.as_deref()) == Some(ALB_ACTION) =>
        {
            return;
        }
        Some(service) => {
            let port = service.port.as_ref().and_then(|p| {
                p.number
                    .map(PortRef::Number)
                    .or_else(|| p.name.clone().map(PortRef::Name))
            });
            let Some(port) = port else {
                inventory.invalid.push(object.problem_at(
                    &backend_path,
                    "a Service backend needs `port.number` or `port.name`",
                ));
                return;
            };
            services.resolve(inventory, &object.namespace, &service.name, &port)
        }
        None => RouteBackend {
            name: backend
                .resource
                .as_ref()
                .map(|r| {
                    format!(
                        "{}/{}/{} (a resource backend)",
                        r.kind, object.namespace, r.name
                    )
                })
                .unwrap_or_else(|| "no backend".into()),
            namespace: object.namespace.clone(),
            workloads: Backends::none(),
            target: None,
            service_port: None,
            protocol: Protocol::Tcp,
        },
    };
    let location_path: Vec<_> = if fallback {
        item_path.to_vec()
    } else {
        [item_path, &[PathSegment::key("path")]].concat()
    };
    let location = object.location(&location_path);
    let (https, plain) = traits.serving(host);
    let route = HttpRoute {
        object: object.id(),
        namespace: object.namespace.clone(),
        by: "an Ingress",
        host: host.map(str::to_string),
        path,
        fallback,
        https,
        plain,
        timeout: traits.timeout.clone(),
        backend: Some(resolved),
        location,
    };
    expose_route(inventory, &route);
    inventory.routes.push(route);
}

/// Traefik Middlewares that redirect to HTTPS, and ServersTransports' timeouts.
struct TraefikObjects {
    /// `(namespace, name)` of Middlewares with `redirectScheme: {scheme: https}`.
    redirects: Vec<(String, String)>,
    /// `(namespace, name)` → response-header timeout and where it is set.
    transports: HashMap<(String, String), (u32, Location)>,
}

impl TraefikObjects {
    fn index(objects: &[KubeObject]) -> TraefikObjects {
        let mut redirects = Vec::new();
        let mut transports = HashMap::new();
        for object in objects {
            match &object.typed {
                Typed::TraefikMiddleware(middleware) => {
                    let https = middleware
                        .spec
                        .redirect_scheme
                        .as_ref()
                        .and_then(|r| r.scheme.as_deref())
                        .is_some_and(|s| s.eq_ignore_ascii_case("https"));
                    if https {
                        redirects.push((object.namespace.clone(), object.name.clone()));
                    }
                }
                Typed::TraefikServersTransport(transport) => {
                    let timeout = transport
                        .spec
                        .forwarding_timeouts
                        .as_ref()
                        .and_then(|t| t.response_header_timeout.as_ref())
                        .and_then(seconds_of)
                        .filter(|s| *s > 0);
                    if let Some(seconds) = timeout {
                        let path = field_path(&[
                            Key("spec"),
                            Key("forwardingTimeouts"),
                            Key("responseHeaderTimeout"),
                        ]);
                        transports.insert(
                            (object.namespace.clone(), object.name.clone()),
                            (seconds, object.location(&path)),
                        );
                    }
                }
                _ => {}
            }
        }
        TraefikObjects {
            redirects,
            transports,
        }
    }

    /// `mail-redirect-https@kubernetescrd`, as Ingress annotations name Middlewares.
    fn redirects_by_qualified_name(&self, qualified: &str) -> bool {
        let Some(name) = qualified.strip_suffix("@kubernetescrd") else {
            return false;
        };
        self.redirects
            .iter()
            .any(|(ns, n)| format!("{ns}-{n}") == name)
    }

    fn redirects(&self, namespace: &str, name: &str) -> bool {
        self.redirects
            .iter()
            .any(|(ns, n)| ns == namespace && n == name)
    }
}

/// Hosts and paths in a Traefik rule: `Host(`a`) && PathPrefix(`/x`)`. Alternatives
/// joined by `||` are all kept.
fn traefik_matchers(rule: &str) -> (Vec<String>, Vec<PathMatch>) {
    let mut hosts = Vec::new();
    let mut paths = Vec::new();
    for (matcher, values) in matcher_calls(rule) {
        match matcher.as_str() {
            "Host" | "HostSNI" => hosts.extend(values.into_iter().filter(|h| h != "*")),
            "PathPrefix" => paths.extend(values.iter().map(|v| PathMatch::prefix(v))),
            "Path" => paths.extend(values.iter().map(|v| PathMatch {
                value: v.clone(),
                kind: PathKind::Exact,
            })),
            "PathRegexp" => paths.extend(values.iter().map(|v| PathMatch {
                value: literal_start(v.trim_start_matches('^')),
                kind: PathKind::StringPrefix,
            })),
            _ => {}
        }
    }
    if paths.is_empty() {
        paths.push(PathMatch::prefix("/"));
    }
    (hosts, paths)
}

/// `Name(`a`, `b`)` calls in a rule, with their backquoted or quoted arguments.
fn matcher_calls(rule: &str) -> Vec<(String, Vec<String>)> {
    let mut calls = Vec::new();
    let mut rest = rule;
    while let Some(open) = rest.find('(') {
        let name: String = rest[..open]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let after = &rest[open + 1..];
        let close = after.find(')').unwrap_or(after.len());
        let values = after[..close]
            .split(',')
            .map(|v| v.trim().trim_matches(|c| c == '`' || c == '"').to_string())
            .filter(|v| !v.is_empty())
            .collect();
        calls.push((name, values));
        rest = after.get(close + 1..).unwrap_or_default();
    }
    calls
}

fn traefik_port(port: Option<&IntOrString>) -> Option<PortRef> {
    match port? {
        IntOrString::Int(n) => Some(PortRef::Number(*n)),
        IntOrString::String(text) => Some(
            text.parse::<i32>()
                .map_or_else(|_| PortRef::Name(text.clone()), PortRef::Number),
        ),
    }
}

fn add_ingress_route(
    object: &KubeObject,
    route: &IngressRoute,
    services: &Services,
    traefik: &TraefikObjects,
    inventory: &mut Inventory,
) {
    let spec = &route.spec;
    let points = &spec.entry_points;
    let everywhere = points.is_empty();
    let on_web = everywhere || points.iter().any(|p| p == "web");
    let on_secure = everywhere || points.iter().any(|p| p != "web");
    for (i, rule) in spec.routes.iter().enumerate() {
        let rule_path = field_path(&[Key("spec"), Key("routes"), Index(i)]);
        let location =
            object.location(&[rule_path.as_slice(), &[PathSegment::key("match")]].concat());
        let redirect = rule.middlewares.iter().any(|m| {
            traefik.redirects(m.namespace.as_deref().unwrap_or(&object.namespace), &m.name)
        });
        let (https, plain) = if spec.tls.is_some() {
            (
                on_secure.then_some((Https::Covered, 443)),
                PlainHttp::NotServed,
            )
        } else if on_web {
            let plain = if redirect {
                PlainHttp::Redirect
            } else {
                PlainHttp::Served
            };
            (None, plain)
        } else {
            (None, PlainHttp::NotServed)
        };
        let (hosts, paths) = traefik_matchers(&rule.rule);
        let hosts: Vec<Option<String>> = if hosts.is_empty() {
            vec![None]
        } else {
            hosts.into_iter().map(Some).collect()
        };
        for (j, service) in rule.services.iter().enumerate() {
            // A TraefikService (weighted, mirroring, api@internal) is not a Kubernetes
            // Service and has no port.
            if service.kind.as_deref().is_some_and(|k| k != "Service") {
                continue;
            }
            let Some(port) = traefik_port(service.port.as_ref()) else {
                let path = [
                    rule_path.as_slice(),
                    &[PathSegment::key("services")],
                    &[PathSegment::Index(j)],
                ]
                .concat();
                inventory
                    .invalid
                    .push(object.problem_at(&path, "a Kubernetes Service needs a `port`"));
                continue;
            };
            let namespace = service.namespace.as_deref().unwrap_or(&object.namespace);
            let backend = services.resolve(inventory, namespace, &service.name, &port);
            let timeout = service.servers_transport.as_ref().and_then(|name| {
                let (seconds, location) = traefik
                    .transports
                    .get(&(object.namespace.clone(), name.clone()))?;
                Some(Timeout {
                    seconds: *seconds,
                    set_by: format!("ServersTransport `{name}`'s responseHeaderTimeout"),
                    location: Some(location.clone()),
                })
            });
            for host in &hosts {
                for path in &paths {
                    let route = HttpRoute {
                        object: object.id(),
                        namespace: object.namespace.clone(),
                        by: "a Traefik IngressRoute",
                        host: host.clone(),
                        path: path.clone(),
                        fallback: false,
                        https,
                        plain,
                        timeout: timeout.clone(),
                        backend: Some(backend.clone()),
                        location: location.clone(),
                    };
                    expose_route(inventory, &route);
                    inventory.routes.push(route);
                }
            }
        }
    }
}

fn add_ingress_route_tcp(
    object: &KubeObject,
    route: &IngressRoute,
    services: &Services,
    inventory: &mut Inventory,
) {
    let passthrough = route.spec.tls.as_ref().is_some_and(|t| t.passthrough);
    let points = if route.spec.entry_points.is_empty() {
        "every entry point".to_string()
    } else {
        format!("entry point {}", route.spec.entry_points.join(", "))
    };
    let by = format!(
        "a Traefik IngressRouteTCP on {points}{}",
        if passthrough {
            " (TLS passthrough)"
        } else {
            ""
        }
    );
    for (i, rule) in route.spec.routes.iter().enumerate() {
        let location = object.location(&field_path(&[
            Key("spec"),
            Key("routes"),
            Index(i),
            Key("match"),
        ]));
        for service in &rule.services {
            let Some(port) = traefik_port(service.port.as_ref()) else {
                continue;
            };
            let namespace = service.namespace.as_deref().unwrap_or(&object.namespace);
            let backend = services.resolve(inventory, namespace, &service.name, &port);
            // The entry point's port is in Traefik's static configuration, not here.
            expose(
                inventory,
                &object.id(),
                &backend,
                None,
                Via::ControllerRoute { by: by.clone() },
                location.clone(),
            );
        }
    }
}

/// `"25": "mail/iredmail:25"`, `"587": "mail/iredmail:submission:PROXY"`,
/// `"143": "mail/iredmail:143::PROXY"` (PROXY protocol to the backend, from the client).
fn add_controller_ports(
    object: &KubeObject,
    protocol: Protocol,
    ports: &ControllerPorts,
    services: &Services,
    inventory: &mut Inventory,
) {
    for (external, target) in &ports.data {
        let path = field_path(&[Key("data"), Key(external)]);
        let Some(published) = external.trim().parse::<u16>().ok().filter(|p| *p != 0) else {
            inventory
                .invalid
                .push(object.problem_at(&path, format!("`{external}` is not a port (1-65535)")));
            continue;
        };
        let Some((namespace, name, port)) = parse_controller_target(target) else {
            inventory.invalid.push(object.problem_at(
                &path,
                format!("`{target}` is not `namespace/service:port[:PROXY][:PROXY]`"),
            ));
            continue;
        };
        let mut backend = services.resolve(inventory, namespace, name, &port);
        backend.protocol = protocol;
        let proxy = if target.contains("PROXY") {
            " with the PROXY protocol"
        } else {
            ""
        };
        let by = format!(
            "ingress-nginx's {} ConfigMap{proxy}",
            crate::load::crd::controller_ports_protocol(&object.name).map_or("tcp-services", |p| {
                if p == Protocol::Udp {
                    "udp-services"
                } else {
                    "tcp-services"
                }
            })
        );
        expose(
            inventory,
            &object.id(),
            &backend,
            Some(published),
            Via::ControllerRoute { by },
            object.location(&path),
        );
    }
}

fn parse_controller_target(text: &str) -> Option<(&str, &str, PortRef)> {
    let mut parts = text.trim().split(':');
    let service = parts.next()?;
    let port = parts.next()?.trim();
    let rest: Vec<&str> = parts.collect();
    if rest.len() > 2 || rest.iter().any(|p| !p.is_empty() && *p != "PROXY") {
        return None;
    }
    let (namespace, name) = service.split_once('/')?;
    if namespace.is_empty() || name.is_empty() || port.is_empty() {
        return None;
    }
    let port = port
        .parse::<i32>()
        .map_or_else(|_| PortRef::Name(port.to_string()), PortRef::Number);
    Some((namespace, name, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_targets_take_the_proxy_suffixes() {
        let (ns, name, port) = parse_controller_target("mail/iredmail:25").expect("plain");
        assert_eq!((ns, name, port), ("mail", "iredmail", PortRef::Number(25)));
        assert!(parse_controller_target("mail/iredmail:25:PROXY").is_some());
        assert!(parse_controller_target("mail/iredmail:smtp::PROXY").is_some());
        assert!(parse_controller_target("mail/iredmail:25:PROXY:PROXY").is_some());
        assert!(parse_controller_target("iredmail:25").is_none());
        assert!(parse_controller_target("mail/iredmail:25:TLS").is_none());
        assert!(parse_controller_target("mail/iredmail").is_none());
    }

    #[test]
    fn traefik_rules_give_hosts_and_paths() {
        let (hosts, paths) = traefik_matchers(
            "Host(`mail.example.com`) && PathPrefix(`/Microsoft-Server-ActiveSync`)",
        );
        assert_eq!(hosts, vec!["mail.example.com".to_string()]);
        assert_eq!(
            paths,
            vec![PathMatch::prefix("/Microsoft-Server-ActiveSync")]
        );
        let (hosts, paths) = traefik_matchers("HostSNI(`*`)");
        assert!(hosts.is_empty());
        assert_eq!(paths, vec![PathMatch::prefix("/")]);
        assert_eq!(literal_start("/SOGo(/|$)(.*)"), "/SOGo");
    }
}
