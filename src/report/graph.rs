//! The reachability graph that `--format dot` and `--format mermaid` draw: who reaches
//! which port of which pod. Built once from the inventory and the findings, so both
//! formats draw the same picture and only differ in syntax.
//!
//! Nodes are the places traffic comes from (the external world, the cluster or the host's
//! private network, a deployment's own network, its loopback), the objects that let it in
//! (Services, Ingresses, …: whatever exposures the inventory holds) and the workloads that
//! receive it, grouped by namespace or Compose project. Every exposure is one edge from
//! where it is reachable to the object that creates it, labelled with its port, protocol
//! and scope; an object that is not itself the workload adds an edge to each backend.
//! An exposure that an unsuppressed finding is about is flagged, with the finding's rules.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    Exposure, Finding, Inventory, Location, Protocol, Rule, Scope, Unit, Via, port_text,
};

/// Index of a node in [`Graph::nodes`]; it is also the node's identifier in the output.
pub type NodeId = usize;

/// The whole picture, in a stable order: nodes by place (outside first, then each unit's
/// own), edges by their ends and port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    /// The namespaces and Compose projects, each drawn as a box around its nodes.
    pub groups: Vec<Group>,
    pub edges: Vec<Edge>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub label: String,
    pub kind: NodeKind,
}

/// What a node stands for, which decides its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// Where traffic comes from: the external world, the cluster, a unit's own network.
    Origin,
    /// An object that lets traffic in but runs nothing: a Service, an Ingress, a route.
    Exposer,
    /// A pod template or Compose service: what listens.
    Workload,
}

/// A namespace or Compose project and the nodes drawn inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub label: String,
    pub nodes: Vec<NodeId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: NodeId,
    pub to: NodeId,
    /// The port an exposure edge carries; `None` for the edge from an object to the
    /// workload it sends the traffic to.
    pub port: Option<EdgePort>,
    /// The rules of the unsuppressed findings about this exposure, sorted; empty when it
    /// is fine.
    pub flagged_by: Vec<Rule>,
}

/// The port of an exposure as the edge shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EdgePort {
    pub target: u16,
    /// The last target of a range, `target` itself for one port.
    pub target_last: u16,
    pub protocol: Protocol,
    pub published: Published,
    /// The HTTP path an Ingress or HTTPRoute routes to the port: one route may send
    /// several paths to the same port, and only some of them may be findings.
    pub path: Option<String>,
    pub scope: Scope,
}

/// The port clients connect to, compared with the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Published {
    /// The target itself (`25:25`, a Service port 25 to targetPort 25).
    Same,
    /// Another number (`2525:25`).
    Other(u16),
    /// The platform picks it: an auto-assigned NodePort, an ephemeral host port.
    Auto,
}

impl Graph {
    /// The nodes outside every group (where traffic comes from), in order.
    pub fn ungrouped(&self) -> Vec<NodeId> {
        let mut grouped = vec![false; self.nodes.len()];
        for id in self.groups.iter().flat_map(|g| &g.nodes) {
            if let Some(slot) = grouped.get_mut(*id) {
                *slot = true;
            }
        }
        (0..self.nodes.len()).filter(|id| !grouped[*id]).collect()
    }
}

impl Edge {
    pub fn flagged(&self) -> bool {
        !self.flagged_by.is_empty()
    }

    /// The edge's label, one entry per line: `2525→25/TCP external` (`443→20000/TCP /SOGo
    /// external` for an HTTP route), then the rules that flag it. Empty for an object → workload edge. Renderers escape it.
    pub fn label_lines(&self) -> Vec<String> {
        let Some(port) = &self.port else {
            return Vec::new();
        };
        let width = port.target_last.saturating_sub(port.target);
        let published = match port.published {
            Published::Same => String::new(),
            Published::Other(published) => {
                format!("{}→", port_text(published, published.saturating_add(width)))
            }
            Published::Auto => "auto→".into(),
        };
        let path = port
            .path
            .as_deref()
            .map_or_else(String::new, |path| format!(" {path}"));
        let mut lines = vec![format!(
            "{published}{}/{}{path} {}",
            port_text(port.target, port.target_last),
            port.protocol,
            port.scope
        )];
        if self.flagged() {
            let rules: Vec<&str> = self.flagged_by.iter().map(|r| r.id()).collect();
            lines.push(rules.join(", "));
        }
        lines
    }
}

/// Where an exposure is reachable from. The outside places are shared by every unit;
/// a unit's own network and loopback belong to it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Place<'a> {
    External,
    Cluster,
    PrivateNetwork,
    Internal(&'a Unit),
    Loopback(&'a Unit),
    Object(&'a str),
}

impl<'a> Place<'a> {
    fn label(&self) -> String {
        let kubernetes = |unit: &Unit| matches!(unit, Unit::Namespace(_));
        match self {
            Place::External => "external world".into(),
            Place::Cluster => "every pod in the cluster".into(),
            Place::PrivateNetwork => "the host's private network".into(),
            Place::Internal(unit) if kubernetes(unit) => "the mail stack's own pods".into(),
            Place::Internal(_) => "the project's networks".into(),
            Place::Loopback(unit) if kubernetes(unit) => "its own pod or node only".into(),
            Place::Loopback(_) => "the host's loopback".into(),
            Place::Object(object) => (*object).into(),
        }
    }

    fn unit(&self) -> Option<&'a Unit> {
        match self {
            Place::Internal(unit) | Place::Loopback(unit) => Some(*unit),
            _ => None,
        }
    }
}

/// Where an exposure of `unit` at `scope` is reachable from.
fn origin(scope: Scope, unit: &Unit) -> Place<'_> {
    match (scope, unit) {
        (Scope::External, _) => Place::External,
        (Scope::Cluster, Unit::Namespace(_)) => Place::Cluster,
        (Scope::Cluster, Unit::ComposeProject(_)) => Place::PrivateNetwork,
        (Scope::Internal, _) => Place::Internal(unit),
        (Scope::Loopback, _) => Place::Loopback(unit),
    }
}

/// How a group names its unit.
fn group_label(unit: &Unit) -> String {
    match unit {
        Unit::Namespace(namespace) => format!("namespace {namespace}"),
        Unit::ComposeProject(project) => format!("Compose project {project}"),
    }
}

/// An object's port: `(object, port, protocol)`.
type PortKey<'a> = (&'a str, u16, Protocol);

/// The rules that flag each exposure, found through the objects, ports and lines the
/// findings name.
struct Flags<'a> {
    /// Findings about one port of an object, with the line they point at.
    by_port: BTreeMap<PortKey<'a>, Vec<(Option<&'a Location>, Rule)>>,
    /// Findings about a whole object (`host-network`): they flag every exposure it makes.
    by_object: BTreeMap<&'a str, Vec<Rule>>,
}

impl<'a> Flags<'a> {
    fn new(findings: &'a [Finding]) -> Flags<'a> {
        let mut flags = Flags {
            by_port: BTreeMap::new(),
            by_object: BTreeMap::new(),
        };
        for finding in findings.iter().filter(|f| f.suppressed.is_none()) {
            let Some(object) = finding.object.as_deref() else {
                continue;
            };
            match (finding.port, finding.protocol) {
                (Some(port), Some(protocol)) => flags
                    .by_port
                    .entry((object, port, protocol))
                    .or_default()
                    .push((finding.location.as_ref(), finding.rule)),
                (None, _) => flags
                    .by_object
                    .entry(object)
                    .or_default()
                    .push(finding.rule),
                (Some(_), None) => {}
            }
        }
        flags
    }

    /// The rules of the findings about this exposure: same object and protocol, the
    /// container port or the published one (the EAS rules name 443, the port clients
    /// use), and the same line when the finding names one (an object may expose one port
    /// twice).
    fn of(&self, exposure: &Exposure) -> Vec<Rule> {
        let ports = std::iter::once(exposure.target)
            .chain(exposure.published.filter(|p| *p != exposure.target));
        let mut rules: BTreeSet<Rule> = ports
            .filter_map(|port| {
                self.by_port
                    .get(&(exposure.object.as_str(), port, exposure.protocol))
            })
            .flatten()
            .filter(|(location, _)| location.is_none() || *location == exposure.location.as_ref())
            .map(|(_, rule)| *rule)
            .collect();
        if let Some(whole) = self.by_object.get(exposure.object.as_str()) {
            rules.extend(whole.iter().copied());
        }
        rules.into_iter().collect()
    }
}

/// A place or object with the unit it is drawn in (`None`: outside every unit).
type PlaceKey<'a> = (Option<&'a Unit>, Place<'a>);

/// Builds the graph of everything the inventory holds, flagged by the findings.
pub fn build(inventory: &Inventory, findings: &[Finding]) -> Graph {
    let mut graph = Graph::default();
    let ids = add_nodes(&mut graph, places(inventory));
    graph.edges = edges(inventory, &ids, &Flags::new(findings));
    graph
}

/// Every workload, every object that exposes a port and every place an exposure is
/// reachable from, in drawing order: outside places first, then unit by unit.
fn places(inventory: &Inventory) -> BTreeMap<PlaceKey<'_>, NodeKind> {
    let mut places = BTreeMap::new();
    for workload in &inventory.workloads {
        places.insert(
            (Some(&workload.unit), Place::Object(&workload.object)),
            NodeKind::Workload,
        );
    }
    for exposure in &inventory.exposures {
        let from = origin(exposure.scope, &exposure.unit);
        places.insert((from.unit(), from), NodeKind::Origin);
        places
            .entry((Some(&exposure.unit), Place::Object(&exposure.object)))
            .or_insert(NodeKind::Exposer);
    }
    places
}

/// Adds a node per place, numbered in order, and a group per unit; returns the ids.
fn add_nodes<'a>(
    graph: &mut Graph,
    places: BTreeMap<PlaceKey<'a>, NodeKind>,
) -> BTreeMap<PlaceKey<'a>, NodeId> {
    let mut ids = BTreeMap::new();
    let mut groups: BTreeMap<&Unit, Group> = BTreeMap::new();
    for ((unit, place), kind) in places {
        let id = graph.nodes.len();
        graph.nodes.push(Node {
            label: place.label(),
            kind,
        });
        if let Some(unit) = unit {
            groups
                .entry(unit)
                .or_insert_with(|| Group {
                    label: group_label(unit),
                    nodes: Vec::new(),
                })
                .nodes
                .push(id);
        }
        ids.insert((unit, place), id);
    }
    graph.groups = groups.into_values().collect();
    ids
}

/// An edge per exposure from where it is reachable to the object that makes it, and one
/// from each object that is not a workload to the workloads it sends traffic to; sorted,
/// without duplicates.
fn edges(inventory: &Inventory, ids: &BTreeMap<PlaceKey<'_>, NodeId>, flags: &Flags) -> Vec<Edge> {
    let workload_objects: BTreeSet<&str> = inventory
        .workloads
        .iter()
        .map(|w| w.object.as_str())
        .collect();
    let node = |unit: Option<&Unit>, place: Place<'_>| ids.get(&(unit, place)).copied();
    let mut edges = BTreeSet::new();
    for exposure in &inventory.exposures {
        let from = origin(exposure.scope, &exposure.unit);
        let (Some(from_id), Some(object_id)) = (
            node(from.unit(), from),
            node(Some(&exposure.unit), Place::Object(&exposure.object)),
        ) else {
            continue;
        };
        edges.insert((
            from_id,
            object_id,
            Some(edge_port(exposure)),
            flags.of(exposure),
        ));
        if workload_objects.contains(exposure.object.as_str()) {
            continue;
        }
        let backends = exposure
            .backends
            .iter()
            .filter_map(|id| inventory.workloads.get(*id));
        for backend in backends {
            if let Some(pod_id) = node(Some(&backend.unit), Place::Object(&backend.object)) {
                edges.insert((object_id, pod_id, None, Vec::new()));
            }
        }
    }
    edges
        .into_iter()
        .map(|(from, to, port, flagged_by)| Edge {
            from,
            to,
            port,
            flagged_by,
        })
        .collect()
}

fn edge_port(exposure: &Exposure) -> EdgePort {
    EdgePort {
        target: exposure.target,
        target_last: exposure.target_last,
        protocol: exposure.protocol,
        published: match exposure.published {
            None => Published::Auto,
            Some(published) if published == exposure.target => Published::Same,
            Some(published) => Published::Other(published),
        },
        path: match &exposure.via {
            Via::HttpRoute { path, .. } => Some(path.clone()),
            _ => None,
        },
        scope: exposure.scope,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use crate::load::{Input, load};
    use crate::model::{SuppressedBy, Suppression};

    /// The inventory and findings of one YAML text, as `check` builds them.
    fn checked(text: &str) -> (Inventory, Vec<Finding>) {
        let input = Input::Text {
            name: "t.yaml".into(),
            text: text.into(),
        };
        let inventory = crate::inventory::build(load(&[input]));
        let catalogue = Catalogue::embedded_default().expect("the embedded catalogue");
        let findings = crate::rules::run(&inventory, &catalogue);
        (inventory, findings)
    }

    /// Each edge as `(from label, to label, label lines)`.
    fn edges_of(graph: &Graph) -> Vec<(&str, &str, Vec<String>)> {
        graph
            .edges
            .iter()
            .map(|e| {
                (
                    graph.nodes[e.from].label.as_str(),
                    graph.nodes[e.to].label.as_str(),
                    e.label_lines(),
                )
            })
            .collect()
    }

    const DATABASE: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: mail}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: mariadb
        ports: [{containerPort: 3306}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: mail}
spec:
  type: LoadBalancer
  selector: {app: db}
  ports: [{port: 3306}]
";

    #[test]
    fn a_service_edge_goes_from_its_scope_to_the_service_and_on_to_the_pod() {
        let (inventory, findings) = checked(DATABASE);
        let graph = build(&inventory, &findings);
        assert_eq!(
            edges_of(&graph),
            [
                (
                    "external world",
                    "Service/mail/db",
                    vec!["3306/TCP external".into(), "internal-port-exposed".into()]
                ),
                ("Service/mail/db", "Deployment/mail/db", Vec::new()),
            ]
        );
        let kinds: Vec<NodeKind> = graph.nodes.iter().map(|n| n.kind).collect();
        assert_eq!(
            kinds,
            [NodeKind::Origin, NodeKind::Workload, NodeKind::Exposer]
        );
        assert_eq!(
            graph.groups,
            [Group {
                label: "namespace mail".into(),
                nodes: vec![1, 2]
            }]
        );
        assert_eq!(graph.ungrouped(), [0]);
    }

    /// A port published on an ephemeral host port: `unknown-port` (8080 is no iRedMail
    /// port) flags it.
    const EPHEMERAL: &str = "services:\n  web:\n    image: nginx\n    ports: [\"8080\"]\n";

    fn flagged_by(findings: &[Finding]) -> Vec<Vec<String>> {
        let (inventory, _) = checked(EPHEMERAL);
        let graph = build(&inventory, findings);
        edges_of(&graph).into_iter().map(|(_, _, l)| l).collect()
    }

    #[test]
    fn a_finding_flags_the_exposure_it_points_at() {
        let (_, findings) = checked(EPHEMERAL);
        assert_eq!(
            flagged_by(&findings),
            [vec![
                "auto→8080/TCP external".to_string(),
                "unknown-port".into()
            ]]
        );
    }

    #[test]
    fn a_finding_on_another_line_or_suppressed_does_not_flag_the_exposure() {
        let (_, findings) = checked(EPHEMERAL);
        let mut elsewhere = findings.clone();
        if let Some(location) = elsewhere[0].location.as_mut() {
            location.line += 1;
        }
        let mut suppressed = findings.clone();
        suppressed[0].suppressed = Some(Suppression {
            by: SuppressedBy::Config,
            reason: "a known debug port".into(),
        });
        let unflagged = [vec!["auto→8080/TCP external".to_string()]];
        assert_eq!(flagged_by(&elsewhere), unflagged);
        assert_eq!(flagged_by(&suppressed), unflagged);
    }
}
