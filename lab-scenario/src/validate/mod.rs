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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::content::EmbeddedContent;
    use crate::model::Scenario;

    const HEADER: &str = "id: s\ntitle: T\ndescription: D\nestimated_minutes: 1\n\
                          engines: [docker, cluster, kvm]\ntasks:\n";

    /// Validates `tasks` (YAML list items) under a fixed header; returns the
    /// messages.
    fn messages(tasks: &str) -> Vec<String> {
        let text = format!("{HEADER}{tasks}");
        let validation = validate_text("t.yaml", &text, &EmbeddedContent);
        validation
            .diagnostics
            .iter()
            .map(|d| d.message.clone())
            .collect()
    }

    /// Asserts the validator and serde both accept the tasks.
    fn accepted_by_both(tasks: &str) {
        assert_eq!(messages(tasks), Vec::<String>::new());
        let text = format!("{HEADER}{tasks}");
        serde_yaml_ng::from_str::<Scenario>(&text).expect("serde accepts what validation accepts");
    }

    #[test]
    fn plain_numbers_and_booleans_are_text_in_plain_fields() {
        accepted_by_both(
            "  - id: 1\n    title: 2024\n    lesson: {markdown: true}\n    questions:\n\
             \x20     - {id: q, prompt: 5, answer: {exact: {text: 8080}}}\n",
        );
    }

    #[test]
    fn quoted_numbers_are_text_inside_checks() {
        accepted_by_both(
            "  - id: t\n    title: T\n    lesson: {markdown: M}\n    checks:\n\
             \x20     - {kind: resource_exists, resource: pod, name: \"123\"}\n",
        );
        let found = messages(
            "  - id: t\n    title: T\n    lesson: {markdown: M}\n    checks:\n\
             \x20     - {kind: resource_exists, resource: pod, name: 123}\n",
        );
        assert_eq!(found, ["`name` must be text; quote it: \"123\""]);
    }

    #[test]
    fn every_rule_and_check_kind_written_fully_is_accepted() {
        accepted_by_both(
            "  - id: t\n    title: T\n    lesson: {markdown: M}\n    questions:\n\
             \x20     - {id: a, prompt: P, answer: {regex: '[a-z]+'}}\n\
             \x20     - {id: b, prompt: P, answer: {number: {value: -1.5, tolerance: 0}}}\n\
             \x20     - {id: c, prompt: P, answer: {choice: {options: [x, y], correct: y}}}\n\
             \x20     - {id: d, prompt: P, answer: {live: {source: vm, field: io_out}}}\n\
             \x20   checks:\n\
             \x20     - {kind: pods_ready, count: 2}\n\
             \x20     - {kind: resource_count, resource: pod, equals: 0}\n\
             \x20     - {kind: console_matches, pattern: 'Hello'}\n\
             \x20     - {kind: http, port: 80, path: /x, status: 404, matches: 'a.b'}\n",
        );
    }

    #[test]
    fn hex_and_leading_plus_numbers_follow_yaml_rules() {
        accepted_by_both(
            "  - id: t\n    title: T\n    lesson: {markdown: M}\n    questions:\n\
             \x20     - {id: q, prompt: P, points: 0x10, answer: {number: {value: +3}}}\n",
        );
    }
}
