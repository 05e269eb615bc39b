//! Compose services → workloads and exposures.
//!
//! A published port reaches as far as its host address (none means all addresses);
//! `expose` stays on the project's networks; `network_mode: host` puts every listener on
//! the host, where Compose also ignores `ports:`.

use crate::load::compose::{ComposeProject, ComposeService};
use crate::load::compose_ports::{PortRange, PortSpec};
use crate::model::{
    Backends, Exposure, InlineSuppression, Inventory, Isolation, Listener, Scope, SuppressedBy,
    Unit, Via, Workload,
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
    let backends = Backends::new(vec![inventory.workloads.len()]);
    let exposure = |(published, (target, target_last)), protocol, scope, via, location| Exposure {
        object: object.clone(),
        unit: unit.clone(),
        backends: backends.clone(),
        published,
        target,
        target_last,
        protocol,
        scope,
        via,
        isolation: Isolation::NotApplicable,
        location,
    };
    let mut listeners = Vec::new();
    let mut exposures = Vec::new();
    // A range stays one listener and one exposure, however many ports it holds.
    for port in &service.ports {
        let (published, target) = published_range(&port.spec);
        listeners.push(Listener {
            port: target.start,
            last: target.end,
            protocol: port.spec.protocol,
            name: None,
            location: Some(port.location.clone()),
        });
        if service.host_network.is_none() {
            let via = Via::Published {
                host_ip: port.spec.host_ip.map(|ip| ip.to_string()),
            };
            exposures.push(exposure(
                (published, (target.start, target.end)),
                port.spec.protocol,
                Scope::of_host_address(port.spec.host_ip),
                via,
                Some(port.location.clone()),
            ));
        }
    }
    for exposed in &service.expose {
        let ports = exposed.ports;
        listeners.push(Listener {
            port: ports.start,
            last: ports.end,
            protocol: exposed.protocol,
            name: None,
            location: Some(exposed.location.clone()),
        });
        if service.host_network.is_none() {
            exposures.push(exposure(
                (Some(ports.start), (ports.start, ports.end)),
                exposed.protocol,
                Scope::Internal,
                Via::ProjectNetwork,
                Some(exposed.location.clone()),
            ));
        }
    }
    if service.host_network.is_some() {
        for listener in &listeners {
            exposures.push(exposure(
                (Some(listener.port), (listener.port, listener.last)),
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

/// The first published port and the target range of a `ports:` entry. A host range as
/// long as the target range maps pairwise from its first port; a host range for one
/// target (a pool Docker picks one free port from) or no host port leaves the published
/// port unknown, as an ephemeral one is.
fn published_range(spec: &PortSpec) -> (Option<u16>, PortRange) {
    let published = spec
        .published
        .filter(|host| host.port_count() == spec.target.port_count())
        .map(|host| host.start);
    (published, spec.target)
}
