//! The terminal pane of the TUI: a [`Shell`] behind a line editor, drawn
//! through a vt100 screen with scrollback.
//!
//! # Driving the pane
//!
//! The pane never blocks. The TUI:
//!
//! 1. passes each key to [`ShellPane::handle_key`], which edits the line or
//!    starts the line on a Tokio task and returns at once (it must be
//!    called inside a Tokio runtime);
//! 2. awaits [`ShellPane::next_update`] in its event loop (it is
//!    cancel-safe, so it can sit in a `tokio::select!` next to the key
//!    stream and timers), or calls the non-blocking [`ShellPane::poll`]
//!    once per frame; both move command output onto the screen and bring
//!    the shell back when a line ends;
//! 3. before drawing, calls [`ShellPane::resize`] with the area it will
//!    draw into, then renders `&ShellPane` as a ratatui widget and, if it
//!    uses the terminal's own cursor, places it at
//!    [`ShellPane::cursor_position`].
//!
//! A [`PaneUpdate::Leave`] from either call means the student pressed
//! Ctrl-D on an empty line or ran `exit`: the TUI moves focus away from the
//! terminal; the shell keeps its state for when the student comes back.
//!
//! While a line runs, Ctrl-C cancels it. If the running command attached
//! to a console (it received [`lab_engine_api::Invocation::keys`]), typed
//! keys, Ctrl-C included, go to it as bytes and Ctrl-] detaches. Other
//! keys typed while a command runs are dropped (there is no type-ahead).
//!
//! Unlike bash, a prompt always starts on a fresh line, so output that does
//! not end in a newline is not overwritten by the line editor.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use lab_engine_api::ShellCommand;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Borders, Clear, Widget};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use unicode_width::UnicodeWidthStr;

use crate::complete::Completion;
use crate::editor::{EditorAction, LineEditor};
use crate::keys::key_to_bytes;
use crate::shell::{ConsoleInput, Foreground, Shell, ShellConfig, TerminalOutput};
use crate::terminal::{DEFAULT_SCROLLBACK, TerminalView};

/// Most candidates the completion menu shows at once.
const MENU_ROWS: usize = 8;

/// Output bytes one [`ShellPane::poll`] moves onto the screen at most, so
/// a flood of output cannot hold up a frame for long.
const POLL_BUDGET: usize = 256 * 1024;

/// Depth of the channel carrying keys to an attached command.
const CONSOLE_INPUT_DEPTH: usize = 256;

/// What the TUI should do after a key or an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneUpdate {
    /// Nothing visible changed.
    Nothing,
    /// Draw the pane again.
    Redraw,
    /// The student left the terminal (Ctrl-D on an empty line, `exit`).
    Leave,
}

/// A line running on a task.
struct RunningLine {
    done: oneshot::Receiver<Shell>,
    cancel: CancellationToken,
    input: mpsc::Sender<ConsoleInput>,
    attached: Arc<AtomicBool>,
    interrupted: bool,
}

/// The completion menu under the cursor.
#[derive(Debug, Clone)]
struct CompletionMenu {
    completion: Completion,
    selected: usize,
}

/// The lab shell's terminal pane.
pub struct ShellPane {
    config: ShellConfig,
    view: TerminalView,
    editor: LineEditor,
    /// `None` while a line runs on its task.
    shell: Option<Shell>,
    running: Option<RunningLine>,
    output: TerminalOutput,
    menu: Option<CompletionMenu>,
    prompt: String,
    prompt_width: usize,
    /// Display offset of the screen cursor from the start of the prompt,
    /// as last drawn.
    drawn_cursor: usize,
    /// Display offset of the end of the edit line, as last drawn.
    drawn_end: usize,
    focused: bool,
    /// Engine commands registered while a line was running.
    pending_commands: Vec<Arc<dyn ShellCommand>>,
}

impl ShellPane {
    /// A pane of `rows` x `cols` with a new shell made from `config`.
    pub fn new(config: ShellConfig, rows: u16, cols: u16) -> Self {
        Self::with_scrollback(config, rows, cols, DEFAULT_SCROLLBACK)
    }

    /// Like [`ShellPane::new`], keeping `scrollback` lines above the screen.
    pub fn with_scrollback(
        mut config: ShellConfig,
        rows: u16,
        cols: u16,
        scrollback: usize,
    ) -> Self {
        config.columns = cols.max(1);
        let (shell, output) = Shell::new(config.clone());
        let mut pane = ShellPane {
            config,
            view: TerminalView::new(rows, cols, scrollback),
            editor: LineEditor::new(),
            shell: None,
            running: None,
            output,
            menu: None,
            prompt: String::new(),
            prompt_width: 0,
            drawn_cursor: 0,
            drawn_end: 0,
            focused: true,
            pending_commands: Vec::new(),
        };
        pane.show_prompt(shell);
        pane
    }

    /// The shell, when no line is running (to register commands, read
    /// history).
    pub fn shell_mut(&mut self) -> Option<&mut Shell> {
        self.shell.as_mut()
    }

    /// Plugs in an engine command (e.g. when the docker engine of the
    /// session becomes ready). While a line runs it takes effect at the
    /// next prompt.
    pub fn register(&mut self, command: Arc<dyn ShellCommand>) {
        self.config.registry.register(Arc::clone(&command));
        match &mut self.shell {
            Some(shell) => shell.register(command),
            None => self.pending_commands.push(command),
        }
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The vt100 screen, for tests and for the TUI's own checks.
    pub fn screen(&self) -> &vt100::Screen {
        self.view.screen()
    }

    /// Whether to draw the cursor (the pane has the keyboard).
    pub fn set_focused(&mut self, focused: bool) {
        self.focused = focused;
    }

    /// Handles one key; never waits.
    pub fn handle_key(&mut self, key: KeyEvent) -> PaneUpdate {
        if key.kind == KeyEventKind::Release {
            return PaneUpdate::Nothing;
        }
        if let Some(update) = self.scroll_key(key) {
            return update;
        }
        self.view.scroll_to_bottom();
        if self.running.is_some() {
            return self.running_key(key);
        }
        if self.menu.is_some()
            && let Some(update) = self.menu_key(key)
        {
            return update;
        }
        self.editor_key(key)
    }

    fn scroll_key(&mut self, key: KeyEvent) -> Option<PaneUpdate> {
        let page = usize::from(self.view.size().0.saturating_sub(1).max(1));
        match key.code {
            KeyCode::PageUp => self.view.scroll_up(page),
            KeyCode::PageDown => self.view.scroll_down(page),
            KeyCode::Up if key.modifiers.contains(KeyModifiers::SHIFT) => self.view.scroll_up(1),
            KeyCode::Down if key.modifiers.contains(KeyModifiers::SHIFT) => {
                self.view.scroll_down(1)
            }
            _ => return None,
        }
        Some(PaneUpdate::Redraw)
    }

    fn editor_key(&mut self, key: KeyEvent) -> PaneUpdate {
        let Some(shell) = &self.shell else {
            return PaneUpdate::Nothing;
        };
        match self.editor.handle_key(key, shell.history()) {
            EditorAction::Edited => self.redraw_line(),
            EditorAction::Submit(line) => self.submit(line),
            EditorAction::Complete => self.complete(),
            EditorAction::Abandon => self.abandon_line(),
            EditorAction::ClearScreen => {
                self.view.process(b"\x1b[H\x1b[2J");
                self.drawn_cursor = 0;
                self.drawn_end = 0;
                self.redraw_line()
            }
            EditorAction::Leave => PaneUpdate::Leave,
            EditorAction::Ignored => PaneUpdate::Nothing,
        }
    }

    fn abandon_line(&mut self) -> PaneUpdate {
        self.end_edit_line("^C");
        self.editor.reset();
        self.redraw_line()
    }

    /// Puts the cursor after the edit line, appends `suffix` and starts
    /// a fresh row.
    fn end_edit_line(&mut self, suffix: &str) {
        let cols = usize::from(self.view.size().1);
        let end = self.drawn_end;
        let down = (end / cols).saturating_sub(self.drawn_cursor / cols);
        let mut out = String::new();
        if down > 0 {
            out.push_str(&format!("\x1b[{down}B"));
        }
        out.push('\r');
        if !end.is_multiple_of(cols) {
            out.push_str(&format!("\x1b[{}C", end % cols));
        }
        out.push_str(suffix);
        out.push_str("\r\n");
        self.view.process(out.as_bytes());
        self.drawn_cursor = 0;
        self.drawn_end = 0;
    }

    fn submit(&mut self, line: String) -> PaneUpdate {
        self.menu = None;
        // Shows the line as it runs (with the shell's prompt, not a search).
        self.redraw_line();
        self.end_edit_line("");
        self.editor.reset();
        let Some(shell) = self.shell.take() else {
            return PaneUpdate::Nothing;
        };
        if line.trim().is_empty() {
            self.show_prompt(shell);
            return PaneUpdate::Redraw;
        }
        self.start_line(shell, line);
        PaneUpdate::Redraw
    }

    fn start_line(&mut self, mut shell: Shell, line: String) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!("the shell pane was driven outside a Tokio runtime");
            self.view
                .process_text(b"lab: commands cannot run here (no async runtime)\n");
            self.show_prompt(shell);
            return;
        };
        let (input, input_rx) = mpsc::channel(CONSOLE_INPUT_DEPTH);
        let foreground = Foreground {
            cancel: CancellationToken::new(),
            input: Some(input_rx),
            attached: Arc::new(AtomicBool::new(false)),
        };
        let (done_tx, done) = oneshot::channel();
        self.running = Some(RunningLine {
            done,
            cancel: foreground.cancel.clone(),
            input,
            attached: Arc::clone(&foreground.attached),
            interrupted: false,
        });
        runtime.spawn(async move {
            shell.run_line_in(&line, foreground).await;
            // The pane may have been dropped meanwhile; the shell goes too.
            let _ = done_tx.send(shell);
        });
    }

    fn running_key(&mut self, key: KeyEvent) -> PaneUpdate {
        let Some(running) = &mut self.running else {
            return PaneUpdate::Nothing;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if running.attached.load(Ordering::SeqCst) {
            let input = match key.code {
                KeyCode::Char(']') if ctrl => ConsoleInput::Detach,
                _ => {
                    ConsoleInput::Bytes(key_to_bytes(key, self.view.screen().application_cursor()))
                }
            };
            if running.input.try_send(input).is_err() {
                tracing::debug!("an attached command is not reading keys; one was dropped");
            }
            return PaneUpdate::Nothing;
        }
        if ctrl && matches!(key.code, KeyCode::Char('c' | 'C')) && !running.interrupted {
            running.interrupted = true;
            running.cancel.cancel();
            self.view.process(b"^C");
            return PaneUpdate::Redraw;
        }
        PaneUpdate::Nothing
    }

    /// Moves waiting output onto the screen and finishes a line that
    /// ended; never waits.
    pub fn poll(&mut self) -> PaneUpdate {
        let mut update = PaneUpdate::Nothing;
        let mut budget = POLL_BUDGET;
        while budget > 0 {
            let Ok(bytes) = self.output.try_recv() else {
                break;
            };
            budget = budget.saturating_sub(bytes.len());
            self.view.process_text(&bytes);
            update = PaneUpdate::Redraw;
        }
        if budget == 0 {
            // More may be queued: draw this much first, the rest next time.
            return update;
        }
        let finished = match &mut self.running {
            Some(running) => match running.done.try_recv() {
                Ok(shell) => Some(Ok(shell)),
                Err(oneshot::error::TryRecvError::Empty) => None,
                Err(oneshot::error::TryRecvError::Closed) => Some(Err(())),
            },
            None => None,
        };
        match finished {
            Some(result) => self.finish_line(result),
            None => update,
        }
    }

    /// Waits until output arrives or the running line ends, and applies
    /// it. Cancel-safe. Pending forever when the shell is idle.
    pub async fn next_update(&mut self) -> PaneUpdate {
        let update = self.poll();
        if update != PaneUpdate::Nothing {
            return update;
        }
        let running = &mut self.running;
        let output = &mut self.output;
        tokio::select! {
            Some(bytes) = output.recv() => {
                self.view.process_text(&bytes);
                PaneUpdate::Redraw
            }
            result = line_done(running) => self.finish_line(result.map_err(|_| ())),
        }
    }

    fn finish_line(&mut self, result: Result<Shell, ()>) -> PaneUpdate {
        let interrupted = self.running.take().is_some_and(|r| r.interrupted);
        while let Ok(bytes) = self.output.try_recv() {
            self.view.process_text(&bytes);
        }
        if interrupted {
            self.view.process(b"\r\n");
        }
        let mut shell = match result {
            Ok(shell) => shell,
            Err(()) => self.restart_shell(),
        };
        shell.set_columns(self.view.size().1);
        let leave = shell.exit_requested().is_some();
        shell.clear_exit();
        self.show_prompt(shell);
        if leave {
            PaneUpdate::Leave
        } else {
            PaneUpdate::Redraw
        }
    }

    /// A command panicked and took the shell's task with it: start over
    /// with a fresh shell rather than leave the student without one.
    fn restart_shell(&mut self) -> Shell {
        tracing::error!("a lab shell line ended abnormally; starting a new shell");
        let (shell, output) = Shell::new(self.config.clone());
        self.output = output;
        self.view
            .process_text(b"lab: the command failed unexpectedly; the shell was restarted\n");
        shell
    }

    /// Takes the shell back and draws a new prompt on a fresh line.
    fn show_prompt(&mut self, mut shell: Shell) {
        for command in self.pending_commands.drain(..) {
            shell.register(command);
        }
        if self.view.screen().cursor_position().1 != 0 {
            self.view.process(b"\r\n");
        }
        self.prompt = shell.prompt();
        self.prompt_width = shell.prompt_plain().width();
        self.shell = Some(shell);
        self.drawn_cursor = 0;
        self.drawn_end = 0;
        self.redraw_line();
    }

    /// Redraws the prompt and the edit line in place, like readline: back
    /// to the start of the prompt, erase below, write, place the cursor.
    /// Rows are counted from display widths; a double-width character
    /// that a terminal pushes to the next row early throws the count off
    /// by one until the line is submitted (readline tracks this per row).
    fn redraw_line(&mut self) -> PaneUpdate {
        let cols = usize::from(self.view.size().1);
        let (prompt, prompt_width) = match self.editor.search_prompt() {
            Some(search) => {
                let width = search.width();
                (search, width)
            }
            None => (self.prompt.clone(), self.prompt_width),
        };
        let text = self.editor.text();
        let before_cursor: String = text.chars().take(self.editor.cursor()).collect();
        let end = prompt_width + text.width();
        let cursor = prompt_width + before_cursor.width();

        let mut out = String::new();
        push_up(&mut out, self.drawn_cursor / cols);
        out.push_str("\r\x1b[J");
        out.push_str(&prompt);
        out.push_str(&text);
        if end > 0 && end.is_multiple_of(cols) {
            // Leave the pending-wrap state so rows can be counted exactly.
            out.push_str(" \r\x1b[K");
        }
        push_up(&mut out, (end / cols).saturating_sub(cursor / cols));
        out.push('\r');
        if !cursor.is_multiple_of(cols) {
            out.push_str(&format!("\x1b[{}C", cursor % cols));
        }
        self.view.process(out.as_bytes());
        self.drawn_cursor = cursor;
        self.drawn_end = end;
        PaneUpdate::Redraw
    }

    fn complete(&mut self) -> PaneUpdate {
        let Some(shell) = &self.shell else {
            return PaneUpdate::Nothing;
        };
        let completion = shell.complete(&self.editor.text(), self.editor.cursor());
        let partial_len = self.editor.cursor() - completion.start;
        match completion.candidates.len() {
            0 => PaneUpdate::Nothing,
            1 => {
                let word = &completion.candidates[0];
                let space = if word.ends_with('/') { "" } else { " " };
                let replacement = format!("{}{space}", escape_word(word));
                self.editor
                    .replace_before_cursor(completion.start, &replacement);
                self.redraw_line()
            }
            _ => {
                let prefix = completion.common_prefix();
                if prefix.chars().count() > partial_len {
                    self.editor
                        .replace_before_cursor(completion.start, &escape_word(&prefix));
                    return self.redraw_line();
                }
                self.menu = Some(CompletionMenu {
                    completion,
                    selected: 0,
                });
                PaneUpdate::Redraw
            }
        }
    }

    /// Keys while the completion menu is open; `None` closes the menu and
    /// lets the key edit the line as usual.
    fn menu_key(&mut self, key: KeyEvent) -> Option<PaneUpdate> {
        let menu = self.menu.as_mut()?;
        let count = menu.completion.candidates.len();
        match key.code {
            KeyCode::Tab | KeyCode::Down => menu.selected = (menu.selected + 1) % count,
            KeyCode::BackTab | KeyCode::Up => menu.selected = (menu.selected + count - 1) % count,
            KeyCode::Enter => {
                let word = menu.completion.candidates[menu.selected].clone();
                let start = menu.completion.start;
                self.menu = None;
                let space = if word.ends_with('/') { "" } else { " " };
                self.editor
                    .replace_before_cursor(start, &format!("{}{space}", escape_word(&word)));
                return Some(self.redraw_line());
            }
            KeyCode::Esc => self.menu = None,
            _ => {
                self.menu = None;
                return None;
            }
        }
        Some(PaneUpdate::Redraw)
    }

    /// Writes a message above the prompt, e.g. a notice from the lab that
    /// an engine became ready. While a line runs it goes with its output.
    pub fn print(&mut self, text: &str) {
        if self.running.is_some() {
            self.view.process_text(text.as_bytes());
            return;
        }
        let cols = usize::from(self.view.size().1);
        let mut out = String::new();
        push_up(&mut out, self.drawn_cursor / cols);
        out.push_str("\r\x1b[J");
        self.view.process(out.as_bytes());
        self.view.process_text(text.as_bytes());
        if self.view.screen().cursor_position().1 != 0 {
            self.view.process(b"\r\n");
        }
        self.drawn_cursor = 0;
        self.drawn_end = 0;
        self.redraw_line();
    }

    /// Fits the pane to `rows` x `cols`; cheap when nothing changed.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        if self.view.size() == (rows.max(1), cols.max(1)) {
            return;
        }
        if self.running.is_some() {
            self.view.resize(rows, cols);
            return;
        }
        let old_cols = usize::from(self.view.size().1);
        let mut out = String::new();
        push_up(&mut out, self.drawn_cursor / old_cols);
        out.push_str("\r\x1b[J");
        self.view.process(out.as_bytes());
        self.view.resize(rows, cols);
        self.drawn_cursor = 0;
        self.drawn_end = 0;
        if let Some(shell) = &mut self.shell {
            shell.set_columns(cols);
        }
        self.redraw_line();
    }

    /// Where the terminal cursor belongs inside `area`, if visible.
    pub fn cursor_position(&self, area: Rect) -> Option<Position> {
        self.view.cursor_position(area)
    }

    fn render_menu(&self, menu: &CompletionMenu, area: Rect, buf: &mut Buffer) {
        let Some(cursor) = self.view.cursor_position(area) else {
            return;
        };
        let Some(popup) = menu_area(menu, cursor, area) else {
            return;
        };
        Clear.render(popup, buf);
        let block = Block::default().borders(Borders::ALL);
        let inner = block.inner(popup);
        block.render(popup, buf);
        let visible = usize::from(inner.height);
        let first = menu.selected.saturating_sub(visible.saturating_sub(1));
        let rows = menu
            .completion
            .candidates
            .iter()
            .enumerate()
            .skip(first)
            .take(visible);
        for (row, (index, candidate)) in (inner.y..).zip(rows) {
            let style = if index == menu.selected {
                Style::default().add_modifier(Modifier::REVERSED)
            } else {
                Style::default()
            };
            let line = format!("{candidate:<width$}", width = usize::from(inner.width));
            buf.set_stringn(inner.x, row, line, usize::from(inner.width), style);
        }
    }
}

impl Widget for &ShellPane {
    fn render(self, area: Rect, buf: &mut Buffer) {
        self.view.render(area, buf, self.focused);
        if let Some(menu) = &self.menu {
            self.render_menu(menu, area, buf);
        }
    }
}

/// The menu's box: below the cursor row when it fits, else above.
fn menu_area(menu: &CompletionMenu, cursor: Position, area: Rect) -> Option<Rect> {
    let longest = menu
        .completion
        .candidates
        .iter()
        .map(|c| c.width())
        .max()
        .unwrap_or(0);
    let width = u16::try_from(longest + 2)
        .unwrap_or(u16::MAX)
        .min(area.width);
    let rows = menu.completion.candidates.len().min(MENU_ROWS) + 2;
    let height = u16::try_from(rows).unwrap_or(u16::MAX);
    let below = area.bottom().saturating_sub(cursor.y + 1);
    let above = cursor.y.saturating_sub(area.y);
    let (y, height) = if height <= below || below >= above {
        (cursor.y + 1, height.min(below))
    } else {
        let height = height.min(above);
        (cursor.y - height, height)
    };
    let x = cursor.x.min(area.right().saturating_sub(width));
    (height >= 3 && width >= 3).then(|| Rect::new(x, y, width, height))
}

/// Awaits the end of the running line; pending while none runs.
async fn line_done(running: &mut Option<RunningLine>) -> Result<Shell, oneshot::error::RecvError> {
    match running {
        Some(running) => (&mut running.done).await,
        None => std::future::pending().await,
    }
}

fn push_up(out: &mut String, rows: usize) {
    if rows > 0 {
        out.push_str(&format!("\x1b[{rows}A"));
    }
}

/// Backslash-escapes characters the parser would treat specially, so a
/// completed file name stays one word. A leading `$` of a variable stays.
fn escape_word(word: &str) -> String {
    let (head, rest) = match word.strip_prefix('$') {
        Some(rest) => ("$", rest),
        None => ("", word),
    };
    let mut out = head.to_owned();
    for c in rest.chars() {
        if c.is_whitespace() || "'\"\\$|&;<>()`#*?".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[path = "pane_tests.rs"]
mod tests;
