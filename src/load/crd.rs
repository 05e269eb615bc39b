//! Custom resources that route traffic into the cluster, typed with small serde structs:
//! Gateway API (Gateway, HTTPRoute, TLSRoute, TCPRoute, UDPRoute), Traefik (IngressRoute,
//! IngressRouteTCP, Middleware, ServersTransport) and ingress-nginx's `tcp-services` /
//! `udp-services` ConfigMaps. k8s-openapi has none of them. Only the fields that decide
//! who reaches what are typed; unknown fields are ignored, as kubectl would keep them.
//! Locations come from the YAML tree by field path, as for every other object.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Deserialize;

/// `gateway.networking.k8s.io` Gateway.
#[derive(Debug, Clone, Deserialize)]
pub struct Gateway {
    pub spec: GatewaySpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    #[serde(default)]
    pub gateway_class_name: Option<String>,
    #[serde(default)]
    pub listeners: Vec<GatewayListener>,
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
}

#[derive(Debug, Clone, Deserialize)]
pub struct GatewayTls {
    /// `Terminate` (the default) or `Passthrough`.
    #[serde(default)]
    pub mode: Option<String>,
}

/// HTTPRoute, TLSRoute, TCPRoute and UDPRoute share this shape; TLS, TCP and UDP routes
/// simply have no `matches`, `filters` or `timeouts`.
#[derive(Debug, Clone, Deserialize)]
pub struct Route {
    #[serde(default)]
    pub spec: RouteSpec,
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentRef {
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
    pub matches: Vec<HttpRouteMatch>,
    #[serde(default)]
    pub filters: Vec<HttpRouteFilter>,
    #[serde(default)]
    pub backend_refs: Vec<BackendRef>,
    #[serde(default)]
    pub timeouts: Option<HttpRouteTimeouts>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpRouteMatch {
    #[serde(default)]
    pub path: Option<HttpPathMatch>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpPathMatch {
    /// `Exact`, `PathPrefix` (the default) or `RegularExpression`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteFilter {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub request_redirect: Option<RequestRedirect>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RequestRedirect {
    #[serde(default)]
    pub scheme: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BackendRef {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub port: Option<i32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteTimeouts {
    #[serde(default)]
    pub request: Option<String>,
    #[serde(default)]
    pub backend_request: Option<String>,
}

/// Traefik IngressRoute and IngressRouteTCP (`traefik.io/v1alpha1`, and the older
/// `traefik.containo.us/v1alpha1`).
#[derive(Debug, Clone, Deserialize)]
pub struct IngressRoute {
    pub spec: IngressRouteSpec,
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

#[derive(Debug, Clone, Deserialize)]
pub struct TraefikRoute {
    /// The rule: `Host(`mail.example.com`) && PathPrefix(`/SOGo`)`, `HostSNI(`*`)`.
    #[serde(rename = "match")]
    pub rule: String,
    #[serde(default)]
    pub services: Vec<TraefikService>,
    #[serde(default)]
    pub middlewares: Vec<MiddlewareRef>,
}

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
}

#[derive(Debug, Clone, Deserialize)]
pub struct MiddlewareRef {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TraefikTls {
    #[serde(default)]
    pub passthrough: bool,
}

/// Traefik Middleware: only `redirectScheme` matters here.
#[derive(Debug, Clone, Deserialize)]
pub struct Middleware {
    #[serde(default)]
    pub spec: MiddlewareSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MiddlewareSpec {
    #[serde(default)]
    pub redirect_scheme: Option<RedirectScheme>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedirectScheme {
    #[serde(default)]
    pub scheme: Option<String>,
}

/// Traefik ServersTransport: how long Traefik waits for a backend's response headers.
#[derive(Debug, Clone, Deserialize)]
pub struct ServersTransport {
    #[serde(default)]
    pub spec: ServersTransportSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServersTransportSpec {
    #[serde(default)]
    pub forwarding_timeouts: Option<ForwardingTimeouts>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardingTimeouts {
    /// A duration (`"60s"`) or a number of seconds.
    #[serde(default)]
    pub response_header_timeout: Option<IntOrString>,
}

/// ingress-nginx's `tcp-services` / `udp-services` ConfigMap: external port →
/// `namespace/service:port[:PROXY][:PROXY]`.
#[derive(Debug, Clone, Deserialize)]
pub struct ControllerPorts {
    #[serde(default)]
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
