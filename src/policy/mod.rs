//! Admission without a webhook: a ValidatingAdmissionPolicy (CEL evaluated by the API
//! server itself) generated from the catalogue, for the rules that judge one object alone.
//! It reads only the catalogue and the model; the webhook with `--watch` stays the full
//! check (rules that need the rest of the namespace, named targetPorts).

mod cel;
mod selector;
pub mod vap;

pub use selector::{LabelSelector, SelectorError};
pub use vap::{Action, VapOptions};
