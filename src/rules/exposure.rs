//! Exposure rules: a port reaching wider than the catalogue allows, a port the catalogue
//! does not know, and workloads on the host's network.

use super::{for_exposure, reach_phrase};
use crate::catalogue::{Catalogue, PortEntry};
use crate::model::{Exposure, Finding, Inventory, PathMatch, Rule, Scope, Via};

/// `internal-port-exposed`: an exposure wider than the entry's widest scope, or a
/// NetworkPolicy that admits the port from outside its namespace. A plain ClusterIP is
/// left to the NetworkPolicy rules (it is `cluster` because of what the policies do or
/// do not admit, and one cause gets one finding).
pub fn internal_port_exposed(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    let by_policy = super::networkpolicy::admitted_from_other_namespaces(inventory, catalogue);
    inventory
        .exposures
        .iter()
        .filter(|e| e.via != Via::ClusterIp)
        .filter_map(|e| {
            let entry = catalogue.entry(e.target, e.protocol)?;
            (e.scope > entry.scope && !routes_a_published_path(e, entry, catalogue)).then(|| {
                for_exposure(
                    Rule::InternalPortExposed,
                    e,
                    Some(entry),
                    too_wide_message(e, entry),
                )
            })
        })
        .chain(by_policy)
        .collect()
}

/// An HTTP route of one of the paths through which the entry is meant to be reached
/// (SOGo's `/SOGo`, iRedAdmin's `/iredadmin`): over TLS that is how iRedMail publishes it.
/// An ActiveSync path on plain HTTP is `eas-insecure`'s finding, not this rule's.
fn routes_a_published_path(exposure: &Exposure, entry: &PortEntry, catalogue: &Catalogue) -> bool {
    let Via::HttpRoute { path, secure, .. } = &exposure.via else {
        return false;
    };
    let route = PathMatch::prefix(path);
    if !entry.paths.iter().any(|allowed| route.is_within(allowed)) {
        return false;
    }
    *secure
        || catalogue
            .http_paths
            .iter()
            .any(|p| p.activesync && p.tls_required && route.is_within(&p.path))
}

fn too_wide_message(exposure: &Exposure, entry: &PortEntry) -> String {
    let published = match exposure.published {
        Some(p) if p != exposure.target => format!(" on port {p}"),
        _ => String::new(),
    };
    let keep = if entry.listen.starts_with("127.") || entry.listen == "::1" {
        format!("iRedMail keeps it on {}", entry.listen)
    } else {
        format!("the catalogue allows it no wider than `{}`", entry.scope)
    };
    let paths = match &exposure.via {
        Via::HttpRoute { .. } if entry.paths.is_empty() => {
            "; no HTTP path may be routed to it".to_string()
        }
        Via::HttpRoute { .. } => format!(
            "; only {} may be routed to it, over TLS",
            entry.paths.join(", ")
        ),
        _ => String::new(),
    };
    format!(
        "{} {} is reachable {} through {}{published}; {keep}{paths}",
        entry.name,
        entry.port,
        reach_phrase(exposure.scope, &exposure.unit),
        exposure.via.describe(),
    )
}

/// `unknown-port`: a port reaching `cluster` or wider that the catalogue does not list
/// under any protocol (the "extra" port). HTTP routes are left out: they expose paths.
pub fn unknown_port(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    inventory
        .exposures
        .iter()
        .filter(|e| e.scope >= Scope::Cluster)
        // An HTTP route publishes paths, not the port; the Service behind it is judged
        // on its own.
        .filter(|e| !e.via.is_http_route())
        .filter(|e| catalogue.entry_any_protocol(e.target).is_none())
        .map(|e| {
            let reach = reach_phrase(e.scope, &e.unit);
            let via = e.via.describe();
            let message = match e.published.filter(|p| *p != e.target) {
                Some(published) => format!(
                    "port {published} reaches {}/{} in the container {reach} through {via}, \
                     but {} is not an iRedMail port",
                    e.target, e.protocol, e.target
                ),
                None => format!(
                    "port {}/{} is reachable {reach} through {via} but is not an iRedMail port",
                    e.target, e.protocol
                ),
            };
            for_exposure(Rule::UnknownPort, e, None, message)
        })
        .collect()
}

/// `host-network`: the workload shares the node's network namespace.
pub fn host_network(inventory: &Inventory, _: &Catalogue) -> Vec<Finding> {
    inventory
        .workloads
        .iter()
        .filter_map(|w| {
            let location = w.host_network.clone()?;
            let mut ports: Vec<String> = w.listeners.iter().map(|l| l.port.to_string()).collect();
            ports.dedup();
            let listening = if ports.is_empty() {
                "every port it opens".to_string()
            } else {
                format!("ports {}", ports.join(", "))
            };
            let message = format!(
                "{} runs on the host's network: {listening} reach the node's addresses directly, \
                 whatever Services or published ports say",
                w.object
            );
            Some(Finding {
                object: Some(w.object.clone()),
                scope: Some(Scope::External),
                location: Some(location),
                ..Finding::new(Rule::HostNetwork, message)
            })
        })
        .collect()
}
