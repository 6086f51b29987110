//! The help overlay: every key, in one box over the screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::pane_block;
use crate::app::App;

/// Every key and what it does, as listed in the overlay.
pub const KEYS: &[(&str, &str)] = &[
    ("Tab / Shift-Tab", "next / previous pane"),
    ("↑ ↓", "scroll; choose a task or a question"),
    (
        "PgUp PgDn Home End",
        "scroll a page, to the top, to the end",
    ),
    ("mouse wheel", "scroll the pane under the pointer"),
    (
        "Enter",
        "submit an answer; start a scenario; finish a reading task",
    ),
    ("← → Home End", "move in the answer box"),
    ("F2 (or h)", "reveal the next hint"),
    ("n / p", "next / previous task"),
    ("c", "run the task's hands-on checks now"),
    ("? or F1", "this help; Esc closes it"),
    ("q", "quit; progress is saved (not while typing an answer)"),
    (
        "Ctrl-C",
        "quit; progress is saved (in the terminal: interrupt)",
    ),
    (
        "in the terminal",
        "keys go to the lab shell; Shift-Tab leaves it",
    ),
];

pub fn render(app: &App, frame: &mut Frame) {
    let area = centred(
        frame.area(),
        76,
        u16::try_from(KEYS.len() + 4).unwrap_or(u16::MAX),
    );
    let theme = app.theme;
    let width = KEYS
        .iter()
        .map(|(key, _)| key.chars().count())
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line<'static>> = KEYS
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!("{key:<width$}  "), theme.heading()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::default());
    lines.push(Line::styled(
        "Esc, ? or Enter closes this help.",
        theme.muted(),
    ));
    let block = pane_block(theme, " Keys ".to_owned(), true);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    cell
}
