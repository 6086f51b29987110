//! Lesson Markdown to styled ratatui text.
//!
//! Supports what lessons use: headings, paragraphs, emphasis, inline code,
//! fenced and indented code blocks, nested lists, block quotes, rules,
//! tables (as aligned columns) and links (their text, then the address in
//! brackets, since a terminal cannot follow them). Images show their
//! alternative text. Raw HTML is shown as written.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};

use super::theme::Theme;

/// Renders `markdown` with the styles of `theme`.
pub fn render(markdown: &str, theme: Theme) -> Text<'static> {
    let mut writer = Writer::new(theme);
    for event in Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    ) {
        writer.event(event);
    }
    writer.finish()
}

struct Writer {
    theme: Theme,
    lines: Vec<Line<'static>>,
    spans: Vec<Span<'static>>,
    styles: Vec<Style>,
    /// One entry per open list: the next number, or `None` for bullets.
    lists: Vec<Option<u64>>,
    quote_depth: usize,
    in_code_block: bool,
    link_targets: Vec<String>,
    table: Option<Table>,
    heading_open: bool,
}

#[derive(Default)]
struct Table {
    rows: Vec<Vec<String>>,
    cell: String,
    header_rows: usize,
}

impl Writer {
    fn new(theme: Theme) -> Self {
        Writer {
            theme,
            lines: Vec::new(),
            spans: Vec::new(),
            styles: vec![Style::new()],
            lists: Vec::new(),
            quote_depth: 0,
            in_code_block: false,
            link_targets: Vec::new(),
            table: None,
            heading_open: false,
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(code) => self.code_span(&code),
            Event::Html(html) | Event::InlineHtml(html) => self.text(&html),
            Event::SoftBreak => self.inline(" ".to_owned(), Style::new()),
            Event::HardBreak => self.flush(),
            Event::Rule => {
                self.blank();
                self.lines
                    .push(Line::styled("─".repeat(40), self.theme.muted()));
            }
            Event::TaskListMarker(done) => {
                self.inline(if done { "[x] " } else { "[ ] " }.into(), Style::new())
            }
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { level, .. } => self.start_heading(level),
            Tag::Paragraph => self.blank_unless_in_list(),
            Tag::Emphasis => self.push_style(Style::new().add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(Style::new().add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self.push_style(Style::new().add_modifier(Modifier::CROSSED_OUT)),
            Tag::Link { dest_url, .. } => {
                self.link_targets.push(dest_url.to_string());
                self.push_style(self.theme.link());
            }
            Tag::CodeBlock(kind) => self.start_code_block(&kind),
            Tag::List(first) => self.start_list(first),
            Tag::Item => self.start_item(),
            Tag::BlockQuote(_) => {
                self.blank();
                self.quote_depth += 1;
            }
            Tag::Table(_) => self.table = Some(Table::default()),
            Tag::TableRow | Tag::TableHead => self.start_row(),
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) | TagEnd::Paragraph | TagEnd::Item => self.flush(),
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => self.pop_style(),
            TagEnd::Link => self.end_link(),
            TagEnd::CodeBlock => self.in_code_block = false,
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.quote_depth = self.quote_depth.saturating_sub(1);
            }
            TagEnd::TableCell => self.end_cell(),
            TagEnd::TableHead => self.end_head(),
            TagEnd::Table => self.end_table(),
            _ => {}
        }
    }

    fn start_heading(&mut self, level: HeadingLevel) {
        self.blank();
        let marker = match level {
            HeadingLevel::H1 => "",
            HeadingLevel::H2 => "",
            _ => "» ",
        };
        let style = if level == HeadingLevel::H1 {
            self.theme.heading().add_modifier(Modifier::UNDERLINED)
        } else {
            self.theme.heading()
        };
        self.push_style(style);
        self.inline(marker.to_owned(), Style::new());
        self.heading_open = true;
    }

    fn text(&mut self, text: &str) {
        if let Some(table) = self.table.as_mut() {
            table.cell.push_str(text);
            return;
        }
        if self.in_code_block {
            return self.code_lines(text);
        }
        self.inline(text.to_owned(), Style::new());
    }

    /// Inline code; table cells are plain text, so there it joins the cell.
    fn code_span(&mut self, code: &str) {
        match self.table.as_mut() {
            Some(table) => table.cell.push_str(code),
            None => self.inline(code.to_owned(), self.theme.code()),
        }
    }

    fn code_lines(&mut self, text: &str) {
        for line in text.lines() {
            let span = Span::styled(format!("    {line}"), self.theme.code());
            self.lines.push(Line::from(
                self.prefix_spans()
                    .into_iter()
                    .chain([span])
                    .collect::<Vec<_>>(),
            ));
        }
    }

    fn inline(&mut self, text: String, extra: Style) {
        if self.spans.is_empty() {
            self.spans = self.prefix_spans();
        }
        let style = self.current_style().patch(extra);
        self.spans.push(Span::styled(text, style));
    }

    fn start_code_block(&mut self, _kind: &CodeBlockKind<'_>) {
        self.flush();
        self.blank_unless_in_list();
        self.in_code_block = true;
    }

    fn start_list(&mut self, first: Option<u64>) {
        self.flush();
        if self.lists.is_empty() {
            self.blank();
        }
        self.lists.push(first);
    }

    fn start_item(&mut self) {
        self.flush();
        let depth = self.lists.len().saturating_sub(1);
        let marker = match self.lists.last_mut() {
            Some(Some(number)) => {
                let marker = format!("{number}. ");
                *number += 1;
                marker
            }
            _ => "• ".to_owned(),
        };
        self.spans = self.prefix_spans();
        self.spans
            .push(Span::raw(format!("{}{marker}", "  ".repeat(depth))));
    }

    fn end_link(&mut self) {
        self.pop_style();
        if let Some(target) = self.link_targets.pop().filter(|t| !t.is_empty()) {
            self.inline(format!(" <{target}>"), self.theme.muted());
        }
    }

    fn start_row(&mut self) {
        if let Some(table) = self.table.as_mut() {
            table.rows.push(Vec::new());
        }
    }

    fn end_cell(&mut self) {
        if let Some(table) = self.table.as_mut() {
            let cell = std::mem::take(&mut table.cell).trim().to_owned();
            if let Some(row) = table.rows.last_mut() {
                row.push(cell);
            }
        }
    }

    fn end_head(&mut self) {
        if let Some(table) = self.table.as_mut() {
            table.header_rows = table.rows.len();
        }
    }

    fn end_table(&mut self) {
        let Some(table) = self.table.take() else {
            return;
        };
        self.blank();
        let widths = column_widths(&table.rows);
        for (index, row) in table.rows.iter().enumerate() {
            let style = if index < table.header_rows {
                self.theme.heading()
            } else {
                Style::new()
            };
            self.lines
                .push(Line::styled(table_row(row, &widths), style));
            if index + 1 == table.header_rows {
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                self.lines
                    .push(Line::styled(rule.join("─┼─"), self.theme.muted()));
            }
        }
    }

    fn prefix_spans(&self) -> Vec<Span<'static>> {
        if self.quote_depth == 0 {
            return Vec::new();
        }
        vec![Span::styled(
            "│ ".repeat(self.quote_depth),
            self.theme.muted(),
        )]
    }

    fn push_style(&mut self, style: Style) {
        let combined = self.current_style().patch(style);
        self.styles.push(combined);
    }

    fn pop_style(&mut self) {
        if self.styles.len() > 1 {
            self.styles.pop();
        }
    }

    fn current_style(&self) -> Style {
        self.styles.last().copied().unwrap_or_default()
    }

    fn flush(&mut self) {
        if self.heading_open {
            self.heading_open = false;
            self.pop_style();
        }
        if !self.spans.is_empty() {
            self.lines.push(Line::from(std::mem::take(&mut self.spans)));
        }
    }

    /// One empty line between blocks, none at the very top.
    fn blank(&mut self) {
        self.flush();
        if self.lines.last().is_some_and(|line| line.width() > 0) {
            self.lines.push(Line::default());
        }
    }

    fn blank_unless_in_list(&mut self) {
        if self.lists.is_empty() {
            self.blank();
        }
    }

    fn finish(mut self) -> Text<'static> {
        self.flush();
        Text::from(self.lines)
    }
}

fn column_widths(rows: &[Vec<String>]) -> Vec<usize> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect()
}

fn table_row(row: &[String], widths: &[usize]) -> String {
    let cells: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(c, width)| format!("{:<width$}", row.get(c).map_or("", String::as_str)))
        .collect();
    cells.join(" │ ").trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(markdown: &str) -> Vec<String> {
        render(markdown, Theme::plain())
            .lines
            .iter()
            .map(|l| l.to_string())
            .collect()
    }

    #[test]
    fn headings_lists_code_and_links_become_lines() {
        let lines = plain(
            "# Title\n\nSome *text* with `code` and [a link](https://example.org).\n\n\
             - one\n- two\n  1. nested\n\n```\nrun me\n```\n",
        );
        assert_eq!(lines[0], "Title");
        assert!(
            lines.contains(&"Some text with code and a link <https://example.org>.".to_owned())
        );
        assert!(lines.contains(&"• one".to_owned()));
        assert!(lines.contains(&"  1. nested".to_owned()));
        assert!(lines.contains(&"    run me".to_owned()));
    }

    #[test]
    fn tables_are_aligned_columns() {
        let lines =
            plain("| Kind | Runs on |\n|---|---|\n| Type 1 | hardware |\n| Type 2 | an OS |\n");
        assert_eq!(lines[0], "Kind   │ Runs on");
        assert_eq!(lines[2], "Type 1 │ hardware");
        assert_eq!(lines[3], "Type 2 │ an OS");
    }

    #[test]
    fn inline_code_in_a_table_cell_stays_in_its_cell() {
        let lines = plain("| command | does |\n|---|---|\n| `docker ps` | lists containers |\n");
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[2], "docker ps │ lists containers");
    }

    #[test]
    fn unbalanced_markup_does_not_panic() {
        for text in [
            "**",
            "> > > x",
            "|a|\n|-|\n|b|c|d|",
            "1. \n   ```\n",
            "[x](",
            "<div>",
        ] {
            let _ = render(text, Theme::from_env());
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_renders(text in "(?s)[#*_`>|\\-\\[\\]()!0-9. a-z\n]{0,200}") {
            let _ = render(&text, Theme::plain());
        }
    }
}
