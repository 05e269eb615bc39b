//! `invalid-input`: what the loaders could not read, reported beside everything else.

use crate::catalogue::Catalogue;
use crate::model::{Finding, Impact, Inventory, Rule, Severity};

pub fn invalid_input(inventory: &Inventory, _: &Catalogue) -> Vec<Finding> {
    inventory
        .invalid
        .iter()
        .map(|problem| Finding {
            object: problem.object.clone(),
            location: Some(problem.location.clone()),
            severity: match problem.impact {
                Impact::Unread | Impact::UnknownField => Rule::InvalidInput.info().severity,
                Impact::ValueSkipped | Impact::NotListed => Severity::Note,
            },
            ..Finding::new(Rule::InvalidInput, problem.message.clone())
        })
        .collect()
}
