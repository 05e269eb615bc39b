//! The vocabulary every step speaks: where things are, how far ports reach, what runs and
//! listens, the ways in, routes and NetworkPolicies as data, the inventory that holds them,
//! and the rules' ids and findings.
//!
//! This is the ground floor: it imports nothing else from the crate (a test checks), so
//! every step reads from the steps below it and nothing reads upwards. Loaders turn
//! objects into [`Workload`]s and [`Exposure`]s; the reach step narrows or widens their
//! [`Scope`]; rules only ever look at this model.

mod exposure;
mod finding;
mod fingerprint;
mod inventory;
mod location;
mod policy;
mod route;
mod rule;
mod scope;
mod workload;

pub use exposure::{Exposure, INTERNAL_LOAD_BALANCER_ANNOTATIONS, Isolation, Via, port_text};
pub use finding::{Finding, Ignore, InlineSuppression, SuppressedBy, Suppression};
pub use fingerprint::fingerprints;
pub use inventory::{Inventory, Isolating, PodIndex, PodReaches, UnitParts};
pub use location::{
    Impact, InvalidInput, Location, PathSegment, ci_path, position_after, source_lines,
};
pub use policy::{
    Admits, Operator, Peer, PodReach, Policy, PolicyId, PolicyPort, PolicyRule, PortMatch,
    Requirement, Selector,
};
pub use route::{HttpRoute, Https, PathKind, PathMatch, PlainHttp, RouteBackend, Timeout};
pub use rule::{Needs, Rule, RuleInfo, Severity};
pub use scope::{Protocol, Scope};
pub use workload::{Backends, BackendsKey, Listener, Unit, Workload, WorkloadId};
