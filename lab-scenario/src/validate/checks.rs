//! Validation of hands-on checks (`checks:` entries tagged by `kind`).

use lab_engine_api::EngineKind;

use super::fields;
use super::walker::Walker;
use crate::diagnostic::nearest;
use crate::yaml_tree::{Node, get};

impl Walker<'_> {
    pub(super) fn checks(&mut self, node: &Node) {
        let Some(items) = self.list(node, "checks") else {
            return;
        };
        for item in items {
            self.check(item);
        }
    }

    fn check(&mut self, node: &Node) {
        let Some((kind, entries)) = self.tagged(node, "a check", "kind", fields::CHECK_KINDS)
        else {
            return;
        };
        if let Some(engine) = check_engine(kind) {
            self.require_engine(node.position, engine, &format!("check `{kind}`"));
        }
        for (key, value) in entries {
            if let Some(name) = key.as_scalar() {
                self.check_field(kind, name, value);
            }
        }
        self.one_of_needed(node, kind, entries);
    }

    fn check_field(&mut self, kind: &str, name: &str, value: &Node) {
        match (kind, name) {
            (_, "kind") => {}
            (_, "pattern" | "matches") => self.regex(value, name, true),
            (_, "port") => {
                self.positive(value, name, u64::from(u16::MAX));
            }
            (_, "status") => self.http_status(value),
            (_, "succeeded" | "absent") => {
                self.boolean(value, name);
            }
            ("resource_count", "equals") | (_, "at_least" | "count") => {
                self.unsigned(value, name, u64::MAX);
            }
            ("http", "path") => self.url_path(value),
            (_, "path") => self.json_path(value),
            (_, "counter") => self.exit_counter(value),
            _ => {
                self.strict_text(value, name);
            }
        }
    }

    fn http_status(&mut self, node: &Node) {
        let Some(status) = self.unsigned(node, "status", u64::from(u16::MAX)) else {
            return;
        };
        if !(100..=599).contains(&status) {
            self.report(
                node.position,
                "`status` must be an HTTP status from 100 to 599",
                None,
            );
        }
    }

    fn url_path(&mut self, node: &Node) {
        let Some(path) = self.strict_text(node, "path") else {
            return;
        };
        if !path.starts_with('/') {
            self.report(
                node.position,
                format!("`path` `{path}` must start with `/`"),
                None,
            );
        }
    }

    fn exit_counter(&mut self, node: &Node) {
        let Some(counter) = self.strict_text(node, "counter") else {
            return;
        };
        if !fields::EXIT_COUNTERS.contains(&counter) {
            let message = format!(
                "unknown exit counter `{counter}`; counters are {}",
                fields::EXIT_COUNTERS.join(", ")
            );
            let suggestion = nearest(counter, fields::EXIT_COUNTERS.iter().copied());
            self.report(node.position, message, suggestion);
        }
    }

    /// Kinds that compare against something need at least one comparison.
    fn one_of_needed(&mut self, node: &Node, kind: &str, entries: &[(Node, Node)]) {
        let needed: &[&str] = match kind {
            "resource_count" => &["equals", "at_least"],
            "resource_field" => &["equals", "matches"],
            "http" => return,
            _ => return,
        };
        if needed.iter().all(|name| get(entries, name).is_none()) {
            let message = format!("check `{kind}` needs `{}` or `{}`", needed[0], needed[1]);
            self.report(node.position, message, None);
        }
    }
}

/// The engine a check kind needs, as `CheckSpec::engine` says.
fn check_engine(kind: &str) -> Option<EngineKind> {
    match kind {
        "container_running" | "http" => Some(EngineKind::Docker),
        "resource_exists" | "resource_count" | "resource_field" | "pods_ready" => {
            Some(EngineKind::Cluster)
        }
        "vm_running" | "console_matches" | "exit_count" => Some(EngineKind::Kvm),
        _ => None,
    }
}
