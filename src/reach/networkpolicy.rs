//! Who reaches a pod's port through NetworkPolicies, with the semantics the Kubernetes
//! documentation defines:
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
//!   `kubernetes.io/metadata.name`), both in one peer (pods matching both), or `ipBlock`
//!   (`except` only narrows it, so it never widens the scope);
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
use crate::load::yaml::PathSegment;
use crate::model::{Listener, Location, Protocol, Scope, Workload};

/// An ingress NetworkPolicy with the locations of its rules and peers.
#[derive(Debug, Clone)]
pub struct Policy {
    pub object: String,
    pub namespace: String,
    pub pod_selector: LabelSelector,
    /// Whether the policy isolates the pods it selects for ingress.
    pub isolates_ingress: bool,
    pub rules: Vec<Rule>,
    pub location: Location,
}

/// One `spec.ingress[i]` rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub ports: Vec<NetworkPolicyPort>,
    /// `None`: the rule has no `from`, so every source is admitted.
    pub from: Option<Vec<(NetworkPolicyPeer, Location)>>,
    pub location: Location,
}

/// Who a peer admits, widest last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Admits {
    /// Pods of the policy's own namespace: the mail stack.
    OwnNamespace,
    /// Pods of some other namespaces, or a private address block.
    OtherNamespaces,
    /// Pods of every namespace.
    EveryNamespace,
    /// Any address (`0.0.0.0/0`, `::/0`, a public block, or a rule without `from`).
    Anywhere,
}

impl Admits {
    /// The scope a ClusterIP exposure has when this is the widest admitted peer.
    pub fn cluster_ip_scope(self) -> Scope {
        match self {
            Admits::OwnNamespace => Scope::Internal,
            _ => Scope::Cluster,
        }
    }
}

fn key(name: &str) -> PathSegment {
    PathSegment::Key(name.to_string())
}

impl Policy {
    pub fn from_object(object: &KubeObject, policy: &NetworkPolicy) -> Policy {
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
            .map(|(i, rule)| rule_of(object, i, rule))
            .collect();
        Policy {
            object: object.id(),
            namespace: object.namespace.clone(),
            pod_selector: spec.pod_selector.unwrap_or_default(),
            isolates_ingress,
            rules,
            location: object.location(&[key("spec"), key("podSelector")]),
        }
    }

    pub fn selects(&self, workload: &Workload, namespace: &str) -> bool {
        self.isolates_ingress
            && self.namespace == namespace
            && selector_matches(&self.pod_selector, &workload.labels)
    }
}

fn rule_of(object: &KubeObject, index: usize, rule: NetworkPolicyIngressRule) -> Rule {
    let rule_path = [key("spec"), key("ingress"), PathSegment::Index(index)];
    let from = rule.from.filter(|peers| !peers.is_empty()).map(|peers| {
        peers
            .into_iter()
            .enumerate()
            .map(|(j, peer)| {
                let mut path = rule_path.to_vec();
                path.extend([key("from"), PathSegment::Index(j)]);
                (peer, object.location(&path))
            })
            .collect()
    });
    Rule {
        ports: rule.ports.unwrap_or_default(),
        from,
        location: object.location(&rule_path),
    }
}

/// Whether a label selector matches a set of labels. An empty selector matches all.
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_match = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let expressions_match = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        let value = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            // The API server rejects other operators; an unknown one matches nothing.
            _ => false,
        }
    });
    labels_match && expressions_match
}

/// Whether a rule's `ports` admit a listener of a pod. Named ports resolve against that
/// pod's own container ports, as the documentation says.
pub fn rule_admits_port(rule: &Rule, listener: &Listener) -> bool {
    rule.ports.is_empty() || rule.ports.iter().any(|p| port_matches(p, listener))
}

fn port_matches(port: &NetworkPolicyPort, listener: &Listener) -> bool {
    let protocol = port
        .protocol
        .as_deref()
        .and_then(Protocol::parse)
        .unwrap_or(Protocol::Tcp);
    if protocol != listener.protocol {
        return false;
    }
    match &port.port {
        None => true,
        Some(IntOrString::Int(start)) => {
            let end = port.end_port.unwrap_or(*start);
            (*start..=end).contains(&i32::from(listener.port))
        }
        Some(IntOrString::String(name)) => listener.name.as_deref() == Some(name.as_str()),
    }
}

/// Who one peer admits, given the policy's namespace and the namespaces in the input.
pub fn peer_admits(
    peer: &NetworkPolicyPeer,
    own_namespace: &str,
    namespaces: &BTreeMap<String, BTreeMap<String, String>>,
) -> Admits {
    if let Some(block) = &peer.ip_block {
        return ip_block_admits(&block.cidr);
    }
    let Some(selector) = &peer.namespace_selector else {
        // A podSelector alone selects pods of the policy's own namespace.
        return Admits::OwnNamespace;
    };
    if is_empty(selector) {
        return Admits::EveryNamespace;
    }
    let others = namespaces
        .iter()
        .filter(|(name, _)| name.as_str() != own_namespace)
        .any(|(_, labels)| selector_matches(selector, labels));
    if others {
        Admits::OtherNamespaces
    } else {
        Admits::OwnNamespace
    }
}

fn is_empty(selector: &LabelSelector) -> bool {
    selector
        .match_labels
        .as_ref()
        .is_none_or(BTreeMap::is_empty)
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(Vec::is_empty)
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
    match crate::inventory::host_address_scope(Some(address)) {
        Scope::External => Admits::Anywhere,
        _ => Admits::OtherNamespaces,
    }
}

/// What reaches a listener of a pod: `None` when no ingress policy selects the pod
/// (it is open to the whole cluster), otherwise the widest peer the selecting policies
/// admit on that port, or `Some(None)` when they admit nobody.
pub fn admitted(
    policies: &[Policy],
    namespaces: &BTreeMap<String, BTreeMap<String, String>>,
    workload: &Workload,
    namespace: &str,
    listener: &Listener,
) -> Option<Option<Admits>> {
    let selecting: Vec<&Policy> = policies
        .iter()
        .filter(|p| p.selects(workload, namespace))
        .collect();
    if selecting.is_empty() {
        return None;
    }
    let widest = selecting
        .iter()
        .flat_map(|p| &p.rules)
        .filter(|rule| rule_admits_port(rule, listener))
        .map(|rule| match &rule.from {
            None => Admits::Anywhere,
            Some(peers) => peers
                .iter()
                .map(|(peer, _)| peer_admits(peer, namespace, namespaces))
                .max()
                .unwrap_or(Admits::Anywhere),
        })
        .max();
    Some(widest)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expression(key: &str, operator: &str, values: &[&str]) -> LabelSelector {
        LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: key.into(),
                operator: operator.into(),
                values: Some(values.iter().map(|v| v.to_string()).collect()),
            }]),
            match_labels: None,
        }
    }

    #[test]
    fn match_expressions_follow_the_documented_operators() {
        let pod = labels(&[("app", "dovecot"), ("tier", "mail")]);
        let cases = [
            (expression("app", "In", &["dovecot", "postfix"]), true),
            (expression("app", "In", &["postfix"]), false),
            (expression("app", "NotIn", &["postfix"]), true),
            (expression("role", "NotIn", &["db"]), true),
            (expression("tier", "Exists", &[]), true),
            (expression("role", "Exists", &[]), false),
            (expression("role", "DoesNotExist", &[]), true),
            (expression("app", "DoesNotExist", &[]), false),
        ];
        for (selector, expected) in cases {
            assert_eq!(selector_matches(&selector, &pod), expected, "{selector:?}");
        }
        assert!(selector_matches(&LabelSelector::default(), &pod));
    }

    #[test]
    fn ip_blocks_widen_by_address() {
        assert_eq!(ip_block_admits("0.0.0.0/0"), Admits::Anywhere);
        assert_eq!(ip_block_admits("::/0"), Admits::Anywhere);
        assert_eq!(ip_block_admits("10.0.0.0/8"), Admits::OtherNamespaces);
        assert_eq!(ip_block_admits("203.0.113.0/24"), Admits::Anywhere);
    }
}
