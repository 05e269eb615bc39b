//! `missing-port`: a mail stack must offer every requirement of the catalogue (SMTP on
//! 25 from outside, submission, IMAP, HTTPS) at its scope, on the requirement's own port
//! number: other mail servers connect to 25 and nothing else, so SMTP published only on
//! 2525 or a NodePort receives no mail.

use std::collections::HashSet;

use super::{published_on, reach_phrase};
use crate::catalogue::{Catalogue, Requirement};
use crate::model::{Exposure, Finding, Inventory, Rule, Scope, Unit, UnitParts, Via};

pub fn missing_port(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    unmet_requirements(inventory, catalogue)
        .into_iter()
        .map(|unmet| missing(&unmet, catalogue))
        .collect()
}

/// The mail stacks that `missing-port` reports for not offering `port` at all: other rules
/// about that port (SOGo's ActiveSync over 443) would only restate it for them.
pub(super) fn units_not_offering<'a>(
    inventory: &'a Inventory,
    catalogue: &'a Catalogue,
    port: u16,
) -> HashSet<&'a Unit> {
    unmet_requirements(inventory, catalogue)
        .into_iter()
        .filter(|unmet| unmet.requirement.any_of.contains(&port))
        .map(|unmet| unmet.unit)
        .collect()
}

/// A requirement a mail stack does not meet, with what comes closest.
struct Unmet<'a> {
    unit: &'a Unit,
    requirement: &'a Requirement,
    parts: UnitParts<'a>,
    /// The exposure of the required service that reaches widest, if any.
    closest: Option<&'a Exposure>,
}

/// Every requirement of every mail stack that nothing meets.
fn unmet_requirements<'a>(inventory: &'a Inventory, catalogue: &'a Catalogue) -> Vec<Unmet<'a>> {
    let stack_ports: Vec<u16> = catalogue
        .requirements
        .iter()
        .filter(|r| r.marks_mail_stack)
        .flat_map(|r| r.any_of.iter().copied())
        .collect();
    let mut unmet = Vec::new();
    for (unit, parts) in inventory.by_unit() {
        // A port that could not be resolved may be the one asked for; it is a note already.
        if inventory.unresolved.contains(unit) || !is_mail_stack(&parts, catalogue, &stack_ports) {
            continue;
        }
        for requirement in &catalogue.requirements {
            if is_met(&parts, requirement) {
                continue;
            }
            let closest = parts
                .exposures
                .iter()
                .copied()
                .filter(|e| requirement.any_of.iter().any(|p| e.targets(*p)))
                .filter(|e| e.protocol == requirement.protocol)
                .max_by_key(|e| e.scope);
            unmet.push(Unmet {
                unit,
                requirement,
                parts: UnitParts {
                    workloads: parts.workloads.clone(),
                    exposures: parts.exposures.clone(),
                },
                closest,
            });
        }
    }
    unmet
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
        .any(|l| stack_ports.iter().any(|p| l.covers(*p)));
    let by_exposure = parts
        .exposures
        .iter()
        .any(|e| stack_ports.iter().any(|p| e.targets(*p)));
    by_image || by_listener || by_exposure
}

/// Met when something answers on one of the required port numbers themselves, from far
/// enough: the port a client connects to, not the container port behind it (an HTTP
/// route offers its listener's 443 whatever the container listens on).
fn is_met(parts: &UnitParts, requirement: &Requirement) -> bool {
    parts.exposures.iter().any(|e| {
        requirement.any_of.iter().any(|p| offers(e, *p))
            && e.protocol == requirement.protocol
            && e.scope >= requirement.scope
    })
}

/// Whether clients connect to the exposure on `port` (one of a published range too). A
/// Traefik entry point is defined in Traefik's static configuration, which manifests do
/// not show: a TCP router on an entry point is taken to listen on the port it forwards
/// to, as a `submission` entry point on 587 does.
fn offers(e: &Exposure, port: u16) -> bool {
    match (&e.via, e.published) {
        (_, Some(_)) => e.publishes(port),
        (Via::ControllerRoute { .. }, None) => e.targets(port),
        _ => false,
    }
}

/// The finding points at what comes closest: an exposure of the service that reaches far
/// enough on another number, one that reaches too narrowly, else a container listening
/// on the port, else nothing.
fn missing(unmet: &Unmet, catalogue: &Catalogue) -> Finding {
    let requirement = unmet.requirement;
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
        object: Some(unmet.unit.to_string()),
        ..Finding::new(Rule::MissingPort, String::new())
    };
    if let Some(e) = unmet.closest {
        let message = if e.scope >= requirement.scope {
            format!(
                "{name} is not offered on {ports} {}: it is published {} instead; {}",
                reach_phrase(e.scope, &e.unit),
                published_on(e),
                requirement.why
            )
        } else {
            format!(
                "{name} ({ports}) is reachable only {} through {}; it must be reachable {}: {}",
                reach_phrase(e.scope, &e.unit),
                e.via.describe(),
                reach_phrase(requirement.scope, &e.unit),
                requirement.why
            )
        };
        return Finding {
            port: Some(e.target),
            scope: Some(e.scope),
            object: Some(e.object.clone()),
            location: e.location.clone(),
            message,
            ..base
        };
    }
    let listener = unmet.parts.workloads.iter().find_map(|w| {
        w.listeners.iter().find_map(|l| {
            let port = requirement.any_of.iter().find(|p| l.covers(**p))?;
            Some((w, l, *port))
        })
    });
    if let Some((workload, l, port)) = listener {
        return Finding {
            port: Some(l.port),
            scope: Some(Scope::Loopback),
            object: Some(workload.object.clone()),
            location: l.location.clone(),
            message: format!(
                "{name} ({ports}): {} listens on {} but nothing makes it reachable {}: {}",
                workload.object,
                port,
                reach_phrase(requirement.scope, &workload.unit),
                requirement.why
            ),
            ..base
        };
    }
    Finding {
        message: format!(
            "{name} ({ports}) is not offered by {}; it must be reachable {}: {}",
            unmet.unit,
            reach_phrase(requirement.scope, unmet.unit),
            requirement.why
        ),
        ..base
    }
}
