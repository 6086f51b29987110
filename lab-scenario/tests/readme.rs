//! Every `yaml` block in `scenarios/README.md` is a valid scenario, or a
//! valid part of one (`yaml task`, `yaml question`, `yaml answer`,
//! `yaml check`) once placed into a minimal scenario.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use lab_scenario::{DiskContent, load_text};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fenced block: the line it starts on, its info string and its text.
struct Block {
    line: usize,
    info: String,
    text: String,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<Block> = None;
    for (index, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    line: index + 1,
                    info: info.trim().into(),
                    text: String::new(),
                })
            }
            (Some(_), Some("")) => found.extend(open.take()),
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    found
}

const HEADER: &str = "id: readme-example\ntitle: Example\ndescription: A block of the guide.\n\
                      estimated_minutes: 1\nengines: [docker, cluster, kvm]\ntasks:\n";

/// `text` as one item of a YAML list indented by `indent` spaces.
fn list_item(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for (index, line) in text.lines().enumerate() {
        let marker = if index == 0 { "- " } else { "  " };
        out.push_str(&format!("{pad}{marker}{line}\n"));
    }
    out
}

fn indented(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    text.lines().map(|line| format!("{pad}{line}\n")).collect()
}

const TASK_START: &str = "  - id: wrapper\n    title: Wrapper\n    lesson: {markdown: Text}\n";

/// The block as a whole scenario, by its kind.
fn as_scenario(block: &Block) -> String {
    match block.info.as_str() {
        "yaml" => block.text.clone(),
        "yaml task" => format!("{HEADER}{}", list_item(&block.text, 2)),
        "yaml question" => {
            format!(
                "{HEADER}{TASK_START}    questions:\n{}",
                list_item(&block.text, 6)
            )
        }
        "yaml answer" => format!(
            "{HEADER}{TASK_START}    questions:\n      - id: wrapper-q\n        prompt: P\n        \
             answer:\n{}",
            indented(&block.text, 10)
        ),
        "yaml check" => format!(
            "{HEADER}{TASK_START}    checks:\n{}",
            list_item(&block.text, 6)
        ),
        other => panic!("README.md:{}: unknown block kind `{other}`", block.line),
    }
}

#[test]
fn every_yaml_block_in_the_authoring_guide_validates() {
    let guide = std::fs::read_to_string(repo().join("scenarios/README.md")).unwrap();
    let content = DiskContent {
        root: repo().join("content"),
    };
    let yaml_blocks: Vec<Block> = blocks(&guide)
        .into_iter()
        .filter(|b| b.info.starts_with("yaml"))
        .collect();
    assert!(
        yaml_blocks.len() >= 20,
        "only {} yaml blocks",
        yaml_blocks.len()
    );
    let mut failures = Vec::new();
    for block in &yaml_blocks {
        let scenario = as_scenario(block);
        if let Err(problems) = load_text("block", &scenario, &content) {
            let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
            failures.push(format!(
                "README.md:{}:\n  {}",
                block.line,
                listed.join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_guide_covers_every_check_kind_and_answer_rule() {
    let guide = std::fs::read_to_string(repo().join("scenarios/README.md")).unwrap();
    for (kind, _) in lab_scenario::validate::fields::CHECK_KINDS {
        assert!(
            guide.contains(&format!("kind: {kind}\n")),
            "no example of check `{kind}`"
        );
    }
    for rule in lab_scenario::validate::fields::names(lab_scenario::validate::fields::ANSWER_RULE) {
        assert!(
            guide.contains(&format!("```yaml answer\n{rule}:")),
            "no example of `{rule}`"
        );
    }
    assert!(guide.contains("# yaml-language-server: $schema=scenario.schema.json"));
}

#[test]
fn a_wrong_block_would_be_caught() {
    let block = Block {
        line: 1,
        info: "yaml check".into(),
        text: "kind: htp\nport: 1\n".into(),
    };
    let content = DiskContent {
        root: repo().join("content"),
    };
    assert!(load_text("block", &as_scenario(&block), &content).is_err());
}
