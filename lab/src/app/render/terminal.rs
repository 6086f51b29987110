//! The terminal pane: the attached lab shell, or a message saying why it
//! is not there yet.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Flex, Layout, Rect};
use ratatui::widgets::{Paragraph, Wrap};

use super::pane_block;
use crate::app::layout::inner;
use crate::app::{App, Focus};

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let focused = app.focus() == Focus::Terminal;
    let title = app
        .pane
        .as_ref()
        .map_or_else(|| "lab shell".to_owned(), |pane| pane.title());
    frame.render_widget(pane_block(app.theme, format!(" {title} "), focused), area);
    let inside = inner(area);
    match app.pane.as_ref() {
        Some(pane) => {
            pane.render(inside, frame.buffer_mut(), focused);
            if let Some(cursor) = pane.cursor(inside).filter(|_| focused && !app.help_open) {
                frame.set_cursor_position(cursor);
            }
        }
        None => placeholder(app, inside, frame),
    }
}

fn placeholder(app: &App, area: Rect, frame: &mut Frame) {
    let message = app.pane_status.message();
    let [centred] = Layout::vertical([Constraint::Length(3)])
        .flex(Flex::Center)
        .areas(area);
    let paragraph = Paragraph::new(message)
        .style(app.theme.muted())
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true });
    frame.render_widget(paragraph, centred);
}
