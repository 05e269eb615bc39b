//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning, GitLab and other SARIF viewers.
//!
//! A handful of serde structs of our own rather than the serde-sarif crate: we write a small
//! subset of the format, and serde-sarif generates its types from the full schema in a build
//! script (schemafy + syn), a build-time cost for types we would mostly leave empty. The
//! output is checked against the official schema (`schemas/vendor/sarif-schema-2.1.0.json`)
//! by the tests instead.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Report;
use crate::model::{Finding, Rule, RuleInfo, Severity, SuppressedBy, ci_path, fingerprints};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/iredmail-ports/iredmail-ports";
const RULE_DOCS: &str = "https://github.com/iredmail-ports/iredmail-ports/blob/main/docs/rules";
/// The `partialFingerprints` key; the version suffix changes if the hashed fields ever do,
/// so that old and new fingerprints are never compared as equals.
const FINGERPRINT_KEY: &str = "iredmailPorts/v1";

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    /// Our columns count characters, not the UTF-16 code units SARIF assumes by default.
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: String,
    version: String,
    semantic_version: String,
    information_uri: &'static str,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: &'static str,
    name: String,
    short_description: Text,
    full_description: Text,
    help: Help,
    help_uri: String,
    default_configuration: Configuration,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

/// SARIF requires `text` beside `markdown`; the rule pages are readable either way.
#[derive(Serialize)]
struct Help {
    text: &'static str,
    markdown: &'static str,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<SarifLocation>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    /// Present (and then non-empty) only for suppressed findings: code scanning shows
    /// them as dismissed instead of open.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<SarifSuppression>,
}

#[derive(Serialize)]
struct SarifSuppression {
    /// `inSource` for annotations and Compose extensions, `external` for the config
    /// file and baselines.
    kind: &'static str,
    justification: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<LogicalLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    name: String,
    fully_qualified_name: String,
    /// SARIF's well-known kind for a thing that is neither code nor data: a Kubernetes
    /// object or a Compose service.
    kind: &'static str,
}

pub fn render(report: &Report) -> String {
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: driver(report),
            },
            column_kind: "unicodeCodePoints",
            results: results(&report.findings),
        }],
    };
    // Plain structs with string keys cannot fail to serialize; `{}` would be a bug the
    // schema test catches.
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".into());
    out.push('\n');
    out
}

fn driver(report: &Report) -> Driver {
    Driver {
        name: report.tool.name.clone(),
        version: report.tool.version.clone(),
        semantic_version: report.tool.version.clone(),
        information_uri: INFORMATION_URI,
        // Every rule, not only those that fired: code scanning closes an alert when its
        // rule runs and no longer reports it.
        rules: Rule::ALL
            .iter()
            .map(|rule| descriptor(rule.info()))
            .collect(),
    }
}

fn descriptor(info: &RuleInfo) -> ReportingDescriptor {
    ReportingDescriptor {
        id: info.id,
        name: pascal_case(info.id),
        short_description: Text {
            text: info.summary.to_string(),
        },
        full_description: Text {
            text: first_paragraph(info.explanation),
        },
        help: Help {
            text: info.explanation,
            markdown: info.explanation,
        },
        help_uri: format!("{RULE_DOCS}/{}.md", info.id),
        default_configuration: Configuration {
            level: level(info.severity),
        },
    }
}

/// `internal-port-exposed` → `InternalPortExposed`, SARIF's convention for rule names.
fn pascal_case(id: &str) -> String {
    id.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect()
}

/// The first prose paragraph of a rule page, joined onto one line: the page's title and
/// its `**Severity:**` line say nothing a SARIF viewer does not already show.
fn first_paragraph(markdown: &str) -> String {
    markdown
        .split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty() && !p.starts_with('#') && !p.starts_with("**Severity:**"))
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// SARIF's levels have the same names as ours.
fn level(severity: Severity) -> &'static str {
    severity.as_str()
}

fn results(findings: &[Finding]) -> Vec<SarifResult> {
    findings
        .iter()
        .zip(fingerprints(findings))
        .map(|(finding, fingerprint)| result(finding, fingerprint))
        .collect()
}

fn result(finding: &Finding, fingerprint: String) -> SarifResult {
    SarifResult {
        rule_id: finding.rule.id(),
        rule_index: Rule::ALL
            .iter()
            .position(|rule| *rule == finding.rule)
            .unwrap_or_default(),
        level: level(finding.severity),
        message: Text {
            text: finding.message.clone(),
        },
        // GitHub code scanning rejects a whole upload when a result has only a logical
        // location, so a finding no file is to blame for (a namespace that lacks a port)
        // carries no location; its message names the object.
        locations: finding
            .location
            .is_some()
            .then(|| location(finding))
            .into_iter()
            .collect(),
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, fingerprint)]),
        suppressions: finding
            .suppressed
            .iter()
            .map(|s| SarifSuppression {
                kind: match s.by {
                    SuppressedBy::Annotation | SuppressedBy::ComposeExtension => "inSource",
                    SuppressedBy::Config | SuppressedBy::Baseline => "external",
                },
                justification: s.reason.clone(),
            })
            .collect(),
    }
}

/// The file and line, with the object as a logical location beside them.
fn location(finding: &Finding) -> SarifLocation {
    let physical_location = finding.location.as_ref().map(|l| PhysicalLocation {
        artifact_location: ArtifactLocation {
            uri: artifact_uri(&l.path),
        },
        region: Region {
            start_line: l.line.max(1),
            start_column: l.column.max(1),
        },
    });
    let logical_locations = finding
        .object
        .iter()
        .map(|object| LogicalLocation {
            name: object.clone(),
            fully_qualified_name: object.clone(),
            kind: "resource",
        })
        .collect();
    SarifLocation {
        physical_location,
        logical_locations,
    }
}

/// A file as a SARIF `uri`: relative to the current directory with forward slashes,
/// percent-encoded; `stdin` for standard input; a `file://` URI outside the current
/// directory.
fn artifact_uri(path: &str) -> String {
    let Some(path) = ci_path(path) else {
        return "stdin".into();
    };
    let encoded = percent_encode(&path);
    if path.starts_with('/') {
        format!("file://{encoded}")
    } else if std::path::Path::new(&path).is_absolute() {
        // A Windows path such as `C:/x`: a file URI puts a slash before the drive.
        format!("file:///{encoded}")
    } else {
        encoded
    }
}

/// Encodes every byte that may not stand as-is in a URI path. `:` is encoded too: in the
/// first segment of a relative reference it would read as a scheme.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&byte);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(pascal_case("internal-port-exposed"), "InternalPortExposed");
        assert_eq!(pascal_case("host-network"), "HostNetwork");
    }

    #[test]
    fn the_full_description_skips_the_title_and_the_severity_line() {
        let page = "# r\n\n**Severity:** error\n\nFirst\nparagraph.\n\nSecond.";
        assert_eq!(first_paragraph(page), "First paragraph.");
    }

    #[test]
    fn uris_are_relative_slashed_and_encoded() {
        assert_eq!(artifact_uri("./a/b c.yaml"), "a/b%20c.yaml");
        assert_eq!(artifact_uri("-"), "stdin");
        assert_eq!(artifact_uri("x:y.yaml"), "x%3Ay.yaml");
        if cfg!(unix) {
            assert_eq!(artifact_uri("/nowhere/ä.yml"), "file:///nowhere/%C3%A4.yml");
        }
    }
}
