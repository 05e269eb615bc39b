//! `--format text`: findings grouped by file, each with a frame of the line that causes
//! it, in the style of rustc and cargo-deny.

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::Report;
use crate::model::Location;
use crate::model::{Finding, Rule, Severity};

pub fn render(report: &Report, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    let mut current_file: Option<&str> = None;
    let (suppressed, active): (Vec<&Finding>, Vec<&Finding>) =
        report.findings.iter().partition(|f| f.suppressed.is_some());
    for finding in &active {
        let file = finding.location.as_ref().map(|l| l.path.as_str());
        if file != current_file {
            current_file = file;
            out.push_str(&file_header(file, &active));
        }
        out.push_str(&render_finding(finding, report, &renderer));
        out.push_str("\n\n");
    }
    out.push_str(&suppressed_section(&suppressed));
    out.push_str(&summary_line(report));
    out
}

/// Suppressed findings, one line each: still visible, never silently dropped.
fn suppressed_section(suppressed: &[&Finding]) -> String {
    if suppressed.is_empty() {
        return String::new();
    }
    let mut out = format!("── suppressed: {}\n\n", suppressed.len());
    for finding in suppressed {
        let at = finding.location.as_ref().map_or_else(
            || finding.object.clone().unwrap_or_default(),
            |l| format!("{}:{}:{}", l.path, l.line, l.column),
        );
        if let Some(suppression) = &finding.suppressed {
            out.push_str(&format!(
                "{at}: {}[{}]: {} (suppressed by {}: {})\n",
                finding.severity,
                finding.rule.id(),
                finding.message,
                suppression.by.as_str(),
                suppression.reason
            ));
        }
    }
    out.push('\n');
    out
}

fn file_header(file: Option<&str>, findings: &[&Finding]) -> String {
    let count = findings
        .iter()
        .filter(|f| f.location.as_ref().map(|l| l.path.as_str()) == file)
        .count();
    let name = file.unwrap_or("(not tied to a file)");
    let plural = if count == 1 { "" } else { "s" };
    format!("── {name}: {count} finding{plural}\n\n")
}

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Note => Level::NOTE,
    }
}

fn render_finding(finding: &Finding, report: &Report, renderer: &Renderer) -> String {
    let id = finding.rule.id();
    let title = level(finding.severity)
        .primary_title(finding.message.as_str())
        .id(id);
    let details = details(finding);
    let frame = finding
        .location
        .as_ref()
        .and_then(|l| frame(l, report).map(|f| (l, f)));
    let mut main: Group<'_> = match &frame {
        Some((location, (text, start_line, span))) => title.element(
            Snippet::source(text.as_str())
                .line_start(*start_line)
                .path(location.path.as_str())
                .annotation(AnnotationKind::Primary.span(span.clone())),
        ),
        None => Group::with_title(title),
    };
    if let (Some(location), None) = (&finding.location, &frame) {
        main = main.element(Level::NOTE.message(format!(
            "at {}:{}:{}",
            location.path, location.line, location.column
        )));
    }
    main = main.element(Level::NOTE.message(details));
    let groups = [main];
    renderer.render(&groups)
}

/// The object and scopes, on one line below the frame.
fn details(finding: &Finding) -> String {
    let mut parts = Vec::new();
    if let Some(object) = &finding.object {
        parts.push(format!("object: {object}"));
    }
    if let Some(template) = finding.location.as_ref().and_then(|l| l.template.as_ref()) {
        parts.push(format!("Helm template: {template}"));
    }
    // The catalogue's scope is worth a word only where the finding is about it: a port
    // reaching wider than allowed, or a required one reaching too narrowly.
    match (finding.scope, finding.allowed_scope) {
        (Some(scope), Some(required)) if finding.rule == Rule::MissingPort => {
            parts.push(format!("scope: {scope} (required: {required})"));
        }
        (Some(scope), Some(allowed)) if scope > allowed => {
            parts.push(format!("scope: {scope} (allowed: {allowed})"));
        }
        (Some(scope), _) => parts.push(format!("scope: {scope}")),
        _ => {}
    }
    parts.push(format!(
        "explain: iredmail-ports explain {}",
        finding.rule.id()
    ));
    parts.join(" · ")
}

/// The offending line and the one before it, with the byte span to underline: from the
/// column to the end of the line.
fn frame(location: &Location, report: &Report) -> Option<(String, usize, std::ops::Range<usize>)> {
    let source = report.sources.get(&location.path)?;
    let line = usize::try_from(location.line).ok()?;
    let index = line.checked_sub(1)?;
    let lines: Vec<&str> = source.lines().collect();
    let target = lines.get(index)?.trim_end_matches('\r');
    let first = index.saturating_sub(1);
    let mut text = String::new();
    for previous in lines.get(first..index)? {
        text.push_str(previous.trim_end_matches('\r'));
        text.push('\n');
    }
    let offset = text.len();
    text.push_str(target);
    let column = usize::try_from(location.column).ok()?.saturating_sub(1);
    let start = target
        .char_indices()
        .nth(column)
        .map_or(target.len(), |(i, _)| i);
    let end = token_end(target, start);
    let span = if start == end {
        offset..offset + target.len()
    } else {
        offset + start..offset + end
    };
    Some((text, first + 1, span))
}

/// Where the underlined token ends: the end of the line, or the end of the entry in a
/// flow mapping (`{name: smtp, port: 25}` underlines `port: 25`).
fn token_end(line: &str, start: usize) -> usize {
    let rest = &line[start..];
    let quoted = rest.starts_with(['"', '\'']);
    let cut = if quoted {
        None
    } else {
        rest.find([',', '}', ']'])
    };
    let end = cut.map_or(line.trim_end().len(), |i| start + i);
    line[..end].trim_end().len().max(start)
}

fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    let suppressed = if s.suppressed == 0 {
        String::new()
    } else {
        format!(" ({} suppressed)", s.suppressed)
    };
    if s.error + s.warning + s.note == 0 {
        return format!(
            "no findings{suppressed} in {} ({}), catalogue {}\n",
            plural(s.files, "file"),
            plural(s.objects, "object"),
            report.catalogue
        );
    }
    format!(
        "{}, {}, {}{suppressed} in {} ({}), catalogue {}\n",
        plural(s.error, "error"),
        plural(s.warning, "warning"),
        plural(s.note, "note"),
        plural(s.files, "file"),
        plural(s.objects, "object"),
        report.catalogue
    )
}
