//! A scenario file that changed while it was open (`lab run --watch`).
//!
//! The driver's watcher loads the file again and sends the result as a
//! [`ScenarioFileEvent`]; nothing here touches the disk. A scenario that
//! loads replaces the old one in the catalog and, when it is the open one,
//! is resumed from the progress store with the learner kept on the task
//! they were viewing. A file that does not load leaves the last good
//! scenario open and shows its problems over it until it loads again.

use lab_scenario::{Diagnostic, LoadedScenario};

use super::run::{QuestionState, ScenarioRun};
use super::{App, Flow, Screen, actions};
use crate::store::lock;

/// What loading the watched scenario file gave.
#[derive(Debug, Clone, PartialEq)]
pub enum ScenarioFileEvent {
    /// The file (and every content file it uses) loads.
    Loaded(Box<LoadedScenario>),
    /// The file does not load, or is gone.
    Invalid {
        /// The file as the instructor named it.
        file: String,
        /// Every problem, as `lab validate` prints them.
        problems: Vec<Diagnostic>,
    },
}

/// Problems of the watched file, shown over the screen until it loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioProblems {
    pub file: String,
    pub problems: Vec<Diagnostic>,
}

impl ScenarioProblems {
    /// The file's name without its directory, for titles.
    pub fn file_name(&self) -> String {
        short_name(&self.file)
    }
}

/// Applies a reload; `ScenarioStarted` asks the driver to (re)start the
/// scenario's engines through its start hook.
pub fn scenario_file(app: &mut App, event: ScenarioFileEvent) -> Flow {
    match event {
        ScenarioFileEvent::Loaded(loaded) => loaded_again(app, *loaded),
        ScenarioFileEvent::Invalid { file, problems } => {
            tracing::info!(%file, problems = problems.len(), "watched scenario does not load");
            app.problems = Some(ScenarioProblems { file, problems });
            Flow::Continue
        }
    }
}

fn loaded_again(app: &mut App, loaded: LoadedScenario) -> Flow {
    app.problems = None;
    let file = short_name(&loaded.origin);
    let id = loaded.scenario.id.clone();
    tracing::info!(%file, scenario = %id, "watched scenario reloaded");
    replace_in_catalog(app, &loaded);
    let open = app
        .run()
        .map(|run| (run.loaded.origin.clone(), run.id().to_owned()));
    match open {
        Some((_, open_id)) if open_id == id => resume_in_place(app, loaded),
        Some((origin, _)) if origin == loaded.origin => {
            // The file now has another id: its progress is another record.
            open_fresh(app, &id, &file)
        }
        Some(_) => {
            app.set_info(format!("{file} reloaded (another scenario is open)."));
            Flow::Continue
        }
        None => open_fresh(app, &id, &file),
    }
}

/// Puts `loaded` in the catalog in place of the scenario from the same file,
/// else of the one with the same id.
fn replace_in_catalog(app: &mut App, loaded: &LoadedScenario) {
    let scenarios = &mut app.scenarios;
    let index = scenarios
        .iter()
        .position(|s| s.origin == loaded.origin)
        .or_else(|| {
            scenarios
                .iter()
                .position(|s| s.scenario.id == loaded.scenario.id)
        });
    match index.and_then(|index| scenarios.get_mut(index)) {
        Some(slot) => *slot = loaded.clone(),
        None => scenarios.push(loaded.clone()),
    }
}

fn open_fresh(app: &mut App, id: &str, file: &str) -> Flow {
    match app.open_scenario(id) {
        Ok(flow) => {
            app.engines.clear();
            app.set_info(format!("Scenario loaded from {file}."));
            flow
        }
        Err(error) => {
            tracing::warn!(%error, scenario = %id, "cannot open the reloaded scenario");
            app.set_notice(format!("Cannot open {id}: {error}"));
            Flow::Continue
        }
    }
}

/// Rebuilds the open run from the store over the new scenario, keeping the
/// viewed task, the selected question and unsent answer text.
fn resume_in_place(app: &mut App, loaded: LoadedScenario) -> Flow {
    let Some(old) = app.run().cloned() else {
        return Flow::Continue;
    };
    let file = short_name(&loaded.origin);
    let progress = lock(app.session.store())
        .and_then(|store| store.load_progress(&app.user, &loaded.scenario.id));
    let progress = match progress {
        Ok(progress) => progress,
        Err(error) => {
            app.set_notice(format!(
                "{file} reloaded, but progress could not be read: {error}"
            ));
            return Flow::Continue;
        }
    };
    let restart = engines_differ(&old.loaded, &loaded);
    let mut run = ScenarioRun::resume(loaded, &progress);
    carry_unsent_answers(&old, &mut run);
    carry_check_outcomes(&old, &mut run);
    let old_task = old.viewed_task().map(|task| task.id.clone());
    run.viewed = nearest_task(&old, &run);
    let same_task = run.viewed_task().map(|task| &task.id) == old_task.as_ref();
    if same_task {
        let questions = run.viewed_task().map_or(0, |task| task.questions.len());
        run.selected = old.selected.min(questions.saturating_sub(1));
    }
    app.screen = Screen::Scenario(Box::new(run));
    if !same_task {
        actions::after_task_change(app);
    }
    app.set_info(reload_notice(&file, same_task, restart));
    if restart {
        app.engines.clear();
        return Flow::ScenarioStarted {
            scenario: app.run().map(|run| run.id().to_owned()).unwrap_or_default(),
        };
    }
    Flow::Continue
}

fn reload_notice(file: &str, same_task: bool, restart: bool) -> String {
    let mut text = format!("Scenario reloaded from {file}.");
    if !same_task {
        text.push_str(" The task you were on is gone; showing the nearest one.");
    }
    if restart {
        text.push_str(" Its engines changed and are restarting.");
    }
    text
}

/// True when the new scenario needs other engines or other manifests, so
/// the running ones no longer match it.
fn engines_differ(old: &LoadedScenario, new: &LoadedScenario) -> bool {
    old.scenario.engines != new.scenario.engines || old.manifests != new.manifests
}

/// Text typed but not yet accepted stays in boxes whose question remains.
fn carry_unsent_answers(old: &ScenarioRun, new: &mut ScenarioRun) {
    for (id, state) in &mut new.questions {
        let Some(before) = old.questions.get(id) else {
            continue;
        };
        if state.accepted.is_none() && before.accepted.is_none() {
            *state = QuestionState {
                hints_shown: state.hints_shown,
                ..before.clone()
            };
        }
    }
}

/// Check outcomes stay for tasks whose checks did not change; others run
/// again on the next tick.
fn carry_check_outcomes(old: &ScenarioRun, new: &mut ScenarioRun) {
    for (index, task) in new.loaded.scenario.tasks.iter().enumerate() {
        let before = old
            .loaded
            .scenario
            .tasks
            .iter()
            .position(|t| t.id == task.id)
            .filter(|at| old.task(*at).is_some_and(|t| t.checks == task.checks));
        let (Some(before), Some(state)) = (before, new.tasks.get_mut(index)) else {
            continue;
        };
        if let Some(previous) = old.tasks.get(before) {
            state.checks.clone_from(&previous.checks);
            state.checks_pending = previous.checks_pending;
        }
    }
}

/// The task to show after a reload: the one viewed before when it is still
/// there and open; else its nearest old neighbour that is (later ones
/// first, as they moved up into its place); else where the learner's
/// progress stands.
fn nearest_task(old: &ScenarioRun, new: &ScenarioRun) -> usize {
    let index_of = |id: &str| {
        new.loaded
            .scenario
            .tasks
            .iter()
            .position(|task| task.id == id)
            .filter(|index| new.can_view(*index))
    };
    let old_tasks = &old.loaded.scenario.tasks;
    let at = old.viewed.min(old_tasks.len().saturating_sub(1));
    let later = old_tasks.iter().skip(at);
    let earlier = old_tasks.iter().take(at).rev();
    later
        .chain(earlier)
        .find_map(|task| index_of(&task.id))
        .unwrap_or(new.viewed)
}

/// The file name of an origin, for the status line.
fn short_name(origin: &str) -> String {
    std::path::Path::new(origin).file_name().map_or_else(
        || origin.to_owned(),
        |name| name.to_string_lossy().into_owned(),
    )
}
