//! The list of lines a student ran, for Up/Down, Ctrl-R and `history`.

use std::collections::VecDeque;

/// Bounded command history, oldest first. Like bash with
/// `HISTCONTROL=ignoreboth`: a line starting with a blank and a repeat of
/// the previous line are not kept.
#[derive(Debug, Clone)]
pub struct History {
    entries: VecDeque<String>,
    capacity: usize,
    /// How many lines were ever added, so `history` numbers stay stable
    /// after old lines fall off.
    added: usize,
}

impl History {
    pub fn new(capacity: usize) -> Self {
        History {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            added: 0,
        }
    }

    pub fn push(&mut self, line: &str) {
        let trimmed = line.trim_end();
        if trimmed.is_empty() || line.starts_with([' ', '\t']) {
            return;
        }
        if self.entries.back().is_some_and(|last| last == trimmed) {
            return;
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(trimmed.to_owned());
        self.added += 1;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry at `index`, 0 being the oldest kept.
    pub fn get(&self, index: usize) -> Option<&str> {
        self.entries.get(index).map(String::as_str)
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Entries with the numbers `history` shows (1 is the first line ever
    /// added).
    pub fn numbered(&self) -> impl Iterator<Item = (usize, &str)> {
        let first = self.added - self.entries.len() + 1;
        self.entries
            .iter()
            .enumerate()
            .map(move |(i, e)| (first + i, e.as_str()))
    }

    /// The newest entry before `before` (an index; `len()` searches from
    /// the newest) containing `query`.
    pub fn search_back(&self, query: &str, before: usize) -> Option<usize> {
        (0..before.min(self.entries.len()))
            .rev()
            .find(|&i| self.entries[i].contains(query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_blanks_repeats_and_keeps_the_newest() {
        let mut history = History::new(2);
        for line in ["a", "a", " secret", "", "b", "c"] {
            history.push(line);
        }
        assert_eq!(history.len(), 2);
        let numbered: Vec<_> = history.numbered().collect();
        assert_eq!(numbered, vec![(2, "b"), (3, "c")]);
    }

    #[test]
    fn searches_backwards() {
        let mut history = History::new(10);
        for line in ["docker ps", "ls", "docker run x"] {
            history.push(line);
        }
        assert_eq!(history.search_back("docker", 3), Some(2));
        assert_eq!(history.search_back("docker", 2), Some(0));
        assert_eq!(history.search_back("kubectl", 3), None);
    }
}
