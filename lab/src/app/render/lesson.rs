//! The lesson pane: the viewed task's Markdown.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Wrap};

use super::pane_block;
use crate::app::layout::{Areas, inner};
use crate::app::{App, Focus, markdown};

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let focused = app.focus() == Focus::Lesson;
    let block = pane_block(app.theme, title(app), focused);
    let paragraph = paragraph(app);
    let max = max_scroll_for(&paragraph, inner(area));
    let paragraph = paragraph
        .scroll((app.lesson_scroll.min(max), 0))
        .block(block);
    frame.render_widget(paragraph, area);
}

fn title(app: &App) -> String {
    let Some(run) = app.run() else {
        return " Lesson ".to_owned();
    };
    let total = run.tasks.len();
    match run.viewed_task() {
        Some(task) => format!(" Task {}/{total}: {} ", run.viewed + 1, task.title),
        None => " Lesson ".to_owned(),
    }
}

fn paragraph(app: &App) -> Paragraph<'static> {
    let text = app
        .run()
        .and_then(|run| run.loaded.lesson(run.viewed))
        .map(|lesson| markdown::render(lesson, app.theme))
        .unwrap_or_default();
    Paragraph::new(text).wrap(Wrap { trim: false })
}

fn max_scroll_for(paragraph: &Paragraph<'_>, inner: Rect) -> u16 {
    let lines = paragraph.line_count(inner.width);
    let lines = u16::try_from(lines).unwrap_or(u16::MAX);
    lines.saturating_sub(inner.height)
}

/// The furthest the lesson can scroll in the current layout.
pub fn max_scroll(app: &App) -> u16 {
    let areas = Areas::compute(app.size(), Focus::Lesson);
    areas
        .lesson
        .map_or(0, |area| max_scroll_for(&paragraph(app), inner(area)))
}
