//! The task list: done, current and locked tasks; the viewed one is
//! highlighted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState};

use super::pane_block;
use crate::app::run::TaskMark;
use crate::app::{App, Focus};

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let Some(run) = app.run() else { return };
    let theme = app.theme;
    let items: Vec<ListItem<'static>> = run
        .loaded
        .scenario
        .tasks
        .iter()
        .enumerate()
        .map(|(index, task)| {
            let (mark, style) = match run.mark(index) {
                TaskMark::Done => ("✓", theme.good()),
                TaskMark::ChecksOpen => ("◐", theme.accent()),
                TaskMark::Current => ("▶", theme.accent()),
                TaskMark::Locked => ("·", theme.muted()),
            };
            let title = format!(" {}. {}", index + 1, task.title);
            ListItem::new(Line::from(vec![
                Span::styled(mark, style),
                Span::raw(title),
            ]))
        })
        .collect();
    let title = format!(" {} ", run.loaded.scenario.title);
    let list = List::new(items)
        .block(pane_block(theme, title, app.focus() == Focus::Tasks))
        .highlight_style(theme.selected());
    let mut state = ListState::default().with_selected(Some(run.viewed));
    frame.render_stateful_widget(list, area, &mut state);
}
