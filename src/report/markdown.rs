//! `--format markdown`: a summary for `$GITHUB_STEP_SUMMARY` or a pull-request comment,
//! a heading, the counts and a table of the findings.

use super::Report;
use crate::model::{Finding, ci_path};

/// Where the rule pages live, for the links in the rule column.
const RULE_DOCS: &str = "https://github.com/iredmail-ports/iredmail-ports/blob/main/docs/rules";

/// Rows shown at most. A pull-request comment holds 65,536 characters and a row takes a
/// few hundred, so a longer table would make posting the comment fail.
const MAX_ROWS: usize = 100;

pub fn render(report: &Report) -> String {
    let mut out = String::from("## iredmail-ports\n\n");
    if report.findings.is_empty() {
        out.push_str(&format!("No findings in {}.\n", scope_phrase(report)));
        return out;
    }
    out.push_str(&counts_line(report));
    out.push_str("\n| severity | rule | location | object | message |\n");
    out.push_str("|---|---|---|---|---|\n");
    for finding in report.findings.iter().take(MAX_ROWS) {
        out.push_str(&row(finding));
    }
    if let Some(hidden) = report
        .findings
        .len()
        .checked_sub(MAX_ROWS)
        .filter(|&n| n > 0)
    {
        out.push_str(&format!(
            "\n… and {} not shown; the `text`, `json` or `sarif` report has them all.\n",
            plural(hidden, "more finding")
        ));
    }
    out
}

/// `**2 errors**, 3 warnings, 0 notes in 4 files (12 objects), catalogue `iredmail``.
fn counts_line(report: &Report) -> String {
    let s = &report.summary;
    let suppressed = if s.suppressed == 0 {
        String::new()
    } else {
        format!(" ({} suppressed)", s.suppressed)
    };
    format!(
        "**{}**, {}, {}{suppressed} in {}.\n",
        plural(s.error, "error"),
        plural(s.warning, "warning"),
        plural(s.note, "note"),
        scope_phrase(report)
    )
}

fn scope_phrase(report: &Report) -> String {
    let s = &report.summary;
    format!(
        "{} ({}), catalogue `{}`",
        plural(s.files, "file"),
        plural(s.objects, "object"),
        report.catalogue
    )
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn row(finding: &Finding) -> String {
    let id = finding.rule.id();
    let location = finding.location.as_ref().map_or_else(String::new, |l| {
        let path = ci_path(&l.path).unwrap_or_else(|| "stdin".into());
        code(&format!("{path}:{}", l.line))
    });
    let object = finding.object.as_deref().map_or_else(String::new, code);
    // A suppressed finding stays in the table, marked, with its reason.
    let (severity, message) = match &finding.suppressed {
        None => (finding.severity.to_string(), finding.message.clone()),
        Some(s) => (
            format!("{} (suppressed)", finding.severity),
            format!(
                "{} — suppressed by {}: {}",
                finding.message,
                s.by.as_str(),
                s.reason
            ),
        ),
    };
    format!(
        "| {severity} | [{id}]({RULE_DOCS}/{id}.md) | {location} | {object} | {} |\n",
        cell(&message)
    )
}

/// Text made safe for one table cell: a `|` would end the cell and a newline the row; `<`
/// is escaped so that text from a manifest cannot open an HTML tag in the comment.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace("\r\n", " ")
        .replace(['\n', '\r'], " ")
}

/// A code span in a cell; GitHub's tables honour `\|` even inside one. A double fence
/// keeps a backtick in the text from closing the span.
fn code(text: &str) -> String {
    let text = text.replace('|', "\\|").replace(['\n', '\r'], " ");
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_pipes_newlines_and_tags() {
        assert_eq!(cell("a|b\nc <b>"), "a\\|b c &lt;b>");
        assert_eq!(code("x|y"), "`x\\|y`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }
}
