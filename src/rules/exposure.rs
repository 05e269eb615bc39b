//! Exposure rules: a port reaching wider than the catalogue allows, a port the catalogue
//! does not know, and workloads on the host's network.

use super::{for_exposure, for_range, list_entries, published_range_phrase, reach_phrase};
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
            if e.is_range() {
                return range_too_wide(e, catalogue);
            }
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

/// A published or exposed range is one finding naming every catalogue port inside it
/// that reaches wider than allowed (a range is never an HTTP route).
fn range_too_wide(exposure: &Exposure, catalogue: &Catalogue) -> Option<Finding> {
    let entries: Vec<&PortEntry> = catalogue
        .entries_in(exposure.target, exposure.target_last, exposure.protocol)
        .into_iter()
        .filter(|entry| exposure.scope > entry.scope)
        .collect();
    if entries.is_empty() {
        return None;
    }
    // Grouped by the scope the catalogue allows, narrowest first.
    let mut scopes: Vec<Scope> = entries.iter().map(|e| e.scope).collect();
    scopes.sort();
    scopes.dedup();
    let groups: Vec<String> = scopes
        .iter()
        .map(|scope| {
            let within: Vec<&PortEntry> = entries
                .iter()
                .copied()
                .filter(|e| e.scope == *scope)
                .collect();
            let list = list_entries(&within, |e| format!("{} {}", e.name, e.port));
            format!("{list}, which the catalogue allows no wider than `{scope}`")
        })
        .collect();
    let message = format!(
        "ports {}/{} are reachable {} through {}{}, and the range holds {}",
        exposure.target_text(),
        exposure.protocol,
        reach_phrase(exposure.scope, &exposure.unit),
        exposure.via.describe(),
        published_range_phrase(exposure),
        groups.join("; and "),
    );
    Some(for_range(
        Rule::InternalPortExposed,
        exposure,
        &entries,
        message,
    ))
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
        .filter_map(|e| {
            if e.is_range() {
                return unknown_in_range(e, catalogue);
            }
            catalogue
                .entry_any_protocol(e.target)
                .is_none()
                .then_some(e)?;
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
            Some(for_exposure(Rule::UnknownPort, e, None, message))
        })
        .collect()
}

/// One finding for the ports of a range that the catalogue does not know; the catalogue
/// ports inside it are named, and judged by their own rules.
fn unknown_in_range(exposure: &Exposure, catalogue: &Catalogue) -> Option<Finding> {
    let (first, last) = (exposure.target, exposure.target_last);
    let width = usize::from(last - first) + 1;
    let unknown = width - catalogue.known_ports_in(first, last);
    if unknown == 0 {
        return None;
    }
    let mut known: Vec<u16> = catalogue
        .ports
        .iter()
        .map(|e| e.port)
        .filter(|p| (first..=last).contains(p))
        .collect();
    known.sort_unstable();
    known.dedup();
    let holds = if known.is_empty() {
        String::new()
    } else {
        let ports: Vec<String> = known.iter().map(u16::to_string).collect();
        format!(" (it also holds iRedMail's {})", ports.join(", "))
    };
    let message = format!(
        "ports {}/{} are reachable {} through {}{}, and {unknown} of those {width} ports are \
         not iRedMail ports{holds}",
        exposure.target_text(),
        exposure.protocol,
        reach_phrase(exposure.scope, &exposure.unit),
        exposure.via.describe(),
        published_range_phrase(exposure),
    );
    Some(for_exposure(Rule::UnknownPort, exposure, None, message))
}

/// `host-network`: the workload shares the node's network namespace.
pub fn host_network(inventory: &Inventory, _: &Catalogue) -> Vec<Finding> {
    inventory
        .workloads
        .iter()
        .filter_map(|w| {
            let location = w.host_network.clone()?;
            let mut ports: Vec<String> = w.listeners.iter().map(|l| l.text()).collect();
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
