//! Kubernetes documents → typed objects.
//!
//! Each object is typed through k8s-openapi, so a wrong field type is reported with its
//! field path (`spec.ports[0].port`) and the line the YAML tree remembers for that path.
//! Objects from files are typed strictly, as kubectl's strict field validation does: a
//! field the kind does not have (`spec.portz`, a lowercase `hostport:`) is reported at its
//! line, since a typo can hide an exposure; the rest of the object is still checked.
//! The YAML tree is kept beside the typed object: later steps ask it for the line of any
//! field they report on.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, Pod, PodSpec, ReplicationController, Service,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;

use super::yaml::{Node, Positions, path_from_serde, path_to_string};
use super::{crd, kinds};
use crate::model::PathSegment;
use crate::model::{Ignore, InvalidInput, Location, Protocol};

/// A Kubernetes object, typed, with what it needs to locate its fields.
#[derive(Debug, Clone)]
pub struct KubeObject {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The file it is in; for a live object, `Kind/namespace/name`.
    pub file: String,
    pub template: Option<String>,
    /// Whether `metadata.namespace` is set (else the namespace is the default one, or the
    /// one an Ansible task applies it to).
    pub names_its_namespace: bool,
    pub locator: Locator,
    pub typed: Typed,
    /// The object's `iredmail-ports.io/ignore` annotation, if any.
    pub ignore: Option<Ignore>,
}

/// How an object's fields are located.
#[derive(Debug, Clone)]
pub enum Locator {
    /// In a file: the position of every field (the YAML tree itself is dropped).
    File(Positions),
    /// From the API server: no text; a location is the field path, turned into a line of
    /// the object's YAML only for what a report shows.
    Live,
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
    /// A Gateway API route (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute).
    GatewayRoute(RouteKind, Box<crd::Route>),
    /// A Traefik IngressRoute (`tcp: false`) or IngressRouteTCP (`tcp: true`).
    TraefikRoute {
        tcp: bool,
        route: Box<crd::IngressRoute>,
    },
    TraefikMiddleware(Box<crd::Middleware>),
    TraefikServersTransport(Box<crd::ServersTransport>),
    /// ingress-nginx's `tcp-services` or `udp-services` ConfigMap.
    ControllerPorts(Protocol, Box<crd::ControllerPorts>),
    Other,
}

/// The kinds of Gateway API route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    Http,
    /// GRPCRoute: gRPC calls are HTTP/2 requests on the HTTP and HTTPS listeners.
    Grpc,
    Tls,
    Tcp,
    Udp,
}

impl RouteKind {
    /// The listener protocols a route of this kind attaches to.
    pub fn listener_protocols(self) -> &'static [&'static str] {
        match self {
            RouteKind::Http | RouteKind::Grpc => &["HTTP", "HTTPS"],
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
        match &self.locator {
            Locator::File(positions) => {
                let (line, column) = positions.position_of(path);
                Location::new(self.file.clone(), line, column).in_template(self.template.clone())
            }
            Locator::Live => Location::in_live_object(self.file.clone(), path.to_vec()),
        }
    }

    /// An `invalid-input` for a field the object's kind does not have.
    fn unknown_field(&self, path: Vec<PathSegment>) -> InvalidInput {
        InvalidInput::unknown_field(
            self.location(&path),
            format!(
                "`{}`: unknown field, which kubectl's strict field validation rejects; it is \
                 not checked",
                path_to_string(&path)
            ),
        )
        .of_object(self.id())
    }

    /// An `invalid-input` for a value of this object that cannot be used: the field path,
    /// what is wrong with it, at its line.
    pub fn problem_at(&self, path: &[PathSegment], message: impl fmt::Display) -> InvalidInput {
        InvalidInput::unread(
            self.location(path),
            format!("`{}`: {message}", path_to_string(path)),
        )
        .of_object(self.id())
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
        live: false,
    };
    let mut unknown = Vec::new();
    match type_object(&context, &mut unknown) {
        Ok(object) => {
            problems.extend(unknown.into_iter().map(|path| object.unknown_field(path)));
            objects.push(object);
        }
        Err(problem) => problems.push(context.problem(problem)),
    }
}

/// Types an object the API server sent (a list item, an admission review's object), with
/// its bookkeeping fields already stripped. Its findings name it `Kind/namespace/name`.
/// Not typed strictly: the API server has already dropped or refused unknown fields (see
/// `Reader`).
pub fn object_from_live(value: &serde_json::Value) -> Result<KubeObject, InvalidInput> {
    let root = Node::from_json(value);
    let id = live_id(value);
    let context = Context {
        file: &id,
        template: None,
        root: &root,
        live: true,
    };
    type_object(&context, &mut Vec::new()).map_err(|problem| context.problem(problem))
}

/// `Kind/namespace/name` (`Kind/name` when cluster-scoped): how reports name a live object,
/// in place of a file.
pub fn live_id(value: &serde_json::Value) -> String {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let kind = text(&value["kind"]);
    let name = text(&value["metadata"]["name"]);
    match value["metadata"]["namespace"].as_str() {
        Some(namespace) if kind != "Namespace" => format!("{kind}/{namespace}/{name}"),
        _ => format!("{kind}/{name}"),
    }
}

/// Where in a document a problem is, before it gets a file name.
struct Context<'a> {
    file: &'a str,
    template: Option<&'a str>,
    root: &'a Node,
    /// From the API server: located by field path, not by line.
    live: bool,
}

/// A problem found while typing one object.
struct Problem {
    object: Option<String>,
    path: Vec<PathSegment>,
    message: String,
}

impl Context<'_> {
    fn problem(&self, problem: Problem) -> InvalidInput {
        let location = if self.live {
            Location::in_live_object(self.file, problem.path)
        } else {
            let (line, column) = self.root.position_of(&problem.path);
            Location::new(self.file, line, column).in_template(self.template.map(str::to_string))
        };
        let invalid = InvalidInput::unread(location, problem.message);
        match problem.object {
            Some(object) => invalid.of_object(object),
            None => invalid,
        }
    }
}

/// Types one object; the paths of the fields its kind does not have go to `unknown`.
fn type_object(
    context: &Context,
    unknown: &mut Vec<Vec<PathSegment>>,
) -> Result<KubeObject, Problem> {
    let Context {
        file,
        template,
        root,
        live,
    } = *context;
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
    let own_namespace = metadata
        .and_then(|m| m.get("namespace"))
        .and_then(Node::scalar_text);
    let names_its_namespace = own_namespace.is_some();
    let namespace = own_namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
    let mut object = KubeObject {
        kind: kind.to_string(),
        namespace,
        name,
        file: file.to_string(),
        template: template.map(str::to_string),
        names_its_namespace,
        locator: if live {
            Locator::Live
        } else {
            Locator::File(Positions::of(root))
        },
        typed: Typed::Other,
        ignore: None,
    };
    let object_id = object.id();
    let mut reader = Reader {
        root,
        strict: !live,
        unknown: Vec::new(),
    };
    let typed =
        type_by_kind(api_version, kind, &object.name, &mut reader).map_err(|mut problem| {
            problem.object = Some(object_id.clone());
            problem
        })?;
    *unknown = reader.unknown;
    if object.name.is_empty() && !matches!(typed, Typed::Other) {
        return Err(Problem {
            object: Some(object_id),
            path: vec![PathSegment::key("metadata")],
            message: "`metadata.name` is missing".into(),
        });
    }
    object.typed = typed;
    object.ignore = ignore_annotation(&object, root).map_err(|mut problem| {
        problem.object = Some(object_id);
        problem
    })?;
    Ok(object)
}

/// Reads the ignore annotation: a list of `rule[:port]`, with a mandatory reason.
fn ignore_annotation(object: &KubeObject, root: &Node) -> Result<Option<Ignore>, Problem> {
    let annotations = root.get("metadata").and_then(|m| m.get("annotations"));
    let Some(entry) = annotations.and_then(|a| a.entry(IGNORE_ANNOTATION)) else {
        return Ok(None);
    };
    let path = vec![
        PathSegment::key("metadata"),
        PathSegment::key("annotations"),
        PathSegment::key(IGNORE_ANNOTATION),
    ];
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
        path: vec![PathSegment::key("apiVersion")],
        message: format!("{kind} is served by `apiVersion: {served}`, not `{api_version}`"),
    })
}

fn type_by_kind(
    api_version: &str,
    kind: &str,
    name: &str,
    reader: &mut Reader,
) -> Result<Typed, Problem> {
    check_api_version(api_version, kind)?;
    let Some(judged) = kinds::judged(kinds::group_of(api_version), kind) else {
        return check_known_kind(api_version, kind);
    };
    let template_path =
        |keys: &[&str]| keys.iter().map(|k| PathSegment::key(k)).collect::<Vec<_>>();
    let typed = match (judged.group, kind) {
        (_, "Service") => Typed::Service(Box::new(reader.read()?)),
        (_, "Namespace") => Typed::Namespace(Box::new(reader.read()?)),
        (_, "NetworkPolicy") => Typed::NetworkPolicy(Box::new(reader.read()?)),
        (_, "Ingress") => Typed::Ingress(Box::new(reader.read()?)),
        (_, "ConfigMap") => match crd::controller_ports_protocol(name) {
            Some(protocol) => {
                let map: ConfigMap = reader.read()?;
                let data = map.data.unwrap_or_default();
                Typed::ControllerPorts(protocol, Box::new(crd::ControllerPorts { data }))
            }
            None => Typed::Other,
        },
        (_, "Pod") => {
            let pod: Pod = reader.read()?;
            let labels = pod.metadata.labels.unwrap_or_default();
            let spec = required(pod.spec, "spec")?;
            workload(labels, spec, template_path(&["spec"]))
        }
        (
            _,
            "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "ReplicaSet"
            | "ReplicationController"
            | "Job",
        ) => {
            let template = match kind {
                "Deployment" => Some(reader.read::<Deployment>()?.spec.template),
                "StatefulSet" => Some(reader.read::<StatefulSet>()?.spec.template),
                "DaemonSet" => Some(reader.read::<DaemonSet>()?.spec.template),
                "ReplicaSet" => reader.read::<ReplicaSet>()?.spec.template,
                "ReplicationController" => reader
                    .read::<ReplicationController>()?
                    .spec
                    .and_then(|s| s.template),
                _ => reader.read::<Job>()?.spec.map(|s| s.template),
            };
            let template = required(template, "spec.template")?;
            let labels = template.metadata.and_then(|m| m.labels).unwrap_or_default();
            let spec = required(template.spec, "spec.template.spec")?;
            workload(labels, spec, template_path(&["spec", "template", "spec"]))
        }
        (_, "CronJob") => {
            let cron: CronJob = reader.read()?;
            let template = cron.spec.job_template.spec.map(|s| s.template);
            let template = required(template, "spec.jobTemplate.spec.template")?;
            let labels = template.metadata.and_then(|m| m.labels).unwrap_or_default();
            let spec = required(template.spec, "spec.jobTemplate.spec.template.spec")?;
            let path = ["spec", "jobTemplate", "spec", "template", "spec"];
            workload(labels, spec, template_path(&path))
        }
        (kinds::GATEWAY, "Gateway") => Typed::Gateway(Box::new(reader.read()?)),
        (kinds::GATEWAY, "HTTPRoute" | "GRPCRoute" | "TLSRoute" | "TCPRoute" | "UDPRoute") => {
            let route_kind = match kind {
                "HTTPRoute" => RouteKind::Http,
                "GRPCRoute" => RouteKind::Grpc,
                "TLSRoute" => RouteKind::Tls,
                "TCPRoute" => RouteKind::Tcp,
                _ => RouteKind::Udp,
            };
            Typed::GatewayRoute(route_kind, Box::new(reader.read()?))
        }
        (_, "IngressRoute" | "IngressRouteTCP") => Typed::TraefikRoute {
            tcp: kind == "IngressRouteTCP",
            route: Box::new(reader.read()?),
        },
        (_, "Middleware") => Typed::TraefikMiddleware(Box::new(reader.read()?)),
        (_, "ServersTransport") => Typed::TraefikServersTransport(Box::new(reader.read()?)),
        // A row of the table this match does not type: the test below catches it.
        _ => Typed::Other,
    };
    Ok(typed)
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
        path: vec![PathSegment::key("kind")],
        message: format!("unknown kind `{kind}` for apiVersion `{api_version}`{elsewhere}"),
    })
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, Problem> {
    value.ok_or_else(|| Problem {
        object: None,
        path: field.split(".").map(PathSegment::key).collect(),
        message: format!("`{field}` is missing"),
    })
}

/// Types a document through its JSON form, keeping the field path of the first error.
///
/// From a file it is strict: every field the type does not have is recorded. From the
/// API server it is not: the server has already decoded the object into its own types,
/// which drops the unknown fields of a built-in kind (or refuses them, under strict
/// field validation) and prunes those a CRD's structural schema lacks. What a live
/// object still holds that a type here lacks is a field of a newer Kubernetes or of a
/// CRD version this crate does not model, never a typo that could hide an exposure.
struct Reader<'a> {
    root: &'a Node,
    strict: bool,
    unknown: Vec<Vec<PathSegment>>,
}

impl Reader<'_> {
    fn read<T: DeserializeOwned>(&mut self) -> Result<T, Problem> {
        let json = self.root.to_json();
        if !self.strict {
            return serde_path_to_error::deserialize(json).map_err(problem_from_serde);
        }
        let mut unknown = Vec::new();
        let mut record = |path: serde_ignored::Path| unknown.push(path_from_ignored(&path));
        let typed =
            serde_path_to_error::deserialize(serde_ignored::Deserializer::new(json, &mut record))
                .map_err(problem_from_serde)?;
        self.unknown.extend(unknown);
        Ok(typed)
    }
}

fn problem_from_serde(error: serde_path_to_error::Error<serde_json::Error>) -> Problem {
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
}

/// The field path of a field serde skipped.
fn path_from_ignored(path: &serde_ignored::Path) -> Vec<PathSegment> {
    use serde_ignored::Path;
    let mut segments = Vec::new();
    let mut at = path;
    loop {
        at = match at {
            Path::Root => break,
            Path::Seq { parent, index } => {
                segments.push(PathSegment::Index(*index));
                parent
            }
            Path::Map { parent, key } => {
                segments.push(PathSegment::Key(key.clone()));
                parent
            }
            Path::Some { parent }
            | Path::NewtypeStruct { parent }
            | Path::NewtypeVariant { parent } => parent,
        };
    }
    segments.reverse();
    segments
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

    /// A minimal object of each judged kind, as its API group versions it.
    fn sample(judged: &kinds::JudgedKind) -> String {
        let version = match judged.group {
            kinds::CORE => "v1".to_string(),
            kinds::GATEWAY if ["Gateway", "HTTPRoute", "GRPCRoute"].contains(&judged.kind) => {
                format!("{}/v1", judged.group)
            }
            kinds::GATEWAY => format!("{}/v1alpha2", judged.group),
            kinds::TRAEFIK | kinds::TRAEFIK_LEGACY => format!("{}/v1alpha1", judged.group),
            group => format!("{group}/v1"),
        };
        let pod_spec = "{containers: [{name: c, image: i}]}";
        let template = format!("{{metadata: {{labels: {{app: a}}}}, spec: {pod_spec}}}");
        let spec = match judged.kind {
            "Namespace" | "Service" | "NetworkPolicy" | "Ingress" => "{}".to_string(),
            "ConfigMap" => {
                return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tcp-services, namespace: n}\n\
                        data: {}\n"
                    .to_string();
            }
            "Pod" => pod_spec.to_string(),
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => {
                format!("{{selector: {{matchLabels: {{app: a}}}}, template: {template}}}")
            }
            "ReplicationController" | "Job" => format!("{{template: {template}}}"),
            "CronJob" => format!(
                "{{schedule: '* * * * *', jobTemplate: {{spec: {{template: {template}}}}}}}"
            ),
            "Gateway" => "{gatewayClassName: g, listeners: []}".to_string(),
            "Middleware" | "ServersTransport" => "{}".to_string(),
            "IngressRoute" | "IngressRouteTCP" => "{routes: []}".to_string(),
            _ => "{rules: []}".to_string(),
        };
        format!(
            "apiVersion: {version}\nkind: {}\nmetadata: {{name: x, namespace: n}}\nspec: {spec}\n",
            judged.kind
        )
    }

    #[test]
    fn every_kind_of_the_table_is_typed_and_nothing_else_is() {
        for judged in kinds::JUDGED_KINDS {
            let (objects, problems) = load(&sample(judged));
            assert!(problems.is_empty(), "{}: {problems:?}", judged.kind);
            assert!(
                !matches!(objects[0].typed, Typed::Other),
                "{}/{} is in the table but the loader does not type it",
                judged.group,
                judged.kind
            );
        }
        let (objects, problems) = load(
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: x}\naddressType: IPv4\nendpoints: []\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert!(matches!(objects[0].typed, Typed::Other));
    }
}
