//! `--format json`: the report as `schemas/report.schema.json` describes it.

use super::Report;

pub fn render(report: &Report) -> String {
    // Serializing plain data with string keys cannot fail; an empty object would be a bug
    // the snapshot tests catch.
    let mut out = serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".into());
    out.push('\n');
    out
}
