//! The command-line grammar: quoting, variables, pipes, lists and
//! redirections.
//!
//! Parsing turns a line into a [`CommandList`] without expanding anything:
//! a word keeps its variable references as [`WordPart::Var`] so that `$?`
//! is read when the command runs, not when the line is parsed (`false; echo
//! $?` prints 1). The grammar is the small part of bash a student meets in a
//! lesson; what is outside it gets an error, never a guess.

use std::fmt;

/// A whole line: pipelines joined by `;`, `&&` and `||`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandList {
    /// The first pipeline, then each later one with the operator before it.
    pub first: Pipeline,
    pub rest: Vec<(Connector, Pipeline)>,
}

/// How a pipeline is joined to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    /// `;`: always run.
    Then,
    /// `&&`: run when the previous status was 0.
    And,
    /// `||`: run when the previous status was not 0.
    Or,
}

/// Simple commands joined by `|`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub commands: Vec<SimpleCommand>,
}

/// One command with its words and redirections.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SimpleCommand {
    /// `NAME=value` words before the command name.
    pub assignments: Vec<(String, Word)>,
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
}

/// A redirection of one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// `> FILE` (append: `>> FILE`); `fd` is 1 or 2.
    Output { fd: u8, target: Word, append: bool },
    /// `2>&1`: standard error goes where standard output goes.
    ErrorToOutput,
    /// `< FILE`.
    Input { source: Word },
}

/// A word as typed, before expansion.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Word {
    pub parts: Vec<WordPart>,
}

/// A piece of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WordPart {
    /// Text taken as is (quotes and escapes already removed).
    Literal(String),
    /// `$NAME`, `${NAME}` or `$?`.
    Var(String),
    /// An unquoted `~` at the start of a word: the home directory.
    Home,
}

impl Word {
    fn push_char(&mut self, c: char) {
        if let Some(WordPart::Literal(text)) = self.parts.last_mut() {
            text.push(c);
        } else {
            self.parts.push(WordPart::Literal(c.to_string()));
        }
    }

    /// The word's text when it holds no variables, e.g. to recognise
    /// `NAME=value`.
    pub fn as_literal(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                WordPart::Literal(text) => out.push_str(text),
                _ => return None,
            }
        }
        Some(out)
    }
}

/// Why a line could not be parsed. The messages follow bash's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A quote was opened and never closed.
    #[error("unexpected EOF while looking for matching `{0}'")]
    UnclosedQuote(char),
    /// `${` without its `}`.
    #[error("bad substitution: no closing `}}' in ${{{0}")]
    UnclosedBrace(String),
    /// `${}` or `${1x}` and the like.
    #[error("${{{0}}}: bad substitution")]
    BadSubstitution(String),
    /// An operator where a command was expected (`| grep`, `a ;; b`).
    #[error("syntax error near unexpected token `{0}'")]
    UnexpectedToken(String),
    /// The line ended where more was needed (`echo hi |`, `ls >`).
    #[error("syntax error: unexpected end of file")]
    UnexpectedEnd,
    /// Syntax that bash has but this shell does not run.
    #[error("{0} is not supported in the lab shell")]
    Unsupported(&'static str),
}

/// A token of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(Word),
    Pipe,
    And,
    Or,
    Semi,
    /// `>` or `>>`, with the file descriptor before it.
    Out {
        fd: u8,
        append: bool,
    },
    ErrToOut,
    In,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(_) => f.write_str("word"),
            Token::Pipe => f.write_str("|"),
            Token::And => f.write_str("&&"),
            Token::Or => f.write_str("||"),
            Token::Semi => f.write_str(";"),
            Token::Out { append: false, .. } => f.write_str(">"),
            Token::Out { append: true, .. } => f.write_str(">>"),
            Token::ErrToOut => f.write_str(">&"),
            Token::In => f.write_str("<"),
        }
    }
}

/// Parses a line. `Ok(None)` means there is nothing to run (empty line or
/// only a comment).
pub fn parse_line(line: &str) -> Result<Option<CommandList>, ParseError> {
    let tokens = Lexer::new(line).tokens()?;
    if tokens.is_empty() {
        return Ok(None);
    }
    Parser { tokens, pos: 0 }.command_list().map(Some)
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl<'a> Lexer<'a> {
    fn new(line: &'a str) -> Self {
        Lexer {
            chars: line.chars().peekable(),
        }
    }

    fn tokens(mut self) -> Result<Vec<Token>, ParseError> {
        let mut tokens = Vec::new();
        while let Some(&c) = self.chars.peek() {
            match c {
                ' ' | '\t' | '\n' | '\r' => {
                    self.chars.next();
                }
                '#' => break,
                '|' | '&' | ';' | '<' | '>' | '(' | ')' | '`' => {
                    tokens.push(self.operator(None)?);
                }
                _ => tokens.push(self.word_or_fd_redirect()?),
            }
        }
        Ok(tokens)
    }

    fn operator(&mut self, fd: Option<u8>) -> Result<Token, ParseError> {
        let c = self.chars.next().unwrap_or(' ');
        let doubled = self.chars.peek() == Some(&c);
        if doubled && matches!(c, '|' | '&' | '>' | ';' | '<') {
            self.chars.next();
        }
        match (c, doubled) {
            ('|', false) => Ok(Token::Pipe),
            ('|', true) => Ok(Token::Or),
            ('&', true) => Ok(Token::And),
            ('&', false) => Err(ParseError::Unsupported(
                "running in the background with `&`",
            )),
            (';', false) => Ok(Token::Semi),
            (';', true) => Err(ParseError::UnexpectedToken(";;".to_owned())),
            ('>', append) => self.output_redirect(fd.unwrap_or(1), append),
            ('<', false) => Ok(Token::In),
            ('<', true) => Err(ParseError::Unsupported("a here-document (`<<`)")),
            ('(' | ')', _) => Err(ParseError::Unsupported("a subshell with `( )`")),
            _ => Err(ParseError::Unsupported("command substitution")),
        }
    }

    fn output_redirect(&mut self, fd: u8, append: bool) -> Result<Token, ParseError> {
        if append || self.chars.peek() != Some(&'&') {
            return Ok(Token::Out { fd, append });
        }
        self.chars.next();
        match (fd, self.chars.next()) {
            (2, Some('1')) => Ok(Token::ErrToOut),
            _ => Err(ParseError::Unsupported("this file descriptor duplication")),
        }
    }

    /// A word, or `1>`/`2>` when the word is just a descriptor number
    /// written against a `>`.
    fn word_or_fd_redirect(&mut self) -> Result<Token, ParseError> {
        if let Some(fd) = self.descriptor_prefix() {
            return self.operator(Some(fd));
        }
        self.word().map(Token::Word)
    }

    fn descriptor_prefix(&mut self) -> Option<u8> {
        let mut ahead = self.chars.clone();
        let fd = match ahead.next()? {
            '1' => 1,
            '2' => 2,
            _ => return None,
        };
        if ahead.peek() == Some(&'>') {
            self.chars.next();
            Some(fd)
        } else {
            None
        }
    }

    fn word(&mut self) -> Result<Word, ParseError> {
        let mut word = Word::default();
        if self.chars.peek() == Some(&'~') {
            let mut ahead = self.chars.clone();
            ahead.next();
            if matches!(
                ahead.peek(),
                None | Some('/' | ' ' | '\t' | ';' | '|' | '&' | '>' | '<')
            ) {
                self.chars.next();
                word.parts.push(WordPart::Home);
            }
        }
        while let Some(&c) = self.chars.peek() {
            match c {
                ' ' | '\t' | '\n' | '\r' | '|' | '&' | ';' | '<' | '>' | '(' | ')' | '`' => break,
                '\'' => self.single_quoted(&mut word)?,
                '"' => self.double_quoted(&mut word)?,
                '\\' => self.escaped(&mut word),
                '$' => self.dollar(&mut word)?,
                _ => {
                    self.chars.next();
                    word.push_char(c);
                }
            }
        }
        if word.parts.is_empty() {
            // `''` and `""` are real (empty) arguments.
            word.parts.push(WordPart::Literal(String::new()));
        }
        Ok(word)
    }

    fn single_quoted(&mut self, word: &mut Word) -> Result<(), ParseError> {
        self.chars.next();
        ensure_literal(word);
        loop {
            match self.chars.next() {
                None => return Err(ParseError::UnclosedQuote('\'')),
                Some('\'') => return Ok(()),
                Some(c) => word.push_char(c),
            }
        }
    }

    fn double_quoted(&mut self, word: &mut Word) -> Result<(), ParseError> {
        self.chars.next();
        ensure_literal(word);
        loop {
            match self.chars.peek().copied() {
                None => return Err(ParseError::UnclosedQuote('"')),
                Some('"') => {
                    self.chars.next();
                    return Ok(());
                }
                Some('\\') => {
                    self.chars.next();
                    match self.chars.next() {
                        None => return Err(ParseError::UnclosedQuote('"')),
                        Some(c @ ('"' | '\\' | '$' | '`')) => word.push_char(c),
                        Some('\n') => {}
                        Some(c) => {
                            word.push_char('\\');
                            word.push_char(c);
                        }
                    }
                }
                Some('$') => self.dollar(word)?,
                Some('`') => return Err(ParseError::Unsupported("command substitution")),
                Some(c) => {
                    self.chars.next();
                    word.push_char(c);
                }
            }
        }
    }

    fn escaped(&mut self, word: &mut Word) {
        self.chars.next();
        match self.chars.next() {
            // A trailing backslash asks bash for a continuation line; a
            // single line has none, so it stands for itself.
            None => word.push_char('\\'),
            Some('\n') => {}
            Some(c) => word.push_char(c),
        }
    }

    fn dollar(&mut self, word: &mut Word) -> Result<(), ParseError> {
        self.chars.next();
        match self.chars.peek().copied() {
            Some('{') => {
                self.chars.next();
                self.braced_var(word)
            }
            Some(c @ ('?' | '$' | '#' | '0'..='9')) => {
                self.chars.next();
                word.parts.push(WordPart::Var(c.to_string()));
                Ok(())
            }
            Some('(') => Err(ParseError::Unsupported("command substitution")),
            Some(c) if is_name_start(c) => {
                let name = self.take_while(is_name_char);
                word.parts.push(WordPart::Var(name));
                Ok(())
            }
            _ => {
                word.push_char('$');
                Ok(())
            }
        }
    }

    fn braced_var(&mut self, word: &mut Word) -> Result<(), ParseError> {
        let mut name = String::new();
        loop {
            match self.chars.next() {
                None => return Err(ParseError::UnclosedBrace(name)),
                Some('}') => break,
                Some(c) => name.push(c),
            }
        }
        if !is_valid_var_name(&name) {
            return Err(ParseError::BadSubstitution(name));
        }
        word.parts.push(WordPart::Var(name));
        Ok(())
    }

    fn take_while(&mut self, keep: fn(char) -> bool) -> String {
        let mut out = String::new();
        while let Some(&c) = self.chars.peek() {
            if !keep(c) {
                break;
            }
            out.push(c);
            self.chars.next();
        }
        out
    }
}

/// Makes sure a quoted part exists even when the quotes hold nothing, so
/// `""` is one empty word.
fn ensure_literal(word: &mut Word) {
    if !matches!(word.parts.last(), Some(WordPart::Literal(_))) {
        word.parts.push(WordPart::Literal(String::new()));
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A variable name as `export` and `${...}` accept it; the special
/// parameters `?`, `$`, `#` and digits count too.
pub fn is_valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some('?' | '$' | '#') => name.len() == 1,
        Some(c) if c.is_ascii_digit() => name.chars().all(|c| c.is_ascii_digit()),
        Some(c) if is_name_start(c) => chars.all(is_name_char),
        _ => false,
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn command_list(&mut self) -> Result<CommandList, ParseError> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        while let Some(token) = self.next() {
            let connector = match token {
                Token::Semi => Connector::Then,
                Token::And => Connector::And,
                Token::Or => Connector::Or,
                other => return Err(ParseError::UnexpectedToken(other.to_string())),
            };
            if connector == Connector::Then && self.peek().is_none() {
                break;
            }
            rest.push((connector, self.pipeline()?));
        }
        Ok(CommandList { first, rest })
    }

    fn pipeline(&mut self) -> Result<Pipeline, ParseError> {
        let mut commands = vec![self.simple_command()?];
        while self.peek() == Some(&Token::Pipe) {
            self.pos += 1;
            commands.push(self.simple_command()?);
        }
        Ok(Pipeline { commands })
    }

    fn simple_command(&mut self) -> Result<SimpleCommand, ParseError> {
        let mut command = SimpleCommand::default();
        loop {
            match self.peek().cloned() {
                Some(Token::Word(word)) => {
                    self.pos += 1;
                    push_word(&mut command, word);
                }
                Some(Token::Out { fd, append }) => {
                    self.pos += 1;
                    let target = self.redirect_target()?;
                    command
                        .redirects
                        .push(Redirect::Output { fd, target, append });
                }
                Some(Token::In) => {
                    self.pos += 1;
                    let source = self.redirect_target()?;
                    command.redirects.push(Redirect::Input { source });
                }
                Some(Token::ErrToOut) => {
                    self.pos += 1;
                    command.redirects.push(Redirect::ErrorToOutput);
                }
                _ => break,
            }
        }
        if command.words.is_empty() && command.assignments.is_empty() {
            return Err(match self.peek() {
                Some(token) => ParseError::UnexpectedToken(token.to_string()),
                None if command.redirects.is_empty() => ParseError::UnexpectedEnd,
                None => ParseError::Unsupported("a redirection without a command"),
            });
        }
        Ok(command)
    }

    fn redirect_target(&mut self) -> Result<Word, ParseError> {
        match self.next() {
            Some(Token::Word(word)) => Ok(word),
            Some(other) => Err(ParseError::UnexpectedToken(other.to_string())),
            None => Err(ParseError::UnexpectedToken("newline".to_owned())),
        }
    }
}

/// Adds a word to a command: leading `NAME=value` words are assignments.
fn push_word(command: &mut SimpleCommand, word: Word) {
    if command.words.is_empty()
        && let Some((name, value)) = split_assignment(&word)
    {
        command.assignments.push((name, value));
        return;
    }
    command.words.push(word);
}

fn split_assignment(word: &Word) -> Option<(String, Word)> {
    let Some(WordPart::Literal(first)) = word.parts.first() else {
        return None;
    };
    let (name, value_start) = first.split_once('=')?;
    if name.is_empty() || !name.starts_with(is_name_start) || !name.chars().all(is_name_char) {
        return None;
    }
    let mut value = Word::default();
    if !value_start.is_empty() {
        value.parts.push(WordPart::Literal(value_start.to_owned()));
    }
    value.parts.extend(word.parts.iter().skip(1).cloned());
    Some((name.to_owned(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(text: &str) -> Word {
        Word {
            parts: vec![WordPart::Literal(text.to_owned())],
        }
    }

    fn only_command(line: &str) -> SimpleCommand {
        let list = parse_line(line).unwrap().unwrap();
        assert!(list.rest.is_empty());
        assert_eq!(list.first.commands.len(), 1);
        list.first.commands[0].clone()
    }

    #[test]
    fn splits_words_on_blanks() {
        let command = only_command("  echo   hello\tworld ");
        assert_eq!(command.words, vec![lit("echo"), lit("hello"), lit("world")]);
    }

    #[test]
    fn single_quotes_keep_everything_literal() {
        let command = only_command(r#"echo 'a $HOME "b" \n'"#);
        assert_eq!(command.words[1], lit(r#"a $HOME "b" \n"#));
    }

    #[test]
    fn double_quotes_expand_variables_and_keep_blanks() {
        let command = only_command(r#"echo "x  $USER-${HOME}y \"q\" \z""#);
        assert_eq!(
            command.words[1].parts,
            vec![
                WordPart::Literal("x  ".into()),
                WordPart::Var("USER".into()),
                WordPart::Literal("-".into()),
                WordPart::Var("HOME".into()),
                WordPart::Literal("y \"q\" \\z".into()),
            ]
        );
    }

    #[test]
    fn backslash_escapes_the_next_character() {
        let command = only_command(r"echo a\ b \$HOME \|");
        assert_eq!(command.words[1..], [lit("a b"), lit("$HOME"), lit("|")]);
    }

    #[test]
    fn adjacent_quotes_join_into_one_word() {
        let command = only_command(r#"echo 'a'"b"c''"#);
        assert_eq!(command.words[1].as_literal().unwrap(), "abc");
    }

    #[test]
    fn empty_quotes_are_an_empty_argument() {
        let command = only_command("echo '' \"\"");
        assert_eq!(command.words.len(), 3);
        assert_eq!(command.words[1].as_literal().unwrap(), "");
    }

    #[test]
    fn status_and_special_variables() {
        let command = only_command("echo $? $$ $1 $");
        assert_eq!(command.words[1].parts, vec![WordPart::Var("?".into())]);
        assert_eq!(command.words[2].parts, vec![WordPart::Var("$".into())]);
        assert_eq!(command.words[3].parts, vec![WordPart::Var("1".into())]);
        assert_eq!(command.words[4], lit("$"));
    }

    #[test]
    fn tilde_only_at_word_start() {
        let command = only_command("cd ~/notes a~b");
        assert_eq!(command.words[1].parts[0], WordPart::Home);
        assert_eq!(command.words[2], lit("a~b"));
    }

    #[test]
    fn pipes_and_lists() {
        let list = parse_line("echo a | grep a && echo ok || echo no; ls")
            .unwrap()
            .unwrap();
        assert_eq!(list.first.commands.len(), 2);
        let connectors: Vec<_> = list.rest.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            connectors,
            vec![Connector::And, Connector::Or, Connector::Then]
        );
    }

    #[test]
    fn operators_need_no_blanks() {
        let list = parse_line("echo a|wc -l;echo b>f").unwrap().unwrap();
        assert_eq!(list.first.commands.len(), 2);
        let second = &list.rest[0].1.commands[0];
        assert_eq!(second.redirects.len(), 1);
    }

    #[test]
    fn trailing_semicolon_is_allowed() {
        let list = parse_line("echo a;").unwrap().unwrap();
        assert!(list.rest.is_empty());
    }

    #[test]
    fn redirections() {
        let command = only_command("kubectl get pods > pods.txt 2>>err.log 2>&1 < in");
        assert_eq!(
            command.redirects,
            vec![
                Redirect::Output {
                    fd: 1,
                    target: lit("pods.txt"),
                    append: false
                },
                Redirect::Output {
                    fd: 2,
                    target: lit("err.log"),
                    append: true
                },
                Redirect::ErrorToOutput,
                Redirect::Input { source: lit("in") },
            ]
        );
    }

    #[test]
    fn a_digit_word_is_not_a_descriptor_unless_touching_the_arrow() {
        let command = only_command("echo 2 > f");
        assert_eq!(command.words[1], lit("2"));
        assert!(matches!(
            command.redirects[0],
            Redirect::Output { fd: 1, .. }
        ));
    }

    #[test]
    fn assignments_before_the_command() {
        let command = only_command("A=1 B=\"x y\" env");
        assert_eq!(command.assignments.len(), 2);
        assert_eq!(command.assignments[1].1.as_literal().unwrap(), "x y");
        assert_eq!(command.words, vec![lit("env")]);
        let later = only_command("echo A=1");
        assert_eq!(later.words.len(), 2);
    }

    #[test]
    fn comments_and_blank_lines_are_nothing() {
        assert_eq!(parse_line("   ").unwrap(), None);
        assert_eq!(parse_line("# note").unwrap(), None);
        assert_eq!(only_command("echo a # b").words.len(), 2);
    }

    #[test]
    fn unclosed_quotes_read_like_bash() {
        let err = parse_line("echo 'abc").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected EOF while looking for matching `''"
        );
        let err = parse_line("echo \"abc").unwrap_err();
        assert_eq!(err, ParseError::UnclosedQuote('"'));
    }

    #[test]
    fn misplaced_operators_read_like_bash() {
        let err = parse_line("| grep a").unwrap_err();
        assert_eq!(err.to_string(), "syntax error near unexpected token `|'");
        assert_eq!(
            parse_line("echo a |").unwrap_err(),
            ParseError::UnexpectedEnd
        );
        assert_eq!(
            parse_line("echo a &&").unwrap_err(),
            ParseError::UnexpectedEnd
        );
        assert_eq!(
            parse_line("echo >").unwrap_err().to_string(),
            "syntax error near unexpected token `newline'"
        );
        assert_eq!(
            parse_line("a ;; b").unwrap_err(),
            ParseError::UnexpectedToken(";;".to_owned())
        );
    }

    #[test]
    fn bad_substitutions() {
        assert!(matches!(
            parse_line("echo ${HOME").unwrap_err(),
            ParseError::UnclosedBrace(_)
        ));
        assert!(matches!(
            parse_line("echo ${}").unwrap_err(),
            ParseError::BadSubstitution(_)
        ));
        assert!(matches!(
            parse_line("echo ${a-b}").unwrap_err(),
            ParseError::BadSubstitution(_)
        ));
    }

    #[test]
    fn unsupported_syntax_is_named() {
        for line in ["sleep 1 &", "echo $(ls)", "echo `ls`", "(ls)", "cat <<EOF"] {
            assert!(
                matches!(parse_line(line).unwrap_err(), ParseError::Unsupported(_)),
                "{line}"
            );
        }
    }
}
