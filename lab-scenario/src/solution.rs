//! A task's `solution:` lines, read as steps a player can carry out.
//!
//! Each line is a lab shell command, or `answer <question-id> <text>` to type
//! `<text>` into that question's answer box. The text `{live}` stands for a
//! value the question's live source reports at that moment.

/// The placeholder for "whatever the live source reports".
pub const LIVE_PLACEHOLDER: &str = "{live}";

/// One step of a solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolutionStep<'a> {
    /// A line for the lab shell, as a student would type it.
    Command(&'a str),
    /// Answer a question with this text.
    Answer { question_id: &'a str, text: &'a str },
    /// Answer a live question with a value read from the environment.
    AnswerLive { question_id: &'a str },
}

impl<'a> SolutionStep<'a> {
    /// Reads one solution line. An `answer` line without text gives an
    /// answer with empty text (validation reports those).
    pub fn parse(line: &'a str) -> SolutionStep<'a> {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("answer ") else {
            return SolutionStep::Command(line);
        };
        let rest = rest.trim_start();
        let (question_id, text) = match rest.split_once(char::is_whitespace) {
            Some((id, text)) => (id, text.trim()),
            None => (rest, ""),
        };
        if text == LIVE_PLACEHOLDER {
            SolutionStep::AnswerLive { question_id }
        } else {
            SolutionStep::Answer { question_id, text }
        }
    }
}

impl crate::model::Task {
    /// The task's solution lines as steps.
    pub fn solution_steps(&self) -> impl Iterator<Item = SolutionStep<'_>> {
        self.solution.iter().map(|line| SolutionStep::parse(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_answers_and_live_answers_are_told_apart() {
        assert_eq!(
            SolutionStep::parse(" kubectl get pods "),
            SolutionStep::Command("kubectl get pods")
        );
        assert_eq!(
            SolutionStep::parse("answer guest-os guest  OS "),
            SolutionStep::Answer {
                question_id: "guest-os",
                text: "guest  OS"
            }
        );
        assert_eq!(
            SolutionStep::parse("answer pod-name {live}"),
            SolutionStep::AnswerLive {
                question_id: "pod-name"
            }
        );
        assert_eq!(
            SolutionStep::parse("answer flag"),
            SolutionStep::Answer {
                question_id: "flag",
                text: ""
            }
        );
    }

    #[test]
    fn a_command_that_starts_with_answer_text_is_still_a_command() {
        assert_eq!(
            SolutionStep::parse("answers.sh"),
            SolutionStep::Command("answers.sh")
        );
    }
}
