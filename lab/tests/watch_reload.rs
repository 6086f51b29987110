//! `lab run --watch`: a scenario file written while the lab shows it.
//!
//! The App tests load real files from a temporary directory with the same
//! function the watcher uses and hand the result to the App; the watcher
//! tests write, change and delete real files and wait (bounded) for what
//! the watcher thread sends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Harness, fixture};
use crossterm::event::KeyCode;
use lab::app::{AppEvent, Flow, Focus, ScenarioFileEvent};
use lab::watch::{ScenarioWatcher, WatchOptions, load_event};
use lab_scenario::ScenarioLoader;
use ratatui::layout::Size;

const WIDE: Size = Size::new(140, 36);

/// The draft scenario an instructor is writing, in one of its versions.
struct Draft {
    middle_title: &'static str,
    with_middle: bool,
    engines: &'static str,
    /// Adds `cluster.manifests: [k8s/app.yaml]`.
    manifests: bool,
}

impl Default for Draft {
    fn default() -> Self {
        Draft {
            middle_title: "Middle",
            with_middle: true,
            engines: "[]",
            manifests: false,
        }
    }
}

impl Draft {
    fn yaml(&self) -> String {
        let middle = if self.with_middle {
            format!(
                "  - id: middle\n    title: {}\n    lesson: {{markdown: The middle part.}}\n    \
                 questions:\n      - id: second\n        prompt: The second word?\n        \
                 answer: {{exact: {{text: beta}}}}\n      - id: third\n        \
                 prompt: The third word?\n        answer: {{exact: {{text: gamma}}}}\n",
                self.middle_title
            )
        } else {
            String::new()
        };
        let cluster = if self.manifests {
            "cluster:\n  manifests: [k8s/app.yaml]\n"
        } else {
            ""
        };
        format!(
            "id: draft\ntitle: A Draft\ndescription: A scenario being written.\n\
             estimated_minutes: 5\nengines: {}\n{cluster}tasks:\n  - id: intro\n    title: Intro\n    \
             lesson: {{file: lessons/intro.md}}\n    questions:\n      - id: first\n        \
             prompt: The first word?\n        answer: {{exact: {{text: alpha}}}}\n{middle}  \
             - id: last\n    title: Last\n    lesson: {{markdown: The end.}}\n",
            self.engines
        )
    }
}

/// A scenarios/ and content/ directory pair, as the loader expects them.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new(draft: &Draft) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("scenarios")).unwrap();
        std::fs::create_dir_all(dir.path().join("content/lessons")).unwrap();
        std::fs::create_dir_all(dir.path().join("content/k8s")).unwrap();
        let workspace = Workspace { dir };
        workspace.write_lesson("# Intro\n\nThe first lesson.\n");
        workspace.write_manifest("first");
        workspace.write(draft);
        workspace
    }

    fn scenario(&self) -> PathBuf {
        self.dir.path().join("scenarios/draft.yaml")
    }

    fn lesson(&self) -> PathBuf {
        self.dir.path().join("content/lessons/intro.md")
    }

    fn write(&self, draft: &Draft) {
        std::fs::write(self.scenario(), draft.yaml()).unwrap();
    }

    /// A ConfigMap whose data says `word`.
    fn write_manifest(&self, word: &str) {
        let yaml = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: words\ndata:\n  word: {word}\n"
        );
        std::fs::write(self.dir.path().join("content/k8s/app.yaml"), yaml).unwrap();
    }

    fn write_lesson(&self, text: &str) {
        std::fs::write(self.lesson(), text).unwrap();
    }

    /// What the watcher would send for the file as it is now.
    fn load(&self) -> ScenarioFileEvent {
        load_event(&self.scenario(), &ScenarioLoader::new())
    }

    fn loaded(&self) -> lab_scenario::LoadedScenario {
        match self.load() {
            ScenarioFileEvent::Loaded(loaded) => *loaded,
            ScenarioFileEvent::Invalid { problems, .. } => panic!("{problems:#?}"),
        }
    }
}

/// An App with the draft open, its first question answered (so the
/// learner is on the middle task) and `bet` typed but not sent.
fn on_the_middle_task(workspace: &Workspace, data: &Path) -> Harness {
    let mut h = Harness::new(vec![workspace.loaded()], data, WIDE);
    h.app.open_scenario("draft").unwrap();
    h.focus(Focus::Questions);
    h.answer("alpha");
    h.type_text("bet");
    let run = h.app.run().unwrap();
    assert_eq!(run.viewed_task().unwrap().id, "middle");
    h
}

fn reload(h: &mut Harness, event: ScenarioFileEvent) -> Flow {
    h.app.handle_event(AppEvent::ScenarioFile(event))
}

#[test]
fn reload_keeps_the_viewed_task_answers_and_unsent_text() {
    let workspace = Workspace::new(&Draft::default());
    let data = tempfile::tempdir().unwrap();
    let mut h = on_the_middle_task(&workspace, data.path());

    workspace.write(&Draft {
        middle_title: "The Middle, Rewritten",
        ..Draft::default()
    });
    let flow = reload(&mut h, workspace.load());

    assert_eq!(flow, Flow::Continue, "same engines: nothing restarts");
    let run = h.app.run().unwrap();
    let task = run.viewed_task().unwrap();
    assert_eq!(task.id, "middle");
    assert_eq!(task.title, "The Middle, Rewritten");
    let first = run.questions.get("first").unwrap();
    assert_eq!(first.accepted, Some(("alpha".to_owned(), 1)));
    assert_eq!(run.questions.get("second").unwrap().input, "bet");
    assert!(h.app.notice().unwrap().contains("reloaded from draft.yaml"));
    let screen = h.screen();
    assert!(
        screen.contains("Task 2/3: The Middle, Rewritten"),
        "{screen}"
    );
    assert!(
        screen.contains("Scenario reloaded from draft.yaml."),
        "{screen}"
    );
}

#[test]
fn a_changed_lesson_file_shows_its_new_text() {
    let workspace = Workspace::new(&Draft::default());
    let data = tempfile::tempdir().unwrap();
    let mut h = Harness::new(vec![workspace.loaded()], data.path(), WIDE);
    h.app.open_scenario("draft").unwrap();
    assert!(h.screen().contains("The first lesson."));

    workspace.write_lesson("# Intro\n\nA rewritten first lesson.\n");
    reload(&mut h, workspace.load());

    let screen = h.screen();
    assert!(screen.contains("A rewritten first lesson."), "{screen}");
    assert_eq!(h.app.run().unwrap().viewed_task().unwrap().id, "intro");
}

#[test]
fn a_removed_task_moves_the_learner_to_the_nearest_one() {
    let workspace = Workspace::new(&Draft::default());
    let data = tempfile::tempdir().unwrap();
    let mut h = on_the_middle_task(&workspace, data.path());

    workspace.write(&Draft {
        with_middle: false,
        ..Draft::default()
    });
    reload(&mut h, workspace.load());

    let run = h.app.run().unwrap();
    assert_eq!(run.tasks.len(), 2);
    assert_eq!(run.viewed_task().unwrap().id, "last");
    assert!(run.questions.get("first").unwrap().accepted.is_some());
    assert!(h.app.notice().unwrap().contains("task you were on is gone"));
    let screen = h.screen();
    assert!(screen.contains("Task 2/2: Last"), "{screen}");
}

#[test]
fn changed_engines_restart_through_the_start_hook() {
    let workspace = Workspace::new(&Draft::default());
    let data = tempfile::tempdir().unwrap();
    let mut h = on_the_middle_task(&workspace, data.path());

    workspace.write(&Draft {
        engines: "[docker]",
        ..Draft::default()
    });
    let flow = reload(&mut h, workspace.load());

    assert_eq!(
        flow,
        Flow::ScenarioStarted {
            scenario: "draft".into()
        }
    );
    assert_eq!(h.app.run().unwrap().viewed_task().unwrap().id, "middle");
    assert!(h.app.notice().unwrap().contains("restarting"));
}

#[test]
fn a_changed_manifest_restarts_the_engines_and_a_changed_lesson_does_not() {
    let with_cluster = Draft {
        engines: "[cluster]",
        manifests: true,
        ..Draft::default()
    };
    let workspace = Workspace::new(&with_cluster);
    let data = tempfile::tempdir().unwrap();
    let mut h = Harness::new(vec![workspace.loaded()], data.path(), WIDE);
    h.app.open_scenario("draft").unwrap();

    workspace.write_lesson("# Intro\n\nOnly the words changed.\n");
    assert_eq!(reload(&mut h, workspace.load()), Flow::Continue);

    workspace.write_manifest("second");
    let flow = reload(&mut h, workspace.load());
    assert_eq!(
        flow,
        Flow::ScenarioStarted {
            scenario: "draft".into()
        }
    );
    let manifest = &h.app.run().unwrap().loaded.manifests[0];
    assert!(manifest.yaml.contains("word: second"));
}

#[test]
fn a_new_id_opens_as_another_scenario_in_place_of_the_old() {
    let workspace = Workspace::new(&Draft::default());
    let data = tempfile::tempdir().unwrap();
    let mut h = on_the_middle_task(&workspace, data.path());

    let renamed = Draft::default().yaml().replace("id: draft", "id: renamed");
    std::fs::write(workspace.scenario(), renamed).unwrap();
    let flow = reload(&mut h, workspace.load());

    assert_eq!(
        flow,
        Flow::ScenarioStarted {
            scenario: "renamed".into()
        }
    );
    let run = h.app.run().unwrap();
    assert_eq!(run.id(), "renamed");
    assert_eq!(run.viewed_task().unwrap().id, "intro", "no progress yet");
    let ids: Vec<&str> = h
        .app
        .scenarios()
        .iter()
        .map(|s| s.scenario.id.as_str())
        .collect();
    assert_eq!(ids, ["renamed"]);
}

#[test]
fn invalid_file_shows_its_problems_over_the_last_good_scenario_until_fixed() {
    let workspace = Workspace::new(&Draft::default());
    let data = tempfile::tempdir().unwrap();
    let mut h = on_the_middle_task(&workspace, data.path());

    std::fs::write(
        workspace.scenario(),
        Draft::default()
            .yaml()
            .replace("title: Intro", "titel: Intro"),
    )
    .unwrap();
    let flow = reload(&mut h, workspace.load());

    assert_eq!(flow, Flow::Continue);
    let problems = h.app.problems().expect("problems shown");
    let lines: Vec<String> = problems.problems.iter().map(ToString::to_string).collect();
    let file = workspace.scenario().display().to_string();
    let typo = format!("{file}:8:5: unknown field `titel` in a task (did you mean `title`?)");
    assert!(lines.contains(&typo), "{lines:#?}");
    let screen = h.screen();
    assert!(
        screen.contains("draft.yaml does not load: 2 problems"),
        "{screen}"
    );
    assert_eq!(h.app.run().unwrap().viewed_task().unwrap().id, "middle");

    workspace.write(&Draft::default());
    reload(&mut h, workspace.load());
    assert!(h.app.problems().is_none());
    assert!(!h.screen().contains("does not load"));
    assert_eq!(h.app.run().unwrap().viewed_task().unwrap().id, "middle");
}

/// The problems box, snapshotted with a file named relative to the
/// package so the screen is the same on every machine.
#[test]
fn problems_view() {
    let data = tempfile::tempdir().unwrap();
    let mut h = Harness::new(vec![fixture("basics.yaml")], data.path(), WIDE);
    h.app.open_scenario("basics").unwrap();
    let broken = Path::new("tests/fixtures/watch/broken.yaml");
    let event = load_event(broken, &ScenarioLoader::new());
    assert!(matches!(event, ScenarioFileEvent::Invalid { .. }));

    reload(&mut h, event);

    let screen = h.screen();
    assert!(
        screen.contains("tests/fixtures/watch/broken.yaml:"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn a_deleted_file_is_reported_and_comes_back() {
    let workspace = Workspace::new(&Draft::default());
    let data = tempfile::tempdir().unwrap();
    let mut h = on_the_middle_task(&workspace, data.path());

    std::fs::remove_file(workspace.scenario()).unwrap();
    reload(&mut h, workspace.load());
    let screen = h.screen();
    assert!(screen.contains("the scenario file is gone"), "{screen}");
    assert!(h.app.run().is_some(), "the last good scenario stays open");

    workspace.write(&Draft::default());
    reload(&mut h, workspace.load());
    assert!(h.app.problems().is_none());
}

#[test]
fn a_file_invalid_at_start_opens_once_it_is_fixed() {
    let workspace = Workspace::new(&Draft::default());
    std::fs::write(workspace.scenario(), "id: draft\ntasks: 3\n").unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut h = Harness::new(vec![fixture("other.yaml")], data.path(), WIDE);

    reload(&mut h, workspace.load());
    assert!(h.app.run().is_none());
    let screen = h.screen();
    assert!(screen.contains("draft.yaml does not load"), "{screen}");
    assert!(
        screen.contains("Save the fixed file and the scenario opens."),
        "{screen}"
    );

    workspace.write(&Draft::default());
    let flow = reload(&mut h, workspace.load());
    assert_eq!(
        flow,
        Flow::ScenarioStarted {
            scenario: "draft".into()
        }
    );
    assert_eq!(h.app.run().unwrap().id(), "draft");
    assert!(h.app.problems().is_none());
}

#[test]
fn keys_still_work_under_the_problems_box() {
    let workspace = Workspace::new(&Draft::default());
    let data = tempfile::tempdir().unwrap();
    let mut h = on_the_middle_task(&workspace, data.path());
    std::fs::write(workspace.scenario(), "not: [closed\n").unwrap();
    reload(&mut h, workspace.load());

    h.key(KeyCode::Char('a'));
    assert_eq!(h.app.run().unwrap().questions["second"].input, "beta");
    h.key(KeyCode::Tab);
    assert_eq!(h.key(KeyCode::Char('q')), Flow::Quit);
}

// The watcher thread, on real files.

/// Short enough for a quick test, long enough that a burst of writes made
/// in a row is one change on a busy machine.
const FAST: WatchOptions = WatchOptions {
    poll: Duration::from_millis(20),
    quiet: Duration::from_millis(400),
    max_wait: Duration::from_secs(3),
};
/// The longest a test waits for a reload.
const PATIENCE: Duration = Duration::from_secs(10);

fn next(watcher: &ScenarioWatcher) -> ScenarioFileEvent {
    watcher
        .next_within(PATIENCE)
        .expect("no reload within the time allowed")
}

fn loaded(event: ScenarioFileEvent) -> lab_scenario::LoadedScenario {
    match event {
        ScenarioFileEvent::Loaded(loaded) => *loaded,
        ScenarioFileEvent::Invalid { problems, .. } => panic!("{problems:#?}"),
    }
}

#[test]
fn the_watcher_reloads_after_the_scenario_or_a_lesson_file_changes() {
    let workspace = Workspace::new(&Draft::default());
    let (watcher, first) =
        ScenarioWatcher::start(&workspace.scenario(), ScenarioLoader::new(), FAST).unwrap();
    assert_eq!(loaded(first).scenario.tasks[1].title, "Middle");

    // An editor's save: truncate, then write in pieces.
    let text = Draft {
        middle_title: "Middle Again",
        ..Draft::default()
    }
    .yaml();
    let (head, tail) = text.split_at(text.len() / 2);
    std::fs::write(workspace.scenario(), "").unwrap();
    std::fs::write(workspace.scenario(), head).unwrap();
    std::fs::write(workspace.scenario(), text.clone()).unwrap();
    assert_eq!(
        loaded(next(&watcher)).scenario.tasks[1].title,
        "Middle Again"
    );
    assert_eq!(tail.len() + head.len(), text.len());
    assert!(
        watcher.next_within(FAST.quiet * 3).is_none(),
        "one save, one reload"
    );

    workspace.write_lesson("# Intro\n\nThe lesson, written again and longer.\n");
    let reloaded = loaded(next(&watcher));
    assert!(reloaded.lessons[0].contains("written again and longer"));
}

#[test]
fn the_watcher_reports_broken_deleted_and_restored_files() {
    let workspace = Workspace::new(&Draft::default());
    let (watcher, _) =
        ScenarioWatcher::start(&workspace.scenario(), ScenarioLoader::new(), FAST).unwrap();

    std::fs::remove_file(workspace.lesson()).unwrap();
    let ScenarioFileEvent::Invalid { problems, .. } = next(&watcher) else {
        panic!("a missing lesson file loaded");
    };
    assert!(
        problems[0].to_string().contains("lessons/intro.md"),
        "{problems:?}"
    );

    // The lesson named by a file that no longer validates is still watched.
    workspace.write_lesson("# Intro\n\nBack again.\n");
    assert!(loaded(next(&watcher)).lessons[0].contains("Back again."));

    std::fs::remove_file(workspace.scenario()).unwrap();
    let ScenarioFileEvent::Invalid { problems, .. } = next(&watcher) else {
        panic!("a deleted file loaded");
    };
    assert!(
        problems[0]
            .to_string()
            .contains("the scenario file is gone")
    );

    workspace.write(&Draft::default());
    assert_eq!(loaded(next(&watcher)).scenario.id, "draft");
}

#[test]
fn dropping_the_watcher_ends_its_thread_promptly() {
    let workspace = Workspace::new(&Draft::default());
    let (watcher, _) = ScenarioWatcher::start(
        &workspace.scenario(),
        ScenarioLoader::new(),
        WatchOptions::default(),
    )
    .unwrap();
    let started = std::time::Instant::now();
    drop(watcher);
    assert!(started.elapsed() < Duration::from_secs(2));
}

// The command line.

fn lab_run(args: &[&str]) -> std::process::Output {
    let data = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_lab"))
        .arg("--data-dir")
        .arg(data.path())
        .arg("run")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn watch_with_a_scenario_id_is_a_usage_error() {
    let output = lab_run(&["--watch", "virtualization-and-containers"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--watch <FILE>") && stderr.contains("a scenario id cannot be watched"),
        "{stderr}"
    );

    let output = lab_run(&["--watch"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("a value is required for '--watch <FILE>'"),
        "{stderr}"
    );

    let output = lab_run(&["--watch", "drafts/missing.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("there is no scenario file at drafts/missing.yaml"),
        "{stderr}"
    );
}

#[test]
fn run_help_explains_watch() {
    let output = lab_run(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("--watch <FILE>"), "{help}");
    assert!(help.contains("a scenario id cannot be watched"), "{help}");
    assert!(
        help.contains("lab run --watch ./drafts/my-scenario.yaml"),
        "{help}"
    );
}
