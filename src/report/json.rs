//! `--format json`: the report as `schemas/report.schema.json` describes it; `--format
//! yaml`: the same document as YAML.

use super::Report;

pub fn render(report: &Report) -> String {
    // Serializing plain data with string keys cannot fail; an empty object would be a bug
    // the snapshot tests catch.
    let mut out = serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".into());
    out.push('\n');
    out
}

pub fn render_yaml(report: &Report) -> String {
    // The JSON value first, so that both formats hold the same fields in the same order.
    let value = serde_json::to_value(report).unwrap_or_default();
    serde_saphyr::to_string(&value).unwrap_or_else(|_| "{}\n".into())
}
