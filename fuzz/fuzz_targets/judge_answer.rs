//! Any answer against any rule built from fuzzed parts: judging never panics.

#![no_main]

use lab_scenario::model::{AnswerRule, ChoiceAnswer, NumberAnswer, TextAnswer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (String, String, Vec<String>, f64, f64)| {
    let (answer, text, options, value, tolerance) = input;
    let rules = [
        AnswerRule::Exact(TextAnswer { text: text.clone(), case_sensitive: false, exact_whitespace: false }),
        AnswerRule::Regex(text.clone()),
        AnswerRule::Number(NumberAnswer { value, tolerance }),
        AnswerRule::Choice(ChoiceAnswer { options: options.clone(), correct: text }),
    ];
    for rule in &rules {
        let _ = rule.judge(&answer, Some(&options));
    }
});
