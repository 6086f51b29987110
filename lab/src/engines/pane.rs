//! The lab shell's panes in the App's terminal slot: [`LabShellPane`]
//! around [`lab_shell::ShellPane`], and [`HostPane`] around
//! [`lab_shell::HostShellPane`] for `lab --host-shell`.

use std::sync::Arc;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use lab_engine_api::ShellCommand;
use lab_shell::{HostShellPane, PaneUpdate, ShellPane};
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::widgets::Widget;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use crate::app::{PaneReply, TerminalPane};

/// The lab shell in the App. Every call enters the session's runtime, as
/// the shell starts lines on Tokio tasks whatever thread the driver uses.
pub struct LabShellPane {
    pane: ShellPane,
    runtime: Handle,
    /// Commands of engines that came up after the pane was made.
    late_commands: mpsc::UnboundedReceiver<Arc<dyn ShellCommand>>,
}

impl LabShellPane {
    pub fn new(
        pane: ShellPane,
        runtime: Handle,
        late_commands: mpsc::UnboundedReceiver<Arc<dyn ShellCommand>>,
    ) -> Self {
        LabShellPane {
            pane,
            runtime,
            late_commands,
        }
    }

    /// The shell pane itself, for tests that read its screen.
    pub fn inner(&self) -> &ShellPane {
        &self.pane
    }

    fn register_late_commands(&mut self) -> bool {
        let mut registered = false;
        while let Ok(command) = self.late_commands.try_recv() {
            self.pane.register(command);
            registered = true;
        }
        registered
    }
}

impl TerminalPane for LabShellPane {
    fn render(&self, area: Rect, buf: &mut Buffer, _focused: bool) {
        (&self.pane).render(area, buf);
    }

    fn handle_event(&mut self, event: &Event) -> PaneReply {
        let _entered = self.runtime.enter();
        let mut reply = PaneReply::Ignored;
        for key in keys_of(event) {
            reply = merge(reply, reply_of(self.pane.handle_key(key)));
        }
        reply
    }

    fn resize(&mut self, columns: u16, rows: u16) {
        self.pane.resize(rows, columns);
    }

    fn poll(&mut self) -> bool {
        let _entered = self.runtime.enter();
        let registered = self.register_late_commands();
        // A Leave from poll (`exit` finished) cannot move focus from here;
        // the shell stays, and the learner leaves with Shift-Tab.
        registered || self.pane.poll() != PaneUpdate::Nothing
    }

    fn cursor(&self, area: Rect) -> Option<Position> {
        self.pane.cursor_position(area)
    }

    fn set_focused(&mut self, focused: bool) {
        self.pane.set_focused(focused);
    }
}

/// The learner's own login shell on a PTY (`lab --host-shell`, local only).
pub struct HostPane {
    pane: HostShellPane,
}

impl HostPane {
    pub fn new(pane: HostShellPane) -> Self {
        HostPane { pane }
    }
}

impl TerminalPane for HostPane {
    fn render(&self, area: Rect, buf: &mut Buffer, _focused: bool) {
        (&self.pane).render(area, buf);
    }

    fn handle_event(&mut self, event: &Event) -> PaneReply {
        let mut reply = PaneReply::Ignored;
        for key in keys_of(event) {
            reply = merge(reply, reply_of(self.pane.handle_key(key)));
        }
        reply
    }

    fn resize(&mut self, columns: u16, rows: u16) {
        self.pane.resize(rows, columns);
    }

    fn poll(&mut self) -> bool {
        self.pane.poll() != PaneUpdate::Nothing
    }

    fn cursor(&self, area: Rect) -> Option<Position> {
        self.pane.cursor_position(area)
    }

    fn set_focused(&mut self, focused: bool) {
        self.pane.set_focused(focused);
    }

    fn title(&self) -> String {
        "host shell".to_owned()
    }
}

/// The key presses an event stands for: a key is itself, pasted text is
/// typed character by character (a newline is Enter). Mouse and focus
/// events carry no keys for a shell.
fn keys_of(event: &Event) -> Vec<KeyEvent> {
    match event {
        Event::Key(key) => vec![*key],
        Event::Paste(text) => text
            .chars()
            .filter(|c| *c != '\r')
            .map(|c| match c {
                '\n' => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
                '\t' => KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE),
                other => KeyEvent::new(KeyCode::Char(other), KeyModifiers::NONE),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn reply_of(update: PaneUpdate) -> PaneReply {
    match update {
        PaneUpdate::Leave => PaneReply::Leave,
        PaneUpdate::Nothing | PaneUpdate::Redraw => PaneReply::Consumed,
    }
}

/// A Leave anywhere in a paste wins; otherwise the pane used the event.
fn merge(so_far: PaneReply, next: PaneReply) -> PaneReply {
    match (so_far, next) {
        (PaneReply::Leave, _) | (_, PaneReply::Leave) => PaneReply::Leave,
        _ => PaneReply::Consumed,
    }
}
