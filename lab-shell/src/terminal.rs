//! A terminal screen: bytes in through the vt100 emulator, cells out into
//! a ratatui buffer, with a bounded scrollback the student pages through.
//!
//! tui-term 0.3 draws vt100 0.16 screens only, and its cell trait cannot
//! be implemented for the vt100 0.18 cells this crate uses (which fix
//! panics on odd sizes), so the screen is drawn here, cell by cell.

use std::num::NonZeroU16;

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};

/// Lines a pane keeps above the visible screen.
pub const DEFAULT_SCROLLBACK: usize = 10_000;

/// A vt100 terminal with a scrollback view.
pub struct TerminalView {
    parser: vt100::Parser,
}

fn non_zero(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}

impl TerminalView {
    /// A blank terminal; a zero size counts as one.
    pub fn new(rows: u16, cols: u16, scrollback: usize) -> Self {
        TerminalView {
            parser: vt100::Parser::new(non_zero(rows), non_zero(cols), scrollback),
        }
    }

    /// Feeds bytes exactly as they are (the caller translates newlines
    /// when the source expects a terminal to do it).
    pub fn process(&mut self, bytes: &[u8]) {
        self.parser.process(bytes);
    }

    /// Feeds output of a program that writes bare `\n`, turning each into
    /// `\r\n` as a terminal line discipline does.
    pub fn process_text(&mut self, bytes: &[u8]) {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                self.parser.process(&bytes[start..i]);
                self.parser.process(b"\r\n");
                start = i + 1;
            }
        }
        self.parser.process(&bytes[start..]);
    }

    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// (rows, cols).
    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (rows.get(), cols.get())
    }

    pub fn resize(&mut self, rows: u16, cols: u16) {
        if self.size() != (rows.max(1), cols.max(1)) {
            self.parser.set_size(non_zero(rows), non_zero(cols));
        }
    }

    /// Moves the view `rows` further back into scrollback.
    pub fn scroll_up(&mut self, rows: usize) {
        let offset = self.parser.screen().scrollback().saturating_add(rows);
        self.parser.screen_mut().set_scrollback(offset);
    }

    pub fn scroll_down(&mut self, rows: usize) {
        let offset = self.parser.screen().scrollback().saturating_sub(rows);
        self.parser.screen_mut().set_scrollback(offset);
    }

    pub fn scroll_to_bottom(&mut self) {
        self.parser.screen_mut().set_scrollback(0);
    }

    /// Rows the view is scrolled back; 0 shows the live screen.
    pub fn scrolled_back(&self) -> usize {
        self.parser.screen().scrollback()
    }

    pub fn scrollback_len(&self) -> usize {
        self.parser.screen().scrollback_len()
    }

    /// Where the cursor is on the screen drawn into `area`, when it is
    /// visible (not hidden by the program, not scrolled away).
    pub fn cursor_position(&self, area: Rect) -> Option<Position> {
        let screen = self.parser.screen();
        if screen.hide_cursor() || screen.scrollback() > 0 {
            return None;
        }
        let (row, col) = screen.cursor_position();
        let inside = row < area.height && col < area.width;
        inside.then(|| Position::new(area.x + col, area.y + row))
    }

    /// Draws the visible screen into `area`; with `show_cursor`, the
    /// cursor cell is drawn reversed.
    pub fn render(&self, area: Rect, buf: &mut Buffer, show_cursor: bool) {
        let area = area.intersection(buf.area);
        let screen = self.parser.screen();
        for row in 0..area.height {
            for col in 0..area.width {
                let target = &mut buf[(area.x + col, area.y + row)];
                match screen.cell(row, col) {
                    Some(cell) => draw_cell(cell, target),
                    None => {
                        target.reset();
                    }
                }
            }
        }
        if show_cursor && let Some(position) = self.cursor_position(area) {
            let cell = &mut buf[position];
            cell.set_style(cell.style().add_modifier(Modifier::REVERSED));
        }
    }
}

fn draw_cell(cell: &vt100::Cell, target: &mut ratatui::buffer::Cell) {
    if cell.is_wide_continuation() {
        // ratatui skips the cell after a wide symbol by itself.
        target.reset();
        return;
    }
    if cell.has_contents() {
        target.set_symbol(cell.contents());
    } else {
        target.set_symbol(" ");
    }
    target.set_style(cell_style(cell));
}

fn cell_style(cell: &vt100::Cell) -> Style {
    let mut modifier = Modifier::empty();
    for (on, flag) in [
        (cell.bold(), Modifier::BOLD),
        (cell.dim(), Modifier::DIM),
        (cell.italic(), Modifier::ITALIC),
        (cell.underline(), Modifier::UNDERLINED),
        (cell.inverse(), Modifier::REVERSED),
    ] {
        if on {
            modifier |= flag;
        }
    }
    Style::reset()
        .fg(colour(cell.fgcolor()))
        .bg(colour(cell.bgcolor()))
        .add_modifier(modifier)
}

fn colour(colour: vt100::Color) -> Color {
    match colour {
        vt100::Color::Default => Color::Reset,
        vt100::Color::Idx(i) => Color::Indexed(i),
        vt100::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolls_within_the_kept_lines() {
        let mut view = TerminalView::new(3, 10, 5);
        for i in 0..20 {
            view.process_text(format!("line {i}\n").as_bytes());
        }
        assert_eq!(view.scrollback_len(), 5);
        view.scroll_up(100);
        assert_eq!(view.scrolled_back(), 5);
        assert_eq!(view.screen().cell(0, 5).unwrap().contents(), "1");
        view.scroll_down(2);
        assert_eq!(view.scrolled_back(), 3);
        view.scroll_to_bottom();
        assert_eq!(view.scrolled_back(), 0);
    }

    #[test]
    fn zero_sizes_do_not_panic() {
        let mut view = TerminalView::new(0, 0, 0);
        view.process_text(b"hello\nworld");
        view.resize(0, 0);
        let mut buf = Buffer::empty(Rect::new(0, 0, 0, 0));
        view.render(Rect::new(0, 0, 5, 5), &mut buf, true);
    }
}
