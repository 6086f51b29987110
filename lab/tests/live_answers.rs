//! Live questions: judged against values an engine's probe computes, and
//! recorded in the store before the verdict reaches the screen.
//!
//! The probe here stands in for the cluster engine's: it answers with the
//! pod names a real cluster would list, so these tests pin the core's side
//! of the contract (ordering, recording, feedback). The engines' probes are
//! tested against real engines in their own crates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::{Harness, USER, fixture};
use lab::app::{AppEvent, Feedback, Focus};
use lab::session::SessionEvent;
use lab::store::lock;
use lab_engine_api::{CheckOutcome, CheckSpec, EngineKind, LiveValueSpec, Probe, ProbeError};
use ratatui::layout::Size;

struct ClusterWithPods(Vec<String>);

#[async_trait]
impl Probe for ClusterWithPods {
    fn engine(&self) -> EngineKind {
        EngineKind::Cluster
    }

    async fn check(&self, _spec: &CheckSpec) -> Result<CheckOutcome, ProbeError> {
        Err(ProbeError::WrongEngine {
            engine: EngineKind::Cluster,
        })
    }

    async fn live_values(&self, _spec: &LiveValueSpec) -> Result<Vec<String>, ProbeError> {
        Ok(self.0.clone())
    }
}

fn at_live_question() -> (Harness, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::new(vec![fixture("basics.yaml")], dir.path(), Size::new(140, 36));
    h.app.open_scenario("basics").unwrap();
    h.focus(Focus::Questions);
    h.answer("green");
    h.answer("a");
    (h, dir)
}

fn recv(h: &mut Harness) -> SessionEvent {
    h.runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), h.events.recv()).await })
        .unwrap()
        .unwrap()
}

#[test]
fn live_answer_is_in_the_store_before_its_verdict_is_sent() {
    let (mut h, _dir) = at_live_question();
    h.app
        .session()
        .attach_probe(Arc::new(ClusterWithPods(vec!["web-7d9c".into()])));
    h.answer("web-7d9c");
    let pods = &h.app.run().unwrap().questions["pods"];
    assert_eq!(pods.feedback, Some(Feedback::Checking));

    let event = recv(&mut h);
    let attempts = lock(&h.store).unwrap().attempts(USER, "basics").unwrap();
    let last = attempts.last().unwrap();
    assert_eq!(
        (last.question.as_str(), last.answer.as_str(), last.correct),
        ("pods", "web-7d9c", true)
    );

    h.app.handle_event(AppEvent::Session(event));
    let pods = &h.app.run().unwrap().questions["pods"];
    assert_eq!(pods.feedback, Some(Feedback::Correct { points: 1 }));
    // The task is complete, so the screen has moved on to the next one.
    assert_eq!(h.app.run().unwrap().viewed, 1);
    assert!(h.screen().contains("1/3 tasks · 4/5 points"));
}

#[test]
fn live_answer_is_compared_with_the_live_values_not_a_fixed_text() {
    let (mut h, _dir) = at_live_question();
    h.app.session().attach_probe(Arc::new(ClusterWithPods(vec![
        "api-1".into(),
        "api-2".into(),
    ])));
    h.answer("web-7d9c");
    h.next_session_event();
    let pods = &h.app.run().unwrap().questions["pods"];
    assert!(
        matches!(pods.feedback, Some(Feedback::Wrong { .. })),
        "{:?}",
        pods.feedback
    );

    for _ in 0..8 {
        h.key(crossterm::event::KeyCode::Backspace);
    }
    h.answer("api-2");
    h.next_session_event();
    let pods = &h.app.run().unwrap().questions["pods"];
    assert_eq!(pods.feedback, Some(Feedback::Correct { points: 1 }));
}

#[test]
fn live_answer_without_an_engine_records_nothing() {
    let (mut h, _dir) = at_live_question();
    h.answer("3");
    let pods = &h.app.run().unwrap().questions["pods"];
    assert_eq!(
        pods.feedback,
        Some(Feedback::Waiting("waiting for the cluster engine".into()))
    );
    let attempts = lock(&h.store).unwrap().attempts(USER, "basics").unwrap();
    assert!(attempts.iter().all(|a| a.question != "pods"));
}
