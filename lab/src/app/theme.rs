//! Colours, or none at all when `NO_COLOR` is set.

use ratatui::style::{Color, Modifier, Style};

/// The styles the screens use. Without colour every distinction is made with
/// bold, reversed or dim text instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless the `NO_COLOR` environment variable is set and not
    /// empty (see no-color.org).
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Theme { color: !no_color }
    }

    pub fn plain() -> Self {
        Theme { color: false }
    }

    fn colored(self, color: Color, fallback: Modifier) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new().add_modifier(fallback)
        }
    }

    pub fn heading(self) -> Style {
        self.colored(Color::Cyan, Modifier::empty())
            .add_modifier(Modifier::BOLD)
    }

    pub fn good(self) -> Style {
        self.colored(Color::Green, Modifier::BOLD)
    }

    pub fn bad(self) -> Style {
        self.colored(Color::Red, Modifier::BOLD)
    }

    pub fn muted(self) -> Style {
        self.colored(Color::DarkGray, Modifier::DIM)
    }

    pub fn accent(self) -> Style {
        self.colored(Color::Yellow, Modifier::empty())
    }

    pub fn code(self) -> Style {
        self.colored(Color::LightBlue, Modifier::empty())
    }

    pub fn link(self) -> Style {
        self.colored(Color::Blue, Modifier::UNDERLINED)
            .add_modifier(Modifier::UNDERLINED)
    }

    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn border(self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::new().fg(Color::Yellow),
            (true, false) => Style::new().add_modifier(Modifier::BOLD),
            (false, _) => Style::new(),
        }
    }
}
