//! iRedMail's port catalogue: which ports exist, how far each may reach, and which are
//! required, deprecated or removed. The default is `policies/iredmail.yaml`, embedded in the
//! binary; `--catalogue NAME|FILE` picks another shipped one or a file.

mod load;
mod render;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Protocol, Scope};

pub use load::CatalogueError;

/// A port catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Short name shown in reports (`iredmail`, `iredmail-implicit-tls`).
    pub name: String,
    pub description: String,
    /// Where the catalogue's facts come from.
    pub source: String,
    /// Container images that mark a deployment as an iRedMail mail stack, matched as
    /// substrings of the image reference (`iredmail/`).
    #[serde(default)]
    pub images: Vec<String>,
    /// Groups of ports of which at least one must be reachable at the given scope.
    #[serde(default)]
    pub requirements: Vec<Requirement>,
    pub ports: Vec<PortEntry>,
    /// HTTP paths iRedMail's web front end serves (Exchange ActiveSync, DAV, autoconfig),
    /// with the backends that may serve each and what the proxy in front must allow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_paths: Vec<HttpPath>,
    /// The workloads an HTTP path may be routed to (SOGo, the web front end), and how to
    /// recognise them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub web_backends: Vec<WebBackend>,
}

/// One HTTP path of iRedMail's web front end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpPath {
    /// The path as clients request it (`/Microsoft-Server-ActiveSync`).
    pub path: String,
    /// How messages name it (`Exchange ActiveSync`).
    pub name: String,
    /// The port clients reach it on.
    pub port: u16,
    /// Whether the path must be served over TLS only (plain HTTP redirected).
    #[serde(default)]
    pub tls_required: bool,
    /// The `web_backends` ids that may serve it (SOGo itself, or the front end that
    /// proxies to SOGo).
    pub served_by: Vec<String>,
    /// Seconds a proxy in front of the path must let a request stay open (SOGo's EAS
    /// long-poll: 3540).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// Whether this is an Exchange ActiveSync path, which the `eas-*` rules check.
    #[serde(default)]
    pub activesync: bool,
    /// Whether a deployment that runs SOGo must route this path over HTTPS
    /// (`eas-unreachable`).
    #[serde(default)]
    pub required: bool,
    /// Host names it is served on, when not every host (`autoconfig.*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// File and line in iRedMail's repositories that this entry comes from.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A workload that may serve HTTP paths, recognised by any one of its catalogue ports,
/// container images or pod labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebBackend {
    /// Stable id that `http_paths[].served_by` refers to (`sogo`, `web`).
    pub id: String,
    /// How messages name it.
    pub name: String,
    /// A workload listening on one of these catalogue ports is this backend.
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Substrings of container image references (`sogo`, `iredmail/`).
    #[serde(default)]
    pub images: Vec<String>,
    /// Pod labels, `key=value` (`app.kubernetes.io/name=sogo`).
    #[serde(default)]
    pub labels: Vec<String>,
    pub source: String,
}

impl WebBackend {
    /// Whether a workload with these listeners, images and labels is this backend.
    pub fn recognises(
        &self,
        listening: &[u16],
        images: &[String],
        labels: &std::collections::BTreeMap<String, String>,
    ) -> bool {
        let by_port = listening.iter().any(|p| self.ports.contains(p));
        let by_image = images
            .iter()
            .any(|image| self.images.iter().any(|i| image.contains(i.as_str())));
        let by_label = self.labels.iter().any(|pair| {
            pair.split_once('=')
                .is_some_and(|(k, v)| labels.get(k).is_some_and(|l| l == v))
        });
        by_port || by_image || by_label
    }
}

/// A requirement met by any one of its ports (IMAP is 143 or 993 in the implicit-TLS policy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Stable name, e.g. `smtp`, `submission`, `imap`, `https`.
    pub name: String,
    pub any_of: Vec<u16>,
    #[serde(default = "default_protocol")]
    pub protocol: Protocol,
    /// The scope at which one of the ports must be reachable.
    pub scope: Scope,
    /// Why the port is needed, for messages.
    pub why: String,
    /// Whether a deployment that listens on one of these ports is taken to be a mail stack
    /// (and so must offer every requirement). False for ports any web app has, like 443.
    #[serde(default = "yes")]
    pub marks_mail_stack: bool,
}

fn yes() -> bool {
    true
}

/// One port iRedMail opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortEntry {
    /// The daemon, lower-case (`postfix`, `dovecot`, `mysql`): the report's `service` field.
    pub service: String,
    /// How messages name it (`Postfix SMTP`, `MySQL/MariaDB`).
    pub name: String,
    pub port: u16,
    #[serde(default = "default_protocol")]
    pub protocol: Protocol,
    pub purpose: String,
    /// The address iRedMail's installer binds it to (`0.0.0.0`, `127.0.0.1`).
    pub listen: String,
    /// The widest scope it may reach.
    pub scope: Scope,
    #[serde(default)]
    pub status: Status,
    /// Whether clients connect to this port by its number, so publishing it on another
    /// number breaks them (`port-remapped`).
    #[serde(default)]
    pub client_facing: bool,
    /// HTTP paths through which a web front end may publish this port over TLS (SOGo's
    /// `/SOGo`, iRedAdmin's `/iredadmin`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// File and line in iRedMail's repositories or documents that this entry comes from.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The life-cycle state of a port.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Status {
    /// A normal iRedMail port.
    #[default]
    Active,
    /// Not a mail port but opened by iRedMail's firewall samples (SSH).
    Optional,
    /// Still works but should be replaced.
    Deprecated { replacement: u16, reason: String },
    /// No longer shipped by iRedMail.
    Removed {
        /// The iRedMail release that removed it.
        release: String,
        replacement: String,
    },
}

fn default_protocol() -> Protocol {
    Protocol::Tcp
}

impl Catalogue {
    /// The catalogue entry for a container port, matching the protocol.
    pub fn entry(&self, port: u16, protocol: Protocol) -> Option<&PortEntry> {
        self.ports
            .iter()
            .find(|e| e.port == port && e.protocol == protocol)
    }

    /// Any catalogue entry for the port number, whatever its protocol.
    pub fn entry_any_protocol(&self, port: u16) -> Option<&PortEntry> {
        self.ports.iter().find(|e| e.port == port)
    }

    /// The entries for `protocol` whose port lies in `first..=last`, in port order. The
    /// cost is the catalogue's size, never the range's width: `1-65535` is as cheap as
    /// one port.
    pub fn entries_in(&self, first: u16, last: u16, protocol: Protocol) -> Vec<&PortEntry> {
        let mut entries: Vec<&PortEntry> = self
            .ports
            .iter()
            .filter(|e| e.protocol == protocol && (first..=last).contains(&e.port))
            .collect();
        entries.sort_by_key(|e| e.port);
        entries
    }

    /// How many port numbers in `first..=last` the catalogue knows under any protocol.
    pub fn known_ports_in(&self, first: u16, last: u16) -> usize {
        let mut ports: Vec<u16> = self
            .ports
            .iter()
            .map(|e| e.port)
            .filter(|p| (first..=last).contains(p))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports.len()
    }

    /// The web backend with this id.
    pub fn web_backend(&self, id: &str) -> Option<&WebBackend> {
        self.web_backends.iter().find(|b| b.id == id)
    }

    /// Whether any requirement names this port.
    pub fn is_required(&self, port: u16) -> bool {
        self.requirements.iter().any(|r| r.any_of.contains(&port))
    }
}
