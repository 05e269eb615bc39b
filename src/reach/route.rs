//! What Ingresses, Gateway API routes and Traefik routers have in common: HTTP routes
//! with a host, a path, TLS and a backend Service, and the Service lookup that turns a
//! backend (name and port number or name) into the workloads and container port behind
//! it. `ingress.rs` and `gateway.rs` fill these in; the EAS rules read them.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Service;

use crate::load::kubernetes::{KubeObject, Typed};
use crate::load::yaml::PathSegment;
use crate::model::{
    Exposure, Impact, InvalidInput, Inventory, Isolation, Location, Protocol, Scope, Unit, Via,
    WorkloadId,
};

/// One path of one host that a proxy routes, as the EAS rules judge it.
#[derive(Debug, Clone)]
pub struct HttpRoute {
    /// `Ingress/mail/web`, `HTTPRoute/mail/sogo`, `IngressRoute/mail/web`.
    pub object: String,
    /// The route object's namespace.
    pub namespace: String,
    /// How messages name the route kind (`an Ingress`).
    pub by: &'static str,
    /// The host it matches; `None` for every host.
    pub host: Option<String>,
    pub path: PathMatch,
    /// A default backend, taken only when no rule matches.
    pub fallback: bool,
    /// Whether the route is served over TLS, and on which port.
    pub https: Option<(Https, u16)>,
    /// What a plain-HTTP request for the path gets.
    pub plain: PlainHttp,
    /// The proxy's timeout for a request, when the manifests say (or imply) one.
    pub timeout: Option<Timeout>,
    /// Where the path goes; `None` for a rule that only redirects.
    pub backend: Option<RouteBackend>,
    pub location: Location,
}

/// TLS on a route: a certificate for its host, or none (the controller's default one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Https {
    Covered,
    /// Served on the TLS port, but no `tls` entry covers the host.
    Uncovered,
}

/// What a plain-HTTP request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainHttp {
    NotServed,
    Redirect,
    Served,
}

/// A proxy timeout, with what sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeout {
    pub seconds: u32,
    /// `the proxy-read-timeout annotation`, `ingress-nginx's default proxy-read-timeout`.
    pub set_by: String,
    /// The field that sets it; `None` for a controller's default.
    pub location: Option<Location>,
}

/// The Service port a route sends to, resolved to workloads and a container port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteBackend {
    /// `Service/mail/sogo:20000`, as messages name it.
    pub name: String,
    pub namespace: String,
    pub workloads: Vec<WorkloadId>,
    /// The container port, when the Service is in the input.
    pub target: Option<u16>,
    pub protocol: Protocol,
}

/// How a route matches paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathMatch {
    pub value: String,
    pub kind: PathKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    Exact,
    /// By path elements: `/foo` matches `/foo` and `/foo/bar`, not `/foobar`
    /// (Ingress `Prefix`, Gateway API `PathPrefix`, Traefik `PathPrefix`).
    Prefix,
    /// By characters, as an nginx `location` does (Ingress `ImplementationSpecific`, and
    /// the literal start of a regular expression).
    StringPrefix,
}

impl PathMatch {
    pub fn prefix(value: &str) -> PathMatch {
        PathMatch {
            value: value.to_string(),
            kind: PathKind::Prefix,
        }
    }

    /// Whether a request for `path` matches.
    pub fn matches(&self, path: &str) -> bool {
        let value = self.value.as_str();
        match self.kind {
            PathKind::Exact => value == path,
            PathKind::StringPrefix => path.starts_with(value),
            PathKind::Prefix => {
                let value = value.trim_end_matches('/');
                value.is_empty()
                    || path == value
                    || path
                        .strip_prefix(value)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        }
    }

    /// Whether every request this route matches lies under `path` (the route names the
    /// path itself or a part of it, not a catch-all above it).
    pub fn is_within(&self, path: &str) -> bool {
        let value = self.value.trim_end_matches('/');
        value == path || value.strip_prefix(path).is_some_and(|r| r.starts_with('/'))
    }

    /// Precedence among routes of one host: exact before prefix, longer before shorter.
    pub fn precedence(&self) -> (u8, usize) {
        let exact = u8::from(self.kind == PathKind::Exact);
        (exact, self.value.trim_end_matches('/').len())
    }
}

/// A Service port as a route names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    Number(i32),
    Name(String),
}

impl std::fmt::Display for PortRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortRef::Number(n) => write!(f, "{n}"),
            PortRef::Name(name) => f.write_str(name),
        }
    }
}

/// The Services of the input, by namespace and name, and the exposures their ports made,
/// by the location of the port.
pub struct Services<'a> {
    by_name: HashMap<(&'a str, &'a str), (&'a KubeObject, &'a Service)>,
    exposure_at: HashMap<Location, usize>,
}

impl<'a> Services<'a> {
    pub fn index(objects: &'a [KubeObject], inventory: &Inventory) -> Services<'a> {
        let exposure_at = inventory
            .exposures
            .iter()
            .enumerate()
            .filter(|(_, e)| e.object.starts_with("Service/"))
            .filter_map(|(i, e)| Some((e.location.clone()?, i)))
            .collect();
        let by_name = objects
            .iter()
            .filter_map(|o| match &o.typed {
                Typed::Service(service) => Some((
                    (o.namespace.as_str(), o.name.as_str()),
                    (o, service.as_ref()),
                )),
                _ => None,
            })
            .collect();
        Services {
            by_name,
            exposure_at,
        }
    }

    /// The workloads and container port behind `namespace/name:port`, taken from the
    /// exposure the Service port already made.
    pub fn resolve(
        &self,
        inventory: &Inventory,
        namespace: &str,
        name: &str,
        port: &PortRef,
    ) -> RouteBackend {
        let mut backend = RouteBackend {
            name: format!("Service/{namespace}/{name}:{port}"),
            namespace: namespace.to_string(),
            workloads: Vec::new(),
            target: None,
            protocol: Protocol::Tcp,
        };
        let Some((object, service)) = self.by_name.get(&(namespace, name)) else {
            backend.name.push_str(" (not in the input)");
            return backend;
        };
        let ports = service.spec.as_ref().and_then(|s| s.ports.as_ref());
        let index = ports.and_then(|ports| {
            ports.iter().position(|p| match port {
                PortRef::Number(n) => p.port == *n,
                PortRef::Name(wanted) => p.name.as_deref() == Some(wanted.as_str()),
            })
        });
        let Some(index) = index else {
            backend.name.push_str(" (the Service has no such port)");
            return backend;
        };
        let location = object.location(&[
            key("spec"),
            key("ports"),
            PathSegment::Index(index),
            key("port"),
        ]);
        if let Some(exposure) = self
            .exposure_at
            .get(&location)
            .and_then(|i| inventory.exposures.get(*i))
        {
            backend.workloads = exposure.backends.clone();
            backend.target = Some(exposure.target);
            backend.protocol = exposure.protocol;
        }
        backend
    }
}

pub fn key(name: &str) -> PathSegment {
    PathSegment::Key(name.to_string())
}

/// A path below an object's root from keys and indices.
pub fn at(parts: &[PathPart]) -> Vec<PathSegment> {
    parts
        .iter()
        .map(|p| match p {
            PathPart::K(k) => key(k),
            PathPart::I(i) => PathSegment::Index(*i),
        })
        .collect()
}

/// One step of a field path, for [`at`].
pub enum PathPart<'a> {
    K(&'a str),
    I(usize),
}

/// Records the external exposure a route gives its backend's container port. A backend
/// whose Service is not in the input is not judged: the check sees only the repository.
pub fn expose(
    inventory: &mut Inventory,
    object: &str,
    backend: &RouteBackend,
    published: Option<u16>,
    via: Via,
    location: Location,
) {
    let Some(target) = backend.target else {
        return;
    };
    inventory.exposures.push(Exposure {
        object: object.to_string(),
        unit: Unit::Namespace(backend.namespace.clone()),
        backends: backend.workloads.clone(),
        published,
        target,
        protocol: backend.protocol,
        scope: Scope::External,
        via,
        isolation: Isolation::NotApplicable,
        location: Some(location),
    });
}

/// The exposure an HTTP route gives its backend: on its TLS port if it has one, else 80.
pub fn expose_route(inventory: &mut Inventory, route: &HttpRoute) {
    let Some(backend) = &route.backend else {
        return;
    };
    let published = route.https.map_or(80, |(_, port)| port);
    let secure =
        matches!(route.https, Some((Https::Covered, _))) && route.plain != PlainHttp::Served;
    let via = Via::HttpRoute {
        by: route.by.to_string(),
        path: route.path.value.clone(),
        secure,
    };
    expose(
        inventory,
        &route.object,
        backend,
        Some(published),
        via,
        route.location.clone(),
    );
}

/// Whether a `tls` host list covers a host: exact, or a `*.` wildcard for one label.
/// An empty list covers every host (the controller's wildcard certificate).
pub fn host_covered(host: Option<&str>, tls_hosts: &[String]) -> bool {
    if tls_hosts.is_empty() {
        return true;
    }
    let Some(host) = host else {
        return tls_hosts.iter().any(|h| h == "*");
    };
    tls_hosts.iter().any(|tls| {
        tls.eq_ignore_ascii_case(host)
            || tls.strip_prefix("*.").is_some_and(|suffix| {
                host.split_once('.')
                    .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(suffix))
            })
    })
}

/// An `invalid-input` for a value a route carries that cannot be used.
pub fn invalid(object: &KubeObject, path: &[PathSegment], message: String) -> InvalidInput {
    InvalidInput {
        object: Some(object.id()),
        message: format!("`{}`: {message}", crate::load::yaml::path_to_string(path)),
        location: object.location(path),
        impact: Impact::Unread,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_by_element_and_string_prefixes_by_character() {
        let eas = "/Microsoft-Server-ActiveSync";
        assert!(PathMatch::prefix("/").matches(eas));
        assert!(PathMatch::prefix("/Microsoft-Server-ActiveSync/").matches(eas));
        assert!(!PathMatch::prefix("/Microsoft").matches(eas));
        let string = PathMatch {
            value: "/Microsoft".into(),
            kind: PathKind::StringPrefix,
        };
        assert!(string.matches(eas));
        let exact = PathMatch {
            value: eas.into(),
            kind: PathKind::Exact,
        };
        assert!(exact.matches(eas));
        assert!(!exact.matches("/Microsoft-Server-ActiveSync/x"));
        assert!(PathMatch::prefix("/SOGo/").is_within("/SOGo"));
        assert!(!PathMatch::prefix("/").is_within("/SOGo"));
    }

    #[test]
    fn tls_hosts_cover_exact_and_one_label_wildcards() {
        let hosts = vec!["mail.example.com".to_string(), "*.example.org".to_string()];
        assert!(host_covered(Some("mail.example.com"), &hosts));
        assert!(host_covered(Some("mail.example.org"), &hosts));
        assert!(!host_covered(Some("a.b.example.org"), &hosts));
        assert!(!host_covered(Some("webmail.example.com"), &hosts));
        assert!(!host_covered(None, &hosts));
        assert!(host_covered(Some("any.example.net"), &[]));
    }
}
