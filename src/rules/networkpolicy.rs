//! NetworkPolicy rules: an internal port open to the cluster because no policy isolates
//! its pods, and a policy that admits an internal port from everywhere.

use std::collections::BTreeSet;

use super::{Finding, Rule};
use crate::catalogue::Catalogue;
use crate::model::{Inventory, Isolation, Scope, Unit, Via};
use crate::reach::networkpolicy::{Admits, peer_admits, rule_admits_port};

/// `network-policy-missing`: a ClusterIP reaches an internal port of pods that no ingress
/// NetworkPolicy selects. Reported once, here, and not as `internal-port-exposed`.
pub fn network_policy_missing(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    inventory
        .exposures
        .iter()
        .filter(|e| e.via == Via::ClusterIp && e.isolation == Isolation::Unisolated)
        .filter_map(|e| {
            let entry = catalogue
                .entry(e.target, e.protocol)
                .filter(|entry| entry.scope < Scope::Cluster)?;
            let pods: Vec<&str> = e
                .backends
                .iter()
                .filter_map(|id| inventory.workloads.get(*id))
                .map(|w| w.object.as_str())
                .collect();
            let message = format!(
                "{} {} is open to every pod in the cluster through a ClusterIP Service: no \
                 ingress NetworkPolicy selects {}; it belongs to the mail stack only",
                entry.name,
                entry.port,
                pods.join(", ")
            );
            Some(Finding::for_exposure(
                Rule::NetworkPolicyMissing,
                e,
                Some(entry),
                message,
            ))
        })
        .collect()
}

/// `network-policy-too-open`: a rule admits an internal port of the pods it selects from
/// `0.0.0.0/0`, from every namespace, or (without `from`) from every source.
pub fn network_policy_too_open(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen = BTreeSet::new();
    for policy in &inventory.policies {
        let selected = inventory.workloads.iter().filter(|w| {
            w.unit == Unit::Namespace(policy.namespace.clone())
                && policy.selects(w, &policy.namespace)
        });
        for workload in selected {
            for rule in &policy.rules {
                let sources: Vec<(Admits, &crate::model::Location)> = match &rule.from {
                    None => vec![(Admits::Anywhere, &rule.location)],
                    Some(peers) => peers
                        .iter()
                        .map(|(peer, location)| {
                            (
                                peer_admits(peer, &policy.namespace, &inventory.namespaces),
                                location,
                            )
                        })
                        .collect(),
                };
                for listener in workload
                    .listeners
                    .iter()
                    .filter(|l| rule_admits_port(rule, l))
                {
                    let Some(entry) = catalogue
                        .entry(listener.port, listener.protocol)
                        .filter(|e| e.scope < Scope::Cluster)
                    else {
                        continue;
                    };
                    for (admits, location) in &sources {
                        let from = match admits {
                            Admits::Anywhere => "any address",
                            Admits::EveryNamespace => "every namespace",
                            _ => continue,
                        };
                        if !seen.insert((policy.object.clone(), (*location).clone(), listener.port))
                        {
                            continue;
                        }
                        let message = format!(
                            "{} admits {} {} of {} from {from}; it belongs to the mail stack only",
                            policy.object, entry.name, entry.port, workload.object
                        );
                        findings.push(Finding {
                            port: Some(listener.port),
                            protocol: Some(listener.protocol),
                            service: Some(entry.service.clone()),
                            scope: Some(if *admits == Admits::Anywhere {
                                Scope::External
                            } else {
                                Scope::Cluster
                            }),
                            allowed_scope: Some(entry.scope),
                            object: Some(policy.object.clone()),
                            location: Some((*location).clone()),
                            ..Finding::new(Rule::NetworkPolicyTooOpen, message)
                        });
                    }
                }
            }
        }
    }
    findings
}
