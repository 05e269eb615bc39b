//! NetworkPolicy rules: an internal port open to the cluster because no policy isolates
//! its pods, a policy that admits an internal port from outside the mail stack's
//! namespace, and a policy that admits it from everywhere.

use std::collections::{HashMap, HashSet};

use super::for_exposure;
use crate::catalogue::{Catalogue, PortEntry};
use crate::model::{
    Admits, Backends, BackendsKey, Finding, Inventory, Isolation, Listener, Location, PodReach,
    PodReaches, Policy, Protocol, Rule, Scope, Via, Workload, WorkloadId,
};

/// `network-policy-missing`: an internal port of pods that no ingress NetworkPolicy
/// selects. The pod network is flat, so the port is open to every pod of the cluster
/// with or without a Service; the finding is on the ClusterIP Service that names the
/// port when there is one, else on the `containerPort`. One finding per port and pod.
pub fn network_policy_missing(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    let mut by_service = Vec::new();
    let mut covered: HashSet<(WorkloadId, u16, Protocol)> = HashSet::new();
    // Thousands of Services may share one set of pods: its unisolated pods are found once.
    let mut pods_of: HashMap<(BackendsKey, u16, Protocol), String> = HashMap::new();
    for e in inventory
        .exposures
        .iter()
        .filter(|e| e.via == Via::ClusterIp && e.isolation == Isolation::Unisolated)
    {
        let Some(entry) = internal_entry(catalogue, e.target, e.protocol) else {
            continue;
        };
        let pods = pods_of
            .entry((e.backends.key(), e.target, e.protocol))
            .or_insert_with(|| {
                let unisolated: Vec<WorkloadId> = e
                    .backends
                    .iter()
                    .copied()
                    .filter(|id| inventory.isolating.of(*id).is_empty())
                    .collect();
                covered.extend(unisolated.iter().map(|id| (*id, e.target, e.protocol)));
                name_pods(inventory, &unisolated)
            });
        let message = format!(
            "{} {} is open to every pod in the cluster through a ClusterIP Service: no \
             ingress NetworkPolicy selects {}; it belongs to the mail stack only",
            entry.name, entry.port, pods
        );
        by_service.push(for_exposure(
            Rule::NetworkPolicyMissing,
            e,
            Some(entry),
            message,
        ));
    }
    let mut reaches = PodReaches::new(inventory);
    let by_container_port = inventory
        .workloads
        .iter()
        .enumerate()
        .flat_map(|(id, w)| w.listeners.iter().map(move |l| (id, w, l)))
        // A pod on the node's network is not on the pod network: no policy narrows it, and
        // `host-network` reports it.
        .filter(|(_, w, _)| w.host_network.is_none())
        .filter(|(id, _, l)| !covered.contains(&(*id, l.port, l.protocol)))
        .filter(|(id, _, l)| reaches.of(*id, l) == Some(PodReach::Unisolated))
        .filter_map(|(_, workload, listener)| {
            let entry = internal_entry(catalogue, listener.port, listener.protocol)?;
            Some(unisolated_container_port(workload, listener, entry))
        });
    by_service.into_iter().chain(by_container_port).collect()
}

/// At most this many pods are named in one message: a Service selecting thousands of
/// pods is still one short finding, and the report grows linearly with the input.
const PODS_NAMED: usize = 5;

/// `Deployment/mail/a, Deployment/mail/b and 2998 more`.
fn name_pods(inventory: &Inventory, ids: &[WorkloadId]) -> String {
    let named: Vec<&str> = ids
        .iter()
        .take(PODS_NAMED)
        .filter_map(|id| inventory.workloads.get(*id))
        .map(|w| w.object.as_str())
        .collect();
    match ids.len().checked_sub(PODS_NAMED) {
        Some(more) if more > 0 => format!("{} and {more} more", named.join(", ")),
        _ => named.join(", "),
    }
}

fn unisolated_container_port(
    workload: &Workload,
    listener: &Listener,
    entry: &PortEntry,
) -> Finding {
    let message = format!(
        "{} {} of {} is open to every pod in the cluster: no ingress NetworkPolicy selects \
         its pods, and a pod's ports are reachable over the pod network without any \
         Service; it belongs to the mail stack only",
        entry.name, entry.port, workload.object
    );
    Finding {
        port: Some(listener.port),
        protocol: Some(listener.protocol),
        service: Some(entry.service.clone()),
        scope: Some(Scope::Cluster),
        allowed_scope: Some(entry.scope),
        object: Some(workload.object.clone()),
        location: listener.location.clone(),
        ..Finding::new(Rule::NetworkPolicyMissing, message)
    }
}

/// The catalogue entry of a port that belongs inside the mail stack.
fn internal_entry(catalogue: &Catalogue, port: u16, protocol: Protocol) -> Option<&PortEntry> {
    catalogue
        .entry(port, protocol)
        .filter(|entry| entry.scope < Scope::Cluster)
}

/// `network-policy-too-open`: a rule admits an internal port of the pods it selects from
/// any address (`0.0.0.0/0`, a public block, or a rule without `from`) or from every
/// namespace. Reported once per policy line and port.
pub fn network_policy_too_open(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    admissions(inventory, catalogue, |admits| {
        admits >= Admits::EveryNamespace
    })
    .into_iter()
    .map(|a| {
        let from = match a.admits {
            Admits::Anywhere => "any address",
            _ => "every namespace",
        };
        let scope = if a.admits == Admits::Anywhere {
            Scope::External
        } else {
            Scope::Cluster
        };
        let message = format!(
            "{} admits {} {} of {} from {from}; it belongs to the mail stack only",
            a.policy.object, a.entry.name, a.entry.port, a.workload.object
        );
        a.finding(Rule::NetworkPolicyTooOpen, scope, message)
    })
    .collect()
}

/// The `internal-port-exposed` findings of NetworkPolicies: a rule admits an internal
/// port from another namespace (named, or matched by labels, including the namespaces
/// every cluster has and those the input does not show) or from a private address block.
/// Those are outside the mail stack, so the port reaches `cluster`.
///
/// The reverse proxy is the exception. An ingress controller runs in its own namespace and
/// must be admitted for its routes to work: a port that a route in the input sends traffic
/// to is judged at the route (a route to SOGo's `/SOGo` is fine, a route to 3306 is
/// `internal-port-exposed` there), and a web backend's port (SOGo's 20000) admitted from a
/// named or labelled namespace is the proxy's way in even when its route is elsewhere.
pub fn admitted_from_other_namespaces(
    inventory: &Inventory,
    catalogue: &Catalogue,
) -> Vec<Finding> {
    let routed = routed_ports(inventory);
    let proxied: HashSet<u16> = catalogue
        .web_backends
        .iter()
        .flat_map(|b| b.ports.iter().copied())
        .collect();
    admissions(inventory, catalogue, |admits| {
        matches!(admits, Admits::OtherNamespaces | Admits::PrivateAddresses)
    })
    .into_iter()
    .filter(|a| !routed.contains(&(a.workload_id, a.listener.port, a.listener.protocol)))
    .filter(|a| !(a.admits == Admits::OtherNamespaces && proxied.contains(&a.listener.port)))
    .map(|a| {
        let message = format!(
            "{} {} of {} is reachable from outside its namespace: {} admits it from {}; it \
             belongs to the mail stack only",
            a.entry.name,
            a.entry.port,
            a.workload.object,
            a.policy.object,
            a.peer_phrase()
        );
        a.finding(Rule::InternalPortExposed, Scope::Cluster, message)
    })
    .collect()
}

/// The container ports that a route of an ingress controller or Gateway sends traffic to.
fn routed_ports(inventory: &Inventory) -> HashSet<(WorkloadId, u16, Protocol)> {
    // Routes sharing one set of backends and port add its pods once.
    let mut added = HashSet::new();
    inventory
        .exposures
        .iter()
        .filter(|e| matches!(e.via, Via::HttpRoute { .. } | Via::ControllerRoute { .. }))
        .filter(|e| added.insert((e.backends.key(), e.target, e.protocol)))
        .flat_map(|e| e.backends.iter().map(move |id| (*id, e.target, e.protocol)))
        .collect()
}

/// One policy peer admitting one internal port of one selected workload.
struct Admission<'a> {
    policy: &'a Policy,
    workload_id: WorkloadId,
    workload: &'a Workload,
    listener: &'a Listener,
    entry: &'a PortEntry,
    admits: Admits,
    /// The `from` entry (or the rule, when it has no `from`) that admits it.
    location: &'a Location,
}

impl Admission<'_> {
    fn peer_phrase(&self) -> &'static str {
        match self.admits {
            Admits::OwnNamespace => "its own namespace",
            Admits::OtherNamespaces => "other namespaces",
            Admits::PrivateAddresses => "a private address block",
            Admits::EveryNamespace => "every namespace",
            Admits::Anywhere => "any address",
        }
    }

    fn finding(&self, rule: Rule, scope: Scope, message: String) -> Finding {
        Finding {
            port: Some(self.listener.port),
            protocol: Some(self.listener.protocol),
            service: Some(self.entry.service.clone()),
            scope: Some(scope),
            allowed_scope: Some(self.entry.scope),
            object: Some(self.policy.object.clone()),
            location: Some(self.location.clone()),
            ..Finding::new(rule, message)
        }
    }
}

/// Every peer of an isolating policy whose `admits` the filter wants, with each internal
/// port of the selected pods that its rule admits, once per peer line and port. Linear in
/// policies × selected pods × their ports.
fn admissions<'a>(
    inventory: &'a Inventory,
    catalogue: &'a Catalogue,
    wanted: impl Fn(Admits) -> bool,
) -> Vec<Admission<'a>> {
    let mut found = Vec::new();
    let mut seen: HashSet<(&str, &Location, u16)> = HashSet::new();
    let mut distinct: HashMap<BackendsKey, Vec<(WorkloadId, Vec<&Listener>)>> = HashMap::new();
    for policy in inventory.policies.iter().filter(|p| p.isolates_ingress) {
        let rules: Vec<_> = policy
            .rules
            .iter()
            .map(|rule| {
                let sources: Vec<(Admits, &Location)> = rule
                    .sources()
                    .into_iter()
                    .filter(|(admits, _)| wanted(*admits))
                    .collect();
                (rule, sources)
            })
            .filter(|(_, sources)| !sources.is_empty())
            .collect();
        if rules.is_empty() {
            continue;
        }
        let pods = distinct
            .entry(policy.selected.key())
            .or_insert_with(|| distinct_listeners(inventory, &policy.selected));
        for (id, listeners) in pods.iter() {
            let (id, listeners) = (*id, listeners.as_slice());
            let Some(workload) = inventory.workloads.get(id) else {
                continue;
            };
            for (rule, sources) in &rules {
                for &listener in listeners.iter().filter(|l| rule.admits_port(l)) {
                    let Some(entry) = internal_entry(catalogue, listener.port, listener.protocol)
                    else {
                        continue;
                    };
                    for &(admits, location) in sources {
                        if seen.insert((policy.object.as_str(), location, listener.port)) {
                            found.push(Admission {
                                policy,
                                workload_id: id,
                                workload,
                                listener,
                                entry,
                                admits,
                                location,
                            });
                        }
                    }
                }
            }
        }
    }
    found
}

/// The selected workloads that declare a listener no earlier one declares alike (port,
/// range, protocol and name: all a policy's rules tell apart), each with those listeners.
/// A later alike listener could only repeat a finding the earlier one gave, so a policy
/// over a thousand identical Deployments looks at the first.
fn distinct_listeners<'a>(
    inventory: &'a Inventory,
    selected: &Backends,
) -> Vec<(WorkloadId, Vec<&'a Listener>)> {
    let mut seen: HashSet<(u16, u16, Protocol, Option<&str>)> = HashSet::new();
    selected
        .iter()
        .filter_map(|&id| {
            let workload = inventory.workloads.get(id)?;
            let new: Vec<&Listener> = workload
                .listeners
                .iter()
                .filter(|l| seen.insert((l.port, l.last, l.protocol, l.name.as_deref())))
                .collect();
            (!new.is_empty()).then_some((id, new))
        })
        .collect()
}
