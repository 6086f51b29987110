//! Property tests: random lines through the whole shell and random keys
//! through the pane never panic. (The cargo-fuzz target `shell_line`
//! covers the parser and editor with coverage guidance; these run in every
//! `cargo test`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use lab_shell::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use lab_shell::{CommandRegistry, Shell, ShellConfig, ShellPane};
use proptest::prelude::*;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

/// A runtime whose clock jumps ahead when idle, so `sleep 3600` in a
/// random line costs nothing.
fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds")
}

/// Lines made of shell-ish pieces, so the parser gets past the first
/// token and the executor sees pipes, quotes and redirections.
fn shellish_line() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("echo".to_owned()),
        Just("grep".to_owned()),
        Just("cut -d: -f".to_owned()),
        Just("awk".to_owned()),
        Just("head -n".to_owned()),
        Just("sort -rn".to_owned()),
        Just("uniq -c".to_owned()),
        Just("wc".to_owned()),
        Just("cd".to_owned()),
        Just("ls -l".to_owned()),
        Just("cat".to_owned()),
        Just("sleep".to_owned()),
        Just("export".to_owned()),
        Just("docker".to_owned()),
        Just("|".to_owned()),
        Just(";".to_owned()),
        Just("&&".to_owned()),
        Just("||".to_owned()),
        Just(">".to_owned()),
        Just(">>".to_owned()),
        Just("2>&1".to_owned()),
        Just("<".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("$".to_owned()),
        Just("${".to_owned()),
        Just("}".to_owned()),
        Just("\\".to_owned()),
        Just("~".to_owned()),
        "[ -~]{0,6}",
        "\\PC{0,3}",
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.join(" "))
}

fn any_key() -> impl Strategy<Value = KeyEvent> {
    let code = prop_oneof![
        any::<char>().prop_map(KeyCode::Char),
        "[a-z$ /|-]".prop_map(|s| KeyCode::Char(s.chars().next().unwrap_or('a'))),
        Just(KeyCode::Tab),
        Just(KeyCode::BackTab),
        Just(KeyCode::Backspace),
        Just(KeyCode::Delete),
        Just(KeyCode::Left),
        Just(KeyCode::Right),
        Just(KeyCode::Up),
        Just(KeyCode::Down),
        Just(KeyCode::Home),
        Just(KeyCode::End),
        Just(KeyCode::PageUp),
        Just(KeyCode::PageDown),
        Just(KeyCode::Esc),
        Just(KeyCode::Enter),
    ];
    let modifiers = (0u8..8).prop_map(KeyModifiers::from_bits_truncate);
    (code, modifiers).prop_map(|(code, modifiers)| KeyEvent::new(code, modifiers))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_line_runs_without_panic(lines in prop::collection::vec(shellish_line(), 1..4)) {
        paused_runtime().block_on(async {
            let (mut shell, mut output) = Shell::new(ShellConfig::new(CommandRegistry::new()));
            for line in &lines {
                let mut sink = Vec::new();
                let mut reader = tokio::io::BufReader::new(line.as_bytes());
                lab_shell::run_script(&mut shell, &mut output, &mut reader, &mut sink, false).await;
            }
        });
    }

    #[test]
    fn any_keys_and_sizes_keep_the_pane_drawable(
        keys in prop::collection::vec(any_key(), 0..60),
        rows in 0u16..12,
        cols in 0u16..50,
    ) {
        paused_runtime().block_on(async {
            let mut pane = ShellPane::new(ShellConfig::new(CommandRegistry::new()), 8, 30);
            pane.resize(rows, cols);
            for key in keys {
                pane.handle_key(key);
                pane.poll();
                tokio::task::yield_now().await;
            }
            let area = Rect::new(0, 0, cols, rows);
            let mut buf = Buffer::empty(area);
            (&pane).render(area, &mut buf);
        });
    }
}
