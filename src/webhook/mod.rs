//! The admission webhook: `iredmail-ports serve`.
//!
//! The API server sends one object at a time in an AdmissionReview; [`review`] turns it
//! into an in-memory input for the same engine as files ([`crate::check`]) and the
//! findings into an AdmissionResponse. [`server`] is the HTTPS front (axum + rustls),
//! [`cache`] the optional view of the rest of the cluster (`--watch`), [`audit`] the
//! background scan that writes PolicyReports (`--audit-interval`), [`tls`] the
//! certificate reload and [`metrics`] the Prometheus counters.

pub mod audit;
pub mod cache;
pub mod limits;
pub mod metrics;
pub mod review;
pub mod server;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::Severity;
use crate::{Catalogue, Config};

/// What the webhook does with findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Deny the request when a finding reaches `--fail-on`; allow it with warnings below.
    Enforce,
    /// Allow the request, with one warning per finding (kubectl prints them).
    Warn,
    /// Allow the request silently; only log and count the findings.
    Audit,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
            Mode::Audit => "audit",
        }
    }
}

/// Everything `serve` needs, already read and checked.
pub struct Settings {
    pub listen: SocketAddr,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub mode: Mode,
    /// In `enforce` mode, the severity from which a finding denies (`None`: never).
    pub deny_at: Option<Severity>,
    pub catalogue: Catalogue,
    pub config: Config,
    pub watch: bool,
    /// With `watch`, how often to write the findings into the cluster as PolicyReports
    /// (`None`: never).
    pub audit_interval: Option<Duration>,
    pub cert_poll_interval: Duration,
    pub request_timeout: Duration,
    pub shutdown_grace: Duration,
    /// How long a connection may take to send a request's headers (and its TLS
    /// handshake, and its first request).
    pub header_read_timeout: Duration,
    /// How long a connection may stay without traffic while no review is in flight.
    pub idle_timeout: Duration,
    /// The most connections served at once; more are closed at once.
    pub max_connections: usize,
    /// The memory reviews may hold at once, in bytes.
    pub review_memory: usize,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot read the TLS certificate {cert} or key {key}: {source}")]
    Tls {
        cert: PathBuf,
        key: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot connect to the cluster for --watch: {0}")]
    Cluster(#[from] kube::Error),
    #[error("cannot serve on {address}: {source}")]
    Serve {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot listen for SIGTERM: {0}")]
    Signal(std::io::Error),
}

/// The limit the API server itself puts on a request body (3 MiB): a larger
/// AdmissionReview cannot come from it.
pub const BODY_LIMIT: usize = 3 * 1024 * 1024;

pub use server::serve;
