//! Drawing a ratatui UI into bytes for a remote terminal.
//!
//! [`RemoteTerminal`] wraps a ratatui `Terminal` whose backend writes into
//! memory instead of the server's own stdout, with a fixed viewport so that
//! ratatui never asks the local terminal for its size or cursor. The
//! sequences that prepare and restore a student's terminal live here too.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Frame, Terminal, TerminalOptions, Viewport};

use crate::session::TermSize;

/// Alternate screen, hidden cursor, cleared screen, mouse button and wheel
/// reporting in SGR encoding, and bracketed paste.
pub(crate) const SCREEN_SETUP: &[u8] =
    b"\x1b[?1049h\x1b[?25l\x1b[2J\x1b[H\x1b[?1000h\x1b[?1002h\x1b[?1006h\x1b[?2004h";

/// Undoes [`SCREEN_SETUP`] and resets colours, leaving the client's terminal
/// as it was before the session.
pub(crate) const SCREEN_RESTORE: &[u8] =
    b"\x1b[?2004l\x1b[?1006l\x1b[?1002l\x1b[?1000l\x1b[0m\x1b[?25h\x1b[?1049l";

/// A ratatui terminal that renders a remote client's screen into bytes.
pub struct RemoteTerminal {
    terminal: Terminal<CrosstermBackend<FrameBytes>>,
    output: FrameBytes,
    size: TermSize,
}

/// The bytes ratatui writes for one frame, shared between the backend that
/// writes them and the [`RemoteTerminal`] that hands them out.
#[derive(Clone, Default)]
struct FrameBytes(Arc<Mutex<Vec<u8>>>);

impl FrameBytes {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for FrameBytes {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl RemoteTerminal {
    /// A terminal of `size` cells whose first draw paints every cell.
    pub fn new(size: TermSize) -> io::Result<Self> {
        let options = TerminalOptions {
            viewport: Viewport::Fixed(area_of(size)),
        };
        let output = FrameBytes::default();
        let terminal = Terminal::with_options(CrosstermBackend::new(output.clone()), options)?;
        Ok(RemoteTerminal {
            terminal,
            output,
            size,
        })
    }

    /// Changes the size; the next draw repaints the whole screen.
    pub fn resize(&mut self, size: TermSize) -> io::Result<()> {
        self.size = size;
        self.terminal.resize(area_of(size))
    }

    /// Draws a frame and returns the bytes that update the client's screen
    /// from the previous frame to this one.
    pub fn draw(&mut self, render: impl FnOnce(&mut Frame)) -> io::Result<Vec<u8>> {
        self.terminal.draw(render)?;
        Ok(self.output.take())
    }

    /// The current size in cells.
    pub fn size(&self) -> TermSize {
        self.size
    }
}

fn area_of(size: TermSize) -> Rect {
    Rect::new(0, 0, size.cols, size.rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::widgets::Paragraph;

    #[test]
    fn first_draw_contains_text_and_second_identical_draw_is_small() {
        let mut terminal = RemoteTerminal::new(TermSize { cols: 20, rows: 4 }).unwrap();
        let first = terminal
            .draw(|f| f.render_widget(Paragraph::new("hello"), f.area()))
            .unwrap();
        assert!(String::from_utf8_lossy(&first).contains("hello"));

        let second = terminal
            .draw(|f| f.render_widget(Paragraph::new("hello"), f.area()))
            .unwrap();
        assert!(!String::from_utf8_lossy(&second).contains("hello"));
    }

    #[test]
    fn resize_repaints_at_new_size() {
        let mut terminal = RemoteTerminal::new(TermSize { cols: 20, rows: 4 }).unwrap();
        terminal
            .draw(|f| f.render_widget(Paragraph::new("hello"), f.area()))
            .unwrap();

        terminal.resize(TermSize { cols: 30, rows: 6 }).unwrap();
        let bytes = terminal
            .draw(|f| f.render_widget(Paragraph::new("hello"), f.area()))
            .unwrap();

        assert!(String::from_utf8_lossy(&bytes).contains("hello"));
        assert_eq!(terminal.size(), TermSize { cols: 30, rows: 6 });
    }
}
