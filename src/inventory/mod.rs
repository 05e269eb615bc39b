//! Objects → inventory: which workloads listen on which ports, and every way each port
//! is reached, with its scope. Kubernetes and Compose each have a builder; both fill the
//! same [`Inventory`].

mod compose;
mod kubernetes;

use std::net::IpAddr;

use crate::load::Loaded;
use crate::model::{Inventory, Scope};

/// Builds the inventory from everything loaded. Problems found while reading stay in it,
/// so the `invalid-input` rule reports them beside the rest.
pub fn build(loaded: Loaded) -> Inventory {
    let mut inventory = Inventory {
        files: loaded.files,
        objects: loaded.kube.len()
            + loaded
                .compose
                .iter()
                .map(|p| p.services.len())
                .sum::<usize>(),
        invalid: loaded.problems,
        ..Inventory::default()
    };
    kubernetes::add(&loaded.kube, &mut inventory);
    for project in &loaded.compose {
        compose::add(project, &mut inventory);
    }
    crate::reach::apply(&mut inventory);
    inventory
}

/// How far a port published on one host address reaches: loopback stays on the host, a
/// private address reaches its network, anything else (including "all addresses") the
/// world.
pub fn host_address_scope(address: Option<IpAddr>) -> Scope {
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
            assert_eq!(host_address_scope(ip), scope, "{address:?}");
        }
    }
}
