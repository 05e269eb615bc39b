//! Life-cycle rules: ports iRedMail deprecated or services it removed.

use super::{for_exposure, reach_phrase};
use crate::catalogue::{Catalogue, Status};
use crate::model::{Finding, Inventory, Rule, Scope};

/// `deprecated-port`: a deprecated port reachable anywhere above loopback.
pub fn deprecated_port(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    inventory
        .exposures
        .iter()
        .filter(|e| e.scope > Scope::Loopback)
        .filter_map(|e| {
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

/// `removed-service`: a container listens on, or something exposes, a port of a service
/// iRedMail removed. Each listener is reported once; an exposure only when no listener
/// of its backends already told.
pub fn removed_service(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    let removed = |port, protocol| {
        catalogue
            .entry(port, protocol)
            .filter(|e| matches!(e.status, Status::Removed { .. }))
    };
    let message = |entry: &crate::catalogue::PortEntry| match &entry.status {
        Status::Removed {
            release,
            replacement,
        } => format!(
            "{} {} was removed in iRedMail {release}; use {replacement}",
            entry.name, entry.port
        ),
        _ => String::new(),
    };
    let mut findings = Vec::new();
    for workload in &inventory.workloads {
        for listener in &workload.listeners {
            if let Some(entry) = removed(listener.port, listener.protocol) {
                findings.push(Finding {
                    port: Some(listener.port),
                    protocol: Some(listener.protocol),
                    service: Some(entry.service.clone()),
                    allowed_scope: Some(entry.scope),
                    object: Some(workload.object.clone()),
                    location: listener.location.clone(),
                    ..Finding::new(Rule::RemovedService, message(entry))
                });
            }
        }
    }
    for exposure in &inventory.exposures {
        let Some(entry) = removed(exposure.target, exposure.protocol) else {
            continue;
        };
        let told = exposure.backends.iter().any(|id| {
            inventory.workloads.get(*id).is_some_and(|w| {
                w.listeners
                    .iter()
                    .any(|l| l.port == exposure.target && l.protocol == exposure.protocol)
            })
        });
        if !told {
            findings.push(for_exposure(
                Rule::RemovedService,
                exposure,
                Some(entry),
                message(entry),
            ));
        }
    }
    findings
}
