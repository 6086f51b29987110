//! Drawing. Every function here reads the App and writes into the frame's
//! buffer; nothing waits, nothing changes state.
//!
//! - [`picker`]: the scenario list.
//! - [`tasks`], [`lesson`], [`questions`], [`terminal`]: the four panes.
//! - [`status`]: the tab bar, the progress bar and the key hints.
//! - [`help`]: the overlay listing every key.
//! - [`problems`]: the problems of a watched scenario file that does not
//!   load, over whatever is underneath.

pub mod help;
pub mod lesson;
pub mod picker;
pub mod problems;
pub mod questions;
pub mod status;
pub mod tasks;
pub mod terminal;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, BorderType};

use super::layout::Areas;
use super::{App, Focus, Screen, Theme};

pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    match app.screen() {
        Screen::Picker { selected } => picker::render(app, *selected, frame),
        Screen::Scenario(_) => scenario(app, frame),
    }
    if let Some(problems) = app.problems() {
        problems::render(app, problems, frame);
    }
    if app.help_open {
        help::render(app, frame);
    }
}

fn scenario(app: &App, frame: &mut Frame) {
    let size = frame.area().as_size();
    let areas = Areas::compute(size, app.focus());
    if let Some(area) = areas.tabs {
        status::tabs(app, area, frame);
    }
    for focus in Focus::ORDER {
        if let Some(area) = areas.of(focus) {
            pane(app, focus, area, frame);
        }
    }
    status::render(app, areas.status, frame);
}

fn pane(app: &App, focus: Focus, area: Rect, frame: &mut Frame) {
    match focus {
        Focus::Tasks => tasks::render(app, area, frame),
        Focus::Lesson => lesson::render(app, area, frame),
        Focus::Questions => questions::render(app, area, frame),
        Focus::Terminal => terminal::render(app, area, frame),
    }
}

/// A pane's border, highlighted when it has focus.
pub fn pane_block(theme: Theme, title: String, focused: bool) -> Block<'static> {
    let border = if focused {
        BorderType::Thick
    } else {
        BorderType::Plain
    };
    Block::bordered()
        .border_type(border)
        .border_style(theme.border(focused))
        .title(title)
}
