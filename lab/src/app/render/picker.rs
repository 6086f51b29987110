//! The scenario picker.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{List, ListItem, ListState, Paragraph};

use super::{pane_block, status};
use crate::app::App;

pub fn render(app: &App, selected: usize, frame: &mut Frame) {
    let [list_area, status_area] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(2)]).areas(frame.area());
    let theme = app.theme;
    let items: Vec<ListItem<'static>> = app
        .scenarios()
        .iter()
        .map(|loaded| {
            let s = &loaded.scenario;
            let engines: Vec<&str> = s.engines.iter().map(|e| e.name()).collect();
            let facts = match engines.is_empty() {
                true => format!("  about {} min · {}", s.estimated_minutes, s.tasks.len()),
                false => format!(
                    "  about {} min · {} · uses {}",
                    s.estimated_minutes,
                    tasks(s.tasks.len()),
                    engines.join(", ")
                ),
            };
            ListItem::new(Text::from(vec![
                Line::styled(s.title.clone(), theme.heading()),
                Line::raw(format!("  {}", s.description)),
                Line::from(Span::styled(facts, theme.muted())),
                Line::default(),
            ]))
        })
        .collect();
    let block = pane_block(theme, " Choose a scenario ".to_owned(), true);
    if items.is_empty() {
        let text = "No scenarios found. Run `lab doctor` to see where the lab looks for them.";
        frame.render_widget(Paragraph::new(text).block(block), list_area);
    } else {
        let list = List::new(items)
            .block(block)
            .highlight_symbol("▶ ")
            .highlight_style(theme.selected());
        let mut state = ListState::default().with_selected(Some(selected));
        frame.render_stateful_widget(list, list_area, &mut state);
    }
    status::render(app, status_area, frame);
}

fn tasks(count: usize) -> String {
    if count == 1 {
        "1 task".to_owned()
    } else {
        format!("{count} tasks")
    }
}
