//! Judging a typed answer against a question's [`AnswerRule`].
//!
//! Pure functions: the only outside input is the list of live values, which
//! the caller fetches from an engine when [`Judgement::NeedsLive`] asks for
//! it.

use regex::{Regex, RegexBuilder};

use crate::model::{AnswerRule, ChoiceAnswer, NumberAnswer, TextAnswer, TextAnswers};

/// Compiled size limit for scenario regular expressions, so a hostile
/// pattern cannot take unbounded memory or time to compile.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The verdict on one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Correct,
    /// `reason` says why when the answer could not even be read as the kind
    /// of answer expected (not a number, not one of the options).
    Wrong {
        reason: Option<String>,
    },
    /// The rule compares with the live environment: fetch the values with
    /// the question's `LiveValueSpec` and judge again.
    NeedsLive,
}

impl Judgement {
    fn wrong() -> Self {
        Judgement::Wrong { reason: None }
    }

    fn wrong_because(reason: impl Into<String>) -> Self {
        Judgement::Wrong {
            reason: Some(reason.into()),
        }
    }

    fn from_bool(correct: bool) -> Self {
        if correct {
            Judgement::Correct
        } else {
            Judgement::wrong()
        }
    }
}

impl AnswerRule {
    /// Judges `answer`. `live` holds the accepted values of a live rule (every
    /// matching resource's value); other rules ignore it.
    pub fn judge(&self, answer: &str, live: Option<&[String]>) -> Judgement {
        match self {
            AnswerRule::Exact(rule) => judge_exact(rule, answer),
            AnswerRule::AnyOf(rule) => judge_any_of(rule, answer),
            AnswerRule::Regex(pattern) => judge_regex(pattern, answer),
            AnswerRule::Number(rule) => judge_number(rule, answer),
            AnswerRule::Choice(rule) => judge_choice(rule, answer),
            AnswerRule::Live(_) => match live {
                None => Judgement::NeedsLive,
                Some(values) => judge_live(values, answer),
            },
        }
    }
}

/// Trims, folds runs of whitespace to one space unless `exact_whitespace`,
/// and lower-cases unless `case_sensitive`.
pub fn fold(text: &str, case_sensitive: bool, exact_whitespace: bool) -> String {
    let spaced = if exact_whitespace {
        text.trim().to_owned()
    } else {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    if case_sensitive {
        spaced
    } else {
        spaced.to_lowercase()
    }
}

/// Compiles a scenario regular expression with the size limits used
/// everywhere (validation and judging).
pub fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|error| last_line(&error.to_string()))
}

/// regex's syntax errors draw a caret over several lines; the last line
/// says what is wrong.
fn last_line(message: &str) -> String {
    let line = message
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or(message);
    line.trim().trim_start_matches("error: ").to_owned()
}

fn judge_exact(rule: &TextAnswer, answer: &str) -> Judgement {
    let expected = fold(&rule.text, rule.case_sensitive, rule.exact_whitespace);
    Judgement::from_bool(fold(answer, rule.case_sensitive, rule.exact_whitespace) == expected)
}

fn judge_any_of(rule: &TextAnswers, answer: &str) -> Judgement {
    let given = fold(answer, rule.case_sensitive, rule.exact_whitespace);
    let accepted = rule
        .texts
        .iter()
        .any(|text| fold(text, rule.case_sensitive, rule.exact_whitespace) == given);
    Judgement::from_bool(accepted)
}

/// The pattern must match the whole trimmed answer.
fn judge_regex(pattern: &str, answer: &str) -> Judgement {
    match compile_pattern(&format!("^(?:{pattern})$")) {
        Ok(regex) => Judgement::from_bool(regex.is_match(answer.trim())),
        Err(error) => {
            Judgement::wrong_because(format!("this question's pattern is broken: {error}"))
        }
    }
}

fn judge_number(rule: &NumberAnswer, answer: &str) -> Judgement {
    let Some(given) = parse_number(answer) else {
        return Judgement::wrong_because("the answer should be a number");
    };
    // Decimal input such as 0.1 is not exact in binary; allow for that.
    let slack = f64::EPSILON * 16.0 * rule.value.abs().max(1.0);
    Judgement::from_bool((given - rule.value).abs() <= rule.tolerance.abs() + slack)
}

/// A finite decimal number, optionally with `,` between thousands.
fn parse_number(answer: &str) -> Option<f64> {
    let trimmed = answer.trim();
    let plain = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let looks_numeric = plain
        .chars()
        .all(|c| c.is_ascii_digit() || ".-eE,_".contains(c));
    if !looks_numeric {
        return None;
    }
    let cleaned: String = plain.chars().filter(|c| !matches!(c, ',' | '_')).collect();
    cleaned
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
}

/// The student may answer with the option's text, its letter (`b`) or its
/// number (`2`); text wins when an option is itself a letter or a number.
fn judge_choice(rule: &ChoiceAnswer, answer: &str) -> Judgement {
    let Some(index) = chosen_option(&rule.options, answer) else {
        let count = rule.options.len();
        let last_letter = letter(count.saturating_sub(1));
        return Judgement::wrong_because(format!(
            "pick one of the options: a letter a–{last_letter}, a number 1–{count}, or its text"
        ));
    };
    Judgement::from_bool(rule.options.get(index) == Some(&rule.correct))
}

fn chosen_option(options: &[String], answer: &str) -> Option<usize> {
    let given = fold(answer, false, false);
    if let Some(index) = options
        .iter()
        .position(|option| fold(option, false, false) == given)
    {
        return Some(index);
    }
    let by_letter = match given.as_bytes() {
        [byte @ b'a'..=b'z'] => Some(usize::from(byte - b'a')),
        _ => None,
    };
    let by_number = given.parse::<usize>().ok().and_then(|n| n.checked_sub(1));
    by_letter
        .or(by_number)
        .filter(|index| *index < options.len())
}

fn letter(index: usize) -> char {
    u8::try_from(index)
        .ok()
        .filter(|i| *i < 26)
        .map_or('z', |i| char::from(b'a' + i))
}

/// Live values are names and numbers: compared with case and whitespace
/// folded.
fn judge_live(values: &[String], answer: &str) -> Judgement {
    if values.is_empty() {
        return Judgement::wrong_because(
            "nothing matching this question exists in your environment right now",
        );
    }
    let given = fold(answer, false, false);
    Judgement::from_bool(
        values
            .iter()
            .any(|value| fold(value, false, false) == given),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use lab_engine_api::LiveValueSpec;

    use super::*;

    fn exact(text: &str) -> AnswerRule {
        AnswerRule::Exact(TextAnswer {
            text: text.into(),
            case_sensitive: false,
            exact_whitespace: false,
        })
    }

    fn any_of(texts: &[&str]) -> AnswerRule {
        AnswerRule::AnyOf(TextAnswers {
            texts: texts.iter().map(|t| t.to_string()).collect(),
            case_sensitive: false,
            exact_whitespace: false,
        })
    }

    fn choice(options: &[&str], correct: &str) -> AnswerRule {
        AnswerRule::Choice(ChoiceAnswer {
            options: options.iter().map(|t| t.to_string()).collect(),
            correct: correct.into(),
        })
    }

    fn number(value: f64, tolerance: f64) -> AnswerRule {
        AnswerRule::Number(NumberAnswer { value, tolerance })
    }

    fn is_correct(rule: &AnswerRule, answer: &str) -> bool {
        rule.judge(answer, None) == Judgement::Correct
    }

    #[test]
    fn exact_folds_case_and_inner_whitespace_and_trims() {
        let rule = exact("Guest OS");
        assert!(is_correct(&rule, "guest os"));
        assert!(is_correct(&rule, "  GUEST \t  os \n"));
        assert!(!is_correct(&rule, "guestos"));
        assert!(!is_correct(&rule, "host os"));
    }

    #[test]
    fn exact_respects_case_sensitive_and_exact_whitespace() {
        let rule = AnswerRule::Exact(TextAnswer {
            text: "THM{a  b}".into(),
            case_sensitive: true,
            exact_whitespace: true,
        });
        assert!(is_correct(&rule, " THM{a  b} "));
        assert!(!is_correct(&rule, "thm{a  b}"));
        assert!(!is_correct(&rule, "THM{a b}"));
    }

    #[test]
    fn any_of_accepts_each_listed_form_such_as_y_and_yes() {
        let rule = any_of(&["Y", "yes"]);
        for answer in ["Y", "y", "yes", " YES "] {
            assert!(is_correct(&rule, answer), "{answer}");
        }
        assert!(!is_correct(&rule, "N"));
        assert!(!is_correct(&rule, "yess"));
    }

    #[test]
    fn regex_must_match_the_whole_trimmed_answer() {
        let rule = AnswerRule::Regex("kubectl delete (deploy|deployment|deployments) hello".into());
        assert!(is_correct(&rule, "kubectl delete deploy hello"));
        assert!(is_correct(&rule, "  kubectl delete deployments hello "));
        assert!(!is_correct(&rule, "sudo kubectl delete deploy hello"));
        assert!(!is_correct(&rule, "kubectl delete deploy hello --now"));
    }

    #[test]
    fn regex_alternation_is_anchored_as_a_whole() {
        // Without grouping, `^a|b$` would accept "a-anything".
        let rule = AnswerRule::Regex("a|b".into());
        assert!(is_correct(&rule, "a"));
        assert!(!is_correct(&rule, "a-anything"));
    }

    #[test]
    fn broken_regex_is_wrong_with_a_reason_not_a_panic() {
        let rule = AnswerRule::Regex("(".into());
        assert!(matches!(
            rule.judge("(", None),
            Judgement::Wrong { reason: Some(_) }
        ));
    }

    #[test]
    fn number_accepts_equal_values_in_any_notation() {
        let rule = number(7.0, 0.0);
        for answer in ["7", " 7 ", "7.0", "+7", "7e0"] {
            assert!(is_correct(&rule, answer), "{answer}");
        }
        assert!(!is_correct(&rule, "8"));
        assert!(is_correct(&number(8080.0, 0.0), "8,080"));
    }

    #[test]
    fn number_tolerance_is_inclusive_on_both_sides() {
        let rule = number(3.5, 0.5);
        assert!(is_correct(&rule, "3"));
        assert!(is_correct(&rule, "4"));
        assert!(!is_correct(&rule, "4.01"));
        assert!(is_correct(&number(0.3, 0.0), "0.30"));
        // 0.4 - 0.3 is slightly more than 0.1 in binary floating point.
        assert!(is_correct(&number(0.3, 0.1), "0.4"));
    }

    #[test]
    fn number_rejects_text_with_a_reason() {
        let rule = number(1.0, 0.0);
        for answer in ["one", "", "NaN", "inf", "1 pod"] {
            assert!(
                matches!(
                    rule.judge(answer, None),
                    Judgement::Wrong { reason: Some(_) }
                ),
                "{answer}"
            );
        }
    }

    #[test]
    fn choice_accepts_letter_number_or_text() {
        let rule = choice(&["Type 1", "Type 2"], "Type 2");
        for answer in ["b", "B", "2", "type 2", " Type  2 "] {
            assert!(is_correct(&rule, answer), "{answer}");
        }
        for answer in ["a", "1", "Type 1"] {
            assert_eq!(
                rule.judge(answer, None),
                Judgement::Wrong { reason: None },
                "{answer}"
            );
        }
    }

    #[test]
    fn choice_outside_the_options_is_wrong_with_a_reason() {
        let rule = choice(&["x", "y"], "y");
        for answer in ["c", "3", "0", "z"] {
            assert!(
                matches!(
                    rule.judge(answer, None),
                    Judgement::Wrong { reason: Some(_) }
                ),
                "{answer}"
            );
        }
    }

    #[test]
    fn choice_text_wins_over_position_when_options_are_numbers() {
        let rule = choice(&["2", "1"], "1");
        assert!(is_correct(&rule, "1"));
        assert!(!is_correct(&rule, "2"));
    }

    #[test]
    fn live_needs_values_then_compares_with_any_of_them() {
        let rule = AnswerRule::Live(LiveValueSpec::Vm {
            field: "io_out".into(),
        });
        assert_eq!(rule.judge("x", None), Judgement::NeedsLive);
        let values = vec![
            "hello-tryhackme-7d9f-abcde".to_string(),
            "other".to_string(),
        ];
        assert!(rule.judge(" Hello-TryHackMe-7d9f-abcde ", Some(&values)) == Judgement::Correct);
        assert_eq!(
            rule.judge("hello", Some(&values)),
            Judgement::Wrong { reason: None }
        );
        assert!(matches!(
            rule.judge("x", Some(&[])),
            Judgement::Wrong { reason: Some(_) }
        ));
    }

    #[test]
    fn non_live_rules_ignore_live_values() {
        let values = vec!["other".to_string()];
        assert_eq!(exact("a").judge("a", Some(&values)), Judgement::Correct);
    }

    #[test]
    fn compile_errors_are_one_line() {
        let error = compile_pattern("a(b").expect_err("unclosed group");
        assert!(!error.contains('\n'), "{error}");
        assert!(error.contains("unclosed"), "{error}");
    }
}
