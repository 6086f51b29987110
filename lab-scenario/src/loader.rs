//! Loading scenarios from disk or from the copy embedded in the binary.
//!
//! Loading is validation first ([`crate::validate`]), then serde for the
//! typed model, then resolving every task's lesson text and the cluster
//! manifests. A scenario that loads has no diagnostics at all.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::content::{ContentSource, DiskContent, EmbeddedContent};
use crate::diagnostic::{Diagnostic, Position};
use crate::embedded;
use crate::model::{Lesson, Scenario};
use crate::validate::validate_text;
use crate::yaml_tree::MAX_BYTES;

/// Prefix of the origin of scenarios compiled into the binary.
pub const EMBEDDED_PREFIX: &str = "embedded:";

/// A validated scenario with its lesson texts and manifests resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedScenario {
    pub scenario: Scenario,
    /// The file it was read from, or `embedded:scenarios/<name>.yaml`.
    pub origin: String,
    /// Lesson Markdown, one per task, in task order.
    pub lessons: Vec<String>,
    /// The cluster manifests of `cluster.manifests`, in order.
    pub manifests: Vec<Manifest>,
}

/// One Kubernetes manifest file to apply when a session's cluster starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Path relative to `content/`, as written in the scenario.
    pub path: String,
    pub yaml: String,
}

impl LoadedScenario {
    /// The lesson Markdown of the task at `index`.
    pub fn lesson(&self, index: usize) -> Option<&str> {
        self.lessons.get(index).map(String::as_str)
    }

    /// True when the scenario came from the binary rather than a file.
    pub fn is_embedded(&self) -> bool {
        self.origin.starts_with(EMBEDDED_PREFIX)
    }
}

/// Loads scenario files, reading lessons from a `content/` directory.
#[derive(Debug, Clone, Default)]
pub struct ScenarioLoader {
    content_dir: Option<PathBuf>,
}

impl ScenarioLoader {
    /// A loader that finds content in `<scenario dir>/../content`.
    pub fn new() -> Self {
        ScenarioLoader::default()
    }

    /// Reads lessons and manifests from `dir` instead.
    pub fn with_content_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.content_dir = Some(dir.into());
        self
    }

    /// The content directory used for the scenario at `path`.
    pub fn content_dir_for(&self, path: &Path) -> PathBuf {
        if let Some(dir) = &self.content_dir {
            return dir.clone();
        }
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        parent.unwrap_or(Path::new(".")).join("..").join("content")
    }

    /// Reads, validates and loads one scenario file.
    pub fn load_file(&self, path: &Path) -> Result<LoadedScenario, Vec<Diagnostic>> {
        let origin = path.display().to_string();
        let text = read_scenario_text(path).map_err(|d| vec![d])?;
        let content = DiskContent {
            root: self.content_dir_for(path),
        };
        load_text(&origin, &text, &content)
    }
}

/// Loads one scenario file with the default content directory.
pub fn load_file(path: &Path) -> Result<LoadedScenario, Vec<Diagnostic>> {
    ScenarioLoader::new().load_file(path)
}

/// Validates and loads scenario text. `origin` names it in diagnostics.
pub fn load_text(
    origin: &str,
    text: &str,
    content: &dyn ContentSource,
) -> Result<LoadedScenario, Vec<Diagnostic>> {
    let validation = validate_text(origin, text, content);
    if !validation.diagnostics.is_empty() {
        return Err(validation.diagnostics);
    }

    let scenario: Scenario =
        serde_yaml_ng::from_str(text).map_err(|error| vec![serde_diagnostic(origin, &error)])?;

    let lessons = resolve_lessons(&scenario, &validation.content);
    let manifests = resolve_manifests(&scenario, &validation.content);
    Ok(LoadedScenario {
        scenario,
        origin: origin.to_owned(),
        lessons,
        manifests,
    })
}

/// The scenarios compiled into the binary. They are tested to load, so an
/// error here means the build itself is broken.
pub fn load_embedded() -> Result<Vec<LoadedScenario>, Vec<Diagnostic>> {
    let mut loaded = Vec::new();
    let mut problems = Vec::new();
    for (path, text) in embedded::scenario_files() {
        let origin = format!("{EMBEDDED_PREFIX}{path}");
        match load_text(&origin, text, &EmbeddedContent) {
            Ok(scenario) => loaded.push(scenario),
            Err(diagnostics) => problems.extend(diagnostics),
        }
    }
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(problems)
    }
}

/// The scenario files (`*.yaml`, `*.yml`) directly inside `dir`, sorted.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let origin = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|error| {
        Diagnostic::whole_file(
            &origin,
            format!("cannot list scenarios in this directory: {error}"),
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && is_scenario_file(path))
        .collect();
    files.sort();
    Ok(files)
}

/// True for `*.yaml` and `*.yml`.
fn is_scenario_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// Validates every scenario named: a directory stands for all its scenario
/// files. Returns every problem found, empty when all are valid; also
/// reports two files sharing one scenario id.
pub fn validate_paths(paths: &[PathBuf]) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let mut ids: HashMap<String, String> = HashMap::new();
    for file in expand_paths(paths, &mut diagnostics) {
        match load_file(&file) {
            Ok(loaded) => note_id(&loaded, &mut ids, &mut diagnostics),
            Err(problems) => diagnostics.extend(problems),
        }
    }
    diagnostics
}

/// The scenario files that `paths` name: files as they are, directories as
/// the scenario files in them; with a problem for each directory that
/// cannot be read.
pub fn scenario_paths(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let files = expand_paths(paths, &mut diagnostics);
    (files, diagnostics)
}

/// Files named directly, and the scenario files of directories named.
fn expand_paths(paths: &[PathBuf], diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            match discover(path) {
                Ok(found) => files.extend(found),
                Err(problem) => diagnostics.push(problem),
            }
        } else {
            files.push(path.clone());
        }
    }
    files
}

fn note_id(loaded: &LoadedScenario, ids: &mut HashMap<String, String>, out: &mut Vec<Diagnostic>) {
    let id = &loaded.scenario.id;
    if let Some(first) = ids.get(id) {
        let message = format!("scenario id `{id}` is also used by {first}");
        out.push(Diagnostic::whole_file(&loaded.origin, message));
    } else {
        ids.insert(id.clone(), loaded.origin.clone());
    }
}

/// The scenarios a user sees: the embedded ones, replaced or joined by those
/// found at `user_paths` (files or directories). A scenario on disk wins over
/// an embedded one with the same id.
#[derive(Debug, Clone, Default)]
pub struct ScenarioCatalog {
    pub scenarios: Vec<LoadedScenario>,
    /// Problems with files that did not load; they are left out of the
    /// catalog.
    pub problems: Vec<Diagnostic>,
}

impl ScenarioCatalog {
    pub fn load(user_paths: &[PathBuf]) -> Self {
        let mut catalog = ScenarioCatalog::default();
        match load_embedded() {
            Ok(scenarios) => catalog.scenarios = scenarios,
            Err(problems) => catalog.problems = problems,
        }
        for file in expand_paths(user_paths, &mut catalog.problems) {
            match load_file(&file) {
                Ok(loaded) => catalog.insert(loaded),
                Err(problems) => catalog.problems.extend(problems),
            }
        }
        catalog
    }

    /// Adds a scenario, replacing one with the same id.
    pub fn insert(&mut self, loaded: LoadedScenario) {
        match self
            .scenarios
            .iter_mut()
            .find(|s| s.scenario.id == loaded.scenario.id)
        {
            Some(existing) => *existing = loaded,
            None => self.scenarios.push(loaded),
        }
    }

    pub fn get(&self, id: &str) -> Option<&LoadedScenario> {
        self.scenarios.iter().find(|s| s.scenario.id == id)
    }
}

/// Reads a scenario file as UTF-8, refusing files over the size limit
/// before reading them.
fn read_scenario_text(path: &Path) -> Result<String, Diagnostic> {
    let origin = path.display().to_string();
    let cannot_read = |error: std::io::Error| {
        Diagnostic::whole_file(&origin, format!("cannot read the scenario file: {error}"))
    };
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    let limit = u64::try_from(MAX_BYTES).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() > MAX_BYTES {
        let message = format!("file is too large (more than {MAX_BYTES} bytes)");
        return Err(Diagnostic::at(&origin, Position::START, message));
    }
    text_from_bytes(&origin, bytes)
}

/// Decodes UTF-8, pointing at the first byte that is not.
fn text_from_bytes(origin: &str, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        let valid = String::from_utf8_lossy(valid);
        let line = valid.matches('\n').count() + 1;
        let column = valid
            .rsplit('\n')
            .next()
            .map_or(0, |last| last.chars().count())
            + 1;
        let message = "file is not UTF-8 text (binary data or another encoding)";
        Diagnostic::at(origin, Position { line, column }, message)
    })
}

fn serde_diagnostic(origin: &str, error: &serde_yaml_ng::Error) -> Diagnostic {
    let position = error.location().map_or(Position::START, |at| Position {
        line: at.line(),
        column: at.column(),
    });
    Diagnostic::at(origin, position, error.to_string())
}

fn resolve_lessons(scenario: &Scenario, files: &HashMap<String, String>) -> Vec<String> {
    let text = |lesson: &Lesson| match lesson {
        Lesson::Markdown(markdown) => markdown.clone(),
        // Validation read every lesson file, so it is in `files`.
        Lesson::File(path) => files.get(path).cloned().unwrap_or_default(),
    };
    scenario
        .tasks
        .iter()
        .map(|task| text(&task.lesson))
        .collect()
}

fn resolve_manifests(scenario: &Scenario, files: &HashMap<String, String>) -> Vec<Manifest> {
    let Some(cluster) = &scenario.cluster else {
        return Vec::new();
    };
    let manifest = |path: &String| Manifest {
        path: path.clone(),
        yaml: files.get(path).cloned().unwrap_or_default(),
    };
    cluster.manifests.iter().map(manifest).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_is_reported_at_the_first_bad_byte() {
        let error = text_from_bytes("x.yaml", b"id: a\nti\xfftle: b\n".to_vec()).unwrap_err();
        assert_eq!(error.position(), Position { line: 2, column: 3 });
    }

    #[test]
    fn content_dir_defaults_to_a_sibling_of_the_scenario_dir() {
        let loader = ScenarioLoader::new();
        let dir = loader.content_dir_for(Path::new("repo/scenarios/a.yaml"));
        assert_eq!(dir, Path::new("repo/scenarios/../content"));
        let dir = loader.content_dir_for(Path::new("a.yaml"));
        assert_eq!(dir, Path::new("./../content"));
    }
}
