//! The command line, as clap definitions only; `main.rs` acts on it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;
use crate::rules::Severity;
use crate::schema::SchemaKind;

#[derive(Debug, Parser)]
#[command(
    name = "iredmail-ports",
    version,
    about = "Checks the network ports of a containerized iRedMail against iRedMail's port catalogue",
    long_about = "Checks the network ports of a containerized iRedMail (Kubernetes manifests, \
                  Helm output, Compose files) against iRedMail's port catalogue, and reports \
                  every port that is missing, extra or wrongly exposed.\n\n\
                  Exit codes: 0 no finding at or above --fail-on; 1 findings; 2 usage error \
                  or an unusable catalogue."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check files, directories or standard input (`-`).
    Check(CheckArgs),
    /// Print the port catalogue.
    Catalogue(CatalogueArgs),
    /// Print a JSON Schema generated from the types.
    Schema {
        #[arg(value_enum)]
        kind: SchemaKind,
    },
    /// Explain a rule: what fires it, why, how to fix it, with examples.
    Explain {
        /// A rule id, e.g. `internal-port-exposed`.
        rule: String,
    },
    /// Serve the admission webhook: answer AdmissionReviews at `POST /validate` over HTTPS.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or directories to check; `-` reads standard input. Directories are walked
    /// honouring .gitignore. Default: the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Compose files to merge in order, as `docker compose -f a -f b` does (repeatable).
    #[arg(short = 'f', long = "compose-file", value_name = "FILE")]
    pub compose_files: Vec<PathBuf>,

    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub catalogue: CatalogueChoice,

    /// The config file (severities, excludes, allowed ports, suppressions). Default: the
    /// nearest `.iredmail-ports.yaml` from the first path upward.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Report the findings this baseline lists as suppressed: only new ones fail.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Record the findings of this run in FILE, for a later `--baseline FILE`.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Exit with 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// When to color text output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

#[derive(Debug, Args)]
pub struct CatalogueChoice {
    /// A catalogue file to use instead of the embedded default (policies/iredmail.yaml).
    #[arg(long, value_name = "FILE")]
    pub catalogue: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CatalogueArgs {
    #[arg(long, value_enum, default_value_t = CatalogueFormat::Table)]
    pub format: CatalogueFormat,

    #[command(flatten)]
    pub catalogue: CatalogueChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CatalogueFormat {
    Table,
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Note,
    Never,
}

impl FailOn {
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Note => Some(Severity::Note),
            FailOn::Never => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Color on a terminal, unless NO_COLOR is set.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free port; the log says which).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8443")]
    pub listen: std::net::SocketAddr,

    /// The server certificate (PEM, chain allowed); reloaded when the file changes.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,

    /// The server's private key (PEM); reloaded with the certificate.
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,

    /// What to do with findings: deny the request, allow it with warnings, or only log.
    #[arg(long, value_enum, default_value_t = crate::webhook::Mode::Enforce)]
    pub mode: crate::webhook::Mode,

    /// In `enforce` mode, deny when a finding is at or above this severity; findings
    /// below it are returned as warnings.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    #[command(flatten)]
    pub catalogue: CatalogueChoice,

    /// The config file (severities, allowed ports, suppressions).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Watch the cluster's Services, NetworkPolicies, Ingresses, Namespaces and workloads
    /// so that the rules that need the rest of the namespace run too.
    #[arg(long)]
    pub watch: bool,

    /// How often to look for a new certificate, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub cert_poll_interval: u64,

    /// The longest a review may take, in seconds, body included.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub request_timeout: u64,

    /// On SIGTERM, how long in-flight reviews may take to finish, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub shutdown_grace: u64,
}
