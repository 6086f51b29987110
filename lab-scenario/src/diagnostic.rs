//! Problems found in a scenario, with the place they were found.
//!
//! A [`Diagnostic`] prints as `file:line:column: message (did you mean `x`?)`,
//! the form editors and terminals turn into a clickable location. Problems
//! that have no place inside the file (it cannot be read at all) use line 0
//! and print as `file: message`.

use std::fmt;

/// A 1-based line and column inside a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// The first character of a file.
    pub const START: Position = Position { line: 1, column: 1 };

    /// No place inside the file.
    pub const NONE: Position = Position { line: 0, column: 0 };
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the user named it (or `embedded:<path>` for built-in
    /// scenarios).
    pub file: String,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based, counted in characters.
    pub column: usize,
    pub message: String,
    /// A valid name close to what was written, shown as "did you mean".
    pub suggestion: Option<String>,
}

impl Diagnostic {
    /// A problem at a place in `file`.
    pub fn at(file: impl Into<String>, position: Position, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            line: position.line,
            column: position.column,
            message: message.into(),
            suggestion: None,
        }
    }

    /// A problem with the file as a whole (unreadable, not found).
    pub fn whole_file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::at(file, Position::NONE, message)
    }

    /// Adds a "did you mean" suggestion.
    pub fn with_suggestion(mut self, suggestion: Option<String>) -> Self {
        self.suggestion = suggestion;
        self
    }

    /// Where the problem is.
    pub fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )?;
        }
        if let Some(suggestion) = &self.suggestion {
            write!(f, " (did you mean `{suggestion}`?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Longest name compared for a "did you mean" suggestion.
const MAX_SUGGESTED_LEN: usize = 100;

/// The valid name nearest to `written`, if one is close enough to be a
/// likely typo.
pub fn nearest<'a>(written: &str, valid: impl IntoIterator<Item = &'a str>) -> Option<String> {
    // Similarity is quadratic in length; typos happen in short names.
    if written.len() > MAX_SUGGESTED_LEN {
        return None;
    }
    let written = written.to_lowercase();
    valid
        .into_iter()
        .filter(|name| name.len() <= MAX_SUGGESTED_LEN)
        .map(|name| (strsim::jaro_winkler(&written, &name.to_lowercase()), name))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn display_has_file_line_column_and_suggestion() {
        let d = Diagnostic::at(
            "s.yaml",
            Position { line: 3, column: 5 },
            "unknown field `titel`",
        )
        .with_suggestion(Some("title".into()));
        assert_eq!(
            d.to_string(),
            "s.yaml:3:5: unknown field `titel` (did you mean `title`?)"
        );
    }

    #[test]
    fn whole_file_problem_has_no_position() {
        let d = Diagnostic::whole_file("s.yaml", "cannot read the file");
        assert_eq!(d.to_string(), "s.yaml: cannot read the file");
    }

    #[test]
    fn nearest_finds_typos_and_ignores_unrelated_words() {
        let fields = ["title", "tasks", "description"];
        assert_eq!(nearest("titel", fields), Some("title".into()));
        assert_eq!(nearest("descripton", fields), Some("description".into()));
        assert_eq!(nearest("zzz", fields), None);
    }
}
