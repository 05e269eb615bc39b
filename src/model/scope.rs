//! How far a port reaches, and over which transport.

use std::fmt;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How far a listener reaches, narrowest first. The order is the contract: a finding
/// compares an exposure's scope with the catalogue's widest allowed scope.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Only inside its pod, or published on the host's loopback.
    Loopback,
    /// Only the mail stack's own pods or the Compose project's networks.
    Internal,
    /// Every pod of the cluster, an internal load balancer, or one private host address.
    Cluster,
    /// Anything outside the cluster or host.
    External,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Loopback => "loopback",
            Scope::Internal => "internal",
            Scope::Cluster => "cluster",
            Scope::External => "external",
        }
    }

    /// How far a port published on one host address reaches: loopback stays on the host,
    /// a private address reaches its network, anything else (including "all addresses",
    /// `None`) the world.
    pub fn of_host_address(address: Option<IpAddr>) -> Scope {
        let Some(address) = address else {
            return Scope::External;
        };
        if address.is_loopback() {
            return Scope::Loopback;
        }
        if address.is_unspecified() {
            return Scope::External;
        }
        let private = match address {
            IpAddr::V4(v4) => {
                let [a, b, ..] = v4.octets();
                v4.is_private() || v4.is_link_local() || (a == 100 && (64..128).contains(&b))
            }
            IpAddr::V6(v6) => {
                let first = v6.segments()[0];
                (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
            }
        };
        if private {
            Scope::Cluster
        } else {
            Scope::External
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Transport protocol of a port, spelled as Kubernetes spells it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// Parses `tcp`, `TCP`, `udp`, … as Compose and Kubernetes write them.
    pub fn parse(text: &str) -> Option<Protocol> {
        match text.to_ascii_lowercase().as_str() {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "sctp" => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_addresses_map_to_scopes() {
        let cases = [
            (Some("127.0.0.1"), Scope::Loopback),
            (Some("::1"), Scope::Loopback),
            (Some("0.0.0.0"), Scope::External),
            (Some("::"), Scope::External),
            (Some("10.0.0.5"), Scope::Cluster),
            (Some("192.168.1.2"), Scope::Cluster),
            (Some("100.64.0.1"), Scope::Cluster),
            (Some("fd00::1"), Scope::Cluster),
            (Some("203.0.113.7"), Scope::External),
            (None, Scope::External),
        ];
        for (address, scope) in cases {
            let ip = address.map(|a| a.parse().expect("test address"));
            assert_eq!(Scope::of_host_address(ip), scope, "{address:?}");
        }
    }
}
