//! Who reaches what: the part of the inventory step that reads the objects that route or
//! filter traffic (NetworkPolicies, Ingresses, Gateway API and controller routes) into
//! model data, and narrows each ClusterIP exposure to what the NetworkPolicies selecting
//! its pods admit. The inventory step calls it; it reads only the loaded objects and the
//! model, never the inventory builder.

pub mod gateway;
pub mod ingress;
pub mod networkpolicy;
pub mod route;

use crate::model::{
    Admits, Exposure, Inventory, Isolation, Listener, Policy, Scope, Via, Workload,
};

/// Narrows the scope of every ClusterIP exposure to what the NetworkPolicies selecting
/// its pods admit on its port.
pub fn apply(inventory: &mut Inventory) {
    let selecting = policies_selecting(inventory);
    let judged: Vec<(usize, Isolation, Scope)> = inventory
        .exposures
        .iter()
        .enumerate()
        .filter(|(_, e)| e.via == Via::ClusterIp && !e.backends.is_empty())
        .map(|(index, exposure)| {
            let (isolation, scope) = judge_cluster_ip(inventory, &selecting, exposure);
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
fn policies_selecting(inventory: &Inventory) -> Vec<Vec<&Policy>> {
    let mut selecting: Vec<Vec<&Policy>> = vec![Vec::new(); inventory.workloads.len()];
    for policy in inventory.policies.iter().filter(|p| p.isolates_ingress) {
        for id in inventory.selected_by(policy) {
            selecting[id].push(policy);
        }
    }
    selecting
}

/// The isolation and scope of one ClusterIP exposure: the widest over its backends.
fn judge_cluster_ip(
    inventory: &Inventory,
    selecting: &[Vec<&Policy>],
    exposure: &Exposure,
) -> (Isolation, Scope) {
    let mut isolation = Isolation::Isolated;
    let mut scope = Scope::Loopback;
    for &id in &exposure.backends {
        let Some(workload) = inventory.workloads.get(id) else {
            continue;
        };
        let selecting = selecting.get(id).map_or(&[][..], Vec::as_slice);
        let backend_scope = match backend_admitted(workload, selecting, exposure) {
            None => {
                isolation = Isolation::Unisolated;
                Scope::Cluster
            }
            Some(None) => Scope::Loopback,
            Some(Some(admits)) => networkpolicy::cluster_ip_scope(admits),
        };
        scope = scope.max(backend_scope);
    }
    (isolation, scope)
}

/// What the policies selecting one backend admit on the exposure's port.
fn backend_admitted(
    workload: &Workload,
    selecting: &[&Policy],
    exposure: &Exposure,
) -> Option<Option<Admits>> {
    // A Service may target a port no containerPort declares (containerPort is
    // informational): judge it as an unnamed listener.
    let undeclared = Listener {
        port: exposure.target,
        protocol: exposure.protocol,
        name: None,
        location: None,
    };
    let listener = workload
        .listener(exposure.target, exposure.protocol)
        .unwrap_or(&undeclared);
    networkpolicy::admitted(selecting, listener)
}
