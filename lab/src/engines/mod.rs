//! The engines of a lab process and of each learner's session, wired into
//! the App and the lab shell. Local mode and the SSH server build sessions
//! the same way:
//!
//! ```text
//! let lab = Arc::new(LabEngines::new());          // once per process
//! lab.sweep_orphans(&runtime);                     // in the background
//! let engines = lab.start_session(&session, &scenario);  // per scenario opened
//! engines.attach_to_app(&mut app, &scenario_id);   // lab shell + probes
//! engines.shutdown().await;                        // when the session ends
//! ```
//!
//! [`scenario_start_hook`] does the middle steps for a driver that opens
//! scenarios through a [`ScenarioStartHook`], keeping the running session
//! in a [`SessionSlot`] that [`shut_down_slot`] empties at the end.
//!
//! - [`pane`]: the App's terminal pane around the lab shell or a host shell.
//! - [`recorder`]: command lines into the progress store.
//! - [`checks`]: the engine lines of `lab doctor`.
//! - [`external`]: `--cluster`, an external cluster with a namespace per
//!   student instead of an embedded cluster per session.
//! - [`status_line`]: the live status line: real addresses of published
//!   ports, and the VM's exit counters from [`vm_status`].

pub mod checks;
pub mod external;
pub mod pane;
pub mod recorder;
pub mod status_line;
pub mod vm_status;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use external::{ClusterSource, ExternalCluster, NamespaceLease};
use lab_cluster::{ClusterConfig, EmbeddedCluster};
use lab_docker::{
    ContainerLimits, CurlCommand, DockerCommand, DockerEngine, DockerProbe, DockerSession,
    ImageCatalog, PortMap,
};
use lab_engine_api::{EngineKind, EngineState, EngineStatus, ShellCommand};
use lab_kubectl::{ClusterClient, ClusterProbe, KubectlCommand};
use lab_kvm::{KvmProbe, KvmSession, LinuxGuestArtifacts, VmCommand, VmConfig};
use lab_scenario::LoadedScenario;
use lab_shell::{CommandRegistry, ShellConfig, ShellPane};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::app::{App, PaneStatus};
use crate::cli::{ScenarioStartHook, Wiring};
use crate::session::{Session, SessionEvent};
pub use pane::{HostPane, LabShellPane};
pub use recorder::StoreRecorder;
use status_line::{PublishedPorts, SessionStatusLine};

/// What one lab process shares between all sessions: the Docker
/// connection, the host ports handed out, the images the lab can build.
pub struct LabEngines {
    pub docker: Arc<DockerEngine>,
    pub ports: Arc<PortMap>,
    pub images: Arc<ImageCatalog>,
    /// The Linux guest `lab images build` prepared, for `vm start linux`.
    pub linux_guest: Option<LinuxGuestArtifacts>,
    /// Where sessions' clusters come from (`--cluster`).
    pub cluster: ClusterSource,
}

impl Default for LabEngines {
    fn default() -> Self {
        Self::new()
    }
}

impl LabEngines {
    /// Connects nothing yet: the Docker engine is reached on first use.
    pub fn new() -> Self {
        LabEngines {
            docker: Arc::new(DockerEngine::new()),
            ports: Arc::new(PortMap::default()),
            images: Arc::new(ImageCatalog::embedded()),
            linux_guest: None,
            cluster: ClusterSource::Embedded,
        }
    }

    /// Puts sessions' clusters where `cluster` says.
    pub fn with_cluster(mut self, cluster: ClusterSource) -> Self {
        self.cluster = cluster;
        self
    }

    /// Lets sessions boot the Linux guest prepared in `cache_dir` (the
    /// data directory), if it is there.
    pub fn with_guest_cache(mut self, cache_dir: &Path) -> Self {
        self.linux_guest = lab_kvm::cached_linux_guest(cache_dir);
        self
    }

    /// Removes containers left by lab processes that are gone, on a task:
    /// a missing engine only logs.
    pub fn sweep_orphans(&self, runtime: &Handle) {
        let docker = Arc::clone(&self.docker);
        runtime.spawn(async move {
            match lab_docker::sweep_orphans(&docker).await {
                Ok(report) => tracing::debug!(?report, "orphan sweep finished"),
                Err(error) => tracing::info!(%error, "orphan sweep skipped"),
            }
        });
    }

    /// Starts the engines `scenario` declares for one learner and attaches
    /// their probes to `session`. Returns at once; the cluster comes up on
    /// a task and reports through the session's events.
    pub fn start_session(&self, session: &Session, scenario: &LoadedScenario) -> SessionEngines {
        let id = new_session_id(session.user());
        let wanted = &scenario.scenario.engines;
        let (late_commands, late_receiver) = mpsc::unbounded_channel();
        let mut engines = SessionEngines {
            id,
            runtime: session.runtime().clone(),
            registry: CommandRegistry::new(),
            docker: None,
            kvm: None,
            cluster: Arc::new(Mutex::new(None)),
            cluster_start: None,
            late_commands,
            late_receiver: Some(late_receiver),
        };
        if wanted.contains(&EngineKind::Docker) {
            engines.start_docker(self, session);
        }
        if wanted.contains(&EngineKind::Kvm) {
            engines.start_kvm(session, self.linux_guest.clone());
        }
        if wanted.contains(&EngineKind::Cluster) {
            engines.start_cluster(session, scenario, self.cluster.clone());
        }
        tracing::info!(session = %engines.id, scenario = %scenario.scenario.id, ?wanted, "session engines started");
        engines
    }
}

/// One learner's engines: the Docker session, the VM slot, the cluster,
/// and the lab shell commands that reach them.
pub struct SessionEngines {
    id: String,
    runtime: Handle,
    registry: CommandRegistry,
    docker: Option<Arc<DockerSession>>,
    kvm: Option<Arc<KvmSession>>,
    cluster: Arc<Mutex<Option<SessionCluster>>>,
    cluster_start: Option<JoinHandle<()>>,
    late_commands: mpsc::UnboundedSender<Arc<dyn ShellCommand>>,
    late_receiver: Option<mpsc::UnboundedReceiver<Arc<dyn ShellCommand>>>,
}

/// The cluster a session got.
enum SessionCluster {
    /// Its own embedded cluster, stopped with the session.
    Embedded(EmbeddedCluster),
    /// A namespace on the external cluster, released with the session.
    External(NamespaceLease),
}

impl SessionCluster {
    async fn shutdown(self) {
        match self {
            SessionCluster::Embedded(cluster) => cluster.shutdown().await,
            SessionCluster::External(lease) => lease.release().await,
        }
    }
}

impl SessionEngines {
    /// The session id that labels this learner's containers.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn docker(&self) -> Option<&Arc<DockerSession>> {
        self.docker.as_ref()
    }

    pub fn kvm(&self) -> Option<&Arc<KvmSession>> {
        self.kvm.as_ref()
    }

    /// The kubeconfig of the session's embedded cluster, once it has
    /// started (`None` on an external cluster).
    pub fn cluster_kubeconfig(&self) -> Option<String> {
        match self.cluster.lock().ok()?.as_ref()? {
            SessionCluster::Embedded(cluster) => Some(cluster.kubeconfig_yaml()),
            SessionCluster::External(_) => None,
        }
    }

    /// The session's namespace on an external cluster, once it is ready.
    pub fn student_namespace(&self) -> Option<String> {
        match self.cluster.lock().ok()?.as_ref()? {
            SessionCluster::Embedded(_) => None,
            SessionCluster::External(lease) => Some(lease.namespace().to_owned()),
        }
    }

    /// The lab shell's engine commands of this session.
    pub fn registry(&self) -> CommandRegistry {
        self.registry.clone()
    }

    /// A shell configuration for `user` whose lines go to `recorder`.
    pub fn shell_config(
        &self,
        user: &str,
        recorder: Arc<dyn lab_shell::CommandRecorder>,
    ) -> ShellConfig {
        let mut config = ShellConfig::new(self.registry());
        config.user = shell_user(user);
        config.recorder = Some(recorder);
        config
    }

    /// Puts the lab shell for this session into the App's terminal slot;
    /// its lines are recorded under `scenario`.
    pub fn attach_to_app(&mut self, app: &mut App, scenario: &str) {
        let session = app.session();
        let recorder = StoreRecorder::new(session.store().clone(), app.user(), scenario);
        let config = self.shell_config(app.user(), Arc::new(recorder));
        let late = self.late_receiver.take().unwrap_or_else(|| {
            // A second pane for the same session gets no late commands;
            // only the first pane of a session is ever made.
            mpsc::unbounded_channel().1
        });
        let pane = LabShellPane::new(ShellPane::new(config, 24, 80), self.runtime.clone(), late);
        app.attach_pane(Box::new(pane));
        self.attach_status(app);
    }

    /// Shows where the session's published ports listen and the VM's exit
    /// counters in the App's status bar.
    pub fn attach_status(&self, app: &mut App) {
        let ports = self
            .docker
            .as_ref()
            .map(|docker| PublishedPorts::watch(Arc::clone(docker), &self.runtime));
        let vm = self
            .kvm
            .as_ref()
            .map(|kvm| vm_status::VmStatusLine::new(Arc::clone(kvm)));
        if ports.is_some() || vm.is_some() {
            app.set_status_source(Box::new(SessionStatusLine { ports, vm }));
        }
    }

    /// Waits until the cluster (if the scenario has one) has started or
    /// failed to; the headless shell calls this before the first line.
    pub async fn wait_for_cluster(&mut self) {
        if let Some(start) = self.cluster_start.take()
            && let Err(error) = start.await
        {
            tracing::warn!(%error, "cluster start task failed");
        }
    }

    /// Commands of engines that came up after the shell was made, for a
    /// headless shell that registers them itself.
    pub fn take_late_commands(&mut self) -> Vec<Arc<dyn ShellCommand>> {
        let Some(receiver) = self.late_receiver.as_mut() else {
            return Vec::new();
        };
        std::iter::from_fn(|| receiver.try_recv().ok()).collect()
    }

    /// Stops the VM and the cluster (on an external cluster: deletes the
    /// student's namespace when this was their last session) and removes
    /// the session's containers (pods included). Safe to call more than
    /// once.
    pub async fn shutdown(&mut self) {
        if let Some(start) = self.cluster_start.take() {
            start.abort();
            let _ = start.await;
        }
        let cluster = self.cluster.lock().ok().and_then(|mut slot| slot.take());
        let had_cluster = matches!(cluster, Some(SessionCluster::Embedded(_)));
        if let Some(cluster) = cluster {
            cluster.shutdown().await;
        }
        if let Some(kvm) = &self.kvm {
            kvm.stop();
        }
        self.remove_containers().await;
        if had_cluster {
            // A pod container whose creation was already under way when the
            // cluster stopped can appear just after the first sweep; a
            // second one a moment later catches it. The orphan sweep at the
            // next lab start removes anything later still.
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            self.remove_containers().await;
        }
    }

    async fn remove_containers(&self) {
        let Some(docker) = &self.docker else { return };
        match docker.shutdown().await {
            Ok(report) => tracing::info!(session = %self.id, ?report, "session containers removed"),
            Err(error) => tracing::warn!(session = %self.id, %error, "session cleanup failed"),
        }
    }

    fn start_docker(&mut self, lab: &LabEngines, session: &Session) {
        let docker = DockerSession::new(
            &self.id,
            Arc::clone(&lab.docker),
            Arc::clone(&lab.images),
            Arc::clone(&lab.ports),
            ContainerLimits::default(),
        );
        let docker = match docker {
            Ok(docker) => Arc::new(docker),
            Err(error) => {
                report_unavailable(session, EngineKind::Docker, &error);
                return;
            }
        };
        self.registry
            .register(Arc::new(DockerCommand::new(Arc::clone(&docker))));
        self.registry
            .register(Arc::new(CurlCommand::new(Arc::clone(&docker))));
        session.attach_probe(Arc::new(DockerProbe::new(Arc::clone(&docker))));
        let engine = Arc::clone(&lab.docker);
        let reporter = session.clone();
        self.runtime.spawn(async move {
            reporter.notify(SessionEvent::Engine(engine.status().await));
        });
        self.docker = Some(docker);
    }

    fn start_kvm(&mut self, session: &Session, linux_guest: Option<LinuxGuestArtifacts>) {
        let mut kvm = KvmSession::new(VmConfig::default());
        if let Some(guest) = linux_guest {
            kvm = kvm.with_linux_guest(guest);
        }
        let kvm = Arc::new(kvm);
        self.registry
            .register(Arc::new(VmCommand::new(Arc::clone(&kvm))));
        session.attach_probe(Arc::new(KvmProbe::new(Arc::clone(&kvm))));
        let reporter = session.clone();
        self.runtime.spawn_blocking(move || {
            reporter.notify(SessionEvent::Engine(lab_kvm::engine_status()));
        });
        self.kvm = Some(kvm);
    }

    fn start_cluster(
        &mut self,
        session: &Session,
        scenario: &LoadedScenario,
        source: ClusterSource,
    ) {
        let manifests: Vec<String> = scenario.manifests.iter().map(|m| m.yaml.clone()).collect();
        let start = ClusterStart {
            session_id: self.id.clone(),
            source,
            manifests,
            slot: Arc::clone(&self.cluster),
            reporter: session.clone(),
            late_commands: self.late_commands.clone(),
        };
        self.cluster_start = Some(self.runtime.spawn(start.run()));
    }
}

/// The background start of a session's cluster.
struct ClusterStart {
    session_id: String,
    source: ClusterSource,
    manifests: Vec<String>,
    slot: Arc<Mutex<Option<SessionCluster>>>,
    reporter: Session,
    late_commands: mpsc::UnboundedSender<Arc<dyn ShellCommand>>,
}

impl ClusterStart {
    async fn run(self) {
        match self.source.clone() {
            ClusterSource::Embedded => self.run_embedded().await,
            ClusterSource::Kubeconfig(external) => self.run_external(&external).await,
        }
    }

    async fn run_embedded(self) {
        let cluster = match EmbeddedCluster::start(ClusterConfig::for_session(&self.session_id))
            .await
        {
            Ok(cluster) => cluster,
            Err(error) => return report_unavailable(&self.reporter, EngineKind::Cluster, &error),
        };
        let manifests: Vec<&str> = self.manifests.iter().map(String::as_str).collect();
        if let Err(error) = cluster.apply_manifests(&manifests) {
            tracing::warn!(session = %self.session_id, error = %error_chain(&error), "scenario manifests refused");
        }
        let detail = format!("embedded cluster at {}", cluster.base_url());
        match ClusterClient::from_kubeconfig_yaml(&cluster.kubeconfig_yaml()).await {
            Ok(client) => {
                let kubectl: Arc<dyn ShellCommand> = Arc::new(KubectlCommand::new(client.clone()));
                // The pane may be gone already; then nobody needs kubectl.
                let _ = self.late_commands.send(kubectl);
                self.reporter
                    .attach_probe(Arc::new(ClusterProbe::new(client)));
            }
            Err(error) => {
                tracing::warn!(session = %self.session_id, error = %error_chain(&error), "no kubectl client for the session's cluster");
            }
        }
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some(SessionCluster::Embedded(cluster));
        }
        self.report_ready(detail);
    }

    /// The student's namespace on the external cluster: prepared, filled
    /// with the scenario's manifests, and the default of kubectl and of the
    /// checks that name `default`.
    async fn run_external(self, external: &ExternalCluster) {
        let client = match external.client().await {
            Ok(client) => client,
            Err(error) => return report_unavailable(&self.reporter, EngineKind::Cluster, &error),
        };
        let lease = match external.lease(&client, self.reporter.user()).await {
            Ok(lease) => lease,
            Err(error) => return report_unavailable(&self.reporter, EngineKind::Cluster, &error),
        };
        let namespace = lease.namespace().to_owned();
        // Kept at once, so a session ended from here on releases it.
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some(SessionCluster::External(lease));
        }
        let manifests: Vec<&str> = self.manifests.iter().map(String::as_str).collect();
        if let Err(error) = lab_kubectl::apply_manifests(&client, &namespace, &manifests).await {
            tracing::warn!(session = %self.session_id, error = %error_chain(&error), "scenario manifests refused");
        }
        let client = client.with_namespace(namespace.clone());
        let detail = format!("cluster at {}, namespace {namespace}", client.server());
        let kubectl: Arc<dyn ShellCommand> = Arc::new(KubectlCommand::new(client.clone()));
        // The pane may be gone already; then nobody needs kubectl.
        let _ = self.late_commands.send(kubectl);
        self.reporter
            .attach_probe(Arc::new(ClusterProbe::for_student_namespace(
                client, namespace,
            )));
        self.report_ready(detail);
    }

    fn report_ready(&self, detail: String) {
        self.reporter.notify(SessionEvent::Engine(EngineStatus {
            kind: EngineKind::Cluster,
            state: EngineState::Ready { detail },
        }));
    }
}

/// Holds the engines of the scenario a driver has open.
pub type SessionSlot = Arc<Mutex<Option<SessionEngines>>>;

/// Which terminal the learner gets next to the lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaneChoice {
    /// The lab shell, routed to the session's engines.
    #[default]
    LabShell,
    /// The learner's own login shell on this machine (local mode only).
    HostShell,
}

/// A hook that starts the scenario's engines for the App's session and
/// attaches the pane, ending the engines of a scenario opened before.
pub fn scenario_start_hook(
    lab: Arc<LabEngines>,
    slot: SessionSlot,
    choice: PaneChoice,
) -> ScenarioStartHook {
    Box::new(move |app: &mut App, scenario_id: &str| {
        let Some(scenario) = app
            .scenarios()
            .iter()
            .find(|s| s.scenario.id == scenario_id)
            .cloned()
        else {
            return;
        };
        let mut engines = lab.start_session(app.session(), &scenario);
        match choice {
            PaneChoice::LabShell => engines.attach_to_app(app, scenario_id),
            PaneChoice::HostShell => {
                attach_host_shell(app);
                engines.attach_status(app);
            }
        }
        let previous = slot.lock().ok().and_then(|mut slot| slot.replace(engines));
        if let Some(mut previous) = previous {
            app.session()
                .runtime()
                .spawn(async move { previous.shutdown().await });
        }
    })
}

/// The wiring of the local `lab`: real engine checks, and a session of
/// engines (clusters from `cluster`) for each scenario opened, ended when
/// the learner quits.
pub fn local_wiring(choice: PaneChoice, data_dir: &Path, cluster: ClusterSource) -> Wiring {
    let lab = Arc::new(
        LabEngines::new()
            .with_guest_cache(data_dir)
            .with_cluster(cluster),
    );
    let slot = SessionSlot::default();
    let end_slot = Arc::clone(&slot);
    let mut start = scenario_start_hook(Arc::clone(&lab), slot, choice);
    let mut swept = false;
    Wiring {
        engine_checks: checks::engine_checks(),
        on_scenario_start: Box::new(move |app, scenario| {
            if !swept {
                lab.sweep_orphans(app.session().runtime());
                swept = true;
            }
            start(app, scenario);
        }),
        on_session_end: Box::new(move |app| shut_down_slot(&end_slot, app.session().runtime())),
    }
}

/// Ends the engines held in `slot`, waiting for the cleanup; for drivers
/// on a thread outside the runtime (the local terminal at quit).
pub fn shut_down_slot(slot: &SessionSlot, runtime: &Handle) {
    let engines = slot.lock().ok().and_then(|mut slot| slot.take());
    if let Some(mut engines) = engines {
        runtime.block_on(engines.shutdown());
    }
}

/// The learner's login shell in the terminal pane, or why it is missing.
pub fn attach_host_shell(app: &mut App) {
    match lab_shell::HostShellPane::spawn(24, 80) {
        Ok(pane) => app.attach_pane(Box::new(HostPane::new(pane))),
        Err(error) => app.set_pane_status(PaneStatus::Unavailable {
            reason: error_chain(&error),
        }),
    }
}

fn report_unavailable(session: &Session, kind: EngineKind, error: &dyn std::error::Error) {
    let reason = error_chain(error);
    tracing::warn!(engine = %kind, %reason, "engine unavailable for a session");
    session.notify(SessionEvent::Engine(EngineStatus {
        kind,
        state: EngineState::Unavailable {
            reason,
            remedy: "run `lab doctor`".to_owned(),
        },
    }));
}

/// An error with its causes, `a: b: c`; a cause whose text the error
/// already printed (some libraries repeat their source) is not repeated.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A unique id for a session of `user` in this process, made of the
/// characters Docker names allow.
fn new_session_id(user: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let number = NEXT.fetch_add(1, Ordering::Relaxed);
    let user: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(24)
        .collect();
    let user = if user.is_empty() {
        "learner".to_owned()
    } else {
        user
    };
    format!("{user}-{}-{number}", std::process::id())
}

/// The user name the prompt shows: the learner's, when it is a plain name.
fn shell_user(user: &str) -> String {
    let plain = !user.is_empty()
        && user.len() <= 32
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if plain {
        user.to_owned()
    } else {
        "thmuser".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_unique_and_docker_safe() {
        let first = new_session_id("ada lovelace/../");
        let second = new_session_id("");
        assert_ne!(first, second);
        assert!(first.starts_with("adalovelace-"));
        assert!(second.starts_with("learner-"));
        for id in [first, second] {
            assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        }
    }

    #[test]
    fn error_chain_does_not_repeat_a_cause_already_printed() {
        #[derive(Debug)]
        struct Repeats(std::io::Error);
        impl std::fmt::Display for Repeats {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "failed to read x: {}", self.0)
            }
        }
        impl std::error::Error for Repeats {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = Repeats(std::io::Error::other("gone"));
        assert_eq!(error_chain(&error), "failed to read x: gone");
    }

    #[test]
    fn odd_user_names_get_the_default_prompt_name() {
        assert_eq!(shell_user("ada"), "ada");
        assert_eq!(shell_user("a\u{1b}[2J"), "thmuser");
    }
}
