//! The engine: one catalogue and one config, prepared once (the site's allowed ports
//! added to the catalogue, the exclude globs compiled), then any number of checks. The
//! CLI, the kubectl plugin and the admission webhook each hold one and call it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::catalogue::Catalogue;
use crate::config::{Config, Excludes};
use crate::load::kubernetes::{KubeObject, live_id, object_from_live};
use crate::load::{self, Input, Loaded, yaml};
use crate::model::{InvalidInput, Inventory, Location, Needs, Rule, RuleInfo, Scope};
use crate::report::{self, Report};
use crate::{inventory, rules};

/// Which rules a check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    All,
    /// Only those that judge an object by itself: the webhook without a view of the
    /// namespace.
    ObjectAlone,
    /// All but `network-policy-missing`: the NetworkPolicies could not be read (the API
    /// server refused to list them), so "no policy selects these pods" would be a guess.
    PoliciesUnread,
}

impl Rules {
    fn select(self, info: &RuleInfo) -> bool {
        match self {
            Rules::All => true,
            Rules::ObjectAlone => info.needs == crate::model::Needs::Object,
            Rules::PoliciesUnread => info.rule != Rule::NetworkPolicyMissing,
        }
    }
}

/// Why a check of files judged nothing: a usage error, never a clean result, since a
/// gate that checked nothing must not pass by accident (a mistyped path, a `helm template`
/// that failed and piped nothing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("{0}: no such file or directory")]
    NotFound(String),
    /// No input held a manifest nor a problem: the text says what was looked at.
    #[error("nothing to check: {0}")]
    NothingToCheck(String),
}

pub struct Engine {
    catalogue: Catalogue,
    config: Config,
    excludes: Excludes,
    allow_no_manifests: bool,
    with_graph: bool,
}

impl Engine {
    pub fn new(catalogue: &Catalogue, config: Config) -> Engine {
        Engine {
            catalogue: config.extend_catalogue(catalogue),
            excludes: config.excludes(),
            config,
            allow_no_manifests: false,
            with_graph: true,
        }
    }

    /// Whether reports carry the reachability graph that `--format dot|mermaid` draw.
    /// Building it costs an edge per exposure and backend pod, which a Service selecting
    /// thousands of Deployments makes millions of: the other formats do without it.
    pub fn with_graph(mut self, with_graph: bool) -> Engine {
        self.with_graph = with_graph;
        self
    }

    /// Whether a check whose inputs hold no manifest passes with an empty report (a
    /// pre-commit hook on a commit of other YAML) instead of failing with
    /// [`CheckError::NothingToCheck`].
    pub fn allow_no_manifests(mut self, allow: bool) -> Engine {
        self.allow_no_manifests = allow;
        self
    }

    /// The catalogue with the config's allowed ports.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Reads the inputs, builds the inventory and runs every rule; then applies the
    /// config's severities and suppressions and the baseline. A path that does not exist,
    /// or inputs that hold nothing to check (unless allowed), are errors.
    pub fn check(&self, inputs: &[Input]) -> Result<Report, CheckError> {
        let loaded = load::load_excluding(inputs, &|path| self.excludes.contains(path));
        if let Some(path) = loaded.looked_at.missing.first() {
            return Err(CheckError::NotFound(path.display().to_string()));
        }
        let nothing = loaded.files == 0 && loaded.problems.is_empty();
        if nothing && !self.allow_no_manifests {
            return Err(CheckError::NothingToCheck(loaded.looked_at.describe()));
        }
        Ok(self.judge(loaded, Rules::All))
    }

    /// Objects as the API server sent them (cluster lists, admission reviews), typed here
    /// without a detour through text, with the problems found before (what the API server
    /// refused to list). A finding's line is that of the object's YAML, rendered only for
    /// the objects a finding names.
    pub fn check_live(
        &self,
        values: &[serde_json::Value],
        mut problems: Vec<InvalidInput>,
        rules: Rules,
    ) -> Report {
        let mut objects = Vec::with_capacity(values.len());
        for value in values {
            match object_from_live(value) {
                Ok(object) => objects.push(object),
                Err(problem) => problems.push(problem),
            }
        }
        self.check_typed(objects, problems, values, rules)
    }

    /// Live objects already typed (the webhook's cache keeps them so), with the values
    /// they came from, to render the YAML of those a finding names.
    pub fn check_typed(
        &self,
        objects: Vec<KubeObject>,
        problems: Vec<InvalidInput>,
        values: &[serde_json::Value],
        rules: Rules,
    ) -> Report {
        let loaded = Loaded {
            kube: objects,
            problems,
            files: values.len(),
            ..Loaded::default()
        };
        let mut report = self.judge(loaded, rules);
        locate_live_findings(&mut report, values);
        report
    }

    /// An object by itself, as the webhook judges it without `--watch`: its report, and
    /// the rules left out (they need the rest of the namespace) that could have judged
    /// it: `missing-port` for a required port, the EAS rules for HTTP routes and web
    /// ports, `network-policy-missing` for an internal port, `network-policy-too-open`
    /// for a NetworkPolicy. A clean ConfigMap or an unrelated port has none.
    pub fn check_object_alone(&self, values: &[serde_json::Value]) -> (Report, Vec<Rule>) {
        let mut objects = Vec::with_capacity(values.len());
        let mut problems = Vec::new();
        for value in values {
            match object_from_live(value) {
                Ok(object) => objects.push(object),
                Err(problem) => problems.push(problem),
            }
        }
        let loaded = Loaded {
            kube: objects,
            problems,
            files: values.len(),
            ..Loaded::default()
        };
        let (mut report, inventory) = self.judge_keeping(loaded, Rules::ObjectAlone);
        locate_live_findings(&mut report, values);
        (report, self.could_judge(&inventory))
    }

    /// The rules that need more than the object and would have something of it to judge.
    fn could_judge(&self, inventory: &Inventory) -> Vec<Rule> {
        let ports: Vec<u16> = inventory
            .exposures
            .iter()
            .map(|e| e.target)
            .chain(
                inventory
                    .workloads
                    .iter()
                    .flat_map(|w| w.listeners.iter().map(|l| l.port)),
            )
            .collect();
        let entry = |port: u16| self.catalogue.entry_any_protocol(port);
        let required = ports.iter().any(|&p| self.catalogue.is_required(p));
        let web = !inventory.routes.is_empty()
            || ports
                .iter()
                .any(|&p| p == 443 || p == 80 || entry(p).is_some_and(|e| !e.paths.is_empty()));
        let internal = ports
            .iter()
            .any(|&p| entry(p).is_some_and(|e| e.scope <= Scope::Internal));
        let policies = !inventory.policies.is_empty();
        Rule::ALL
            .into_iter()
            .filter(|rule| rule.info().needs != Needs::Object)
            .filter(|rule| match rule {
                Rule::MissingPort => required,
                Rule::EasUnreachable | Rule::EasInsecure | Rule::EasTimeout => web,
                Rule::NetworkPolicyMissing => internal,
                Rule::NetworkPolicyTooOpen => policies,
                _ => false,
            })
            .collect()
    }

    fn judge(&self, loaded: Loaded, rules: Rules) -> Report {
        self.judge_keeping(loaded, rules).0
    }

    fn judge_keeping(&self, mut loaded: Loaded, rules: Rules) -> (Report, Inventory) {
        let sources = std::mem::take(&mut loaded.sources);
        let inventory = inventory::build(loaded);
        let mut findings =
            rules::run_selected(&inventory, &self.catalogue, &|info| rules.select(info));
        self.config.apply(&mut findings, &inventory.suppressions);
        if let Some(baseline) = &self.config.baseline {
            baseline.apply(&mut findings);
        }
        let graph = self
            .with_graph
            .then(|| report::graph::build(&inventory, &findings));
        let mut report = Report::new(
            &self.catalogue.name,
            findings,
            inventory.files,
            inventory.objects,
            sources,
        );
        if let Some(graph) = graph {
            report = report.with_graph(graph);
        }
        (report, inventory)
    }
}

/// Gives the findings in live objects the line of their field in the object's YAML, and
/// the report that YAML for its source frames. Only the objects findings name are
/// rendered.
fn locate_live_findings(report: &mut Report, values: &[serde_json::Value]) {
    let wanted: HashSet<&str> = report
        .findings
        .iter()
        .filter_map(|f| f.location.as_ref())
        .filter(|l| l.field.is_some())
        .map(|l| l.path.as_str())
        .collect();
    if wanted.is_empty() {
        return;
    }
    let by_id: HashMap<String, &serde_json::Value> = values
        .iter()
        .map(|v| (live_id(v), v))
        .filter(|(id, _)| wanted.contains(id.as_str()))
        .collect();
    let mut rendered: BTreeMap<String, (Arc<str>, Option<yaml::Node>)> = BTreeMap::new();
    for finding in &mut report.findings {
        let Some(location) = finding.location.as_mut() else {
            continue;
        };
        let Some(field) = location.field.take() else {
            continue;
        };
        let entry = rendered.entry(location.path.clone()).or_insert_with(|| {
            let text = by_id
                .get(&location.path)
                .and_then(|v| serde_saphyr::to_string(v).ok())
                .unwrap_or_default();
            let root = yaml::parse_stream(&text)
                .documents
                .into_iter()
                .next()
                .and_then(Result::ok)
                .map(|d| d.root);
            (Arc::from(text), root)
        });
        if let Some(root) = &entry.1 {
            let (line, column) = root.position_of(&field);
            *location = Location::new(location.path.clone(), line, column);
        }
    }
    for (path, (text, _)) in rendered {
        if !text.is_empty() {
            report.sources.insert(path, text);
        }
    }
    rules::sort_for_report(&mut report.findings);
}
