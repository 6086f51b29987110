//! The SSH driver: one [`App`] per student terminal, behind lab-ssh's
//! [`SessionFactory`] boundary.
//!
//! Each terminal gets the App local mode shows, for the logged-in user,
//! over the progress store every session shares, so a student who
//! reconnects resumes where they were. Opening a scenario starts its
//! engines through [`LabEngines::start_session`] and attaches the lab shell,
//! as local mode's scenario hook does; [`TerminalSession::close`] stops
//! them. Frames are drawn by lab-ssh's [`RemoteTerminal`] into bytes.

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::Event;
use lab_scenario::LoadedScenario;
use lab_ssh::{
    CancellationToken, RedrawHandle, RemoteTerminal, SessionContext, SessionFactory,
    SessionOpenError, TermSize, TerminalSession,
};
use ratatui::layout::Size;
use tokio::runtime::Handle;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::app::{App, AppConfig, AppEvent, Flow, Theme};
use crate::engines::{LabEngines, SessionEngines};
use crate::session::{Session, SessionEvent};
use crate::store::SharedStore;

/// How often the lab shell's background output is looked at between
/// ticks; output is drawn this soon after a command prints it. The pane has
/// no way to wake the driver itself; a wake-up handle on `TerminalPane`
/// would make this polling unnecessary.
const PANE_POLL: Duration = Duration::from_millis(150);

/// The App's [`AppEvent::Tick`] (re-running unfinished checks) comes every
/// this many of lab-ssh's one-second ticks, as often as in local mode.
const TICKS_PER_CHECK: u32 = 3;

/// Opens a lab session for every SSH terminal.
pub struct LabSessionFactory {
    scenarios: Vec<LoadedScenario>,
    store: SharedStore,
    engines: Arc<LabEngines>,
    runtime: Handle,
}

impl LabSessionFactory {
    /// Sessions show `scenarios`, keep progress in `store`, start engines
    /// from `engines` and run their background work on `runtime`.
    pub fn new(
        scenarios: Vec<LoadedScenario>,
        store: SharedStore,
        engines: Arc<LabEngines>,
        runtime: Handle,
    ) -> Self {
        LabSessionFactory {
            scenarios,
            store,
            engines,
            runtime,
        }
    }
}

impl SessionFactory for LabSessionFactory {
    fn open(
        &self,
        context: SessionContext,
        size: TermSize,
    ) -> Result<Box<dyn TerminalSession>, SessionOpenError> {
        let terminal = RemoteTerminal::new(size).map_err(|error| SessionOpenError {
            message: "cannot set up the screen".to_owned(),
            source: Some(Box::new(error)),
        })?;
        let (session, events) =
            Session::new(self.runtime.clone(), self.store.clone(), &context.user);
        let app = App::new(self.scenarios.clone(), session, app_config(&context, size));
        let mut lab = LabTerminalSession {
            app,
            events,
            terminal,
            lab: Arc::clone(&self.engines),
            engines: None,
            stop_polling: spawn_pane_poller(&self.runtime, context.redraw.clone()),
            changed: true,
            ticks: 0,
            exit: false,
            span: tracing::info_span!("lab_session", id = context.session_id, user = %context.user, peer = %context.peer),
        };
        lab.greet(&context);
        Ok(Box::new(lab))
    }
}

fn app_config(context: &SessionContext, size: TermSize) -> AppConfig {
    AppConfig {
        user: context.user.clone(),
        theme: Theme {
            color: context.term != "dumb",
        },
        size: Size::new(size.cols, size.rows),
    }
}

/// Asks for a redraw every [`PANE_POLL`] until the returned token is
/// cancelled; [`LabTerminalSession::render`] sends nothing when nothing
/// changed, so an idle session costs no traffic.
fn spawn_pane_poller(runtime: &Handle, redraw: RedrawHandle) -> CancellationToken {
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    runtime.spawn(async move {
        let mut every = tokio::time::interval(PANE_POLL);
        loop {
            tokio::select! {
                () = stopped.cancelled() => return,
                _ = every.tick() => redraw.request_redraw(),
            }
        }
    });
    stop
}

/// One student's App on one SSH terminal.
struct LabTerminalSession {
    app: App,
    events: UnboundedReceiver<SessionEvent>,
    terminal: RemoteTerminal,
    lab: Arc<LabEngines>,
    /// The engines of the open scenario.
    engines: Option<SessionEngines>,
    stop_polling: CancellationToken,
    /// Something may have changed on screen since the last frame.
    changed: bool,
    ticks: u32,
    exit: bool,
    span: tracing::Span,
}

impl LabTerminalSession {
    /// Opens the only scenario there is (as local mode does) and tells a
    /// student who is logged in twice.
    fn greet(&mut self, context: &SessionContext) {
        if let [only] = self.app.scenarios() {
            let id = only.scenario.id.clone();
            match self.app.open_scenario(&id) {
                Ok(flow) => self.follow(flow),
                Err(error) => self.app.set_notice(format!("Cannot open {id}: {error}")),
            }
        }
        if context.other_sessions_of_user > 0 {
            self.app.set_info(format!(
                "You are logged in {} times; every session shares your progress.",
                context.other_sessions_of_user + 1
            ));
        }
    }

    fn apply(&mut self, event: AppEvent) {
        self.changed = true;
        let flow = self.app.handle_event(event);
        self.follow(flow);
    }

    fn follow(&mut self, flow: Flow) {
        match flow {
            Flow::Continue => {}
            Flow::ScenarioStarted { scenario } => self.start_engines(&scenario),
            Flow::Quit => self.exit = true,
        }
    }

    /// Starts the scenario's engines and attaches the lab shell; the
    /// engines of a scenario opened before stop in the background.
    fn start_engines(&mut self, scenario_id: &str) {
        let _entered = self.span.enter();
        let Some(scenario) = self
            .app
            .scenarios()
            .iter()
            .find(|s| s.scenario.id == scenario_id)
            .cloned()
        else {
            return;
        };
        let mut engines = self.lab.start_session(self.app.session(), &scenario);
        engines.attach_to_app(&mut self.app, scenario_id);
        if let Some(mut previous) = self.engines.replace(engines) {
            self.app
                .session()
                .runtime()
                .spawn(async move { previous.shutdown().await });
        }
    }

    /// Applies finished background work; true when the screen changed.
    fn drain_background(&mut self) -> bool {
        let mut changed = false;
        while let Ok(event) = self.events.try_recv() {
            self.apply(AppEvent::Session(event));
            changed = true;
        }
        changed | self.app.poll_pane()
    }
}

impl TerminalSession for LabTerminalSession {
    fn input(&mut self, event: Event) {
        self.apply(AppEvent::Terminal(event));
    }

    fn resize(&mut self, size: TermSize) {
        if let Err(error) = self.terminal.resize(size) {
            tracing::warn!(parent: &self.span, %error, "resize failed");
        }
        self.apply(AppEvent::Terminal(Event::Resize(size.cols, size.rows)));
    }

    fn render(&mut self) -> Vec<u8> {
        let background = self.drain_background();
        if !(background || self.changed) {
            return Vec::new();
        }
        self.changed = false;
        let app = &self.app;
        match self.terminal.draw(|frame| app.render(frame)) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(parent: &self.span, %error, "drawing a frame failed");
                Vec::new()
            }
        }
    }

    fn tick(&mut self) -> bool {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(TICKS_PER_CHECK) {
            self.apply(AppEvent::Tick);
        }
        self.drain_background() || self.changed
    }

    fn wants_exit(&self) -> bool {
        self.exit
    }

    /// Progress is already in the store (the App records before it shows);
    /// what is left is stopping the engines, which may take a few seconds.
    fn close(&mut self) {
        self.stop_polling.cancel();
        if let Some(mut engines) = self.engines.take() {
            let _entered = self.span.enter();
            tracing::info!(session = %engines.id(), "stopping the session's engines");
            self.app.session().runtime().block_on(engines.shutdown());
        }
    }
}

impl Drop for LabTerminalSession {
    fn drop(&mut self) {
        self.stop_polling.cancel();
    }
}
