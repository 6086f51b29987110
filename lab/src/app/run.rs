//! The state of one scenario in progress: which tasks are done, what each
//! answer box holds, which hints are shown, what the checks said.
//!
//! This is plain data with no I/O; [`App`](super::App) records changes in the
//! progress store before applying them here.

use std::collections::BTreeMap;

use lab_engine_api::CheckOutcome;
use lab_scenario::{LoadedScenario, Question, Task};

use crate::store::{HintScope, ScenarioProgress};

/// How a task appears in the task list.
///
/// Tasks open in order: the next one opens once every question of this one
/// is answered (a task without questions: once it is done). A task is done
/// when its hands-on checks pass too, so a learner whose lab lacks an engine
/// can still read on while the checks wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskMark {
    Done,
    /// Questions answered, hands-on checks not passing yet.
    ChecksOpen,
    /// The first task whose questions are not all answered.
    Current,
    Locked,
}

/// The last thing said about an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feedback {
    Correct {
        points: u32,
    },
    Wrong {
        answer: String,
        reason: Option<String>,
    },
    /// Sent to an engine; the verdict has not arrived yet.
    Checking,
    /// Could not be judged now (no engine); nothing was recorded.
    Waiting(String),
}

/// One answer box.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuestionState {
    pub input: String,
    /// Cursor position in characters.
    pub cursor: usize,
    /// The accepted answer and the points it won.
    pub accepted: Option<(String, u32)>,
    pub feedback: Option<Feedback>,
    pub hints_shown: u32,
}

impl QuestionState {
    pub fn is_open(&self) -> bool {
        self.accepted.is_none() && self.feedback != Some(Feedback::Checking)
    }

    pub fn insert(&mut self, text: &str) {
        let at = self.byte_at(self.cursor);
        self.input.insert_str(at, text);
        self.cursor += text.chars().count();
    }

    pub fn backspace(&mut self) {
        if self.cursor == 0 {
            return;
        }
        self.cursor -= 1;
        let at = self.byte_at(self.cursor);
        self.input.remove(at);
    }

    pub fn delete(&mut self) {
        if self.cursor < self.input.chars().count() {
            let at = self.byte_at(self.cursor);
            self.input.remove(at);
        }
    }

    pub fn move_cursor(&mut self, to: usize) {
        self.cursor = to.min(self.input.chars().count());
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.input
            .char_indices()
            .nth(chars)
            .map_or(self.input.len(), |(at, _)| at)
    }
}

/// A task's mutable state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskState {
    pub done: bool,
    /// The latest outcome of each check, `None` before the first run.
    pub checks: Vec<Option<CheckOutcome>>,
    pub checks_pending: bool,
    pub hints_shown: u32,
}

/// A scenario being worked through.
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    pub loaded: LoadedScenario,
    pub tasks: Vec<TaskState>,
    pub questions: BTreeMap<String, QuestionState>,
    /// The task shown in the lesson and question panes.
    pub viewed: usize,
    /// The selected question of the viewed task.
    pub selected: usize,
}

impl ScenarioRun {
    /// The scenario with the recorded progress applied.
    pub fn resume(loaded: LoadedScenario, progress: &ScenarioProgress) -> Self {
        let tasks = loaded
            .scenario
            .tasks
            .iter()
            .map(|task| task_state(task, progress))
            .collect();
        let questions = loaded
            .scenario
            .tasks
            .iter()
            .flat_map(|task| &task.questions)
            .map(|question| (question.id.clone(), question_state(question, progress)))
            .collect();
        let mut run = ScenarioRun {
            loaded,
            tasks,
            questions,
            viewed: 0,
            selected: 0,
        };
        run.viewed = run.resume_position(progress.position.as_deref());
        run.selected = run.first_open_question();
        run
    }

    pub fn id(&self) -> &str {
        &self.loaded.scenario.id
    }

    pub fn task(&self, index: usize) -> Option<&Task> {
        self.loaded.scenario.tasks.get(index)
    }

    pub fn viewed_task(&self) -> Option<&Task> {
        self.task(self.viewed)
    }

    /// The first task that keeps later ones locked; `None` when every task
    /// is open.
    pub fn current(&self) -> Option<usize> {
        (0..self.tasks.len()).find(|index| !self.opens_next(*index))
    }

    /// True when every task is done, checks included.
    pub fn is_finished(&self) -> bool {
        self.tasks.iter().all(|task| task.done)
    }

    /// Whether the task at `index` lets the next one open.
    fn opens_next(&self, index: usize) -> bool {
        let (Some(task), Some(state)) = (self.task(index), self.tasks.get(index)) else {
            return false;
        };
        state.done || (!task.questions.is_empty() && self.all_answered(task))
    }

    fn all_answered(&self, task: &Task) -> bool {
        task.questions.iter().all(|q| {
            self.questions
                .get(&q.id)
                .is_some_and(|s| s.accepted.is_some())
        })
    }

    /// A task with nothing to answer or check: done when the learner
    /// presses Enter.
    pub fn is_reading_only(&self, index: usize) -> bool {
        self.task(index)
            .is_some_and(|t| t.questions.is_empty() && t.checks.is_empty())
    }

    pub fn mark(&self, index: usize) -> TaskMark {
        let done = self.tasks.get(index).is_some_and(|t| t.done);
        let frontier = self.current().unwrap_or(self.tasks.len());
        match index.cmp(&frontier) {
            _ if done => TaskMark::Done,
            std::cmp::Ordering::Less => TaskMark::ChecksOpen,
            std::cmp::Ordering::Equal => TaskMark::Current,
            std::cmp::Ordering::Greater => TaskMark::Locked,
        }
    }

    /// Done and current tasks can be viewed; later ones stay locked.
    pub fn can_view(&self, index: usize) -> bool {
        index < self.tasks.len() && self.mark(index) != TaskMark::Locked
    }

    pub fn selected_question(&self) -> Option<&Question> {
        self.viewed_task()
            .and_then(|task| task.questions.get(self.selected))
    }

    pub fn selected_state_mut(&mut self) -> Option<&mut QuestionState> {
        let id = self.selected_question()?.id.clone();
        self.questions.get_mut(&id)
    }

    pub fn state_of(&self, question: &Question) -> Option<&QuestionState> {
        self.questions.get(&question.id)
    }

    pub fn points(&self) -> u32 {
        self.questions
            .values()
            .filter_map(|q| q.accepted.as_ref())
            .map(|(_, p)| *p)
            .sum()
    }

    pub fn total_points(&self) -> u32 {
        self.loaded
            .scenario
            .tasks
            .iter()
            .flat_map(|t| &t.questions)
            .map(|q| q.points)
            .sum()
    }

    pub fn tasks_done(&self) -> usize {
        self.tasks.iter().filter(|task| task.done).count()
    }

    /// True when every question of the task is answered and every check
    /// passed: the task can be recorded as done.
    pub fn is_complete(&self, index: usize) -> bool {
        let (Some(task), Some(state)) = (self.task(index), self.tasks.get(index)) else {
            return false;
        };
        let answered = self.all_answered(task);
        let checked = state.checks.len() == task.checks.len()
            && state
                .checks
                .iter()
                .all(|c| c.as_ref().is_some_and(|c| c.passed));
        answered && checked
    }

    /// The first unanswered question of the viewed task, or the first.
    pub fn first_open_question(&self) -> usize {
        let Some(task) = self.viewed_task() else {
            return 0;
        };
        task.questions
            .iter()
            .position(|q| {
                self.questions
                    .get(&q.id)
                    .is_some_and(|s| s.accepted.is_none())
            })
            .unwrap_or(0)
    }

    /// The hint scope the hint key reveals next: the selected question's
    /// while it has hidden hints, else the task's.
    pub fn next_hint_scope(&self) -> Option<(HintScope<'_>, u32)> {
        let task = self.viewed_task()?;
        if let Some(question) = self.selected_question() {
            let shown = self.state_of(question).map_or(0, |s| s.hints_shown);
            if count(question.hints.len()) > shown {
                return Some((HintScope::Question(&question.id), shown + 1));
            }
        }
        let shown = self.tasks.get(self.viewed).map_or(0, |t| t.hints_shown);
        (count(task.hints.len()) > shown).then_some((HintScope::Task(&task.id), shown + 1))
    }

    fn resume_position(&self, position: Option<&str>) -> usize {
        let recorded = position
            .and_then(|id| {
                self.loaded
                    .scenario
                    .tasks
                    .iter()
                    .position(|task| task.id == id)
            })
            .filter(|index| self.can_view(*index));
        recorded
            .or(self.current())
            .unwrap_or(self.tasks.len().saturating_sub(1))
    }
}

/// A length as a hint count; scenarios never hold 4 billion hints.
pub fn count(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn task_state(task: &Task, progress: &ScenarioProgress) -> TaskState {
    TaskState {
        done: progress.tasks_done.contains(&task.id),
        checks: vec![None; task.checks.len()],
        checks_pending: false,
        hints_shown: progress
            .hints
            .get(&HintScope::Task(&task.id).key())
            .copied()
            .unwrap_or(0),
    }
}

fn question_state(question: &Question, progress: &ScenarioProgress) -> QuestionState {
    let accepted = progress.answered.get(&question.id).cloned();
    let feedback = accepted
        .as_ref()
        .map(|(_, points)| Feedback::Correct { points: *points });
    let input = accepted
        .as_ref()
        .map(|(answer, _)| answer.clone())
        .unwrap_or_default();
    let key = HintScope::Question(&question.id).key();
    QuestionState {
        cursor: input.chars().count(),
        input,
        accepted,
        feedback,
        hints_shown: progress.hints.get(&key).copied().unwrap_or(0),
    }
}
