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
    Exposure, Inventory, Isolation, Listener, PodReach, Protocol, Scope, Via, WorkloadId,
};

/// Records which ingress policies isolate each workload, and narrows the scope of every
/// ClusterIP exposure to what they admit on its port.
pub fn apply(inventory: &mut Inventory) {
    inventory.isolating = policies_isolating(inventory);
    // Many Services may front the same pods' port: what the policies admit there is
    // worked out once per pod and port, not once per Service.
    let mut reach_of: HashMap<ReachKey, Option<PodReach>> = HashMap::new();
    let mut judged: Vec<(usize, Isolation, Scope)> = Vec::new();
    for (index, exposure) in inventory.exposures.iter().enumerate() {
        if exposure.via == Via::ClusterIp && !exposure.backends.is_empty() {
            let (isolation, scope) = judge_cluster_ip(inventory, exposure, &mut reach_of);
            judged.push((index, isolation, scope));
        }
    }
    for (index, isolation, scope) in judged {
        if let Some(exposure) = inventory.exposures.get_mut(index) {
            exposure.isolation = isolation;
            exposure.scope = scope;
        }
    }
}

/// A pod, and the port range and protocol a Service sends to.
type ReachKey = (WorkloadId, u16, u16, Protocol);

/// For each workload, the ingress policies that select it: one pass over the policies,
/// each looking up the pods it selects in the label index.
fn policies_isolating(inventory: &Inventory) -> Vec<Vec<usize>> {
    let mut isolating: Vec<Vec<usize>> = vec![Vec::new(); inventory.workloads.len()];
    for (index, policy) in inventory.policies.iter().enumerate() {
        if !policy.isolates_ingress {
            continue;
        }
        for id in inventory.selected_by(policy) {
            isolating[id].push(index);
        }
    }
    isolating
}

/// The isolation and scope of one ClusterIP exposure: the widest over its backends.
fn judge_cluster_ip(
    inventory: &Inventory,
    exposure: &Exposure,
    reach_of: &mut HashMap<ReachKey, Option<PodReach>>,
) -> (Isolation, Scope) {
    let mut isolation = Isolation::Isolated;
    let mut scope = Scope::Loopback;
    for &id in &exposure.backends {
        let key = (id, exposure.target, exposure.target_last, exposure.protocol);
        let reach = *reach_of
            .entry(key)
            .or_insert_with(|| backend_reach(inventory, id, exposure));
        let Some(reach) = reach else {
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
fn backend_reach(inventory: &Inventory, id: WorkloadId, exposure: &Exposure) -> Option<PodReach> {
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
    inventory.pod_reach(id, listener)
}
