//! Baselines: `check --write-baseline FILE` records today's findings by fingerprint, and
//! `check --baseline FILE` reports only new ones as failures. Known findings are still
//! shown, marked suppressed by the baseline, so nothing disappears silently.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{Finding, SuppressedBy, Suppression, fingerprints};

/// The version of the baseline file's shape.
const BASELINE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    /// Fingerprints as in SARIF's `partialFingerprints` (`iredmailPorts/v1`).
    pub fingerprints: BTreeSet<String>,
    /// Where it was read from, for the suppression's reason.
    #[serde(skip)]
    pub path: String,
}

#[derive(Debug, Error)]
pub enum BaselineError {
    #[error("{path}: cannot read the baseline: {message}")]
    Read { path: String, message: String },
    #[error("{path}: cannot write the baseline: {message}")]
    Write { path: String, message: String },
}

impl Baseline {
    /// A baseline of the findings that are not already suppressed otherwise.
    pub fn of(findings: &[Finding]) -> Baseline {
        Baseline {
            version: BASELINE_VERSION,
            fingerprints: findings
                .iter()
                .zip(fingerprints(findings))
                .filter(|(f, _)| f.suppressed.is_none())
                .map(|(_, fingerprint)| fingerprint)
                .collect(),
            path: String::new(),
        }
    }

    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        let display = path.display().to_string();
        let fail = |message: String| BaselineError::Read {
            path: display.clone(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let mut baseline: Baseline =
            serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
        if baseline.version != BASELINE_VERSION {
            return Err(fail(format!(
                "version {} is not supported (expected {BASELINE_VERSION})",
                baseline.version
            )));
        }
        baseline.path = display;
        Ok(baseline)
    }

    pub fn write(&self, path: &Path) -> Result<(), BaselineError> {
        let fail = |message: String| BaselineError::Write {
            path: path.display().to_string(),
            message,
        };
        let mut text = serde_json::to_string_pretty(self).map_err(|e| fail(e.to_string()))?;
        text.push('\n');
        std::fs::write(path, text).map_err(|e| fail(e.to_string()))
    }

    /// Marks the findings the baseline already lists.
    pub fn apply(&self, findings: &mut [Finding]) {
        let prints = fingerprints(findings);
        for (finding, fingerprint) in findings.iter_mut().zip(prints) {
            if finding.suppressed.is_none() && self.fingerprints.contains(&fingerprint) {
                finding.suppressed = Some(Suppression {
                    by: SuppressedBy::Baseline,
                    reason: format!("already in the baseline {}", self.path),
                });
            }
        }
    }
}
