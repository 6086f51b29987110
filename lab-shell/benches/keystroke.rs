//! Keystroke-to-screen time of the lab shell pane, in process.
//!
//! A pane of 40 x 120 cells holds 10,000 lines of scrollback. Each sample
//! is one key event through the line editor, the vt100 emulator and a full
//! ratatui draw into a `TestBackend` (buffer diff included). Prints p50,
//! p99 and the worst sample for typing and for paging through scrollback.
//!
//! Run with `cargo bench -p lab-shell --bench keystroke`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use lab_shell::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use lab_shell::{CommandRegistry, ShellConfig, ShellPane};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const ROWS: u16 = 40;
const COLS: u16 = 120;
const SCROLLBACK: usize = 10_000;
const SAMPLES: usize = 5_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();

    let mut pane = filled_pane();
    let mut terminal = Terminal::new(TestBackend::new(COLS, ROWS)).unwrap();
    draw(&mut terminal, &pane);

    let typing = measure(&mut pane, &mut terminal, typing_key);
    report("typing (char / backspace)", &typing);
    let paging = measure(&mut pane, &mut terminal, paging_key);
    report("paging (PageUp / PageDown)", &paging);
}

fn filled_pane() -> ShellPane {
    let config = ShellConfig::new(CommandRegistry::new());
    let mut pane = ShellPane::with_scrollback(config, ROWS, COLS, SCROLLBACK);
    let mut text = String::new();
    for i in 0..SCROLLBACK + usize::from(ROWS) {
        text.push_str(&format!(
            "\x1b[32mline {i:>5}\x1b[0m some output of an earlier command\n"
        ));
    }
    pane.print(&text);
    pane
}

/// Types 60 characters, then deletes them, and again.
fn typing_key(i: usize) -> KeyEvent {
    if i % 120 < 60 {
        let c = char::from(b'a' + u8::try_from(i % 26).unwrap());
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    } else {
        KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)
    }
}

/// Pages 100 screens up into the scrollback, then back down.
fn paging_key(i: usize) -> KeyEvent {
    let code = if i % 200 < 100 {
        KeyCode::PageUp
    } else {
        KeyCode::PageDown
    };
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn measure(
    pane: &mut ShellPane,
    terminal: &mut Terminal<TestBackend>,
    key_for: fn(usize) -> KeyEvent,
) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let key = key_for(i);
        let start = Instant::now();
        pane.handle_key(key);
        draw(terminal, pane);
        samples.push(start.elapsed());
    }
    samples
}

fn draw(terminal: &mut Terminal<TestBackend>, pane: &ShellPane) {
    terminal
        .draw(|frame| frame.render_widget(pane, frame.area()))
        .unwrap();
}

fn report(label: &str, samples: &[Duration]) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at = |percent: usize| sorted[(sorted.len() - 1) * percent / 100];
    println!(
        "{label}: {} keys, {ROWS}x{COLS} pane, {SCROLLBACK} lines of scrollback: p50 {:?}, p99 {:?}, max {:?}",
        sorted.len(),
        at(50),
        at(99),
        sorted[sorted.len() - 1],
    );
}
