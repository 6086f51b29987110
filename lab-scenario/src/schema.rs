//! The JSON Schema of the scenario format, generated from the Rust types.
//!
//! Editors use it through the `yaml-language-server` modeline described in
//! `scenarios/README.md`; a copy is committed as
//! `scenarios/scenario.schema.json` and a test keeps the two equal.

use crate::model::Scenario;

/// The JSON Schema of a scenario file.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Scenario);
    schema.to_value()
}

/// The schema as pretty-printed JSON with a final newline, exactly as
/// committed in `scenarios/scenario.schema.json`.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    text.push('\n');
    text
}
