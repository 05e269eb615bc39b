//! iredmail-ports: checks the network ports of a containerized iRedMail against
//! iRedMail's port catalogue.
//!
//! Data flows one way, one module per step:
//! sources → documents → objects ([`load`]) → [`inventory`] ([`model`]) → findings
//! ([`rules`]) → [`report`], with [`model`] the vocabulary underneath every step. The CLI,
//! the kubectl plugin and the admission webhook each build one [`Engine`] and call it.

pub mod baseline;
pub mod catalogue;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod engine;
pub mod inventory;
pub mod load;
pub mod model;
pub mod policy;
pub mod reach;
pub mod report;
pub mod rules;
pub mod schema;
pub mod webhook;

pub use catalogue::Catalogue;
pub use config::Config;
pub use engine::{CheckError, Engine, Rules};
pub use load::Input;
pub use report::Report;

/// Reads the inputs, builds the inventory and runs every rule: a one-off [`Engine`].
pub fn check(
    inputs: &[Input],
    catalogue: &Catalogue,
    config: &Config,
) -> Result<Report, CheckError> {
    Engine::new(catalogue, config.clone()).check(inputs)
}
