//! Mapping rules: a client-facing port moved to another number, or declared with the
//! wrong transport protocol.

use std::collections::{BTreeSet, HashMap};

use super::{for_exposure, for_range, list_entries, published_on, who_connects};
use crate::catalogue::{Catalogue, PortEntry};
use crate::model::{Exposure, Finding, Inventory, Location, Protocol, Rule, Scope, Via, port_text};

/// `port-remapped`: clients and MX peers connect to a client-facing port by its number,
/// so publishing it on another one (or letting the platform pick one) breaks them.
/// Loopback-only publishing reaches no client and is left alone.
pub fn port_remapped(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    inventory
        .exposures
        .iter()
        .filter(|e| e.scope > Scope::Loopback && e.via != Via::HostNetwork)
        // An HTTP route publishes paths, not the port; a Traefik TCP entry point's port
        // is not in the manifests.
        .filter(|e| !e.via.is_http_route())
        .filter(|e| !(e.published.is_none() && matches!(e.via, Via::ControllerRoute { .. })))
        .filter(|e| e.published != Some(e.target))
        .filter_map(|e| {
            if e.is_range() {
                return remapped_in_range(e, catalogue);
            }
            // A port published beyond its catalogue scope (managesieve on a NodePort) is
            // `internal-port-exposed`: its number is not the problem, one cause one finding.
            let entry = catalogue
                .entry(e.target, e.protocol)
                .filter(|entry| entry.client_facing && e.scope <= entry.scope)?;
            let message = format!(
                "{} {} is published {}; {} connect to {}",
                entry.name,
                entry.port,
                published_on(e),
                who_connects(entry),
                entry.port
            );
            Some(for_exposure(Rule::PortRemapped, e, Some(entry), message))
        })
        .collect()
}

/// One finding naming the client-facing ports a range moves to other numbers.
fn remapped_in_range(exposure: &Exposure, catalogue: &Catalogue) -> Option<Finding> {
    let entries: Vec<&PortEntry> = catalogue
        .entries_in(exposure.target, exposure.target_last, exposure.protocol)
        .into_iter()
        .filter(|entry| entry.client_facing && exposure.scope <= entry.scope)
        .collect();
    if entries.is_empty() {
        return None;
    }
    let list = list_entries(&entries, |entry| format!("{} {}", entry.name, entry.port));
    let message = format!(
        "ports {}/{} are published {}, which moves {list} off the numbers {} connect to",
        exposure.target_text(),
        exposure.protocol,
        published_on(exposure),
        who_connects(entries[0]),
    );
    Some(for_range(Rule::PortRemapped, exposure, &entries, message))
}

/// `protocol-mismatch`: a catalogue TCP port declared as UDP or SCTP, with no TCP
/// declaration for the same port on the same object.
pub fn protocol_mismatch(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    // Every declaration (listeners and exposures), a range as one.
    let mut declarations: Vec<Declaration> = Vec::new();
    for workload in &inventory.workloads {
        for l in &workload.listeners {
            declarations.push(Declaration {
                object: &workload.object,
                first: l.port,
                last: l.last,
                protocol: l.protocol,
                location: l.location.as_ref(),
            });
        }
    }
    for e in &inventory.exposures {
        declarations.push(Declaration {
            object: &e.object,
            first: e.target,
            last: e.target_last,
            protocol: e.protocol,
            location: e.location.as_ref(),
        });
    }
    let mut tcp: HashMap<&str, Vec<(u16, u16)>> = HashMap::new();
    for d in declarations.iter().filter(|d| d.protocol == Protocol::Tcp) {
        tcp.entry(d.object).or_default().push((d.first, d.last));
    }
    let has_tcp = |object: &str, port: u16| {
        tcp.get(object)
            .is_some_and(|ranges| ranges.iter().any(|(a, b)| (*a..=*b).contains(&port)))
    };
    let mut seen = BTreeSet::new();
    declarations
        .into_iter()
        .filter(|d| d.protocol != Protocol::Tcp)
        .filter_map(|d| {
            let entries: Vec<&PortEntry> = catalogue
                .entries_in(d.first, d.last, Protocol::Tcp)
                .into_iter()
                .filter(|entry| {
                    catalogue.entry(entry.port, d.protocol).is_none()
                        && !has_tcp(d.object, entry.port)
                })
                .collect();
            let entry = *entries.first()?;
            if !seen.insert((d.object, d.first, d.last, d.location)) {
                return None;
            }
            let message = if d.last > d.first {
                let list = list_entries(&entries, |e| format!("{} {}", e.name, e.port));
                format!(
                    "{list} {} TCP but {} declares ports {} as {} only: nothing will reach \
                     {} over TCP",
                    if entries.len() == 1 { "is" } else { "are" },
                    d.object,
                    port_text(d.first, d.last),
                    d.protocol,
                    if entries.len() == 1 { "it" } else { "them" },
                )
            } else {
                format!(
                    "{} {} is a TCP service but {} declares it as {} only: nothing will reach \
                     it over TCP",
                    entry.name, entry.port, d.object, d.protocol
                )
            };
            Some(Finding {
                port: Some(d.first),
                protocol: Some(d.protocol),
                service: Some(entry.service.clone()),
                allowed_scope: entries.iter().map(|e| e.scope).min(),
                object: Some(d.object.to_string()),
                location: d.location.cloned(),
                ..Finding::new(Rule::ProtocolMismatch, message)
            })
        })
        .collect()
}

/// One port, or a range, that an object declares.
struct Declaration<'a> {
    object: &'a str,
    first: u16,
    last: u16,
    protocol: Protocol,
    location: Option<&'a Location>,
}
