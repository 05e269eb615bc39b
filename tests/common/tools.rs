//! The tools the end-to-end tests drive (ansible, kubectl, …), from the virtualenv that
//! `scripts/python-tools.sh` installs on first use.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's bin directory, installing the tools on first use.
pub fn tools_bin() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/python-tools.sh");
    let output = Command::new("bash")
        .arg(script)
        .output()
        .expect("run scripts/python-tools.sh");
    assert!(
        output.status.success(),
        "scripts/python-tools.sh failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}
