//! Tab completion: command names, `$VARIABLES`, scratch file names, and
//! whatever an engine command offers for its own subcommands, flags and
//! resources (through [`lab_engine_api::ShellCommand::complete`]).

use crate::scratch::{EntryKind, resolve_path};
use crate::shell::Shell;

/// Candidates for the word under the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completion {
    /// Char index in the line where the word being completed starts.
    pub start: usize,
    /// Full replacement words, sorted; a directory ends in `/`.
    pub candidates: Vec<String>,
}

impl Completion {
    /// The longest prefix all candidates share.
    pub fn common_prefix(&self) -> String {
        let Some(first) = self.candidates.first() else {
            return String::new();
        };
        let mut prefix: Vec<char> = first.chars().collect();
        for candidate in &self.candidates[1..] {
            let shared = prefix
                .iter()
                .zip(candidate.chars())
                .take_while(|(a, b)| **a == *b)
                .count();
            prefix.truncate(shared);
        }
        prefix.into_iter().collect()
    }
}

/// Characters that end a word for completion purposes.
fn is_break(c: char) -> bool {
    c.is_whitespace() || matches!(c, '|' | ';' | '&' | '>' | '<')
}

impl Shell {
    /// Completion candidates for `line` with the cursor at char index
    /// `cursor`.
    pub fn complete(&self, line: &str, cursor: usize) -> Completion {
        let before: Vec<char> = line.chars().take(cursor).collect();
        let start = before
            .iter()
            .rposition(|&c| is_break(c))
            .map_or(0, |i| i + 1);
        let partial: String = before[start..].iter().collect();
        let command_start = before[..start]
            .iter()
            .rposition(|&c| matches!(c, '|' | ';' | '&'))
            .map_or(0, |i| i + 1);
        let segment: String = before[command_start..start].iter().collect();
        let after_redirect = segment.trim_end().ends_with(['>', '<']);
        let words: Vec<String> = segment
            .split(|c: char| c.is_whitespace() || c == '>' || c == '<')
            .filter(|w| !w.is_empty())
            .map(|w| w.trim_matches(['\'', '"']).to_owned())
            .collect();

        let mut candidates = if let Some(name) = partial.strip_prefix('$') {
            self.variable_candidates(name)
        } else if words.is_empty() && !after_redirect {
            self.command_candidates(&partial)
        } else if after_redirect {
            self.file_candidates(&partial)
        } else {
            self.argument_candidates(&words, &partial)
        };
        candidates.sort();
        candidates.dedup();
        Completion { start, candidates }
    }

    fn variable_candidates(&self, name: &str) -> Vec<String> {
        self.vars
            .keys()
            .filter(|v| v.starts_with(name))
            .map(|v| format!("${v}"))
            .collect()
    }

    fn command_candidates(&self, partial: &str) -> Vec<String> {
        self.command_names()
            .into_iter()
            .filter(|n| n.starts_with(partial))
            .collect()
    }

    fn argument_candidates(&self, words: &[String], partial: &str) -> Vec<String> {
        let name = words[0].as_str();
        if matches!(name, "man" | "help") && words.len() == 1 {
            return self.command_candidates(partial);
        }
        if let Some(command) = self.registry.get(name) {
            let offered = command.complete(&words[1..], partial);
            let mut offered: Vec<String> = offered
                .into_iter()
                .filter(|c| c.starts_with(partial))
                .collect();
            if offered.is_empty() && !partial.starts_with('-') {
                offered = self.file_candidates(partial);
            }
            return offered;
        }
        if name == "cd" {
            return self
                .file_candidates(partial)
                .into_iter()
                .filter(|c| c.ends_with('/'))
                .collect();
        }
        self.file_candidates(partial)
    }

    /// Scratch files and directories whose path starts with `partial`.
    fn file_candidates(&self, partial: &str) -> Vec<String> {
        let (dir_part, name_part) = match partial.rfind('/') {
            Some(i) => (&partial[..=i], &partial[i + 1..]),
            None => ("", partial),
        };
        let dir = resolve_path(&self.cwd, if dir_part.is_empty() { "." } else { dir_part });
        let Ok(entries) = self.fs.list_dir(&dir) else {
            return Vec::new();
        };
        entries
            .into_iter()
            .filter(|e| e.name.starts_with(name_part))
            .filter(|e| !e.name.starts_with('.') || name_part.starts_with('.'))
            .map(|e| {
                let slash = if e.kind == EntryKind::Directory {
                    "/"
                } else {
                    ""
                };
                format!("{dir_part}{}{slash}", e.name)
            })
            .collect()
    }
}
