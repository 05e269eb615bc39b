//! The pre-commit hooks of `.pre-commit-hooks.yaml`, run end to end by the real
//! `pre-commit try-repo` on a temporary git repository, as a user's commit would run them.
//!
//! pre-commit comes from the virtualenv that `scripts/python-tools.sh` creates (it installs
//! it from PyPI on first use). The `iredmail-ports-system` hook runs the binary that cargo
//! built for these tests, put first on PATH. The hook repository is a temporary git
//! repository holding this working tree's `.pre-commit-hooks.yaml` at a commit, so the
//! hook file under test is the one on disk, committed or not (`try-repo` on the working tree
//! itself would leave out a hook file that is not yet tracked).
//!
//! The `language: rust` hook builds the whole crate in release mode through
//! `cargo install` (about 7 minutes on 2 cores), too slow for every `cargo test`: its test
//! is ignored, run it with `cargo test --test precommit -- --ignored`.

#[path = "common/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;
use tools::tools_bin;

const HOOKS_FILE: &str = ".pre-commit-hooks.yaml";

/// A Service of type LoadBalancer publishing MariaDB's 3306: `internal-port-exposed`.
const BAD_SERVICE: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: mariadb
  namespace: mail
spec:
  type: LoadBalancer
  selector:
    app: mariadb
  ports:
    - name: mysql
      port: 3306
      targetPort: 3306
";

/// iRedMail's container with its required ports; alone, each is `missing-port`.
const WORKLOAD: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: iredmail
  namespace: mail
spec:
  selector:
    matchLabels:
      app: iredmail
  template:
    metadata:
      labels:
        app: iredmail
    spec:
      containers:
        - name: iredmail
          image: iredmail/mariadb:stable
          ports:
            - {name: smtp, containerPort: 25}
            - {name: submission, containerPort: 587}
            - {name: imap, containerPort: 143}
            - {name: https, containerPort: 443}
";

/// The LoadBalancer that makes the workload's required ports reachable, in another file.
const SERVICE: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: iredmail
  namespace: mail
spec:
  type: LoadBalancer
  selector:
    app: iredmail
  ports:
    - {name: smtp, port: 25, targetPort: smtp}
    - {name: submission, port: 587, targetPort: submission}
    - {name: imap, port: 143, targetPort: imap}
    - {name: https, port: 443, targetPort: https}
";

/// YAML that is neither Kubernetes nor Compose: the walk skips it, naming it is an error.
const GITLAB_CI: &str = "\
check:
  script: [iredmail-ports check .]
";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A command isolated from the user's git and pre-commit set-up: no global or system git
/// config (signing, hooks paths), no `SKIP`, no git variables of an enclosing hook.
fn isolated(program: impl AsRef<std::ffi::OsStr>, home: &Path) -> Command {
    let mut command = Command::new(program);
    for variable in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "SKIP",
        "PRE_COMMIT_CONFIG",
        "NO_COLOR",
    ] {
        command.env_remove(variable);
    }
    command
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "iredmail-ports tests")
        .env("GIT_AUTHOR_EMAIL", "tests@iredmail-ports.invalid")
        .env("GIT_COMMITTER_NAME", "iredmail-ports tests")
        .env("GIT_COMMITTER_EMAIL", "tests@iredmail-ports.invalid")
        .env("PRE_COMMIT_HOME", home.join("pre-commit-home"))
        .env("PRE_COMMIT_COLOR", "never");
    command
}

fn git(dir: &Path, home: &Path, args: &[&str]) {
    let output = isolated("git", home)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A temporary place with a hook repository, a repository to check and pre-commit's home.
struct Sandbox {
    root: TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let sandbox = Sandbox {
            root: tempfile::tempdir().expect("a temporary directory"),
        };
        std::fs::create_dir_all(sandbox.work()).expect("the work repository");
        git(&sandbox.work(), sandbox.home(), &["init", "-q"]);
        sandbox
    }

    fn home(&self) -> &Path {
        self.root.path()
    }

    fn hooks(&self) -> PathBuf {
        self.root.path().join("hooks")
    }

    fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// A hook repository with only this working tree's `.pre-commit-hooks.yaml`, committed:
    /// enough for a `language: system` hook.
    fn hooks_file_only(&self) -> PathBuf {
        let hooks = self.hooks();
        std::fs::create_dir_all(&hooks).expect("the hook repository");
        std::fs::copy(manifest_dir().join(HOOKS_FILE), hooks.join(HOOKS_FILE))
            .expect("copies .pre-commit-hooks.yaml");
        self.commit_all(&hooks);
        hooks
    }

    /// A hook repository with every file of this working tree that git would track
    /// (committed, changed or new, not ignored), committed: the crate as a user's
    /// `rev:` would fetch it, for the `language: rust` hook.
    fn whole_working_tree(&self) -> PathBuf {
        let hooks = self.hooks();
        let listing = isolated("git", self.home())
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .current_dir(manifest_dir())
            .output()
            .expect("git runs");
        assert!(
            listing.status.success(),
            "the crate is not a git working tree:\n{}",
            String::from_utf8_lossy(&listing.stderr)
        );
        for name in listing.stdout.split(|&b| b == 0).filter(|n| !n.is_empty()) {
            let name = std::str::from_utf8(name).expect("UTF-8 file name");
            let from = manifest_dir().join(name);
            if !from.is_file() {
                continue; // deleted in the working tree
            }
            let to = hooks.join(name);
            std::fs::create_dir_all(to.parent().expect("a parent")).expect("a directory");
            std::fs::copy(&from, &to).expect("copies a file of the crate");
        }
        self.commit_all(&hooks);
        hooks
    }

    fn commit_all(&self, repo: &Path) {
        git(repo, self.home(), &["init", "-q"]);
        git(repo, self.home(), &["add", "-A"]);
        git(
            repo,
            self.home(),
            &[
                "commit",
                "-q",
                "--no-verify",
                "--no-gpg-sign",
                "-m",
                "hooks",
            ],
        );
    }

    /// Writes a file of the repository to check and stages it (`--all-files` and
    /// `--files` only see files git knows).
    fn write(&self, name: &str, text: &str) {
        let path = self.work().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
        std::fs::write(&path, text).expect("writes a file");
        git(&self.work(), self.home(), &["add", "--", name]);
    }

    /// `pre-commit try-repo HOOKS HOOK_ID ARGS…` in the work repository, with `path_first`
    /// (if any) at the head of PATH.
    fn try_repo(&self, hooks: &Path, hook: &str, args: &[&str], path_first: Option<&Path>) -> Run {
        let mut command = isolated(tools_bin().join("pre-commit"), self.home());
        if let Some(dir) = path_first {
            let mut path = vec![dir.to_path_buf()];
            path.extend(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            ));
            command.env("PATH", std::env::join_paths(path).expect("a PATH"));
        }
        let output = command
            .arg("try-repo")
            .arg(hooks)
            .arg(hook)
            .args(args)
            .current_dir(self.work())
            .output()
            .expect("pre-commit runs");
        Run::from(output)
    }
}

/// What a pre-commit run printed, both streams, and its exit code.
struct Run {
    code: Option<i32>,
    text: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Run {
            code: output.status.code(),
            text,
        }
    }
}

impl Run {
    fn assert_code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(expected),
            "pre-commit exit code; it printed:\n{}",
            self.text
        );
        self
    }

    fn assert_prints(&self, needle: &str) -> &Self {
        assert!(
            self.text.contains(needle),
            "pre-commit did not print {needle:?}; it printed:\n{}",
            self.text
        );
        self
    }

    fn assert_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.text.contains(needle),
            "pre-commit printed {needle:?}:\n{}",
            self.text
        );
        self
    }
}

/// The directory of the binary cargo built for these tests.
fn built_binary_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_iredmail-ports"))
        .parent()
        .expect("the binary's directory")
        .to_path_buf()
}

const SYSTEM_HOOK: &str = "iredmail-ports-system";

#[test]
fn system_hook_fails_on_a_database_behind_a_load_balancer() {
    let sandbox = Sandbox::new();
    let hooks = sandbox.hooks_file_only();
    sandbox.write("deploy/db.yaml", BAD_SERVICE);
    let bin = built_binary_dir();
    sandbox
        .try_repo(&hooks, SYSTEM_HOOK, &["--all-files"], Some(&bin))
        .assert_code(1)
        .assert_prints("Failed")
        .assert_prints(&format!("- hook id: {SYSTEM_HOOK}"))
        .assert_prints("- exit code: 1")
        .assert_prints("error[internal-port-exposed]")
        .assert_prints("deploy/db.yaml:12:7")
        .assert_prints("Service/mail/mariadb");
}

#[test]
fn system_hook_passes_a_clean_deployment_beside_other_yaml() {
    let sandbox = Sandbox::new();
    let hooks = sandbox.hooks_file_only();
    sandbox.write("deploy/workload.yaml", WORKLOAD);
    sandbox.write("deploy/service.yaml", SERVICE);
    // A CI file is YAML too: the hook's directory walk must skip it, not call it invalid.
    sandbox.write(".gitlab-ci.yml", GITLAB_CI);
    let bin = built_binary_dir();
    sandbox
        .try_repo(&hooks, SYSTEM_HOOK, &["--all-files"], Some(&bin))
        .assert_code(0)
        .assert_prints("Passed")
        .assert_lacks("invalid-input");
}

/// `pass_filenames: false`: a commit that changes only the workload is still judged with
/// the Service of the other file, where the changed file alone lacks every required port.
#[test]
fn system_hook_judges_the_whole_repository_when_one_file_changes() {
    let sandbox = Sandbox::new();
    let hooks = sandbox.hooks_file_only();
    sandbox.write("deploy/workload.yaml", WORKLOAD);
    sandbox.write("deploy/service.yaml", SERVICE);
    sandbox.write(".gitlab-ci.yml", GITLAB_CI);

    let alone = Command::new(env!("CARGO_BIN_EXE_iredmail-ports"))
        .args(["check", "deploy/workload.yaml", ".gitlab-ci.yml"])
        .current_dir(sandbox.work())
        .output()
        .expect("the binary runs");
    let alone = Run::from(alone);
    alone
        .assert_code(1)
        .assert_prints("missing-port")
        .assert_prints("invalid-input");

    let bin = built_binary_dir();
    sandbox
        .try_repo(
            &hooks,
            SYSTEM_HOOK,
            &["--files", "deploy/workload.yaml", ".gitlab-ci.yml"],
            Some(&bin),
        )
        .assert_code(0)
        .assert_prints("Passed")
        .assert_lacks("missing-port");
}

/// A repository with no manifest at all (a docs site, CI configs): the hook runs on a
/// commit of its YAML and passes, where the bare check says there is nothing to check.
#[test]
fn system_hook_passes_a_commit_of_only_non_manifest_yaml() {
    let sandbox = Sandbox::new();
    let hooks = sandbox.hooks_file_only();
    sandbox.write(".gitlab-ci.yml", GITLAB_CI);
    sandbox.write("mkdocs.yml", "site_name: mail\nnav: [index.md]\n");
    sandbox.write("docs/index.md", "# mail\n");

    let bare = Command::new(env!("CARGO_BIN_EXE_iredmail-ports"))
        .args(["check", "."])
        .current_dir(sandbox.work())
        .output()
        .expect("the binary runs");
    Run::from(bare)
        .assert_code(2)
        .assert_prints("error: nothing to check: . holds no Kubernetes manifest");

    let bin = built_binary_dir();
    sandbox
        .try_repo(&hooks, SYSTEM_HOOK, &["--files", "mkdocs.yml"], Some(&bin))
        .assert_code(0)
        .assert_prints("Passed")
        .assert_lacks("nothing to check");
}

#[test]
fn system_hook_is_skipped_when_no_yaml_or_json_changes() {
    let sandbox = Sandbox::new();
    let hooks = sandbox.hooks_file_only();
    sandbox.write("deploy/db.yaml", BAD_SERVICE);
    sandbox.write("README.md", "# mail\n");
    let bin = built_binary_dir();
    sandbox
        .try_repo(&hooks, SYSTEM_HOOK, &["--files", "README.md"], Some(&bin))
        .assert_code(0)
        .assert_prints("(no files to check)Skipped");
}

/// The `language: rust` hook: pre-commit runs `cargo install --bins --path .` on the hook
/// repository, a release build of the whole crate (about 7 minutes on 2 cores, more
/// without a warm crates.io cache), then the same check as the system hook.
#[test]
#[ignore = "builds the crate in release mode through cargo install (minutes); run with --ignored"]
fn rust_hook_builds_the_crate_and_fails_on_a_database_behind_a_load_balancer() {
    let sandbox = Sandbox::new();
    let hooks = sandbox.whole_working_tree();
    sandbox.write("deploy/db.yaml", BAD_SERVICE);
    sandbox
        .try_repo(&hooks, "iredmail-ports", &["--all-files"], None)
        .assert_code(1)
        .assert_prints("- hook id: iredmail-ports\n")
        .assert_prints("error[internal-port-exposed]")
        .assert_prints("deploy/db.yaml:12:7");
}

/// Every hook in the file is one this suite knows, so a new hook id gets a test.
#[test]
fn hooks_file_declares_the_tested_hooks() {
    let text = std::fs::read_to_string(manifest_dir().join(HOOKS_FILE)).expect("hooks file");
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("- id: "))
        .map(str::trim)
        .collect();
    assert_eq!(ids, ["iredmail-ports", SYSTEM_HOOK]);
    let home = tempfile::tempdir().expect("a temporary directory");
    let output = isolated(tools_bin().join("pre-commit"), home.path())
        .arg("validate-manifest")
        .arg(manifest_dir().join(HOOKS_FILE))
        .output()
        .expect("pre-commit runs");
    Run::from(output).assert_code(0);
}
