//! The rules by name: stable ids, default severities, what each needs to see, and the
//! text `explain` prints. The checks themselves live in `rules/`, one file per family.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

/// What `explain` and the docs say about a rule.
#[derive(Debug)]
pub struct RuleInfo {
    pub rule: Rule,
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// Markdown: what, why, how to fix, a bad and a good example.
    pub explanation: &'static str,
    /// What the rule must see besides the object it reports on.
    pub needs: Needs,
}

impl Rule {
    /// Every rule, in the order of DESIGN.md's rule table.
    pub const ALL: [Rule; 14] = [
        Rule::MissingPort,
        Rule::InternalPortExposed,
        Rule::UnknownPort,
        Rule::DeprecatedPort,
        Rule::RemovedService,
        Rule::PortRemapped,
        Rule::ProtocolMismatch,
        Rule::HostNetwork,
        Rule::EasUnreachable,
        Rule::EasInsecure,
        Rule::EasTimeout,
        Rule::NetworkPolicyMissing,
        Rule::NetworkPolicyTooOpen,
        Rule::InvalidInput,
    ];

    pub fn info(self) -> &'static RuleInfo {
        match self {
            Rule::MissingPort => &MISSING_PORT,
            Rule::InternalPortExposed => &INTERNAL_PORT_EXPOSED,
            Rule::UnknownPort => &UNKNOWN_PORT,
            Rule::DeprecatedPort => &DEPRECATED_PORT,
            Rule::RemovedService => &REMOVED_SERVICE,
            Rule::PortRemapped => &PORT_REMAPPED,
            Rule::ProtocolMismatch => &PROTOCOL_MISMATCH,
            Rule::HostNetwork => &HOST_NETWORK,
            Rule::EasUnreachable => &EAS_UNREACHABLE,
            Rule::EasInsecure => &EAS_INSECURE,
            Rule::EasTimeout => &EAS_TIMEOUT,
            Rule::NetworkPolicyMissing => &NETWORK_POLICY_MISSING,
            Rule::NetworkPolicyTooOpen => &NETWORK_POLICY_TOO_OPEN,
            Rule::InvalidInput => &INVALID_INPUT,
        }
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
        Rule::ALL
            .into_iter()
            .find(|rule| rule.id() == text)
            .ok_or_else(|| {
                let ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
                format!("unknown rule `{text}`; rules are: {}", ids.join(", "))
            })
    }
}

const MISSING_PORT: RuleInfo = RuleInfo {
    rule: Rule::MissingPort,
    id: "missing-port",
    severity: Severity::Error,
    summary: "a required port is not offered on its own number at its scope (25 for other mail servers, 587, 143, 443)",
    explanation: include_str!("../../docs/rules/missing-port.md"),
    needs: Needs::Absence,
};

const INTERNAL_PORT_EXPOSED: RuleInfo = RuleInfo {
    rule: Rule::InternalPortExposed,
    id: "internal-port-exposed",
    severity: Severity::Error,
    summary: "a port reaches wider than its catalogue scope (a Service, host port, route, or a NetworkPolicy admitting other namespaces)",
    explanation: include_str!("../../docs/rules/internal-port-exposed.md"),
    needs: Needs::Object,
};

const UNKNOWN_PORT: RuleInfo = RuleInfo {
    rule: Rule::UnknownPort,
    id: "unknown-port",
    severity: Severity::Warning,
    summary: "a port reaches `cluster` or wider and the catalogue does not know it",
    explanation: include_str!("../../docs/rules/unknown-port.md"),
    needs: Needs::Object,
};

const DEPRECATED_PORT: RuleInfo = RuleInfo {
    rule: Rule::DeprecatedPort,
    id: "deprecated-port",
    severity: Severity::Warning,
    summary: "a deprecated port is reachable above loopback",
    explanation: include_str!("../../docs/rules/deprecated-port.md"),
    needs: Needs::Object,
};

const REMOVED_SERVICE: RuleInfo = RuleInfo {
    rule: Rule::RemovedService,
    id: "removed-service",
    severity: Severity::Warning,
    summary: "a service iRedMail removed is still deployed",
    explanation: include_str!("../../docs/rules/removed-service.md"),
    needs: Needs::Object,
};

const PORT_REMAPPED: RuleInfo = RuleInfo {
    rule: Rule::PortRemapped,
    id: "port-remapped",
    severity: Severity::Warning,
    summary: "a client-facing port that is not required is published on another number",
    explanation: include_str!("../../docs/rules/port-remapped.md"),
    needs: Needs::Object,
};

const PROTOCOL_MISMATCH: RuleInfo = RuleInfo {
    rule: Rule::ProtocolMismatch,
    id: "protocol-mismatch",
    severity: Severity::Error,
    summary: "a catalogue TCP port is declared as UDP or SCTP only",
    explanation: include_str!("../../docs/rules/protocol-mismatch.md"),
    needs: Needs::Object,
};

const HOST_NETWORK: RuleInfo = RuleInfo {
    rule: Rule::HostNetwork,
    id: "host-network",
    severity: Severity::Warning,
    summary: "a workload shares the node's network: every listener reaches it",
    explanation: include_str!("../../docs/rules/host-network.md"),
    needs: Needs::Object,
};

const EAS_UNREACHABLE: RuleInfo = RuleInfo {
    rule: Rule::EasUnreachable,
    id: "eas-unreachable",
    severity: Severity::Error,
    summary: "no HTTPS route on 443 takes /Microsoft-Server-ActiveSync to SOGo or the web front end",
    explanation: include_str!("../../docs/rules/eas-unreachable.md"),
    needs: Needs::Absence,
};

const EAS_INSECURE: RuleInfo = RuleInfo {
    rule: Rule::EasInsecure,
    id: "eas-insecure",
    severity: Severity::Error,
    summary: "the ActiveSync path is served over plain HTTP or without a certificate for its host",
    explanation: include_str!("../../docs/rules/eas-insecure.md"),
    needs: Needs::Namespace,
};

const EAS_TIMEOUT: RuleInfo = RuleInfo {
    rule: Rule::EasTimeout,
    id: "eas-timeout",
    severity: Severity::Warning,
    summary: "the proxy in front of the ActiveSync path times out before SOGo's 3540 s long-poll",
    explanation: include_str!("../../docs/rules/eas-timeout.md"),
    needs: Needs::Namespace,
};

const NETWORK_POLICY_MISSING: RuleInfo = RuleInfo {
    rule: Rule::NetworkPolicyMissing,
    id: "network-policy-missing",
    severity: Severity::Warning,
    summary: "an internal port is open to every pod in the cluster: no ingress NetworkPolicy selects its pods",
    explanation: include_str!("../../docs/rules/network-policy-missing.md"),
    needs: Needs::Namespace,
};

const NETWORK_POLICY_TOO_OPEN: RuleInfo = RuleInfo {
    rule: Rule::NetworkPolicyTooOpen,
    id: "network-policy-too-open",
    severity: Severity::Error,
    summary: "a NetworkPolicy admits an internal port from any address or every namespace",
    explanation: include_str!("../../docs/rules/network-policy-too-open.md"),
    needs: Needs::Namespace,
};

const INVALID_INPUT: RuleInfo = RuleInfo {
    rule: Rule::InvalidInput,
    id: "invalid-input",
    severity: Severity::Error,
    summary: "a file or object cannot be read or does not match its schema",
    explanation: include_str!("../../docs/rules/invalid-input.md"),
    needs: Needs::Object,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_its_serde_id_and_an_explanation_with_examples() {
        for rule in Rule::ALL {
            let info = rule.info();
            assert_eq!(info.rule, rule);
            let json = serde_json::to_string(&rule).expect("serializes");
            assert_eq!(json, format!("\"{}\"", info.id));
            assert_eq!(info.id.parse::<Rule>(), Ok(rule));
            assert!(info.explanation.contains("## Bad"), "{}", info.id);
            assert!(info.explanation.contains("## Good"), "{}", info.id);
        }
        let mut ids: Vec<_> = Rule::ALL.iter().map(|r| r.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Rule::ALL.len());
    }
}
