//! What the webhook benchmarks share: certificates, the `serve` process and its memory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

/// A CA and a server certificate for localhost in `dir` (tls.crt, tls.key); returns the
/// CA's PEM.
pub fn write_certificates(dir: &Path) -> String {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("certificate");
    std::fs::write(dir.join("tls.crt"), cert.pem()).expect("write cert");
    std::fs::write(dir.join("tls.key"), key.serialize_pem()).expect("write key");
    ca.pem()
}

/// Starts `serve ARGS…` on a loopback port with the certificates of `dir` and its usual
/// info-level JSON log (drained here, as a container runtime would), and waits for the
/// port it listens on.
pub fn start_server(dir: &Path, args: &[&str]) -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iredmail-ports"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .arg("--tls-cert")
        .arg(dir.join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.join("tls.key"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start iredmail-ports serve");
    let stderr = child.stderr.take().expect("stderr");
    let (found, port) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if value["fields"]["message"] == "listening"
                && let Some(address) = value["fields"]["address"].as_str()
                && let Some(port) = address.rsplit(':').next().and_then(|p| p.parse().ok())
            {
                let _ = found.send(port);
            }
        }
    });
    let port: u16 = port
        .recv_timeout(Duration::from_secs(30))
        .expect("serve did not start");
    (child, port)
}

/// VmHWM and VmRSS of a process, in KiB.
pub fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}
