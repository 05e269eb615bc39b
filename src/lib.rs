//! iredmail-ports: checks the network ports of a containerized iRedMail against
//! iRedMail's port catalogue.
//!
//! Data flows one way, one module per step:
//! sources → documents → objects ([`load`]) → [`inventory`] ([`model`]) → findings
//! ([`rules`]) → [`report`]. The CLI, the kubectl plugin and the admission webhook all
//! call [`check`].

pub mod baseline;
pub mod catalogue;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod inventory;
pub mod load;
pub mod model;
pub mod reach;
pub mod report;
pub mod rules;
pub mod schema;
pub mod webhook;

pub use catalogue::Catalogue;
pub use config::Config;
pub use load::Input;
pub use report::Report;

/// Reads the inputs, builds the inventory and runs every rule; then applies the config's
/// severities and suppressions and the baseline.
pub fn check(inputs: &[Input], catalogue: &Catalogue, config: &Config) -> Report {
    check_all(inputs, Vec::new(), catalogue, config, &|_| true)
}

/// [`check`], with problems found before loading (what the API server refused to list)
/// reported beside the loaders' own.
pub fn check_with_problems(
    inputs: &[Input],
    problems: Vec<model::InvalidInput>,
    catalogue: &Catalogue,
    config: &Config,
) -> Report {
    check_all(inputs, problems, catalogue, config, &|_| true)
}

/// [`check`] with only the rules `selected` accepts (the webhook runs the rules that
/// judge an object alone when it has no view of the namespace).
pub fn check_selected(
    inputs: &[Input],
    catalogue: &Catalogue,
    config: &Config,
    selected: &dyn Fn(&rules::RuleInfo) -> bool,
) -> Report {
    check_all(inputs, Vec::new(), catalogue, config, selected)
}

fn check_all(
    inputs: &[Input],
    problems: Vec<model::InvalidInput>,
    catalogue: &Catalogue,
    config: &Config,
    selected: &dyn Fn(&rules::RuleInfo) -> bool,
) -> Report {
    let catalogue = config.extend_catalogue(catalogue);
    let mut loaded = load::load_excluding(inputs, &|path| config.excludes(path));
    loaded.problems.extend(problems);
    let sources = std::mem::take(&mut loaded.sources);
    let inventory = inventory::build(loaded);
    let mut findings = rules::run_selected(&inventory, &catalogue, selected);
    config.apply(&mut findings, &inventory.suppressions);
    if let Some(baseline) = &config.baseline {
        baseline.apply(&mut findings);
    }
    let graph = report::graph::build(&inventory, &findings);
    Report::new(
        &catalogue.name,
        findings,
        inventory.files,
        inventory.objects,
        sources,
    )
    .with_graph(graph)
}
