//! The slow half of a learner's session: checks and live answers.
//!
//! The [`App`](crate::app::App) never waits. When it needs an engine (a
//! hands-on check, the expected value of a live question) it asks the
//! [`Session`], which runs the work on the tokio runtime and sends a
//! [`SessionEvent`] back through a channel; the driver feeds those events to
//! `App::handle_event`. Engines are reached only through
//! [`lab_engine_api::Probe`] trait objects attached with
//! [`Session::attach_probe`]; without a probe, the answer says which engine
//! is missing instead of guessing.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use lab_engine_api::{CheckOutcome, CheckSpec, EngineKind, EngineStatus, LiveValueSpec, Probe};
use lab_scenario::{AnswerRule, Judgement};
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use crate::store::{Attempt, SharedStore, StoreError, lock};

/// What the background work reports to the App.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// A live question was judged; the attempt is already in the store.
    LiveJudged(LiveVerdict),
    /// A live question could not be judged: no engine, or it failed.
    LiveUnavailable { question: String, message: String },
    /// The checks of a task were evaluated, in the order the task lists them.
    ChecksEvaluated {
        task: String,
        outcomes: Vec<CheckOutcome>,
    },
    /// An engine came up, went away or changed state.
    Engine(EngineStatus),
    /// Recording progress failed; shown in the status line.
    StoreFailed { message: String },
}

/// The recorded verdict on a live answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveVerdict {
    pub question: String,
    pub answer: String,
    pub correct: bool,
    pub points: u32,
    pub reason: Option<String>,
}

/// A live question to judge, with what is needed to record the attempt.
#[derive(Debug, Clone)]
pub struct LiveRequest {
    pub scenario: String,
    pub task: String,
    pub question: String,
    pub rule: AnswerRule,
    pub answer: String,
    /// Points a correct answer wins.
    pub points: u32,
}

/// A handle to one learner's background work; cheap to clone.
#[derive(Clone)]
pub struct Session {
    runtime: Handle,
    events: mpsc::UnboundedSender<SessionEvent>,
    probes: Arc<RwLock<BTreeMap<EngineKind, Arc<dyn Probe>>>>,
    store: SharedStore,
    user: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session for `user` whose work runs on `runtime`. The receiver gets
    /// every [`SessionEvent`]; the driver passes them to the App.
    pub fn new(
        runtime: Handle,
        store: SharedStore,
        user: impl Into<String>,
    ) -> (Session, mpsc::UnboundedReceiver<SessionEvent>) {
        let (events, receiver) = mpsc::unbounded_channel();
        let probes = Arc::new(RwLock::new(BTreeMap::new()));
        (
            Session {
                runtime,
                events,
                probes,
                store,
                user: user.into(),
            },
            receiver,
        )
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    /// The runtime background work runs on; engine wiring spawns its slow
    /// start-up here.
    pub fn runtime(&self) -> &Handle {
        &self.runtime
    }

    /// Makes an engine available to this session's checks and live answers,
    /// replacing any probe of the same engine.
    pub fn attach_probe(&self, probe: Arc<dyn Probe>) {
        if let Ok(mut probes) = self.probes.write() {
            probes.insert(probe.engine(), probe);
        }
    }

    /// Forgets the probe of `engine` (the engine stopped).
    pub fn detach_probe(&self, engine: EngineKind) {
        if let Ok(mut probes) = self.probes.write() {
            probes.remove(&engine);
        }
    }

    pub fn has_probe(&self, engine: EngineKind) -> bool {
        self.probe(engine).is_some()
    }

    /// Sends an event to the App as if background work produced it (used by
    /// engine wiring to report status).
    pub fn notify(&self, event: SessionEvent) {
        // The App is gone when the receiver is closed; nothing to tell.
        let _ = self.events.send(event);
    }

    /// Judges a live question in the background. The attempt is recorded
    /// before [`SessionEvent::LiveJudged`] is sent.
    pub fn judge_live(&self, request: LiveRequest) {
        let session = self.clone();
        self.runtime.spawn(async move {
            let event = session.judge_live_request(request).await;
            session.notify(event);
        });
    }

    /// Evaluates a task's checks in the background and reports
    /// [`SessionEvent::ChecksEvaluated`].
    pub fn evaluate_checks(&self, scenario: &str, task: &str, checks: Vec<CheckSpec>) {
        let session = self.clone();
        let (scenario, task) = (scenario.to_owned(), task.to_owned());
        self.runtime.spawn(async move {
            let mut outcomes = Vec::with_capacity(checks.len());
            for check in &checks {
                outcomes.push(session.evaluate_check(&scenario, check).await);
            }
            session.notify(SessionEvent::ChecksEvaluated { task, outcomes });
        });
    }

    /// Evaluates one check now, as the background work does for the App.
    pub async fn check_now(&self, scenario: &str, check: &CheckSpec) -> CheckOutcome {
        self.evaluate_check(scenario, check).await
    }

    /// Judges a live question now and records the attempt, as
    /// [`Session::judge_live`] does in the background.
    pub async fn judge_live_now(&self, request: LiveRequest) -> SessionEvent {
        self.judge_live_request(request).await
    }

    /// The values a live question accepts right now, or why there are none.
    pub async fn live_values(&self, spec: &LiveValueSpec) -> Result<Vec<String>, String> {
        let Some(probe) = self.probe(spec.engine()) else {
            return Err(format!("the {} engine is not running", spec.engine()));
        };
        probe
            .live_values(spec)
            .await
            .map_err(|error| error.to_string())
    }

    fn probe(&self, engine: EngineKind) -> Option<Arc<dyn Probe>> {
        self.probes
            .read()
            .ok()
            .and_then(|probes| probes.get(&engine).cloned())
    }

    async fn judge_live_request(&self, request: LiveRequest) -> SessionEvent {
        let unavailable = |message: String| SessionEvent::LiveUnavailable {
            question: request.question.clone(),
            message,
        };
        let AnswerRule::Live(spec) = &request.rule else {
            return unavailable("this question is not a live question".to_owned());
        };
        let Some(probe) = self.probe(spec.engine()) else {
            return unavailable(format!("waiting for the {} engine", spec.engine()));
        };
        let values = match probe.live_values(spec).await {
            Ok(values) => values,
            Err(error) => return unavailable(error.to_string()),
        };
        let verdict = verdict_of(&request, request.rule.judge(&request.answer, Some(&values)));
        match self.record_live(&request, &verdict) {
            Ok(()) => SessionEvent::LiveJudged(verdict),
            Err(error) => SessionEvent::StoreFailed {
                message: error.to_string(),
            },
        }
    }

    fn record_live(&self, request: &LiveRequest, verdict: &LiveVerdict) -> Result<(), StoreError> {
        lock(&self.store)?.record_attempt(&Attempt {
            user: self.user.clone(),
            scenario: request.scenario.clone(),
            task: request.task.clone(),
            question: request.question.clone(),
            answer: request.answer.clone(),
            correct: verdict.correct,
            points: verdict.points,
            at: SystemTime::now(),
        })
    }

    async fn evaluate_check(&self, scenario: &str, check: &CheckSpec) -> CheckOutcome {
        match check {
            CheckSpec::CommandRan { pattern, succeeded } => {
                self.command_ran(scenario, pattern, *succeeded)
            }
            other => self.engine_check(other).await,
        }
    }

    async fn engine_check(&self, check: &CheckSpec) -> CheckOutcome {
        let Some(engine) = check.engine() else {
            return CheckOutcome::fail("this check has no engine");
        };
        let Some(probe) = self.probe(engine) else {
            return CheckOutcome::fail(format!("needs the {engine} engine"));
        };
        match probe.check(check).await {
            Ok(outcome) => outcome,
            Err(error) => CheckOutcome::fail(error.to_string()),
        }
    }

    /// A `command_ran` check, answered from the recorded command history.
    fn command_ran(&self, scenario: &str, pattern: &str, succeeded: bool) -> CheckOutcome {
        let regex = match lab_scenario::judge::compile_pattern(pattern) {
            Ok(regex) => regex,
            Err(error) => return CheckOutcome::fail(format!("invalid pattern: {error}")),
        };
        let history = lock(&self.store).and_then(|store| store.commands(&self.user, scenario));
        let history = match history {
            Ok(history) => history,
            Err(error) => return CheckOutcome::fail(error.to_string()),
        };
        let found = history.iter().find(|command| {
            regex.is_match(&command.line) && (!succeeded || command.exit_status == 0)
        });
        match found {
            Some(command) => CheckOutcome::pass(format!("you ran `{}`", command.line)),
            None => CheckOutcome::fail("no matching command run yet"),
        }
    }
}

fn verdict_of(request: &LiveRequest, judgement: Judgement) -> LiveVerdict {
    let (correct, reason) = match judgement {
        Judgement::Correct => (true, None),
        Judgement::Wrong { reason } => (false, reason),
        Judgement::NeedsLive => (false, Some("the live value could not be read".to_owned())),
    };
    LiveVerdict {
        question: request.question.clone(),
        answer: request.answer.clone(),
        correct,
        points: if correct { request.points } else { 0 },
        reason,
    }
}
