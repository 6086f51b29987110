//! Drives the TUI through every typed question of the first scenario with
//! key events, checks what the progress store recorded, then reopens the
//! store and checks that the learner resumes where they were.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::SystemTime;

use common::{Harness, USER, workspace_scenario};
use crossterm::event::KeyCode;
use lab::app::{Feedback, Focus, TaskMark};
use lab::session::SessionEvent;
use lab::store::lock;
use lab::store::report::ReportFilter;
use lab_scenario::{AnswerRule, LoadedScenario};
use ratatui::layout::Size;

const ID: &str = "virtualization-and-containers";
const SIZE: Size = Size::new(140, 40);

fn first_scenario() -> LoadedScenario {
    let path = workspace_scenario("virtualization-and-containers.yaml");
    lab_scenario::load_file(&path).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

/// The answers a scenario's `solution` lines give, by question id.
fn solution_answers(loaded: &LoadedScenario) -> BTreeMap<String, String> {
    let lines = loaded.scenario.tasks.iter().flat_map(|t| &t.solution);
    lines
        .filter_map(|line| line.strip_prefix("answer "))
        .filter_map(|rest| rest.split_once(' '))
        .map(|(id, answer)| (id.to_owned(), answer.to_owned()))
        .collect()
}

fn is_live(rule: &AnswerRule) -> bool {
    matches!(rule, AnswerRule::Live(_))
}

/// Answers every typed question of the viewed task through the keyboard,
/// one wrong answer first for the first question of each task.
fn answer_viewed_task(h: &mut Harness, answers: &BTreeMap<String, String>) -> (u32, usize) {
    let task = h.app.run().unwrap().viewed_task().unwrap().clone();
    let (mut points, mut attempts) = (0, 0);
    h.focus(Focus::Questions);
    for (index, question) in task.questions.iter().enumerate() {
        if is_live(&question.answer) {
            continue;
        }
        select(h, index);
        if index == 0 {
            h.answer("certainly not this");
            attempts += 1;
            let state = h.app.run().unwrap().questions[&question.id].clone();
            assert!(
                matches!(state.feedback, Some(Feedback::Wrong { .. })),
                "{}",
                question.id
            );
            clear_box(h);
        }
        h.answer(&answers[&question.id]);
        attempts += 1;
        let state = &h.app.run().unwrap().questions[&question.id];
        assert_eq!(
            state.feedback,
            Some(Feedback::Correct {
                points: question.points
            }),
            "{}",
            question.id
        );
        points += question.points;
    }
    (points, attempts)
}

fn select(h: &mut Harness, index: usize) {
    while h.app.run().unwrap().selected > index {
        h.key(KeyCode::Up);
    }
    while h.app.run().unwrap().selected < index {
        h.key(KeyCode::Down);
    }
}

fn clear_box(h: &mut Harness) {
    h.key(KeyCode::End);
    for _ in 0..64 {
        h.key(KeyCode::Backspace);
    }
}

/// Moves on to the next task: Enter finishes a reading task, `n` leaves a
/// task whose hands-on checks are still open.
fn next_task(h: &mut Harness) {
    let run = h.app.run().unwrap();
    let viewed = run.viewed;
    if run.is_reading_only(viewed) {
        h.focus(Focus::Lesson);
        h.key(KeyCode::Enter);
    } else if run.mark(viewed) == TaskMark::ChecksOpen {
        h.key(KeyCode::Char('n'));
    }
}

#[test]
fn typed_questions_are_recorded_and_resumed() {
    let loaded = first_scenario();
    let answers = solution_answers(&loaded);
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::new(vec![loaded.clone()], dir.path(), SIZE);
    h.app.open_scenario(ID).unwrap();

    let (mut points, mut attempts, mut hints) = (0, 0, 0);
    let mut visited = Vec::new();
    loop {
        let viewed = h.app.run().unwrap().viewed;
        if visited.contains(&viewed) {
            break;
        }
        visited.push(viewed);
        if h.app
            .run()
            .unwrap()
            .viewed_task()
            .unwrap()
            .questions
            .iter()
            .any(|q| !q.hints.is_empty())
        {
            h.focus(Focus::Questions);
            h.key(KeyCode::F(2));
            hints += 1;
        }
        let (p, a) = answer_viewed_task(&mut h, &answers);
        points += p;
        attempts += a;
        next_task(&mut h);
    }
    let typed: u32 = loaded
        .scenario
        .tasks
        .iter()
        .flat_map(|t| &t.questions)
        .filter(|q| !is_live(&q.answer))
        .map(|q| q.points)
        .sum();
    assert_eq!(points, typed, "every typed question was answered");
    assert_eq!(h.app.run().unwrap().points(), points);

    check_store(&h, points, attempts, hints);
    let position = h.app.run().unwrap().viewed;
    drop(h);

    let mut resumed = Harness::new(vec![loaded], dir.path(), SIZE);
    resumed.app.open_scenario(ID).unwrap();
    let run = resumed.app.run().unwrap();
    assert_eq!(run.viewed, position, "resumes on the task it was on");
    assert_eq!(run.points(), points);
    assert!(
        run.questions
            .values()
            .filter(|q| q.accepted.is_some())
            .count()
            >= 10
    );
    let shown: u32 = run.questions.values().map(|q| q.hints_shown).sum();
    assert_eq!(shown, hints, "revealed hints come back");
    assert_eq!(run.mark(0), TaskMark::Done);
    assert!(resumed.screen().contains(&format!("{points}/")));
    resumed.key(KeyCode::Char('q'));
}

fn check_store(h: &Harness, points: u32, attempts: usize, hints: u32) {
    let store = lock(&h.store).unwrap();
    let recorded = store.attempts(USER, ID).unwrap();
    assert_eq!(recorded.len(), attempts);
    assert_eq!(
        recorded.iter().filter(|a| !a.correct).count(),
        attempts - recorded.iter().filter(|a| a.correct).count()
    );
    let progress = store.load_progress(USER, ID).unwrap();
    assert_eq!(progress.points(), points);
    // Tasks without hands-on checks are done; the others wait for engines.
    for done in ["introduction", "virtualization", "containers"] {
        assert!(
            progress.tasks_done.iter().any(|t| t == done),
            "{done} not done: {progress:?}"
        );
    }
    for waiting in ["hypervisors", "docker", "kubernetes"] {
        assert!(
            !progress.tasks_done.iter().any(|t| t == waiting),
            "{waiting} done without its engine"
        );
    }
    let report = store.report(&ReportFilter::default()).unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].points, points);
    assert_eq!(report[0].hints_revealed, hints);
}

#[test]
fn command_ran_check_reads_the_recorded_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::new(vec![first_scenario()], dir.path(), SIZE);
    h.app.open_scenario(ID).unwrap();
    let kubernetes = h
        .app
        .run()
        .unwrap()
        .loaded
        .scenario
        .tasks
        .iter()
        .position(|t| t.id == "kubernetes")
        .unwrap();
    let line = "kubectl delete deployment hello-tryhackme";
    lock(&h.store)
        .unwrap()
        .record_command(USER, ID, line, 0, SystemTime::now())
        .unwrap();

    h.app.session().evaluate_checks(
        ID,
        "kubernetes",
        h.app.run().unwrap().loaded.scenario.tasks[kubernetes]
            .checks
            .clone(),
    );
    let event = h.next_session_event();
    let SessionEvent::ChecksEvaluated { task, outcomes } = event else {
        panic!("{event:?}")
    };
    assert_eq!(task, "kubernetes");
    assert!(outcomes[0].passed, "{outcomes:?}");
    assert!(outcomes[0].detail.contains(line));
    assert!(!outcomes[1].passed);
    assert_eq!(outcomes[1].detail, "needs the cluster engine");
}

#[test]
fn failed_command_does_not_satisfy_a_succeeded_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::new(vec![first_scenario()], dir.path(), SIZE);
    h.app.open_scenario(ID).unwrap();
    let line = "kubectl delete deployment hello-tryhackme";
    lock(&h.store)
        .unwrap()
        .record_command(USER, ID, line, 1, SystemTime::now())
        .unwrap();
    let checks = vec![lab_engine_api::CheckSpec::CommandRan {
        pattern: r"kubectl\s+delete".into(),
        succeeded: true,
    }];
    h.app.session().evaluate_checks(ID, "kubernetes", checks);
    let SessionEvent::ChecksEvaluated { outcomes, .. } = h.next_session_event() else {
        panic!()
    };
    assert!(!outcomes[0].passed);
}
