//! What the learner's actions change. Every change that must survive a
//! restart is written to the progress store first; the screen changes only
//! when the write succeeded, so what the learner saw acknowledged is on disk.

use std::time::SystemTime;

use lab_scenario::{AnswerRule, Judgement};

use super::run::{Feedback, TaskMark};
use super::{App, Flow, Screen};
use crate::session::{LiveRequest, LiveVerdict, SessionEvent};
use crate::store::{Attempt, HintScope, StoreError, lock};

/// Opens the scenario selected in the picker.
pub fn pick(app: &mut App) -> Flow {
    let Screen::Picker { selected } = app.screen else {
        return Flow::Continue;
    };
    let Some(id) = app.scenarios.get(selected).map(|s| s.scenario.id.clone()) else {
        return Flow::Continue;
    };
    match app.open_scenario(&id) {
        Ok(flow) => flow,
        Err(error) => {
            tracing::warn!(%error, scenario = %id, "cannot open scenario");
            app.set_notice(format!("Cannot open {id}: {error}"));
            Flow::Continue
        }
    }
}

/// Judges the selected answer box.
pub fn submit(app: &mut App) {
    let Some(run) = app.run() else { return };
    let (Some(task), Some(question)) = (run.viewed_task(), run.selected_question()) else {
        return;
    };
    let Some(state) = run.state_of(question) else {
        return;
    };
    let answer = state.input.trim().to_owned();
    if answer.is_empty() || !state.is_open() {
        return;
    }
    let (task_id, question_id, rule) = (
        task.id.clone(),
        question.id.clone(),
        question.answer.clone(),
    );
    match rule.judge(&answer, None) {
        Judgement::NeedsLive => ask_engine(app, task_id, question_id, rule, answer),
        Judgement::Correct => record_typed(app, &task_id, &question_id, answer, None),
        Judgement::Wrong { reason } => {
            record_typed(app, &task_id, &question_id, answer, Some(reason))
        }
    }
}

/// Records a judged typed answer, then shows the verdict. `wrong` is `None`
/// for a correct answer, else the reason it was wrong (if any).
fn record_typed(
    app: &mut App,
    task: &str,
    question: &str,
    answer: String,
    wrong: Option<Option<String>>,
) {
    let points = match (&wrong, question_points(app, question)) {
        (None, points) => points,
        (Some(_), _) => 0,
    };
    let verdict = LiveVerdict {
        question: question.to_owned(),
        answer,
        correct: wrong.is_none(),
        points,
        reason: wrong.flatten(),
    };
    let attempt = attempt_of(app, task, &verdict);
    if let Err(error) = with_store(app, |store| store.record_attempt(&attempt)) {
        return store_failed(app, &error);
    }
    tracing::info!(
        user = %attempt.user,
        scenario = %attempt.scenario,
        question = %attempt.question,
        correct = attempt.correct,
        "answer recorded"
    );
    show_verdict(app, verdict);
}

fn question_points(app: &App, question: &str) -> u32 {
    let Some(run) = app.run() else { return 0 };
    run.loaded
        .scenario
        .tasks
        .iter()
        .flat_map(|t| &t.questions)
        .find(|q| q.id == question)
        .map_or(0, |q| q.points)
}

fn attempt_of(app: &App, task: &str, verdict: &LiveVerdict) -> Attempt {
    Attempt {
        user: app.user.clone(),
        scenario: app.run().map(|r| r.id().to_owned()).unwrap_or_default(),
        task: task.to_owned(),
        question: verdict.question.clone(),
        answer: verdict.answer.clone(),
        correct: verdict.correct,
        points: verdict.points,
        at: SystemTime::now(),
    }
}

/// Sends a live question to its engine, or says which engine is missing.
fn ask_engine(app: &mut App, task: String, question: String, rule: AnswerRule, answer: String) {
    let AnswerRule::Live(spec) = &rule else {
        return;
    };
    let engine = spec.engine();
    let feedback = if app.session.has_probe(engine) {
        let points = question_points(app, &question);
        let scenario = app.run().map(|r| r.id().to_owned()).unwrap_or_default();
        let request = LiveRequest {
            scenario,
            task,
            question: question.clone(),
            rule,
            answer,
            points,
        };
        app.session.judge_live(request);
        Feedback::Checking
    } else {
        Feedback::Waiting(format!("waiting for the {engine} engine"))
    };
    set_feedback(app, &question, feedback);
}

/// Applies a recorded verdict to the screen and moves on when the task is
/// complete.
fn show_verdict(app: &mut App, verdict: LiveVerdict) {
    let feedback = if verdict.correct {
        Feedback::Correct {
            points: verdict.points,
        }
    } else {
        Feedback::Wrong {
            answer: verdict.answer.clone(),
            reason: verdict.reason.clone(),
        }
    };
    if let Some(state) = app
        .run_mut()
        .and_then(|run| run.questions.get_mut(&verdict.question))
    {
        if verdict.correct {
            state.accepted = Some((verdict.answer.clone(), verdict.points));
            state.input = verdict.answer.clone();
            state.move_cursor(usize::MAX);
        }
        state.feedback = Some(feedback);
    }
    if verdict.correct {
        select_next_open(app);
        complete_finished_tasks(app);
    }
}

fn set_feedback(app: &mut App, question: &str, feedback: Feedback) {
    if let Some(state) = app
        .run_mut()
        .and_then(|run| run.questions.get_mut(question))
    {
        state.feedback = Some(feedback);
    }
}

fn select_next_open(app: &mut App) {
    if let Some(run) = app.run_mut() {
        run.selected = run.first_open_question();
    }
}

/// Records every open task whose questions are answered and checks passed
/// as done. Reading tasks are finished with Enter instead.
fn complete_finished_tasks(app: &mut App) {
    let Some(run) = app.run() else { return };
    let finished: Vec<usize> = (0..run.tasks.len())
        .filter(|index| run.can_view(*index) && !run.is_reading_only(*index))
        .filter(|index| run.mark(*index) != TaskMark::Done && run.is_complete(*index))
        .collect();
    for index in finished {
        if !complete_task(app, index) {
            return;
        }
    }
}

/// Records the task as done, then shows it; false when the store failed.
fn complete_task(app: &mut App, index: usize) -> bool {
    let Some(run) = app.run() else { return false };
    let Some(task) = run.task(index).map(|task| task.id.clone()) else {
        return false;
    };
    let (user, scenario) = (app.user.clone(), run.id().to_owned());
    if let Err(error) = with_store(app, |store| store.record_task_done(&user, &scenario, &task)) {
        store_failed(app, &error);
        return false;
    }
    tracing::info!(%user, %scenario, %task, "task done");
    mark_done(app, index);
    true
}

fn mark_done(app: &mut App, index: usize) {
    let Some(run) = app.run_mut() else { return };
    if let Some(task) = run.tasks.get_mut(index) {
        task.done = true;
    }
    let was_viewed = run.viewed == index;
    if let Some(next) = run.current().filter(|_| was_viewed) {
        run.viewed = next;
        after_task_change(app);
    }
}

/// Shows the next hint of the selected question, or of the task.
pub fn reveal_hint(app: &mut App) {
    let Some(run) = app.run() else { return };
    let Some((scope, shown)) = run.next_hint_scope() else {
        app.set_info("No more hints here.");
        return;
    };
    let scope = owned_scope(scope);
    let (user, scenario) = (app.user.clone(), run.id().to_owned());
    let result = with_store(app, |store| {
        store.record_hints(&user, &scenario, scope.borrowed(), shown)
    });
    if let Err(error) = result {
        return store_failed(app, &error);
    }
    apply_hint(app, &scope, shown);
}

/// A [`HintScope`] that does not borrow the run.
enum OwnedScope {
    Task(String),
    Question(String),
}

impl OwnedScope {
    fn borrowed(&self) -> HintScope<'_> {
        match self {
            OwnedScope::Task(id) => HintScope::Task(id),
            OwnedScope::Question(id) => HintScope::Question(id),
        }
    }
}

fn owned_scope(scope: HintScope<'_>) -> OwnedScope {
    match scope {
        HintScope::Task(id) => OwnedScope::Task(id.to_owned()),
        HintScope::Question(id) => OwnedScope::Question(id.to_owned()),
    }
}

fn apply_hint(app: &mut App, scope: &OwnedScope, shown: u32) {
    let Some(run) = app.run_mut() else { return };
    match scope {
        OwnedScope::Task(_) => {
            if let Some(task) = run.tasks.get_mut(run.viewed) {
                task.hints_shown = shown;
            }
        }
        OwnedScope::Question(id) => {
            if let Some(state) = run.questions.get_mut(id) {
                state.hints_shown = shown;
            }
        }
    }
}

/// Shows the task `step` places away, skipping none: locked tasks stop it.
pub fn view_task(app: &mut App, step: i32) {
    let Some(run) = app.run_mut() else { return };
    let target = i64::try_from(run.viewed).unwrap_or(0) + i64::from(step);
    let Ok(target) = usize::try_from(target) else {
        return;
    };
    if target == run.viewed || !run.can_view(target) {
        return;
    }
    run.viewed = target;
    after_task_change(app);
}

/// Moves the question selection by `step` within the viewed task.
pub fn select_question(app: &mut App, step: i32) {
    let Some(run) = app.run_mut() else { return };
    let len = run.viewed_task().map_or(0, |t| t.questions.len());
    let target = i64::try_from(run.selected).unwrap_or(0) + i64::from(step);
    if let Some(target) = usize::try_from(target).ok().filter(|t| *t < len) {
        run.selected = target;
    }
}

/// Enter outside an answer box: finishes a reading-only task, or submits.
pub fn enter(app: &mut App) {
    let Some(run) = app.run() else { return };
    let viewed = run.viewed;
    if run.is_reading_only(viewed) && run.current() == Some(viewed) {
        complete_task(app, viewed);
    }
}

/// Runs the viewed task's checks now.
pub fn run_checks(app: &mut App) {
    let Some(run) = app.run() else { return };
    let index = run.viewed;
    request_checks(app, index);
}

fn request_checks(app: &mut App, index: usize) {
    let Some(run) = app.run_mut() else { return };
    let Some(task) = run.loaded.scenario.tasks.get(index) else {
        return;
    };
    let Some(state) = run.tasks.get_mut(index) else {
        return;
    };
    if task.checks.is_empty() || state.checks_pending || state.done {
        return;
    }
    state.checks_pending = true;
    let (scenario, task_id, checks) = (
        run.loaded.scenario.id.clone(),
        task.id.clone(),
        task.checks.clone(),
    );
    app.session.evaluate_checks(&scenario, &task_id, checks);
}

/// The checks of every open, unfinished task run again on each tick until
/// they pass.
pub fn rerun_unfinished_checks(app: &mut App) {
    let Some(run) = app.run() else { return };
    let open: Vec<usize> = (0..run.tasks.len())
        .filter(|index| matches!(run.mark(*index), TaskMark::Current | TaskMark::ChecksOpen))
        .collect();
    for index in open {
        request_checks(app, index);
    }
}

/// After the viewed task changed: reset scrolling, remember the position,
/// and start the task's checks.
pub fn after_task_change(app: &mut App) {
    app.lesson_scroll = 0;
    app.questions_scroll = 0;
    let Some(run) = app.run_mut() else { return };
    run.selected = run.first_open_question();
    let viewed = run.viewed;
    let (scenario, task) = (run.id().to_owned(), run.viewed_task().map(|t| t.id.clone()));
    let user = app.user.clone();
    let recorded = task.map(|task| with_store(app, |s| s.record_position(&user, &scenario, &task)));
    if let Some(Err(error)) = recorded {
        store_failed(app, &error);
    }
    request_checks(app, viewed);
}

/// Applies what background work reported.
pub fn session_event(app: &mut App, event: SessionEvent) {
    match event {
        SessionEvent::LiveJudged(verdict) => show_verdict(app, verdict),
        SessionEvent::LiveUnavailable { question, message } => {
            set_feedback(app, &question, Feedback::Waiting(message));
        }
        SessionEvent::ChecksEvaluated { task, outcomes } => checks_evaluated(app, &task, outcomes),
        SessionEvent::Engine(status) => {
            app.engines.insert(status.kind, status);
        }
        SessionEvent::StoreFailed { message } => app.set_notice(message),
    }
}

fn checks_evaluated(app: &mut App, task: &str, outcomes: Vec<lab_engine_api::CheckOutcome>) {
    let Some(run) = app.run_mut() else { return };
    let Some(index) = run.loaded.scenario.tasks.iter().position(|t| t.id == task) else {
        return;
    };
    let Some(state) = run.tasks.get_mut(index) else {
        return;
    };
    state.checks_pending = false;
    state.checks = outcomes.into_iter().map(Some).collect();
    complete_finished_tasks(app);
}

fn with_store<T>(
    app: &App,
    write: impl FnOnce(&crate::store::ProgressStore) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let store = lock(app.session.store())?;
    write(&store)
}

fn store_failed(app: &mut App, error: &StoreError) {
    tracing::error!(error = %error, "progress not saved");
    app.set_notice(format!("Progress not saved: {error}"));
}
