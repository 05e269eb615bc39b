//! The inventory: everything the loaders found, ready for the rules, with the indexes
//! that keep every rule linear in the number of objects.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{
    Exposure, HttpRoute, InlineSuppression, InvalidInput, Listener, PodReach, Policy, PolicyId,
    Selector, Unit, Workload, WorkloadId,
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
    /// For each workload (by id), the ingress policies that isolate it; filled in by the
    /// reach step.
    pub isolating: Vec<Vec<PolicyId>>,
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

    /// The workloads of `namespace` whose pod labels `selector` matches, in id order.
    pub fn select(&self, namespace: &str, selector: &Selector) -> Vec<WorkloadId> {
        self.pods
            .candidates(namespace, selector)
            .map_or_else(Vec::new, |ids| {
                ids.iter()
                    .copied()
                    .filter(|id| {
                        self.workloads
                            .get(*id)
                            .is_some_and(|w| selector.matches(&w.labels))
                    })
                    .collect()
            })
    }

    /// The workloads a NetworkPolicy selects (whether or not it isolates them).
    pub fn selected_by(&self, policy: &Policy) -> Vec<WorkloadId> {
        self.select(&policy.namespace, &policy.pod_selector)
    }

    /// Who reaches a listener of a workload over the pod network. Only Kubernetes
    /// workloads are on a pod network; a Compose service is `None`.
    pub fn pod_reach(&self, id: WorkloadId, listener: &Listener) -> Option<PodReach> {
        self.workloads.get(id)?.unit.namespace()?;
        let selecting: Vec<&Policy> = self
            .isolating
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|p| self.policies.get(*p))
            .collect();
        Some(PodReach::of(&selecting, listener))
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
