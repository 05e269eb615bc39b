//! YAML and JSON documents with a line and column on every node.
//!
//! Built on `saphyr-parser`'s event stream rather than a deserializer, because the report
//! needs the line of any field (`spec.ports[1].port`) while the objects are typed by
//! k8s-openapi, whose structs cannot carry spans. The tree is built without recursion, so
//! nesting depth, alias expansion and node count are all bounded here, before anything
//! else sees the input.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::model::{PathSegment, source_lines};

/// Deepest nesting accepted; real manifests stay far below it.
pub const MAX_DEPTH: usize = 128;
/// Most nodes one file may expand to, aliases included (the billion-laughs guard).
pub const MAX_NODES: usize = 2_000_000;

/// A YAML node with the 1-based line and column where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A mapping entry; the key keeps its own position so errors can point at `port:` itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_line: u32,
    pub key_column: u32,
    pub value: Node,
}

/// One document of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub root: Node,
    /// The Helm template named by a `# Source:` comment just before the document.
    pub template: Option<String>,
}

/// Why a stream could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// One step of a field path written in code, borrowed: `field_path(&[Key("spec"), Index(0)])`.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The field path the steps spell.
pub fn field_path(steps: &[Step]) -> Vec<PathSegment> {
    steps
        .iter()
        .map(|step| match step {
            Step::Key(name) => PathSegment::key(name),
            Step::Index(i) => PathSegment::Index(*i),
        })
        .collect()
}

impl Node {
    fn new(value: Value, line: u32, column: u32) -> Node {
        Node {
            value,
            line,
            column,
        }
    }

    /// The value of `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The whole entry of `key`, with the key's own position.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// A scalar as text, the way YAML wrote it (numbers and booleans included).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::String(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// A tree from a JSON value that has no text (an object from the API server): every
    /// node at 1:1. Its locations are field paths instead (see [`Location::in_live_object`](crate::model::Location::in_live_object)).
    pub fn from_json(value: &serde_json::Value) -> Node {
        use serde_json::Value as J;
        let value = match value {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or_default()),
            },
            J::String(s) => Value::String(s.clone()),
            J::Array(items) => Value::Seq(items.iter().map(Node::from_json).collect()),
            J::Object(map) => Value::Map(
                map.iter()
                    .map(|(key, value)| Entry {
                        key: key.clone(),
                        key_line: 1,
                        key_column: 1,
                        value: Node::from_json(value),
                    })
                    .collect(),
            ),
        };
        Node::new(value, 1, 1)
    }

    /// Converts to JSON so typed structs (k8s-openapi, the catalogue) and JSON Schema can
    /// read it. Depth is bounded by [`MAX_DEPTH`], so the recursion is too.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::String(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// The line and column of the deepest node on `path`: the key itself for a mapping
    /// entry, the item for a sequence element. Stops at the last step that exists, so a
    /// missing field points at its parent.
    pub fn position_of(&self, path: &[PathSegment]) -> (u32, u32) {
        let mut node = self;
        let mut position = (self.line, self.column);
        for segment in path {
            let next = match (segment, &node.value) {
                (PathSegment::Key(key), Value::Map(_)) => node.entry(key).map(|e| {
                    position = (e.key_line, e.key_column);
                    &e.value
                }),
                (PathSegment::Index(i), Value::Seq(items)) => items.get(*i).inspect(|item| {
                    position = (item.line, item.column);
                }),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        position
    }
}

/// Where each field of a document starts, without the values: what an object keeps once
/// it is typed, so the YAML tree (every string of the file) can be dropped. Nodes are in
/// pre-order; a node's children follow it, and `span` skips to its next sibling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Positions {
    nodes: Vec<Position>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    /// FNV-1a of the mapping key that leads here; 0 for a sequence item or the root.
    key: u64,
    /// Where the field starts: the key of a mapping entry, the item of a sequence.
    line: u32,
    column: u32,
    /// This node and all below it.
    span: u32,
    /// Whether the children are mapping entries (looked up by key) or sequence items.
    is_map: bool,
}

impl Positions {
    pub fn of(root: &Node) -> Positions {
        let mut nodes = Vec::new();
        push_positions(root, 0, root.line, root.column, &mut nodes);
        Positions { nodes }
    }

    /// The line and column of a field, or of the deepest part of its path that exists, as
    /// [`Node::position_of`] gives them.
    pub fn position_of(&self, path: &[PathSegment]) -> (u32, u32) {
        let Some(root) = self.nodes.first() else {
            return (1, 1);
        };
        let mut at = 0usize;
        let mut position = (root.line, root.column);
        for segment in path {
            match self.child(at, segment) {
                Some(child) => {
                    at = child;
                    position = (self.nodes[child].line, self.nodes[child].column);
                }
                None => break,
            }
        }
        position
    }

    fn child(&self, parent: usize, segment: &PathSegment) -> Option<usize> {
        let node = self.nodes.get(parent)?;
        let end = parent + node.span as usize;
        let mut child = parent + 1;
        let mut index = 0usize;
        while child < end {
            let found = match segment {
                PathSegment::Key(key) => node.is_map && self.nodes[child].key == fnv1a(key),
                PathSegment::Index(wanted) => !node.is_map && index == *wanted,
            };
            if found {
                return Some(child);
            }
            child += self.nodes[child].span.max(1) as usize;
            index += 1;
        }
        None
    }
}

fn push_positions(node: &Node, key: u64, line: u32, column: u32, out: &mut Vec<Position>) {
    let at = out.len();
    out.push(Position {
        key,
        line,
        column,
        span: 1,
        is_map: matches!(node.value, Value::Map(_)),
    });
    match &node.value {
        Value::Map(entries) => {
            for entry in entries {
                push_positions(
                    &entry.value,
                    fnv1a(&entry.key),
                    entry.key_line,
                    entry.key_column,
                    out,
                );
            }
        }
        Value::Seq(items) => {
            for item in items {
                push_positions(item, 0, item.line, item.column, out);
            }
        }
        _ => {}
    }
    let span = u32::try_from(out.len() - at).unwrap_or(u32::MAX);
    out[at].span = span;
}

/// 64-bit FNV-1a: keys are compared by hash, and two keys of one mapping that collide
/// are not a concern at 64 bits.
fn fnv1a(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Renders a path the way Kubernetes users write it: `spec.ports[0].port`.
pub fn path_to_string(path: &[PathSegment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            PathSegment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The path of a serde error, as steps the tree can follow.
pub fn path_from_serde(path: &serde_path_to_error::Path) -> Vec<PathSegment> {
    path.iter()
        .filter_map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => Some(PathSegment::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(PathSegment::Key(key.clone())),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {
                None
            }
        })
        .collect()
}

/// Why a settings file (a catalogue, a config) cannot be used: it cannot be read, or it
/// is wrong at a line and field.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("{path}: cannot read the {what}: {message}")]
    Read {
        what: &'static str,
        path: String,
        message: String,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: u32,
        column: u32,
        message: String,
    },
}

/// Reads a settings file's text, or says which file could not be read.
pub fn read_settings(path: &std::path::Path, what: &'static str) -> Result<String, SettingsError> {
    std::fs::read_to_string(path).map_err(|e| SettingsError::Read {
        what,
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Reads a single-document YAML file into a typed value, with the line, column and field
/// path of the first error (`ports[3].scope`). Returns the tree too, for checks that
/// need to point at a field after deserialization.
pub fn deserialize_document<T: serde::de::DeserializeOwned>(
    text: &str,
) -> Result<(T, Node), YamlError> {
    let root = match parse_stream(text).documents.into_iter().next() {
        Some(Ok(document)) => document.root,
        Some(Err(error)) => return Err(error),
        None => {
            return Err(YamlError {
                line: 1,
                column: 1,
                message: "the file is empty".into(),
            });
        }
    };
    match serde_path_to_error::deserialize(root.to_json()) {
        Ok(value) => Ok((value, root)),
        Err(error) => {
            let path = path_from_serde(error.path());
            let (line, column) = root.position_of(&path);
            Err(YamlError {
                line,
                column,
                message: format!("`{}`: {}", path_to_string(&path), error.into_inner()),
            })
        }
    }
}

/// The documents of a stream, in order. A syntax error ends the stream: the documents
/// before it are kept and the error is returned beside them, so one broken document does
/// not hide the others. A document with a semantic error (duplicate key) is an `Err` in
/// its slot and parsing goes on.
pub struct Stream {
    pub documents: Vec<Result<Document, YamlError>>,
}

/// Parses a YAML (or JSON) stream.
pub fn parse_stream(text: &str) -> Stream {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let sources = helm_sources(text);
    let mut builder = Builder::default();
    let mut documents = Vec::new();
    let mut previous_end = 0u32;
    for event in Parser::new_from_str(text) {
        let (event, span) = match event {
            Ok(pair) => pair,
            Err(e) => {
                let (line, column) = within(text, e.marker().line(), e.marker().col() + 1);
                documents.push(Err(YamlError {
                    line,
                    column,
                    message: describe_scan_error(e.info()),
                }));
                break;
            }
        };
        match builder.push(event, span) {
            Ok(Some(root)) => {
                let template = template_for(&sources, previous_end, root.line);
                previous_end = line_u32(span.end.line());
                documents.push(Ok(Document { root, template }));
            }
            Ok(None) => {}
            Err(error) => {
                let fatal = builder.failed_fatally;
                documents.push(Err(error));
                if fatal {
                    break;
                }
                previous_end = line_u32(span.end.line());
                builder.skip_document();
            }
        }
    }
    Stream { documents }
}

/// The parser's own messages, reworded where a user would not know what they mean.
fn describe_scan_error(info: &str) -> String {
    if info == "recursion limit exceeded" {
        "nesting is too deep (the parser's recursion limit was exceeded)".into()
    } else {
        info.to_string()
    }
}

/// A position the parser gives for an error, kept inside `text`. At an unexpected end of
/// the stream the parser points at the line after the last one, which a file without a
/// final newline does not have: a report would cite a line that is not there and show no
/// source frame. That is the end of the last line.
fn within(text: &str, line: usize, column: usize) -> (u32, u32) {
    let lines = source_lines(text);
    let last = lines.len().max(1);
    if line <= last {
        return (line_u32(line), line_u32(column));
    }
    let width = lines.last().map_or(0, |l| l.chars().count());
    (line_u32(last), line_u32(width + 1))
}

fn line_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `# Source: chart/templates/x.yaml` lines that `helm template` writes before each object.
fn helm_sources(text: &str) -> Vec<(u32, String)> {
    if !text.contains("# Source: ") {
        return Vec::new();
    }
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let name = line.trim_end().strip_prefix("# Source: ")?;
            Some((line_u32(i + 1), name.to_string()))
        })
        .collect()
}

fn template_for(sources: &[(u32, String)], after: u32, before: u32) -> Option<String> {
    sources
        .iter()
        .rev()
        .find(|(line, _)| *line >= after && *line <= before)
        .map(|(_, name)| name.clone())
}

/// A collection being built.
enum Frame {
    Seq {
        anchor: usize,
        node: Node,
    },
    Map {
        anchor: usize,
        node: Node,
        /// The key read, waiting for its value.
        key: Option<(String, u32, u32)>,
        /// Keys seen so far, so duplicates are found in constant time per key.
        seen: HashSet<String>,
    },
}

/// Turns parser events into [`Node`] trees with an explicit stack.
#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    /// Set after a budget breach: the rest of the stream is not worth reading.
    failed_fatally: bool,
    /// Skipping the rest of a document after a semantic error.
    skipping: Option<usize>,
}

impl Builder {
    /// Feeds one event; returns a finished document root.
    fn push(&mut self, event: Event<'_>, span: Span) -> Result<Option<Node>, YamlError> {
        let line = line_u32(span.start.line());
        let column = line_u32(span.start.col() + 1);
        if let Some(depth) = self.skipping.as_mut() {
            match event {
                Event::SequenceStart(..) | Event::MappingStart(..) => *depth += 1,
                Event::SequenceEnd | Event::MappingEnd => *depth = depth.saturating_sub(1),
                Event::DocumentEnd => self.skipping = None,
                _ => {}
            }
            return Ok(None);
        }
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => Ok(None),
            Event::DocumentStart(_) => {
                self.stack.clear();
                self.anchors.clear();
                Ok(None)
            }
            Event::DocumentEnd => Ok(None),
            Event::Alias(id) => {
                let (node, size) = self.anchors.get(&id).cloned().ok_or(YamlError {
                    line,
                    column,
                    message: "alias refers to an unknown anchor".into(),
                })?;
                self.count(size, line, column)?;
                let node = Node {
                    line,
                    column,
                    ..node
                };
                self.add(node, 0, size)
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, line, column)?;
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !is_str_tag {
                    resolve_plain(&text)
                } else {
                    Value::String(text.into_owned())
                };
                self.add(Node::new(value, line, column), anchor, 1)
            }
            Event::SequenceStart(anchor, _) => {
                self.open(line, column)?;
                self.stack.push(Frame::Seq {
                    anchor,
                    node: Node::new(Value::Seq(Vec::new()), line, column),
                });
                Ok(None)
            }
            Event::MappingStart(anchor, _) => {
                self.open(line, column)?;
                self.stack.push(Frame::Map {
                    anchor,
                    node: Node::new(Value::Map(Vec::new()), line, column),
                    key: None,
                    seen: HashSet::new(),
                });
                Ok(None)
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq { anchor, node }) => {
                    let size = subtree_size(&node);
                    self.add(node, anchor, size)
                }
                Some(Frame::Map { anchor, node, .. }) => {
                    let node = apply_merge_keys(node)?;
                    let size = subtree_size(&node);
                    self.add(node, anchor, size)
                }
                None => Ok(None),
            },
        }
    }

    fn open(&mut self, line: u32, column: u32) -> Result<(), YamlError> {
        self.count(1, line, column)?;
        if self.stack.len() >= MAX_DEPTH {
            self.failed_fatally = true;
            return Err(YamlError {
                line,
                column,
                message: format!("nesting is deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(())
    }

    fn count(&mut self, nodes: usize, line: u32, column: u32) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_NODES {
            self.failed_fatally = true;
            return Err(YamlError {
                line,
                column,
                message: format!(
                    "the document expands to more than {MAX_NODES} nodes (an alias bomb?)"
                ),
            });
        }
        Ok(())
    }

    /// After a semantic error, ignore events until the current document ends.
    fn skip_document(&mut self) {
        self.skipping = Some(self.stack.len());
        self.stack.clear();
    }

    /// Places a finished node in its parent; returns it when it is a document root.
    fn add(&mut self, node: Node, anchor: usize, size: usize) -> Result<Option<Node>, YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => Ok(Some(node)),
            Some(Frame::Seq { node: parent, .. }) => {
                if let Value::Seq(items) = &mut parent.value {
                    items.push(node);
                }
                Ok(None)
            }
            Some(Frame::Map {
                node: parent,
                key,
                seen,
                ..
            }) => match key.take() {
                None => {
                    let text = key_text(&node)?;
                    *key = Some((text, node.line, node.column));
                    Ok(None)
                }
                Some((text, key_line, key_column)) => {
                    if let Value::Map(entries) = &mut parent.value {
                        if text != "<<" && !seen.insert(text.clone()) {
                            return Err(YamlError {
                                line: key_line,
                                column: key_column,
                                message: format!("duplicate key `{text}`"),
                            });
                        }
                        entries.push(Entry {
                            key: text,
                            key_line,
                            key_column,
                            value: node,
                        });
                    }
                    Ok(None)
                }
            },
        }
    }
}

fn key_text(node: &Node) -> Result<String, YamlError> {
    match &node.value {
        Value::Null => Ok(String::new()),
        Value::Seq(_) | Value::Map(_) => Err(YamlError {
            line: node.line,
            column: node.column,
            message: "a mapping key must be a scalar".into(),
        }),
        _ => Ok(node.scalar_text().unwrap_or_default()),
    }
}

fn subtree_size(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(subtree_size).sum::<usize>(),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|e| subtree_size(&e.value))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// Applies YAML merge keys (`<<: *defaults`), which Compose files use with `x-` anchors:
/// explicit keys win over merged ones, and earlier maps of a `<<` list win over later ones.
fn apply_merge_keys(mut node: Node) -> Result<Node, YamlError> {
    let Value::Map(entries) = &mut node.value else {
        return Ok(node);
    };
    if !entries.iter().any(|e| e.key == "<<") {
        return Ok(node);
    }
    let (merges, mut own): (Vec<Entry>, Vec<Entry>) = std::mem::take(entries)
        .into_iter()
        .partition(|e| e.key == "<<");
    let mut present: HashSet<String> = own.iter().map(|e| e.key.clone()).collect();
    for merge in merges {
        let sources: Vec<Node> = match merge.value.value {
            Value::Map(_) => vec![merge.value],
            Value::Seq(items) => items,
            _ => {
                return Err(YamlError {
                    line: merge.key_line,
                    column: merge.key_column,
                    message: "`<<` must merge a mapping or a list of mappings".into(),
                });
            }
        };
        for source in sources {
            let Value::Map(source_entries) = source.value else {
                return Err(YamlError {
                    line: source.line,
                    column: source.column,
                    message: "`<<` must merge a mapping or a list of mappings".into(),
                });
            };
            for entry in source_entries {
                if present.insert(entry.key.clone()) {
                    own.push(entry);
                }
            }
        }
    }
    *entries = own;
    Ok(node)
}

/// Resolves a plain scalar by the YAML 1.2 core schema, which is what Kubernetes
/// (sigs.k8s.io/yaml) and Compose (go-yaml v3) use: `25:25` stays a string, `on` is no bool.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(int) = parse_int(text) {
        return Value::Int(int);
    }
    if looks_like_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::String(text.to_string())
}

fn parse_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn looks_like_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && body.bytes().any(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut stream = parse_stream(text);
        assert_eq!(stream.documents.len(), 1, "{:?}", stream.documents);
        stream.documents.remove(0).expect("parses").root
    }

    #[test]
    fn keys_and_items_carry_their_lines() {
        let root = one("spec:\n  ports:\n    - port: 25\n    - name: x\n      port: 587\n");
        let path = [
            PathSegment::Key("spec".into()),
            PathSegment::Key("ports".into()),
            PathSegment::Index(1),
            PathSegment::Key("port".into()),
        ];
        assert_eq!(root.position_of(&path), (5, 7));
        assert_eq!(root.position_of(&path[..3]), (4, 7));
    }

    #[test]
    fn plain_scalars_follow_yaml_1_2() {
        let root = one("a: 25:25\nb: on\nc: 0x19\nd: '25'\ne: 1.5\nf: ~\n");
        assert_eq!(root.get("a").unwrap().value, Value::String("25:25".into()));
        assert_eq!(root.get("b").unwrap().value, Value::String("on".into()));
        assert_eq!(root.get("c").unwrap().value, Value::Int(25));
        assert_eq!(root.get("d").unwrap().value, Value::String("25".into()));
        assert_eq!(root.get("e").unwrap().value, Value::Float(1.5));
        assert_eq!(root.get("f").unwrap().value, Value::Null);
    }

    #[test]
    fn merge_keys_apply_with_explicit_keys_winning() {
        let root = one("x: &d {a: 1, b: 2}\ny:\n  <<: *d\n  b: 3\n");
        let y = root.get("y").unwrap();
        assert_eq!(y.get("a").unwrap().value, Value::Int(1));
        assert_eq!(y.get("b").unwrap().value, Value::Int(3));
        assert!(y.get("<<").is_none());
    }

    #[test]
    fn duplicate_keys_fail_their_document_only() {
        let stream = parse_stream("a: 1\na: 2\n---\nb: 1\n");
        assert_eq!(stream.documents.len(), 2);
        let error = stream.documents[0].clone().unwrap_err();
        assert_eq!(
            (error.line, error.message.as_str()),
            (2, "duplicate key `a`")
        );
        assert!(stream.documents[1].is_ok());
    }

    #[test]
    fn helm_source_comments_name_the_template() {
        let stream = parse_stream(
            "---\n# Source: mail/templates/a.yaml\nkind: A\n---\n# Source: mail/templates/b.yaml\nkind: B\n",
        );
        let templates: Vec<_> = stream
            .documents
            .iter()
            .map(|d| d.as_ref().unwrap().template.clone().unwrap())
            .collect();
        assert_eq!(
            templates,
            ["mail/templates/a.yaml", "mail/templates/b.yaml"]
        );
    }

    /// Found by tests/fuzz.rs: a file cut in the middle of a key, without a final newline,
    /// was reported at a line after its last one.
    #[test]
    fn an_error_at_the_end_of_the_stream_points_at_the_last_line() {
        for (text, expected) in [
            ("a: 1\nb", (2, 2)),
            ("a: 1\nb\n", (2, 2)),
            ("a: 1\nbé", (2, 3)),
            ("[b", (1, 3)),
            // A carriage return alone ends a line, for YAML as for the report.
            ("a: 1\rb", (2, 2)),
        ] {
            let error = parse_stream(text).documents[0].clone().unwrap_err();
            assert_eq!((error.line, error.column), expected, "{text:?}: {error:?}");
        }
    }

    #[test]
    fn bom_and_crlf_are_accepted() {
        let root = one("\u{feff}a: 1\r\nb:\r\n  - 2\r\n");
        assert_eq!(root.get("b").unwrap().line, 3);
    }

    #[test]
    fn json_is_yaml() {
        let root =
            one("{\n\t\"kind\": \"Service\",\n\t\"spec\": {\"ports\": [{\"port\": 25}]}\n}\n");
        assert_eq!(root.get("spec").unwrap().line, 3);
    }

    #[test]
    fn alias_bombs_hit_the_node_budget() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let stream = parse_stream(&text);
        let error = stream.documents[0].clone().unwrap_err();
        assert!(error.message.contains("alias bomb"), "{}", error.message);
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let text = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let stream = parse_stream(&text);
        let error = stream.documents[0].clone().unwrap_err();
        assert!(error.message.starts_with("nesting is"), "{}", error.message);
        assert_eq!(error.line, 1);
    }

    #[test]
    fn positions_answer_as_the_tree_does() {
        let text = "a:\n  b: [1, {c: 2}]\n  d:\n    - e: 3\n      f: 4\n";
        let root = parse_stream(text).documents.remove(0).expect("valid").root;
        let positions = Positions::of(&root);
        let key = |k: &str| PathSegment::Key(k.into());
        let paths = [
            vec![],
            vec![key("a")],
            vec![key("a"), key("b"), PathSegment::Index(1), key("c")],
            vec![key("a"), key("d"), PathSegment::Index(0), key("f")],
            vec![key("a"), key("missing")],
            vec![key("a"), key("b"), PathSegment::Index(7)],
        ];
        for path in paths {
            assert_eq!(
                positions.position_of(&path),
                root.position_of(&path),
                "{path:?}"
            );
        }
    }
}
