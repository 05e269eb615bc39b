//! `missing-port`: a mail stack must offer every requirement of the catalogue (SMTP on
//! 25 from outside, submission, IMAP, HTTPS) at its scope.

use super::reach_phrase;
use crate::catalogue::{Catalogue, Requirement};
use crate::model::{Finding, Inventory, Rule, Scope, Unit, UnitParts};

pub fn missing_port(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    let stack_ports: Vec<u16> = catalogue
        .requirements
        .iter()
        .filter(|r| r.marks_mail_stack)
        .flat_map(|r| r.any_of.iter().copied())
        .collect();
    let mut findings = Vec::new();
    for (unit, parts) in inventory.by_unit() {
        if !is_mail_stack(&parts, catalogue, &stack_ports) {
            continue;
        }
        for requirement in &catalogue.requirements {
            if !is_met(&parts, requirement) {
                findings.push(missing(&parts, catalogue, unit, requirement));
            }
        }
    }
    findings
}

/// A unit is an iRedMail mail stack when it runs an iRedMail image or listens on a port
/// that only a mail server has. Other namespaces in the same repository are not judged.
fn is_mail_stack(parts: &UnitParts, catalogue: &Catalogue, stack_ports: &[u16]) -> bool {
    let by_image = parts.workloads.iter().any(|w| {
        w.images
            .iter()
            .any(|image| catalogue.images.iter().any(|p| image.contains(p.as_str())))
    });
    let by_listener = parts
        .workloads
        .iter()
        .flat_map(|w| &w.listeners)
        .any(|l| stack_ports.contains(&l.port));
    let by_exposure = parts
        .exposures
        .iter()
        .any(|e| stack_ports.contains(&e.target));
    by_image || by_listener || by_exposure
}

fn is_met(parts: &UnitParts, requirement: &Requirement) -> bool {
    parts.exposures.iter().any(|e| {
        // An HTTP route offers its own port (443), whatever the container listens on.
        let offered = if e.via.is_http_route() {
            e.published.unwrap_or(e.target)
        } else {
            e.target
        };
        requirement.any_of.contains(&offered)
            && e.protocol == requirement.protocol
            && e.scope >= requirement.scope
    })
}

/// The finding points at what comes closest: an exposure that reaches too narrowly, else
/// a container listening on the port, else nothing.
fn missing(
    parts: &UnitParts,
    catalogue: &Catalogue,
    unit: &Unit,
    requirement: &Requirement,
) -> Finding {
    let ports = requirement
        .any_of
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    let first = requirement.any_of.first().copied();
    let entry = first.and_then(|p| catalogue.entry(p, requirement.protocol));
    let name = entry.map_or_else(|| "port".to_string(), |e| e.name.clone());
    let base = Finding {
        port: first,
        protocol: Some(requirement.protocol),
        service: entry.map(|e| e.service.clone()),
        allowed_scope: Some(requirement.scope),
        object: Some(unit.to_string()),
        ..Finding::new(Rule::MissingPort, String::new())
    };
    let narrow = parts
        .exposures
        .iter()
        .filter(|e| requirement.any_of.contains(&e.target))
        .filter(|e| e.protocol == requirement.protocol)
        .max_by_key(|e| e.scope);
    if let Some(e) = narrow {
        return Finding {
            port: Some(e.target),
            scope: Some(e.scope),
            object: Some(e.object.clone()),
            location: e.location.clone(),
            message: format!(
                "{name} ({ports}) is reachable only {} through {}; it must be reachable `{}`: {}",
                reach_phrase(e.scope, &e.unit),
                e.via.describe(),
                requirement.scope,
                requirement.why
            ),
            ..base
        };
    }
    let listener = parts.workloads.iter().find_map(|w| {
        let l = w
            .listeners
            .iter()
            .find(|l| requirement.any_of.contains(&l.port))?;
        Some((w, l))
    });
    if let Some((workload, l)) = listener {
        return Finding {
            port: Some(l.port),
            scope: Some(Scope::Loopback),
            object: Some(workload.object.clone()),
            location: l.location.clone(),
            message: format!(
                "{name} ({ports}): {} listens on {} but nothing makes it reachable `{}`: {}",
                workload.object, l.port, requirement.scope, requirement.why
            ),
            ..base
        };
    }
    Finding {
        message: format!(
            "{name} ({ports}) is not offered by {unit}; it must be reachable `{}`: {}",
            requirement.scope, requirement.why
        ),
        ..base
    }
}
