//! `--format github`: GitHub Actions workflow commands, one per finding, which the runner
//! turns into annotations on the pull request's "Files changed" tab.

use super::Report;
use crate::model::{Finding, Severity, ci_path};

pub fn render(report: &Report) -> String {
    report.findings.iter().map(command).collect()
}

/// `::error file=PATH,line=L,col=C,title=iredmail-ports RULE::MESSAGE` and its newline.
fn command(finding: &Finding) -> String {
    let title = format!("iredmail-ports {}", finding.rule.id());
    let mut properties = Vec::new();
    let mut message = finding.message.clone();
    if let Some(location) = &finding.location {
        match ci_path(&location.path) {
            Some(path) => {
                properties.push(format!("file={}", escape_property(&path)));
                properties.push(format!("line={}", location.line));
                properties.push(format!("col={}", location.column));
            }
            // An annotation cannot point into standard input: say where in the message.
            None => message = format!("stdin:{}:{}: {message}", location.line, location.column),
        }
    }
    properties.push(format!("title={}", escape_property(&title)));
    // A suppressed finding stays visible as a notice that says why it does not count.
    let severity = match &finding.suppressed {
        None => finding.severity,
        Some(s) => {
            message = format!("suppressed by {} ({}): {message}", s.by.as_str(), s.reason);
            Severity::Note
        }
    };
    format!(
        "::{} {}::{}\n",
        command_name(severity),
        properties.join(","),
        escape_data(&message)
    )
}

fn command_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    }
}

/// As `escapeData` in GitHub's actions/toolkit: a raw newline would end the command.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// As `escapeProperty` in actions/toolkit: `:` and `,` also end a property value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Built from JSON so that fields added to `Finding` later do not break the tests.
    fn finding(message: &str, path: &str) -> Finding {
        serde_json::from_value(serde_json::json!({
            "rule": "unknown-port",
            "severity": "warning",
            "port": 8080,
            "object": "compose/p/web",
            "message": message,
            "location": {"path": path, "line": 7, "column": 9},
        }))
        .expect("a valid finding")
    }

    #[test]
    fn messages_and_properties_are_escaped_as_the_toolkit_does() {
        let line = command(&finding("100% sure: port 8080\r\nis open", "a:b,c.yaml"));
        assert_eq!(
            line,
            "::warning file=a%3Ab%2Cc.yaml,line=7,col=9,title=iredmail-ports unknown-port\
             ::100%25 sure: port 8080%0D%0Ais open\n"
        );
    }

    #[test]
    fn standard_input_has_no_file_but_keeps_its_position() {
        let line = command(&finding("open", "-"));
        assert_eq!(
            line,
            "::warning title=iredmail-ports unknown-port::stdin:7:9: open\n"
        );
    }

    #[test]
    fn a_finding_without_a_location_has_only_a_title() {
        let mut f = finding("missing", "x");
        f.location = None;
        f.severity = Severity::Note;
        assert_eq!(
            command(&f),
            "::notice title=iredmail-ports unknown-port::missing\n"
        );
    }
}
