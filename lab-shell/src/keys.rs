//! Keys as the bytes an xterm sends for them, for programs that read a
//! terminal: an attached VM console or the host shell's PTY.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The bytes for a key; empty when the key has no terminal encoding.
/// `application_cursor` is the DECCKM mode of the program's screen.
pub fn key_to_bytes(key: KeyEvent, application_cursor: bool) -> Vec<u8> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let mut bytes = match key.code {
        KeyCode::Char(c) if ctrl => control_byte(c).map(|b| vec![b]).unwrap_or_default(),
        KeyCode::Char(c) => c.to_string().into_bytes(),
        KeyCode::Enter => vec![b'\r'],
        KeyCode::Tab => vec![b'\t'],
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Backspace => vec![0x7f],
        KeyCode::Esc => vec![0x1b],
        KeyCode::Up => cursor_key(b'A', application_cursor),
        KeyCode::Down => cursor_key(b'B', application_cursor),
        KeyCode::Right => cursor_key(b'C', application_cursor),
        KeyCode::Left => cursor_key(b'D', application_cursor),
        KeyCode::Home => cursor_key(b'H', application_cursor),
        KeyCode::End => cursor_key(b'F', application_cursor),
        KeyCode::Insert => b"\x1b[2~".to_vec(),
        KeyCode::Delete => b"\x1b[3~".to_vec(),
        KeyCode::PageUp => b"\x1b[5~".to_vec(),
        KeyCode::PageDown => b"\x1b[6~".to_vec(),
        KeyCode::F(n) => function_key(n),
        _ => Vec::new(),
    };
    if alt && !bytes.is_empty() {
        bytes.insert(0, 0x1b);
    }
    bytes
}

/// Ctrl plus a character: `a`..`z` and `@[\]^_` map to 0..31, `?` to DEL.
fn control_byte(c: char) -> Option<u8> {
    let upper = u8::try_from(c.to_ascii_uppercase()).ok()?;
    match upper {
        b'@'..=b'_' => Some(upper - b'@'),
        b' ' => Some(0),
        b'?' => Some(0x7f),
        _ => None,
    }
}

fn cursor_key(letter: u8, application: bool) -> Vec<u8> {
    let intro = if application { b'O' } else { b'[' };
    vec![0x1b, intro, letter]
}

fn function_key(n: u8) -> Vec<u8> {
    match n {
        1..=4 => vec![0x1b, b'O', b'P' + (n - 1)],
        5 => b"\x1b[15~".to_vec(),
        6..=10 => format!("\x1b[{}~", n + 11).into_bytes(),
        11 | 12 => format!("\x1b[{}~", n + 12).into_bytes(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_xterm() {
        let key = |code, modifiers| key_to_bytes(KeyEvent::new(code, modifiers), false);
        assert_eq!(key(KeyCode::Char('c'), KeyModifiers::CONTROL), [3]);
        assert_eq!(key(KeyCode::Char(']'), KeyModifiers::CONTROL), [0x1d]);
        assert_eq!(key(KeyCode::Char('é'), KeyModifiers::NONE), "é".as_bytes());
        assert_eq!(key(KeyCode::Char('b'), KeyModifiers::ALT), b"\x1bb");
        assert_eq!(key(KeyCode::Up, KeyModifiers::NONE), b"\x1b[A");
        assert_eq!(key(KeyCode::F(5), KeyModifiers::NONE), b"\x1b[15~");
        assert_eq!(
            key_to_bytes(KeyEvent::new(KeyCode::Up, KeyModifiers::NONE), true),
            b"\x1bOA"
        );
    }
}
