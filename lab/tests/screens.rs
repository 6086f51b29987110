//! Snapshots of the screens a learner sees, drawn into ratatui's
//! `TestBackend`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, fixture};
use crossterm::event::KeyCode;
use lab::app::Focus;
use ratatui::layout::Size;

const WIDE: Size = Size::new(140, 36);
const NARROW: Size = Size::new(80, 24);

fn opened(size: Size) -> (Harness, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::new(
        vec![fixture("basics.yaml"), fixture("other.yaml")],
        dir.path(),
        size,
    );
    h.app.open_scenario("basics").unwrap();
    (h, dir)
}

#[test]
fn picker() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::new(
        vec![fixture("basics.yaml"), fixture("other.yaml")],
        dir.path(),
        NARROW,
    );
    insta::assert_snapshot!(h.screen());
}

#[test]
fn picker_of_the_built_in_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let built_in = lab_scenario::load_embedded().unwrap_or_else(|p| panic!("{p:#?}"));
    let h = Harness::new(built_in, dir.path(), NARROW);
    insta::assert_snapshot!(h.screen());
}

#[test]
fn picker_enter_opens_the_selected_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::new(
        vec![fixture("basics.yaml"), fixture("other.yaml")],
        dir.path(),
        NARROW,
    );
    h.key(KeyCode::Down);
    let flow = h.key(KeyCode::Enter);
    assert_eq!(
        flow,
        lab::app::Flow::ScenarioStarted {
            scenario: "other".into()
        }
    );
    assert_eq!(h.app.run().unwrap().id(), "other");
}

#[test]
fn lesson_wide() {
    let (h, _dir) = opened(WIDE);
    insta::assert_snapshot!(h.screen());
}

#[test]
fn wrong_answer() {
    let (mut h, _dir) = opened(WIDE);
    h.focus(Focus::Questions);
    h.answer("blue");
    insta::assert_snapshot!(h.screen());
}

#[test]
fn right_answer_with_hint() {
    let (mut h, _dir) = opened(WIDE);
    h.focus(Focus::Questions);
    h.key(KeyCode::F(2));
    h.answer("Green");
    insta::assert_snapshot!(h.screen());
}

#[test]
fn live_question_without_engine_waits() {
    let (mut h, _dir) = opened(WIDE);
    h.focus(Focus::Questions);
    h.answer("green");
    h.answer("a");
    h.answer("1");
    let screen = h.screen();
    assert!(
        screen.contains("waiting for the cluster engine"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn help_overlay() {
    let (mut h, _dir) = opened(WIDE);
    h.key(KeyCode::Char('?'));
    insta::assert_snapshot!(h.screen());
}

#[test]
fn narrow_layout_shows_one_pane_under_tabs() {
    let (mut h, _dir) = opened(NARROW);
    h.focus(Focus::Questions);
    insta::assert_snapshot!(h.screen());
}

#[test]
fn narrow_terminal_placeholder() {
    let (mut h, _dir) = opened(NARROW);
    h.focus(Focus::Terminal);
    let screen = h.screen();
    assert!(screen.contains("The lab shell is starting"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn no_color_theme_uses_no_colours() {
    let (h, _dir) = opened(WIDE);
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(140, 36)).unwrap();
    terminal.draw(|frame| h.app.render(frame)).unwrap();
    let buffer = terminal.backend().buffer();
    let colored = buffer.content.iter().filter(|cell| {
        cell.fg != ratatui::style::Color::Reset || cell.bg != ratatui::style::Color::Reset
    });
    assert_eq!(colored.count(), 0);
}
