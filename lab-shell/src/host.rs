//! The host shell pane for `lab --host-shell`: the user's own login shell
//! on a real PTY, drawn through the same terminal view as the lab shell.
//!
//! Only for the local, self-paced mode: the SSH server never offers it.
//! Reading and writing the PTY happen on two threads, so key handling and
//! drawing never wait on the child. Driven like [`crate::ShellPane`]:
//! keys to [`HostShellPane::handle_key`], output through
//! [`HostShellPane::next_update`] or [`HostShellPane::poll`], then draw
//! `&HostShellPane`. Shift+PageUp/PageDown page the scrollback (plain
//! PageUp/PageDown belong to the programs in the shell).

use std::io::{Read, Write};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::widgets::Widget;
use tokio::sync::mpsc;

use crate::keys::key_to_bytes;
use crate::pane::PaneUpdate;
use crate::terminal::{DEFAULT_SCROLLBACK, TerminalView};

/// Reads from the PTY in chunks of this size.
const READ_CHUNK: usize = 8192;

/// Queued chunks between the PTY threads and the pane.
const CHANNEL_DEPTH: usize = 64;

/// Why the host shell could not start.
#[derive(Debug, thiserror::Error)]
pub enum HostShellError {
    #[error("failed to open a pseudo-terminal")]
    OpenPty(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("failed to start the login shell")]
    Spawn(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("failed to connect to the pseudo-terminal")]
    Connect(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("failed to start the thread that {0} the pseudo-terminal")]
    Thread(&'static str, #[source] std::io::Error),
}

/// The user's login shell in a pane.
pub struct HostShellPane {
    view: TerminalView,
    master: Box<dyn MasterPty + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    output: mpsc::Receiver<Vec<u8>>,
    input: mpsc::Sender<Vec<u8>>,
    exited: bool,
    focused: bool,
}

fn pty_size(rows: u16, cols: u16) -> PtySize {
    PtySize {
        rows: rows.max(1),
        cols: cols.max(1),
        pixel_width: 0,
        pixel_height: 0,
    }
}

impl HostShellPane {
    /// Starts the user's login shell (as `$SHELL`, or the account's shell)
    /// on a new PTY of `rows` x `cols`.
    pub fn spawn(rows: u16, cols: u16) -> Result<Self, HostShellError> {
        let pair = native_pty_system()
            .openpty(pty_size(rows, cols))
            .map_err(|e| HostShellError::OpenPty(e.into()))?;
        let mut command = CommandBuilder::new_default_prog();
        command.env("TERM", "xterm-256color");
        let child = pair
            .slave
            .spawn_command(command)
            .map_err(|e| HostShellError::Spawn(e.into()))?;
        drop(pair.slave);

        let reader = pair
            .master
            .try_clone_reader()
            .map_err(|e| HostShellError::Connect(e.into()))?;
        let writer = pair
            .master
            .take_writer()
            .map_err(|e| HostShellError::Connect(e.into()))?;
        let output = spawn_reader(reader)?;
        let input = spawn_writer(writer)?;

        Ok(HostShellPane {
            view: TerminalView::new(rows, cols, DEFAULT_SCROLLBACK),
            master: pair.master,
            child,
            output,
            input,
            exited: false,
            focused: true,
        })
    }

    /// Whether the shell has ended (the pane then only shows what it left).
    pub fn has_exited(&self) -> bool {
        self.exited
    }

    pub fn screen(&self) -> &vt100::Screen {
        self.view.screen()
    }

    pub fn set_focused(&mut self, focused: bool) {
        self.focused = focused;
    }

    /// Sends a key to the shell; never waits.
    pub fn handle_key(&mut self, key: KeyEvent) -> PaneUpdate {
        if key.kind == KeyEventKind::Release || self.exited {
            return PaneUpdate::Nothing;
        }
        if key.modifiers.contains(KeyModifiers::SHIFT) {
            let page = usize::from(self.view.size().0.saturating_sub(1).max(1));
            match key.code {
                KeyCode::PageUp => self.view.scroll_up(page),
                KeyCode::PageDown => self.view.scroll_down(page),
                _ => return self.send_key(key),
            }
            return PaneUpdate::Redraw;
        }
        self.send_key(key)
    }

    fn send_key(&mut self, key: KeyEvent) -> PaneUpdate {
        self.view.scroll_to_bottom();
        let bytes = key_to_bytes(key, self.view.screen().application_cursor());
        if !bytes.is_empty() && self.input.try_send(bytes).is_err() {
            tracing::debug!("the host shell is not reading input; a key was dropped");
        }
        PaneUpdate::Redraw
    }

    /// Moves waiting output onto the screen; never waits.
    pub fn poll(&mut self) -> PaneUpdate {
        let mut update = PaneUpdate::Nothing;
        loop {
            match self.output.try_recv() {
                Ok(bytes) => {
                    self.view.process(&bytes);
                    update = PaneUpdate::Redraw;
                }
                Err(mpsc::error::TryRecvError::Empty) => return update,
                Err(mpsc::error::TryRecvError::Disconnected) => return self.mark_exited(update),
            }
        }
    }

    /// Waits for output and applies it. Cancel-safe. Returns
    /// [`PaneUpdate::Leave`] once when the shell ends.
    pub async fn next_update(&mut self) -> PaneUpdate {
        if self.exited {
            return std::future::pending().await;
        }
        match self.output.recv().await {
            Some(bytes) => {
                self.view.process(&bytes);
                PaneUpdate::Redraw
            }
            None => self.mark_exited(PaneUpdate::Nothing),
        }
    }

    fn mark_exited(&mut self, update: PaneUpdate) -> PaneUpdate {
        if self.exited {
            return update;
        }
        self.exited = true;
        // Reap the child; it has closed the PTY, so this does not wait long.
        let _ = self.child.try_wait();
        PaneUpdate::Leave
    }

    /// Fits the terminal and the PTY to `rows` x `cols`.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        if self.view.size() == (rows.max(1), cols.max(1)) {
            return;
        }
        self.view.resize(rows, cols);
        if let Err(error) = self.master.resize(pty_size(rows, cols)) {
            tracing::warn!(%error, "failed to resize the host shell's terminal");
        }
    }

    pub fn cursor_position(&self, area: Rect) -> Option<Position> {
        self.view.cursor_position(area)
    }
}

impl Drop for HostShellPane {
    fn drop(&mut self) {
        if !self.exited {
            let _ = self.child.kill();
        }
    }
}

impl Widget for &HostShellPane {
    fn render(self, area: Rect, buf: &mut Buffer) {
        self.view.render(area, buf, self.focused);
    }
}

fn spawn_reader(
    mut reader: Box<dyn Read + Send>,
) -> Result<mpsc::Receiver<Vec<u8>>, HostShellError> {
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    std::thread::Builder::new()
        .name("host-shell-read".to_owned())
        .spawn(move || {
            let mut chunk = vec![0; READ_CHUNK];
            // Ends at EOF or EIO, both meaning the shell closed its side.
            while let Ok(n @ 1..) = reader.read(&mut chunk) {
                if tx.blocking_send(chunk[..n].to_vec()).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| HostShellError::Thread("reads", e))?;
    Ok(rx)
}

fn spawn_writer(
    mut writer: Box<dyn Write + Send>,
) -> Result<mpsc::Sender<Vec<u8>>, HostShellError> {
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(CHANNEL_DEPTH);
    std::thread::Builder::new()
        .name("host-shell-write".to_owned())
        .spawn(move || {
            while let Some(bytes) = rx.blocking_recv() {
                if writer
                    .write_all(&bytes)
                    .and_then(|()| writer.flush())
                    .is_err()
                {
                    break;
                }
            }
        })
        .map_err(|e| HostShellError::Thread("writes", e))?;
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a real login shell on a real PTY: types a command, reads its
    /// output from the vt100 screen, then ends the shell with `exit`.
    #[tokio::test]
    async fn login_shell_runs_a_command_on_a_real_pty() {
        let mut pane = match HostShellPane::spawn(10, 60) {
            Ok(pane) => pane,
            Err(error) => {
                eprintln!("skipping: this machine cannot open a PTY or start a shell: {error}");
                return;
            }
        };
        for c in "echo $((6*7))x\r".chars() {
            pane.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        while !pane.screen().contents().contains("42x") {
            let update = tokio::time::timeout_at(deadline, pane.next_update()).await;
            assert!(
                update.is_ok(),
                "no `42x` on screen: {:?}",
                pane.screen().contents()
            );
        }
        for c in "exit\r".chars() {
            pane.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        while !pane.has_exited() {
            let update = tokio::time::timeout_at(deadline, pane.next_update()).await;
            assert!(update.is_ok(), "the shell did not exit");
        }
    }
}
