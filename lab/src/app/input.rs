//! What each key does. Keys are looked at in this order: the help overlay,
//! keys that work everywhere (F1, F2, Shift-Tab), the terminal pane when it
//! has focus, the answer box when one is being typed in, then the keys of
//! the screen and focused pane.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use ratatui::layout::Size;

use super::layout::Areas;
use super::{App, Flow, Focus, PaneReply, Screen, actions};

/// Lines moved by one PageUp/PageDown when the pane height is unknown.
const PAGE_FALLBACK: u16 = 10;
/// Lines moved by one mouse wheel notch.
const WHEEL_LINES: u16 = 3;

pub fn terminal_event(app: &mut App, event: Event) -> Flow {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => key_event(app, key),
        Event::Mouse(mouse) => {
            mouse_event(app, mouse);
            Flow::Continue
        }
        Event::Paste(text) => {
            paste(app, &text);
            Flow::Continue
        }
        Event::Resize(width, height) => {
            app.size = Size::new(width, height);
            app.resize_pane();
            Flow::Continue
        }
        _ => Flow::Continue,
    }
}

fn key_event(app: &mut App, key: KeyEvent) -> Flow {
    // A notice stays until the next key; one raised by this key is kept.
    app.notice = None;
    if app.help_open {
        app.help_open = !closes_help(key);
        return quit_if_ctrl_c(key);
    }
    if let Some(flow) = global_key(app, key) {
        return flow;
    }
    match &app.screen {
        Screen::Picker { .. } => picker_key(app, key),
        Screen::Scenario(_) => scenario_key(app, key),
    }
}

fn closes_help(key: KeyEvent) -> bool {
    matches!(
        key.code,
        KeyCode::Esc | KeyCode::Char('?' | 'q') | KeyCode::F(1) | KeyCode::Enter
    )
}

fn quit_if_ctrl_c(key: KeyEvent) -> Flow {
    if is_ctrl_c(key) {
        Flow::Quit
    } else {
        Flow::Continue
    }
}

fn is_ctrl_c(key: KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c')
}

/// Keys that mean the same everywhere, even inside the terminal pane.
fn global_key(app: &mut App, key: KeyEvent) -> Option<Flow> {
    match key.code {
        KeyCode::F(1) => app.help_open = true,
        KeyCode::F(2) => actions::reveal_hint(app),
        KeyCode::BackTab => move_focus(app, false),
        _ => return None,
    }
    Some(Flow::Continue)
}

fn picker_key(app: &mut App, key: KeyEvent) -> Flow {
    let count = app.scenarios.len();
    let Screen::Picker { selected } = &mut app.screen else {
        return Flow::Continue;
    };
    match key.code {
        KeyCode::Up => *selected = selected.saturating_sub(1),
        KeyCode::Down => *selected = (*selected + 1).min(count.saturating_sub(1)),
        KeyCode::Enter => return actions::pick(app),
        _ => return common_key(app, key),
    }
    Flow::Continue
}

fn scenario_key(app: &mut App, key: KeyEvent) -> Flow {
    if app.focus == Focus::Terminal {
        return terminal_key(app, key);
    }
    if is_ctrl_c(key) {
        return Flow::Quit;
    }
    let in_answer_box = app.focus == Focus::Questions && typing(app);
    if let Some(flow) = in_answer_box.then(|| answer_box_key(app, key)).flatten() {
        return flow;
    }
    match key.code {
        KeyCode::Tab => move_focus(app, true),
        KeyCode::Char('h') => actions::reveal_hint(app),
        KeyCode::Char('n' | ']') => actions::view_task(app, 1),
        KeyCode::Char('p' | '[') => actions::view_task(app, -1),
        KeyCode::Char('c') => actions::run_checks(app),
        KeyCode::Enter => actions::enter(app),
        _ => return navigation_key(app, key),
    }
    Flow::Continue
}

/// True when keys go into the selected answer box.
fn typing(app: &App) -> bool {
    app.run()
        .and_then(|run| run.selected_question().and_then(|q| run.state_of(q)))
        .is_some_and(|state| state.is_open())
}

fn answer_box_key(app: &mut App, key: KeyEvent) -> Option<Flow> {
    if is_ctrl_c(key) {
        return Some(Flow::Quit);
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let run = app.run_mut()?;
    let state = run.selected_state_mut()?;
    match key.code {
        KeyCode::Char(c) if !ctrl => state.insert(c.encode_utf8(&mut [0; 4])),
        KeyCode::Backspace => state.backspace(),
        KeyCode::Delete => state.delete(),
        KeyCode::Left => state.move_cursor(state.cursor.saturating_sub(1)),
        KeyCode::Right => state.move_cursor(state.cursor + 1),
        KeyCode::Home => state.move_cursor(0),
        KeyCode::End => state.move_cursor(usize::MAX),
        KeyCode::Enter => actions::submit(app),
        _ => return None,
    }
    Some(Flow::Continue)
}

fn terminal_key(app: &mut App, key: KeyEvent) -> Flow {
    let reply = match app.pane.as_mut() {
        Some(pane) => pane.handle_event(&Event::Key(key)),
        None => PaneReply::Ignored,
    };
    match reply {
        PaneReply::Consumed => return Flow::Continue,
        PaneReply::Leave => {
            set_focus(app, Focus::Questions);
            return Flow::Continue;
        }
        PaneReply::Ignored => {}
    }
    match key.code {
        KeyCode::Tab => move_focus(app, true),
        _ => return common_key(app, key),
    }
    Flow::Continue
}

fn navigation_key(app: &mut App, key: KeyEvent) -> Flow {
    let page = page_height(app);
    match (key.code, app.focus) {
        (KeyCode::Up, Focus::Tasks) => actions::view_task(app, -1),
        (KeyCode::Down, Focus::Tasks) => actions::view_task(app, 1),
        (KeyCode::Up, Focus::Questions) => actions::select_question(app, -1),
        (KeyCode::Down, Focus::Questions) => actions::select_question(app, 1),
        (KeyCode::Up, _) => scroll(app, -1),
        (KeyCode::Down, _) => scroll(app, 1),
        (KeyCode::PageUp, _) => scroll(app, -i32::from(page)),
        (KeyCode::PageDown, _) => scroll(app, i32::from(page)),
        (KeyCode::Home, _) => scroll(app, i32::MIN / 2),
        (KeyCode::End, _) => scroll(app, i32::MAX / 2),
        _ => return common_key(app, key),
    }
    Flow::Continue
}

/// Help and quit, when no answer box is taking the keys.
fn common_key(app: &mut App, key: KeyEvent) -> Flow {
    match key.code {
        _ if is_ctrl_c(key) => Flow::Quit,
        KeyCode::Char('q') => Flow::Quit,
        KeyCode::Char('?') => {
            app.help_open = true;
            Flow::Continue
        }
        KeyCode::Tab => {
            move_focus(app, true);
            Flow::Continue
        }
        _ => Flow::Continue,
    }
}

fn move_focus(app: &mut App, forward: bool) {
    if matches!(app.screen, Screen::Picker { .. }) {
        return;
    }
    set_focus(app, app.focus.step(forward));
}

fn set_focus(app: &mut App, focus: Focus) {
    app.focus = focus;
    app.resize_pane();
    if let Some(pane) = app.pane.as_mut() {
        pane.set_focused(focus == Focus::Terminal);
    }
}

fn mouse_event(app: &mut App, mouse: MouseEvent) {
    let delta = match mouse.kind {
        MouseEventKind::ScrollUp => -i32::from(WHEEL_LINES),
        MouseEventKind::ScrollDown => i32::from(WHEEL_LINES),
        _ => return,
    };
    let areas = Areas::compute(app.size, app.focus);
    match areas.pane_at(mouse.column, mouse.row) {
        Some(Focus::Terminal) => {
            if let Some(pane) = app.pane.as_mut() {
                pane.handle_event(&Event::Mouse(mouse));
            }
        }
        Some(Focus::Questions) => scroll_questions(app, delta),
        Some(Focus::Tasks) => actions::view_task(app, delta.signum()),
        _ => scroll_lesson(app, delta),
    }
}

fn paste(app: &mut App, text: &str) {
    match app.focus {
        Focus::Terminal => {
            if let Some(pane) = app.pane.as_mut() {
                pane.handle_event(&Event::Paste(text.to_owned()));
            }
        }
        Focus::Questions if typing(app) => {
            let line: String = text.chars().filter(|c| !c.is_control()).collect();
            if let Some(state) = app.run_mut().and_then(|run| run.selected_state_mut()) {
                state.insert(&line);
            }
        }
        _ => {}
    }
}

fn scroll(app: &mut App, delta: i32) {
    match app.focus {
        Focus::Questions => scroll_questions(app, delta),
        _ => scroll_lesson(app, delta),
    }
}

fn scroll_lesson(app: &mut App, delta: i32) {
    let max = super::render::lesson::max_scroll(app);
    app.lesson_scroll = shifted(app.lesson_scroll, delta, max);
}

fn scroll_questions(app: &mut App, delta: i32) {
    let max = super::render::questions::max_scroll(app);
    app.questions_scroll = shifted(app.questions_scroll, delta, max);
}

fn shifted(value: u16, delta: i32, max: u16) -> u16 {
    let moved = i32::from(value)
        .saturating_add(delta)
        .clamp(0, i32::from(max));
    u16::try_from(moved).unwrap_or(max)
}

fn page_height(app: &App) -> u16 {
    let areas = Areas::compute(app.size, app.focus);
    let area = areas.of(app.focus).or(areas.lesson);
    area.map_or(PAGE_FALLBACK, |a| {
        super::layout::inner(a).height.saturating_sub(1).max(1)
    })
}
