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

/// Expands directories into their manifest files, in a stable order.
pub fn expand(paths: &[PathBuf]) -> (Vec<Candidate>, Vec<InvalidInput>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk_directory(path, &mut files, &mut problems);
        } else {
            files.push(Candidate {
                path: path.clone(),
                explicit: true,
            });
        }
    }
    (files, problems)
}

fn walk_directory(root: &Path, files: &mut Vec<Candidate>, problems: &mut Vec<InvalidInput>) {
    let walker = ignore::WalkBuilder::new(root)
        .follow_links(true)
        .require_git(false)
        .sort_by_file_path(|a, b| a.cmp(b))
        .filter_entry(|entry| !is_helm_templates_dir(entry.path()))
        .build();
    for entry in walker {
        match entry {
            Ok(entry) => {
                let is_file = entry.file_type().is_some_and(|t| t.is_file());
                if is_file && has_manifest_extension(entry.path()) {
                    files.push(Candidate {
                        path: entry.into_path(),
                        explicit: false,
                    });
                }
            }
            Err(error) => problems.push(walk_problem(root, &error)),
        }
    }
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
