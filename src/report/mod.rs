//! Findings → report: the JSON-serializable [`Report`] and one file per output format.

mod dot;
mod github;
pub mod graph;
mod json;
mod junit;
mod markdown;
mod mermaid;
pub mod policyreport;
mod sarif;
mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Finding, Severity};

/// The version of the JSON report's shape; bumped on any incompatible change.
pub const REPORT_VERSION: u32 = 1;

/// The result of one check, as `--format json` prints it (schema:
/// `schemas/report.schema.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub version: u32,
    pub tool: Tool,
    /// The catalogue's name (`iredmail`, `iredmail-implicit-tls`, or a user's).
    pub catalogue: String,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// The text of the files that have findings, for source frames; not serialized.
    #[serde(skip)]
    #[schemars(skip)]
    pub sources: BTreeMap<String, Arc<str>>,
    /// Who reaches which port, for the graph formats; not serialized, so the JSON report
    /// keeps its shape.
    #[serde(skip)]
    #[schemars(skip)]
    pub graph: graph::Graph,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// Counts by severity of the findings that count, and how much was read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub error: usize,
    pub warning: usize,
    pub note: usize,
    /// Findings suppressed by an annotation, the config or a baseline; not in the counts
    /// above.
    pub suppressed: usize,
    /// Files (or streams) that held manifests, Compose files or problems.
    pub files: usize,
    /// Kubernetes objects and Compose services read.
    pub objects: usize,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Findings grouped by file, with a frame of the offending lines.
    Text,
    /// The JSON report of `schemas/report.schema.json`.
    Json,
    /// The same report as YAML, for `-o yaml` habits and YAML tooling.
    Yaml,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// JUnit XML, for the test reports of GitLab, Jenkins and others.
    Junit,
    /// GitHub Actions workflow commands: one annotation per finding.
    Github,
    /// A Markdown summary for `$GITHUB_STEP_SUMMARY` or a pull-request comment.
    Markdown,
    /// A Graphviz DOT reachability graph: who reaches which port, findings in red.
    Dot,
    /// The same graph as a Mermaid flowchart, for Markdown that renders Mermaid.
    Mermaid,
    /// wg-policy PolicyReports (wgpolicyk8s.io/v1alpha2): one per namespace, a
    /// ClusterPolicyReport for the rest, as YAML for `kubectl apply -f -`.
    Policyreport,
}

impl Format {
    /// Whether the format draws the reachability graph.
    pub fn draws_graph(self) -> bool {
        matches!(self, Format::Dot | Format::Mermaid)
    }
}

impl Report {
    pub fn new(
        catalogue: &str,
        findings: Vec<Finding>,
        files: usize,
        objects: usize,
        mut sources: BTreeMap<String, Arc<str>>,
    ) -> Report {
        let count = |s: Severity| {
            findings
                .iter()
                .filter(|f| f.severity == s && f.suppressed.is_none())
                .count()
        };
        let summary = Summary {
            error: count(Severity::Error),
            warning: count(Severity::Warning),
            note: count(Severity::Note),
            suppressed: findings.iter().filter(|f| f.suppressed.is_some()).count(),
            files,
            objects,
        };
        let cited: BTreeSet<&str> = findings
            .iter()
            .filter_map(|f| f.location.as_ref())
            .map(|l| l.path.as_str())
            .collect();
        sources.retain(|path, _| cited.contains(path.as_str()));
        Report {
            version: REPORT_VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME").to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            },
            catalogue: catalogue.to_string(),
            findings,
            summary,
            sources,
            graph: graph::Graph::default(),
        }
    }

    /// The report with the reachability graph that `dot` and `mermaid` draw.
    pub fn with_graph(mut self, graph: graph::Graph) -> Report {
        self.graph = graph;
        self
    }

    /// Whether any finding is at or above `threshold` (`None`: never fail).
    pub fn fails(&self, threshold: Option<Severity>) -> bool {
        threshold.is_some_and(|t| {
            self.findings
                .iter()
                .any(|f| f.severity >= t && f.suppressed.is_none())
        })
    }

    /// Renders the report for the default `--fail-on error`; `color` only matters for
    /// text on a terminal.
    pub fn render(&self, format: Format, color: bool) -> String {
        self.render_failing_at(format, color, Some(Severity::Error))
    }

    /// Renders the report for a `--fail-on` severity (`None`: never), which decides what
    /// JUnit counts as a failed test case. The other formats keep severities as they are:
    /// SARIF levels and GitHub annotation levels are the findings' own.
    pub fn render_failing_at(
        &self,
        format: Format,
        color: bool,
        fail_at: Option<Severity>,
    ) -> String {
        match format {
            Format::Text => text::render(self, color),
            Format::Json => json::render(self),
            Format::Yaml => json::render_yaml(self),
            Format::Sarif => sarif::render(self),
            Format::Junit => junit::render(self, fail_at),
            Format::Github => github::render(self),
            Format::Markdown => markdown::render(self),
            Format::Dot => dot::render(self),
            Format::Mermaid => mermaid::render(self),
            Format::Policyreport => policyreport::render(self),
        }
    }
}
