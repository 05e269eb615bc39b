//! Kubernetes objects → workloads and exposures.
//!
//! Services and workloads are matched across files by namespace and selector, as the
//! cluster would (kube-linter #87): a Service in `svc.yaml` reaches the Deployment in
//! `deploy.yaml`.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{Container, Service, ServicePort};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::load::kubernetes::{KubeObject, PodTemplate, Typed};
use crate::model::INTERNAL_LOAD_BALANCER_ANNOTATIONS;
use crate::model::PathSegment;
use crate::model::{
    Backends, BackendsKey, Exposure, InlineSuppression, Inventory, Isolation, Listener, PodIndex,
    Protocol, Scope, Selector, SuppressedBy, Unit, Via, Workload,
};
use crate::reach;

pub fn add(objects: &[KubeObject], inventory: &mut Inventory) {
    for object in objects {
        if let Some(ignore) = &object.ignore {
            inventory.suppressions.push(InlineSuppression {
                object: object.id(),
                by: SuppressedBy::Annotation,
                ignore: ignore.clone(),
            });
        }
        if object.kind != "Namespace" {
            add_namespace(&object.namespace, None, inventory);
        }
        if let Typed::Namespace(namespace) = &object.typed {
            add_namespace(&object.name, namespace.metadata.labels.as_ref(), inventory);
        }
    }
    for object in objects {
        if let Typed::Workload(template) = &object.typed {
            add_workload(object, template, inventory);
        }
    }
    inventory.pods = PodIndex::build(&inventory.workloads);
    for object in objects {
        if let Typed::NetworkPolicy(policy) = &object.typed {
            add_policy(object, policy, inventory);
        }
    }
    let mut named_targets = NamedTargets::default();
    for object in objects {
        if let Typed::Service(service) = &object.typed {
            add_service(object, service, &mut named_targets, inventory);
        }
    }
    // Routes resolve their backends through the Services' exposures made above.
    let services = reach::route::Services::index(objects, inventory);
    reach::ingress::add(objects, &services, inventory);
    reach::gateway::add(objects, &services, inventory);
}

/// Records a namespace with its labels; the API server adds `kubernetes.io/metadata.name`
/// to every namespace, and policies select by it.
fn add_namespace(name: &str, labels: Option<&BTreeMap<String, String>>, inventory: &mut Inventory) {
    let entry = inventory.namespaces.entry(name.to_string()).or_default();
    entry.insert("kubernetes.io/metadata.name".into(), name.to_string());
    if let Some(labels) = labels {
        entry.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

fn path(base: &[PathSegment], rest: &[PathSegment]) -> Vec<PathSegment> {
    base.iter().chain(rest).cloned().collect()
}

fn add_workload(object: &KubeObject, template: &PodTemplate, inventory: &mut Inventory) {
    let unit = Unit::Namespace(object.namespace.clone());
    let host_network = (template.spec.host_network == Some(true)).then(|| {
        object.location(&path(
            &template.spec_path,
            &[PathSegment::key("hostNetwork")],
        ))
    });
    let containers = containers(template);
    let mut listeners = Vec::new();
    let mut exposures = Vec::new();
    for (container_path, container) in &containers {
        for (index, port) in container.ports.iter().flatten().enumerate() {
            let port_path = path(
                container_path,
                &[PathSegment::key("ports"), PathSegment::Index(index)],
            );
            let Some(number) = valid_port(
                object,
                &port_path,
                "containerPort",
                port.container_port,
                inventory,
            ) else {
                continue;
            };
            let protocol = protocol_of(object, &port_path, port.protocol.as_deref(), inventory);
            let location = object.location(&path(&port_path, &[PathSegment::key("containerPort")]));
            listeners.push(Listener {
                port: number,
                last: number,
                protocol,
                name: port.name.clone(),
                location: Some(location.clone()),
            });
            if let Some(host_port) = port.host_port.filter(|p| *p != 0) {
                let Some(host_port) =
                    valid_port(object, &port_path, "hostPort", host_port, inventory)
                else {
                    continue;
                };
                let host_ip = port.host_ip.as_deref().and_then(|ip| ip.parse().ok());
                exposures.push(Exposure {
                    object: object.id(),
                    unit: unit.clone(),
                    backends: Backends::none(),
                    published: Some(host_port),
                    target: number,
                    target_last: number,
                    protocol,
                    scope: Scope::of_host_address(host_ip),
                    via: Via::HostPort,
                    isolation: Isolation::NotApplicable,
                    location: Some(
                        object.location(&path(&port_path, &[PathSegment::key("hostPort")])),
                    ),
                });
            }
            if host_network.is_some() {
                exposures.push(Exposure {
                    object: object.id(),
                    unit: unit.clone(),
                    backends: Backends::none(),
                    published: Some(number),
                    target: number,
                    target_last: number,
                    protocol,
                    scope: Scope::External,
                    via: Via::HostNetwork,
                    isolation: Isolation::NotApplicable,
                    location: Some(location),
                });
            }
        }
    }
    let backends = Backends::new(vec![inventory.workloads.len()]);
    for exposure in &mut exposures {
        exposure.backends = backends.clone();
    }
    inventory.workloads.push(Workload {
        object: object.id(),
        unit,
        labels: template.labels.clone(),
        images: containers
            .iter()
            .filter_map(|(_, c)| c.image.clone())
            .collect(),
        listeners,
        host_network,
        location: Some(object.location(&[PathSegment::key("kind")])),
    });
    inventory.exposures.extend(exposures);
}

/// Containers and init containers (sidecars listen too), with their paths.
fn containers(template: &PodTemplate) -> Vec<(Vec<PathSegment>, &Container)> {
    let regular = template.spec.containers.iter().enumerate().map(|(i, c)| {
        (
            path(
                &template.spec_path,
                &[PathSegment::key("containers"), PathSegment::Index(i)],
            ),
            c,
        )
    });
    let init = template
        .spec
        .init_containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| {
            (
                path(
                    &template.spec_path,
                    &[PathSegment::key("initContainers"), PathSegment::Index(i)],
                ),
                c,
            )
        });
    regular.chain(init).collect()
}

/// A port number from an object, or an `invalid-input` when it is out of range.
fn valid_port(
    object: &KubeObject,
    item_path: &[PathSegment],
    field: &str,
    value: i32,
    inventory: &mut Inventory,
) -> Option<u16> {
    match u16::try_from(value) {
        Ok(port) if port != 0 => Some(port),
        _ => {
            let field_path = path(item_path, &[PathSegment::key(field)]);
            inventory
                .invalid
                .push(object.problem_at(&field_path, format!("{value} is not a port (1-65535)")));
            None
        }
    }
}

fn protocol_of(
    object: &KubeObject,
    item_path: &[PathSegment],
    value: Option<&str>,
    inventory: &mut Inventory,
) -> Protocol {
    let Some(text) = value else {
        return Protocol::Tcp;
    };
    match text {
        "TCP" => Protocol::Tcp,
        "UDP" => Protocol::Udp,
        "SCTP" => Protocol::Sctp,
        other => {
            let field_path = path(item_path, &[PathSegment::key("protocol")]);
            inventory.invalid.push(object.problem_at(
                &field_path,
                format!("unsupported protocol `{other}` (TCP, UDP or SCTP)"),
            ));
            Protocol::Tcp
        }
    }
}

fn add_policy(object: &KubeObject, policy: &NetworkPolicy, inventory: &mut Inventory) {
    let mut policy = reach::networkpolicy::policy_of(object, policy, &inventory.namespaces);
    policy.selected = inventory.pods.select(
        &inventory.workloads,
        &policy.namespace,
        &policy.pod_selector,
    );
    inventory.policies.push(policy);
}

fn add_service(
    object: &KubeObject,
    service: &Service,
    named_targets: &mut NamedTargets,
    inventory: &mut Inventory,
) {
    let Some(spec) = &service.spec else {
        return;
    };
    let service_type = spec.type_.as_deref().unwrap_or("ClusterIP");
    if service_type == "ExternalName" {
        // A DNS alias to somewhere else: it opens no port of ours.
        return;
    }
    let backends = selected_workloads(object, spec.selector.as_ref(), inventory);
    let annotations = service.metadata.annotations.clone().unwrap_or_default();
    let has_external_ips = spec
        .external_ips
        .as_ref()
        .is_some_and(|ips| !ips.is_empty());
    for (index, port) in spec.ports.iter().flatten().enumerate() {
        let item_path = [
            PathSegment::key("spec"),
            PathSegment::key("ports"),
            PathSegment::Index(index),
        ];
        let Some(number) = valid_port(object, &item_path, "port", port.port, inventory) else {
            continue;
        };
        let protocol = protocol_of(object, &item_path, port.protocol.as_deref(), inventory);
        let target = match &port.target_port {
            None => number,
            Some(IntOrString::Int(n)) => {
                u16::try_from(*n).ok().filter(|p| *p != 0).unwrap_or(number)
            }
            Some(IntOrString::String(name)) => named_targets
                .resolve(&backends, name, inventory)
                .unwrap_or(number),
        };
        let (scope, via, published) =
            service_reach(service_type, port, number, &annotations, has_external_ips);
        inventory.exposures.push(Exposure {
            object: object.id(),
            unit: Unit::Namespace(object.namespace.clone()),
            backends: backends.clone(),
            published,
            target,
            target_last: target,
            protocol,
            scope,
            via,
            isolation: Isolation::NotApplicable,
            location: Some(object.location(&path(&item_path, &[PathSegment::key("port")]))),
        });
    }
}

/// How far one Service port reaches, by what, and on which port clients connect.
fn service_reach(
    service_type: &str,
    port: &ServicePort,
    number: u16,
    annotations: &BTreeMap<String, String>,
    has_external_ips: bool,
) -> (Scope, Via, Option<u16>) {
    let node_port = port.node_port.and_then(|p| u16::try_from(p).ok());
    match service_type {
        "NodePort" => (Scope::External, Via::NodePort, node_port),
        "LoadBalancer" => match internal_load_balancer(annotations) {
            Some(annotation) if !has_external_ips => (
                Scope::Cluster,
                Via::InternalLoadBalancer { annotation },
                Some(number),
            ),
            _ => (Scope::External, Via::LoadBalancer, Some(number)),
        },
        _ if has_external_ips => (Scope::External, Via::ExternalIps, Some(number)),
        _ => (Scope::Cluster, Via::ClusterIp, Some(number)),
    }
}

fn internal_load_balancer(annotations: &BTreeMap<String, String>) -> Option<String> {
    INTERNAL_LOAD_BALANCER_ANNOTATIONS
        .iter()
        .find_map(|(name, values)| {
            let value = annotations.get(*name)?;
            values
                .iter()
                .any(|v| v.eq_ignore_ascii_case(value))
                .then(|| format!("{name}: {value}"))
        })
}

/// The workloads of the Service's namespace whose pod labels carry every selector label.
/// A Service without a selector routes to manually managed endpoints: no workload.
fn selected_workloads(
    object: &KubeObject,
    selector: Option<&BTreeMap<String, String>>,
    inventory: &mut Inventory,
) -> Backends {
    let Some(selector) = selector.filter(|s| !s.is_empty()) else {
        return Backends::none();
    };
    let selector = Selector {
        labels: selector.clone(),
        expressions: Vec::new(),
    };
    inventory
        .pods
        .select(&inventory.workloads, &object.namespace, &selector)
}

/// The container ports that named `targetPort`s resolve to. A named `targetPort` is the
/// selected containers' port of that name (a number is taken as written even when no
/// `containerPort` lists it: containerPort is informational, kubernetes#73049). Resolved
/// once per set of backends and name, as thousands of Services may share both.
#[derive(Default)]
struct NamedTargets {
    known: HashMap<(BackendsKey, String), Option<u16>>,
}

impl NamedTargets {
    fn resolve(&mut self, backends: &Backends, name: &str, inventory: &Inventory) -> Option<u16> {
        *self
            .known
            .entry((backends.key(), name.to_string()))
            .or_insert_with(|| {
                backends
                    .iter()
                    .filter_map(|id| inventory.workloads.get(*id))
                    .flat_map(|w| &w.listeners)
                    .find(|l| l.name.as_deref() == Some(name))
                    .map(|l| l.port)
            })
    }
}
