//! Run-time settings of a check that do not come from the catalogue.

use std::collections::BTreeMap;

use crate::rules::{Finding, Rule, Severity};

/// How a check is tuned. The default judges every rule at its own severity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Severity overrides by rule (`unknown-port: error`).
    pub severities: BTreeMap<Rule, Severity>,
}

impl Config {
    /// Applies the overrides to findings made with the rules' default severities.
    pub fn apply(&self, findings: &mut [Finding]) {
        for finding in findings {
            if let Some(severity) = self.severities.get(&finding.rule) {
                finding.severity = *severity;
            }
        }
    }
}
