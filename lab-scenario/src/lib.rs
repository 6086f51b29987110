//! Scenarios: what instructors write and what the lab runs.
//!
//! - [`model`]: the typed scenario (tasks, questions, answer rules, checks).
//! - [`judge`]: judging a typed answer against an answer rule.
//! - [`loader`]: loading from disk or from the embedded copy; discovery,
//!   `validate_paths`, and the catalog where scenarios on disk win.
//! - [`validate`]: the positioned walk that reports every problem in a file.
//! - [`yaml_tree`]: the YAML tree with positions and input limits.
//! - [`content`]: where lesson Markdown and cluster manifests come from.
//! - [`diagnostic`]: `file:line:column: message` problems.
//! - [`schema`]: the JSON Schema of the format.
//! - [`solution`]: a task's `solution:` lines as steps.
//!
//! ```
//! use lab_scenario::{Judgement, load_embedded};
//!
//! let scenarios = load_embedded().expect("the built-in scenarios are valid");
//! let first = &scenarios[0];
//! let (_task, question) = first.scenario.question("guest-os-name").expect("a question");
//! assert_eq!(question.answer.judge("  Guest  OS ", None), Judgement::Correct);
//! assert!(first.lesson(0).is_some_and(|markdown| markdown.starts_with("# ")));
//! ```

pub mod content;
pub mod diagnostic;
mod embedded;
pub mod judge;
pub mod loader;
pub mod model;
pub mod schema;
pub mod solution;
pub mod validate;
pub mod yaml_tree;

pub use content::{ContentError, ContentSource, DiskContent, EmbeddedContent};
pub use diagnostic::{Diagnostic, Position};
pub use judge::Judgement;
pub use loader::{
    LoadedScenario, Manifest, ScenarioCatalog, ScenarioLoader, discover, load_embedded, load_file,
    load_text, scenario_paths, validate_paths,
};
pub use model::{AnswerRule, Lesson, Question, Scenario, Task};
pub use schema::json_schema;
pub use solution::SolutionStep;
