//! `lab run [SCENARIO]`: the TUI in this terminal; `lab run --watch FILE`
//! reloads a scenario file while it is being written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use lab_scenario::{LoadedScenario, ScenarioCatalog, ScenarioLoader};
use ratatui::layout::Size;

use crate::app::{App, AppConfig, AppEvent, ScenarioFileEvent, Theme};
use crate::driver::terminal::EventSources;
use crate::engines::ClusterSource;
use crate::session::Session;
use crate::store::ProgressStore;
use crate::watch::{ScenarioWatcher, WatchOptions};
use crate::{driver, paths};

#[derive(Debug, Clone, Default, clap::Args)]
#[command(
    after_long_help = "Examples:\n  lab run\n  lab run virtualization-and-containers\n  \
                             lab run ./drafts/my-scenario.yaml\n  \
                             lab run --watch ./drafts/my-scenario.yaml\n  \
                             lab run --cluster kubeconfig=$HOME/.kube/config"
)]
pub struct RunArgs {
    /// A scenario id, or the path of a scenario file. Without it, the lab
    /// opens the only scenario there is, or shows a picker.
    #[arg(value_name = "SCENARIO_ID_OR_PATH")]
    pub scenario: Option<String>,

    /// Open the scenario file FILE and reload it whenever it or a lesson or
    /// manifest it uses under content/ is saved, for writing a scenario.
    /// The learner stays on the task they were viewing and answers already
    /// given are kept. While the file does not load, its problems are shown
    /// as file:line:column lines (as `lab validate` prints them) over the
    /// last version that did. The engines restart only when the scenario's
    /// `engines` or cluster manifests change. FILE must be a path; a
    /// scenario id cannot be watched.
    #[arg(
        long,
        value_name = "FILE",
        value_parser = watch_path,
        conflicts_with = "scenario"
    )]
    pub watch: Option<PathBuf>,

    /// Where the scenario's Kubernetes cluster runs: `embedded` (a fresh
    /// cluster inside the lab, gone when you quit) or `kubeconfig=PATH` (the
    /// current context of that kubeconfig; you work in namespace lab-<user>,
    /// made when the scenario starts and deleted when you quit; your
    /// progress is kept and the scenario's objects are made again next time).
    #[arg(
        long,
        value_name = "embedded|kubeconfig=PATH",
        default_value = "embedded",
        value_parser = ClusterSource::parse
    )]
    pub cluster: ClusterSource,
}

/// `--watch` takes an existing file, never a scenario id.
fn watch_path(value: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(value);
    if path.is_file() {
        return Ok(path);
    }
    let looks_like_path = value.contains(std::path::MAIN_SEPARATOR)
        || value.contains('/')
        || path.extension().is_some();
    if looks_like_path {
        Err(format!("there is no scenario file at {value}"))
    } else {
        Err(format!(
            "`{value}` is not a file: --watch takes the path of a scenario YAML file \
             (a scenario id cannot be watched; use `lab run {value}` without --watch)"
        ))
    }
}

pub fn execute(
    args: &RunArgs,
    data_dir: &Path,
    scenarios_dir: Option<&Path>,
    wiring: super::Wiring,
) -> anyhow::Result<ExitCode> {
    let mut on_start = wiring.on_scenario_start;
    let mut catalog = super::catalog(scenarios_dir);
    report_problems(&catalog);
    let watched = args.watch.as_deref().map(start_watching).transpose()?;
    let (watcher, first_load) = watched.unzip();
    let chosen = match &first_load {
        Some(first) => open_watched(first, &mut catalog),
        None => choose(args, &mut catalog)?,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the background runtime")?;
    if let Some(external) = args.cluster.external() {
        runtime
            .block_on(external.check_reachable())
            .map_err(anyhow::Error::msg)?;
    }
    let store = ProgressStore::open_in(data_dir)
        .with_context(|| format!("cannot open the progress store in {}", data_dir.display()))?;
    let (session, mut events) = Session::new(
        runtime.handle().clone(),
        store.shared(),
        paths::local_user(),
    );

    let mut app = App::new(catalog.scenarios, session, config());
    if let Some(id) = chosen {
        app.open_scenario(&id)?;
        on_start(&mut app, &id);
    }
    if let Some(problems @ ScenarioFileEvent::Invalid { .. }) = first_load {
        app.handle_event(AppEvent::ScenarioFile(problems));
    }
    let sources = EventSources {
        session: &mut events,
        watcher: watcher.as_ref(),
    };
    let ran = driver::terminal::run(&mut app, sources, on_start.as_mut());
    (wiring.on_session_end)(&mut app);
    ran.context("the terminal failed")?;
    Ok(ExitCode::SUCCESS)
}

/// Loads the watched file once and starts following it.
fn start_watching(path: &Path) -> anyhow::Result<(ScenarioWatcher, ScenarioFileEvent)> {
    ScenarioWatcher::start(path, ScenarioLoader::new(), WatchOptions::default())
        .with_context(|| format!("cannot watch {}", path.display()))
}

/// Puts the watched scenario in the catalog when it loads, returning its
/// id to open; a file that does not load opens nothing (the App shows its
/// problems).
fn open_watched(first: &ScenarioFileEvent, catalog: &mut ScenarioCatalog) -> Option<String> {
    let ScenarioFileEvent::Loaded(loaded) = first else {
        return None;
    };
    let id = loaded.scenario.id.clone();
    catalog.insert(loaded.as_ref().clone());
    Some(id)
}

/// Files that did not load are skipped with a warning before the TUI starts.
fn report_problems(catalog: &ScenarioCatalog) {
    for problem in &catalog.problems {
        eprintln!("warning: skipped: {problem}");
        tracing::warn!(%problem, "scenario skipped");
    }
}

/// The id of the scenario to open directly, if any.
fn choose(args: &RunArgs, catalog: &mut ScenarioCatalog) -> anyhow::Result<Option<String>> {
    let Some(wanted) = &args.scenario else {
        return Ok(only_one(&catalog.scenarios));
    };
    let path = Path::new(wanted);
    if path.is_file() {
        let loaded = lab_scenario::load_file(path).map_err(|problems| {
            let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("{wanted} is not a valid scenario:\n{}", lines.join("\n"))
        })?;
        let id = loaded.scenario.id.clone();
        catalog.insert(loaded);
        return Ok(Some(id));
    }
    if catalog.get(wanted).is_none() {
        let known: Vec<&str> = catalog
            .scenarios
            .iter()
            .map(|s| s.scenario.id.as_str())
            .collect();
        bail!(
            "no scenario `{wanted}`; known scenarios: {}",
            known.join(", ")
        );
    }
    Ok(Some(wanted.clone()))
}

fn only_one(scenarios: &[LoadedScenario]) -> Option<String> {
    match scenarios {
        [only] => Some(only.scenario.id.clone()),
        _ => None,
    }
}

fn config() -> AppConfig {
    let (width, height) = crossterm::terminal::size().unwrap_or((80, 24));
    AppConfig {
        user: paths::local_user(),
        theme: Theme::from_env(),
        size: Size::new(width, height),
    }
}
