//! Prints how long validating and loading take: the shipped scenarios, and
//! inputs near the 1 MiB limit shaped to stress each step.
//!
//! `cargo run --release -p lab-scenario --example validation_speed`

use std::time::Instant;

use lab_scenario::{EmbeddedContent, load_embedded, load_text};

const HEADER: &str = "id: x\ntitle: T\ndescription: D\nestimated_minutes: 1\n";
const TASK: &str = "tasks:\n  - id: t\n    title: T\n    lesson: {markdown: M}\n";

fn main() {
    let start = Instant::now();
    let loaded = load_embedded().map(|s| s.len()).unwrap_or(0);
    println!(
        "load_embedded: {loaded} scenario(s) in {:?}",
        start.elapsed()
    );

    for (name, text) in stress_inputs() {
        let start = Instant::now();
        let result = load_text("stress.yaml", &text, &EmbeddedContent);
        let problems = result.err().map_or(0, |d| d.len());
        println!(
            "{name:<22} {:>8} bytes  {problems:>4} diagnostics  {:?}",
            text.len(),
            start.elapsed()
        );
    }
}

fn stress_inputs() -> Vec<(&'static str, String)> {
    let long_word = "z".repeat(400_000);
    let keys: String = (0..45_000).map(|i| format!("k{i}: 1\n")).collect();
    let options: String = (0..70_000).map(|i| format!("o{i},")).collect();
    let solutions: String = (0..40_000)
        .map(|i| format!("      - answer q{i} x\n"))
        .collect();
    let tasks: String = (0..9_000)
        .map(|i| format!("  - {{id: t{i}, title: T, lesson: {{markdown: M}}}}\n"))
        .collect();
    vec![
        ("45k unknown keys", format!("{HEADER}{keys}{TASK}")),
        (
            "70k choice options",
            format!(
                "{HEADER}{TASK}    questions:\n      - id: q\n        prompt: P\n        \
                 answer: {{choice: {{options: [{options}], correct: {long_word}}}}}\n"
            ),
        ),
        ("400k-char key", format!("{HEADER}{long_word}: 1\n{TASK}")),
        (
            "40k solution lines",
            format!("{HEADER}{TASK}    solution:\n{solutions}"),
        ),
        (
            "400k-char regex",
            format!(
                "{HEADER}{TASK}    questions:\n      - {{id: q, prompt: P, answer: {{regex: '{long_word}'}}}}\n"
            ),
        ),
        ("9k valid tasks", format!("{HEADER}tasks:\n{tasks}")),
    ]
}
