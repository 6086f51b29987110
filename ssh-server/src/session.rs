//! The boundary between the SSH server and the application it serves.
//!
//! The server knows nothing about lessons or scenarios: for every student
//! terminal it asks a [`SessionFactory`] for a [`TerminalSession`], feeds it
//! decoded input events and size changes, and sends whatever bytes its
//! [`TerminalSession::render`] returns. [`crate::RemoteTerminal`] turns a
//! ratatui draw callback into those bytes.
//!
//! All methods are called from one tokio task per session and must return
//! quickly: slow work belongs on other tasks, which call
//! [`RedrawHandle::request_redraw`] when they have changed what the screen
//! should show.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::Event;
use tokio::sync::Notify;

/// How often [`TerminalSession::tick`] is called.
pub const TICK_INTERVAL: Duration = Duration::from_secs(1);

/// Terminal size in character cells, as the client reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermSize {
    pub cols: u16,
    pub rows: u16,
}

impl TermSize {
    /// Largest size accepted from a client; anything bigger is clamped so a
    /// hostile `pty-req` cannot make the server allocate huge frame buffers.
    pub const MAX: TermSize = TermSize {
        cols: 1000,
        rows: 500,
    };

    /// The size assumed where a client leaves it out.
    pub const DEFAULT: TermSize = TermSize { cols: 80, rows: 24 };

    /// Converts the 32-bit sizes of an SSH request, clamping to `1..=MAX`.
    /// Zero means the client did not say (RFC 4254, 6.2: `ssh -tt` with its
    /// input from a pipe sends 0x0), so it becomes the default 80x24.
    pub fn from_ssh(cols: u32, rows: u32) -> TermSize {
        let clamp = |value: u32, default: u16, max: u16| -> u16 {
            match value {
                0 => default,
                _ => u16::try_from(value).unwrap_or(u16::MAX).clamp(1, max),
            }
        };
        TermSize {
            cols: clamp(cols, Self::DEFAULT.cols, Self::MAX.cols),
            rows: clamp(rows, Self::DEFAULT.rows, Self::MAX.rows),
        }
    }
}

/// Who a new session belongs to.
#[derive(Debug, Clone)]
pub struct SessionContext {
    /// Log-in name the student authenticated as.
    pub user: String,
    /// Server-wide unique number of this session, also used in log lines.
    pub session_id: u64,
    /// Address the connection came from.
    pub peer: SocketAddr,
    /// How many other sessions of the same user were open when this one
    /// started, so the UI can tell the student they are logged in twice.
    pub other_sessions_of_user: usize,
    /// The `TERM` value the client sent with its pty request.
    pub term: String,
    /// Lets the application ask for a redraw from any task or thread.
    pub redraw: RedrawHandle,
}

/// Wakes a session's driver so it calls [`TerminalSession::render`] again.
///
/// Cheap to clone; requests made while a frame is still being sent are
/// merged into one redraw.
#[derive(Clone, Default)]
pub struct RedrawHandle {
    notify: Arc<Notify>,
}

impl RedrawHandle {
    /// Asks for a redraw; never blocks.
    pub fn request_redraw(&self) {
        self.notify.notify_one();
    }

    /// Completes when a redraw has been requested since the last call.
    pub(crate) async fn requested(&self) {
        self.notify.notified().await;
    }
}

impl fmt::Debug for RedrawHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RedrawHandle")
    }
}

/// Why an application could not start a session; shown to the student as one
/// line before the connection closes, and logged.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SessionOpenError {
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SessionOpenError {
    pub fn new(message: impl Into<String>) -> Self {
        SessionOpenError {
            message: message.into(),
            source: None,
        }
    }
}

/// Creates one application session per student terminal.
pub trait SessionFactory: Send + Sync + 'static {
    /// Starts a session for a terminal of `size` cells.
    fn open(
        &self,
        context: SessionContext,
        size: TermSize,
    ) -> Result<Box<dyn TerminalSession>, SessionOpenError>;
}

/// One student's running application, driven by the server.
///
/// The server sets up the terminal (alternate screen, mouse reporting,
/// bracketed paste) before the first [`render`](Self::render) and restores
/// it after [`close`](Self::close); the session only draws.
pub trait TerminalSession: Send {
    /// A key press, paste or mouse event decoded from the client's bytes.
    /// Ctrl-C arrives here as an ordinary key event.
    fn input(&mut self, event: Event);

    /// The client's window changed size. The next [`render`](Self::render)
    /// must redraw the whole screen at the new size.
    fn resize(&mut self, size: TermSize);

    /// Bytes that bring the client's screen up to date with the session's
    /// state (usually a ratatui diff; see [`crate::RemoteTerminal`]). Called
    /// after input, resize and redraw requests, never while the previous frame
    /// is still waiting for the client, so diffs never get lost.
    fn render(&mut self) -> Vec<u8>;

    /// Called about once per [`TICK_INTERVAL`] whatever the student does:
    /// apply finished background work, re-run periodic checks. Return true
    /// when the screen should be redrawn.
    fn tick(&mut self) -> bool {
        false
    }

    /// True once the application wants the connection to end (the student
    /// chose "quit").
    fn wants_exit(&self) -> bool;

    /// The session ends: disconnect, idle timeout or server shutdown. Save
    /// progress and stop engines here. Called exactly once, on a thread
    /// where blocking briefly is allowed.
    fn close(&mut self);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_from_clients_are_clamped_and_zero_means_unsaid() {
        assert_eq!(TermSize::from_ssh(0, 0), TermSize::DEFAULT);
        assert_eq!(TermSize::from_ssh(0, 40), TermSize { cols: 80, rows: 40 });
        assert_eq!(
            TermSize::from_ssh(120, 40),
            TermSize {
                cols: 120,
                rows: 40
            }
        );
        assert_eq!(TermSize::from_ssh(u32::MAX, u32::MAX), TermSize::MAX);
    }
}
