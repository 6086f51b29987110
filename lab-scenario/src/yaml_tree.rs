//! A YAML document as a tree of nodes that remember where they were written.
//!
//! serde stops at the first problem and forgets positions, so validation
//! walks this tree instead. It is built from saphyr-parser's event stream
//! with hard limits: input size, nesting depth and node count are capped, so
//! no input can exhaust the stack or memory. Anchors, aliases and tags are
//! refused: scenarios do not need them, and refusing aliases rules out
//! exponential expansion.

use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span, Tag};

use crate::diagnostic::Position;

/// Largest scenario file accepted, in bytes.
pub const MAX_BYTES: usize = 1024 * 1024;
/// Deepest nesting of sequences and mappings accepted.
pub const MAX_DEPTH: usize = 32;
/// Most nodes accepted in one document.
pub const MAX_NODES: usize = 100_000;

/// One YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub position: Position,
    pub value: Value,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar; `quoted` is true for quoted and block scalars, which are
    /// always strings, while plain scalars may be numbers, booleans or null.
    Scalar {
        text: String,
        quoted: bool,
    },
    Sequence(Vec<Node>),
    /// Entries in the order written.
    Mapping(Vec<(Node, Node)>),
}

impl Node {
    /// True for `~`, `null` and an empty plain scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, quoted: false }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The scalar text, if this node is a scalar.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A short description of the node for "expected X, found Y": its type,
    /// and for scalars its text (shortened).
    pub fn type_name(&self) -> String {
        match &self.value {
            _ if self.is_null() => "nothing (null)".to_owned(),
            Value::Scalar { text, quoted: true } => {
                format!("the quoted string \"{}\"", short(text))
            }
            Value::Scalar { text, .. } => format!("`{}`", short(text)),
            Value::Sequence(_) => "a list".to_owned(),
            Value::Mapping(_) => "a map".to_owned(),
        }
    }
}

/// A problem found while building the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeProblem {
    pub position: Position,
    pub message: String,
}

/// The result of parsing: the root node when the document could be read,
/// and every problem found on the way.
#[derive(Debug, Default)]
pub struct ParsedDocument {
    pub root: Option<Node>,
    pub problems: Vec<TreeProblem>,
}

/// Parses one YAML document of at most [`MAX_BYTES`].
pub fn parse(text: &str) -> ParsedDocument {
    if text.len() > MAX_BYTES {
        let message = format!(
            "file is too large ({} bytes; a scenario may have at most {} bytes)",
            text.len(),
            MAX_BYTES
        );
        return ParsedDocument {
            root: None,
            problems: vec![TreeProblem {
                position: Position::START,
                message,
            }],
        };
    }
    if let Some((position, character)) = first_unprintable(text) {
        let message = format!(
            "the file contains the control character U+{:04X}, which YAML does not allow",
            u32::from(character)
        );
        return ParsedDocument {
            root: None,
            problems: vec![TreeProblem { position, message }],
        };
    }
    let mut builder = TreeBuilder::default();
    builder.run(text);
    builder.finish()
}

/// An open sequence or mapping waiting for its children.
enum Frame {
    Sequence {
        position: Position,
        items: Vec<Node>,
    },
    Mapping {
        position: Position,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        /// Scalar keys so far, to find duplicates without a quadratic scan.
        seen: HashMap<String, Position>,
    },
}

#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Frame>,
    documents: usize,
    nodes: usize,
    root: Option<Node>,
    problems: Vec<TreeProblem>,
}

/// Why event processing stopped early.
struct Abort;

impl TreeBuilder {
    fn run(&mut self, text: &str) {
        for event in Parser::new_from_str(text) {
            let step = match event {
                Ok((event, span)) => self.event(event, span),
                Err(error) => {
                    self.syntax_error(text, position(error.marker()), error.info());
                    Err(Abort)
                }
            };
            if step.is_err() {
                self.root = None;
                return;
            }
        }
    }

    /// Reports a syntax error. A tab in the indentation of a line up to the
    /// error is the usual cause and a confusing message, so it is named
    /// instead.
    fn syntax_error(&mut self, text: &str, at: Position, info: &str) {
        if let Some(tab) = indentation_tab(text, at.line.saturating_add(1)) {
            let message = "YAML syntax error: a tab in the indentation; YAML indents with spaces";
            return self.problem(tab, message);
        }
        let mut message = format!("YAML syntax error: {info}");
        if info.contains("block") {
            message.push_str(" (check the indentation of this line and the one before)");
        }
        self.problem(at, message);
    }

    fn finish(self) -> ParsedDocument {
        ParsedDocument {
            root: self.root,
            problems: self.problems,
        }
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), Abort> {
        let at = position(&span.start);
        match event {
            Event::DocumentStart(_) => self.document_start(at),
            Event::Scalar(text, style, anchor, tag) => {
                self.properties(at, anchor, tag.as_deref());
                let quoted = !matches!(style, ScalarStyle::Plain);
                self.complete(Node {
                    position: at,
                    value: Value::Scalar {
                        text: text.into_owned(),
                        quoted,
                    },
                })
            }
            Event::SequenceStart(anchor, tag) => {
                self.properties(at, anchor, tag.as_deref());
                self.open(Frame::Sequence {
                    position: at,
                    items: Vec::new(),
                })
            }
            Event::MappingStart(anchor, tag) => {
                self.properties(at, anchor, tag.as_deref());
                self.open(Frame::Mapping {
                    position: at,
                    entries: Vec::new(),
                    key: None,
                    seen: HashMap::new(),
                })
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            Event::Alias(_) => {
                self.problem(
                    at,
                    "aliases (`*name`) are not supported in scenarios; write the value out",
                );
                let placeholder = Value::Scalar {
                    text: String::new(),
                    quoted: false,
                };
                self.complete(Node {
                    position: at,
                    value: placeholder,
                })
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => Ok(()),
        }
    }

    fn document_start(&mut self, at: Position) -> Result<(), Abort> {
        self.documents += 1;
        if self.documents > 1 {
            self.problem(
                at,
                "a scenario file holds one YAML document; found a second one",
            );
            return Err(Abort);
        }
        Ok(())
    }

    /// Reports anchors and tags, which scenarios do not use.
    fn properties(&mut self, at: Position, anchor: usize, tag: Option<&Tag>) {
        if anchor != 0 {
            self.problem(at, "anchors (`&name`) are not supported in scenarios");
        }
        if let Some(tag) = tag {
            self.problem(
                at,
                format!("YAML tags (`{tag}`) are not supported in scenarios"),
            );
        }
    }

    fn open(&mut self, frame: Frame) -> Result<(), Abort> {
        let at = match &frame {
            Frame::Sequence { position, .. } | Frame::Mapping { position, .. } => *position,
        };
        if self.stack.len() >= MAX_DEPTH {
            let message = format!("nesting is deeper than {MAX_DEPTH} levels");
            self.problem(at, message);
            return Err(Abort);
        }
        self.count_node(at)?;
        self.stack.push(frame);
        Ok(())
    }

    fn close(&mut self) -> Result<(), Abort> {
        let node = match self.stack.pop() {
            Some(Frame::Sequence { position, items }) => Node {
                position,
                value: Value::Sequence(items),
            },
            Some(Frame::Mapping {
                position, entries, ..
            }) => Node {
                position,
                value: Value::Mapping(entries),
            },
            // The parser never ends a collection it did not start.
            None => return Err(Abort),
        };
        self.attach(node)
    }

    /// A scalar or alias node is complete.
    fn complete(&mut self, node: Node) -> Result<(), Abort> {
        self.count_node(node.position)?;
        self.attach(node)
    }

    fn attach(&mut self, node: Node) -> Result<(), Abort> {
        let duplicate = match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                return Ok(());
            }
            Some(Frame::Sequence { items, .. }) => {
                items.push(node);
                None
            }
            Some(Frame::Mapping {
                entries, key, seen, ..
            }) => match key.take() {
                None => {
                    let found = remember_key(seen, &node);
                    *key = Some(node);
                    found
                }
                Some(k) => {
                    entries.push((k, node));
                    None
                }
            },
        };
        if let Some((at, name, first)) = duplicate {
            let message = format!(
                "duplicate key `{name}` (first written at line {})",
                first.line
            );
            self.problem(at, message);
        }
        Ok(())
    }

    fn count_node(&mut self, at: Position) -> Result<(), Abort> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            self.problem(at, format!("document has more than {MAX_NODES} nodes"));
            return Err(Abort);
        }
        Ok(())
    }

    fn problem(&mut self, position: Position, message: impl Into<String>) {
        self.problems.push(TreeProblem {
            position,
            message: message.into(),
        });
    }
}

/// The first character outside YAML's printable set (tab, line breaks and
/// printable Unicode), with its position.
fn first_unprintable(text: &str) -> Option<(Position, char)> {
    let printable = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}')
            || matches!(u32::from(c), 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
    };
    let (index, character) = text.char_indices().find(|(_, c)| !printable(*c))?;
    let before = &text[..index];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    Some((Position { line, column }, character))
}

/// The first tab in the leading whitespace of lines 1 to `last_line`.
fn indentation_tab(text: &str, last_line: usize) -> Option<Position> {
    text.lines()
        .take(last_line)
        .enumerate()
        .find_map(|(index, line)| {
            let indent: String = line
                .chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect();
            let column = indent.find('\t')?;
            Some(Position {
                line: index + 1,
                column: column + 1,
            })
        })
}

/// At most 40 characters of `text`, on one line.
fn short(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 40 || line.len() < text.len() {
        format!("{}...", line.chars().take(40).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// Records a scalar key of a mapping; for a key seen before, returns where
/// it is now, its text and where it was first written.
fn remember_key(
    seen: &mut HashMap<String, Position>,
    key: &Node,
) -> Option<(Position, String, Position)> {
    let text = key.as_scalar()?;
    match seen.get(text) {
        Some(first) => Some((key.position, short(text), *first)),
        None => {
            seen.insert(text.to_owned(), key.position);
            None
        }
    }
}

fn position(marker: &Marker) -> Position {
    Position {
        line: marker.line(),
        column: marker.col().saturating_add(1),
    }
}

/// Looks up a mapping entry by key.
pub fn get<'a>(entries: &'a [(Node, Node)], key: &str) -> Option<&'a Node> {
    entries
        .iter()
        .find(|(k, _)| k.as_scalar() == Some(key))
        .map(|(_, v)| v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        let parsed = parse(text);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        parsed.root.expect("a root node")
    }

    #[test]
    fn scalars_keep_their_positions() {
        let node = root("id: intro\ntitle: 'Hello'\n");
        let Value::Mapping(entries) = &node.value else {
            panic!("expected a mapping")
        };
        let title = get(entries, "title").expect("title");
        assert_eq!(title.position, Position { line: 2, column: 8 });
        assert_eq!(
            title.value,
            Value::Scalar {
                text: "Hello".into(),
                quoted: true
            }
        );
    }

    #[test]
    fn duplicate_keys_are_reported_at_the_second_key() {
        let parsed = parse("id: a\ntitle: b\nid: c\n");
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].position, Position { line: 3, column: 1 });
        assert!(
            parsed.problems[0]
                .message
                .contains("first written at line 1")
        );
    }

    #[test]
    fn syntax_errors_have_a_position_and_no_root() {
        let parsed = parse("a: [1, 2\nb: 3\n");
        assert!(parsed.root.is_none());
        assert_eq!(parsed.problems.len(), 1);
        assert!(parsed.problems[0].message.starts_with("YAML syntax error"));
    }

    #[test]
    fn deep_nesting_stops_at_the_limit() {
        let text = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let parsed = parse(&text);
        assert!(parsed.root.is_none());
        assert!(
            parsed.problems[0].message.contains("deeper than"),
            "{:?}",
            parsed.problems
        );
    }

    #[test]
    fn very_deep_nesting_is_a_syntax_error_not_a_stack_overflow() {
        let parsed = parse(&"[".repeat(100_000));
        assert!(parsed.root.is_none());
        assert_eq!(parsed.problems.len(), 1);
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let text = "a: b\n".repeat(MAX_BYTES / 4);
        let parsed = parse(&text);
        assert!(parsed.problems[0].message.contains("too large"));
    }

    #[test]
    fn aliases_anchors_and_tags_are_refused() {
        let parsed = parse("a: &x 1\nb: *x\nc: !foo 2\n");
        let messages: Vec<_> = parsed.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
    }

    #[test]
    fn control_characters_are_refused_with_their_position() {
        let parsed = parse("id: a\ntitle: b\u{19}c\n");
        assert!(parsed.root.is_none());
        assert_eq!(parsed.problems[0].position, Position { line: 2, column: 9 });
        assert!(parsed.problems[0].message.contains("U+0019"));
    }

    #[test]
    fn a_byte_order_mark_and_non_ascii_text_are_fine() {
        let parsed = parse("\u{feff}title: Grüße, 世界 🎉\n");
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    }

    #[test]
    fn a_second_document_is_refused() {
        let parsed = parse("a: 1\n---\nb: 2\n");
        assert!(parsed.problems[0].message.contains("second"));
    }
}
