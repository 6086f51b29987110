//! What keys, the mouse and paste do, and how the terminal pane slot routes
//! them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::{Harness, USER, fixture};
use crossterm::event::{Event, KeyCode, KeyModifiers, MouseEvent, MouseEventKind};
use lab::app::{AppEvent, Flow, Focus, PaneReply, TerminalPane};
use lab::store::lock;
use ratatui::buffer::Buffer;
use ratatui::layout::{Rect, Size};

fn opened(size: Size) -> (Harness, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::new(vec![fixture("basics.yaml")], dir.path(), size);
    h.app.open_scenario("basics").unwrap();
    (h, dir)
}

#[test]
fn q_quits_outside_an_answer_box_and_types_inside_one() {
    let (mut h, _dir) = opened(Size::new(140, 36));
    h.focus(Focus::Questions);
    assert_eq!(h.key(KeyCode::Char('q')), Flow::Continue);
    assert_eq!(h.key(KeyCode::Char('?')), Flow::Continue);
    assert_eq!(h.app.run().unwrap().questions["colour"].input, "q?");
    assert_eq!(h.ctrl('c'), Flow::Quit, "Ctrl-C quits even while typing");
    h.focus(Focus::Lesson);
    assert_eq!(h.key(KeyCode::Char('q')), Flow::Quit);
}

#[test]
fn ctrl_c_quits_from_the_lesson_and_does_not_run_the_checks() {
    let (mut h, _dir) = opened(Size::new(140, 36));
    h.focus(Focus::Lesson);
    assert_eq!(h.ctrl('c'), Flow::Quit);
    h.focus(Focus::Tasks);
    assert_eq!(h.ctrl('c'), Flow::Quit);
}

#[test]
fn help_opens_with_question_mark_or_f1_and_closes_with_esc() {
    let (mut h, _dir) = opened(Size::new(140, 36));
    h.key(KeyCode::Char('?'));
    assert!(h.screen().contains("reveal the next hint"));
    h.key(KeyCode::Esc);
    assert!(!h.screen().contains("reveal the next hint"));
    h.focus(Focus::Questions);
    h.key(KeyCode::F(1));
    assert!(h.screen().contains("reveal the next hint"));
}

#[test]
fn tab_and_shift_tab_cycle_every_pane() {
    let (mut h, _dir) = opened(Size::new(80, 24));
    let mut seen = vec![h.app.focus()];
    for _ in 0..4 {
        h.key(KeyCode::Tab);
        seen.push(h.app.focus());
    }
    assert_eq!(
        seen,
        [
            Focus::Lesson,
            Focus::Questions,
            Focus::Terminal,
            Focus::Tasks,
            Focus::Lesson
        ]
    );
    h.key(KeyCode::BackTab);
    assert_eq!(h.app.focus(), Focus::Tasks);
}

#[test]
fn hints_are_revealed_one_at_a_time_and_recorded() {
    let (mut h, _dir) = opened(Size::new(140, 60));
    h.focus(Focus::Questions);
    h.key(KeyCode::F(2));
    assert!(h.screen().contains("Hint 1: It is the colour"));
    assert!(!h.screen().contains("The whole lesson fits"));
    h.key(KeyCode::F(2));
    assert!(h.screen().contains("Hint 1: The whole lesson fits"));
    let progress = lock(&h.store)
        .unwrap()
        .load_progress(USER, "basics")
        .unwrap();
    assert_eq!(progress.hints.get("question:colour"), Some(&1));
    assert_eq!(progress.hints.get("task:welcome"), Some(&1));
}

#[test]
fn page_down_and_the_mouse_wheel_scroll_the_lesson() {
    let (mut h, _dir) = opened(Size::new(80, 14));
    let top = h.screen();
    h.key(KeyCode::PageDown);
    let paged = h.screen();
    assert_ne!(top, paged);
    h.key(KeyCode::Home);
    assert_eq!(h.screen(), top);
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 10,
        row: 5,
        modifiers: KeyModifiers::NONE,
    };
    h.app.handle_event(AppEvent::Terminal(Event::Mouse(wheel)));
    assert_ne!(h.screen(), top);
    for _ in 0..100 {
        h.key(KeyCode::PageDown);
    }
    assert!(
        h.screen().contains("the guide"),
        "scrolling stops at the end, not past it"
    );
}

#[test]
fn paste_into_an_answer_box_keeps_one_line() {
    let (mut h, _dir) = opened(Size::new(140, 36));
    h.focus(Focus::Questions);
    h.app
        .handle_event(AppEvent::Terminal(Event::Paste("gre\nen\r".into())));
    assert_eq!(h.app.run().unwrap().questions["colour"].input, "green");
}

/// A pane that keeps what it was sent; it lets Tab through.
#[derive(Default, Clone)]
struct RecordingPane {
    events: Arc<Mutex<Vec<Event>>>,
    size: Arc<Mutex<(u16, u16)>>,
    focused: Arc<Mutex<bool>>,
}

impl TerminalPane for RecordingPane {
    fn render(&self, area: Rect, buf: &mut Buffer, _focused: bool) {
        buf.set_string(area.x, area.y, "pane$ ", ratatui::style::Style::new());
    }

    fn handle_event(&mut self, event: &Event) -> PaneReply {
        if matches!(event, Event::Key(k) if k.code == KeyCode::Tab) {
            return PaneReply::Ignored;
        }
        if matches!(event, Event::Key(k) if k.code == KeyCode::Char('d') && k.modifiers == KeyModifiers::CONTROL)
        {
            return PaneReply::Leave;
        }
        self.events.lock().unwrap().push(event.clone());
        PaneReply::Consumed
    }

    fn resize(&mut self, columns: u16, rows: u16) {
        *self.size.lock().unwrap() = (columns, rows);
    }

    fn set_focused(&mut self, focused: bool) {
        *self.focused.lock().unwrap() = focused;
    }
}

#[test]
fn the_terminal_pane_gets_keys_and_its_size() {
    let (mut h, _dir) = opened(Size::new(140, 36));
    let pane = RecordingPane::default();
    h.app.attach_pane(Box::new(pane.clone()));
    assert_eq!(*pane.size.lock().unwrap(), (68, 17));
    assert!(h.screen().contains("pane$"));

    h.focus(Focus::Terminal);
    assert_eq!(
        h.key(KeyCode::Char('q')),
        Flow::Continue,
        "q goes to the shell"
    );
    assert_eq!(
        h.ctrl('c'),
        Flow::Continue,
        "Ctrl-C interrupts in the shell"
    );
    assert_eq!(pane.events.lock().unwrap().len(), 2);
    h.key(KeyCode::BackTab);
    assert_eq!(
        h.app.focus(),
        Focus::Questions,
        "Shift-Tab always leaves the pane"
    );

    h.resize(80, 24);
    h.focus(Focus::Terminal);
    assert_eq!(
        *pane.size.lock().unwrap(),
        (78, 19),
        "narrow layout: the pane fills the body"
    );
}

#[test]
fn app_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<lab::app::App>();
}

#[test]
fn engine_states_show_in_the_status_bar() {
    use lab_engine_api::{EngineKind, EngineState, EngineStatus};
    let (mut h, _dir) = opened(Size::new(140, 36));
    let ready = EngineStatus {
        kind: EngineKind::Docker,
        state: EngineState::Ready {
            detail: "29".into(),
        },
    };
    let missing = EngineStatus {
        kind: EngineKind::Cluster,
        state: EngineState::Unavailable {
            reason: "no".into(),
            remedy: "start it".into(),
        },
    };
    for status in [ready, missing] {
        h.app
            .handle_event(AppEvent::Session(lab::session::SessionEvent::Engine(
                status,
            )));
    }
    let last_row = h.screen().lines().last().unwrap().to_owned();
    assert!(last_row.contains("docker ✓ cluster ✗"), "{last_row}");
}
