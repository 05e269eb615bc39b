//! NetworkPolicy manifests → [`Policy`] data, and who reaches a pod's port through them,
//! with the semantics the Kubernetes documentation defines:
//!
//! - a policy selects pods of its own namespace by `podSelector` (`matchLabels` and
//!   `matchExpressions`: In, NotIn, Exists, DoesNotExist; `{}` selects every pod);
//! - it isolates them for ingress when `policyTypes` lists `Ingress`, or when
//!   `policyTypes` is absent (ingress is then always implied);
//! - an isolated pod admits what the union of the ingress rules of every policy selecting
//!   it admits; no rule at all admits nothing (deny-all is isolation, not absence);
//! - a rule admits its `ports` (all ports when absent; numbers, names resolved per pod,
//!   `endPort` ranges, protocols) from its `from` peers (every source when absent or
//!   empty): `podSelector` alone (pods of the policy's namespace), `namespaceSelector`
//!   (pods of the matching namespaces, labels from Namespace objects in the input plus
//!   `kubernetes.io/metadata.name`, and the namespaces every cluster has), both in one
//!   peer (pods matching both), or `ipBlock` (`except` only narrows it, so it never
//!   widens the scope);
//! - a pod no ingress policy selects is open to the whole cluster.
//!
//! Egress rules are ignored: they limit what the pod reaches, not who reaches it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::load::kubernetes::KubeObject;
use crate::load::yaml::{Step, field_path};
use crate::model::PathSegment;
use crate::model::{
    Admits, Backends, Operator, Peer, Policy, PolicyPort, PolicyRule, PortMatch, Protocol,
    Requirement, Scope, Selector,
};

/// Labels of every namespace, by name.
pub type Namespaces = BTreeMap<String, BTreeMap<String, String>>;

/// Reads a NetworkPolicy, resolving which namespaces its peers' selectors match among
/// `namespaces`.
pub fn policy_of(object: &KubeObject, policy: &NetworkPolicy, namespaces: &Namespaces) -> Policy {
    let spec = policy.spec.clone().unwrap_or_default();
    let isolates_ingress = spec
        .policy_types
        .as_ref()
        .is_none_or(|types| types.iter().any(|t| t == "Ingress"));
    let rules = spec
        .ingress
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, rule)| rule_of(object, i, rule, namespaces))
        .collect();
    Policy {
        object: object.id(),
        namespace: object.namespace.clone(),
        pod_selector: selector_of(&spec.pod_selector.unwrap_or_default()),
        // The inventory step selects the pods once the workloads are known.
        selected: Backends::none(),
        isolates_ingress,
        rules,
        location: object.location(&[PathSegment::key("spec"), PathSegment::key("podSelector")]),
    }
}

fn rule_of(
    object: &KubeObject,
    index: usize,
    rule: NetworkPolicyIngressRule,
    namespaces: &Namespaces,
) -> PolicyRule {
    use Step::{Index, Key};
    let from = rule.from.filter(|peers| !peers.is_empty()).map(|peers| {
        peers
            .iter()
            .enumerate()
            .map(|(j, peer)| Peer {
                admits: peer_admits(peer, &object.namespace, namespaces),
                location: object.location(&field_path(&[
                    Key("spec"),
                    Key("ingress"),
                    Index(index),
                    Key("from"),
                    Index(j),
                ])),
            })
            .collect()
    });
    PolicyRule {
        ports: rule.ports.iter().flatten().map(port_of).collect(),
        from,
        location: object.location(&field_path(&[Key("spec"), Key("ingress"), Index(index)])),
    }
}

fn port_of(port: &NetworkPolicyPort) -> PolicyPort {
    let protocol = port
        .protocol
        .as_deref()
        .and_then(Protocol::parse)
        .unwrap_or(Protocol::Tcp);
    let port = match &port.port {
        None => PortMatch::Every,
        Some(IntOrString::Int(start)) => {
            let end = port.end_port.unwrap_or(*start);
            let clamp = |n: i32| u16::try_from(n.clamp(0, i32::from(u16::MAX))).unwrap_or(0);
            PortMatch::Range(clamp(*start), clamp(end))
        }
        Some(IntOrString::String(name)) => PortMatch::Named(name.clone()),
    };
    PolicyPort { protocol, port }
}

/// A Kubernetes label selector as model data.
pub fn selector_of(selector: &LabelSelector) -> Selector {
    Selector {
        labels: selector.match_labels.clone().unwrap_or_default(),
        expressions: selector
            .match_expressions
            .iter()
            .flatten()
            .map(|e| Requirement {
                key: e.key.clone(),
                operator: Operator::parse(&e.operator),
                values: e.values.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

/// Namespaces every cluster has, whether or not the input declares them: a selector
/// that matches them admits pods from outside the mail stack.
const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// The label the API server gives every namespace, with its name.
const NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Who one peer admits, given the policy's namespace and the namespaces in the input.
fn peer_admits(peer: &NetworkPolicyPeer, own_namespace: &str, namespaces: &Namespaces) -> Admits {
    if let Some(block) = &peer.ip_block {
        return ip_block_admits(&block.cidr);
    }
    let Some(selector) = &peer.namespace_selector else {
        // A podSelector alone selects pods of the policy's own namespace.
        return Admits::OwnNamespace;
    };
    let selector = selector_of(selector);
    if selector.is_empty() {
        return Admits::EveryNamespace;
    }
    namespace_selector_admits(&selector, own_namespace, namespaces)
}

/// Whether a namespace selector reaches beyond the policy's own namespace. A selector
/// that pins namespace names admits exactly those (named namespaces exist, whether or not
/// the input declares them). Otherwise it is matched against the namespaces in the input
/// and those every cluster has; one that matches none of them selects namespaces the
/// input does not show, which are not the mail stack's.
fn namespace_selector_admits(
    selector: &Selector,
    own_namespace: &str,
    namespaces: &Namespaces,
) -> Admits {
    if let Some(names) = selector.pinned_values(NAME_LABEL) {
        return if names.iter().all(|name| *name == own_namespace) {
            Admits::OwnNamespace
        } else {
            Admits::OtherNamespaces
        };
    }
    let system = SYSTEM_NAMESPACES
        .iter()
        .filter(|name| !namespaces.contains_key(**name))
        .map(|name| BTreeMap::from([(NAME_LABEL.to_string(), name.to_string())]));
    let others_match = namespaces
        .iter()
        .filter(|(name, _)| name.as_str() != own_namespace)
        .map(|(_, labels)| labels.clone())
        .chain(system)
        .any(|labels| selector.matches(&labels));
    let own_matches = namespaces
        .get(own_namespace)
        .is_some_and(|labels| selector.matches(labels));
    if own_matches && !others_match {
        Admits::OwnNamespace
    } else {
        Admits::OtherNamespaces
    }
}

/// An address block: everything, a private network, or public addresses.
fn ip_block_admits(cidr: &str) -> Admits {
    let Some((address, prefix)) = cidr.split_once('/') else {
        return Admits::Anywhere;
    };
    let Ok(address) = address.parse::<IpAddr>() else {
        return Admits::Anywhere;
    };
    if prefix == "0" {
        return Admits::Anywhere;
    }
    match Scope::of_host_address(Some(address)) {
        Scope::External => Admits::Anywhere,
        _ => Admits::PrivateAddresses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_blocks_widen_by_address() {
        assert_eq!(ip_block_admits("0.0.0.0/0"), Admits::Anywhere);
        assert_eq!(ip_block_admits("::/0"), Admits::Anywhere);
        assert_eq!(ip_block_admits("10.0.0.0/8"), Admits::PrivateAddresses);
        assert_eq!(ip_block_admits("203.0.113.0/24"), Admits::Anywhere);
    }
}
