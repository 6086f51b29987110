//! The lab shell in the App: keys typed through the TUI reach the shell
//! pane the scenario start hook attached, its output shows on the rendered
//! screen, and the line lands in the progress store for `command_ran`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Harness, USER, fixture};
use crossterm::event::KeyCode;
use lab::app::Focus;
use lab::engines::{LabEngines, PaneChoice, SessionSlot, scenario_start_hook, shut_down_slot};
use lab::store::lock;
use ratatui::layout::Size;

/// Polls the pane until the rendered screen satisfies `done`.
fn wait_for_screen(harness: &mut Harness, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        harness.app.poll_pane();
        let screen = harness.screen();
        if done(&screen) || Instant::now() > deadline {
            return screen;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_pipeline_typed_through_the_tui_runs_in_the_lab_shell() {
    let data = tempfile::tempdir().unwrap();
    let mut harness = Harness::new(
        vec![fixture("basics.yaml")],
        data.path(),
        Size::new(120, 36),
    );
    let slot = SessionSlot::default();
    let mut hook = scenario_start_hook(
        Arc::new(LabEngines::new()),
        Arc::clone(&slot),
        PaneChoice::LabShell,
    );
    harness.app.open_scenario("basics").unwrap();
    hook(&mut harness.app, "basics");

    harness.focus(Focus::Terminal);
    harness.type_text("echo hello world | grep -c hello");
    harness.key(KeyCode::Enter);
    let answer = regex::Regex::new(r"[│┃]1 +[│┃]").unwrap();
    let screen = wait_for_screen(&mut harness, |screen| answer.is_match(screen));

    assert!(
        screen.contains("echo hello world | grep -c hello"),
        "{screen}"
    );
    assert!(
        answer.is_match(&screen),
        "no `1` line in the pane:\n{screen}"
    );
    let history = lock(&harness.store)
        .unwrap()
        .commands(USER, "basics")
        .unwrap();
    assert!(
        history
            .iter()
            .any(|c| c.line == "echo hello world | grep -c hello" && c.exit_status == 0),
        "{history:?}"
    );
    shut_down_slot(&slot, harness.runtime.handle());
}

#[test]
fn ctrl_d_on_an_empty_line_leaves_the_terminal() {
    let data = tempfile::tempdir().unwrap();
    let mut harness = Harness::new(
        vec![fixture("basics.yaml")],
        data.path(),
        Size::new(120, 36),
    );
    let slot = SessionSlot::default();
    let mut hook = scenario_start_hook(
        Arc::new(LabEngines::new()),
        Arc::clone(&slot),
        PaneChoice::LabShell,
    );
    harness.app.open_scenario("basics").unwrap();
    hook(&mut harness.app, "basics");

    harness.focus(Focus::Terminal);
    harness.ctrl('d');

    assert_ne!(harness.app.focus(), Focus::Terminal);
    shut_down_slot(&slot, harness.runtime.handle());
}
