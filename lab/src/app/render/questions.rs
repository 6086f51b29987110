//! The questions pane: each question of the viewed task with its answer
//! box, feedback and revealed hints; then the task's checks and hints.

use lab_engine_api::CheckOutcome;
use lab_scenario::{AnswerRule, Question, Task};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Wrap};

use super::pane_block;
use crate::app::layout::{Areas, inner};
use crate::app::run::{Feedback, QuestionState, ScenarioRun, TaskMark, TaskState};
use crate::app::{App, Focus, Theme};

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let focused = app.focus() == Focus::Questions;
    let (text, selected) = content(app);
    let inside = inner(area);
    let scroll = if focused {
        follow(&text, selected, app.questions_scroll, inside)
    } else {
        app.questions_scroll
    };
    let paragraph = Paragraph::new(text).wrap(Wrap { trim: false });
    let max = max_scroll_for(&paragraph, inside);
    let block = pane_block(app.theme, " Questions ".to_owned(), focused);
    frame.render_widget(paragraph.scroll((scroll.min(max), 0)).block(block), area);
}

/// The furthest the questions can scroll in the current layout.
pub fn max_scroll(app: &App) -> u16 {
    let areas = Areas::compute(app.size(), Focus::Questions);
    let paragraph = Paragraph::new(content(app).0).wrap(Wrap { trim: false });
    areas
        .questions
        .map_or(0, |area| max_scroll_for(&paragraph, inner(area)))
}

fn max_scroll_for(paragraph: &Paragraph<'_>, inner: Rect) -> u16 {
    let lines = u16::try_from(paragraph.line_count(inner.width)).unwrap_or(u16::MAX);
    lines.saturating_sub(inner.height)
}

/// Moves `scroll` the least needed to show the selected question's lines
/// (`selected` holds their range in `text`, before wrapping).
fn follow(text: &Text<'_>, selected: Option<(usize, usize)>, scroll: u16, inner: Rect) -> u16 {
    let Some((first, end)) = selected else {
        return scroll;
    };
    let rows = |range: std::ops::Range<usize>| -> u16 {
        let lines = text.lines.get(range).unwrap_or_default().to_vec();
        let count = Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .line_count(inner.width);
        u16::try_from(count).unwrap_or(u16::MAX)
    };
    let top = rows(0..first);
    let bottom = top.saturating_add(rows(first..end));
    if bottom > scroll.saturating_add(inner.height) {
        bottom.saturating_sub(inner.height).min(top)
    } else {
        scroll.min(top)
    }
}

/// The pane's text and the line range of the selected question.
fn content(app: &App) -> (Text<'static>, Option<(usize, usize)>) {
    match app.run() {
        Some(run) => task_text(app, run),
        None => (Text::default(), None),
    }
}

fn task_text(app: &App, run: &ScenarioRun) -> (Text<'static>, Option<(usize, usize)>) {
    let (Some(task), Some(state)) = (run.viewed_task(), run.tasks.get(run.viewed)) else {
        return (Text::default(), None);
    };
    let theme = app.theme;
    let mut lines = Vec::new();
    let mut selected_range = None;
    let typing = app.focus() == Focus::Questions;
    for (index, question) in task.questions.iter().enumerate() {
        let Some(answer) = run.state_of(question) else {
            continue;
        };
        let first = lines.len();
        question_lines(
            app,
            question,
            answer,
            index == run.selected && typing,
            &mut lines,
        );
        if index == run.selected {
            selected_range = Some((first, lines.len()));
        }
        lines.push(Line::default());
    }
    checks_lines(task, state, theme, &mut lines);
    task_hint_lines(task, state, theme, &mut lines);
    footer_lines(run, task, state, theme, &mut lines);
    (Text::from(lines), selected_range)
}

fn question_lines(
    app: &App,
    question: &Question,
    state: &QuestionState,
    active: bool,
    lines: &mut Vec<Line<'static>>,
) {
    let theme = app.theme;
    let marker = if active { "▶ " } else { "  " };
    let points = if question.points == 1 {
        "1 point".to_owned()
    } else {
        format!("{} points", question.points)
    };
    lines.push(Line::from(vec![
        Span::styled(format!("{marker}{}", question.prompt), theme.heading()),
        Span::styled(format!("  ({points})"), theme.muted()),
    ]));
    if let AnswerRule::Choice(choice) = &question.answer {
        for (index, option) in choice.options.iter().enumerate() {
            lines.push(Line::raw(format!("    {}) {option}", option_letter(index))));
        }
    }
    lines.push(answer_box(state, active, theme));
    live_notice(app, question, state, lines);
    if let Some(feedback) = &state.feedback {
        lines.push(feedback_line(feedback, theme));
    }
    explanation(question, state, theme, lines);
    for (index, hint) in question
        .hints
        .iter()
        .take(usize_of(state.hints_shown))
        .enumerate()
    {
        lines.push(Line::styled(
            format!("    Hint {}: {hint}", index + 1),
            theme.accent(),
        ));
    }
}

fn option_letter(index: usize) -> char {
    u8::try_from(index)
        .ok()
        .and_then(|i| b'a'.checked_add(i))
        .map_or('?', char::from)
}

fn usize_of(count: u32) -> usize {
    usize::try_from(count).unwrap_or(usize::MAX)
}

/// `  > answer` with a block cursor where the next character goes.
fn answer_box(state: &QuestionState, active: bool, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::styled("    > ", theme.muted())];
    if !(active && state.is_open()) {
        let shown = if state.input.is_empty() {
            "…".to_owned()
        } else {
            state.input.clone()
        };
        spans.push(Span::raw(shown));
        return Line::from(spans);
    }
    let before: String = state.input.chars().take(state.cursor).collect();
    let at: String = state
        .input
        .chars()
        .nth(state.cursor)
        .map_or(" ".to_owned(), String::from);
    let after: String = state.input.chars().skip(state.cursor + 1).collect();
    spans.extend([
        Span::raw(before),
        Span::styled(at, theme.selected()),
        Span::raw(after),
    ]);
    Line::from(spans)
}

/// A live question without its engine says so before anything is typed.
fn live_notice(
    app: &App,
    question: &Question,
    state: &QuestionState,
    lines: &mut Vec<Line<'static>>,
) {
    let AnswerRule::Live(spec) = &question.answer else {
        return;
    };
    let engine = spec.engine();
    if state.accepted.is_none() && state.feedback.is_none() && !app.session().has_probe(engine) {
        let text =
            format!("    (checked against your environment: waiting for the {engine} engine)");
        lines.push(Line::styled(text, app.theme.muted()));
    }
}

fn feedback_line(feedback: &Feedback, theme: Theme) -> Line<'static> {
    match feedback {
        Feedback::Correct { points } => {
            let unit = if *points == 1 { "point" } else { "points" };
            Line::styled(format!("    ✓ Correct! +{points} {unit}"), theme.good())
        }
        Feedback::Wrong { answer, reason } => {
            let why = reason.as_ref().map_or(String::new(), |r| format!(" ({r})"));
            Line::styled(
                format!("    ✗ \"{answer}\" is not right{why}. Try again."),
                theme.bad(),
            )
        }
        Feedback::Checking => {
            Line::styled("    … checking against your environment", theme.muted())
        }
        Feedback::Waiting(message) => Line::styled(format!("    ⧗ {message}"), theme.accent()),
    }
}

fn explanation(
    question: &Question,
    state: &QuestionState,
    theme: Theme,
    lines: &mut Vec<Line<'static>>,
) {
    if let (Some(text), Some(_)) = (&question.explanation, &state.accepted) {
        lines.push(Line::styled(format!("    {text}"), theme.muted()));
    }
}

fn checks_lines(task: &Task, state: &TaskState, theme: Theme, lines: &mut Vec<Line<'static>>) {
    if task.checks.is_empty() {
        return;
    }
    lines.push(Line::styled("Hands-on checks", theme.heading()));
    for (index, check) in task.checks.iter().enumerate() {
        let outcome = state.checks.get(index).cloned().flatten();
        lines.push(check_line(
            &describe(check),
            outcome.as_ref(),
            state.checks_pending,
            theme,
        ));
    }
    lines.push(Line::default());
}

fn check_line(
    what: &str,
    outcome: Option<&CheckOutcome>,
    pending: bool,
    theme: Theme,
) -> Line<'static> {
    match outcome {
        Some(o) if o.passed => Line::styled(format!("  ✓ {what}: {}", o.detail), theme.good()),
        Some(o) => Line::from(vec![
            Span::styled(format!("  ✗ {what}: "), theme.bad()),
            Span::raw(o.detail.clone()),
        ]),
        None if pending => Line::styled(format!("  … {what}: checking"), theme.muted()),
        None => Line::styled(format!("  · {what}: not checked yet"), theme.muted()),
    }
}

/// A one-line description of a check for the learner.
fn describe(check: &lab_engine_api::CheckSpec) -> String {
    use lab_engine_api::CheckSpec as C;
    match check {
        C::CommandRan { pattern, .. } => format!("run a command matching `{pattern}`"),
        C::ContainerRunning { image, .. } => format!("a container from {image} is running"),
        C::Http { port, path, .. } => format!("http://localhost:{port}{path} answers"),
        C::ResourceExists { resource, .. } => format!("a {resource} exists"),
        C::ResourceCount { resource, .. } => format!("the number of {resource}s"),
        C::ResourceField {
            resource,
            name,
            path,
            ..
        } => format!("{resource}/{name} {path}"),
        C::PodsReady { count, .. } => format!("{count} pod(s) ready"),
        C::VmRunning { .. } => "the VM is running".to_owned(),
        C::ConsoleMatches { .. } => "the VM console shows the expected output".to_owned(),
        C::ExitCount { counter, at_least } => format!("{counter} exits reach {at_least}"),
    }
}

fn task_hint_lines(task: &Task, state: &TaskState, theme: Theme, lines: &mut Vec<Line<'static>>) {
    for (index, hint) in task
        .hints
        .iter()
        .take(usize_of(state.hints_shown))
        .enumerate()
    {
        lines.push(Line::styled(
            format!("Hint {}: {hint}", index + 1),
            theme.accent(),
        ));
    }
}

fn footer_lines(
    run: &ScenarioRun,
    task: &Task,
    state: &TaskState,
    theme: Theme,
    lines: &mut Vec<Line<'static>>,
) {
    match run.mark(run.viewed) {
        TaskMark::Done => lines.push(Line::styled("✓ Task complete.", theme.good())),
        TaskMark::ChecksOpen => lines.push(Line::styled(
            "All questions answered. The hands-on checks are still open; \
             press n to read on meanwhile.",
            theme.accent(),
        )),
        _ if task.questions.is_empty() && task.checks.is_empty() => lines.push(Line::raw(
            "Nothing to answer here: press Enter to continue.",
        )),
        _ => {}
    }
    if run.is_finished() {
        lines.push(Line::styled("Scenario complete. Well done!", theme.good()));
    }
    if run.next_hint_scope().is_some() {
        let left = if state.done {
            ""
        } else {
            " (no points are lost)"
        };
        lines.push(Line::styled(
            format!("A hint is available: press F2{left}."),
            theme.muted(),
        ));
    }
}
