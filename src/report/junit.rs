//! `--format junit`: JUnit XML for the test reports of GitLab, Jenkins and the like.
//!
//! One test suite per file with findings (named by the path), one test case per finding.
//! A finding at or above `--fail-on` is a failed test case; one below it passes, with the
//! finding in its `<system-out>` and its severity and rule as properties, so that a run
//! that exits 0 is green in GitLab and Jenkins and still shows what it found; a
//! suppressed finding is a skipped test case with its reason. JUnit allows one `<failure>` per test case: Jenkins shows only the first of
//! several and other readers reject them, so each finding is its own test case, named by
//! its object, rule and port. Names are kept unique within a suite because GitLab shows
//! only the first of test cases that share a name. A clean run has one passing test case,
//! so CI shows that the check ran.

use std::collections::HashMap;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::Report;
use crate::model::{Finding, Severity, ci_path};

/// The suite of a clean run, and of findings not tied to a file.
const TOOL_SUITE: &str = "iredmail-ports";

/// `fail_at`: the `--fail-on` severity; `None` (`never`) fails no test case.
pub fn render(report: &Report, fail_at: Option<Severity>) -> String {
    let mut junit = quick_junit::Report::new(TOOL_SUITE);
    if report.findings.is_empty() {
        junit.add_test_suite(clean_suite());
    }
    for (file, findings) in by_file(&report.findings) {
        junit.add_test_suite(suite(&file, &findings, fail_at));
    }
    // Writing XML to memory only fails on a bug in quick-junit; an empty report is then
    // better than no report.
    junit.to_string().unwrap_or_else(|_| {
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{TOOL_SUITE}\"/>")
    }) + "\n"
}

fn clean_suite() -> TestSuite {
    let mut suite = TestSuite::new(TOOL_SUITE);
    let mut case = TestCase::new("all files", TestCaseStatus::success());
    case.set_classname(TOOL_SUITE);
    suite.add_test_case(case);
    suite
}

/// Findings grouped by file in report order (already sorted by file, the ones without a
/// file last).
fn by_file(findings: &[Finding]) -> Vec<(String, Vec<&Finding>)> {
    let mut groups: Vec<(String, Vec<&Finding>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for finding in findings {
        let file = suite_name(finding);
        let at = *index.entry(file.clone()).or_insert_with(|| {
            groups.push((file, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(finding);
    }
    groups
}

fn suite_name(finding: &Finding) -> String {
    match &finding.location {
        Some(location) => ci_path(&location.path).unwrap_or_else(|| "stdin".into()),
        None => TOOL_SUITE.into(),
    }
}

fn suite(file: &str, findings: &[&Finding], fail_at: Option<Severity>) -> TestSuite {
    let mut suite = TestSuite::new(file);
    let mut names: Vec<String> = Vec::new();
    for finding in findings {
        let name = unique(case_name(finding), &names);
        names.push(name.clone());
        suite.add_test_case(case(file, name, finding, fail_at));
    }
    suite
}

/// `compose/mail/postfix: deprecated-port 465`.
fn case_name(finding: &Finding) -> String {
    let object = finding.object.as_deref().unwrap_or("(no object)");
    match finding.port {
        Some(port) => format!("{object}: {} {port}", finding.rule.id()),
        None => format!("{object}: {}", finding.rule.id()),
    }
}

/// The name, or the name with ` (2)`, ` (3)`… if the suite already has it.
fn unique(name: String, taken: &[String]) -> String {
    if !taken.contains(&name) {
        return name;
    }
    (2..)
        .map(|n| format!("{name} ({n})"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or(name)
}

fn case(file: &str, name: String, finding: &Finding, fail_at: Option<Severity>) -> TestCase {
    let fails = fail_at.is_some_and(|at| finding.severity >= at);
    let mut case = match (&finding.suppressed, fails) {
        // Suppressed: a skipped test, visible with its reason, but no failure.
        (Some(s), _) => {
            let mut status = TestCaseStatus::skipped();
            status
                .set_type(finding.rule.id())
                .set_message(format!(
                    "suppressed by {}: {} ({})",
                    s.by.as_str(),
                    s.reason,
                    finding.message
                ))
                .set_description(failure_text(finding));
            TestCase::new(name, status)
        }
        (None, true) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_type(finding.rule.id())
                .set_message(finding.message.clone())
                .set_description(failure_text(finding));
            TestCase::new(name, status)
        }
        (None, false) => {
            let mut case = TestCase::new(name, TestCaseStatus::success());
            case.set_system_out(failure_text(finding))
                .add_property(("severity", finding.severity.as_str()))
                .add_property(("rule", finding.rule.id()));
            case
        }
    };
    case.set_classname(file);
    case
}

/// `path:line:column rule severity message`, the line a reader greps for.
fn failure_text(finding: &Finding) -> String {
    let place = match (&finding.location, &finding.object) {
        (Some(l), _) => {
            let path = ci_path(&l.path).unwrap_or_else(|| "stdin".into());
            format!("{path}:{}:{}", l.line, l.column)
        }
        (None, Some(object)) => object.clone(),
        (None, None) => TOOL_SUITE.into(),
    };
    format!(
        "{place} {} {} {}",
        finding.rule.id(),
        finding.severity,
        finding.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_get_a_counter() {
        let taken = vec!["a".to_string(), "a (2)".to_string()];
        assert_eq!(unique("a".into(), &taken), "a (3)");
        assert_eq!(unique("b".into(), &taken), "b");
    }
}
