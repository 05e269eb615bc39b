//! `--format text`: findings grouped by file, each with a frame of the line that causes
//! it, in the style of rustc and cargo-deny.

use std::borrow::Cow;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::Report;
use crate::model::{Finding, Rule, Severity};
use crate::model::{Location, source_lines};

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
                "{}: {}[{}]: {} (suppressed by {}: {})\n",
                shown(&at),
                finding.severity,
                finding.rule.id(),
                shown(&finding.message),
                suppression.by.as_str(),
                shown(&suppression.reason)
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
    let name = file.map_or(Cow::Borrowed("(not tied to a file)"), shown);
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
    let message = shown(&finding.message);
    let path = finding.location.as_ref().map(|l| shown(&l.path));
    let title = level(finding.severity).primary_title(message).id(id);
    let details = details(finding);
    let frame = finding
        .location
        .as_ref()
        .and_then(|l| frame(l, report).map(|f| (l, f)));
    let mut main: Group<'_> = match &frame {
        Some((_, (text, start_line, span))) => title.element(
            Snippet::source(text.as_str())
                .line_start(*start_line)
                .path(path.unwrap_or_default())
                .annotation(AnnotationKind::Primary.span(span.clone())),
        ),
        None => Group::with_title(title),
    };
    if let (Some(location), None) = (&finding.location, &frame) {
        main = main.element(Level::NOTE.message(format!(
            "at {}:{}:{}",
            shown(&location.path),
            location.line,
            location.column
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
        parts.push(format!("object: {}", shown(object)));
    }
    if let Some(template) = finding.location.as_ref().and_then(|l| l.template.as_ref()) {
        parts.push(format!("Helm template: {}", shown(template)));
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
/// column to the end of the line. Both lines are shown escaped, the span measured on the
/// escaped text.
fn frame(location: &Location, report: &Report) -> Option<(String, usize, std::ops::Range<usize>)> {
    let source = report.sources.get(&location.path)?;
    let line = usize::try_from(location.line).ok()?;
    let index = line.checked_sub(1)?;
    // Split as locations count lines (a lone carriage return ends one too), or a frame
    // would show another line than the one reported.
    let lines = source_lines(source);
    let target = lines.get(index)?;
    let first = index.saturating_sub(1);
    let mut text = String::new();
    for previous in lines.get(first..index)? {
        text.push_str(&shown(previous));
        text.push('\n');
    }
    let column = usize::try_from(location.column).ok()?.saturating_sub(1);
    let start = target
        .char_indices()
        .nth(column)
        .map_or(target.len(), |(i, _)| i);
    let end = token_end(target, start);
    let before = text.len() + shown(&target[..start]).len();
    let token = shown(&target[start..end]).len();
    let line_start = text.len();
    text.push_str(&shown(target));
    let span = if token == 0 {
        line_start..text.len()
    } else {
        before..before + token
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
            shown(&report.catalogue)
        );
    }
    format!(
        "{}, {}, {}{suppressed} in {} ({}), catalogue {}\n",
        plural(s.error, "error"),
        plural(s.warning, "warning"),
        plural(s.note, "note"),
        plural(s.files, "file"),
        plural(s.objects, "object"),
        shown(&report.catalogue)
    )
}

/// Text from the input as a terminal may show it: control characters (ESC of ANSI and
/// OSC sequences, CR, LF, BEL, C1 controls) and the invisible direction marks and
/// overrides that reorder what a reader sees are written as escapes, so a hostile name
/// or path can neither drive the terminal nor start a CI log's workflow command on a
/// line of its own. Tabs stay: YAML indents with spaces, and a tab is harmless.
fn shown(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) && u32::from(c) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
            | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        assert_eq!(shown("mariadb"), "mariadb");
        assert_eq!(shown("a\x1b]0;pwned\x07b"), "a\\x1b]0;pwned\\x07b");
        assert_eq!(shown("x\n::error::fake"), "x\\n::error::fake");
        assert_eq!(shown("r\rs\u{9b}"), "r\\rs\\x9b");
        assert_eq!(shown("evil\u{202e}gpj.yaml"), "evil\\u{202e}gpj.yaml");
        assert_eq!(shown("tab\tstays"), "tab\tstays");
    }
}
