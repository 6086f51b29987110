//! Any terminal size, any key sequence: rendering never panics and always
//! fills exactly the frame it was given.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, fixture};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use lab::app::{AppEvent, Flow};
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Size;

fn draw(h: &Harness, width: u16, height: u16) {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| h.app.render(frame)).unwrap();
    assert_eq!(terminal.backend().buffer().area.width, width);
}

fn event_strategy() -> impl Strategy<Value = Event> {
    let keys = prop_oneof![
        Just(KeyCode::Tab),
        Just(KeyCode::BackTab),
        Just(KeyCode::Up),
        Just(KeyCode::Down),
        Just(KeyCode::PageUp),
        Just(KeyCode::PageDown),
        Just(KeyCode::Enter),
        Just(KeyCode::Backspace),
        Just(KeyCode::Left),
        Just(KeyCode::F(1)),
        Just(KeyCode::F(2)),
        Just(KeyCode::Esc),
        Just(KeyCode::Char('n')),
        Just(KeyCode::Char('?')),
        any::<char>().prop_map(KeyCode::Char),
    ];
    prop_oneof![
        4 => keys.prop_map(|code| Event::Key(KeyEvent::new(code, KeyModifiers::NONE))),
        1 => (0u16..300, 0u16..120).prop_map(|(w, h)| Event::Resize(w, h)),
        1 => (any::<bool>(), 0u16..300, 0u16..120).prop_map(|(up, column, row)| {
            let kind = if up { MouseEventKind::ScrollUp } else { MouseEventKind::ScrollDown };
            Event::Mouse(MouseEvent { kind, column, row, modifiers: KeyModifiers::NONE })
        }),
        1 => ".{0,40}".prop_map(Event::Paste),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_size_and_events_render_without_panicking(
        events in proptest::collection::vec(event_strategy(), 0..40),
        width in 0u16..260,
        height in 0u16..90,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let scenarios = vec![fixture("basics.yaml"), fixture("other.yaml")];
        let mut h = Harness::new(scenarios, dir.path(), Size::new(width, height));
        h.app.open_scenario("basics").unwrap();
        for event in events {
            if h.app.handle_event(AppEvent::Terminal(event)) == Flow::Quit {
                break;
            }
            let size = h.app.size();
            draw(&h, size.width, size.height);
        }
        draw(&h, width, height);
    }
}

#[test]
fn degenerate_sizes_render() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::new(vec![fixture("basics.yaml")], dir.path(), Size::new(0, 0));
    for (width, height) in [
        (0, 0),
        (1, 1),
        (0, 5),
        (5, 0),
        (2, 2),
        (80, 3),
        (3, 80),
        (1000, 2),
    ] {
        h.resize(width, height);
        draw(&h, width, height);
        h.app.open_scenario("basics").unwrap();
        draw(&h, width, height);
        h.key(KeyCode::Char('?'));
        draw(&h, width, height);
        h.key(KeyCode::Esc);
    }
}
