//! `lab scenario test`: plays every task's `solution:` lines through a fresh
//! session with real engines, the way a student would, and reports what
//! makes the scenario unsound.
//!
//! For each task, in order:
//! 1. its checks run once: a check that already passes is a defect, since
//!    it could never tell a student who did the work from one who did not;
//! 2. its solution runs: shell lines through the lab shell (recorded like a
//!    student's, so `command_ran` checks see them; a failing line is tried
//!    again each second, as a student would while an app starts), answers
//!    through the same judging the TUI uses (live answers read their value
//!    from the engine);
//! 3. every question must have accepted an answer, and every check must
//!    pass within the check timeout (pods and containers take a moment).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use lab_engine_api::{CheckOutcome, CheckSpec, EngineKind};
use lab_scenario::{AnswerRule, Judgement, LoadedScenario, Question, SolutionStep, Task};
use lab_shell::{Shell, TerminalOutput, run_script};
use serde_json::Value;

use crate::engines::{ClusterSource, LabEngines, SessionEngines, StoreRecorder};
use crate::session::{LiveRequest, Session, SessionEvent};
use crate::store::{Attempt, ProgressStore, SharedStore, lock};

/// The user a test session runs as (its prompt and its recorded lines).
const TEST_USER: &str = "instructor";

/// The status of a line stopped at the line timeout.
const TIMED_OUT: i32 = 124;

/// How a test runs.
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// How long checks may take to pass after a task's solution ran.
    pub check_timeout: Duration,
    /// The longest one solution line may run before it is stopped.
    pub line_timeout: Duration,
    /// How long the scenario's cluster may take to have every deployment
    /// ready before the first task.
    pub settle_timeout: Duration,
    /// Where the Linux guest was prepared (`lab images build`), if anywhere.
    pub guest_cache: Option<PathBuf>,
    /// Where the scenario's cluster runs (`--cluster`).
    pub cluster: ClusterSource,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            check_timeout: Duration::from_secs(60),
            line_timeout: Duration::from_secs(120),
            settle_timeout: Duration::from_secs(120),
            guest_cache: None,
            cluster: ClusterSource::Embedded,
        }
    }
}

/// What one task's run found.
#[derive(Debug, Clone)]
pub struct TaskReport {
    pub id: String,
    pub elapsed: Duration,
    pub commands: usize,
    pub answers: usize,
    pub checks: usize,
    /// Everything that makes the task unsound; empty when it is sound.
    pub defects: Vec<String>,
}

impl TaskReport {
    pub fn is_sound(&self) -> bool {
        self.defects.is_empty()
    }

    /// `3 commands, 2 answers, 1 check`, leaving out what is zero.
    pub fn summary(&self) -> String {
        let parts = [
            (self.commands, "command"),
            (self.answers, "answer"),
            (self.checks, "check"),
        ];
        let parts: Vec<String> = parts
            .iter()
            .filter(|(count, _)| *count > 0)
            .map(|(count, noun)| plural(*count, noun))
            .collect();
        match parts.is_empty() {
            true => "reading only".to_owned(),
            false => parts.join(", "),
        }
    }
}

/// What a scenario's run found.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    pub id: String,
    pub tasks: Vec<TaskReport>,
    /// Defects outside any task (engines that did not start).
    pub defects: Vec<String>,
    pub elapsed: Duration,
}

impl ScenarioReport {
    pub fn is_sound(&self) -> bool {
        self.defects.is_empty() && self.tasks.iter().all(TaskReport::is_sound)
    }
}

/// Receives task results as they finish, for progress on long runs.
pub trait Progress {
    /// Before anything runs: the scenario and the engines it starts.
    fn started(&mut self, scenario: &LoadedScenario);
    /// A line of the solution is about to run.
    fn line(&mut self, _task: &str, _line: &str) {}
    /// What a line printed and its status.
    fn output(&mut self, _text: &str, _status: i32) {}
    /// The engines are up and the cluster (if any) has settled.
    fn ready(&mut self, elapsed: Duration);
    /// A task finished.
    fn task(&mut self, index: usize, total: usize, report: &TaskReport);
}

/// Runs the scenario's solutions in a fresh session and reports.
pub async fn test_scenario(
    scenario: &LoadedScenario,
    options: &TestOptions,
    progress: &mut dyn Progress,
) -> anyhow::Result<ScenarioReport> {
    let started = Instant::now();
    progress.started(scenario);
    let data = tempfile::tempdir()?;
    let store = ProgressStore::open_in(data.path())?.shared();
    let (session, _events) =
        Session::new(tokio::runtime::Handle::current(), store.clone(), TEST_USER);
    let mut lab = LabEngines::new().with_cluster(options.cluster.clone());
    if let Some(cache) = &options.guest_cache {
        lab = lab.with_guest_cache(cache);
    }
    let mut engines = lab.start_session(&session, scenario);
    let mut run = Runner::start(scenario, session, store, &mut engines, options).await;
    let mut report = ScenarioReport {
        id: scenario.scenario.id.clone(),
        tasks: Vec::new(),
        defects: run.setup_defects(&engines).await,
        elapsed: Duration::ZERO,
    };
    progress.ready(started.elapsed());
    if report.defects.is_empty() {
        let total = scenario.scenario.tasks.len();
        for (index, task) in scenario.scenario.tasks.iter().enumerate() {
            let task_report = run.task(task, progress).await;
            progress.task(index, total, &task_report);
            report.tasks.push(task_report);
        }
    }
    engines.shutdown().await;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// One scenario's session while its solutions run.
struct Runner<'a> {
    scenario: &'a LoadedScenario,
    session: Session,
    store: SharedStore,
    shell: Shell,
    output: TerminalOutput,
    options: &'a TestOptions,
}

impl<'a> Runner<'a> {
    async fn start(
        scenario: &'a LoadedScenario,
        session: Session,
        store: SharedStore,
        engines: &mut SessionEngines,
        options: &'a TestOptions,
    ) -> Runner<'a> {
        engines.wait_for_cluster().await;
        let recorder = Arc::new(StoreRecorder::new(
            store.clone(),
            TEST_USER,
            &scenario.scenario.id,
        ));
        let (mut shell, output) = Shell::new(engines.shell_config(TEST_USER, recorder));
        for command in engines.take_late_commands() {
            shell.register(command);
        }
        Runner {
            scenario,
            session,
            store,
            shell,
            output,
            options,
        }
    }

    /// Engines the scenario needs that did not come up, and a cluster
    /// whose deployments never became ready.
    async fn setup_defects(&self, engines: &SessionEngines) -> Vec<String> {
        let scenario = self.scenario;
        let mut defects = Vec::new();
        for engine in &scenario.scenario.engines {
            if !self.session.has_probe(*engine) {
                defects.push(format!(
                    "the {engine} engine did not start (`lab doctor` says why)"
                ));
            }
        }
        if defects.is_empty()
            && scenario.scenario.engines.contains(&EngineKind::Cluster)
            && let Err(why) = self.settle_cluster(engines).await
        {
            defects.push(why);
        }
        defects
    }

    /// Waits for the deployments the scenario's manifests made.
    async fn settle_cluster(&self, engines: &SessionEngines) -> Result<(), String> {
        let unreachable = |error: lab_kubectl::ClientError| {
            format!("cannot reach the scenario's cluster: {error}")
        };
        let (client, path) = match (
            engines.cluster_kubeconfig(),
            self.options.cluster.external(),
        ) {
            (Some(kubeconfig), _) => {
                let client = lab_kubectl::ClusterClient::from_kubeconfig_yaml(&kubeconfig)
                    .await
                    .map_err(unreachable)?;
                (client, "/apis/apps/v1/deployments".to_owned())
            }
            (None, Some(external)) => {
                let namespace = engines
                    .student_namespace()
                    .ok_or("the session's namespace on the cluster was not made")?;
                let client = external.client().await.map_err(unreachable)?;
                (
                    client,
                    format!("/apis/apps/v1/namespaces/{namespace}/deployments"),
                )
            }
            (None, None) => return Err("the scenario's cluster did not start".to_owned()),
        };
        settle_deployments(&client, &path, self.options.settle_timeout).await
    }

    async fn task(&mut self, task: &Task, progress: &mut dyn Progress) -> TaskReport {
        let started = Instant::now();
        let mut report = TaskReport {
            id: task.id.clone(),
            elapsed: Duration::ZERO,
            commands: 0,
            answers: 0,
            checks: task.checks.len(),
            defects: Vec::new(),
        };
        for (number, (check, outcome)) in task
            .checks
            .iter()
            .zip(self.evaluate(&task.checks).await)
            .enumerate()
        {
            if outcome.passed {
                report.defects.push(format!(
                    "check {} ({}) passes before the solution ran, so it cannot fail: {}",
                    number + 1,
                    check_kind(check),
                    outcome.detail
                ));
            }
        }
        for step in task.solution_steps() {
            let (question_id, text) = match step {
                SolutionStep::Command(line) => {
                    report.commands += 1;
                    progress.line(&task.id, line);
                    let (status, text) = self.run_line_until_it_succeeds(line, progress).await;
                    if status != 0 {
                        report.defects.push(format!(
                            "solution line `{line}` exited with status {status}{}",
                            tail(&text)
                        ));
                    }
                    continue;
                }
                SolutionStep::Answer { question_id, text } => (question_id, Some(text)),
                SolutionStep::AnswerLive { question_id } => (question_id, None),
            };
            report.answers += 1;
            let shown = text.unwrap_or(lab_scenario::solution::LIVE_PLACEHOLDER);
            progress.line(&task.id, &format!("answer {question_id} {shown}"));
            if let Err(defect) = self.answer(task, question_id, text).await {
                report.defects.push(defect);
            }
        }
        for question in &task.questions {
            if !has_answer_line(task, &question.id) {
                report.defects.push(format!(
                    "question `{}` has no `answer` line in the solution",
                    question.id
                ));
            }
        }
        for (number, (check, outcome)) in task
            .checks
            .iter()
            .zip(self.wait_for_checks(&task.checks).await)
            .enumerate()
        {
            if !outcome.passed {
                report.defects.push(format!(
                    "check {} ({}) still fails after the solution ran: {}",
                    number + 1,
                    check_kind(check),
                    outcome.detail
                ));
            }
        }
        report.elapsed = started.elapsed();
        report
    }

    /// Runs a line, and again each second while it fails, until the check
    /// timeout: like a student who retries `curl` while the app starts.
    /// The last status and output are returned.
    async fn run_line_until_it_succeeds(
        &mut self,
        line: &str,
        progress: &mut dyn Progress,
    ) -> (i32, String) {
        let deadline = Instant::now() + self.options.check_timeout;
        loop {
            let (status, text) = self.run_line(line).await;
            progress.output(&text, status);
            if status == 0 || status == TIMED_OUT || Instant::now() >= deadline {
                return (status, text);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Runs one line through the lab shell; its status and what it printed.
    /// A line still running after the line timeout (`kubectl get pods -w`,
    /// a long `sleep`) is stopped with status 124, as `timeout` reports it.
    async fn run_line(&mut self, line: &str) -> (i32, String) {
        let mut printed = Vec::new();
        let run = run_script(
            &mut self.shell,
            &mut self.output,
            line.as_bytes(),
            &mut printed,
            false,
        );
        let limit = self.options.line_timeout;
        let status = match tokio::time::timeout(limit, run).await {
            Ok(status) => status,
            Err(_) => {
                let note = format!("\n(stopped: still running after {}s)\n", limit.as_secs());
                printed.extend_from_slice(note.as_bytes());
                TIMED_OUT
            }
        };
        (status, String::from_utf8_lossy(&printed).into_owned())
    }

    async fn evaluate(&self, checks: &[CheckSpec]) -> Vec<CheckOutcome> {
        let mut outcomes = Vec::with_capacity(checks.len());
        for check in checks {
            outcomes.push(
                self.session
                    .check_now(&self.scenario.scenario.id, check)
                    .await,
            );
        }
        outcomes
    }

    /// Evaluates the checks until all pass or the check timeout ends, like
    /// the TUI re-running open checks on each tick.
    async fn wait_for_checks(&self, checks: &[CheckSpec]) -> Vec<CheckOutcome> {
        let deadline = Instant::now() + self.options.check_timeout;
        loop {
            let outcomes = self.evaluate(checks).await;
            if outcomes.iter().all(|o| o.passed) || Instant::now() >= deadline {
                return outcomes;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Answers a question with `text`, or with the value its live source
    /// reports when `text` is `None`; a defect when it is not accepted.
    async fn answer(
        &self,
        task: &Task,
        question_id: &str,
        text: Option<&str>,
    ) -> Result<(), String> {
        let Some(question) = task.questions.iter().find(|q| q.id == question_id) else {
            return Err(format!(
                "the solution answers `{question_id}`, which is not a question of this task"
            ));
        };
        let text = match text {
            Some(text) => text.to_owned(),
            None => self.live_answer(question).await?,
        };
        match question.answer.judge(&text, None) {
            Judgement::Correct => self.record(task, question, &text),
            Judgement::Wrong { reason } => Err(format!(
                "question `{question_id}` rejects the solution's answer `{text}`{}",
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            )),
            Judgement::NeedsLive => self.judge_live(task, question, text).await,
        }
    }

    /// The first value the question's live source reports, retried while
    /// the environment catches up.
    async fn live_answer(&self, question: &Question) -> Result<String, String> {
        let AnswerRule::Live(spec) = &question.answer else {
            return Err(format!(
                "the solution gives `{{live}}` for `{}`, which is not a live question",
                question.id
            ));
        };
        let deadline = Instant::now() + self.options.check_timeout;
        loop {
            let why = match self.session.live_values(spec).await {
                Ok(values) if !values.is_empty() => return Ok(values[0].clone()),
                Ok(_) => "its live source reports no value".to_owned(),
                Err(error) => error,
            };
            if Instant::now() >= deadline {
                return Err(format!(
                    "question `{}` cannot be answered: {why}",
                    question.id
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn judge_live(
        &self,
        task: &Task,
        question: &Question,
        text: String,
    ) -> Result<(), String> {
        let request = LiveRequest {
            scenario: self.scenario.scenario.id.clone(),
            task: task.id.clone(),
            question: question.id.clone(),
            rule: question.answer.clone(),
            answer: text.clone(),
            points: question.points,
        };
        match self.session.judge_live_now(request).await {
            SessionEvent::LiveJudged(verdict) if verdict.correct => Ok(()),
            SessionEvent::LiveJudged(verdict) => Err(format!(
                "question `{}` rejects the solution's answer `{text}`{}",
                question.id,
                verdict.reason.map(|r| format!(": {r}")).unwrap_or_default()
            )),
            SessionEvent::LiveUnavailable { message, .. } => Err(format!(
                "question `{}` could not be judged: {message}",
                question.id
            )),
            SessionEvent::StoreFailed { message } => Err(format!("progress not saved: {message}")),
            other => Err(format!("unexpected answer from the session: {other:?}")),
        }
    }

    /// Records a correct typed answer as the TUI does.
    fn record(&self, task: &Task, question: &Question, text: &str) -> Result<(), String> {
        let attempt = Attempt {
            user: TEST_USER.to_owned(),
            scenario: self.scenario.scenario.id.clone(),
            task: task.id.clone(),
            question: question.id.clone(),
            answer: text.to_owned(),
            correct: true,
            points: question.points,
            at: SystemTime::now(),
        };
        lock(&self.store)
            .and_then(|store| store.record_attempt(&attempt))
            .map_err(|error| format!("progress not saved: {error}"))
    }
}

/// Whether the task's solution has an `answer` line for `question` (a
/// rejected answer is reported as such, not as missing).
fn has_answer_line(task: &Task, question: &str) -> bool {
    task.solution_steps().any(|step| match step {
        SolutionStep::Answer { question_id, .. } | SolutionStep::AnswerLive { question_id } => {
            question_id == question
        }
        SolutionStep::Command(_) => false,
    })
}

/// Waits until every deployment of the session's cluster (on an external
/// cluster: of the session's namespace) has all its replicas ready, so that
/// checks judged "before the solution" see the settled start state.
async fn settle_deployments(
    client: &lab_kubectl::ClusterClient,
    path: &str,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let waiting = match client.get(path).await {
            Ok(list) => unready_deployments(&list),
            Err(error) => vec![error.to_string()],
        };
        if waiting.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the cluster did not settle within {}s: not ready: {}",
                timeout.as_secs(),
                waiting.join(", ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `namespace/name` of each deployment with fewer ready replicas than it
/// asks for.
fn unready_deployments(list: &Value) -> Vec<String> {
    let items = list["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    items
        .iter()
        .filter(|item| {
            let wanted = item["spec"]["replicas"].as_u64().unwrap_or(1);
            let ready = item["status"]["readyReplicas"].as_u64().unwrap_or(0);
            ready < wanted
        })
        .map(|item| {
            let meta = &item["metadata"];
            format!(
                "{}/{}",
                meta["namespace"].as_str().unwrap_or("default"),
                meta["name"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// The `kind` a check was written with.
fn check_kind(check: &CheckSpec) -> String {
    serde_json::to_value(check)
        .ok()
        .and_then(|value| value["kind"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "check".to_owned())
}

/// The last lines a failing line printed, for its defect.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(3);
    let mut out = String::new();
    for line in &lines[start..] {
        let _ = write!(out, "\n      | {}", strip_ansi(line));
    }
    out
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else if !c.is_control() || c == '\t' {
            out.push(c);
        }
    }
    out
}

fn plural(count: usize, noun: &str) -> String {
    match count {
        1 => format!("1 {noun}"),
        _ => format!("{count} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployments_short_of_ready_replicas_are_named() {
        let list = json!({"items": [
            {"metadata": {"namespace": "default", "name": "web"},
             "spec": {"replicas": 2}, "status": {"readyReplicas": 1}},
            {"metadata": {"namespace": "default", "name": "done"},
             "spec": {"replicas": 1}, "status": {"readyReplicas": 1}},
            {"metadata": {"namespace": "kube-system", "name": "new"}, "spec": {}},
        ]});
        assert_eq!(
            unready_deployments(&list),
            vec!["default/web".to_owned(), "kube-system/new".to_owned()]
        );
        assert!(unready_deployments(&json!({"items": []})).is_empty());
    }

    #[test]
    fn failing_output_is_quoted_without_escapes() {
        let text = "one\n\n\x1b[31mtwo\x1b[0m\nthree\nfour\n";
        assert_eq!(tail(text), "\n      | two\n      | three\n      | four");
    }

    #[test]
    fn summaries_leave_out_what_a_task_lacks() {
        let mut report = TaskReport {
            id: "t".to_owned(),
            elapsed: Duration::ZERO,
            commands: 0,
            answers: 0,
            checks: 0,
            defects: Vec::new(),
        };
        assert_eq!(report.summary(), "reading only");
        report.commands = 1;
        report.answers = 2;
        assert_eq!(report.summary(), "1 command, 2 answers");
    }

    #[test]
    fn check_kinds_are_the_names_authors_write() {
        let check = CheckSpec::CommandRan {
            pattern: "x".to_owned(),
            succeeded: true,
        };
        assert_eq!(check_kind(&check), "command_ran");
    }
}
