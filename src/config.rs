//! The project's own settings, `.iredmail-ports.yaml`: severity overrides, paths not to
//! check, site ports the catalogue does not list, and suppressions with a reason. Found
//! upward from the checked paths, or given with `--config`. Schema:
//! `schemas/config.schema.json`, generated from these types.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::baseline::Baseline;
use crate::catalogue::{Catalogue, PortEntry, Status};
use crate::load::yaml;
use crate::model::{Finding, Rule, Severity, SuppressedBy, Suppression};
use crate::model::{InlineSuppression, PathSegment, Protocol, Scope};

/// File names looked for, in each directory from the checked path up to the root.
pub const CONFIG_FILE_NAMES: &[&str] = &[".iredmail-ports.yaml", ".iredmail-ports.yml"];

/// How a check is tuned. The default judges every rule at its own severity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Severity by rule id (`unknown-port: error`).
    #[serde(default)]
    pub severity: BTreeMap<Rule, Severity>,
    /// Globs of files not to check (`charts/*/tests/**`), relative to the config file's
    /// directory.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Ports of this site that the catalogue does not list, or lists with a narrower
    /// scope.
    #[serde(default)]
    pub allow: Vec<AllowedPort>,
    /// Findings to suppress. Each entry matches every finding that fits all of its
    /// fields; a suppressed finding is still reported, and does not fail the run.
    #[serde(default)]
    pub ignore: Vec<IgnoreEntry>,
    /// The directory globs are relative to: the config file's own.
    #[serde(skip)]
    #[schemars(skip)]
    pub base_dir: PathBuf,
    /// Findings already known (`--baseline`): reported as suppressed.
    #[serde(skip)]
    #[schemars(skip)]
    pub baseline: Option<Baseline>,
}

/// A port the site runs on purpose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowedPort {
    pub port: u16,
    #[serde(default)]
    pub protocol: Protocol,
    /// The widest scope it may reach.
    pub scope: Scope,
    /// What it is, for messages (`postfix-exporter`).
    pub service: String,
    pub reason: String,
}

/// A suppression: every field given must match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IgnoreEntry {
    #[serde(default)]
    pub rule: Option<Rule>,
    #[serde(default)]
    pub port: Option<u16>,
    /// A glob over the finding's object (`Service/mail/*`, `compose/*/mariadb`).
    #[serde(default)]
    pub object: Option<String>,
    /// A glob over the finding's file, relative to the config file's directory.
    #[serde(default)]
    pub path: Option<String>,
    /// Why: shown with the suppressed finding in every format.
    pub reason: String,
}

/// Why a config file cannot be used.
pub type ConfigError = yaml::SettingsError;

impl Config {
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = yaml::read_settings(path, "config")?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Config::from_yaml(&text, &path.display().to_string(), base_dir)
    }

    pub fn from_yaml(text: &str, name: &str, base_dir: PathBuf) -> Result<Config, ConfigError> {
        let invalid = |line, column, message| ConfigError::Invalid {
            path: name.to_string(),
            line,
            column,
            message,
        };
        let (mut config, root): (Config, _) =
            yaml::deserialize_document(text).map_err(|e| invalid(e.line, e.column, e.message))?;
        config.base_dir = base_dir;
        let globs = config
            .exclude
            .iter()
            .enumerate()
            .map(|(i, g)| ("exclude", i, None, g))
            .chain(config.ignore.iter().enumerate().flat_map(|(i, entry)| {
                [("object", &entry.object), ("path", &entry.path)]
                    .into_iter()
                    .filter_map(move |(field, glob)| {
                        Some(("ignore", i, Some(field), glob.as_ref()?))
                    })
            }));
        for (list, index, field, glob) in globs {
            if let Err(error) = Glob::new(glob) {
                let mut path = vec![PathSegment::Key(list.into()), PathSegment::Index(index)];
                path.extend(field.map(|f| PathSegment::Key(f.into())));
                let (line, column) = root.position_of(&path);
                return Err(invalid(line, column, format!("`{glob}`: {error}")));
            }
        }
        Ok(config)
    }

    /// The nearest config file from `start` (a file or directory) up to the root.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        let start = start.canonicalize().ok()?;
        let first = if start.is_dir() {
            start.as_path()
        } else {
            start.parent()?
        };
        first.ancestors().find_map(|dir| {
            CONFIG_FILE_NAMES
                .iter()
                .map(|name| dir.join(name))
                .find(|path| path.is_file())
        })
    }

    /// The `exclude:` globs, compiled once for a whole run.
    pub fn excludes(&self) -> Excludes {
        Excludes {
            matchers: self.exclude.iter().filter_map(|g| matcher(g)).collect(),
            base: canonical(&self.base_dir),
        }
    }

    /// A glob matches the path as given, or relative to the config's directory.
    fn path_matches(&self, matcher: &GlobMatcher, path: &Path) -> bool {
        matcher.is_match(path) || {
            let base = canonical(&self.base_dir);
            canonical(path)
                .strip_prefix(&base)
                .is_ok_and(|relative| matcher.is_match(relative))
        }
    }

    /// The catalogue with this site's allowed ports added (or their scope widened).
    pub fn extend_catalogue(&self, catalogue: &Catalogue) -> Catalogue {
        let mut catalogue = catalogue.clone();
        for allowed in &self.allow {
            let existing = catalogue
                .ports
                .iter_mut()
                .find(|e| e.port == allowed.port && e.protocol == allowed.protocol);
            match existing {
                Some(entry) => entry.scope = allowed.scope,
                None => catalogue.ports.push(PortEntry {
                    service: allowed.service.clone(),
                    name: allowed.service.clone(),
                    port: allowed.port,
                    protocol: allowed.protocol,
                    purpose: allowed.reason.clone(),
                    listen: "-".into(),
                    scope: allowed.scope,
                    status: Status::Active,
                    client_facing: false,
                    paths: Vec::new(),
                    source: "allowed by the config file".into(),
                    note: None,
                }),
            }
        }
        catalogue
    }

    /// Applies severity overrides, then marks the findings that an object's own
    /// suppression or an `ignore:` entry covers.
    pub fn apply(&self, findings: &mut [Finding], inline: &[InlineSuppression]) {
        let ignores: Vec<(&IgnoreEntry, Option<GlobMatcher>, Option<GlobMatcher>)> = self
            .ignore
            .iter()
            .map(|e| {
                let object = e.object.as_deref().and_then(matcher);
                let path = e.path.as_deref().and_then(matcher);
                (e, object, path)
            })
            .collect();
        let mut by_object: HashMap<&str, Vec<&InlineSuppression>> = HashMap::new();
        for suppression in inline {
            by_object
                .entry(suppression.object.as_str())
                .or_default()
                .push(suppression);
        }
        for finding in findings.iter_mut() {
            if let Some(severity) = self.severity.get(&finding.rule) {
                finding.severity = *severity;
            }
            if finding.suppressed.is_some() {
                continue;
            }
            finding.suppressed = inline_suppression(finding, &by_object).or_else(|| {
                ignores
                    .iter()
                    .find(|(entry, object, path)| self.ignore_matches(finding, entry, object, path))
                    .map(|(entry, _, _)| Suppression {
                        by: SuppressedBy::Config,
                        reason: entry.reason.clone(),
                    })
            });
        }
    }

    fn ignore_matches(
        &self,
        finding: &Finding,
        entry: &IgnoreEntry,
        object: &Option<GlobMatcher>,
        path: &Option<GlobMatcher>,
    ) -> bool {
        entry.rule.is_none_or(|r| r == finding.rule)
            && entry.port.is_none_or(|p| finding.port == Some(p))
            && object
                .as_ref()
                .is_none_or(|m| finding.object.as_deref().is_some_and(|o| m.is_match(o)))
            && path.as_ref().is_none_or(|m| {
                finding
                    .location
                    .as_ref()
                    .is_some_and(|l| self.path_matches(m, Path::new(&l.path)))
            })
    }
}

/// An object's own suppression covers its findings of the named rules (and ports).
fn inline_suppression(
    finding: &Finding,
    inline: &HashMap<&str, Vec<&InlineSuppression>>,
) -> Option<Suppression> {
    let object = finding.object.as_deref()?;
    inline
        .get(object)?
        .iter()
        .find(|s| {
            s.ignore.entries.iter().any(|(rule, port)| {
                *rule == finding.rule && port.is_none_or(|p| finding.port == Some(p))
            })
        })
        .map(|s| Suppression {
            by: s.by,
            reason: s.ignore.reason.clone(),
        })
}

/// The files a config excludes, ready to test every walked path.
#[derive(Debug, Clone, Default)]
pub struct Excludes {
    matchers: Vec<GlobMatcher>,
    base: PathBuf,
}

impl Excludes {
    /// Whether a file is excluded: a glob matches it as given, or relative to the config
    /// file's directory.
    pub fn contains(&self, path: &Path) -> bool {
        if self.matchers.is_empty() {
            return false;
        }
        if self.matchers.iter().any(|m| m.is_match(path)) {
            return true;
        }
        canonical(path)
            .strip_prefix(&self.base)
            .is_ok_and(|relative| self.matchers.iter().any(|m| m.is_match(relative)))
    }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

fn matcher(glob: &str) -> Option<GlobMatcher> {
    Glob::new(glob).ok().map(|g| g.compile_matcher())
}
