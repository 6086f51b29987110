//! `lab scenario test` and `lab scenario new`: the instructor's tools.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use lab_scenario::LoadedScenario;

use crate::engines::ClusterSource;
use crate::scenario_test::{Progress, ScenarioReport, TaskReport, TestOptions, test_scenario};

/// `println!` that never panics: a closed standard output (`| head`)
/// must not stop the test half-way and leave its containers behind.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "\
For every task in order, the test
  1. runs the task's checks: one that passes already cannot tell a student who
     did the work from one who did not, and is reported as a defect;
  2. runs the task's `solution:` lines: shell lines through the lab shell with
     the scenario's real engines (a failing line is tried again each second, as a
     student would while an app starts, and must exit 0 within --check-timeout;
     a line still running after --line-timeout is stopped and counts as failed),
     `answer <id> <text>` through
     the same judging as the TUI, `answer <id> {live}` with the value the
     question's live source reports;
  3. expects every question to have accepted its answer and every check to pass
     (checks are retried until --check-timeout).
Each file runs in a fresh session with its own engines; nothing is recorded in
your progress. The exit status is 0 when every scenario is sound.

Examples:
  lab scenario test scenarios/my-scenario.yaml
  lab scenario test scenarios/          every scenario file in a directory
  lab scenario test                     the built-in scenarios
  lab scenario test -v draft.yaml       show each solution line and its output
  lab scenario test --cluster kubeconfig=class.kubeconfig scenarios/")]
pub struct TestArgs {
    /// Scenario files or directories of them [default: the scenarios
    /// directory when present, else the built-in scenarios].
    #[arg(value_name = "FILE")]
    pub paths: Vec<PathBuf>,

    /// Seconds a task's checks may take to pass after its solution ran.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub check_timeout: u64,

    /// Seconds one solution line may run before it is stopped (a line that
    /// never ends, like `kubectl get pods -w`, is then a defect).
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub line_timeout: u64,

    /// Print each solution line and what it printed.
    #[arg(short, long)]
    pub verbose: bool,

    /// Where the scenario's Kubernetes cluster runs: `embedded` (a fresh one
    /// inside the lab) or `kubeconfig=PATH` (that cluster, in the namespace
    /// `lab-instructor`, deleted at the end), to try a scenario on the
    /// cluster a class will use.
    #[arg(
        long,
        value_name = "embedded|kubeconfig=PATH",
        default_value = "embedded",
        value_parser = ClusterSource::parse
    )]
    pub cluster: ClusterSource,
}

pub fn test(
    args: &TestArgs,
    data_dir: &Path,
    scenarios_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let (scenarios, problems) = load(args, scenarios_dir);
    for problem in &problems {
        say!("{problem}");
    }
    let options = TestOptions {
        check_timeout: Duration::from_secs(args.check_timeout),
        line_timeout: Duration::from_secs(args.line_timeout),
        guest_cache: Some(data_dir.to_path_buf()),
        cluster: args.cluster.clone(),
        ..TestOptions::default()
    };
    let runtime = super::runtime()?;
    if let Some(external) = args.cluster.external() {
        let line = runtime
            .block_on(external.check_reachable())
            .map_err(anyhow::Error::msg)?;
        say!("cluster: {line}");
    }
    let mut reports = Vec::new();
    for scenario in &scenarios {
        let mut printer = Printer {
            verbose: args.verbose,
        };
        let report = runtime
            .block_on(test_scenario(scenario, &options, &mut printer))
            .with_context(|| format!("cannot test {}", scenario.origin))?;
        print_verdict(&report);
        reports.push(report);
    }
    let sound = reports.iter().filter(|r| r.is_sound()).count();
    let invalid = usize::from(!problems.is_empty());
    if reports.len() + invalid > 1 {
        say!(
            "{} scenario(s) tested: {sound} sound, {} unsound{}",
            reports.len(),
            reports.len() - sound,
            match problems.len() {
                0 => String::new(),
                n => format!("; {n} validation problem(s)"),
            }
        );
    }
    if scenarios.is_empty() && problems.is_empty() {
        eprintln!("no scenario files found");
        return Ok(ExitCode::FAILURE);
    }
    Ok(match sound == reports.len() && problems.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    })
}

/// The scenarios named, and the problems of those that do not load.
fn load(
    args: &TestArgs,
    scenarios_dir: Option<&Path>,
) -> (Vec<LoadedScenario>, Vec<lab_scenario::Diagnostic>) {
    let paths = match (args.paths.is_empty(), scenarios_dir) {
        (false, _) => args.paths.clone(),
        (true, Some(dir)) => vec![dir.to_path_buf()],
        (true, None) => {
            return match lab_scenario::load_embedded() {
                Ok(loaded) => (loaded, Vec::new()),
                Err(problems) => (Vec::new(), problems),
            };
        }
    };
    let (files, mut problems) = lab_scenario::scenario_paths(&paths);
    let mut scenarios = Vec::new();
    for file in files {
        match lab_scenario::load_file(&file) {
            Ok(loaded) => scenarios.push(loaded),
            Err(found) => problems.extend(found),
        }
    }
    (scenarios, problems)
}

/// Prints progress as the test goes.
struct Printer {
    verbose: bool,
}

impl Progress for Printer {
    fn started(&mut self, scenario: &LoadedScenario) {
        let engines: Vec<String> = scenario
            .scenario
            .engines
            .iter()
            .map(ToString::to_string)
            .collect();
        let engines = match engines.is_empty() {
            true => "no engines".to_owned(),
            false => format!("engines: {}", engines.join(", ")),
        };
        say!("{} ({}), {engines}", scenario.scenario.id, scenario.origin);
        flush();
    }

    fn line(&mut self, task: &str, line: &str) {
        if self.verbose {
            say!("  [{task}] $ {line}");
        }
    }

    fn output(&mut self, text: &str, status: i32) {
        if self.verbose {
            for line in text.lines() {
                say!("  | {line}");
            }
            if status != 0 {
                say!("  (exit status {status})");
            }
        }
    }

    fn ready(&mut self, elapsed: Duration) {
        say!("  engines ready in {}", seconds(elapsed));
        flush();
    }

    fn task(&mut self, index: usize, total: usize, report: &TaskReport) {
        let mark = match report.is_sound() {
            true => "ok  ",
            false => "FAIL",
        };
        say!(
            "  {mark} {:>2}/{total} {:<28} {:>6}  {}",
            index + 1,
            report.id,
            seconds(report.elapsed),
            report.summary()
        );
        for defect in &report.defects {
            say!("         - {defect}");
        }
        flush();
    }
}

fn print_verdict(report: &ScenarioReport) {
    for defect in &report.defects {
        say!("  FAIL {defect}");
    }
    let sound = report.tasks.iter().filter(|t| t.is_sound()).count();
    let verdict = match report.is_sound() {
        true => "sound",
        false => "UNSOUND",
    };
    say!(
        "{}: {verdict}, {sound} of {} tasks pass ({})",
        report.id,
        report.tasks.len(),
        seconds(report.elapsed)
    );
}

fn seconds(elapsed: Duration) -> String {
    format!("{:.1}s", elapsed.as_secs_f64())
}

fn flush() {
    let _ = std::io::stdout().flush();
}
