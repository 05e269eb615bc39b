//! Inventory → inventory: who really reaches each exposure. Until this step a ClusterIP
//! port counts as reachable from the whole cluster; here NetworkPolicies narrow it (or
//! confirm it), so the rules judge what the cluster would enforce.

pub mod gateway;
pub mod ingress;
pub mod networkpolicy;
pub mod route;

use crate::model::{Inventory, Isolation, Listener, Scope, Unit, Via};

/// Narrows the scope of every ClusterIP exposure to what the NetworkPolicies selecting
/// its pods admit on its port.
pub fn apply(inventory: &mut Inventory) {
    for index in 0..inventory.exposures.len() {
        let exposure = &inventory.exposures[index];
        if exposure.via != Via::ClusterIp || exposure.backends.is_empty() {
            continue;
        }
        let mut isolation = Isolation::Isolated;
        let mut scope = Scope::Loopback;
        for id in &exposure.backends {
            let Some(workload) = inventory.workloads.get(*id) else {
                continue;
            };
            let Unit::Namespace(namespace) = &workload.unit else {
                continue;
            };
            let listener = workload
                .listeners
                .iter()
                .find(|l| l.port == exposure.target && l.protocol == exposure.protocol)
                .cloned()
                .unwrap_or(Listener {
                    port: exposure.target,
                    protocol: exposure.protocol,
                    name: None,
                    location: None,
                });
            let admitted = networkpolicy::admitted(
                &inventory.policies,
                &inventory.namespaces,
                workload,
                namespace,
                &listener,
            );
            let backend_scope = match admitted {
                None => {
                    isolation = Isolation::Unisolated;
                    Scope::Cluster
                }
                Some(None) => Scope::Loopback,
                Some(Some(admits)) => admits.cluster_ip_scope(),
            };
            scope = scope.max(backend_scope);
        }
        let exposure = &mut inventory.exposures[index];
        exposure.isolation = isolation;
        exposure.scope = scope;
    }
}
