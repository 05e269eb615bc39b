//! Where things are in the inputs, and what could not be read there.

use std::path::{Component, Path};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A place in an input: a file (or `-` for stdin, or `Kind/namespace/name` for a live
/// object) with a 1-based line and column.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct Location {
    /// The file as given on the command line (relative paths stay relative).
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The Helm template that produced this object (`# Source:` line), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Box<str>>,
    /// In a live object (from the API server), the field, until the engine turns it into
    /// a line of the object's YAML for the findings that need one.
    #[serde(skip)]
    #[schemars(skip)]
    pub field: Option<Box<[PathSegment]>>,
}

impl Location {
    pub fn new(path: impl Into<String>, line: u32, column: u32) -> Location {
        Location {
            path: path.into(),
            line,
            column,
            template: None,
            field: None,
        }
    }

    /// A field of a live object named `Kind/namespace/name`: its line is looked up only
    /// if a report shows it.
    pub fn in_live_object(object: impl Into<String>, field: Vec<PathSegment>) -> Location {
        Location {
            field: Some(field.into_boxed_slice()),
            ..Location::start_of(object)
        }
    }

    /// The first character of an input: where a problem with the whole input is shown.
    pub fn start_of(path: impl Into<String>) -> Location {
        Location::new(path, 1, 1)
    }

    /// The same place, produced by a Helm template.
    pub fn in_template(self, template: Option<String>) -> Location {
        Location {
            template: template.map(String::into_boxed_str),
            ..self
        }
    }
}

/// One step of a field path, as serde and JSON Schema report them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

impl PathSegment {
    pub fn key(name: &str) -> PathSegment {
        PathSegment::Key(name.to_string())
    }
}

/// An input that could not be read or typed. Loaders record these and go on; the
/// `invalid-input` rule reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    pub object: Option<String>,
    pub message: String,
    pub location: Location,
    pub impact: Impact,
}

/// What a problem costs the check, which decides its severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impact {
    /// A file, document or object is not checked at all: an error.
    Unread,
    /// One value (a Jinja expression in a playbook) cannot be rendered, so its port is not
    /// checked; the rest of the object is: a note.
    ValueSkipped,
    /// A kind of object the API server would not list (forbidden, or not served): those
    /// objects are not checked, the rest of the cluster is: a note.
    NotListed,
    /// A field the object's kind does not have (`hostport:`, `spec.portz`): kubectl's
    /// strict field validation refuses the object, and a typo may hide an exposure. The
    /// rest of the object is checked; the field is not: an error.
    UnknownField,
}

impl InvalidInput {
    /// A file, document or object that is not checked at all.
    pub fn unread(location: Location, message: impl Into<String>) -> InvalidInput {
        InvalidInput::new(location, message, Impact::Unread)
    }

    /// One value that cannot be rendered; the rest of its object is checked.
    pub fn value_skipped(location: Location, message: impl Into<String>) -> InvalidInput {
        InvalidInput::new(location, message, Impact::ValueSkipped)
    }

    /// A field the object's kind does not have.
    pub fn unknown_field(location: Location, message: impl Into<String>) -> InvalidInput {
        InvalidInput::new(location, message, Impact::UnknownField)
    }

    /// A kind the API server would not list.
    pub fn not_listed(location: Location, message: impl Into<String>) -> InvalidInput {
        InvalidInput::new(location, message, Impact::NotListed)
    }

    pub fn new(location: Location, message: impl Into<String>, impact: Impact) -> InvalidInput {
        InvalidInput {
            object: None,
            message: message.into(),
            location,
            impact,
        }
    }

    /// The same problem, blamed on an object (`Kind/namespace/name`).
    pub fn of_object(self, object: impl Into<String>) -> InvalidInput {
        InvalidInput {
            object: Some(object.into()),
            ..self
        }
    }
}

/// The lines of a text as every location counts them, because the YAML parser does: a
/// line ends at a line feed, a carriage return and line feed, or a carriage return alone
/// (`str::lines` does not know the last). A final line break ends the last line; it does
/// not start another.
pub fn source_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// The 1-based line and column (in characters) of what follows `before` in its text.
pub fn position_after(before: &str) -> (u32, u32) {
    let mut line = 1usize;
    let mut column = 1usize;
    let mut chars = before.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => (line, column) = (line + 1, 1),
            '\r' => {
                chars.next_if_eq(&'\n');
                (line, column) = (line + 1, 1);
            }
            _ => column += 1,
        }
    }
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// A finding's file as CI tools name it: relative to the current directory when it is
/// inside it (CI runs from the repository root), with forward slashes and no `./`.
/// `None` for standard input, which no tool can open.
pub fn ci_path(path: &str) -> Option<String> {
    if path == "-" {
        return None;
    }
    let path = Path::new(path);
    let cwd = std::env::current_dir().ok();
    let relative = cwd
        .as_deref()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path);
    Some(slashed(relative))
}

/// The path with `/` between components whatever the platform, `.` components dropped.
fn slashed(path: &Path) -> String {
    let mut out = String::new();
    for component in path.components() {
        match component {
            Component::Prefix(prefix) => out.push_str(&prefix.as_os_str().to_string_lossy()),
            Component::RootDir => out.push('/'),
            Component::CurDir => {}
            Component::ParentDir | Component::Normal(_) => {
                if !out.is_empty() && !out.ends_with('/') {
                    out.push('/');
                }
                out.push_str(&component.as_os_str().to_string_lossy());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_where_the_yaml_parser_ends_them() {
        assert_eq!(source_lines("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(source_lines("a\n"), ["a"]);
        assert_eq!(source_lines("a\n\n"), ["a", ""]);
        assert!(source_lines("").is_empty());
        assert_eq!(position_after(""), (1, 1));
        assert_eq!(position_after("ab"), (1, 3));
        assert_eq!(position_after("a\r\nbé"), (2, 3));
        assert_eq!(position_after("a\rb\n"), (3, 1));
    }

    #[test]
    fn ci_paths_lose_dot_components_and_the_current_directory() {
        assert_eq!(ci_path("./a/./b.yaml").as_deref(), Some("a/b.yaml"));
        assert_eq!(ci_path("-"), None);
        let cwd = std::env::current_dir().expect("a current directory");
        let inside = cwd.join("x").join("y.yaml");
        let inside = inside.to_str().expect("UTF-8 path");
        assert_eq!(ci_path(inside).as_deref(), Some("x/y.yaml"));
    }
}
