//! The slot where the lab shell's terminal pane plugs into the App.
//!
//! The lab shell lives in its own crate; the App only knows this trait. Until
//! a pane is attached, the terminal area shows a [`PaneStatus`] message.

use crossterm::event::Event;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};

/// Whether the pane used an event. An ignored Tab moves focus on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneReply {
    Consumed,
    Ignored,
    /// The learner left the terminal (Ctrl-D on an empty line, `exit`):
    /// focus moves back to the questions.
    Leave,
}

/// A terminal pane widget (the lab shell) that the App draws and feeds keys.
///
/// While the pane has focus it gets every key except Shift-Tab (which always
/// moves focus back) and F1 (help); it gets Ctrl-C too, so a learner can
/// interrupt a command. Pasted text and mouse events over the pane go to it.
pub trait TerminalPane: Send {
    /// Draws the pane into `area` of `buf`; must not block.
    fn render(&self, area: Rect, buf: &mut Buffer, focused: bool);

    /// Handles a key, paste or mouse event.
    fn handle_event(&mut self, event: &Event) -> PaneReply;

    /// The inner size changed (columns, rows); called before the next render.
    fn resize(&mut self, columns: u16, rows: u16);

    /// Takes in output that arrived since the last call (command output
    /// produced on other tasks); true when the pane must be drawn again.
    /// Drivers call it through [`App::poll_pane`](super::App::poll_pane)
    /// on every turn of their loop; it must not block.
    fn poll(&mut self) -> bool {
        false
    }

    /// Where the terminal cursor goes when the pane, drawn in `area`, has
    /// focus; `None` hides it.
    fn cursor(&self, _area: Rect) -> Option<Position> {
        None
    }

    /// The pane gained or lost the keyboard.
    fn set_focused(&mut self, _focused: bool) {}

    /// The title over the pane, e.g. "lab shell".
    fn title(&self) -> String {
        "lab shell".to_owned()
    }
}

/// What the terminal area says while no pane is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaneStatus {
    Starting,
    Unavailable { reason: String },
}

impl PaneStatus {
    pub fn message(&self) -> String {
        match self {
            PaneStatus::Starting => "The lab shell is starting…".to_owned(),
            PaneStatus::Unavailable { reason } => format!("The lab shell is unavailable: {reason}"),
        }
    }
}

/// A one-line live status an engine shows in the status bar while it has
/// something running (the VM's exit counters). The App reads it on ticks
/// and pane polls and keeps the text, so drawing never calls an engine.
pub trait StatusSource: Send {
    /// The line to show now, or `None` to show nothing.
    fn line(&self) -> Option<String>;
}
