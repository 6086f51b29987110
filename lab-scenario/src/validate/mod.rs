//! Validation: a walk over the positioned YAML tree against the shape of
//! [`Scenario`](crate::model::Scenario), reporting every problem it finds.
//!
//! The walk knows each struct's fields (kept equal to the JSON Schema by a
//! test), resolves plain scalars as serde_yaml_ng would, and adds the checks
//! serde cannot make: unique ids, regular expressions that compile, content
//! files that exist, a choice's answer among its options, engines listed for
//! the checks that need them. Only a file that passes the walk is handed to
//! serde for the typed model.
//!
//! - [`fields`]: the field names of every mapping, by type.
//! - [`scalar`]: how a plain scalar resolves.

pub mod fields;
pub mod scalar;

mod answers;
mod checks;
mod walker;

use std::collections::HashMap;

use crate::content::ContentSource;
use crate::diagnostic::Diagnostic;
use crate::yaml_tree;

pub(crate) use walker::Walker;

/// Most problems reported for one file; past that the rest are noise.
pub const MAX_DIAGNOSTICS: usize = 200;

/// What validating one file found.
#[derive(Debug, Default)]
pub struct Validation {
    pub diagnostics: Vec<Diagnostic>,
    /// Content files read during validation, by path relative to `content/`.
    pub content: HashMap<String, String>,
}

/// Validates the text of one scenario file. `file` names it in diagnostics.
pub fn validate_text(file: &str, text: &str, content: &dyn ContentSource) -> Validation {
    let parsed = yaml_tree::parse(text);
    let mut walker = Walker::new(file, content);
    for problem in parsed.problems {
        walker.report(problem.position, problem.message, None);
    }
    match &parsed.root {
        Some(root) => walker.scenario(root),
        None if walker.is_clean() => walker.empty_file(),
        None => {}
    }
    walker.finish()
}
