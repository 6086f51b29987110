//! The problems of a watched scenario file that does not load, in a box
//! over the screen: one `file:line:column: message` line per problem, as
//! `lab validate` prints them. Keys still reach the screen underneath.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::pane_block;
use crate::app::{App, ScenarioProblems};

/// Widest the box grows, in columns.
const MAX_WIDTH: u16 = 110;
/// Rows kept free above and below the box.
const MARGIN_ROWS: u16 = 2;

pub fn render(app: &App, problems: &ScenarioProblems, frame: &mut Frame) {
    let theme = app.theme;
    let mut lines: Vec<Line<'static>> = problems
        .problems
        .iter()
        .map(|problem| Line::raw(problem.to_string()))
        .collect();
    lines.push(Line::default());
    lines.push(Line::styled(advice(app), theme.muted()));
    let title = format!(
        " {} does not load: {} ",
        problems.file_name(),
        count(problems)
    );
    let block = pane_block(theme, title, true).border_style(theme.bad());
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
    let area = frame.area();
    let width = area.width.saturating_sub(2).min(MAX_WIDTH);
    let text_rows = paragraph.line_count(width.saturating_sub(2));
    let rows = u16::try_from(text_rows)
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .min(area.height.saturating_sub(2 * MARGIN_ROWS).max(3));
    let area = centred(area, width, rows);
    frame.render_widget(Clear, area);
    frame.render_widget(paragraph.block(block), area);
}

fn advice(app: &App) -> &'static str {
    if app.run().is_some() {
        "The last version that loaded stays open underneath. Save the fixed file and it loads again."
    } else {
        "Save the fixed file and the scenario opens."
    }
}

fn count(problems: &ScenarioProblems) -> String {
    match problems.problems.len() {
        1 => "1 problem".to_owned(),
        n => format!("{n} problems"),
    }
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
