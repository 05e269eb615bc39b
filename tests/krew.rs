//! The Krew manifest and the script that fills it: scripts/release-krew.sh packs a locally
//! built `kubectl-iredmail_ports`, and the manifest it writes names that archive with its
//! real sha256; the archive unpacks to a plugin that runs.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn manifest(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("read the manifest");
    serde_saphyr::from_str(&text).expect("the manifest is YAML")
}

fn sha256(path: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("run sha256sum");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .expect("a digest")
        .to_string()
}

/// What Krew requires of every manifest (krew's `validate`), and what this one promises.
fn assert_valid_krew_manifest(manifest: &Value) {
    assert_eq!(
        manifest["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(manifest["kind"], "Plugin");
    assert_eq!(manifest["metadata"]["name"], "iredmail-ports");
    let spec = &manifest["spec"];
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        spec["version"],
        version.as_str(),
        "the manifest's version is stale"
    );
    assert!(
        spec["homepage"]
            .as_str()
            .is_some_and(|h| h.starts_with("https://"))
    );
    let short = spec["shortDescription"].as_str().expect("shortDescription");
    assert!(!short.is_empty() && short.len() <= 50, "{short}");
    assert!(spec["description"].as_str().is_some_and(|d| d.len() > 50));
    let platforms = spec["platforms"].as_array().expect("platforms");
    assert!(!platforms.is_empty());
    for platform in platforms {
        let labels = &platform["selector"]["matchLabels"];
        let os = labels["os"].as_str().expect("os");
        let arch = labels["arch"].as_str().expect("arch");
        let sha = platform["sha256"].as_str().expect("sha256");
        assert!(
            sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()),
            "{sha}"
        );
        let uri = platform["uri"].as_str().expect("uri");
        let archive = format!("kubectl-iredmail_ports-{version}-{os}-{arch}.tar.gz");
        assert!(
            uri.starts_with("https://") && uri.ends_with(&archive),
            "{uri}"
        );
        let bin = if os == "windows" {
            "kubectl-iredmail_ports.exe"
        } else {
            "kubectl-iredmail_ports"
        };
        assert_eq!(platform["bin"], bin);
    }
}

#[test]
fn the_committed_manifest_is_a_valid_krew_manifest() {
    assert_valid_krew_manifest(&manifest(&root().join("plugins/iredmail-ports.yaml")));
}

#[test]
fn the_release_script_writes_the_archives_address_and_sha256() {
    let work = tempfile::tempdir().expect("temp dir");
    let manifest_path = work.path().join("iredmail-ports.yaml");
    std::fs::copy(root().join("plugins/iredmail-ports.yaml"), &manifest_path).expect("copy");
    let out = work.path().join("dist");
    let built = assert_cmd::cargo::cargo_bin("kubectl-iredmail_ports");
    let base_url = "https://downloads.example.org/iredmail-ports/v0";
    let status = Command::new("bash")
        .arg(root().join("scripts/release-krew.sh"))
        .arg("--binary")
        .arg(format!("linux/amd64={}", built.display()))
        .args(["--base-url", base_url])
        .arg("--out")
        .arg(&out)
        .arg("--manifest")
        .arg(&manifest_path)
        .status()
        .expect("run scripts/release-krew.sh");
    assert!(status.success());

    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    let file = format!("kubectl-iredmail_ports-{version}-linux-amd64.tar.gz");
    let archive = out.join(&file);
    let written = manifest(&manifest_path);
    assert_valid_krew_manifest(&written);
    let platforms = written["spec"]["platforms"].as_array().expect("platforms");
    assert_eq!(platforms.len(), 1);
    assert_eq!(platforms[0]["uri"], format!("{base_url}/{file}").as_str());
    assert_eq!(platforms[0]["sha256"], sha256(&archive).as_str());
    // Everything but the platforms is kept as written by hand.
    let committed = manifest(&root().join("plugins/iredmail-ports.yaml"));
    for key in ["version", "homepage", "shortDescription", "description"] {
        assert_eq!(written["spec"][key], committed["spec"][key], "{key}");
    }

    let unpacked = work.path().join("unpacked");
    std::fs::create_dir(&unpacked).expect("dir");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .expect("run tar");
    assert!(status.success());
    assert!(unpacked.join("README.md").is_file());
    let version_output = Command::new(unpacked.join("kubectl-iredmail_ports"))
        .arg("--version")
        .output()
        .expect("run the unpacked plugin");
    assert_eq!(
        String::from_utf8_lossy(&version_output.stdout),
        format!("kubectl iredmail-ports {}\n", env!("CARGO_PKG_VERSION"))
    );
}
