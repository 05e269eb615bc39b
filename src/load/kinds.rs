//! The one table of the Kubernetes kinds iredmail-ports judges. The loader types these
//! kinds (and only these), the cluster reader lists them, the admission webhook accepts
//! them and watches them, and the Helm chart's webhook rules and RBAC name them: a test
//! checks each against this table, so adding a kind is one row here.

/// What objects of a kind give the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contribution {
    /// Namespace labels, which NetworkPolicy namespace selectors match.
    NamespaceLabels,
    /// Pods: containers, their ports, hostPort and hostNetwork.
    Workload,
    /// Ports a Service publishes, and how far.
    ServicePorts,
    /// Who may reach the pods it selects.
    IngressPolicy,
    /// Routes that make a backend Service reachable from outside (HTTP paths or raw ports).
    Routes,
    /// Context for routes: listeners (Gateway), redirects (Middleware), timeouts
    /// (ServersTransport). Nothing is reachable through them alone.
    RouteContext,
}

/// Where a kind comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Every API server serves it.
    BuiltIn,
    /// A CustomResourceDefinition: read only where the cluster serves it.
    Crd,
}

/// One judged kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JudgedKind {
    /// The API group; `""` for the core group.
    pub group: &'static str,
    pub kind: &'static str,
    /// The resource name in URLs, RBAC rules and webhook rules.
    pub plural: &'static str,
    /// Cluster-scoped kinds (Namespace) have no namespace.
    pub namespaced: bool,
    pub contributes: Contribution,
    pub origin: Origin,
    /// When only objects of these names matter (ingress-nginx's port ConfigMaps): the
    /// cluster reader asks for them by name and RBAC grants only them.
    pub only_named: Option<&'static [&'static str]>,
}

impl JudgedKind {
    /// Whether `kubectl iredmail-ports -l SELECTOR` narrows this kind. Policies,
    /// namespaces and route context are what the selected objects are judged against:
    /// without them those objects would look wider open than they are.
    pub fn narrowed_by_selector(&self) -> bool {
        matches!(
            self.contributes,
            Contribution::Workload | Contribution::ServicePorts | Contribution::Routes
        )
    }

    /// Whether the admission webhook judges objects of this kind when they are created or
    /// changed. A Namespace's labels only matter to the policies of other objects.
    pub fn judged_at_admission(&self) -> bool {
        self.contributes != Contribution::NamespaceLabels
    }

    /// Whether objects of this name are judged (only ingress-nginx's port maps among
    /// ConfigMaps; every object of the other kinds).
    pub fn judges_name(&self, name: &str) -> bool {
        self.only_named.is_none_or(|names| names.contains(&name))
    }

    /// Whether deleting an object of this kind can widen what a port reaches (a
    /// NetworkPolicy that isolated it).
    pub fn judged_on_delete(&self) -> bool {
        self.contributes == Contribution::IngressPolicy
    }
}

pub const CORE: &str = "";
pub const APPS: &str = "apps";
pub const BATCH: &str = "batch";
pub const NETWORKING: &str = "networking.k8s.io";
pub const GATEWAY: &str = "gateway.networking.k8s.io";
/// Traefik v2.10+ and v3 serve `traefik.io`; older releases `traefik.containo.us`.
pub const TRAEFIK: &str = "traefik.io";
pub const TRAEFIK_LEGACY: &str = "traefik.containo.us";

/// The names of ingress-nginx's ConfigMaps that publish raw TCP and UDP ports.
pub const CONTROLLER_PORT_CONFIGMAPS: &[&str] = &["tcp-services", "udp-services"];

const fn row(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    contributes: Contribution,
    origin: Origin,
) -> JudgedKind {
    JudgedKind {
        group,
        kind,
        plural,
        namespaced: true,
        contributes,
        origin,
        only_named: None,
    }
}

use Contribution::{IngressPolicy, RouteContext, Routes, ServicePorts, Workload};
use Origin::{BuiltIn, Crd};

/// Every judged kind. The cluster reader lists them in this order: controllers before
/// Pods, so Pods a listed controller owns can be left out.
pub const JUDGED_KINDS: &[JudgedKind] = &[
    JudgedKind {
        namespaced: false,
        ..row(
            CORE,
            "Namespace",
            "namespaces",
            Contribution::NamespaceLabels,
            BuiltIn,
        )
    },
    row(CORE, "Service", "services", ServicePorts, BuiltIn),
    row(
        NETWORKING,
        "NetworkPolicy",
        "networkpolicies",
        IngressPolicy,
        BuiltIn,
    ),
    row(NETWORKING, "Ingress", "ingresses", Routes, BuiltIn),
    JudgedKind {
        only_named: Some(CONTROLLER_PORT_CONFIGMAPS),
        ..row(CORE, "ConfigMap", "configmaps", Routes, BuiltIn)
    },
    row(APPS, "Deployment", "deployments", Workload, BuiltIn),
    row(APPS, "StatefulSet", "statefulsets", Workload, BuiltIn),
    row(APPS, "DaemonSet", "daemonsets", Workload, BuiltIn),
    row(APPS, "ReplicaSet", "replicasets", Workload, BuiltIn),
    row(
        CORE,
        "ReplicationController",
        "replicationcontrollers",
        Workload,
        BuiltIn,
    ),
    row(BATCH, "CronJob", "cronjobs", Workload, BuiltIn),
    row(BATCH, "Job", "jobs", Workload, BuiltIn),
    row(CORE, "Pod", "pods", Workload, BuiltIn),
    row(GATEWAY, "Gateway", "gateways", RouteContext, Crd),
    row(GATEWAY, "HTTPRoute", "httproutes", Routes, Crd),
    row(GATEWAY, "GRPCRoute", "grpcroutes", Routes, Crd),
    row(GATEWAY, "TLSRoute", "tlsroutes", Routes, Crd),
    row(GATEWAY, "TCPRoute", "tcproutes", Routes, Crd),
    row(GATEWAY, "UDPRoute", "udproutes", Routes, Crd),
    row(TRAEFIK, "IngressRoute", "ingressroutes", Routes, Crd),
    row(TRAEFIK, "IngressRouteTCP", "ingressroutetcps", Routes, Crd),
    row(TRAEFIK, "Middleware", "middlewares", RouteContext, Crd),
    row(
        TRAEFIK,
        "ServersTransport",
        "serverstransports",
        RouteContext,
        Crd,
    ),
    row(TRAEFIK_LEGACY, "IngressRoute", "ingressroutes", Routes, Crd),
    row(
        TRAEFIK_LEGACY,
        "IngressRouteTCP",
        "ingressroutetcps",
        Routes,
        Crd,
    ),
    row(
        TRAEFIK_LEGACY,
        "Middleware",
        "middlewares",
        RouteContext,
        Crd,
    ),
    row(
        TRAEFIK_LEGACY,
        "ServersTransport",
        "serverstransports",
        RouteContext,
        Crd,
    ),
];

/// The row of a kind in an API group, if iredmail-ports judges it.
pub fn judged(group: &str, kind: &str) -> Option<&'static JudgedKind> {
    JUDGED_KINDS
        .iter()
        .find(|k| k.group == group && k.kind == kind)
}

/// The API group of an `apiVersion` (`apps/v1` → `apps`, `v1` → the core group).
pub fn group_of(api_version: &str) -> &str {
    api_version.split_once('/').map_or(CORE, |(group, _)| group)
}
