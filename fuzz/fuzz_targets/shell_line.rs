//! Fuzzes the lab shell's parser, line editor and text filters: no input
//! may panic them.

#![no_main]

use lab_shell::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use lab_shell::editor::LineEditor;
use lab_shell::history::History;
use libfuzzer_sys::fuzz_target;

/// Two bytes to a key: the first picks the key, the second its modifiers.
fn key(pick: u8, modifiers: u8) -> KeyEvent {
    let code = match pick % 16 {
        0 => KeyCode::Enter,
        1 => KeyCode::Tab,
        2 => KeyCode::Backspace,
        3 => KeyCode::Delete,
        4 => KeyCode::Left,
        5 => KeyCode::Right,
        6 => KeyCode::Up,
        7 => KeyCode::Down,
        8 => KeyCode::Home,
        9 => KeyCode::End,
        10 => KeyCode::Esc,
        _ => KeyCode::Char(char::from(pick / 2 + 32)),
    };
    KeyEvent::new(code, KeyModifiers::from_bits_truncate(modifiers & 0b111))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = lab_shell::parse::parse_line(&text);

    let args: Vec<String> = text.split(' ').map(str::to_owned).collect();
    for (name, _) in lab_shell::filters::FILTERS {
        let _ = lab_shell::filters::run_filter(name, &args, data);
    }

    let mut history = History::new(8);
    history.push(&text);
    history.push("docker ps");
    let mut editor = LineEditor::new();
    for pair in data.chunks(2) {
        let event = key(pair[0], pair.get(1).copied().unwrap_or(0));
        if let lab_shell::editor::EditorAction::Submit(line) = editor.handle_key(event, &history) {
            let _ = lab_shell::parse::parse_line(&line);
            history.push(&line);
            editor.reset();
        }
    }
});
