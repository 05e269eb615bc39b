//! Who reaches what: the part of the inventory step that reads the objects that route or
//! filter traffic (NetworkPolicies, Ingresses, Gateway API and controller routes) into
//! model data, and narrows each ClusterIP exposure to what the NetworkPolicies selecting
//! its pods admit. The inventory step calls it; it reads only the loaded objects and the
//! model, never the inventory builder.

pub mod gateway;
pub mod ingress;
pub mod networkpolicy;
pub mod route;

use std::collections::HashMap;

use crate::model::{
    BackendsKey, Exposure, Inventory, Isolating, Isolation, Listener, PodReach, PodReaches,
    Protocol, Scope, Via, WorkloadId,
};

/// Records which ingress policies isolate each workload, and narrows the scope of every
/// ClusterIP exposure to what they admit on its port.
pub fn apply(inventory: &mut Inventory) {
    inventory.isolating = Isolating::build(inventory.workloads.len(), &inventory.policies);
    let judged = judge_cluster_ips(inventory);
    for (index, isolation, scope) in judged {
        if let Some(exposure) = inventory.exposures.get_mut(index) {
            exposure.isolation = isolation;
            exposure.scope = scope;
        }
    }
}

/// The isolation and scope of every ClusterIP exposure with backends. Many Services may
/// front the same pods' port: each set of backends and port is judged once, however many
/// Services share it.
fn judge_cluster_ips(inventory: &Inventory) -> Vec<(usize, Isolation, Scope)> {
    let mut reaches = PodReaches::new(inventory);
    let mut known: HashMap<SharedTarget, (Isolation, Scope)> = HashMap::new();
    let mut judged = Vec::new();
    for (index, exposure) in inventory.exposures.iter().enumerate() {
        if exposure.via != Via::ClusterIp || exposure.backends.is_empty() {
            continue;
        }
        let key = (
            exposure.backends.key(),
            exposure.target,
            exposure.target_last,
            exposure.protocol,
        );
        let (isolation, scope) = *known
            .entry(key)
            .or_insert_with(|| judge_cluster_ip(inventory, exposure, &mut reaches));
        judged.push((index, isolation, scope));
    }
    judged
}

/// A set of backends, and the port range and protocol a Service sends to.
type SharedTarget = (BackendsKey, u16, u16, Protocol);

/// The isolation and scope of one ClusterIP exposure: the widest over its backends.
fn judge_cluster_ip(
    inventory: &Inventory,
    exposure: &Exposure,
    reaches: &mut PodReaches<'_>,
) -> (Isolation, Scope) {
    let mut isolation = Isolation::Isolated;
    let mut scope = Scope::Loopback;
    for &id in exposure.backends.iter() {
        let Some(reach) = backend_reach(inventory, id, exposure, reaches) else {
            continue;
        };
        if reach == PodReach::Unisolated {
            isolation = Isolation::Unisolated;
        }
        scope = scope.max(reach.scope());
    }
    (isolation, scope)
}

/// Who reaches the port an exposure sends to on one backend pod.
fn backend_reach(
    inventory: &Inventory,
    id: WorkloadId,
    exposure: &Exposure,
    reaches: &mut PodReaches<'_>,
) -> Option<PodReach> {
    // A Service may target a port no containerPort declares (containerPort is
    // informational): judge it as an unnamed listener.
    let undeclared = Listener {
        port: exposure.target,
        last: exposure.target_last,
        protocol: exposure.protocol,
        name: None,
        location: None,
    };
    let workload = inventory.workloads.get(id)?;
    let listener = workload
        .listener(exposure.target, exposure.protocol)
        .unwrap_or(&undeclared);
    reaches.of(id, listener)
}
