//! Objects → inventory: which workloads listen on which ports, and every way each port
//! is reached, with its scope. Kubernetes and Compose each have a builder; both fill the
//! same [`Inventory`].

mod compose;
mod kubernetes;

use crate::load::Loaded;
use crate::model::Inventory;

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
        unresolved: loaded.unresolved.into_iter().collect(),
        ..Inventory::default()
    };
    kubernetes::add(&loaded.kube, &mut inventory);
    for project in &loaded.compose {
        compose::add(project, &mut inventory);
    }
    crate::reach::apply(&mut inventory);
    inventory
}
