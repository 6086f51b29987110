//! Every deliberately broken scenario under `tests/scenarios/broken/` gets
//! exactly the diagnostics listed in its sibling `.expected` file, one
//! `line:column: message` per line, in order.
//!
//! Run with `BLESS=1` to rewrite the `.expected` files from the current
//! output (then read the diff before committing it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use lab_scenario::{Diagnostic, ScenarioLoader};

fn broken_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios/broken")
}

fn loader() -> ScenarioLoader {
    ScenarioLoader::new().with_content_dir(broken_dir().join("content"))
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(broken_dir())
        .expect("tests/scenarios/broken exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// `line:column: message (did you mean `x`?)`: the Display form without the
/// file name.
fn without_file(diagnostic: &Diagnostic) -> String {
    let mut line = format!(
        "{}:{}: {}",
        diagnostic.line, diagnostic.column, diagnostic.message
    );
    if let Some(suggestion) = &diagnostic.suggestion {
        line.push_str(&format!(" (did you mean `{suggestion}`?)"));
    }
    line
}

fn actual_lines(path: &Path) -> Vec<String> {
    match loader().load_file(path) {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics.iter().map(without_file).map(portable).collect(),
    }
}

/// Replaces this checkout's content directory with `<content>`, so the
/// expected files do not depend on where the repository lives.
fn portable(line: String) -> String {
    let content = broken_dir().join("content").display().to_string();
    line.replace(&content, "<content>")
}

#[test]
fn there_are_at_least_25_broken_fixtures() {
    assert!(fixtures().len() >= 25, "only {} fixtures", fixtures().len());
}

#[test]
fn each_broken_fixture_gets_exactly_its_expected_diagnostics() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut mismatches = Vec::new();
    for path in fixtures() {
        let actual = actual_lines(&path);
        let expected_path = path.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, actual.join("\n") + "\n").unwrap();
            continue;
        }
        let expected_text = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} has no .expected file", path.display()));
        let expected: Vec<&str> = expected_text.lines().filter(|l| !l.is_empty()).collect();
        if actual.is_empty() {
            mismatches.push(format!("{}: loaded without any problem", path.display()));
        } else if actual != expected {
            mismatches.push(format!(
                "{}:\n  expected:\n    {}\n  actual:\n    {}",
                path.display(),
                expected.join("\n    "),
                actual.join("\n    ")
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn diagnostics_name_the_file_they_are_about() {
    let path = broken_dir().join("unknown-field.yaml");
    let diagnostics = loader().load_file(&path).unwrap_err();
    let shown = diagnostics[0].to_string();
    assert!(
        shown.starts_with(&format!("{}:", path.display())),
        "{shown}"
    );
}

#[test]
fn a_file_over_the_size_limit_is_refused_without_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    let huge = "# filler line of a huge scenario\n".repeat(64 * 1024);
    std::fs::write(&path, &huge).unwrap();
    let diagnostics = loader().load_file(&path).unwrap_err();
    assert_eq!(diagnostics.len(), 1);
    assert_eq!((diagnostics[0].line, diagnostics[0].column), (1, 1));
    assert!(
        diagnostics[0].message.contains("too large"),
        "{}",
        diagnostics[0]
    );
}

#[test]
fn huge_text_handed_over_directly_is_refused_too() {
    let huge = format!("id: x\ndescription: {}\n", "a".repeat(2 * 1024 * 1024));
    let diagnostics =
        lab_scenario::load_text("huge.yaml", &huge, &lab_scenario::EmbeddedContent).unwrap_err();
    assert!(
        diagnostics[0].message.contains("too large"),
        "{}",
        diagnostics[0]
    );
}

#[test]
fn very_deep_nesting_reports_one_problem_without_overflowing_the_stack() {
    for text in [
        "[".repeat(200_000),
        "{a: ".repeat(50_000),
        "- ".repeat(50_000) + "x",
    ] {
        let diagnostics =
            lab_scenario::load_text("deep.yaml", &text, &lab_scenario::EmbeddedContent)
                .unwrap_err();
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    }
}

#[test]
fn a_missing_file_is_reported_without_a_position() {
    let diagnostics = loader()
        .load_file(&broken_dir().join("no-such.yaml"))
        .unwrap_err();
    assert_eq!(diagnostics[0].line, 0);
    assert!(
        diagnostics[0]
            .to_string()
            .contains("cannot read the scenario file")
    );
}

#[test]
fn problems_past_the_limit_are_summarised_in_one_last_line() {
    let mut text = String::from("id: x\ntitle: T\ndescription: D\nestimated_minutes: 1\ntasks:\n");
    for index in 0..300 {
        text.push_str(&format!(
            "  - {{id: t{index}, title: T, lesson: {{markdown: M}}, bogus: 1}}\n"
        ));
    }
    let diagnostics =
        lab_scenario::load_text("many.yaml", &text, &lab_scenario::EmbeddedContent).unwrap_err();
    assert_eq!(
        diagnostics.len(),
        lab_scenario::validate::MAX_DIAGNOSTICS + 1
    );
    assert!(
        diagnostics
            .last()
            .unwrap()
            .message
            .starts_with("too many problems")
    );
}

/// Inputs near the size limit shaped to hit any quadratic step (duplicate
/// searches, similarity scores, long lists). Each must come back with its
/// diagnostics; a quadratic step would make this test run for hours.
#[test]
fn worst_case_inputs_near_the_size_limit_are_handled() {
    let header = "id: x\ntitle: T\ndescription: D\nestimated_minutes: 1\n";
    let task = "tasks:\n  - id: t\n    title: T\n    lesson: {markdown: M}\n";
    let many_keys: String = (0..45_000).map(|i| format!("k{i}: 1\n")).collect();
    let many_options: String = (0..70_000).map(|i| format!("o{i},")).collect();
    let long_word = "z".repeat(400_000);
    let many_solutions: String = (0..40_000)
        .map(|i| format!("      - answer q{i} x\n"))
        .collect();
    let cases = [
        format!("{header}{many_keys}{task}"),
        format!(
            "{header}{task}    questions:\n      - id: q\n        prompt: P\n        \
             answer: {{choice: {{options: [{many_options}], correct: {long_word}}}}}\n"
        ),
        format!("{header}{long_word}: 1\n{task}"),
        format!("{header}{task}    solution:\n{many_solutions}"),
        format!(
            "{header}{task}    questions:\n      - {{id: q, prompt: P, answer: {{regex: '{long_word}'}}}}\n"
        ),
    ];
    for text in cases {
        assert!(
            text.len() <= lab_scenario::yaml_tree::MAX_BYTES,
            "{} bytes",
            text.len()
        );
        let result = lab_scenario::load_text("big.yaml", &text, &lab_scenario::EmbeddedContent);
        let diagnostics = result.expect_err("every case has a problem");
        assert!(
            !diagnostics[0].message.contains("too large"),
            "{}",
            diagnostics[0]
        );
    }
}
