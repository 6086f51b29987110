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

/// Every field the validator (and so the JSON Schema) knows is named where
/// the guide describes its owner: a reference table row, or the paragraph
/// and example of its answer rule, live source or check kind.
#[test]
fn the_guide_names_every_field_where_its_owner_is_described() {
    use lab_scenario::validate::fields::{self, Field};
    let guide = std::fs::read_to_string(repo().join("scenarios/README.md")).unwrap();
    let check_markers: Vec<(String, &[Field])> = fields::CHECK_KINDS
        .iter()
        .map(|(kind, fields)| (format!("\n`{kind}`"), *fields))
        .collect();
    let mut owners: Vec<(String, &[Field])> = vec![
        ("### The scenario".into(), fields::SCENARIO),
        ("| `cluster` |".into(), fields::CLUSTER),
        ("### Tasks".into(), fields::TASK),
        ("| `lesson` |".into(), fields::LESSON),
        ("### Questions".into(), fields::QUESTION),
        ("\n`exact`:".into(), fields::TEXT_ANSWER),
        ("\n`any_of`:".into(), fields::TEXT_ANSWERS),
        ("\n`number`:".into(), fields::NUMBER_ANSWER),
        ("\n`choice`:".into(), fields::CHOICE_ANSWER),
    ];
    owners.extend(
        fields::LIVE_SOURCES
            .iter()
            .map(|(source, fields)| (format!("| `{source}` | `"), *fields)),
    );
    owners.extend(check_markers);
    let mut missing = Vec::new();
    for (marker, fields) in &owners {
        let Some(at) = guide.find(marker.as_str()) else {
            missing.push(format!("no description starting {marker:?}"));
            continue;
        };
        let section = owner_section(&guide[at..]);
        for field in *fields {
            let named = [format!("`{}`", field.name), format!("{}:", field.name)];
            if !named.iter().any(|name| section.contains(name.as_str())) {
                missing.push(format!("{marker:?} does not name `{}`", field.name));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

/// Every field the validator knows is written in at least one of the
/// guide's examples, which the test above validates.
#[test]
fn every_field_appears_in_an_example() {
    use lab_scenario::validate::fields;
    let guide = std::fs::read_to_string(repo().join("scenarios/README.md")).unwrap();
    let examples: String = blocks(&guide)
        .into_iter()
        .filter(|block| block.info.starts_with("yaml"))
        .map(|block| block.text)
        .collect();
    let mut tables = vec![
        fields::SCENARIO,
        fields::CLUSTER,
        fields::TASK,
        fields::LESSON,
        fields::QUESTION,
        fields::ANSWER_RULE,
        fields::TEXT_ANSWER,
        fields::TEXT_ANSWERS,
        fields::NUMBER_ANSWER,
        fields::CHOICE_ANSWER,
    ];
    tables.extend(fields::LIVE_SOURCES.iter().map(|(_, fields)| *fields));
    tables.extend(fields::CHECK_KINDS.iter().map(|(_, fields)| *fields));
    let written = |name: &str| {
        examples.match_indices(&format!("{name}:")).any(|(at, _)| {
            let before = examples[..at].chars().next_back();
            !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    };
    let missing: Vec<&str> = tables
        .iter()
        .flat_map(|fields| fields.iter().map(|field| field.name))
        .filter(|name| !written(name))
        .collect();
    assert!(missing.is_empty(), "fields with no example: {missing:?}");
}

/// From an owner's marker: a table row is its line; a heading runs to the
/// end of its table; a paragraph runs to the end of the example after it.
fn owner_section(text: &str) -> &str {
    if text.starts_with('|') {
        return text.lines().next().unwrap_or_default();
    }
    if text.starts_with("###") {
        let end = text.find("\n\n```").unwrap_or(text.len());
        return &text[..end];
    }
    let Some(open) = text.find("```") else {
        return text;
    };
    let after = open + 3;
    let close = text[after..].find("```").map_or(text.len(), |c| after + c);
    &text[..close]
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
