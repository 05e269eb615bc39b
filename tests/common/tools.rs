//! The tools the end-to-end tests drive (ansible, kubectl, …), from the virtualenv that
//! `scripts/python-tools.sh` installs on first use.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's bin directory, installing the tools on first use.
pub fn tools_bin() -> PathBuf {
    setup_script("python-tools.sh")
}

/// Runs `scripts/NAME`, which finds or installs a tool and prints where it is.
pub fn setup_script(name: &str) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name);
    let output = Command::new("bash")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("run scripts/{name}: {e}"));
    assert!(
        output.status.success(),
        "scripts/{name} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}
