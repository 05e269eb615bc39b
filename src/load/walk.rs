//! Turns the command line's paths into files: directories are walked the way git sees
//! them (`.gitignore`, `.ignore`, hidden files skipped), symlinks are followed with loop
//! detection, and `-` is standard input.

use std::path::{Path, PathBuf};

use crate::model::{InvalidInput, Location};

/// A file to read, and whether the user named it (an unrecognised file the user named is
/// an error; one found by walking a directory is simply not ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    pub explicit: bool,
}

/// File names a directory walk looks at; named files are read whatever their name.
const WALKED_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// The files to read, and what the walks saw.
#[derive(Debug, Default)]
pub struct Expanded {
    pub candidates: Vec<Candidate>,
    pub problems: Vec<InvalidInput>,
    /// Paths that do not exist: a usage error, not a bad input file.
    pub missing: Vec<PathBuf>,
    pub directories: Vec<WalkedDirectory>,
}

/// What the walk of one directory saw, to say so when it found nothing to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkedDirectory {
    pub root: PathBuf,
    /// Every file the walk visited (not ignored, not hidden), of any name.
    pub files: usize,
    /// Of those, the `*.yaml`, `*.yml` and `*.json` ones, which are read.
    pub candidates: usize,
    /// Helm charts whose `templates/` the walk did not read.
    pub charts: Vec<PathBuf>,
}

/// Expands directories into their manifest files, in a stable order.
pub fn expand(paths: &[PathBuf]) -> Expanded {
    let mut expanded = Expanded::default();
    for path in paths {
        // `symlink_metadata`: a dangling symbolic link exists, and is a bad input file.
        if std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            expanded.missing.push(path.clone());
        } else if path.is_dir() {
            let walked = walk_directory(path, &mut expanded);
            expanded.directories.push(walked);
        } else {
            expanded.candidates.push(Candidate {
                path: path.clone(),
                explicit: true,
            });
        }
    }
    expanded
}

fn walk_directory(root: &Path, expanded: &mut Expanded) -> WalkedDirectory {
    let walker = ignore::WalkBuilder::new(root)
        .follow_links(true)
        .require_git(false)
        .sort_by_file_path(|a, b| a.cmp(b))
        .filter_entry(|entry| !is_helm_templates_dir(entry.path()))
        .build();
    let mut walked = WalkedDirectory {
        root: root.to_path_buf(),
        files: 0,
        candidates: 0,
        charts: Vec::new(),
    };
    for entry in walker {
        match entry {
            Ok(entry) => {
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    continue;
                }
                walked.files += 1;
                if let Some(chart) = chart_with_templates(entry.path()) {
                    walked.charts.push(chart);
                }
                if has_manifest_extension(entry.path()) {
                    walked.candidates += 1;
                    expanded.candidates.push(Candidate {
                        path: entry.into_path(),
                        explicit: false,
                    });
                }
            }
            Err(error) => expanded.problems.push(walk_problem(root, &error)),
        }
    }
    walked
}

/// The chart directory, when `path` is a `Chart.yaml` beside a `templates/` the walk
/// skips.
fn chart_with_templates(path: &Path) -> Option<PathBuf> {
    let chart = path.parent()?;
    let is_chart_file = path.file_name().is_some_and(|name| name == "Chart.yaml");
    (is_chart_file && chart.join("templates").is_dir()).then(|| chart.to_path_buf())
}

/// A Helm chart's `templates/` holds Go templates, not YAML: they become manifests only once
/// rendered (`helm template … | iredmail-ports check -`), so a walk does not read them.
fn is_helm_templates_dir(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == "templates")
        && path
            .parent()
            .is_some_and(|chart| chart.join("Chart.yaml").is_file())
}

fn has_manifest_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| WALKED_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// A walk error (symlink loop, unreadable directory) names the path it hit.
fn walk_problem(root: &Path, error: &ignore::Error) -> InvalidInput {
    let path = error_path(error).unwrap_or(root);
    InvalidInput::unread(
        Location::start_of(path.display().to_string()),
        format!("cannot walk: {}", describe_walk_error(error)),
    )
}

fn error_path(error: &ignore::Error) -> Option<&Path> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithLineNumber { err, .. } | ignore::Error::WithDepth { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child),
        _ => None,
    }
}

fn describe_walk_error(error: &ignore::Error) -> String {
    match error {
        ignore::Error::Loop { ancestor, .. } => {
            format!("symbolic link loop back to {}", ancestor.display())
        }
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithLineNumber { err, .. }
        | ignore::Error::WithDepth { err, .. } => describe_walk_error(err),
        other => other.to_string(),
    }
}
