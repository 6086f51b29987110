//! Decoding a client's raw input bytes into crossterm events.
//!
//! termwiz's `InputParser` does the decoding (keys, escape sequences, SGR
//! mouse reports, bracketed paste). [`InputDecoder`] guards it against what
//! a hostile or broken client can send: invalid UTF-8 is dropped before it
//! reaches the parser (which would otherwise wait forever for the rest of a
//! character), and input that produces no event for [`MAX_PENDING_BYTES`]
//! (an endless paste) resets the parser, bounding memory per session.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use termwiz::input::{
    InputEvent, InputParser, KeyCode as TwKey, KeyEvent as TwKeyEvent, Modifiers, MouseButtons,
    MouseEvent as TwMouseEvent,
};

/// Bytes fed without any decoded event before the parser is reset.
pub const MAX_PENDING_BYTES: usize = 1 << 20;

/// Stateful decoder for one session's input stream.
pub struct InputDecoder {
    parser: InputParser,
    utf8: Utf8Filter,
    pending_bytes: usize,
    buttons_down: MouseButtons,
}

impl Default for InputDecoder {
    fn default() -> Self {
        InputDecoder {
            parser: InputParser::new(),
            utf8: Utf8Filter::default(),
            pending_bytes: 0,
            buttons_down: MouseButtons::NONE,
        }
    }
}

impl InputDecoder {
    /// Decodes `bytes`; a sequence cut at the end is kept for the next call.
    /// A lone Escape stays pending until [`flush`](Self::flush).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let text = self.utf8.filter(bytes);
        self.pending_bytes = self.pending_bytes.saturating_add(text.len());
        let events = self.parse(&text, true);
        if self.pending_bytes > MAX_PENDING_BYTES {
            tracing::warn!(
                bytes = self.pending_bytes,
                "input produced no event; parser reset"
            );
            self.parser = InputParser::new();
            self.pending_bytes = 0;
        }
        events
    }

    /// True when bytes are buffered that may still complete a sequence.
    pub fn has_pending(&self) -> bool {
        self.pending_bytes > 0
    }

    /// Decodes whatever is buffered as if no more input will follow; call it
    /// shortly after input stops so a lone Escape key gets through.
    pub fn flush(&mut self) -> Vec<Event> {
        let events = self.parse(&[], false);
        self.pending_bytes = 0;
        events
    }

    fn parse(&mut self, bytes: &[u8], maybe_more: bool) -> Vec<Event> {
        let mut decoded = Vec::new();
        self.parser
            .parse(bytes, |event| decoded.push(event), maybe_more);
        if !decoded.is_empty() {
            self.pending_bytes = 0;
        }
        decoded
            .into_iter()
            .filter_map(|event| self.convert(event))
            .collect()
    }

    fn convert(&mut self, event: InputEvent) -> Option<Event> {
        match event {
            InputEvent::Key(key) => convert_key(key).map(Event::Key),
            InputEvent::Mouse(mouse) => self.convert_mouse(mouse).map(Event::Mouse),
            InputEvent::Paste(text) => Some(Event::Paste(text)),
            InputEvent::PixelMouse(_) | InputEvent::Resized { .. } | InputEvent::Wake => None,
        }
    }

    /// termwiz reports which buttons are down; crossterm wants press,
    /// release and drag events, so the previous state is kept here.
    fn convert_mouse(&mut self, mouse: TwMouseEvent) -> Option<MouseEvent> {
        let kind = mouse_kind(self.buttons_down.clone(), mouse.mouse_buttons.clone());
        if !mouse
            .mouse_buttons
            .intersects(MouseButtons::VERT_WHEEL | MouseButtons::HORZ_WHEEL)
        {
            self.buttons_down = mouse.mouse_buttons;
        }
        Some(MouseEvent {
            kind: kind?,
            // termwiz reports 1-based cells, crossterm 0-based.
            column: mouse.x.saturating_sub(1),
            row: mouse.y.saturating_sub(1),
            modifiers: convert_modifiers(mouse.modifiers),
        })
    }
}

fn mouse_kind(before: MouseButtons, now: MouseButtons) -> Option<MouseEventKind> {
    const PRESSABLE: [(MouseButtons, MouseButton); 3] = [
        (MouseButtons::LEFT, MouseButton::Left),
        (MouseButtons::RIGHT, MouseButton::Right),
        (MouseButtons::MIDDLE, MouseButton::Middle),
    ];
    let positive = now.contains(MouseButtons::WHEEL_POSITIVE);
    if now.contains(MouseButtons::VERT_WHEEL) {
        return Some(if positive {
            MouseEventKind::ScrollUp
        } else {
            MouseEventKind::ScrollDown
        });
    }
    if now.contains(MouseButtons::HORZ_WHEEL) {
        return Some(if positive {
            MouseEventKind::ScrollLeft
        } else {
            MouseEventKind::ScrollRight
        });
    }
    for (flag, button) in PRESSABLE {
        match (before.contains(flag.clone()), now.contains(flag)) {
            (false, true) => return Some(MouseEventKind::Down(button)),
            (true, true) => return Some(MouseEventKind::Drag(button)),
            (true, false) => return Some(MouseEventKind::Up(button)),
            (false, false) => {}
        }
    }
    Some(MouseEventKind::Moved)
}

fn convert_key(key: TwKeyEvent) -> Option<KeyEvent> {
    let mut modifiers = convert_modifiers(key.modifiers);
    let code = match key.key {
        // Terminals send control characters for Ctrl+letter; crossterm
        // reports those as the letter with the CONTROL modifier.
        TwKey::Char(c) => match c {
            '\r' | '\n' => KeyCode::Enter,
            '\t' => KeyCode::Tab,
            '\x7f' | '\x08' => KeyCode::Backspace,
            '\x1b' => KeyCode::Esc,
            '\0' => {
                modifiers |= KeyModifiers::CONTROL;
                KeyCode::Char(' ')
            }
            c if ('\x01'..='\x1a').contains(&c) => {
                modifiers |= KeyModifiers::CONTROL;
                KeyCode::Char(char::from(b'a' + (u8::try_from(c).ok()? - 1)))
            }
            c if c.is_control() => return None,
            c => KeyCode::Char(c),
        },
        other => named_key(other)?,
    };
    if code == KeyCode::Tab && modifiers.contains(KeyModifiers::SHIFT) {
        return Some(KeyEvent::new(KeyCode::BackTab, modifiers));
    }
    Some(KeyEvent::new(code, modifiers))
}

fn named_key(key: TwKey) -> Option<KeyCode> {
    Some(match key {
        TwKey::Backspace => KeyCode::Backspace,
        TwKey::Tab => KeyCode::Tab,
        TwKey::Enter => KeyCode::Enter,
        TwKey::Escape => KeyCode::Esc,
        TwKey::PageUp | TwKey::KeyPadPageUp => KeyCode::PageUp,
        TwKey::PageDown | TwKey::KeyPadPageDown => KeyCode::PageDown,
        TwKey::End | TwKey::KeyPadEnd => KeyCode::End,
        TwKey::Home | TwKey::KeyPadHome => KeyCode::Home,
        TwKey::LeftArrow | TwKey::ApplicationLeftArrow => KeyCode::Left,
        TwKey::RightArrow | TwKey::ApplicationRightArrow => KeyCode::Right,
        TwKey::UpArrow | TwKey::ApplicationUpArrow => KeyCode::Up,
        TwKey::DownArrow | TwKey::ApplicationDownArrow => KeyCode::Down,
        TwKey::Insert => KeyCode::Insert,
        TwKey::Delete => KeyCode::Delete,
        TwKey::Function(n) => KeyCode::F(n),
        _ => return None,
    })
}

fn convert_modifiers(modifiers: Modifiers) -> KeyModifiers {
    let mut converted = KeyModifiers::NONE;
    if modifiers.contains(Modifiers::SHIFT) {
        converted |= KeyModifiers::SHIFT;
    }
    if modifiers.contains(Modifiers::ALT) {
        converted |= KeyModifiers::ALT;
    }
    if modifiers.contains(Modifiers::CTRL) {
        converted |= KeyModifiers::CONTROL;
    }
    if modifiers.contains(Modifiers::SUPER) {
        converted |= KeyModifiers::SUPER;
    }
    converted
}

/// Passes valid UTF-8 through, drops invalid bytes, and keeps a character cut
/// at the end of one chunk for the next.
#[derive(Default)]
struct Utf8Filter {
    carry: Vec<u8>,
}

impl Utf8Filter {
    fn filter(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut input = std::mem::take(&mut self.carry);
        input.extend_from_slice(bytes);
        let mut output = Vec::with_capacity(input.len());
        let mut rest = input.as_slice();
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    output.extend_from_slice(valid.as_bytes());
                    return output;
                }
                Err(error) => {
                    let (valid, after) = rest.split_at(error.valid_up_to());
                    output.extend_from_slice(valid);
                    match error.error_len() {
                        Some(invalid) => rest = after.get(invalid..).unwrap_or_default(),
                        None => {
                            self.carry = after.to_vec();
                            return output;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Vec<Event> {
        let mut decoder = InputDecoder::default();
        let mut events = decoder.feed(bytes);
        events.extend(decoder.flush());
        events
    }

    fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
        Event::Key(KeyEvent::new(code, modifiers))
    }

    #[test]
    fn arrows_home_end_and_pages() {
        let events = decode(b"\x1b[A\x1b[B\x1b[C\x1b[D\x1b[H\x1b[F\x1b[5~\x1b[6~");
        let codes = [
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Right,
            KeyCode::Left,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::PageUp,
            KeyCode::PageDown,
        ];
        let expected: Vec<Event> = codes.iter().map(|c| key(*c, KeyModifiers::NONE)).collect();
        assert_eq!(events, expected);
    }

    #[test]
    fn function_keys() {
        let events = decode(b"\x1bOP\x1b[15~\x1b[24~");
        let expected = vec![
            key(KeyCode::F(1), KeyModifiers::NONE),
            key(KeyCode::F(5), KeyModifiers::NONE),
            key(KeyCode::F(12), KeyModifiers::NONE),
        ];
        assert_eq!(events, expected);
    }

    #[test]
    fn alt_letter_and_ctrl_c() {
        let events = decode(b"\x1bx\x03");
        let expected = vec![
            key(KeyCode::Char('x'), KeyModifiers::ALT),
            key(KeyCode::Char('c'), KeyModifiers::CONTROL),
        ];
        assert_eq!(events, expected);
    }

    #[test]
    fn enter_tab_backspace_and_lone_escape_after_flush() {
        let events = decode(b"\r\t\x7f\x1b");
        let expected = vec![
            key(KeyCode::Enter, KeyModifiers::NONE),
            key(KeyCode::Tab, KeyModifiers::NONE),
            key(KeyCode::Backspace, KeyModifiers::NONE),
            key(KeyCode::Esc, KeyModifiers::NONE),
        ];
        assert_eq!(events, expected);
    }

    #[test]
    fn bracketed_paste_split_across_chunks() {
        let mut decoder = InputDecoder::default();
        let mut events = decoder.feed(b"\x1b[200~docker r");
        events.extend(decoder.feed(b"un -d\x1b[201~"));
        assert_eq!(events, vec![Event::Paste("docker run -d".into())]);
    }

    #[test]
    fn sgr_mouse_wheel_and_click() {
        let events = decode(b"\x1b[<64;10;5M\x1b[<65;10;5M\x1b[<0;3;4M\x1b[<0;3;4m");
        let kinds: Vec<MouseEventKind> = events
            .iter()
            .filter_map(|e| match e {
                Event::Mouse(m) => Some(m.kind),
                _ => None,
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                MouseEventKind::ScrollUp,
                MouseEventKind::ScrollDown,
                MouseEventKind::Down(MouseButton::Left),
                MouseEventKind::Up(MouseButton::Left),
            ]
        );
    }

    #[test]
    fn utf8_character_split_across_chunks() {
        let mut decoder = InputDecoder::default();
        let bytes = "é".as_bytes();
        let mut events = decoder.feed(&bytes[..1]);
        events.extend(decoder.feed(&bytes[1..]));
        assert_eq!(events, vec![key(KeyCode::Char('é'), KeyModifiers::NONE)]);
    }

    #[test]
    fn invalid_utf8_is_dropped_and_later_keys_still_decode() {
        let events = decode(b"\xff\xfe\xc3a");
        assert_eq!(events, vec![key(KeyCode::Char('a'), KeyModifiers::NONE)]);
    }

    #[test]
    fn endless_paste_resets_the_parser() {
        let mut decoder = InputDecoder::default();
        decoder.feed(b"\x1b[200~");
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..20 {
            decoder.feed(&chunk);
        }
        let events = [decoder.feed(b"z"), decoder.flush()].concat();
        assert!(events.contains(&key(KeyCode::Char('z'), KeyModifiers::NONE)));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut decoder = InputDecoder::default();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..2000 {
            let len = usize::try_from(state % 64).unwrap_or(0);
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.to_le_bytes()[0]
                })
                .collect();
            decoder.feed(&bytes);
            if round % 7 == 0 {
                decoder.flush();
            }
        }
    }
}
