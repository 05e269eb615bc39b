//! The inventory: everything the loaders found, ready for the rules, with the indexes
//! that keep every rule linear in the number of objects.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{
    Backends, BackendsKey, Exposure, HttpRoute, InlineSuppression, InvalidInput, Listener,
    PodReach, Policy, PolicyId, Protocol, Selector, Unit, Workload, WorkloadId,
};

/// Everything the loaders found, ready for the rules.
#[derive(Debug, Default)]
pub struct Inventory {
    pub workloads: Vec<Workload>,
    pub exposures: Vec<Exposure>,
    /// Ingress NetworkPolicies, for the reachability step and the policy rules.
    pub policies: Vec<Policy>,
    /// HTTP routes (Ingress paths, HTTPRoute rules, Traefik routers), for the EAS rules.
    pub routes: Vec<HttpRoute>,
    /// Labels of every namespace in the input, `kubernetes.io/metadata.name` included.
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// Suppressions the objects carry themselves.
    pub suppressions: Vec<InlineSuppression>,
    pub invalid: Vec<InvalidInput>,
    /// Units some of whose ports are written as expressions that could not be resolved
    /// (each one an `invalid-input` note): any of them may be the port a requirement asks
    /// for, so `missing-port` does not judge these units rather than guess.
    pub unresolved: BTreeSet<Unit>,
    /// The Kubernetes workloads by namespace and pod label, for selectors.
    pub pods: PodIndex,
    /// For each workload, the ingress policies that isolate it; filled in by the reach
    /// step.
    pub isolating: Isolating,
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

    /// The workloads of each unit, by id.
    pub fn workloads_by_unit(&self) -> HashMap<&Unit, Vec<WorkloadId>> {
        let mut units: HashMap<&Unit, Vec<WorkloadId>> = HashMap::new();
        for (id, workload) in self.workloads.iter().enumerate() {
            units.entry(&workload.unit).or_default().push(id);
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

/// Kubernetes workloads by namespace, and by each pod label within it: a selector looks
/// up the workloads that carry its rarest label instead of scanning the namespace, so
/// matching every Service and policy stays linear when everything is in one namespace.
#[derive(Debug, Default)]
pub struct PodIndex {
    namespaces: HashMap<String, NamespacePods>,
    /// namespace → selector → what it selected: objects with the same selector share
    /// one set, matched once.
    selected: HashMap<String, HashMap<Selector, Backends>>,
}

#[derive(Debug, Default)]
struct NamespacePods {
    all: Vec<WorkloadId>,
    /// label key → label value → workloads.
    by_label: HashMap<String, HashMap<String, Vec<WorkloadId>>>,
}

impl PodIndex {
    /// Indexes the workloads that live in a namespace.
    pub fn build(workloads: &[Workload]) -> PodIndex {
        let mut index = PodIndex::default();
        for (id, workload) in workloads.iter().enumerate() {
            let Some(namespace) = workload.unit.namespace() else {
                continue;
            };
            let pods = index.namespaces.entry(namespace.to_string()).or_default();
            pods.all.push(id);
            for (key, value) in &workload.labels {
                pods.by_label
                    .entry(key.clone())
                    .or_default()
                    .entry(value.clone())
                    .or_default()
                    .push(id);
            }
        }
        index
    }

    /// The workloads of `namespace` whose pod labels `selector` matches, in id order.
    /// `workloads` must be the ones the index was built from.
    pub fn select(
        &mut self,
        workloads: &[Workload],
        namespace: &str,
        selector: &Selector,
    ) -> Backends {
        if let Some(known) = self.selected.get(namespace).and_then(|s| s.get(selector)) {
            return known.clone();
        }
        let ids: Vec<WorkloadId> = self
            .candidates(namespace, selector)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|id| {
                workloads
                    .get(*id)
                    .is_some_and(|w| selector.matches(&w.labels))
            })
            .collect();
        let backends = Backends::new(ids);
        self.selected
            .entry(namespace.to_string())
            .or_default()
            .insert(selector.clone(), backends.clone());
        backends
    }

    /// The workloads that may match: those with the selector's rarest `matchLabels`
    /// label, or every workload of the namespace when it has none. `None` when nothing
    /// can match.
    fn candidates(&self, namespace: &str, selector: &Selector) -> Option<&[WorkloadId]> {
        let pods = self.namespaces.get(namespace)?;
        if selector.labels.is_empty() {
            return Some(&pods.all);
        }
        let mut rarest: Option<&[WorkloadId]> = None;
        for (key, value) in &selector.labels {
            let ids = pods.by_label.get(key)?.get(value)?;
            if rarest.is_none_or(|r| ids.len() < r.len()) {
                rarest = Some(ids);
            }
        }
        rarest
    }
}

/// For each workload, the ingress policies that isolate it.
///
/// Workloads isolated by the same policies share one list (a class): 700 policies on one
/// selector over 700 Deployments are 700 entries, not 490,000, and [`PodReaches`] works
/// out each class and port once.
#[derive(Debug, Default)]
pub struct Isolating {
    /// Workload id → class; a workload past the end is in no class (no policy).
    class_of: Vec<usize>,
    /// Class → the policies that isolate its workloads.
    classes: Vec<Vec<PolicyId>>,
}

impl Isolating {
    /// One pass over the policies that isolate ingress, grouped by the set of workloads
    /// they select, and one over each group's workloads.
    pub fn build(workload_count: usize, policies: &[Policy]) -> Isolating {
        let mut groups: Vec<(&Backends, Vec<PolicyId>)> = Vec::new();
        let mut group_of: HashMap<BackendsKey, usize> = HashMap::new();
        for (id, policy) in policies.iter().enumerate() {
            if !policy.isolates_ingress {
                continue;
            }
            let group = *group_of.entry(policy.selected.key()).or_insert_with(|| {
                groups.push((&policy.selected, Vec::new()));
                groups.len() - 1
            });
            groups[group].1.push(id);
        }
        let mut groups_of: Vec<Vec<usize>> = vec![Vec::new(); workload_count];
        for (group, (selected, _)) in groups.iter().enumerate() {
            for id in selected.iter() {
                if let Some(of) = groups_of.get_mut(*id) {
                    of.push(group);
                }
            }
        }
        let mut isolating = Isolating {
            class_of: Vec::with_capacity(workload_count),
            classes: vec![Vec::new()],
        };
        let mut class_by_groups: HashMap<Vec<usize>, usize> = HashMap::from([(Vec::new(), 0)]);
        for of in groups_of {
            let next = isolating.classes.len();
            let class = *class_by_groups.entry(of).or_insert_with_key(|of| {
                let policies = of.iter().flat_map(|g| groups[*g].1.iter().copied());
                isolating.classes.push(policies.collect());
                next
            });
            isolating.class_of.push(class);
        }
        isolating
    }

    /// The policies that isolate a workload; none for a workload no policy selects.
    pub fn of(&self, id: WorkloadId) -> &[PolicyId] {
        self.classes.get(self.class(id)).map_or(&[], Vec::as_slice)
    }

    fn class(&self, id: WorkloadId) -> usize {
        self.class_of.get(id).copied().unwrap_or(0)
    }
}

/// Who reaches listeners of workloads over the pod network, worked out once per class of
/// [`Isolating`] and listener: the Deployments that the same policies select share the
/// answer, so asking for every pod stays linear however many policies select them.
pub struct PodReaches<'a> {
    inventory: &'a Inventory,
    known: HashMap<ReachKey, PodReach>,
}

/// A class of workloads and what a policy's `ports` can tell of a listener.
type ReachKey = (usize, u16, u16, Protocol, Option<String>);

impl<'a> PodReaches<'a> {
    pub fn new(inventory: &'a Inventory) -> PodReaches<'a> {
        PodReaches {
            inventory,
            known: HashMap::new(),
        }
    }

    /// Who reaches a listener of a workload over the pod network. Only Kubernetes
    /// workloads are on a pod network; a Compose service is `None`.
    pub fn of(&mut self, id: WorkloadId, listener: &Listener) -> Option<PodReach> {
        let inventory = self.inventory;
        inventory.workloads.get(id)?.unit.namespace()?;
        let isolating = &inventory.isolating;
        let key = (
            isolating.class(id),
            listener.port,
            listener.last,
            listener.protocol,
            listener.name.clone(),
        );
        let reach = self.known.entry(key).or_insert_with(|| {
            let selecting: Vec<&Policy> = isolating
                .of(id)
                .iter()
                .filter_map(|p| inventory.policies.get(*p))
                .collect();
            PodReach::of(&selecting, listener)
        });
        Some(*reach)
    }
}
