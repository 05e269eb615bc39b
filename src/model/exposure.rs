//! Ways in: what makes a container port reachable, from how far.

use super::{Backends, Location, Protocol, Scope, Unit};

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
    pub backends: Backends,
    /// The port clients connect to; `None` when the platform picks it (an auto-assigned
    /// NodePort, a Compose port published on an ephemeral host port). For a range, the
    /// first port of the published range, which maps pairwise onto the targets.
    pub published: Option<u16>,
    /// The container port that receives the traffic: this is what the catalogue judges.
    /// For a range (Compose `8000-8100:8000-8100`), its first port.
    pub target: u16,
    /// The last container port of a range, `target` itself for one port. A range stays
    /// one exposure however wide it is: rules judge the catalogue ports inside it.
    pub target_last: u16,
    pub protocol: Protocol,
    pub scope: Scope,
    pub via: Via,
    /// What NetworkPolicies say about a ClusterIP exposure's pods.
    pub isolation: Isolation,
    pub location: Option<Location>,
}

impl Exposure {
    /// Whether the exposure is a range of more than one port.
    pub fn is_range(&self) -> bool {
        self.target_last > self.target
    }

    /// Whether a container port is among the targets.
    pub fn targets(&self, port: u16) -> bool {
        (self.target..=self.target_last).contains(&port)
    }

    /// The port clients connect to for one of the targets: published ranges map pairwise.
    pub fn published_for(&self, target: u16) -> Option<u16> {
        let offset = target.checked_sub(self.target)?;
        self.published?.checked_add(offset)
    }

    /// The last published port of a range, when the published ports are known.
    pub fn published_last(&self) -> Option<u16> {
        self.published_for(self.target_last)
    }

    /// Whether clients connect on `port`: one of the published ports.
    pub fn publishes(&self, port: u16) -> bool {
        match (self.published, self.published_last()) {
            (Some(first), Some(last)) => (first..=last).contains(&port),
            _ => false,
        }
    }

    /// The container port behind a published port, if it is one of them.
    pub fn target_of(&self, published: u16) -> Option<u16> {
        let offset = published.checked_sub(self.published?)?;
        self.target
            .checked_add(offset)
            .filter(|t| *t <= self.target_last)
    }

    /// The targets as a message writes them: `8000` or `8000-8100`.
    pub fn target_text(&self) -> String {
        port_text(self.target, self.target_last)
    }
}

/// One port or an inclusive range, as Compose writes it: `80` or `8000-8100`.
pub fn port_text(first: u16, last: u16) -> String {
    if last > first {
        format!("{first}-{last}")
    } else {
        first.to_string()
    }
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

/// Annotations by which the big clouds make a LoadBalancer internal to the VPC, with the
/// values that mean "internal" (compared ignoring ASCII case). The inventory and the
/// generated ValidatingAdmissionPolicy both read this one table.
pub const INTERNAL_LOAD_BALANCER_ANNOTATIONS: &[(&str, &[&str])] = &[
    (
        "service.beta.kubernetes.io/aws-load-balancer-internal",
        &["true", "0.0.0.0/0"],
    ),
    (
        "service.beta.kubernetes.io/aws-load-balancer-scheme",
        &["internal"],
    ),
    ("networking.gke.io/load-balancer-type", &["Internal"]),
    (
        "cloud.google.com/load-balancer-type",
        &["Internal", "internal"],
    ),
    (
        "service.beta.kubernetes.io/azure-load-balancer-internal",
        &["true"],
    ),
    (
        "service.beta.kubernetes.io/oci-load-balancer-internal",
        &["true"],
    ),
    (
        "service.beta.kubernetes.io/openstack-internal-load-balancer",
        &["true"],
    ),
    (
        "service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type",
        &["private"],
    ),
    (
        "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type",
        &["intranet"],
    ),
    (
        "service.beta.kubernetes.io/do-loadbalancer-type",
        &["REGIONAL_NETWORK_INTERNAL"],
    ),
];
