//! Inventory × catalogue → findings. Each rule family is one file with one function per
//! rule, `fn(&Inventory, &Catalogue) -> Vec<Finding>`; this file is the registry that
//! names them, gives their default severity and their `explain` text.

mod eas;
mod exposure;
mod input;
mod lifecycle;
mod mapping;
mod networkpolicy;
mod required;

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, PortEntry};
use crate::model::{Exposure, Inventory, Location, Protocol, Scope, Unit};

/// How bad a finding is; `--fail-on` compares against it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every rule, by its stable id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    MissingPort,
    InternalPortExposed,
    UnknownPort,
    DeprecatedPort,
    RemovedService,
    PortRemapped,
    ProtocolMismatch,
    HostNetwork,
    EasUnreachable,
    EasInsecure,
    EasTimeout,
    NetworkPolicyMissing,
    NetworkPolicyTooOpen,
    InvalidInput,
}

/// What `explain` and the docs say about a rule.
pub struct RuleInfo {
    pub rule: Rule,
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// Markdown: what, why, how to fix, a bad and a good example.
    pub explanation: &'static str,
    /// What the rule must see besides the object it reports on.
    pub needs: Needs,
    check: fn(&Inventory, &Catalogue) -> Vec<Finding>,
}

/// What a rule needs to see to judge an object. The admission webhook receives one
/// object at a time: without a view of the rest of the namespace it runs only the rules
/// that need nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The object alone (a Service's type, a container's hostPort).
    Object,
    /// The other objects of its namespace (which policies select which pods).
    Namespace,
    /// The other objects of its namespace, and it reports what they lack: while a
    /// deployment is being created object by object, it fires until the last one exists.
    Absence,
}

/// The registry, in the order of DESIGN.md's rule table.
pub const RULES: &[RuleInfo] = &[
    RuleInfo {
        rule: Rule::MissingPort,
        id: "missing-port",
        severity: Severity::Error,
        summary: "a required catalogue port is not reachable at its scope",
        explanation: include_str!("../../docs/rules/missing-port.md"),
        needs: Needs::Absence,
        check: required::missing_port,
    },
    RuleInfo {
        rule: Rule::InternalPortExposed,
        id: "internal-port-exposed",
        severity: Severity::Error,
        summary: "a listener reaches wider than its catalogue scope",
        explanation: include_str!("../../docs/rules/internal-port-exposed.md"),
        needs: Needs::Object,
        check: exposure::internal_port_exposed,
    },
    RuleInfo {
        rule: Rule::UnknownPort,
        id: "unknown-port",
        severity: Severity::Warning,
        summary: "a port reaches `cluster` or wider and the catalogue does not know it",
        explanation: include_str!("../../docs/rules/unknown-port.md"),
        needs: Needs::Object,
        check: exposure::unknown_port,
    },
    RuleInfo {
        rule: Rule::DeprecatedPort,
        id: "deprecated-port",
        severity: Severity::Warning,
        summary: "a deprecated port is reachable above loopback",
        explanation: include_str!("../../docs/rules/deprecated-port.md"),
        needs: Needs::Object,
        check: lifecycle::deprecated_port,
    },
    RuleInfo {
        rule: Rule::RemovedService,
        id: "removed-service",
        severity: Severity::Warning,
        summary: "a service iRedMail removed is still deployed",
        explanation: include_str!("../../docs/rules/removed-service.md"),
        needs: Needs::Object,
        check: lifecycle::removed_service,
    },
    RuleInfo {
        rule: Rule::PortRemapped,
        id: "port-remapped",
        severity: Severity::Warning,
        summary: "a client-facing port is published on another number",
        explanation: include_str!("../../docs/rules/port-remapped.md"),
        needs: Needs::Object,
        check: mapping::port_remapped,
    },
    RuleInfo {
        rule: Rule::ProtocolMismatch,
        id: "protocol-mismatch",
        severity: Severity::Error,
        summary: "a catalogue TCP port is declared as UDP or SCTP only",
        explanation: include_str!("../../docs/rules/protocol-mismatch.md"),
        needs: Needs::Object,
        check: mapping::protocol_mismatch,
    },
    RuleInfo {
        rule: Rule::HostNetwork,
        id: "host-network",
        severity: Severity::Warning,
        summary: "a workload shares the node's network: every listener reaches it",
        explanation: include_str!("../../docs/rules/host-network.md"),
        needs: Needs::Object,
        check: exposure::host_network,
    },
    RuleInfo {
        rule: Rule::EasUnreachable,
        id: "eas-unreachable",
        severity: Severity::Error,
        summary: "no HTTPS route on 443 takes /Microsoft-Server-ActiveSync to SOGo or the web front end",
        explanation: include_str!("../../docs/rules/eas-unreachable.md"),
        needs: Needs::Absence,
        check: eas::eas_unreachable,
    },
    RuleInfo {
        rule: Rule::EasInsecure,
        id: "eas-insecure",
        severity: Severity::Error,
        summary: "the ActiveSync path is served over plain HTTP or without a certificate for its host",
        explanation: include_str!("../../docs/rules/eas-insecure.md"),
        needs: Needs::Namespace,
        check: eas::eas_insecure,
    },
    RuleInfo {
        rule: Rule::EasTimeout,
        id: "eas-timeout",
        severity: Severity::Warning,
        summary: "the proxy in front of the ActiveSync path times out before SOGo's 3540 s long-poll",
        explanation: include_str!("../../docs/rules/eas-timeout.md"),
        needs: Needs::Namespace,
        check: eas::eas_timeout,
    },
    RuleInfo {
        rule: Rule::NetworkPolicyMissing,
        id: "network-policy-missing",
        severity: Severity::Warning,
        summary: "an internal port is open to the cluster because no NetworkPolicy selects its pods",
        explanation: include_str!("../../docs/rules/network-policy-missing.md"),
        needs: Needs::Namespace,
        check: networkpolicy::network_policy_missing,
    },
    RuleInfo {
        rule: Rule::NetworkPolicyTooOpen,
        id: "network-policy-too-open",
        severity: Severity::Error,
        summary: "a NetworkPolicy admits an internal port from any address or every namespace",
        explanation: include_str!("../../docs/rules/network-policy-too-open.md"),
        needs: Needs::Namespace,
        check: networkpolicy::network_policy_too_open,
    },
    RuleInfo {
        rule: Rule::InvalidInput,
        id: "invalid-input",
        severity: Severity::Error,
        summary: "a file or object cannot be read or does not match its schema",
        explanation: include_str!("../../docs/rules/invalid-input.md"),
        needs: Needs::Object,
        check: input::invalid_input,
    },
];

impl Rule {
    pub fn info(self) -> &'static RuleInfo {
        // The registry lists every variant; the test below keeps it so.
        RULES
            .iter()
            .find(|info| info.rule == self)
            .unwrap_or(&RULES[RULES.len() - 1])
    }

    pub fn id(self) -> &'static str {
        self.info().id
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Rule {
    type Err = String;

    fn from_str(text: &str) -> Result<Rule, String> {
        RULES
            .iter()
            .find(|info| info.id == text)
            .map(|info| info.rule)
            .ok_or_else(|| {
                let ids: Vec<&str> = RULES.iter().map(|i| i.id).collect();
                format!("unknown rule `{text}`; rules are: {}", ids.join(", "))
            })
    }
}

/// One problem found, as every report format shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    pub port: Option<u16>,
    pub protocol: Option<Protocol>,
    /// The catalogue's service (`postfix`, `mysql`), when the port is known.
    pub service: Option<String>,
    /// How far the port reaches.
    pub scope: Option<Scope>,
    /// The widest scope the catalogue allows for it.
    pub allowed_scope: Option<Scope>,
    /// `Kind/namespace/name` or `compose/<project>/<service>`.
    pub object: Option<String>,
    pub message: String,
    /// The line that causes the finding; `null` only for a `missing-port` no object is to
    /// blame for.
    pub location: Option<Location>,
    /// Set when an annotation, a Compose extension, the config file or a baseline
    /// suppresses the finding: it is still reported, but does not count for `--fail-on`.
    #[serde(default)]
    pub suppressed: Option<Suppression>,
}

/// Why a finding is suppressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Suppression {
    pub by: SuppressedBy,
    pub reason: String,
}

/// Where a suppression comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressedBy {
    /// The object's `iredmail-ports.io/ignore` annotation.
    Annotation,
    /// The Compose service's `x-iredmail-ports: {ignore: …}`.
    ComposeExtension,
    /// An `ignore:` entry of the config file.
    Config,
    /// A `--baseline` file that already lists the finding.
    Baseline,
}

impl SuppressedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressedBy::Annotation => "annotation",
            SuppressedBy::ComposeExtension => "compose extension",
            SuppressedBy::Config => "config",
            SuppressedBy::Baseline => "baseline",
        }
    }
}

impl Finding {
    /// A finding with the rule's default severity and no port details.
    fn new(rule: Rule, message: String) -> Finding {
        Finding {
            rule,
            severity: rule.info().severity,
            port: None,
            protocol: None,
            service: None,
            scope: None,
            allowed_scope: None,
            object: None,
            message,
            location: None,
            suppressed: None,
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
            port: Some(exposure.target),
            protocol: Some(exposure.protocol),
            service: entry.map(|e| e.service.clone()),
            scope: Some(exposure.scope),
            allowed_scope: entry.map(|e| e.scope),
            object: Some(exposure.object.clone()),
            location: exposure.location.clone(),
            ..Finding::new(rule, message)
        }
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
    let chosen: Vec<&RuleInfo> = RULES.iter().filter(|info| selected(info)).collect();
    let mut findings: Vec<Finding> = chosen
        .par_iter()
        .flat_map_iter(|info| (info.check)(inventory, catalogue))
        .collect();
    findings.par_sort_by(|a, b| report_order(a).cmp(&report_order(b)));
    findings.dedup();
    findings
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
        (Scope::Loopback, _) => "from its own host only",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_lists_every_rule_once_with_its_serde_id() {
        for info in RULES {
            let json = serde_json::to_string(&info.rule).expect("serializes");
            assert_eq!(json, format!("\"{}\"", info.id));
            assert_eq!(info.id.parse::<Rule>(), Ok(info.rule));
            assert!(info.explanation.contains("## Bad"), "{}", info.id);
            assert!(info.explanation.contains("## Good"), "{}", info.id);
        }
        let mut ids: Vec<_> = RULES.iter().map(|i| i.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
    }
}
