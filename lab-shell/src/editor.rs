//! The line editor: what each key does to the line being typed, in the
//! manner of bash's readline with Emacs keys. It draws nothing; the pane
//! asks it for the text, the cursor and the search prompt.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::history::History;

/// What the pane should do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditorAction {
    /// The line or cursor changed: redraw it.
    Edited,
    /// Enter: run this line.
    Submit(String),
    /// Tab: complete the word under the cursor.
    Complete,
    /// Ctrl-C: abandon the line.
    Abandon,
    /// Ctrl-L: clear the screen and redraw the line.
    ClearScreen,
    /// Ctrl-D on an empty line: leave the terminal pane.
    Leave,
    /// The key means nothing here.
    Ignored,
}

/// A reverse history search in progress (Ctrl-R).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Search {
    query: String,
    /// The history index shown, if the query matches anything.
    found: Option<usize>,
    /// The line as it was before the search, for Ctrl-G.
    original: Vec<char>,
}

/// The line being typed and the cursor in it.
#[derive(Debug, Clone, Default)]
pub struct LineEditor {
    text: Vec<char>,
    /// Char index, `0..=text.len()`.
    cursor: usize,
    killed: String,
    /// Where Up/Down is in history; `None` when on the new line.
    browsing: Option<usize>,
    /// The new line, kept while browsing history.
    draft: Vec<char>,
    search: Option<Search>,
}

impl LineEditor {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn text(&self) -> String {
        self.text.iter().collect()
    }

    /// The cursor as a char index into [`LineEditor::text`].
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// While searching, the prompt readline shows in place of the shell's
    /// (`(reverse-i-search)`query': `).
    pub fn search_prompt(&self) -> Option<String> {
        let search = self.search.as_ref()?;
        let state = if search.found.is_some() || search.query.is_empty() {
            ""
        } else {
            "failing "
        };
        Some(format!("({state}reverse-i-search)`{}': ", search.query))
    }

    /// Empties the line (after it ran or was abandoned).
    pub fn reset(&mut self) {
        let killed = std::mem::take(&mut self.killed);
        *self = LineEditor {
            killed,
            ..LineEditor::default()
        };
    }

    /// Replaces the chars `start..cursor` with `replacement`, as a
    /// completion does.
    pub fn replace_before_cursor(&mut self, start: usize, replacement: &str) {
        let start = start.min(self.cursor);
        self.text.splice(start..self.cursor, replacement.chars());
        self.cursor = start + replacement.chars().count();
    }

    /// Applies one key.
    pub fn handle_key(&mut self, key: KeyEvent, history: &History) -> EditorAction {
        if self.search.is_some()
            && let Some(action) = self.search_key(key, history)
        {
            return action;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match (key.code, ctrl, alt) {
            (KeyCode::Char(c), true, _) => self.control_key(c, history),
            (KeyCode::Char(c), false, true) => self.meta_key(c),
            (KeyCode::Char(c), false, false) => self.insert(c),
            (KeyCode::Enter, ..) => self.submit(),
            (KeyCode::Tab, ..) => EditorAction::Complete,
            (KeyCode::Backspace, ..) => self.delete_before(),
            (KeyCode::Delete, ..) => self.delete_at(),
            (KeyCode::Left, true, _) | (KeyCode::Left, _, true) => self.word_left(),
            (KeyCode::Right, true, _) | (KeyCode::Right, _, true) => self.word_right(),
            (KeyCode::Left, ..) => self.move_to(self.cursor.saturating_sub(1)),
            (KeyCode::Right, ..) => self.move_to(self.cursor + 1),
            (KeyCode::Home, ..) => self.move_to(0),
            (KeyCode::End, ..) => self.move_to(self.text.len()),
            (KeyCode::Up, ..) => self.history_back(history),
            (KeyCode::Down, ..) => self.history_forward(history),
            _ => EditorAction::Ignored,
        }
    }

    fn control_key(&mut self, c: char, history: &History) -> EditorAction {
        match c.to_ascii_lowercase() {
            'a' => self.move_to(0),
            'e' => self.move_to(self.text.len()),
            'b' => self.move_to(self.cursor.saturating_sub(1)),
            'f' => self.move_to(self.cursor + 1),
            'h' => self.delete_before(),
            'd' if self.text.is_empty() => EditorAction::Leave,
            'd' => self.delete_at(),
            'u' => self.kill(0, self.cursor),
            'k' => self.kill(self.cursor, self.text.len()),
            'w' => self.kill(self.word_start_before(), self.cursor),
            'y' => self.yank(),
            'p' => self.history_back(history),
            'n' => self.history_forward(history),
            'r' => self.start_search(history),
            'c' => EditorAction::Abandon,
            'l' => EditorAction::ClearScreen,
            'j' | 'm' => self.submit(),
            'i' => EditorAction::Complete,
            _ => EditorAction::Ignored,
        }
    }

    fn meta_key(&mut self, c: char) -> EditorAction {
        match c {
            'b' => self.word_left(),
            'f' => self.word_right(),
            'd' => self.kill(self.cursor, self.word_end_after()),
            _ => EditorAction::Ignored,
        }
    }

    fn insert(&mut self, c: char) -> EditorAction {
        if c.is_control() {
            return EditorAction::Ignored;
        }
        self.text.insert(self.cursor, c);
        self.cursor += 1;
        EditorAction::Edited
    }

    fn submit(&mut self) -> EditorAction {
        let line = self.text();
        self.cursor = self.text.len();
        EditorAction::Submit(line)
    }

    fn move_to(&mut self, position: usize) -> EditorAction {
        self.cursor = position.min(self.text.len());
        EditorAction::Edited
    }

    fn delete_before(&mut self) -> EditorAction {
        if self.cursor == 0 {
            return EditorAction::Ignored;
        }
        self.cursor -= 1;
        self.text.remove(self.cursor);
        EditorAction::Edited
    }

    fn delete_at(&mut self) -> EditorAction {
        if self.cursor >= self.text.len() {
            return EditorAction::Ignored;
        }
        self.text.remove(self.cursor);
        EditorAction::Edited
    }

    fn kill(&mut self, start: usize, end: usize) -> EditorAction {
        if start >= end {
            return EditorAction::Ignored;
        }
        self.killed = self.text.drain(start..end).collect();
        self.cursor = start;
        EditorAction::Edited
    }

    fn yank(&mut self) -> EditorAction {
        let killed = self.killed.clone();
        self.replace_before_cursor(self.cursor, &killed);
        EditorAction::Edited
    }

    /// Start of the blank-delimited word before the cursor (Ctrl-W).
    fn word_start_before(&self) -> usize {
        let mut i = self.cursor;
        while i > 0 && self.text[i - 1].is_whitespace() {
            i -= 1;
        }
        while i > 0 && !self.text[i - 1].is_whitespace() {
            i -= 1;
        }
        i
    }

    fn word_end_after(&self) -> usize {
        let mut i = self.cursor;
        while i < self.text.len() && !self.text[i].is_alphanumeric() {
            i += 1;
        }
        while i < self.text.len() && self.text[i].is_alphanumeric() {
            i += 1;
        }
        i
    }

    fn word_left(&mut self) -> EditorAction {
        let mut i = self.cursor;
        while i > 0 && !self.text[i - 1].is_alphanumeric() {
            i -= 1;
        }
        while i > 0 && self.text[i - 1].is_alphanumeric() {
            i -= 1;
        }
        self.move_to(i)
    }

    fn word_right(&mut self) -> EditorAction {
        let end = self.word_end_after();
        self.move_to(end)
    }

    fn history_back(&mut self, history: &History) -> EditorAction {
        let index = match self.browsing {
            None if history.is_empty() => return EditorAction::Ignored,
            None => {
                self.draft = self.text.clone();
                history.len() - 1
            }
            Some(0) => return EditorAction::Ignored,
            Some(i) => i - 1,
        };
        self.show_history(index, history)
    }

    fn history_forward(&mut self, history: &History) -> EditorAction {
        match self.browsing {
            None => EditorAction::Ignored,
            Some(i) if i + 1 < history.len() => self.show_history(i + 1, history),
            Some(_) => {
                self.browsing = None;
                self.text = std::mem::take(&mut self.draft);
                self.cursor = self.text.len();
                EditorAction::Edited
            }
        }
    }

    fn show_history(&mut self, index: usize, history: &History) -> EditorAction {
        let Some(line) = history.get(index) else {
            return EditorAction::Ignored;
        };
        self.browsing = Some(index);
        self.text = line.chars().collect();
        self.cursor = self.text.len();
        EditorAction::Edited
    }

    fn start_search(&mut self, history: &History) -> EditorAction {
        let original = self.text.clone();
        self.search = Some(Search {
            query: String::new(),
            found: None,
            original,
        });
        self.show_search(history);
        EditorAction::Edited
    }

    /// A key during Ctrl-R search; `None` hands the key on to normal
    /// editing after accepting the match, as readline does.
    fn search_key(&mut self, key: KeyEvent, history: &History) -> Option<EditorAction> {
        let search = self.search.as_mut()?;
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match (key.code, ctrl) {
            (KeyCode::Char('r' | 'R'), true) => {
                let before = search.found.unwrap_or(history.len());
                if let Some(found) = history.search_back(&search.query, before) {
                    search.found = Some(found);
                }
            }
            (KeyCode::Char('c' | 'g' | 'C' | 'G'), true) => {
                self.text = search.original.clone();
                self.cursor = self.text.len();
                self.search = None;
                return Some(EditorAction::Edited);
            }
            (KeyCode::Char(c), false) if !c.is_control() => {
                search.query.push(c);
                let before = search.found.map_or(history.len(), |i| i + 1);
                search.found = history.search_back(&search.query, before);
            }
            (KeyCode::Backspace, _) => {
                search.query.pop();
                search.found = history.search_back(&search.query, history.len());
            }
            (KeyCode::Enter, _) => {
                self.search = None;
                return Some(self.submit());
            }
            (KeyCode::Esc, _) => {
                self.search = None;
                return Some(EditorAction::Edited);
            }
            _ => {
                self.search = None;
                return None;
            }
        }
        self.show_search(history);
        Some(EditorAction::Edited)
    }

    fn show_search(&mut self, history: &History) {
        let Some(search) = &self.search else {
            return;
        };
        let shown = search.found.and_then(|i| history.get(i));
        self.text = shown.unwrap_or_default().chars().collect();
        let at = shown
            .zip(Some(&search.query))
            .and_then(|(line, q)| line.find(q.as_str()));
        self.cursor = at.map_or(self.text.len(), |byte| {
            shown.unwrap_or_default()[..byte].chars().count()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn type_text(editor: &mut LineEditor, text: &str, history: &History) {
        for c in text.chars() {
            editor.handle_key(key(KeyCode::Char(c)), history);
        }
    }

    #[test]
    fn cursor_movement_and_insertion() {
        let history = History::new(10);
        let mut editor = LineEditor::new();
        type_text(&mut editor, "echo world", &history);
        editor.handle_key(ctrl('a'), &history);
        for _ in 0..5 {
            editor.handle_key(key(KeyCode::Right), &history);
        }
        type_text(&mut editor, "hello ", &history);
        assert_eq!(editor.text(), "echo hello world");
        editor.handle_key(key(KeyCode::End), &history);
        editor.handle_key(key(KeyCode::Backspace), &history);
        editor.handle_key(key(KeyCode::Home), &history);
        editor.handle_key(key(KeyCode::Delete), &history);
        assert_eq!(editor.text(), "cho hello worl");
        assert_eq!(editor.cursor(), 0);
    }

    #[test]
    fn kill_and_yank() {
        let history = History::new(10);
        let mut editor = LineEditor::new();
        type_text(&mut editor, "docker run  nginx", &history);
        editor.handle_key(ctrl('w'), &history);
        assert_eq!(editor.text(), "docker run  ");
        editor.handle_key(ctrl('w'), &history);
        assert_eq!(editor.text(), "docker ");
        editor.handle_key(ctrl('y'), &history);
        assert_eq!(editor.text(), "docker run  ");
        editor.handle_key(ctrl('a'), &history);
        editor.handle_key(ctrl('k'), &history);
        assert_eq!(editor.text(), "");
        type_text(&mut editor, "ab", &history);
        editor.handle_key(key(KeyCode::Left), &history);
        editor.handle_key(ctrl('u'), &history);
        assert_eq!((editor.text().as_str(), editor.cursor()), ("b", 0));
    }

    #[test]
    fn history_up_down_keeps_the_draft() {
        let mut history = History::new(10);
        history.push("first");
        history.push("second");
        let mut editor = LineEditor::new();
        type_text(&mut editor, "dra", &history);
        editor.handle_key(key(KeyCode::Up), &history);
        assert_eq!(editor.text(), "second");
        editor.handle_key(key(KeyCode::Up), &history);
        editor.handle_key(key(KeyCode::Up), &history);
        assert_eq!(editor.text(), "first");
        editor.handle_key(key(KeyCode::Down), &history);
        editor.handle_key(key(KeyCode::Down), &history);
        assert_eq!(editor.text(), "dra");
    }

    #[test]
    fn reverse_search() {
        let mut history = History::new(10);
        for line in ["docker ps", "ls", "docker run web", "pwd"] {
            history.push(line);
        }
        let mut editor = LineEditor::new();
        editor.handle_key(ctrl('r'), &history);
        type_text(&mut editor, "dock", &history);
        assert_eq!(editor.text(), "docker run web");
        assert_eq!(
            editor.search_prompt().unwrap(),
            "(reverse-i-search)`dock': "
        );
        editor.handle_key(ctrl('r'), &history);
        assert_eq!(editor.text(), "docker ps");
        type_text(&mut editor, "zz", &history);
        assert!(editor.search_prompt().unwrap().starts_with("(failing"));
        editor.handle_key(ctrl('g'), &history);
        assert_eq!(editor.text(), "");
        editor.handle_key(ctrl('r'), &history);
        type_text(&mut editor, "pw", &history);
        assert_eq!(
            editor.handle_key(key(KeyCode::Enter), &history),
            EditorAction::Submit("pwd".into())
        );
    }

    #[test]
    fn search_hands_other_keys_on_after_accepting() {
        let mut history = History::new(10);
        history.push("kubectl get pods");
        let mut editor = LineEditor::new();
        editor.handle_key(ctrl('r'), &history);
        type_text(&mut editor, "get", &history);
        editor.handle_key(ctrl('e'), &history);
        assert!(editor.search_prompt().is_none());
        assert_eq!(
            (editor.text().as_str(), editor.cursor()),
            ("kubectl get pods", 16)
        );
    }

    #[test]
    fn control_keys_map_to_actions() {
        let history = History::new(10);
        let mut editor = LineEditor::new();
        assert_eq!(editor.handle_key(ctrl('d'), &history), EditorAction::Leave);
        assert_eq!(
            editor.handle_key(ctrl('l'), &history),
            EditorAction::ClearScreen
        );
        assert_eq!(
            editor.handle_key(key(KeyCode::Tab), &history),
            EditorAction::Complete
        );
        type_text(&mut editor, "x", &history);
        assert_eq!(
            editor.handle_key(ctrl('c'), &history),
            EditorAction::Abandon
        );
        assert_eq!(
            editor.handle_key(ctrl('d'), &history),
            EditorAction::Ignored
        );
        assert_eq!(
            editor.handle_key(key(KeyCode::Enter), &history),
            EditorAction::Submit("x".into())
        );
    }

    #[test]
    fn completion_replaces_the_word() {
        let history = History::new(10);
        let mut editor = LineEditor::new();
        type_text(&mut editor, "kubectl ge", &history);
        editor.replace_before_cursor(8, "get ");
        assert_eq!(
            (editor.text().as_str(), editor.cursor()),
            ("kubectl get ", 12)
        );
    }
}
