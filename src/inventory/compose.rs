//! Compose services → workloads and exposures.
//!
//! A published port reaches as far as its host address (none means all addresses);
//! `expose` stays on the project's networks; `network_mode: host` puts every listener on
//! the host, where Compose also ignores `ports:`.

use crate::load::compose::{ComposeProject, ComposeService};
use crate::model::{
    Exposure, InlineSuppression, Inventory, Isolation, Listener, Scope, SuppressedBy, Unit, Via,
    Workload,
};

pub fn add(project: &ComposeProject, inventory: &mut Inventory) {
    for service in &project.services {
        add_service(project, service, inventory);
    }
}

fn add_service(project: &ComposeProject, service: &ComposeService, inventory: &mut Inventory) {
    let object = format!("compose/{}/{}", project.name, service.name);
    let unit = Unit::ComposeProject(project.name.clone());
    if let Some(ignore) = &service.ignore {
        inventory.suppressions.push(InlineSuppression {
            object: object.clone(),
            by: SuppressedBy::ComposeExtension,
            ignore: ignore.clone(),
        });
    }
    let id = inventory.workloads.len();
    let exposure = |published, target, protocol, scope, via, location| Exposure {
        object: object.clone(),
        unit: unit.clone(),
        backends: vec![id],
        published,
        target,
        protocol,
        scope,
        via,
        isolation: Isolation::NotApplicable,
        location,
    };
    let mut listeners = Vec::new();
    let mut exposures = Vec::new();
    for port in &service.ports {
        for (published, target) in port.spec.pairs() {
            listeners.push(Listener {
                port: target,
                protocol: port.spec.protocol,
                name: None,
                location: Some(port.location.clone()),
            });
            if service.host_network.is_none() {
                let via = Via::Published {
                    host_ip: port.spec.host_ip.map(|ip| ip.to_string()),
                };
                exposures.push(exposure(
                    published,
                    target,
                    port.spec.protocol,
                    Scope::of_host_address(port.spec.host_ip),
                    via,
                    Some(port.location.clone()),
                ));
            }
        }
    }
    for exposed in &service.expose {
        for target in exposed.ports.start..=exposed.ports.end {
            listeners.push(Listener {
                port: target,
                protocol: exposed.protocol,
                name: None,
                location: Some(exposed.location.clone()),
            });
            if service.host_network.is_none() {
                exposures.push(exposure(
                    Some(target),
                    target,
                    exposed.protocol,
                    Scope::Internal,
                    Via::ProjectNetwork,
                    Some(exposed.location.clone()),
                ));
            }
        }
    }
    if service.host_network.is_some() {
        for listener in &listeners {
            exposures.push(exposure(
                Some(listener.port),
                listener.port,
                listener.protocol,
                Scope::External,
                Via::HostNetwork,
                listener.location.clone(),
            ));
        }
    }
    inventory.workloads.push(Workload {
        object,
        unit,
        labels: service.labels.clone(),
        images: service.image.iter().cloned().collect(),
        listeners,
        host_network: service.host_network.clone(),
        location: Some(service.location.clone()),
    });
    inventory.exposures.extend(exposures);
}
