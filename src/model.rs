//! The inventory: what listens where, and how far each listener reaches.
//!
//! Loaders turn Kubernetes objects and Compose services into [`Workload`]s (what runs and
//! which ports its containers listen on) and [`Exposure`]s (a way to reach one of those
//! ports, with the [`Scope`] it reaches). Rules only ever look at this model, so a new
//! source of reachability (NetworkPolicy, Ingress, Gateway routes) adds exposures or
//! narrows scopes here without touching the rules that read them.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How far a listener reaches, narrowest first. The order is the contract: a finding
/// compares an exposure's scope with the catalogue's widest allowed scope.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Only inside its pod, or published on the host's loopback.
    Loopback,
    /// Only the mail stack's own pods or the Compose project's networks.
    Internal,
    /// Every pod of the cluster, an internal load balancer, or one private host address.
    Cluster,
    /// Anything outside the cluster or host.
    External,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Loopback => "loopback",
            Scope::Internal => "internal",
            Scope::Cluster => "cluster",
            Scope::External => "external",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Transport protocol of a port, spelled as Kubernetes spells it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// Parses `tcp`, `TCP`, `udp`, … as Compose and Kubernetes write them.
    pub fn parse(text: &str) -> Option<Protocol> {
        match text.to_ascii_lowercase().as_str() {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "sctp" => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in an input: a file (or `-` for stdin) with a 1-based line and column, or a
/// live object that has no file.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct Location {
    /// The file as given on the command line (relative paths stay relative).
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The Helm template that produced this object (`# Source:` line), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

/// The deployment a workload belongs to: a Kubernetes namespace or a Compose project.
/// Rules that judge a whole deployment (`missing-port`) work per unit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unit {
    Namespace(String),
    ComposeProject(String),
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
    pub port: u16,
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

/// Index of a workload in [`Inventory::workloads`].
pub type WorkloadId = usize;

/// What makes a port reachable, which decides its scope and how messages describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A ClusterIP (or headless) Service: `cluster` until a NetworkPolicy narrows it.
    ClusterIp,
    /// A LoadBalancer Service marked internal by a cloud annotation.
    InternalLoadBalancer {
        annotation: String,
    },
    LoadBalancer,
    NodePort,
    ExternalIps,
    HostPort,
    /// Every listener of a pod or container on the node's own network.
    HostNetwork,
    /// Compose `ports:` publishing on the host, with the host address if one is given.
    Published {
        host_ip: Option<String>,
    },
    /// Compose `expose:` or a container port on the project's networks.
    ProjectNetwork,
    /// An HTTP route (an Ingress path, a Gateway API HTTPRoute rule, a Traefik router):
    /// it exposes HTTP paths, not the raw port. `by` names the route kind.
    HttpRoute {
        by: String,
        /// The path it routes (`/`, `/SOGo`).
        path: String,
        /// Served over TLS with plain HTTP redirected or not served.
        secure: bool,
    },
    /// A TCP or UDP route of an ingress controller or a Gateway listener (ingress-nginx
    /// `tcp-services`, Traefik IngressRouteTCP, Gateway API TLSRoute/TCPRoute).
    ControllerRoute {
        by: String,
    },
}

impl Via {
    /// How a message names the cause of the exposure.
    pub fn describe(&self) -> String {
        match self {
            Via::ClusterIp => "a ClusterIP Service".into(),
            Via::InternalLoadBalancer { annotation } => {
                format!("an internal LoadBalancer ({annotation})")
            }
            Via::LoadBalancer => "a LoadBalancer Service".into(),
            Via::NodePort => "a NodePort Service".into(),
            Via::ExternalIps => "a Service's externalIPs".into(),
            Via::HostPort => "a hostPort".into(),
            Via::HostNetwork => "the host network".into(),
            Via::Published { host_ip: None } => "a port published on all host addresses".into(),
            Via::Published { host_ip: Some(ip) } => format!("a port published on {ip}"),
            Via::ProjectNetwork => "the Compose project network".into(),
            Via::HttpRoute { by, path, .. } => format!("{by} path `{path}`"),
            Via::ControllerRoute { by } => by.clone(),
        }
    }

    /// Whether the exposure is an HTTP route, which publishes paths rather than a port.
    pub fn is_http_route(&self) -> bool {
        matches!(self, Via::HttpRoute { .. })
    }
}

/// One way to reach one listener: the port a client connects to and the container port
/// behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    /// The object that creates the exposure (a Service, a Compose service, a Pod template).
    pub object: String,
    pub unit: Unit,
    /// The workloads whose containers receive the traffic; empty when a Service selects none
    /// of the workloads in the input.
    pub backends: Vec<WorkloadId>,
    /// The port clients connect to; `None` when the platform picks it (an auto-assigned
    /// NodePort, a Compose port published on an ephemeral host port).
    pub published: Option<u16>,
    /// The container port that receives the traffic: this is what the catalogue judges.
    pub target: u16,
    pub protocol: Protocol,
    pub scope: Scope,
    pub via: Via,
    /// What NetworkPolicies say about a ClusterIP exposure's pods.
    pub isolation: Isolation,
    pub location: Option<Location>,
}

/// Whether ingress NetworkPolicies select the pods behind a ClusterIP exposure, which
/// decides whether its `cluster` scope is a policy gap or a policy choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Not a ClusterIP exposure, or its pods are not in the input: nothing to judge.
    NotApplicable,
    /// No ingress NetworkPolicy selects the pods: every pod in the cluster reaches them.
    Unisolated,
    /// Ingress NetworkPolicies select the pods; the scope is what they admit.
    Isolated,
}

/// Everything the loaders found, ready for the rules.
#[derive(Debug, Default)]
pub struct Inventory {
    pub workloads: Vec<Workload>,
    pub exposures: Vec<Exposure>,
    /// Ingress NetworkPolicies, for the reachability step and the policy rules.
    pub policies: Vec<crate::reach::networkpolicy::Policy>,
    /// HTTP routes (Ingress paths, HTTPRoute rules, Traefik routers), for the EAS rules.
    pub routes: Vec<crate::reach::route::HttpRoute>,
    /// Labels of every namespace in the input, `kubernetes.io/metadata.name` included.
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// Suppressions the objects carry themselves.
    pub suppressions: Vec<InlineSuppression>,
    pub invalid: Vec<InvalidInput>,
    /// Files read, for the report's summary.
    pub files: usize,
    /// Kubernetes objects and Compose services read, for the report's summary.
    pub objects: usize,
}

impl Inventory {
    /// The workloads and exposures of each deployment unit, in a stable order: rules that
    /// judge a whole unit look at its own parts instead of scanning the whole inventory.
    pub fn by_unit(&self) -> BTreeMap<&Unit, UnitParts<'_>> {
        let mut units: BTreeMap<&Unit, UnitParts<'_>> = BTreeMap::new();
        for workload in &self.workloads {
            units
                .entry(&workload.unit)
                .or_default()
                .workloads
                .push(workload);
        }
        for exposure in &self.exposures {
            units
                .entry(&exposure.unit)
                .or_default()
                .exposures
                .push(exposure);
        }
        units
    }
}

/// What one deployment unit holds.
#[derive(Debug, Default)]
pub struct UnitParts<'a> {
    pub workloads: Vec<&'a Workload>,
    pub exposures: Vec<&'a Exposure>,
}

/// An input that could not be read or typed. Loaders record these and go on; the
/// `invalid-input` rule reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    pub object: Option<String>,
    pub message: String,
    pub location: Location,
    pub impact: Impact,
}

/// What a problem costs the check, which decides its severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impact {
    /// A file, document or object is not checked at all: an error.
    Unread,
    /// One value (a Jinja expression in a playbook) cannot be rendered, so its port is not
    /// checked; the rest of the object is: a note.
    ValueSkipped,
    /// A kind of object the API server would not list (forbidden, or not served): those
    /// objects are not checked, the rest of the cluster is: a note.
    NotListed,
}

/// An object's own request to suppress some of its findings: the
/// `iredmail-ports.io/ignore` annotation or a Compose service's `x-iredmail-ports`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignore {
    /// Rules, each for one port or (`None`) for every port.
    pub entries: Vec<(crate::rules::Rule, Option<u16>)>,
    pub reason: String,
    pub location: Location,
}

/// An [`Ignore`] with the object it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineSuppression {
    pub object: String,
    pub by: crate::rules::SuppressedBy,
    pub ignore: Ignore,
}

impl Ignore {
    /// Parses `internal-port-exposed:3306,unknown-port`.
    pub fn parse_entries(text: &str) -> Result<Vec<(crate::rules::Rule, Option<u16>)>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let (rule, port) = match entry.split_once(':') {
                    Some((rule, port)) => {
                        let port = port
                            .trim()
                            .parse::<u16>()
                            .ok()
                            .filter(|p| *p != 0)
                            .ok_or_else(|| format!("`{entry}`: `{port}` is not a port"))?;
                        (rule.trim(), Some(port))
                    }
                    None => (entry, None),
                };
                Ok((rule.parse()?, port))
            })
            .collect()
    }
}
