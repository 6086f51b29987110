//! Where the panes go. A pure function of the terminal size and the focused
//! pane, so `handle_event` (scroll limits, pane size) and `render` agree.
//!
//! Wide terminals show every pane side by side: tasks and lesson on the
//! left, questions and the terminal on the right. Narrow ones show one pane
//! at a time under a tab bar, the focused one.

use ratatui::layout::{Constraint, Layout, Margin, Rect, Size};

use super::Focus;

/// Terminals at least this wide get the side-by-side layout.
pub const WIDE_MIN_COLUMNS: u16 = 120;
/// And at least this tall.
pub const WIDE_MIN_ROWS: u16 = 20;
/// Rows of the status area: the progress bar and the key hints.
const STATUS_ROWS: u16 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Wide,
    Narrow,
}

/// The panes' places; a pane that is not shown has `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub mode: Mode,
    pub tabs: Option<Rect>,
    pub tasks: Option<Rect>,
    pub lesson: Option<Rect>,
    pub questions: Option<Rect>,
    pub terminal: Option<Rect>,
    pub status: Rect,
}

impl Areas {
    pub fn compute(size: Size, focus: Focus) -> Areas {
        let screen = Rect::new(0, 0, size.width, size.height);
        let [body, status] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(STATUS_ROWS)]).areas(screen);
        if size.width >= WIDE_MIN_COLUMNS && size.height >= WIDE_MIN_ROWS {
            wide(body, status)
        } else {
            narrow(body, status, focus)
        }
    }

    /// The pane at a screen position (for the mouse wheel).
    pub fn pane_at(&self, column: u16, row: u16) -> Option<Focus> {
        let position = ratatui::layout::Position::new(column, row);
        let hit = |area: Option<Rect>| area.is_some_and(|a| a.contains(position));
        Focus::ORDER.into_iter().find(|focus| hit(self.of(*focus)))
    }

    pub fn of(&self, focus: Focus) -> Option<Rect> {
        match focus {
            Focus::Tasks => self.tasks,
            Focus::Lesson => self.lesson,
            Focus::Questions => self.questions,
            Focus::Terminal => self.terminal,
        }
    }
}

/// The area inside a pane's border.
pub fn inner(area: Rect) -> Rect {
    area.inner(Margin::new(1, 1))
}

fn wide(body: Rect, status: Rect) -> Areas {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    let [tasks, lesson] =
        Layout::vertical([Constraint::Percentage(30), Constraint::Min(0)]).areas(left);
    let [questions, terminal] =
        Layout::vertical([Constraint::Percentage(45), Constraint::Min(0)]).areas(right);
    Areas {
        mode: Mode::Wide,
        tabs: None,
        tasks: Some(tasks),
        lesson: Some(lesson),
        questions: Some(questions),
        terminal: Some(terminal),
        status,
    }
}

fn narrow(body: Rect, status: Rect, focus: Focus) -> Areas {
    let [tabs, pane] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
    let shown = |candidate: Focus| (candidate == focus).then_some(pane);
    Areas {
        mode: Mode::Narrow,
        tabs: Some(tabs),
        tasks: shown(Focus::Tasks),
        lesson: shown(Focus::Lesson),
        questions: shown(Focus::Questions),
        terminal: shown(Focus::Terminal),
        status,
    }
}
