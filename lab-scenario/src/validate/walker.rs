//! The walk over a scenario's tree: the scenario, its tasks, questions and
//! lessons, and the typed primitives every part uses.

use std::collections::{HashMap, HashSet};

use lab_engine_api::EngineKind;

use super::fields::{self, Field};
use super::scalar::{Resolved, resolve_plain};
use super::{MAX_DIAGNOSTICS, Validation};
use crate::content::ContentSource;
use crate::diagnostic::{Diagnostic, Position, nearest};
use crate::solution::{LIVE_PLACEHOLDER, SolutionStep};
use crate::yaml_tree::{Node, Value, get};

/// Ids must be usable on the command line and in `answer <id> <text>`.
const ID_HINT: &str = "letters, digits, `-`, `_` and `.`, starting with a letter or digit";

/// Walks one scenario tree, collecting diagnostics.
pub(crate) struct Walker<'a> {
    file: &'a str,
    content: &'a dyn ContentSource,
    diagnostics: Vec<Diagnostic>,
    /// Where the first problem past the limit was found.
    truncated_at: Option<Position>,
    files: HashMap<String, String>,
    /// Engines declared in `engines:`; `None` until read, or when the list
    /// itself was malformed (then engine requirements are not checked).
    pub(super) engines: Option<Vec<EngineKind>>,
    task_ids: HashMap<String, Position>,
    question_ids: HashMap<String, Position>,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(file: &'a str, content: &'a dyn ContentSource) -> Self {
        Walker {
            file,
            content,
            diagnostics: Vec::new(),
            truncated_at: None,
            files: HashMap::new(),
            engines: None,
            task_ids: HashMap::new(),
            question_ids: HashMap::new(),
        }
    }

    /// The diagnostics in file order (a stable sort keeps the order of
    /// several problems at one place), then the note that some were left out.
    pub(crate) fn finish(mut self) -> Validation {
        self.diagnostics.sort_by_key(Diagnostic::position);
        if let Some(at) = self.truncated_at {
            let message = format!("too many problems; stopped after {MAX_DIAGNOSTICS}");
            self.diagnostics
                .push(Diagnostic::at(self.file, at, message));
        }
        Validation {
            diagnostics: self.diagnostics,
            content: self.files,
        }
    }

    pub(crate) fn is_clean(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// Records a problem; past [`MAX_DIAGNOSTICS`] one last line says so.
    pub(crate) fn report(
        &mut self,
        at: Position,
        message: impl Into<String>,
        suggestion: Option<String>,
    ) {
        if self.diagnostics.len() >= MAX_DIAGNOSTICS {
            self.truncated_at.get_or_insert(at);
            return;
        }
        let diagnostic = Diagnostic::at(self.file, at, message).with_suggestion(suggestion);
        self.diagnostics.push(diagnostic);
    }

    pub(crate) fn empty_file(&mut self) {
        let message = "file is empty: a scenario needs `id`, `title`, `description`, \
                       `estimated_minutes` and `tasks`";
        self.report(Position::START, message, None);
    }

    // ----- the scenario and its parts -----

    pub(crate) fn scenario(&mut self, root: &Node) {
        if root.is_null() {
            return self.empty_file();
        }
        let Some(entries) = self.mapping(root, "the scenario", fields::SCENARIO) else {
            return;
        };
        if let Some(node) = get(entries, "id") {
            self.identifier(node, "id");
        }
        for name in ["title", "description"] {
            if let Some(node) = get(entries, name) {
                self.required_text(node, name);
            }
        }
        if let Some(node) = get(entries, "estimated_minutes") {
            self.positive(node, "estimated_minutes", u64::from(u32::MAX));
        }
        self.engines = match get(entries, "engines") {
            Some(node) => self.engine_list(node),
            None => Some(Vec::new()),
        };
        if let Some((key, node)) = entries
            .iter()
            .find(|(k, _)| k.as_scalar() == Some("cluster"))
        {
            self.cluster(key.position, node);
        }
        if let Some(node) = get(entries, "tasks") {
            self.tasks(node);
        }
    }

    fn engine_list(&mut self, node: &Node) -> Option<Vec<EngineKind>> {
        let items = self.list(node, "engines")?;
        let mut engines: Vec<EngineKind> = Vec::new();
        let mut complete = true;
        for item in items {
            match self.engine_name(item) {
                Some(engine) if engines.contains(&engine) => {
                    self.report(
                        item.position,
                        format!("engine `{engine}` is listed twice"),
                        None,
                    );
                }
                Some(engine) => engines.push(engine),
                None => complete = false,
            }
        }
        complete.then_some(engines)
    }

    fn engine_name(&mut self, node: &Node) -> Option<EngineKind> {
        let name = self.text(node, "an engine")?;
        match name {
            "docker" => Some(EngineKind::Docker),
            "cluster" => Some(EngineKind::Cluster),
            "kvm" => Some(EngineKind::Kvm),
            other => {
                let message = format!(
                    "unknown engine `{other}`; engines are {}",
                    fields::ENGINES.join(", ")
                );
                let suggestion = nearest(other, fields::ENGINES.iter().copied());
                self.report(node.position, message, suggestion);
                None
            }
        }
    }

    fn cluster(&mut self, key_at: Position, node: &Node) {
        self.require_engine(key_at, EngineKind::Cluster, "`cluster` set-up");
        let Some(entries) = self.mapping(node, "the cluster set-up", fields::CLUSTER) else {
            return;
        };
        let Some(list) = get(entries, "manifests") else {
            return;
        };
        let Some(items) = self.list(list, "manifests") else {
            return;
        };
        for item in items {
            if let Some(path) = self.text(item, "a manifest path") {
                self.content_file(item.position, path, "manifest");
            }
        }
    }

    fn tasks(&mut self, node: &Node) {
        let Some(items) = self.list(node, "tasks") else {
            return;
        };
        if items.is_empty() {
            self.report(node.position, "a scenario needs at least one task", None);
        }
        for item in items {
            self.task(item);
        }
    }

    fn task(&mut self, node: &Node) {
        if node.is_null() {
            let message = "task is empty: a task needs `id`, `title` and `lesson`";
            return self.report(node.position, message, None);
        }
        let Some(entries) = self.mapping(node, "a task", fields::TASK) else {
            return;
        };
        if let Some(id) = get(entries, "id") {
            self.unique_id(id, "task");
        }
        if let Some(title) = get(entries, "title") {
            self.required_text(title, "title");
        }
        if let Some(lesson) = get(entries, "lesson") {
            self.lesson(lesson);
        }
        let question_ids = match get(entries, "questions") {
            Some(questions) => self.questions(questions),
            None => HashSet::new(),
        };
        if let Some(checks) = get(entries, "checks") {
            self.checks(checks);
        }
        if let Some(hints) = get(entries, "hints") {
            self.text_list(hints, "hints");
        }
        if let Some(solution) = get(entries, "solution") {
            self.solution(solution, &question_ids);
        }
    }

    fn lesson(&mut self, node: &Node) {
        let Some(entries) = self.mapping(node, "a lesson", fields::LESSON) else {
            return;
        };
        let sources: Vec<&(Node, Node)> = entries
            .iter()
            .filter(|(k, _)| matches!(k.as_scalar(), Some("markdown" | "file")))
            .collect();
        match sources.as_slice() {
            [] => {
                let message =
                    "a lesson needs `markdown` (inline text) or `file` (a path under content/)";
                self.report(node.position, message, None);
            }
            [(key, value)] if key.as_scalar() == Some("file") => self.lesson_file(value),
            [(_, value)] => self.lesson_text(value),
            [_, (second, _), ..] => {
                let message = "a lesson has either `markdown` or `file`, not both";
                self.report(second.position, message, None);
            }
        }
    }

    fn lesson_text(&mut self, node: &Node) {
        let Some(text) = self.text(node, "markdown") else {
            return;
        };
        if text.trim().is_empty() {
            self.report(node.position, "lesson text is empty", None);
        }
    }

    fn lesson_file(&mut self, node: &Node) {
        let Some(path) = self.text(node, "file") else {
            return;
        };
        let Some(text) = self.content_file(node.position, path, "lesson") else {
            return;
        };
        if text.trim().is_empty() {
            self.report(
                node.position,
                format!("lesson file `{path}` is empty"),
                None,
            );
        }
    }

    /// Reads a content file once and keeps its text for the loader.
    fn content_file(&mut self, at: Position, path: &str, what: &str) -> Option<String> {
        if let Some(text) = self.files.get(path) {
            return Some(text.clone());
        }
        match self.content.read(path) {
            Ok(text) => {
                self.files.insert(path.to_owned(), text.clone());
                Some(text)
            }
            Err(error) => {
                self.report(at, format!("{what}: {error}"), None);
                None
            }
        }
    }

    /// Walks the questions of a task and returns their ids.
    fn questions(&mut self, node: &Node) -> HashSet<String> {
        let Some(items) = self.list(node, "questions") else {
            return HashSet::new();
        };
        items
            .iter()
            .filter_map(|item| self.question(item))
            .collect()
    }

    fn question(&mut self, node: &Node) -> Option<String> {
        let entries = self.mapping(node, "a question", fields::QUESTION)?;
        let id = get(entries, "id").and_then(|id| self.unique_id(id, "question"));
        if let Some(prompt) = get(entries, "prompt") {
            self.required_text(prompt, "prompt");
        }
        if let Some(points) = get(entries, "points") {
            self.unsigned(points, "points", u64::from(u32::MAX));
        }
        if let Some(answer) = get(entries, "answer") {
            self.answer_rule(answer);
        }
        if let Some(explanation) = get(entries, "explanation") {
            self.text(explanation, "explanation");
        }
        if let Some(hints) = get(entries, "hints") {
            self.text_list(hints, "hints");
        }
        id
    }

    /// Solution lines are lab shell commands, or `answer <question-id> <text>`
    /// for a question of the same task.
    fn solution(&mut self, node: &Node, question_ids: &HashSet<String>) {
        let Some(items) = self.list(node, "solution") else {
            return;
        };
        for item in items {
            let Some(line) = self.required_text(item, "an entry of `solution`") else {
                continue;
            };
            let (id, text) = match SolutionStep::parse(line) {
                SolutionStep::Command(_) => continue,
                SolutionStep::Answer { question_id, text } => (question_id, text),
                SolutionStep::AnswerLive { question_id } => (question_id, LIVE_PLACEHOLDER),
            };
            if !question_ids.contains(id) {
                let message =
                    format!("solution answers `{id}`, which is not a question of this task");
                let suggestion = nearest(id, question_ids.iter().map(String::as_str));
                self.report(item.position, message, suggestion);
            } else if text.is_empty() {
                let message = "solution line `answer <id>` has no answer text";
                self.report(item.position, message, None);
            }
        }
    }

    // ----- engine requirements -----

    /// Reports when a part of the scenario needs an engine not in `engines:`.
    pub(super) fn require_engine(&mut self, at: Position, engine: EngineKind, what: &str) {
        let Some(engines) = &self.engines else { return };
        if !engines.contains(&engine) {
            let message = format!("{what} needs the {engine} engine; add `{engine}` to `engines`");
            self.report(at, message, None);
        }
    }

    // ----- primitives -----

    /// Checks that `node` is a mapping with only `fields`, and all required
    /// ones, and returns its entries.
    pub(super) fn mapping<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        fields: &[Field],
    ) -> Option<&'n [(Node, Node)]> {
        let entries = self.as_mapping(node, what)?;
        self.unknown_keys(entries, what, fields, &[]);
        self.missing_keys(node.position, entries, what, fields);
        Some(entries)
    }

    /// The entries of a mapping, or a report that `node` is not one.
    pub(super) fn as_mapping<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
    ) -> Option<&'n [(Node, Node)]> {
        if let Value::Mapping(entries) = &node.value {
            return Some(entries);
        }
        let message = format!(
            "expected {what} (a map of fields), found {}",
            node.type_name()
        );
        self.report(node.position, message, None);
        None
    }

    /// Reports keys that are neither in `fields` nor in `extra`.
    pub(super) fn unknown_keys(
        &mut self,
        entries: &[(Node, Node)],
        what: &str,
        fields: &[Field],
        extra: &[&'static str],
    ) {
        let valid = || fields::names(fields).chain(extra.iter().copied());
        for (key, _) in entries {
            let name = match &key.value {
                Value::Scalar { text, .. } if !key.is_null() => text.as_str(),
                _ => {
                    self.report(
                        key.position,
                        format!("keys in {what} must be field names"),
                        None,
                    );
                    continue;
                }
            };
            if valid().any(|field| field == name) {
                continue;
            }
            let suggestion = nearest(name, valid());
            let message = match suggestion {
                Some(_) => format!("unknown field `{name}` in {what}"),
                None => {
                    let all: Vec<_> = valid().collect();
                    format!(
                        "unknown field `{name}` in {what}; valid fields: {}",
                        all.join(", ")
                    )
                }
            };
            self.report(key.position, message, suggestion);
        }
    }

    pub(super) fn missing_keys(
        &mut self,
        at: Position,
        entries: &[(Node, Node)],
        what: &str,
        fields: &[Field],
    ) {
        for field in fields.iter().filter(|field| field.required) {
            if get(entries, field.name).is_none() {
                self.report(
                    at,
                    format!("missing required field `{}` in {what}", field.name),
                    None,
                );
            }
        }
    }

    pub(super) fn list<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Sequence(items) => Some(items),
            _ => {
                let message = format!(
                    "{} must be a list, found {}",
                    label(field),
                    node.type_name()
                );
                self.report(node.position, message, None);
                None
            }
        }
    }

    /// Any non-null scalar, read as text (serde reads `5` as "5" here).
    pub(super) fn text<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n str> {
        match &node.value {
            Value::Scalar { text, .. } if !node.is_null() => Some(text),
            _ => {
                let message = format!("{} must be text, found {}", label(field), node.type_name());
                self.report(node.position, message, None);
                None
            }
        }
    }

    /// Text inside a `kind:`/`source:` tagged map, where serde resolves plain
    /// scalars first, so `8080` or `true` is not text there.
    pub(super) fn strict_text<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n str> {
        let text = self.text(node, field)?;
        let quoted = matches!(node.value, Value::Scalar { quoted: true, .. });
        if !quoted && resolve_plain(text) != Resolved::Text {
            let message = format!("{} must be text; quote it: \"{text}\"", label(field));
            self.report(node.position, message, None);
            return None;
        }
        Some(text)
    }

    /// Text that is not blank.
    pub(super) fn required_text<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n str> {
        let text = self.text(node, field)?;
        if text.trim().is_empty() {
            self.report(
                node.position,
                format!("{} must not be empty", label(field)),
                None,
            );
            return None;
        }
        Some(text)
    }

    fn identifier<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n str> {
        let text = self.required_text(node, field)?;
        let valid_start = text.starts_with(|c: char| c.is_ascii_alphanumeric());
        let valid_rest = text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !(valid_start && valid_rest) {
            let message = format!("{} `{text}` may only contain {ID_HINT}", label(field));
            self.report(node.position, message, None);
            return None;
        }
        Some(text)
    }

    /// An identifier not used before by another `what` in this scenario.
    fn unique_id(&mut self, node: &Node, what: &str) -> Option<String> {
        let id = self.identifier(node, "id")?.to_owned();
        let seen = if what == "task" {
            &mut self.task_ids
        } else {
            &mut self.question_ids
        };
        if let Some(first) = seen.get(&id) {
            let message = format!(
                "duplicate {what} id `{id}` (first used at line {})",
                first.line
            );
            self.report(node.position, message, None);
            return None;
        }
        seen.insert(id.clone(), node.position);
        Some(id)
    }

    /// A whole number from 0 to `max`.
    pub(super) fn unsigned(&mut self, node: &Node, field: &str, max: u64) -> Option<u64> {
        let resolved = resolve_node(node);
        match resolved {
            Resolved::Unsigned(value) if value <= max => Some(value),
            Resolved::Unsigned(_) => {
                let message = format!("{} must be at most {max}", label(field));
                self.report(node.position, message, None);
                None
            }
            Resolved::Negative => {
                self.report(
                    node.position,
                    format!("{} must not be negative", label(field)),
                    None,
                );
                None
            }
            _ => {
                let message = format!(
                    "{} must be a whole number, found {}",
                    label(field),
                    node.type_name()
                );
                self.report(node.position, message, None);
                None
            }
        }
    }

    /// A whole number from 1 to `max`.
    pub(super) fn positive(&mut self, node: &Node, field: &str, max: u64) -> Option<u64> {
        let value = self.unsigned(node, field, max)?;
        if value == 0 {
            self.report(
                node.position,
                format!("{} must be at least 1", label(field)),
                None,
            );
            return None;
        }
        Some(value)
    }

    /// A finite number.
    pub(super) fn float(&mut self, node: &Node, field: &str) -> Option<f64> {
        let resolved = resolve_node(node);
        let value = match resolved {
            Resolved::Float(value) => value,
            Resolved::Unsigned(value) => value as f64,
            Resolved::Negative => node
                .as_scalar()
                .and_then(|t| t.parse().ok())
                .unwrap_or(f64::NAN),
            _ => {
                let message = format!(
                    "{} must be a number, found {}",
                    label(field),
                    node.type_name()
                );
                self.report(node.position, message, None);
                return None;
            }
        };
        if !value.is_finite() {
            self.report(
                node.position,
                format!("{} must be a finite number", label(field)),
                None,
            );
            return None;
        }
        Some(value)
    }

    pub(super) fn boolean(&mut self, node: &Node, field: &str) -> Option<bool> {
        let resolved = resolve_node(node);
        if let Resolved::Bool(value) = resolved {
            return Some(value);
        }
        let message = format!(
            "{} must be true or false, found {}",
            label(field),
            node.type_name()
        );
        self.report(node.position, message, None);
        None
    }

    /// A list of non-blank texts.
    pub(super) fn text_list<'n>(&mut self, node: &'n Node, field: &str) -> Vec<&'n str> {
        let Some(items) = self.list(node, field) else {
            return Vec::new();
        };
        let what = format!("an entry of `{field}`");
        items
            .iter()
            .filter_map(|item| self.required_text(item, &what))
            .collect()
    }

    /// A regular expression that compiles.
    pub(super) fn regex(&mut self, node: &Node, field: &str, strict: bool) {
        let pattern = if strict {
            self.strict_text(node, field)
        } else {
            self.text(node, field)
        };
        let Some(pattern) = pattern else { return };
        if let Err(error) = crate::judge::compile_pattern(pattern) {
            self.report(
                node.position,
                format!("invalid regular expression in `{field}`: {error}"),
                None,
            );
        }
    }
}

/// A field name in backticks; a descriptive phrase as it is.
/// What an unquoted scalar means to YAML (number, boolean, ...); quoted
/// scalars, maps and lists are text or worse for the typed readers.
fn resolve_node(node: &Node) -> Resolved {
    match &node.value {
        Value::Scalar {
            text,
            quoted: false,
        } => resolve_plain(text),
        _ => Resolved::Text,
    }
}

fn label(field: &str) -> String {
    if field.contains(' ') {
        field.to_owned()
    } else {
        format!("`{field}`")
    }
}
