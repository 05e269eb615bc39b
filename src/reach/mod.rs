//! Who reaches what: the part of the inventory step that reads the objects that route or
//! filter traffic (NetworkPolicies, Ingresses, Gateway API and controller routes) into
//! model data, and narrows each ClusterIP exposure to what the NetworkPolicies selecting
//! its pods admit. The inventory step calls it; it reads only the loaded objects and the
//! model, never the inventory builder.

pub mod gateway;
pub mod ingress;
pub mod networkpolicy;
pub mod route;

use crate::model::{Exposure, Inventory, Isolation, Listener, PodReach, Scope, Via};

/// Records which ingress policies isolate each workload, and narrows the scope of every
/// ClusterIP exposure to what they admit on its port.
pub fn apply(inventory: &mut Inventory) {
    inventory.isolating = policies_isolating(inventory);
    let judged: Vec<(usize, Isolation, Scope)> = inventory
        .exposures
        .iter()
        .enumerate()
        .filter(|(_, e)| e.via == Via::ClusterIp && !e.backends.is_empty())
        .map(|(index, exposure)| {
            let (isolation, scope) = judge_cluster_ip(inventory, exposure);
            (index, isolation, scope)
        })
        .collect();
    for (index, isolation, scope) in judged {
        let exposure = &mut inventory.exposures[index];
        exposure.isolation = isolation;
        exposure.scope = scope;
    }
}

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
fn judge_cluster_ip(inventory: &Inventory, exposure: &Exposure) -> (Isolation, Scope) {
    // A Service may target a port no containerPort declares (containerPort is
    // informational): judge it as an unnamed listener.
    let undeclared = Listener {
        port: exposure.target,
        last: exposure.target_last,
        protocol: exposure.protocol,
        name: None,
        location: None,
    };
    let mut isolation = Isolation::Isolated;
    let mut scope = Scope::Loopback;
    for &id in &exposure.backends {
        let Some(workload) = inventory.workloads.get(id) else {
            continue;
        };
        let listener = workload
            .listener(exposure.target, exposure.protocol)
            .unwrap_or(&undeclared);
        let Some(reach) = inventory.pod_reach(id, listener) else {
            continue;
        };
        if reach == PodReach::Unisolated {
            isolation = Isolation::Unisolated;
        }
        scope = scope.max(reach.scope());
    }
    (isolation, scope)
}
