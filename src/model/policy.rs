//! Ingress NetworkPolicies as data: which pods a policy selects, and which ports its rules
//! admit from how far. The reach step reads them from the manifests (resolving which
//! namespaces a selector matches); the reach step and the policy rules read them here.

use std::collections::BTreeMap;

use super::{Backends, Listener, Location, Protocol, Scope};

/// An ingress NetworkPolicy with the locations of its rules and peers.
#[derive(Debug, Clone)]
pub struct Policy {
    pub object: String,
    pub namespace: String,
    pub pod_selector: Selector,
    /// The workloads of its namespace that `pod_selector` matches, shared with every
    /// Service and policy of the same selector.
    pub selected: Backends,
    /// Whether the policy isolates the pods it selects for ingress.
    pub isolates_ingress: bool,
    pub rules: Vec<PolicyRule>,
    pub location: Location,
}

/// Index of a policy in [`Inventory::policies`](super::Inventory::policies).
pub type PolicyId = usize;

/// Who reaches a container port over the pod network. The pod network is flat: without
/// an ingress NetworkPolicy every pod of the cluster reaches every container port, with
/// or without a Service in front of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodReach {
    /// No ingress NetworkPolicy selects the pod: every pod of the cluster.
    Unisolated,
    /// Policies select the pod and admit nobody on that port.
    Nobody,
    /// Policies select the pod; the widest peer they admit on that port.
    Admitted(Admits),
}

impl PodReach {
    /// What the policies selecting a pod admit on one of its ports: the union of their
    /// rules, as the documentation defines it.
    pub fn of(selecting: &[&Policy], listener: &Listener) -> PodReach {
        if selecting.is_empty() {
            return PodReach::Unisolated;
        }
        selecting
            .iter()
            .flat_map(|p| &p.rules)
            .filter(|rule| rule.admits_port(listener))
            .map(PolicyRule::widest)
            .max()
            .map_or(PodReach::Nobody, PodReach::Admitted)
    }

    /// How far that is over the pod network, in the catalogue's terms: the mail stack's
    /// own namespace is `internal`; another namespace, an address block or the whole
    /// cluster is `cluster`. Pod addresses are the cluster's: a policy admitting any
    /// address widens nothing until a Service or route brings outside traffic in, and
    /// those are judged on their own.
    pub fn scope(self) -> Scope {
        match self {
            PodReach::Nobody => Scope::Loopback,
            PodReach::Admitted(Admits::OwnNamespace) => Scope::Internal,
            PodReach::Unisolated | PodReach::Admitted(_) => Scope::Cluster,
        }
    }
}

/// One `spec.ingress[i]` rule.
#[derive(Debug, Clone)]
pub struct PolicyRule {
    /// Empty: every port.
    pub ports: Vec<PolicyPort>,
    /// `None`: the rule has no (or an empty) `from`, so every source is admitted.
    pub from: Option<Vec<Peer>>,
    pub location: Location,
}

impl PolicyRule {
    /// Whether the rule's `ports` admit a listener of a pod. Named ports resolve against
    /// that pod's own container ports, as the documentation says.
    pub fn admits_port(&self, listener: &Listener) -> bool {
        self.ports.is_empty() || self.ports.iter().any(|p| p.matches(listener))
    }

    /// The sources the rule admits, each with the line that admits it.
    pub fn sources(&self) -> Vec<(Admits, &Location)> {
        match &self.from {
            None => vec![(Admits::Anywhere, &self.location)],
            Some(peers) => peers.iter().map(|p| (p.admits, &p.location)).collect(),
        }
    }

    /// The widest source the rule admits.
    pub fn widest(&self) -> Admits {
        self.sources()
            .into_iter()
            .map(|(admits, _)| admits)
            .max()
            .unwrap_or(Admits::Anywhere)
    }
}

/// One entry of a rule's `from`, already resolved to who it admits.
#[derive(Debug, Clone)]
pub struct Peer {
    pub admits: Admits,
    pub location: Location,
}

/// Who a peer admits, widest last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Admits {
    /// Pods of the policy's own namespace: the mail stack.
    OwnNamespace,
    /// Pods of some other namespaces.
    OtherNamespaces,
    /// A private address block: other pods, nodes or the private network.
    PrivateAddresses,
    /// Pods of every namespace.
    EveryNamespace,
    /// Any address (`0.0.0.0/0`, `::/0`, a public block, or a rule without `from`).
    Anywhere,
}

/// One `ports` entry of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyPort {
    pub protocol: Protocol,
    pub port: PortMatch,
}

/// Which port numbers a `ports` entry admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortMatch {
    /// No `port`: every port of the protocol.
    Every,
    /// `port` with an optional `endPort`, inclusive.
    Range(u16, u16),
    /// A named port, resolved against each pod's container ports.
    Named(String),
}

impl PolicyPort {
    fn matches(&self, listener: &Listener) -> bool {
        self.protocol == listener.protocol
            && match &self.port {
                PortMatch::Every => true,
                PortMatch::Range(start, end) => (*start..=*end).contains(&listener.port),
                PortMatch::Named(name) => listener.name.as_deref() == Some(name.as_str()),
            }
    }
}

/// A label selector (`matchLabels` and `matchExpressions`). The empty one matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    pub labels: BTreeMap<String, String>,
    pub expressions: Vec<Requirement>,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    /// The API server rejects other operators; such a requirement matches nothing.
    Unknown,
}

impl Operator {
    pub fn parse(text: &str) -> Operator {
        match text {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            _ => Operator::Unknown,
        }
    }
}

impl Selector {
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.expressions.is_empty()
    }

    /// The only values `key` may have for the selector to match, when the selector pins
    /// them (`matchLabels`, or an `In` expression); `None` when any value may match.
    pub fn pinned_values(&self, key: &str) -> Option<Vec<&str>> {
        let mut pinned: Option<Vec<&str>> = self.labels.get(key).map(|v| vec![v.as_str()]);
        for expression in self.expressions.iter().filter(|e| e.key == key) {
            let allowed: Vec<&str> = match expression.operator {
                Operator::In => expression.values.iter().map(String::as_str).collect(),
                Operator::DoesNotExist | Operator::Unknown => Vec::new(),
                Operator::NotIn | Operator::Exists => continue,
            };
            pinned = Some(match pinned {
                None => allowed,
                Some(before) => before.into_iter().filter(|v| allowed.contains(v)).collect(),
            });
        }
        pinned
    }

    /// Whether a set of labels satisfies every label and expression.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|e| e.matches(labels))
    }
}

impl Requirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::Unknown => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expression(key: &str, operator: &str, values: &[&str]) -> Selector {
        Selector {
            labels: BTreeMap::new(),
            expressions: vec![Requirement {
                key: key.into(),
                operator: Operator::parse(operator),
                values: values.iter().map(|v| v.to_string()).collect(),
            }],
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
            (expression("app", "Matches", &["dovecot"]), false),
        ];
        for (selector, expected) in cases {
            assert_eq!(selector.matches(&pod), expected, "{selector:?}");
        }
        assert!(Selector::default().matches(&pod));
    }
}
