//! The scenario as the lab sees it after loading.
//!
//! A scenario is a YAML file in `scenarios/` whose lessons live inline or in
//! Markdown files under `content/`. These types are also the source of the
//! JSON Schema that `lab scenario schema` prints.

use lab_engine_api::{CheckSpec, EngineKind, LiveValueSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A guided scenario: an ordered list of tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Stable identifier, used in progress records and on the command line.
    pub id: String,
    pub title: String,
    /// One or two sentences for the scenario picker.
    pub description: String,
    /// Estimated time to complete, in minutes.
    pub estimated_minutes: u32,
    /// Engines the scenario starts for each session.
    #[serde(default)]
    pub engines: Vec<EngineKind>,
    /// The starting state of the session's Kubernetes cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterSetup>,
    pub tasks: Vec<Task>,
}

/// Manifests applied to a session's cluster when it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSetup {
    /// YAML manifests, relative to `content/`.
    pub manifests: Vec<String>,
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Unique within the scenario.
    pub id: String,
    pub title: String,
    /// The lesson text: inline Markdown or a file under `content/`.
    /// Written as a one-key map (`{file: ...}`), which serde_yaml_ng reads
    /// only through `singleton_map`; its default for enums is YAML tags.
    #[serde(with = "serde_yaml_ng::with::singleton_map")]
    #[schemars(with = "Lesson")]
    pub lesson: Lesson,
    #[serde(default)]
    pub questions: Vec<Question>,
    /// Hands-on checks; the task is done when all questions are answered and
    /// all checks pass.
    #[serde(default)]
    pub checks: Vec<CheckSpec>,
    /// Task-level hints, revealed one at a time.
    #[serde(default)]
    pub hints: Vec<String>,
    /// Lab shell lines and answers that solve the task, for
    /// `lab scenario test`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub solution: Vec<String>,
}

/// Where a task's lesson text comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Lesson {
    /// Markdown written in the YAML itself.
    Markdown(String),
    /// A Markdown file, relative to `content/`.
    File(String),
}

/// A question with an answer box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Unique within the scenario.
    pub id: String,
    pub prompt: String,
    #[serde(default = "default_points")]
    pub points: u32,
    /// A one-key map naming the rule, like [`Task::lesson`].
    #[serde(with = "serde_yaml_ng::with::singleton_map")]
    #[schemars(with = "AnswerRule")]
    pub answer: AnswerRule,
    /// Shown after a correct answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// Revealed one at a time.
    #[serde(default)]
    pub hints: Vec<String>,
}

/// How a typed answer is judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerRule {
    /// One accepted text.
    Exact(TextAnswer),
    /// Several accepted texts.
    AnyOf(TextAnswers),
    /// A regular expression that must match the whole trimmed answer.
    Regex(String),
    /// A number, with an optional tolerance either side.
    Number(NumberAnswer),
    /// Multiple choice: the student picks one option.
    Choice(ChoiceAnswer),
    /// The expected value is read from the live environment at check time.
    Live(LiveValueSpec),
}

/// An accepted text and how to compare it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextAnswer {
    pub text: String,
    #[serde(default)]
    pub case_sensitive: bool,
    /// Compare inner whitespace exactly instead of folding runs to one space.
    #[serde(default)]
    pub exact_whitespace: bool,
}

/// Several accepted texts, compared like [`TextAnswer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextAnswers {
    pub texts: Vec<String>,
    #[serde(default)]
    pub case_sensitive: bool,
    #[serde(default)]
    pub exact_whitespace: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberAnswer {
    pub value: f64,
    #[serde(default)]
    pub tolerance: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceAnswer {
    pub options: Vec<String>,
    /// The correct option, exactly as written in `options`.
    pub correct: String,
}

fn default_points() -> u32 {
    1
}

impl Scenario {
    /// The task with this id.
    pub fn task(&self, id: &str) -> Option<&Task> {
        self.tasks.iter().find(|task| task.id == id)
    }

    /// The question with this id and the task it belongs to.
    pub fn question(&self, id: &str) -> Option<(&Task, &Question)> {
        self.tasks.iter().find_map(|task| {
            task.questions
                .iter()
                .find(|q| q.id == id)
                .map(|q| (task, q))
        })
    }

    /// The points of every question together.
    pub fn total_points(&self) -> u64 {
        self.tasks
            .iter()
            .flat_map(|t| &t.questions)
            .map(|q| u64::from(q.points))
            .sum()
    }
}
