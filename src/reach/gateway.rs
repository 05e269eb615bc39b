//! Gateway API (gateway.networking.k8s.io): a Gateway's listeners (protocol HTTP, HTTPS,
//! TLS, TCP or UDP, a port, a hostname, TLS termination or passthrough) and the routes
//! attached to them by `parentRefs` (the Gateway, narrowed by `sectionName` or `port`).
//!
//! - An HTTPRoute attaches to the HTTP and HTTPS listeners whose hostname intersects its
//!   `hostnames`; each rule's path matches (`Exact`, `PathPrefix`, the literal start of a
//!   `RegularExpression`; none means `PathPrefix /`) reach its `backendRefs`. On an HTTPS
//!   listener the path is served over TLS; on an HTTP listener it is plain HTTP, unless
//!   the rule is a `RequestRedirect` to `https`. `timeouts.request` and
//!   `timeouts.backendRequest` bound a request; without them the timeout is the
//!   implementation's, and nothing is assumed.
//! - A GRPCRoute attaches like an HTTPRoute: a gRPC call is an HTTP/2 request for
//!   `/<service>/<method>`, so its method matches are path matches (`Exact` service and
//!   method → that path; a service alone → its prefix; a regular expression or no match →
//!   `/`). Its backends are exposed on the listener's port; it is not an HTTP route for
//!   the EAS rules, since implementations send it only gRPC requests.
//! - TLSRoute, TCPRoute and UDPRoute attach to TLS, TCP and UDP listeners and make their
//!   backend's port reachable from outside on the listener's port.
//! - A route whose Gateway is not in the input is not judged; `allowedRoutes` and
//!   ReferenceGrants are not checked (routes are taken as attached).

use std::collections::HashMap;

use super::route::{PortRef, Services, expose, expose_route, host_covered};
use crate::load::crd::{
    Gateway, GatewayListener, HttpRouteMatch, Route, RouteRule, parse_duration,
};
use crate::load::kubernetes::{KubeObject, RouteKind, Typed};
use crate::load::yaml::field_path;
use crate::model::PathSegment;
use crate::model::{
    HttpRoute, Https, Inventory, PathKind, PathMatch, PlainHttp, Protocol, RouteBackend, Timeout,
    Via,
};

use crate::load::yaml::Step::{Index, Key};

/// Adds the routes and exposures of every Gateway API route attached to a Gateway of
/// the input. Services and workloads must already be in the inventory.
pub fn add(objects: &[KubeObject], services: &Services, inventory: &mut Inventory) {
    let gateways: HashMap<(&str, &str), (&KubeObject, &Gateway)> = objects
        .iter()
        .filter_map(|o| match &o.typed {
            Typed::Gateway(gateway) => Some((
                (o.namespace.as_str(), o.name.as_str()),
                (o, gateway.as_ref()),
            )),
            _ => None,
        })
        .collect();
    for (object, gateway) in gateways.values() {
        for (i, listener) in gateway.spec.listeners.iter().enumerate() {
            if u16::try_from(listener.port).is_ok_and(|p| p != 0) {
                continue;
            }
            let path = field_path(&[Key("spec"), Key("listeners"), Index(i), Key("port")]);
            inventory.invalid.push(
                object.problem_at(&path, format!("{} is not a port (1-65535)", listener.port)),
            );
        }
    }
    for object in objects {
        if let Typed::GatewayRoute(kind, route) = &object.typed {
            add_route(object, *kind, route, &gateways, services, inventory);
        }
    }
}

/// A listener a route is attached to, with the hosts the route serves on it.
struct Attachment<'a> {
    gateway: &'a KubeObject,
    listener: &'a GatewayListener,
    port: u16,
    hosts: Vec<Option<String>>,
}

fn add_route(
    object: &KubeObject,
    kind: RouteKind,
    route: &Route,
    gateways: &HashMap<(&str, &str), (&KubeObject, &Gateway)>,
    services: &Services,
    inventory: &mut Inventory,
) {
    for attachment in attachments(object, kind, route, gateways) {
        for (i, rule) in route.spec.rules.iter().enumerate() {
            match kind {
                RouteKind::Http | RouteKind::Grpc => {
                    add_http_rule(object, kind, &attachment, i, rule, services, inventory)
                }
                _ => add_l4_rule(object, kind, &attachment, i, rule, services, inventory),
            }
        }
    }
}

fn attachments<'a>(
    object: &KubeObject,
    kind: RouteKind,
    route: &Route,
    gateways: &HashMap<(&str, &str), (&'a KubeObject, &'a Gateway)>,
) -> Vec<Attachment<'a>> {
    let mut found = Vec::new();
    for parent in &route.spec.parent_refs {
        if parent.kind.as_deref().is_some_and(|k| k != "Gateway") {
            continue;
        }
        let namespace = parent.namespace.as_deref().unwrap_or(&object.namespace);
        let Some((gateway, spec)) = gateways.get(&(namespace, parent.name.as_str())) else {
            continue;
        };
        for listener in &spec.spec.listeners {
            let protocol_fits = kind
                .listener_protocols()
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&listener.protocol));
            let section_fits = parent
                .section_name
                .as_ref()
                .is_none_or(|s| *s == listener.name);
            let port_fits = parent.port.is_none_or(|p| p == listener.port);
            let Some(port) = u16::try_from(listener.port).ok().filter(|p| *p != 0) else {
                continue;
            };
            if !(protocol_fits && section_fits && port_fits) {
                continue;
            }
            let Some(hosts) = intersect_hosts(&route.spec.hostnames, listener.hostname.as_deref())
            else {
                continue;
            };
            found.push(Attachment {
                gateway,
                listener,
                port,
                hosts,
            });
        }
    }
    found
}

/// The hosts a route serves on a listener; `None` when they do not intersect.
fn intersect_hosts(route: &[String], listener: Option<&str>) -> Option<Vec<Option<String>>> {
    match (route.is_empty(), listener) {
        (true, None) => Some(vec![None]),
        (true, Some(host)) => Some(vec![Some(host.to_string())]),
        (false, None) => Some(route.iter().cloned().map(Some).collect()),
        (false, Some(host)) => {
            let listener_hosts = [host.to_string()];
            let kept: Vec<Option<String>> = route
                .iter()
                .filter(|h| {
                    host_covered(Some(h), &listener_hosts)
                        || h.strip_prefix('*')
                            .is_some_and(|suffix| host.ends_with(suffix))
                })
                .cloned()
                .map(Some)
                .collect();
            (!kept.is_empty()).then_some(kept)
        }
    }
}

fn rule_path(i: usize) -> Vec<PathSegment> {
    field_path(&[Key("spec"), Key("rules"), Index(i)])
}

/// The shorter of a rule's `request` and `backendRequest` timeouts.
fn rule_timeout(
    object: &KubeObject,
    i: usize,
    rule: &RouteRule,
    inventory: &mut Inventory,
) -> Option<Timeout> {
    let timeouts = rule.timeouts.as_ref()?;
    let mut shortest: Option<Timeout> = None;
    for (field, value) in [
        ("request", &timeouts.request),
        ("backendRequest", &timeouts.backend_request),
    ] {
        let Some(value) = value else {
            continue;
        };
        let path = [
            rule_path(i).as_slice(),
            &[PathSegment::key("timeouts"), PathSegment::key(field)],
        ]
        .concat();
        let Some(seconds) = parse_duration(value) else {
            inventory.invalid.push(object.problem_at(
                &path,
                format!("`{value}` is not a Gateway API duration (`1h`, `3540s`)"),
            ));
            continue;
        };
        // "0s" disables the timeout.
        if seconds == 0 {
            continue;
        }
        if shortest.as_ref().is_none_or(|t| seconds < t.seconds) {
            shortest = Some(Timeout {
                seconds,
                set_by: format!("the rule's `timeouts.{field}`"),
                location: Some(object.location(&path)),
            });
        }
    }
    shortest
}

fn add_http_rule(
    object: &KubeObject,
    kind: RouteKind,
    attachment: &Attachment,
    i: usize,
    rule: &RouteRule,
    services: &Services,
    inventory: &mut Inventory,
) {
    let https_listener = attachment.listener.protocol.eq_ignore_ascii_case("HTTPS");
    let redirects = rule.filters.iter().any(|f| {
        f.kind == "RequestRedirect"
            && f.request_redirect
                .as_ref()
                .and_then(|r| r.scheme.as_deref())
                .is_some_and(|s| s.eq_ignore_ascii_case("https"))
    });
    let (https, plain) = if https_listener {
        (
            Some((Https::Covered, attachment.port)),
            PlainHttp::NotServed,
        )
    } else if redirects {
        (None, PlainHttp::Redirect)
    } else {
        (None, PlainHttp::Served)
    };
    // GRPCRoute has no `timeouts`; one typed in is not read.
    let timeout = match kind {
        RouteKind::Http => rule_timeout(object, i, rule, inventory),
        _ => None,
    };
    let mut paths: Vec<(PathMatch, Vec<PathSegment>)> = rule
        .matches
        .iter()
        .enumerate()
        .map(|(j, m)| {
            let location = field_path(&[
                Key("spec"),
                Key("rules"),
                Index(i),
                Key("matches"),
                Index(j),
            ]);
            match kind {
                RouteKind::Grpc => grpc_path(m, location),
                _ => http_path(m, location),
            }
        })
        .collect();
    if paths.is_empty() {
        paths.push((PathMatch::prefix("/"), rule_path(i)));
    }
    let mut backends: Vec<Option<RouteBackend>> =
        service_backends(object, i, rule, services, inventory)
            .into_iter()
            .map(|(backend, _)| Some(backend))
            .collect();
    if backends.is_empty() {
        if !redirects {
            return;
        }
        backends.push(None);
    }
    for backend in backends {
        for host in &attachment.hosts {
            for (path, location) in &paths {
                let route = HttpRoute {
                    object: object.id(),
                    namespace: object.namespace.clone(),
                    by: match kind {
                        RouteKind::Grpc => "a Gateway API GRPCRoute",
                        _ => "a Gateway API HTTPRoute",
                    },
                    host: host.clone(),
                    path: path.clone(),
                    fallback: false,
                    https,
                    plain,
                    timeout: timeout.clone(),
                    backend: backend.clone(),
                    location: object.location(location),
                };
                expose_route(inventory, &route);
                if kind == RouteKind::Http {
                    inventory.routes.push(route);
                }
            }
        }
    }
}

/// An HTTPRoute match's path: `Exact`, `PathPrefix` (the default), or the literal start of
/// a `RegularExpression`; a match without a path is `PathPrefix /`.
fn http_path(m: &HttpRouteMatch, location: Vec<PathSegment>) -> (PathMatch, Vec<PathSegment>) {
    let Some(path) = &m.path else {
        return (PathMatch::prefix("/"), location);
    };
    let value = path.value.clone().unwrap_or_else(|| "/".into());
    let matcher = match path.kind.as_deref() {
        Some("Exact") => PathMatch {
            value,
            kind: PathKind::Exact,
        },
        Some("RegularExpression") => PathMatch {
            value: super::ingress::literal_start(value.trim_start_matches('^')),
            kind: PathKind::StringPrefix,
        },
        _ => PathMatch::prefix(&value),
    };
    (
        matcher,
        [location.as_slice(), &[PathSegment::key("path")]].concat(),
    )
}

/// A GRPCRoute match's HTTP/2 path, `/<service>/<method>`: both named exactly are one path,
/// a service alone is its prefix; a method alone, a `RegularExpression` or no `method` at
/// all can be any path, `/`.
fn grpc_path(m: &HttpRouteMatch, location: Vec<PathSegment>) -> (PathMatch, Vec<PathSegment>) {
    let Some(method) = &m.method else {
        return (PathMatch::prefix("/"), location);
    };
    let field = |name: &str| method.get(name).and_then(serde_json::Value::as_str);
    let exact = field("type").is_none_or(|t| t == "Exact");
    let matcher = match (exact, field("service"), field("method")) {
        (true, Some(service), Some(name)) => PathMatch {
            value: format!("/{service}/{name}"),
            kind: PathKind::Exact,
        },
        (true, Some(service), None) => PathMatch::prefix(&format!("/{service}")),
        _ => PathMatch::prefix("/"),
    };
    (
        matcher,
        [location.as_slice(), &[PathSegment::key("method")]].concat(),
    )
}

fn add_l4_rule(
    object: &KubeObject,
    kind: RouteKind,
    attachment: &Attachment,
    i: usize,
    rule: &RouteRule,
    services: &Services,
    inventory: &mut Inventory,
) {
    let route_kind = match kind {
        RouteKind::Tls => "TLSRoute",
        RouteKind::Udp => "UDPRoute",
        _ => "TCPRoute",
    };
    let passthrough = attachment
        .listener
        .tls
        .as_ref()
        .and_then(|t| t.mode.as_deref())
        .is_some_and(|m| m == "Passthrough");
    let by = format!(
        "a Gateway API {route_kind} on listener `{}` ({} {}{}) of {}",
        attachment.listener.name,
        attachment.listener.protocol,
        attachment.port,
        if passthrough { ", TLS passthrough" } else { "" },
        attachment.gateway.id()
    );
    for (mut backend, path) in service_backends(object, i, rule, services, inventory) {
        if kind == RouteKind::Udp {
            backend.protocol = Protocol::Udp;
        }
        expose(
            inventory,
            &object.id(),
            &backend,
            Some(attachment.port),
            Via::ControllerRoute { by: by.clone() },
            object.location(&path),
        );
    }
}

/// The rule's backendRefs that name a Service, resolved to the pods behind them, each with
/// its field path. A Service backendRef without a `port` is `invalid-input`; other kinds
/// of backend are not Kubernetes Services and are skipped.
fn service_backends(
    object: &KubeObject,
    i: usize,
    rule: &RouteRule,
    services: &Services,
    inventory: &mut Inventory,
) -> Vec<(RouteBackend, Vec<PathSegment>)> {
    let mut backends = Vec::new();
    for (k, reference) in rule.backend_refs.iter().enumerate() {
        if reference
            .kind
            .as_deref()
            .is_some_and(|kind| kind != "Service")
        {
            continue;
        }
        let path = [
            rule_path(i).as_slice(),
            &[PathSegment::key("backendRefs"), PathSegment::Index(k)],
        ]
        .concat();
        let Some(port) = reference.port else {
            inventory
                .invalid
                .push(object.problem_at(&path, "a Service backendRef needs a `port`"));
            continue;
        };
        let namespace = reference.namespace.as_deref().unwrap_or(&object.namespace);
        let backend = services.resolve(
            inventory,
            namespace,
            &reference.name,
            &PortRef::Number(port),
        );
        backends.push((backend, path));
    }
    backends
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_and_listener_hostnames_intersect() {
        let route = vec!["mail.example.com".to_string()];
        assert_eq!(
            intersect_hosts(&route, Some("*.example.com")),
            Some(vec![Some("mail.example.com".to_string())])
        );
        assert_eq!(intersect_hosts(&route, Some("other.example.org")), None);
        assert_eq!(intersect_hosts(&[], None), Some(vec![None]));
        assert_eq!(
            intersect_hosts(&["*.example.com".to_string()], Some("mail.example.com")),
            Some(vec![Some("*.example.com".to_string())])
        );
    }
}
