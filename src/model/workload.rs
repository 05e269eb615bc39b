//! What runs: workloads, the deployment unit they belong to, and the ports they listen on.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use super::{Location, Protocol};

/// The deployment a workload belongs to: a Kubernetes namespace or a Compose project.
/// Rules that judge a whole deployment (`missing-port`) work per unit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unit {
    Namespace(String),
    ComposeProject(String),
}

impl Unit {
    /// The namespace, for a Kubernetes unit.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Unit::Namespace(namespace) => Some(namespace),
            Unit::ComposeProject(_) => None,
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unit::Namespace(ns) => write!(f, "Namespace/{ns}"),
            Unit::ComposeProject(p) => write!(f, "compose/{p}"),
        }
    }
}

/// A port a container listens on (`containerPort`, a Compose target or `expose`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The port, or the first of a range (Compose `ports: ["8000-8100:8000-8100"]`).
    pub port: u16,
    /// The last port of a range, `port` itself for one port.
    pub last: u16,
    pub protocol: Protocol,
    /// The port's name, which a Service's or NetworkPolicy's named port refers to.
    pub name: Option<String>,
    pub location: Option<Location>,
}

/// Something that runs containers: a Pod template of a Kubernetes workload, or a Compose
/// service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// `Kind/namespace/name` or `compose/<project>/<service>`.
    pub object: String,
    pub unit: Unit,
    /// Labels of the pods it runs (selectors of Services and NetworkPolicies match these).
    pub labels: BTreeMap<String, String>,
    pub images: Vec<String>,
    pub listeners: Vec<Listener>,
    /// Where `hostNetwork: true` or `network_mode: host` is set.
    pub host_network: Option<Location>,
    /// Where the workload is defined (its `kind:` line or Compose service key).
    pub location: Option<Location>,
}

impl Workload {
    /// The listener on a port (or a range holding it), if the workload declares it.
    pub fn listener(&self, port: u16, protocol: Protocol) -> Option<&Listener> {
        self.listeners
            .iter()
            .find(|l| l.covers(port) && l.protocol == protocol)
    }
}

impl Listener {
    /// Whether the port is the listener's, or inside its range.
    pub fn covers(&self, port: u16) -> bool {
        (self.port..=self.last).contains(&port)
    }

    /// The port or range as a message writes it.
    pub fn text(&self) -> String {
        super::exposure::port_text(self.port, self.last)
    }
}

/// Index of a workload in [`Inventory::workloads`](super::Inventory::workloads).
pub type WorkloadId = usize;

/// The workloads a Service, route or NetworkPolicy sends to or selects, in id order.
///
/// Every object with the same selector in the same namespace shares one set: 3,000
/// Services over 3,000 Deployments on one selector hold one list, not nine million ids,
/// and the rules judge the set once ([`Backends::key`]) instead of once per Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backends(Arc<[WorkloadId]>);

/// Which shared set a [`Backends`] is: equal for clones of one set. Two sets built apart
/// with the same workloads have different keys, which only costs a memo a miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BackendsKey(usize);

impl Backends {
    pub fn new(ids: Vec<WorkloadId>) -> Backends {
        Backends(ids.into())
    }

    pub fn none() -> Backends {
        Backends::new(Vec::new())
    }

    /// The set's identity, for memos that judge a shared set once. It holds while the
    /// inventory holds the set, which is as long as the rules run.
    pub fn key(&self) -> BackendsKey {
        BackendsKey(Arc::as_ptr(&self.0).cast::<()>() as usize)
    }
}

impl Deref for Backends {
    type Target = [WorkloadId];

    fn deref(&self) -> &[WorkloadId] {
        &self.0
    }
}
