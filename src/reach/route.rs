//! What Ingresses, Gateway API routes and Traefik routers have in common: the Service
//! lookup that turns a backend (name and port number or name) into the workloads and
//! container port behind it, the exposures routes make, and TLS host coverage.
//! `ingress.rs` and `gateway.rs` fill in [`HttpRoute`]s; the EAS rules read them.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Service;

use crate::load::kubernetes::{KubeObject, Typed};
use crate::model::PathSegment;
use crate::model::{
    Backends, Exposure, HttpRoute, Https, Inventory, Isolation, Location, PlainHttp, Protocol,
    RouteBackend, Scope, Unit, Via,
};

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
            workloads: Backends::none(),
            target: None,
            service_port: match port {
                PortRef::Number(n) => u16::try_from(*n).ok(),
                PortRef::Name(_) => None,
            },
            protocol: Protocol::Tcp,
        };
        let Some((object, service)) = self.by_name.get(&(namespace, name)) else {
            // Judged by the port it names: a Service's targetPort defaults to its port,
            // and a route to `mariadb:3306` is one whether or not the Service is in the
            // same file or review.
            backend.name.push_str(" (not in the input)");
            backend.target = backend.service_port.filter(|p| *p != 0);
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
        backend.service_port = ports
            .and_then(|ports| ports.get(index))
            .and_then(|p| u16::try_from(p.port).ok());
        let location = object.location(&[
            PathSegment::key("spec"),
            PathSegment::key("ports"),
            PathSegment::Index(index),
            PathSegment::key("port"),
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

/// Records the external exposure a route gives its backend's container port. A backend
/// whose container port is unknown (a named port of a Service not in the input) is not
/// judged.
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
        target_last: target,
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

#[cfg(test)]
mod tests {
    use super::*;

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
