//! Inventory × catalogue → findings. Each rule family is one file with one function per
//! rule, `fn(&Inventory, &Catalogue) -> Vec<Finding>`; this file maps each rule id (named in
//! `model::rule`, with its severity and `explain` text) to its check.

mod eas;
mod exposure;
mod input;
mod lifecycle;
mod mapping;
mod networkpolicy;
mod required;

use std::collections::HashSet;

use rayon::prelude::*;

use crate::catalogue::{Catalogue, PortEntry};
use crate::model::{Exposure, Finding, Inventory, Location, Rule, RuleInfo, Scope, Unit, Via};

type Check = fn(&Inventory, &Catalogue) -> Vec<Finding>;

/// The function that checks a rule.
fn check_of(rule: Rule) -> Check {
    match rule {
        Rule::MissingPort => required::missing_port,
        Rule::InternalPortExposed => exposure::internal_port_exposed,
        Rule::UnknownPort => exposure::unknown_port,
        Rule::DeprecatedPort => lifecycle::deprecated_port,
        Rule::RemovedService => lifecycle::removed_service,
        Rule::PortRemapped => mapping::port_remapped,
        Rule::ProtocolMismatch => mapping::protocol_mismatch,
        Rule::HostNetwork => exposure::host_network,
        Rule::EasUnreachable => eas::eas_unreachable,
        Rule::EasInsecure => eas::eas_insecure,
        Rule::EasTimeout => eas::eas_timeout,
        Rule::NetworkPolicyMissing => networkpolicy::network_policy_missing,
        Rule::NetworkPolicyTooOpen => networkpolicy::network_policy_too_open,
        Rule::InvalidInput => input::invalid_input,
    }
}

/// A finding about one exposure, judged against a catalogue entry if there is one.
fn for_exposure(
    rule: Rule,
    exposure: &Exposure,
    entry: Option<&PortEntry>,
    message: String,
) -> Finding {
    Finding {
        service: entry.map(|e| e.service.clone()),
        allowed_scope: entry.map(|e| e.scope),
        ..Finding::about(rule, exposure, message)
    }
}

/// A finding about a port range (`1-65535:1-65535`), judged by the catalogue entries
/// inside it: its `port` is the first of the range, as for one port, and the message names
/// the range and the entries. The service is named when one entry is to blame; the
/// allowed scope is the narrowest of theirs.
fn for_range(rule: Rule, exposure: &Exposure, entries: &[&PortEntry], message: String) -> Finding {
    Finding {
        service: match entries {
            [entry] => Some(entry.service.clone()),
            _ => None,
        },
        allowed_scope: entries.iter().map(|e| e.scope).min(),
        ..Finding::about(rule, exposure, message)
    }
}

/// `MySQL 3306, OpenLDAP 389 and Amavisd 10024`, each entry written by `name`.
fn list_entries(entries: &[&PortEntry], name: impl Fn(&PortEntry) -> String) -> String {
    let names: Vec<String> = entries.iter().map(|e| name(e)).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

/// ` on ports 9000-9100` when a range is published on other numbers than its targets.
fn published_range_phrase(exposure: &Exposure) -> String {
    match (exposure.published, exposure.published_last()) {
        (Some(first), Some(last)) if first != exposure.target => {
            format!(" on ports {}", crate::model::port_text(first, last))
        }
        _ => String::new(),
    }
}

/// Runs every rule and returns the findings sorted by file, line and rule.
pub fn run(inventory: &Inventory, catalogue: &Catalogue) -> Vec<Finding> {
    run_selected(inventory, catalogue, &|_| true)
}

/// Runs the rules `selected` accepts, sorted as [`run`] sorts.
pub fn run_selected(
    inventory: &Inventory,
    catalogue: &Catalogue,
    selected: &dyn Fn(&RuleInfo) -> bool,
) -> Vec<Finding> {
    // Rules are independent reads of the inventory: run them on every core.
    let chosen: Vec<Rule> = Rule::ALL
        .into_iter()
        .filter(|rule| selected(rule.info()))
        .collect();
    let mut findings: Vec<Finding> = chosen
        .par_iter()
        .flat_map_iter(|rule| check_of(*rule)(inventory, catalogue))
        .collect();
    drop_restated(&mut findings);
    sort_for_report(&mut findings);
    findings.dedup();
    findings
}

/// One cause, one finding: a remap that leaves a required port unanswered is told by
/// `missing-port`, whose message names it, so `port-remapped` does not repeat it. Done
/// here rather than in either rule because a front door may run one without the other
/// (the webhook without `--watch` runs only the rules that need nothing but the object).
fn drop_restated(findings: &mut Vec<Finding>) {
    // Owned keys: a mail stack has a handful of missing-port findings at most.
    let missing: HashSet<(Location, Option<u16>)> = findings
        .iter()
        .filter(|f| f.rule == Rule::MissingPort)
        .filter_map(|f| Some((f.location.clone()?, f.port)))
        .collect();
    if missing.is_empty() {
        return;
    }
    findings.retain(|f| {
        f.rule != Rule::PortRemapped
            || f.location
                .as_ref()
                .is_none_or(|l| !missing.contains(&(l.clone(), f.port)))
    });
}

/// Sorts findings as reports show them: by file, line and rule.
pub fn sort_for_report(findings: &mut [Finding]) {
    findings.par_sort_by(|a, b| report_order(a).cmp(&report_order(b)));
}

/// Where a finding sorts in the report: `(no location, (path, line, column), rule, object, port)`.
type ReportOrder<'a> = (
    bool,
    Option<(&'a str, u32, u32)>,
    Rule,
    Option<&'a str>,
    Option<u16>,
);

/// Findings are reported by file and line; those without a location come last.
fn report_order(f: &Finding) -> ReportOrder<'_> {
    (
        f.location.is_none(),
        f.location
            .as_ref()
            .map(|l| (l.path.as_str(), l.line, l.column)),
        f.rule,
        f.object.as_deref(),
        f.port,
    )
}

/// How a message says where a scope reaches, in the words of the platform.
fn reach_phrase(scope: Scope, unit: &Unit) -> &'static str {
    let compose = matches!(unit, Unit::ComposeProject(_));
    match (scope, compose) {
        (Scope::External, false) => "from outside the cluster",
        (Scope::External, true) => "from outside the host",
        (Scope::Cluster, false) => "from every pod in the cluster",
        (Scope::Cluster, true) => "from the host's private network",
        (Scope::Internal, _) => "from the mail stack's own network",
        (Scope::Loopback, _) => "from its own host",
    }
}

/// Where and how an exposure publishes a port, for a message: `on port 2525 of every
/// host address`, `on port 2525 of 10.0.0.5`, `on port 30025 through a NodePort Service`, or the
/// platform's pick.
fn published_on(exposure: &Exposure) -> String {
    let port = match (exposure.published, &exposure.via) {
        (Some(p), _) if exposure.is_range() => {
            let last = exposure.published_last().unwrap_or(p);
            format!("ports {}", crate::model::port_text(p, last))
        }
        (Some(p), _) => format!("port {p}"),
        (None, Via::NodePort) => {
            return "on a NodePort the cluster assigns (30000-32767)".into();
        }
        (None, _) if exposure.is_range() => "ephemeral ports".into(),
        (None, _) => "an ephemeral port".into(),
    };
    match &exposure.via {
        Via::Published { host_ip: None } => format!("on {port} of every host address"),
        Via::Published { host_ip: Some(ip) } => format!("on {port} of {ip}"),
        via => format!("on {port} through {}", via.describe()),
    }
}

/// What connects to a client-facing port, as a mail admin says it: port 25 is for other
/// mail servers (MX delivery), the web ports for browsers and mail apps, the rest for
/// mail clients.
fn who_connects(entry: &PortEntry) -> &'static str {
    match (entry.service.as_str(), entry.port) {
        ("postfix", 25) => "other mail servers",
        ("nginx", _) => "browsers and mail apps",
        ("sshd", _) => "administrators",
        _ => "mail clients",
    }
}
