//! Watching a scenario file while an instructor writes it (`lab run
//! --watch FILE`).
//!
//! A [`ScenarioWatcher`] thread looks at the scenario file and every content
//! file it names (lesson Markdown and cluster manifests under `content/`)
//! a few times a second. When any of them changes it waits until the writes
//! stop for a moment (editors save in several writes, or write a temporary
//! file and rename it over), loads the scenario again and sends the result
//! as a [`ScenarioFileEvent`] for the driver to hand to the App.
//!
//! It compares each file's modification time and size rather than asking
//! the kernel for change notifications: the set is a handful of small
//! files, a file replaced by a rename or deleted and written again is seen
//! the same way as one written in place, and no extra dependency is needed.
//! A change that keeps both the size and the modification time (two saves
//! of equal length within the file system's timestamp granularity) goes
//! unseen until the next save.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use lab_scenario::yaml_tree::{self, Node, Value};
use lab_scenario::{Diagnostic, ScenarioLoader};

use crate::app::ScenarioFileEvent;

/// How often and how patiently the watcher looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    /// Time between two looks at the files.
    pub poll: Duration,
    /// How long the files must stay unchanged before they are loaded.
    pub quiet: Duration,
    /// Longest wait for quiet: files written without pause are loaded
    /// after this anyway.
    pub max_wait: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            poll: Duration::from_millis(150),
            quiet: Duration::from_millis(300),
            max_wait: Duration::from_secs(3),
        }
    }
}

/// A scenario file watched on a thread of its own; the thread ends when the
/// watcher is dropped.
pub struct ScenarioWatcher {
    events: Receiver<ScenarioFileEvent>,
    /// Dropping it wakes the thread and tells it to end.
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ScenarioWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScenarioWatcher").finish_non_exhaustive()
    }
}

impl ScenarioWatcher {
    /// Loads `path` once and starts watching it and its content files.
    /// Returns the watcher and what that first load gave.
    pub fn start(
        path: &Path,
        loader: ScenarioLoader,
        options: WatchOptions,
    ) -> std::io::Result<(ScenarioWatcher, ScenarioFileEvent)> {
        let mut files = WatchedFiles::new(path.to_path_buf(), loader);
        let (first, stamps) = files.load();
        let (sender, events) = mpsc::channel();
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("scenario-watch".to_owned())
            .spawn(move || watch(files, stamps, options, &sender, &stopped))?;
        let watcher = ScenarioWatcher {
            events,
            stop: Some(stop),
            thread: Some(thread),
        };
        Ok((watcher, first))
    }

    /// The next reload, if one is ready; never waits.
    pub fn try_next(&self) -> Option<ScenarioFileEvent> {
        self.events.try_recv().ok()
    }

    /// The next reload, waiting at most `timeout`.
    pub fn next_within(&self, timeout: Duration) -> Option<ScenarioFileEvent> {
        self.events.recv_timeout(timeout).ok()
    }
}

impl Drop for ScenarioWatcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::warn!("the scenario watcher thread panicked");
        }
    }
}

/// A file's size and modification time; `None` when it cannot be read.
type Stamp = Option<(u64, Option<SystemTime>)>;

/// The stamp of every watched file.
type Stamps = BTreeMap<PathBuf, Stamp>;

fn stamp(path: &Path) -> Stamp {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.len(), metadata.modified().ok()))
}

/// The scenario file and the content files it named when last read.
struct WatchedFiles {
    scenario: PathBuf,
    loader: ScenarioLoader,
    content: Vec<PathBuf>,
}

impl WatchedFiles {
    fn new(scenario: PathBuf, loader: ScenarioLoader) -> Self {
        WatchedFiles {
            scenario,
            loader,
            content: Vec::new(),
        }
    }

    fn stamps(&self) -> Stamps {
        std::iter::once(&self.scenario)
            .chain(&self.content)
            .map(|path| (path.clone(), stamp(path)))
            .collect()
    }

    /// Loads the scenario and learns which content files it names now.
    /// The stamps are taken before reading, so a write during the load is
    /// seen as a change on the next look.
    fn load(&mut self) -> (ScenarioFileEvent, Stamps) {
        let before = self.stamps();
        let event = load_event(&self.scenario, &self.loader);
        if let Some(content) = content_files(&self.scenario, &self.loader) {
            self.content = content;
        }
        let stamps = self
            .stamps()
            .into_iter()
            .map(|(path, now)| {
                let stamp = before.get(&path).copied().unwrap_or(now);
                (path, stamp)
            })
            .collect();
        (event, stamps)
    }
}

/// Loads `path` as the watcher does: a missing file is a problem to show,
/// like any other.
pub fn load_event(path: &Path, loader: &ScenarioLoader) -> ScenarioFileEvent {
    let file = path.display().to_string();
    if !path.exists() {
        let message =
            "the scenario file is gone (deleted or renamed); it loads again when it is back";
        return ScenarioFileEvent::Invalid {
            problems: vec![Diagnostic::whole_file(&file, message)],
            file,
        };
    }
    match loader.load_file(path) {
        Ok(loaded) => ScenarioFileEvent::Loaded(Box::new(loaded)),
        Err(problems) => ScenarioFileEvent::Invalid { file, problems },
    }
}

/// The content files the scenario at `path` names, read from its YAML even
/// when the scenario does not validate (a lesson file it names may be the
/// one missing). `None` when the file cannot be read or parsed at all.
pub fn content_files(path: &Path, loader: &ScenarioLoader) -> Option<Vec<PathBuf>> {
    let text = std::fs::read_to_string(path).ok()?;
    let root = yaml_tree::parse(&text).root?;
    let dir = loader.content_dir_for(path);
    let files = named_content(&root)
        .into_iter()
        .filter(|relative| is_plain_relative(relative))
        .map(|relative| dir.join(relative))
        .collect();
    Some(files)
}

/// `tasks[].lesson.file` and `cluster.manifests[]`, as written.
fn named_content(root: &Node) -> Vec<String> {
    let mut names = Vec::new();
    let Value::Mapping(top) = &root.value else {
        return names;
    };
    for task in sequence(yaml_tree::get(top, "tasks")) {
        let lesson = mapping(Some(task)).and_then(|task| yaml_tree::get(task, "lesson"));
        let file = mapping(lesson).and_then(|lesson| yaml_tree::get(lesson, "file"));
        names.extend(file.and_then(Node::as_scalar).map(str::to_owned));
    }
    let cluster = mapping(yaml_tree::get(top, "cluster"));
    let manifests = cluster.and_then(|cluster| yaml_tree::get(cluster, "manifests"));
    names.extend(
        sequence(manifests)
            .iter()
            .filter_map(Node::as_scalar)
            .map(str::to_owned),
    );
    names
}

fn mapping(node: Option<&Node>) -> Option<&[(Node, Node)]> {
    match node.map(|node| &node.value) {
        Some(Value::Mapping(entries)) => Some(entries),
        _ => None,
    }
}

fn sequence(node: Option<&Node>) -> &[Node] {
    match node.map(|node| &node.value) {
        Some(Value::Sequence(items)) => items,
        _ => &[],
    }
}

/// Only paths the loader would read: inside `content/`, no `..`.
fn is_plain_relative(relative: &str) -> bool {
    !relative.is_empty()
        && Path::new(relative)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// The watcher thread: look, wait for quiet, load, send; until stopped or
/// nobody listens.
fn watch(
    mut files: WatchedFiles,
    mut stamps: Stamps,
    options: WatchOptions,
    events: &Sender<ScenarioFileEvent>,
    stop: &Receiver<()>,
) {
    loop {
        if stopped(stop, options.poll) {
            return;
        }
        if files.stamps() == stamps {
            continue;
        }
        if !wait_for_quiet(&files, options, stop) {
            return;
        }
        let (event, now) = files.load();
        stamps = now;
        if events.send(event).is_err() {
            return;
        }
    }
}

/// Waits until no watched file changed for `options.quiet` (or
/// `options.max_wait` passed); false when told to stop meanwhile.
fn wait_for_quiet(files: &WatchedFiles, options: WatchOptions, stop: &Receiver<()>) -> bool {
    let started = Instant::now();
    let mut last = files.stamps();
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < options.quiet && started.elapsed() < options.max_wait {
        if stopped(stop, options.poll.min(options.quiet)) {
            return false;
        }
        let now = files.stamps();
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
    true
}

/// Sleeps for `wait`; true when the watcher was dropped.
fn stopped(stop: &Receiver<()>, wait: Duration) -> bool {
    !matches!(stop.recv_timeout(wait), Err(RecvTimeoutError::Timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lesson_files_and_manifests_are_found_in_a_scenario_that_does_not_validate() {
        let text = "id: x\ntasks:\n  - id: a\n    lesson: {file: lessons/a.md}\n  \
                    - id: b\n    lesson: {markdown: hi}\n  - lesson: {file: ../out.md}\n\
                    cluster:\n  manifests: [k8s/app.yaml]\n";
        let root = yaml_tree::parse(text).root.unwrap();
        let names = named_content(&root);
        assert_eq!(names, ["lessons/a.md", "../out.md", "k8s/app.yaml"]);
        assert!(!is_plain_relative("../out.md"));
        assert!(is_plain_relative("lessons/a.md"));
    }

    #[test]
    fn a_missing_scenario_file_is_a_problem_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.yaml");
        let ScenarioFileEvent::Invalid { problems, .. } = load_event(&path, &ScenarioLoader::new())
        else {
            panic!("a missing file loaded");
        };
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .to_string()
                .contains("gone.yaml: the scenario file is gone")
        );
    }
}
