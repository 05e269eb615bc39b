//! Mapping rules: a client-facing port moved to another number, or declared with the
//! wrong transport protocol.

use std::collections::BTreeSet;

use super::required::published_on;
use super::{for_exposure, who_connects};
use crate::catalogue::Catalogue;
use crate::model::{Finding, Inventory, Location, Protocol, Rule, Scope, Via};

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

/// `protocol-mismatch`: a catalogue TCP port declared as UDP or SCTP, with no TCP
/// declaration for the same port on the same object.
pub fn protocol_mismatch(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    // (object, port, protocol, location) of every declaration: listeners and exposures.
    let mut declarations: Vec<(&str, u16, Protocol, Option<&Location>)> = Vec::new();
    for workload in &inventory.workloads {
        for l in &workload.listeners {
            declarations.push((&workload.object, l.port, l.protocol, l.location.as_ref()));
        }
    }
    for e in &inventory.exposures {
        declarations.push((&e.object, e.target, e.protocol, e.location.as_ref()));
    }
    let has_tcp: BTreeSet<(&str, u16)> = declarations
        .iter()
        .filter(|d| d.2 == Protocol::Tcp)
        .map(|d| (d.0, d.1))
        .collect();
    let mut seen = BTreeSet::new();
    declarations
        .into_iter()
        .filter(|(object, port, protocol, _)| {
            *protocol != Protocol::Tcp && !has_tcp.contains(&(*object, *port))
        })
        .filter_map(|(object, port, protocol, location)| {
            let entry = catalogue.entry(port, Protocol::Tcp)?;
            if catalogue.entry(port, protocol).is_some() || !seen.insert((object, port, location)) {
                return None;
            }
            let message = format!(
                "{} {port} is a TCP service but {object} declares it as {protocol} only: \
                 nothing will reach it over TCP",
                entry.name
            );
            Some(Finding {
                port: Some(port),
                protocol: Some(protocol),
                service: Some(entry.service.clone()),
                allowed_scope: Some(entry.scope),
                object: Some(object.to_string()),
                location: location.cloned(),
                ..Finding::new(Rule::ProtocolMismatch, message)
            })
        })
        .collect()
}
