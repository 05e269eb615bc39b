//! HTTP routes as data: one path of one host that an Ingress, a Gateway API route or a
//! Traefik router sends somewhere, with its TLS, plain-HTTP behaviour and timeout. The
//! reach step fills these in; the EAS rules read them.

use super::{Backends, Location, Protocol};

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
    pub workloads: Backends,
    /// The container port: resolved through the Service when it is in the input, else
    /// the Service port the route names (a targetPort defaults to the port).
    pub target: Option<u16>,
    /// The Service port the route names, when it is a number or the Service is in the
    /// input: SOGo is recognised by its 20000 there even when its pods are elsewhere.
    pub service_port: Option<u16>,
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
}
