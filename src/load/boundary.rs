//! The directory a check may read files from: the directory being checked, or the
//! directory of a file named on its own. A playbook names other files (`src:`,
//! `project_src:`, `vars_files:`, roles, task files), and a hostile or careless one may
//! name `/proc/self/environ` or `../../.aws/credentials`: whatever lies outside the
//! boundary is never opened, so its text can reach neither a finding nor a source frame.

use std::path::{Component, Path, PathBuf};

/// Where files referenced by a checked file may be read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boundary {
    /// As given, for messages.
    shown: PathBuf,
    /// Canonical, symlinks resolved; `None` when the directory does not exist, which
    /// admits nothing.
    canonical: Option<PathBuf>,
    /// Absolute and lexically normalised, to judge paths that do not exist.
    lexical: PathBuf,
}

impl Boundary {
    /// The boundary of a directory being checked.
    pub fn new(dir: &Path) -> Boundary {
        Boundary {
            shown: dir.to_path_buf(),
            canonical: dir.canonicalize().ok(),
            lexical: absolute(dir),
        }
    }

    /// The boundary of a file found by walking `roots` (the directory it was found in),
    /// or of a file named on its own (its own directory).
    pub fn for_file(path: &Path, roots: &[PathBuf]) -> Boundary {
        let root = roots
            .iter()
            .filter(|root| path.starts_with(root))
            .max_by_key(|root| root.components().count());
        match root {
            Some(root) => Boundary::new(root),
            None => Boundary::new(&parent_dir(path)),
        }
    }

    /// The directory, as the user gave it.
    pub fn shown(&self) -> &Path {
        &self.shown
    }

    /// Whether `path` may be read: its canonical form (symlinks resolved) lies inside
    /// the boundary. A path that does not exist is judged lexically, so that a reference
    /// outside is refused whether or not its target exists (no existence oracle).
    pub fn admits(&self, path: &Path) -> bool {
        let Some(root) = &self.canonical else {
            return false;
        };
        match path.canonicalize() {
            Ok(canonical) => canonical.starts_with(root),
            Err(_) => {
                let lexical = absolute(path);
                lexical.starts_with(&self.lexical) || lexical.starts_with(root)
            }
        }
    }
}

/// The directory a file sits in, `.` for a bare name.
pub fn parent_dir(path: &Path) -> PathBuf {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The path made absolute against the working directory, with `.` and `..` resolved
/// lexically (`..` above the root stays at the root, as the kernel does).
fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_only_paths_inside_after_resolving_symlinks_and_dots() {
        let dir = tempfile::tempdir().unwrap();
        let checked = dir.path().join("repo");
        std::fs::create_dir_all(checked.join("files")).unwrap();
        std::fs::write(checked.join("files/app.yaml"), "a: 1\n").unwrap();
        std::fs::write(dir.path().join("secret"), "x\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("secret"), checked.join("link")).unwrap();
        let boundary = Boundary::new(&checked);
        assert!(boundary.admits(&checked.join("files/app.yaml")));
        assert!(boundary.admits(&checked.join("files/../files/app.yaml")));
        assert!(boundary.admits(&checked.join("not-yet.yaml")));
        assert!(!boundary.admits(&checked.join("../secret")));
        assert!(!boundary.admits(&checked.join("files/../../secret")));
        assert!(!boundary.admits(&checked.join("../../no/such/file")));
        assert!(!boundary.admits(Path::new("/proc/self/environ")));
        #[cfg(unix)]
        assert!(!boundary.admits(&checked.join("link")));
    }

    #[test]
    fn a_walked_file_is_bounded_by_the_deepest_root_it_was_found_under() {
        let roots = [PathBuf::from("a"), PathBuf::from("a/b")];
        let boundary = Boundary::for_file(Path::new("a/b/c/play.yml"), &roots);
        assert_eq!(boundary.shown(), Path::new("a/b"));
        let named = Boundary::for_file(Path::new("x/play.yml"), &roots);
        assert_eq!(named.shown(), Path::new("x"));
        let bare = Boundary::for_file(Path::new("play.yml"), &[]);
        assert_eq!(bare.shown(), Path::new("."));
    }

    #[test]
    fn a_missing_directory_admits_nothing() {
        let boundary = Boundary::new(Path::new("/no/such/dir/anywhere"));
        assert!(!boundary.admits(Path::new("/no/such/dir/anywhere/x")));
    }
}
