//! Life-cycle rules: ports iRedMail deprecated or services it removed.

use std::collections::HashMap;

use super::{for_exposure, for_range, list_entries, reach_phrase};
use crate::catalogue::{Catalogue, PortEntry, Status};
use crate::model::{Exposure, Finding, Inventory, Protocol, Rule, Scope};

/// `deprecated-port`: a deprecated port reachable anywhere above loopback.
pub fn deprecated_port(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    inventory
        .exposures
        .iter()
        .filter(|e| e.scope > Scope::Loopback)
        .filter_map(|e| {
            if e.is_range() {
                return deprecated_in_range(e, catalogue);
            }
            let entry = catalogue.entry(e.target, e.protocol)?;
            let Status::Deprecated {
                replacement,
                reason,
            } = &entry.status
            else {
                return None;
            };
            let message = format!(
                "{} {} is reachable {} but deprecated in favour of {replacement} ({reason})",
                entry.name,
                entry.port,
                reach_phrase(e.scope, &e.unit),
            );
            Some(for_exposure(Rule::DeprecatedPort, e, Some(entry), message))
        })
        .collect()
}

/// One finding naming every deprecated port inside a range.
fn deprecated_in_range(exposure: &Exposure, catalogue: &Catalogue) -> Option<Finding> {
    let entries: Vec<&PortEntry> = catalogue
        .entries_in(exposure.target, exposure.target_last, exposure.protocol)
        .into_iter()
        .filter(|entry| matches!(entry.status, Status::Deprecated { .. }))
        .collect();
    if entries.is_empty() {
        return None;
    }
    let list = list_entries(&entries, |entry| match &entry.status {
        Status::Deprecated { replacement, .. } => {
            format!("{} {} (use {replacement})", entry.name, entry.port)
        }
        _ => String::new(),
    });
    let message = format!(
        "ports {}/{} are reachable {}, and the range holds deprecated {list}",
        exposure.target_text(),
        exposure.protocol,
        reach_phrase(exposure.scope, &exposure.unit),
    );
    Some(for_range(Rule::DeprecatedPort, exposure, &entries, message))
}

/// The removed services' entries among `first..=last`.
fn removed_in(catalogue: &Catalogue, first: u16, last: u16, protocol: Protocol) -> Vec<&PortEntry> {
    catalogue
        .entries_in(first, last, protocol)
        .into_iter()
        .filter(|e| matches!(e.status, Status::Removed { .. }))
        .collect()
}

/// `removed-service`: a container listens on, or something exposes, a port of a service
/// iRedMail removed. Each listener is reported once; an exposure only when no listener
/// of its backends already told.
pub fn removed_service(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    let message = |entry: &PortEntry| match &entry.status {
        Status::Removed {
            release,
            replacement,
        } => format!(
            "{} {} was removed in iRedMail {release}; use {replacement}",
            entry.name, entry.port
        ),
        _ => String::new(),
    };
    // A range names the removed ports inside it, in one finding.
    let range_message = |text: String, entries: &[&PortEntry]| {
        let removed: Vec<String> = entries.iter().map(|e| message(e)).collect();
        format!(
            "ports {text} include a removed service: {}",
            removed.join("; ")
        )
    };
    let mut findings = Vec::new();
    for workload in &inventory.workloads {
        for listener in &workload.listeners {
            let entries = removed_in(catalogue, listener.port, listener.last, listener.protocol);
            let Some(first) = entries.first() else {
                continue;
            };
            let text = if listener.last > listener.port {
                range_message(listener.text(), &entries)
            } else {
                message(first)
            };
            findings.push(Finding {
                port: Some(listener.port),
                protocol: Some(listener.protocol),
                service: Some(first.service.clone()),
                allowed_scope: Some(first.scope),
                object: Some(workload.object.clone()),
                location: listener.location.clone(),
                ..Finding::new(Rule::RemovedService, text)
            });
        }
    }
    let mut told_by = HashMap::new();
    for exposure in &inventory.exposures {
        let entries = removed_in(
            catalogue,
            exposure.target,
            exposure.target_last,
            exposure.protocol,
        );
        if entries.is_empty() {
            continue;
        }
        // Thousands of Services may share one set of pods: asked once per set and port.
        let told = *told_by
            .entry((
                exposure.backends.key(),
                exposure.target,
                exposure.target_last,
                exposure.protocol,
            ))
            .or_insert_with(|| {
                exposure.backends.iter().any(|id| {
                    inventory.workloads.get(*id).is_some_and(|w| {
                        entries
                            .iter()
                            .all(|entry| w.listener(entry.port, exposure.protocol).is_some())
                    })
                })
            });
        if told {
            continue;
        }
        let finding = if exposure.is_range() {
            let text = range_message(exposure.target_text(), &entries);
            for_range(Rule::RemovedService, exposure, &entries, text)
        } else {
            let entry = entries[0];
            for_exposure(Rule::RemovedService, exposure, Some(entry), message(entry))
        };
        findings.push(finding);
    }
    findings
}
