//! Findings, and the suppressions that objects, the config and a baseline put on them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Exposure, Location, Protocol, Rule, Scope, Severity};

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

impl Finding {
    /// A finding with the rule's default severity and no port details.
    pub fn new(rule: Rule, message: String) -> Finding {
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

    /// A finding about one exposure: its port, protocol, scope, object and line.
    pub fn about(rule: Rule, exposure: &Exposure, message: String) -> Finding {
        Finding {
            port: Some(exposure.target),
            protocol: Some(exposure.protocol),
            scope: Some(exposure.scope),
            object: Some(exposure.object.clone()),
            location: exposure.location.clone(),
            ..Finding::new(rule, message)
        }
    }
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

/// An object's own request to suppress some of its findings: the
/// `iredmail-ports.io/ignore` annotation or a Compose service's `x-iredmail-ports`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignore {
    /// Rules, each for one port or (`None`) for every port.
    pub entries: Vec<(Rule, Option<u16>)>,
    pub reason: String,
    pub location: Location,
}

/// An [`Ignore`] with the object it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineSuppression {
    pub object: String,
    pub by: SuppressedBy,
    pub ignore: Ignore,
}

impl Ignore {
    /// Parses `internal-port-exposed:3306,unknown-port`.
    pub fn parse_entries(text: &str) -> Result<Vec<(Rule, Option<u16>)>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let (rule, port) = match entry.split_once(':') {
                    Some((rule, port)) => {
                        let port = port
                            .trim()
                            .parse::<u16>()
                            .ok()
                            .filter(|p| *p != 0)
                            .ok_or_else(|| format!("`{entry}`: `{port}` is not a port"))?;
                        (rule.trim(), Some(port))
                    }
                    None => (entry, None),
                };
                Ok((rule.parse()?, port))
            })
            .collect()
    }
}
