//! NetworkPolicy rules: an internal port open to the cluster because no policy isolates
//! its pods, and a policy that admits an internal port from everywhere.

use std::collections::HashSet;

use super::for_exposure;
use crate::catalogue::Catalogue;
use crate::model::{Admits, Finding, Inventory, Isolation, Location, PolicyRule, Rule, Scope, Via};

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
            Some(for_exposure(
                Rule::NetworkPolicyMissing,
                e,
                Some(entry),
                message,
            ))
        })
        .collect()
}

/// `network-policy-too-open`: a rule admits an internal port of the pods it selects from
/// `0.0.0.0/0`, from every namespace, or (without `from`) from every source. Reported once
/// per policy line and port.
pub fn network_policy_too_open(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen: HashSet<(&str, &Location, u16)> = HashSet::new();
    for policy in inventory.policies.iter().filter(|p| p.isolates_ingress) {
        let too_open: Vec<(&PolicyRule, Vec<(Admits, &Location)>)> = policy
            .rules
            .iter()
            .map(|rule| (rule, wide_sources(rule)))
            .filter(|(_, sources)| !sources.is_empty())
            .collect();
        if too_open.is_empty() {
            continue;
        }
        for id in inventory.selected_by(policy) {
            let Some(workload) = inventory.workloads.get(id) else {
                continue;
            };
            for (rule, sources) in &too_open {
                for listener in workload.listeners.iter().filter(|l| rule.admits_port(l)) {
                    let Some(entry) = catalogue
                        .entry(listener.port, listener.protocol)
                        .filter(|e| e.scope < Scope::Cluster)
                    else {
                        continue;
                    };
                    for &(admits, location) in sources {
                        if !seen.insert((policy.object.as_str(), location, listener.port)) {
                            continue;
                        }
                        let from = match admits {
                            Admits::Anywhere => "any address",
                            _ => "every namespace",
                        };
                        let message = format!(
                            "{} admits {} {} of {} from {from}; it belongs to the mail stack only",
                            policy.object, entry.name, entry.port, workload.object
                        );
                        findings.push(Finding {
                            port: Some(listener.port),
                            protocol: Some(listener.protocol),
                            service: Some(entry.service.clone()),
                            scope: Some(if admits == Admits::Anywhere {
                                Scope::External
                            } else {
                                Scope::Cluster
                            }),
                            allowed_scope: Some(entry.scope),
                            object: Some(policy.object.clone()),
                            location: Some(location.clone()),
                            ..Finding::new(Rule::NetworkPolicyTooOpen, message)
                        });
                    }
                }
            }
        }
    }
    findings
}

/// The sources of a rule that open a port to every namespace or any address.
fn wide_sources(rule: &PolicyRule) -> Vec<(Admits, &Location)> {
    rule.sources()
        .into_iter()
        .filter(|(admits, _)| *admits >= Admits::EveryNamespace)
        .collect()
}
