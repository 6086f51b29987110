//! Validation of answer rules and live answer sources.

use std::collections::HashSet;

use lab_engine_api::EngineKind;

use super::fields::{self, Field};
use super::walker::Walker;
use crate::diagnostic::nearest;
use crate::judge::fold;
use crate::yaml_tree::{Node, get};

impl Walker<'_> {
    /// An answer is a map with exactly one rule key.
    pub(super) fn answer_rule(&mut self, node: &Node) {
        let Some(entries) = self.mapping(node, "an answer rule", fields::ANSWER_RULE) else {
            return;
        };
        let rules: Vec<&(Node, Node)> = entries
            .iter()
            .filter(|(key, _)| {
                fields::names(fields::ANSWER_RULE).any(|n| Some(n) == key.as_scalar())
            })
            .collect();
        match rules.as_slice() {
            [] => {
                let names: Vec<_> = fields::names(fields::ANSWER_RULE).collect();
                let message = format!("an answer needs one rule: {}", names.join(", "));
                self.report(node.position, message, None);
            }
            [(key, value)] => self.rule(key.as_scalar().unwrap_or_default(), value),
            [(first, _), (second, _), ..] => {
                let message = format!(
                    "an answer has exactly one rule; found `{}` and `{}`",
                    first.as_scalar().unwrap_or_default(),
                    second.as_scalar().unwrap_or_default()
                );
                self.report(second.position, message, None);
            }
        }
    }

    fn rule(&mut self, name: &str, node: &Node) {
        match name {
            "exact" => self.exact_rule(node),
            "any_of" => self.any_of_rule(node),
            "regex" => self.regex(node, "regex", false),
            "number" => self.number_rule(node),
            "choice" => self.choice_rule(node),
            _ => self.live_source(node),
        }
    }

    fn exact_rule(&mut self, node: &Node) {
        let Some(entries) = self.mapping(node, "an `exact` rule", fields::TEXT_ANSWER) else {
            return;
        };
        if let Some(text) = get(entries, "text") {
            self.required_text(text, "text");
        }
        self.text_options(entries);
    }

    fn any_of_rule(&mut self, node: &Node) {
        let Some(entries) = self.mapping(node, "an `any_of` rule", fields::TEXT_ANSWERS) else {
            return;
        };
        if let Some(texts) = get(entries, "texts") {
            let accepted = self.text_list(texts, "texts");
            if accepted.is_empty() {
                self.report(
                    texts.position,
                    "`texts` needs at least one accepted text",
                    None,
                );
            }
        }
        self.text_options(entries);
    }

    fn text_options(&mut self, entries: &[(Node, Node)]) {
        for flag in ["case_sensitive", "exact_whitespace"] {
            if let Some(node) = get(entries, flag) {
                self.boolean(node, flag);
            }
        }
    }

    fn number_rule(&mut self, node: &Node) {
        let Some(entries) = self.mapping(node, "a `number` rule", fields::NUMBER_ANSWER) else {
            return;
        };
        if let Some(value) = get(entries, "value") {
            self.float(value, "value");
        }
        let Some(tolerance) = get(entries, "tolerance") else {
            return;
        };
        if self.float(tolerance, "tolerance").is_some_and(|t| t < 0.0) {
            self.report(tolerance.position, "`tolerance` must not be negative", None);
        }
    }

    fn choice_rule(&mut self, node: &Node) {
        let Some(entries) = self.mapping(node, "a `choice` rule", fields::CHOICE_ANSWER) else {
            return;
        };
        let options = match get(entries, "options") {
            Some(list) => self.choice_options(list),
            None => return,
        };
        let Some(correct) = get(entries, "correct") else {
            return;
        };
        let Some(text) = self.required_text(correct, "correct") else {
            return;
        };
        if !options.is_empty() && !options.iter().any(|option| option == text) {
            let message = format!("`correct` value `{text}` is not one of the `options`");
            let suggestion = nearest(text, options.iter().map(String::as_str));
            self.report(correct.position, message, suggestion);
        }
    }

    /// At least two distinct options.
    fn choice_options(&mut self, list: &Node) -> Vec<String> {
        let options: Vec<String> = self
            .text_list(list, "options")
            .into_iter()
            .map(str::to_owned)
            .collect();
        if options.len() < 2 {
            self.report(list.position, "a choice needs at least two `options`", None);
        }
        let mut seen = HashSet::new();
        for option in &options {
            if !seen.insert(fold(option, false, false)) {
                let message = format!("option `{option}` is listed twice");
                self.report(list.position, message, None);
            }
        }
        options
    }

    /// A `live:` map tagged by `source`.
    fn live_source(&mut self, node: &Node) {
        let Some((source, entries)) =
            self.tagged(node, "a live answer", "source", fields::LIVE_SOURCES)
        else {
            return;
        };
        let engine = match source {
            "cluster" => EngineKind::Cluster,
            "docker" => EngineKind::Docker,
            _ => EngineKind::Kvm,
        };
        self.require_engine(node.position, engine, "this live answer");
        for (key, value) in entries {
            match key.as_scalar() {
                Some("path") => self.json_path(value),
                Some("source") | None => {}
                Some(name) => {
                    self.strict_text(value, name);
                }
            }
        }
    }

    pub(super) fn json_path(&mut self, node: &Node) {
        let Some(path) = self.strict_text(node, "path") else {
            return;
        };
        if !path.starts_with('.') {
            let message = format!("`path` `{path}` must start with `.` (like `.metadata.name`)");
            self.report(node.position, message, None);
        }
    }

    /// A map whose `tag` field picks one of `variants`; returns the variant
    /// and the entries when the tag is valid.
    pub(super) fn tagged<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        tag: &'static str,
        variants: &[(&'static str, &[Field])],
    ) -> Option<(&'static str, &'n [(Node, Node)])> {
        let entries = self.as_mapping(node, what)?;
        let names = || variants.iter().map(|(name, _)| *name);
        let Some(tag_node) = get(entries, tag) else {
            let all: Vec<_> = names().collect();
            let message = format!("{what} needs `{tag}`: one of {}", all.join(", "));
            self.report(node.position, message, None);
            return None;
        };
        let written = self.strict_text(tag_node, tag)?;
        let Some((variant, fields)) = variants.iter().find(|(name, _)| *name == written) else {
            let all: Vec<_> = names().collect();
            let message = format!("unknown {tag} `{written}`; one of {}", all.join(", "));
            self.report(tag_node.position, message, nearest(written, names()));
            return None;
        };
        let what = format!("{what} of {tag} `{variant}`");
        self.unknown_keys(entries, &what, fields, &[tag]);
        self.missing_keys(node.position, entries, &what, fields);
        Some((variant, entries))
    }
}
