//! Compose documents → typed projects.
//!
//! Each file is interpolated (`${VAR}` with the `.env` beside it), validated against the
//! official compose-spec JSON Schema, then read into services with the location of every
//! `ports:` and `expose:` item. Several files merge as `docker compose -f a -f b` does.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::LazyLock;

use super::compose_ports::{
    LongSyntax, PortRange, PortSpec, from_integer, from_long_syntax, parse_short_syntax,
};
use super::interpolate::{Environment, interpolate_tree};
use super::yaml::{Node, Value, path_to_string};
use crate::model::PathSegment;
use crate::model::{Ignore, InvalidInput, Location, Protocol};

/// A Compose project: one file, or several merged.
#[derive(Debug, Clone, PartialEq)]
pub struct ComposeProject {
    pub name: String,
    pub services: Vec<ComposeService>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ComposeService {
    pub name: String,
    pub image: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub ports: Vec<PublishedPort>,
    pub expose: Vec<ExposedPort>,
    /// Where `network_mode: host` is set.
    pub host_network: Option<Location>,
    /// The service's key under `services:`.
    pub location: Location,
    /// `x-iredmail-ports: {ignore: [rule[:port], …], reason: …}` on the service.
    pub ignore: Option<Ignore>,
}

/// A `ports:` item.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedPort {
    pub spec: PortSpec,
    pub location: Location,
}

/// An `expose:` item: ports open on the project's networks only.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposedPort {
    pub ports: PortRange,
    pub protocol: Protocol,
    pub location: Location,
}

/// One Compose file, read and typed but not yet merged.
#[derive(Debug, Clone, PartialEq)]
pub struct ComposeFile {
    pub project_name: Option<String>,
    pub services: Vec<ComposeService>,
}

/// Whether a document looks like a Compose file (a `services:` mapping, no `kind`).
pub fn is_compose(root: &Node) -> bool {
    root.get("services").is_some_and(|s| s.as_map().is_some()) && root.get("kind").is_none()
}

/// The official compose-spec schema, vendored from check-jsonschema (see schemas/vendor).
static COMPOSE_SCHEMA: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schemas/vendor/compose-spec.json"))
            .map_err(|e| e.to_string())?;
    jsonschema::validator_for(&schema).map_err(|e| e.to_string())
});

/// Interpolates, validates and types one Compose file. Every problem is returned, so a
/// file with three mistakes shows all three.
pub fn read_compose_file(
    root: &Node,
    file: &str,
    env: &Environment,
) -> Result<ComposeFile, Vec<InvalidInput>> {
    let at = |line: u32, column: u32| Location::new(file, line, column);
    let mut root = root.clone();
    interpolate_tree(&mut root, env)
        .map_err(|e| vec![InvalidInput::unread(at(e.line, e.column), e.message)])?;
    validate_against_schema(&root, file)?;
    let mut problems = Vec::new();
    let mut services = Vec::new();
    let entries = root
        .get("services")
        .and_then(Node::as_map)
        .unwrap_or_default();
    for entry in entries {
        let location = at(entry.key_line, entry.key_column);
        match read_service(&entry.key, &entry.value, location, file) {
            Ok(service) => services.push(service),
            Err(mut service_problems) => problems.append(&mut service_problems),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let project_name = root.get("name").and_then(Node::scalar_text);
    Ok(ComposeFile {
        project_name,
        services,
    })
}

fn validate_against_schema(root: &Node, file: &str) -> Result<(), Vec<InvalidInput>> {
    let validator = COMPOSE_SCHEMA.as_ref().map_err(|e| {
        vec![InvalidInput::unread(
            Location::start_of(file),
            format!("the vendored compose-spec schema does not load: {e}"),
        )]
    })?;
    let instance = root.to_json();
    let problems: Vec<InvalidInput> = validator
        .iter_errors(&instance)
        .map(|error| {
            let mut path: Vec<PathSegment> = error
                .instance_path()
                .iter()
                .map(|segment| match segment {
                    jsonschema::paths::LocationSegment::Property(p) => {
                        PathSegment::Key(p.into_owned())
                    }
                    jsonschema::paths::LocationSegment::Index(i) => PathSegment::Index(i),
                })
                .collect();
            // An unexpected key is reported on its parent; point at the key itself.
            if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected }
            | jsonschema::error::ValidationErrorKind::UnevaluatedProperties { unexpected } =
                error.kind()
                && let Some(key) = unexpected.first()
            {
                path.push(PathSegment::Key(key.clone()));
            }
            let (line, column) = root.position_of(&path);
            let field = path_to_string(&path);
            let message = if field.is_empty() {
                format!("does not match the compose-spec schema: {error}")
            } else {
                format!("`{field}` does not match the compose-spec schema: {error}")
            };
            InvalidInput::unread(Location::new(file, line, column), message)
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn read_service(
    name: &str,
    node: &Node,
    location: Location,
    file: &str,
) -> Result<ComposeService, Vec<InvalidInput>> {
    let at = |node: &Node| Location::new(file, node.line, node.column);
    let mut problems = Vec::new();
    let mut ports = Vec::new();
    for item in node.get("ports").and_then(Node::as_seq).unwrap_or_default() {
        match port_spec(item) {
            Ok(spec) => ports.push(PublishedPort {
                spec,
                location: at(item),
            }),
            Err(message) => problems.push(service_problem(name, message, at(item))),
        }
    }
    let mut expose = Vec::new();
    for item in node
        .get("expose")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        match exposed_port(item) {
            Ok((ports, protocol)) => expose.push(ExposedPort {
                ports,
                protocol,
                location: at(item),
            }),
            Err(message) => problems.push(service_problem(name, message, at(item))),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let host_network = node
        .entry("network_mode")
        .filter(|e| e.value.as_str() == Some("host"))
        .map(|e| Location::new(file, e.key_line, e.key_column));
    let ignore = compose_ignore(node, file).map_err(|message| {
        let location = node
            .entry(IGNORE_EXTENSION)
            .map_or_else(|| location.clone(), |e| at(&e.value));
        vec![service_problem(name, message, location)]
    })?;
    Ok(ComposeService {
        ignore,
        name: name.to_string(),
        image: node.get("image").and_then(Node::scalar_text),
        labels: labels(node.get("labels")),
        ports,
        expose,
        host_network,
        location,
    })
}

/// The Compose extension that suppresses some of a service's findings.
pub const IGNORE_EXTENSION: &str = "x-iredmail-ports";

/// Reads `x-iredmail-ports: {ignore: [rule[:port], …], reason: …}`.
fn compose_ignore(service: &Node, file: &str) -> Result<Option<Ignore>, String> {
    let Some(entry) = service.entry(IGNORE_EXTENSION) else {
        return Ok(None);
    };
    let extension = &entry.value;
    let items = extension
        .get("ignore")
        .and_then(Node::as_seq)
        .ok_or(format!(
            "`{IGNORE_EXTENSION}` needs an `ignore:` list of `rule[:port]`"
        ))?;
    let text: Vec<String> = items.iter().filter_map(Node::scalar_text).collect();
    let entries = Ignore::parse_entries(&text.join(","))?;
    let reason = extension
        .get("reason")
        .and_then(Node::scalar_text)
        .filter(|r| !r.trim().is_empty())
        .ok_or(format!("`{IGNORE_EXTENSION}` needs a `reason:`"))?;
    Ok(Some(Ignore {
        entries,
        reason,
        location: Location::new(file, entry.key_line, entry.key_column),
    }))
}

fn service_problem(service: &str, message: String, location: Location) -> InvalidInput {
    InvalidInput::unread(location, format!("service `{service}`: {message}"))
}

/// Compose labels are a mapping or a list of `key=value`.
fn labels(node: Option<&Node>) -> BTreeMap<String, String> {
    let Some(node) = node else {
        return BTreeMap::new();
    };
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .map(|e| (e.key.clone(), e.value.scalar_text().unwrap_or_default()))
            .collect(),
        Value::Seq(items) => items
            .iter()
            .filter_map(Node::scalar_text)
            .map(|item| match item.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (item, String::new()),
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// A `ports:` item in any of its three forms: number, short syntax, long syntax.
pub(super) fn port_spec(item: &Node) -> Result<PortSpec, String> {
    match &item.value {
        Value::Int(n) => from_integer(*n).map_err(|e| e.to_string()),
        Value::String(text) => parse_short_syntax(text).map_err(|e| e.to_string()),
        Value::Map(_) => long_syntax(item),
        _ => Err("a port must be a number, a string or a mapping".into()),
    }
}

/// A long-syntax item (`target`, `published`, `host_ip`, `protocol`).
fn long_syntax(item: &Node) -> Result<PortSpec, String> {
    let field = |name: &str| item.get(name).and_then(Node::scalar_text);
    let target = field("target").ok_or("a long-syntax port needs `target`")?;
    let (published, host_ip, protocol) = (field("published"), field("host_ip"), field("protocol"));
    from_long_syntax(LongSyntax {
        target: &target,
        published: published.as_deref(),
        host_ip: host_ip.as_deref(),
        protocol: protocol.as_deref(),
    })
    .map_err(|e| e.to_string())
}

/// An `expose:` item: `"3306"`, `3306`, `"8000-8010"`, `"3306/tcp"`.
pub(super) fn exposed_port(item: &Node) -> Result<(PortRange, Protocol), String> {
    let text = item
        .scalar_text()
        .ok_or("an exposed port must be a number or a string")?;
    let spec = parse_short_syntax(&text).map_err(|e| e.to_string())?;
    if spec.published.is_some() || spec.host_ip.is_some() {
        return Err(format!(
            "`expose: {text}` names a host port; `expose` takes container ports only"
        ));
    }
    Ok((spec.target, spec.protocol))
}

/// Merges files in order, as `docker compose -f a -f b`: later scalars win, `ports` and
/// `expose` are concatenated without duplicates, labels merge key by key.
pub fn merge(files: Vec<ComposeFile>, default_name: &str) -> ComposeProject {
    let mut name = None;
    let mut services: Vec<ComposeService> = Vec::new();
    // Where each service is in `services`, so a project of many services merges in
    // linear time.
    let mut index: HashMap<String, usize> = HashMap::new();
    for file in files {
        if file.project_name.is_some() {
            name = file.project_name;
        }
        for service in file.services {
            match index
                .get(&service.name)
                .and_then(|&at| services.get_mut(at))
            {
                Some(existing) => merge_service(existing, service),
                None => {
                    index.insert(service.name.clone(), services.len());
                    services.push(service);
                }
            }
        }
    }
    ComposeProject {
        name: normalize_project_name(name.as_deref().unwrap_or(default_name)),
        services,
    }
}

fn merge_service(base: &mut ComposeService, overlay: ComposeService) {
    if overlay.image.is_some() {
        base.image = overlay.image;
    }
    if overlay.host_network.is_some() {
        base.host_network = overlay.host_network;
    }
    if overlay.ignore.is_some() {
        base.ignore = overlay.ignore;
    }
    base.labels.extend(overlay.labels);
    for port in overlay.ports {
        if !base.ports.iter().any(|p| p.spec == port.spec) {
            base.ports.push(port);
        }
    }
    for port in overlay.expose {
        if !base
            .expose
            .iter()
            .any(|p| p.ports == port.ports && p.protocol == port.protocol)
        {
            base.expose.push(port);
        }
    }
}

/// The project name Compose derives from a directory: lower case, `[a-z0-9_-]` only.
pub fn normalize_project_name(name: &str) -> String {
    let normalized: String = name
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect();
    if normalized.is_empty() {
        "default".to_string()
    } else {
        normalized
    }
}

/// The project name of a file without `name:`: its directory's name.
pub fn directory_name(file: &Path) -> String {
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = match dir {
        Some(d) => d.canonicalize().unwrap_or_else(|_| d.to_path_buf()),
        None => std::env::current_dir().unwrap_or_default(),
    };
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "default".to_string())
}

/// `docker compose` reads `compose.override.yaml` on top of `compose.yaml` (and the
/// `docker-compose.*` spellings) when both sit in one directory: the base file this
/// override belongs to, if the name says so.
pub fn override_base(file: &Path) -> Option<Vec<std::path::PathBuf>> {
    let name = file.file_name()?.to_str()?;
    let (stem, _) = name.split_once(".override.")?;
    let dir = file.parent()?;
    Some(
        ["yaml", "yml"]
            .iter()
            .map(|ext| dir.join(format!("{stem}.{ext}")))
            .collect(),
    )
}
