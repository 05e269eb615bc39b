//! Kubernetes documents → typed objects.
//!
//! Each object is typed through k8s-openapi, so a wrong field type is reported with its
//! field path (`spec.ports[0].port`) and the line the YAML tree remembers for that path.
//! The YAML tree is kept beside the typed object: later steps ask it for the line of any
//! field they report on.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Pod, PodSpec, ReplicationController, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;

use super::crd;
use super::yaml::{Node, PathSegment, path_from_serde, path_to_string};
use crate::model::{Ignore, Impact, InvalidInput, Location};

/// A Kubernetes object from a file, typed, with its YAML tree for line look-ups.
#[derive(Debug, Clone)]
pub struct KubeObject {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub file: String,
    pub template: Option<String>,
    pub node: Node,
    pub typed: Typed,
    /// The object's `iredmail-ports.io/ignore` annotation, if any.
    pub ignore: Option<Ignore>,
}

/// The annotation that suppresses some of an object's findings, and the one that must
/// say why.
pub const IGNORE_ANNOTATION: &str = "iredmail-ports.io/ignore";
pub const IGNORE_REASON_ANNOTATION: &str = "iredmail-ports.io/ignore-reason";

/// The annotation `kubectl apply` keeps a copy of the object in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops `managedFields` and the last-applied annotation from an object read from the API
/// server: they only record how the object was written, repeat it, and say nothing about
/// ports.
pub fn strip_bookkeeping(metadata: &mut ObjectMeta) {
    metadata.managed_fields = None;
    if let Some(annotations) = &mut metadata.annotations {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty() {
            metadata.annotations = None;
        }
    }
}

/// The kinds iredmail-ports reads; other kinds are counted but not inspected.
#[derive(Debug, Clone)]
pub enum Typed {
    Service(Box<Service>),
    Workload(Box<PodTemplate>),
    Namespace(Box<Namespace>),
    NetworkPolicy(Box<NetworkPolicy>),
    Ingress(Box<Ingress>),
    /// A Gateway API Gateway.
    Gateway(Box<crd::Gateway>),
    /// A Gateway API route (HTTPRoute, TLSRoute, TCPRoute, UDPRoute).
    GatewayRoute(RouteKind, Box<crd::Route>),
    /// A Traefik IngressRoute (`tcp: false`) or IngressRouteTCP (`tcp: true`).
    TraefikRoute {
        tcp: bool,
        route: Box<crd::IngressRoute>,
    },
    TraefikMiddleware(Box<crd::Middleware>),
    TraefikServersTransport(Box<crd::ServersTransport>),
    /// ingress-nginx's `tcp-services` or `udp-services` ConfigMap.
    ControllerPorts(crate::model::Protocol, Box<crd::ControllerPorts>),
    Other,
}

/// The kinds of Gateway API route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    Http,
    Tls,
    Tcp,
    Udp,
}

impl RouteKind {
    /// The listener protocols a route of this kind attaches to.
    pub fn listener_protocols(self) -> &'static [&'static str] {
        match self {
            RouteKind::Http => &["HTTP", "HTTPS"],
            RouteKind::Tls => &["TLS"],
            RouteKind::Tcp => &["TCP"],
            RouteKind::Udp => &["UDP"],
        }
    }
}

/// The pod template of any workload kind, with where its `spec` sits in the document.
#[derive(Debug, Clone)]
pub struct PodTemplate {
    pub labels: BTreeMap<String, String>,
    pub spec: PodSpec,
    pub spec_path: Vec<PathSegment>,
}

/// The namespace of objects that name none: kubectl would use the context's namespace,
/// and `default` is what a fresh context has.
pub const DEFAULT_NAMESPACE: &str = "default";

impl KubeObject {
    /// `Kind/namespace/name`, as the report names objects.
    pub fn id(&self) -> String {
        if self.kind == "Namespace" {
            format!("Namespace/{}", self.name)
        } else {
            format!("{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }

    /// The location of a field of this object.
    pub fn location(&self, path: &[PathSegment]) -> Location {
        let (line, column) = self.node.position_of(path);
        Location {
            path: self.file.clone(),
            line,
            column,
            template: self.template.clone(),
        }
    }
}

/// Whether a document looks like a Kubernetes object or list (`apiVersion` and `kind`).
pub fn is_kubernetes(root: &Node) -> bool {
    root.get("apiVersion").and_then(Node::as_str).is_some()
        && root.get("kind").and_then(Node::as_str).is_some()
}

/// Types one document, unpacking `kind: List` (and `*List`) into its items.
pub fn objects_from_document(
    root: &Node,
    file: &str,
    template: Option<&str>,
    objects: &mut Vec<KubeObject>,
    problems: &mut Vec<InvalidInput>,
) {
    let kind = root.get("kind").and_then(Node::as_str).unwrap_or_default();
    if kind.ends_with("List")
        && let Some(items) = root.get("items")
    {
        for item in items.as_seq().unwrap_or_default() {
            objects_from_document(item, file, template, objects, problems);
        }
        return;
    }
    let context = Context {
        file,
        template,
        root,
    };
    match type_object(root, file, template) {
        Ok(object) => objects.push(object),
        Err(problem) => problems.push(context.problem(problem)),
    }
}

/// Where in a document a problem is, before it gets a file name.
struct Context<'a> {
    file: &'a str,
    template: Option<&'a str>,
    root: &'a Node,
}

/// A problem found while typing one object.
struct Problem {
    object: Option<String>,
    path: Vec<PathSegment>,
    message: String,
}

impl Context<'_> {
    fn problem(&self, problem: Problem) -> InvalidInput {
        let (line, column) = self.root.position_of(&problem.path);
        InvalidInput {
            object: problem.object,
            message: problem.message,
            location: Location {
                path: self.file.to_string(),
                line,
                column,
                template: self.template.map(str::to_string),
            },
            impact: Impact::Unread,
        }
    }
}

fn type_object(root: &Node, file: &str, template: Option<&str>) -> Result<KubeObject, Problem> {
    let api_version = root.get("apiVersion").and_then(Node::as_str);
    let kind = root.get("kind").and_then(Node::as_str);
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        return Err(Problem {
            object: None,
            path: Vec::new(),
            message: "not a Kubernetes object: `apiVersion` and `kind` must be strings".into(),
        });
    };
    let metadata = root.get("metadata");
    let name = metadata
        .and_then(|m| m.get("name"))
        .and_then(Node::scalar_text)
        .unwrap_or_default();
    let namespace = metadata
        .and_then(|m| m.get("namespace"))
        .and_then(Node::scalar_text)
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
    let mut object = KubeObject {
        kind: kind.to_string(),
        namespace,
        name,
        file: file.to_string(),
        template: template.map(str::to_string),
        node: root.clone(),
        typed: Typed::Other,
        ignore: None,
    };
    let object_id = object.id();
    let typed = type_by_kind(api_version, kind, &object.name, root).map_err(|mut problem| {
        problem.object = Some(object_id.clone());
        problem
    })?;
    if object.name.is_empty() && !matches!(typed, Typed::Other) {
        return Err(Problem {
            object: Some(object_id),
            path: vec![key("metadata")],
            message: "`metadata.name` is missing".into(),
        });
    }
    object.typed = typed;
    object.ignore = ignore_annotation(&object).map_err(|mut problem| {
        problem.object = Some(object_id);
        problem
    })?;
    Ok(object)
}

/// Reads the ignore annotation: a list of `rule[:port]`, with a mandatory reason.
fn ignore_annotation(object: &KubeObject) -> Result<Option<Ignore>, Problem> {
    let annotations = object
        .node
        .get("metadata")
        .and_then(|m| m.get("annotations"));
    let Some(entry) = annotations.and_then(|a| a.entry(IGNORE_ANNOTATION)) else {
        return Ok(None);
    };
    let path = vec![key("metadata"), key("annotations"), key(IGNORE_ANNOTATION)];
    let fail = |message: String| Problem {
        object: None,
        path: path.clone(),
        message,
    };
    let text = entry.value.scalar_text().unwrap_or_default();
    let entries =
        Ignore::parse_entries(&text).map_err(|e| fail(format!("`{IGNORE_ANNOTATION}`: {e}")))?;
    let reason = annotations
        .and_then(|a| a.get(IGNORE_REASON_ANNOTATION))
        .and_then(Node::scalar_text)
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| {
            fail(format!(
                "`{IGNORE_ANNOTATION}` needs a reason in the `{IGNORE_REASON_ANNOTATION}` annotation"
            ))
        })?;
    Ok(Some(Ignore {
        entries,
        reason,
        location: object.location(&path),
    }))
}

/// The API groups whose kinds iredmail-ports knows; a kind outside them (a CRD) is
/// skipped, a misspelt kind inside them is an error.
const KNOWN_GROUPS: &[(&str, &[&str])] = &[
    (
        "v1",
        &[
            "Service",
            "Pod",
            "ReplicationController",
            "Namespace",
            "ConfigMap",
            "Secret",
            "ServiceAccount",
            "PersistentVolumeClaim",
            "PersistentVolume",
            "Endpoints",
            "LimitRange",
            "ResourceQuota",
            "Event",
            "Node",
            "PodTemplate",
            "Binding",
            "ComponentStatus",
        ],
    ),
    (
        "apps/v1",
        &[
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "ControllerRevision",
        ],
    ),
    ("batch/v1", &["Job", "CronJob"]),
    (
        "networking.k8s.io/v1",
        &[
            "NetworkPolicy",
            "Ingress",
            "IngressClass",
            "IPAddress",
            "ServiceCIDR",
        ],
    ),
];

/// The only apiVersion that serves each kind iredmail-ports types; older ones
/// (`extensions/v1beta1`, `apps/v1beta2`) were removed from Kubernetes in 1.16.
const SERVED_BY: &[(&str, &str)] = &[
    ("Service", "v1"),
    ("Namespace", "v1"),
    ("Pod", "v1"),
    ("ReplicationController", "v1"),
    ("Deployment", "apps/v1"),
    ("StatefulSet", "apps/v1"),
    ("DaemonSet", "apps/v1"),
    ("ReplicaSet", "apps/v1"),
    ("Job", "batch/v1"),
    ("CronJob", "batch/v1"),
    ("NetworkPolicy", "networking.k8s.io/v1"),
    ("Ingress", "networking.k8s.io/v1"),
];

/// A built-in kind under an API group that no longer (or never) served it.
fn check_api_version(api_version: &str, kind: &str) -> Result<(), Problem> {
    let Some((_, served)) = SERVED_BY.iter().find(|(k, _)| *k == kind) else {
        return Ok(());
    };
    let is_builtin_group = !api_version.contains('.') || api_version.contains(".k8s.io/");
    if api_version == *served || !is_builtin_group {
        return Ok(());
    }
    Err(Problem {
        object: None,
        path: vec![key("apiVersion")],
        message: format!("{kind} is served by `apiVersion: {served}`, not `{api_version}`"),
    })
}

fn type_by_kind(api_version: &str, kind: &str, name: &str, root: &Node) -> Result<Typed, Problem> {
    check_api_version(api_version, kind)?;
    if let Some(typed) = type_route(api_version, kind, name, root)? {
        return Ok(typed);
    }
    let template_path = |keys: &[&str]| keys.iter().map(|k| key(k)).collect::<Vec<_>>();
    match (api_version, kind) {
        ("v1", "Service") => Ok(Typed::Service(Box::new(deserialize(root)?))),
        ("v1", "Namespace") => Ok(Typed::Namespace(Box::new(deserialize(root)?))),
        ("networking.k8s.io/v1", "NetworkPolicy") => {
            Ok(Typed::NetworkPolicy(Box::new(deserialize(root)?)))
        }
        ("v1", "Pod") => {
            let pod: Pod = deserialize(root)?;
            let labels = pod.metadata.labels.unwrap_or_default();
            let spec = required(pod.spec, "spec")?;
            Ok(workload(labels, spec, template_path(&["spec"])))
        }
        ("apps/v1", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("v1", "ReplicationController")
        | ("batch/v1", "Job") => {
            let template = match kind {
                "Deployment" => Some(deserialize::<Deployment>(root)?.spec.template),
                "StatefulSet" => Some(deserialize::<StatefulSet>(root)?.spec.template),
                "DaemonSet" => Some(deserialize::<DaemonSet>(root)?.spec.template),
                "ReplicaSet" => deserialize::<ReplicaSet>(root)?.spec.template,
                "ReplicationController" => deserialize::<ReplicationController>(root)?
                    .spec
                    .and_then(|s| s.template),
                _ => deserialize::<Job>(root)?.spec.map(|s| s.template),
            };
            let template = required(template, "spec.template")?;
            let labels = template.metadata.and_then(|m| m.labels).unwrap_or_default();
            let spec = required(template.spec, "spec.template.spec")?;
            Ok(workload(
                labels,
                spec,
                template_path(&["spec", "template", "spec"]),
            ))
        }
        ("batch/v1", "CronJob") => {
            let cron: CronJob = deserialize(root)?;
            let template = cron.spec.job_template.spec.map(|s| s.template);
            let template = required(template, "spec.jobTemplate.spec.template")?;
            let labels = template.metadata.and_then(|m| m.labels).unwrap_or_default();
            let spec = required(template.spec, "spec.jobTemplate.spec.template.spec")?;
            let path = ["spec", "jobTemplate", "spec", "template", "spec"];
            Ok(workload(labels, spec, template_path(&path)))
        }
        _ => check_known_kind(api_version, kind),
    }
}

/// Objects that route traffic from outside: Ingress, Gateway API, Traefik CRDs and
/// ingress-nginx's port ConfigMaps. `None` for every other kind.
fn type_route(
    api_version: &str,
    kind: &str,
    name: &str,
    root: &Node,
) -> Result<Option<Typed>, Problem> {
    let group = api_version.split('/').next().unwrap_or_default();
    let typed = match (group, kind) {
        ("networking.k8s.io", "Ingress") if api_version == "networking.k8s.io/v1" => {
            Typed::Ingress(Box::new(deserialize(root)?))
        }
        ("v1", "ConfigMap") => match crd::controller_ports_protocol(name) {
            Some(protocol) => Typed::ControllerPorts(protocol, Box::new(deserialize(root)?)),
            None => return Ok(None),
        },
        ("gateway.networking.k8s.io", "Gateway") => Typed::Gateway(Box::new(deserialize(root)?)),
        ("gateway.networking.k8s.io", "HTTPRoute" | "TLSRoute" | "TCPRoute" | "UDPRoute") => {
            let route_kind = match kind {
                "HTTPRoute" => RouteKind::Http,
                "TLSRoute" => RouteKind::Tls,
                "TCPRoute" => RouteKind::Tcp,
                _ => RouteKind::Udp,
            };
            Typed::GatewayRoute(route_kind, Box::new(deserialize(root)?))
        }
        ("traefik.io" | "traefik.containo.us", "IngressRoute" | "IngressRouteTCP") => {
            Typed::TraefikRoute {
                tcp: kind == "IngressRouteTCP",
                route: Box::new(deserialize(root)?),
            }
        }
        ("traefik.io" | "traefik.containo.us", "Middleware") => {
            Typed::TraefikMiddleware(Box::new(deserialize(root)?))
        }
        ("traefik.io" | "traefik.containo.us", "ServersTransport") => {
            Typed::TraefikServersTransport(Box::new(deserialize(root)?))
        }
        _ => return Ok(None),
    };
    Ok(Some(typed))
}

fn workload(labels: BTreeMap<String, String>, spec: PodSpec, path: Vec<PathSegment>) -> Typed {
    Typed::Workload(Box::new(PodTemplate {
        labels,
        spec,
        spec_path: path,
    }))
}

/// A kind that iredmail-ports does not inspect: fine if it is a real kind, an error if it
/// is a typo in a group whose kinds are known.
fn check_known_kind(api_version: &str, kind: &str) -> Result<Typed, Problem> {
    let Some((_, kinds)) = KNOWN_GROUPS.iter().find(|(g, _)| *g == api_version) else {
        return Ok(Typed::Other);
    };
    if kinds.contains(&kind) {
        return Ok(Typed::Other);
    }
    let elsewhere = KNOWN_GROUPS
        .iter()
        .find(|(_, kinds)| kinds.contains(&kind))
        .map(|(group, _)| format!("; {kind} is served by `{group}`"))
        .unwrap_or_default();
    Err(Problem {
        object: None,
        path: vec![key("kind")],
        message: format!("unknown kind `{kind}` for apiVersion `{api_version}`{elsewhere}"),
    })
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, Problem> {
    value.ok_or_else(|| Problem {
        object: None,
        path: field.split('.').map(key).collect(),
        message: format!("`{field}` is missing"),
    })
}

fn key(name: &str) -> PathSegment {
    PathSegment::Key(name.to_string())
}

/// Deserializes through the JSON form, keeping the field path of the first error.
fn deserialize<T: DeserializeOwned>(root: &Node) -> Result<T, Problem> {
    serde_path_to_error::deserialize(root.to_json()).map_err(|error| {
        let path = path_from_serde(error.path());
        let field = path_to_string(&path);
        let inner = error.into_inner().to_string();
        let message = if field.is_empty() || field == "." {
            inner
        } else {
            format!("`{field}`: {inner}")
        };
        Problem {
            object: None,
            path,
            message,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::yaml::parse_stream;

    fn load(text: &str) -> (Vec<KubeObject>, Vec<InvalidInput>) {
        let mut objects = Vec::new();
        let mut problems = Vec::new();
        for document in parse_stream(text).documents {
            let document = document.expect("valid YAML");
            objects_from_document(&document.root, "t.yaml", None, &mut objects, &mut problems);
        }
        (objects, problems)
    }

    #[test]
    fn a_wrong_field_type_names_the_path_and_line() {
        let (_, problems) = load(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n    - port: \"25\"\n",
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].location.line, 6);
        assert!(
            problems[0]
                .message
                .starts_with("`spec.ports[0].port`: invalid type"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn lists_are_unpacked() {
        let (objects, problems) = load(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a, namespace: mail}\n",
        );
        assert!(problems.is_empty());
        assert_eq!(objects[0].id(), "Service/mail/a");
    }

    #[test]
    fn misspelt_kinds_are_errors_and_crds_are_not() {
        let (objects, problems) = load(
            "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: a}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: b}\n",
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].message,
            "unknown kind `Deploymnet` for apiVersion `apps/v1`"
        );
        assert_eq!(problems[0].location.line, 2);
        assert_eq!(objects.len(), 1);
    }
}
