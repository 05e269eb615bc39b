//! Custom resources that route traffic into the cluster, typed with small serde structs:
//! Gateway API (Gateway, HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute), Traefik (IngressRoute,
//! IngressRouteTCP, Middleware, ServersTransport) and ingress-nginx's `tcp-services` /
//! `udp-services` ConfigMaps. k8s-openapi has none of them. Locations come from the YAML
//! tree by field path, as for every other object.
//!
//! Files are typed strictly (see `kubernetes.rs`): a field a struct does not have is
//! reported as a typo, as kubectl's strict field validation would reject it. A struct
//! here either models every field of its schema (Gateway API v1.4 standard and
//! experimental channels, Traefik v3 CRDs), and then a typo in it is reported, or is
//! marked partial with an [`Unmodelled`] catch-all (a Gateway's spec and TLS options, an
//! HTTPRoute filter, a Traefik service, a Middleware's and a ServersTransport's spec),
//! whose other fields are accepted unread: there a typo cannot be told from a field
//! this crate does not type. `docs/ingress.md` lists both.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Deserialize;
use serde::de::IgnoredAny;

/// The fields of a partly typed struct that are not read. Flattened into the struct,
/// they are taken as they come, so strict typing does not mistake them for typos.
pub type Unmodelled = BTreeMap<String, IgnoredAny>;

/// An object with `spec`: the fields every object has beside it are typed so that
/// strict typing knows them: `metadata` fully (a misspelt `namespace` would move the
/// object), `status` not at all (the controller writes it, and nothing here reads it).
macro_rules! object {
    ($(#[$doc:meta])* $name:ident { $(#[$spec_attr:meta])* spec: $spec:ty }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            #[serde(default)]
            pub api_version: Option<String>,
            #[serde(default)]
            pub kind: Option<String>,
            #[serde(default)]
            pub metadata: Option<ObjectMeta>,
            $(#[$spec_attr])*
            pub spec: $spec,
            #[serde(default)]
            pub status: Option<serde_json::Value>,
        }
    };
}

object! {
    /// `gateway.networking.k8s.io` Gateway.
    Gateway { spec: GatewaySpec }
}

/// Partial: addresses, infrastructure and the newer TLS and listener-set fields are not
/// read.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    #[serde(default)]
    pub gateway_class_name: Option<String>,
    #[serde(default)]
    pub listeners: Vec<GatewayListener>,
    #[serde(flatten)]
    pub unmodelled: Unmodelled,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayListener {
    pub name: String,
    #[serde(default)]
    pub hostname: Option<String>,
    pub port: i32,
    pub protocol: String,
    #[serde(default)]
    pub tls: Option<GatewayTls>,
    #[serde(default)]
    pub allowed_routes: Option<serde_json::Value>,
}

/// Partial: certificate references, options and client validation are not read.
#[derive(Debug, Clone, Deserialize)]
pub struct GatewayTls {
    /// `Terminate` (the default) or `Passthrough`.
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(flatten)]
    pub unmodelled: Unmodelled,
}

object! {
    /// HTTPRoute, GRPCRoute, TLSRoute, TCPRoute and UDPRoute share this shape; TLS, TCP
    /// and UDP routes simply have no `hostnames` (TCP, UDP), `matches`, `filters` or
    /// `timeouts`, and a GRPCRoute's `matches` name a `method` object, not a `path`.
    Route {
        #[serde(default)]
        spec: RouteSpec
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteSpec {
    #[serde(default)]
    pub parent_refs: Vec<ParentRef>,
    #[serde(default)]
    pub hostnames: Vec<String>,
    #[serde(default)]
    pub rules: Vec<RouteRule>,
    /// Experimental channel: attach to the Gateways that take routes by default.
    #[serde(default)]
    pub use_default_gateways: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentRef {
    #[serde(default)]
    pub group: Option<serde_json::Value>,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub section_name: Option<String>,
    #[serde(default)]
    pub port: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteRule {
    #[serde(default)]
    pub name: Option<serde_json::Value>,
    #[serde(default)]
    pub matches: Vec<HttpRouteMatch>,
    #[serde(default)]
    pub filters: Vec<HttpRouteFilter>,
    #[serde(default)]
    pub backend_refs: Vec<BackendRef>,
    #[serde(default)]
    pub timeouts: Option<HttpRouteTimeouts>,
    /// Experimental channel.
    #[serde(default)]
    pub retry: Option<serde_json::Value>,
    /// Experimental channel.
    #[serde(default)]
    pub session_persistence: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteMatch {
    #[serde(default)]
    pub path: Option<HttpPathMatch>,
    #[serde(default)]
    pub headers: Option<serde_json::Value>,
    #[serde(default)]
    pub query_params: Option<serde_json::Value>,
    /// HTTPRoute: an HTTP method (`GET`); GRPCRoute: `{type, service, method}`.
    #[serde(default)]
    pub method: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpPathMatch {
    /// `Exact`, `PathPrefix` (the default) or `RegularExpression`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

/// Partial: only the redirect is read, of a dozen filter kinds.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteFilter {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub request_redirect: Option<RequestRedirect>,
    #[serde(flatten)]
    pub unmodelled: Unmodelled,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRedirect {
    #[serde(default)]
    pub scheme: Option<String>,
    #[serde(default)]
    pub hostname: Option<serde_json::Value>,
    #[serde(default)]
    pub path: Option<serde_json::Value>,
    #[serde(default)]
    pub port: Option<serde_json::Value>,
    #[serde(default)]
    pub status_code: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BackendRef {
    #[serde(default)]
    pub group: Option<serde_json::Value>,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub port: Option<i32>,
    #[serde(default)]
    pub weight: Option<serde_json::Value>,
    #[serde(default)]
    pub filters: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteTimeouts {
    #[serde(default)]
    pub request: Option<String>,
    #[serde(default)]
    pub backend_request: Option<String>,
}

object! {
    /// Traefik IngressRoute and IngressRouteTCP (`traefik.io/v1alpha1`, and the older
    /// `traefik.containo.us/v1alpha1`).
    IngressRoute { spec: IngressRouteSpec }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressRouteSpec {
    #[serde(default)]
    pub entry_points: Vec<String>,
    #[serde(default)]
    pub routes: Vec<TraefikRoute>,
    #[serde(default)]
    pub tls: Option<TraefikTls>,
}

/// A route of an IngressRoute (HTTP) or of an IngressRouteTCP, which has no `kind` and no
/// `observability`.
#[derive(Debug, Clone, Deserialize)]
pub struct TraefikRoute {
    /// The rule: `Host(`mail.example.com`) && PathPrefix(`/SOGo`)`, `HostSNI(`*`)`.
    #[serde(rename = "match")]
    pub rule: String,
    /// Always `Rule`.
    #[serde(default)]
    pub kind: Option<serde_json::Value>,
    #[serde(default)]
    pub priority: Option<serde_json::Value>,
    #[serde(default)]
    pub syntax: Option<serde_json::Value>,
    #[serde(default)]
    pub services: Vec<TraefikService>,
    #[serde(default)]
    pub middlewares: Vec<MiddlewareRef>,
    #[serde(default)]
    pub observability: Option<serde_json::Value>,
}

/// Partial: load-balancing, health-check and stickiness settings are not read.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraefikService {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub port: Option<IntOrString>,
    #[serde(default)]
    pub servers_transport: Option<String>,
    #[serde(flatten)]
    pub unmodelled: Unmodelled,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MiddlewareRef {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// The TLS of an IngressRoute (`passthrough` only on an IngressRouteTCP).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraefikTls {
    #[serde(default)]
    pub passthrough: bool,
    #[serde(default)]
    pub secret_name: Option<serde_json::Value>,
    #[serde(default)]
    pub options: Option<serde_json::Value>,
    #[serde(default)]
    pub store: Option<serde_json::Value>,
    #[serde(default)]
    pub cert_resolver: Option<serde_json::Value>,
    #[serde(default)]
    pub domains: Option<serde_json::Value>,
}

object! {
    /// Traefik Middleware: only `redirectScheme` matters here.
    Middleware {
        #[serde(default)]
        spec: MiddlewareSpec
    }
}

/// Partial: a Middleware has one of some thirty kinds; only `redirectScheme` is read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MiddlewareSpec {
    #[serde(default)]
    pub redirect_scheme: Option<RedirectScheme>,
    #[serde(flatten)]
    pub unmodelled: Unmodelled,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedirectScheme {
    #[serde(default)]
    pub scheme: Option<String>,
    #[serde(default)]
    pub port: Option<serde_json::Value>,
    #[serde(default)]
    pub permanent: Option<serde_json::Value>,
}

object! {
    /// Traefik ServersTransport: how long Traefik waits for a backend's response headers.
    ServersTransport {
        #[serde(default)]
        spec: ServersTransportSpec
    }
}

/// Partial: certificates, server names and connection limits are not read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServersTransportSpec {
    #[serde(default)]
    pub forwarding_timeouts: Option<ForwardingTimeouts>,
    #[serde(flatten)]
    pub unmodelled: Unmodelled,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardingTimeouts {
    /// A duration (`"60s"`) or a number of seconds.
    #[serde(default)]
    pub response_header_timeout: Option<IntOrString>,
    #[serde(default)]
    pub dial_timeout: Option<serde_json::Value>,
    #[serde(default)]
    pub idle_conn_timeout: Option<serde_json::Value>,
    #[serde(default)]
    pub read_idle_timeout: Option<serde_json::Value>,
    #[serde(default)]
    pub ping_timeout: Option<serde_json::Value>,
}

/// ingress-nginx's `tcp-services` / `udp-services` ConfigMap: external port →
/// `namespace/service:port[:PROXY][:PROXY]`. Typed as a ConfigMap by the loader.
#[derive(Debug, Clone, Default)]
pub struct ControllerPorts {
    pub data: BTreeMap<String, String>,
}

/// Whether a ConfigMap's name is one ingress-nginx reads as TCP or UDP services: the
/// `--tcp-services-configmap` names of its documentation and of its Helm chart.
pub fn controller_ports_protocol(name: &str) -> Option<crate::model::Protocol> {
    use crate::model::Protocol;
    if name == "tcp-services" || name.ends_with("ingress-nginx-tcp") {
        Some(Protocol::Tcp)
    } else if name == "udp-services" || name.ends_with("ingress-nginx-udp") {
        Some(Protocol::Udp)
    } else {
        None
    }
}

/// Parses a Gateway API duration (`1h`, `3540s`, `1h30m`, `500ms`) into whole seconds.
pub fn parse_duration(text: &str) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let value: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor: u64 = match &rest[..unit_len] {
            "h" => 3_600_000,
            "m" => 60_000,
            "s" => 1_000,
            "ms" => 1,
            _ => return None,
        };
        total_ms = total_ms.checked_add(value.checked_mul(factor)?)?;
        rest = &rest[unit_len..];
    }
    u32::try_from(total_ms / 1_000).ok()
}

/// Seconds from a value that is a number of seconds or a duration.
pub fn seconds_of(value: &IntOrString) -> Option<u32> {
    match value {
        IntOrString::Int(n) => u32::try_from(*n).ok(),
        IntOrString::String(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .or_else(|| parse_duration(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_the_gateway_api_format() {
        assert_eq!(parse_duration("3540s"), Some(3540));
        assert_eq!(parse_duration("1h"), Some(3600));
        assert_eq!(parse_duration("59m"), Some(3540));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("1500ms"), Some(1));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("5d"), None);
        assert_eq!(seconds_of(&IntOrString::String("60".into())), Some(60));
        assert_eq!(seconds_of(&IntOrString::Int(30)), Some(30));
    }
}
