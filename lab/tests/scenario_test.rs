//! `lab scenario test` on scenarios written to find each kind of defect,
//! and on the scenario `lab scenario new` writes, with a real Docker engine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use lab::scenario_test::{Progress, ScenarioReport, TaskReport, TestOptions, test_scenario};
use lab_scenario::LoadedScenario;

/// Collects what the runner reports, in order.
#[derive(Default)]
struct Recorded {
    lines: Vec<String>,
    tasks: Vec<String>,
}

impl Progress for Recorded {
    fn started(&mut self, _scenario: &LoadedScenario) {}
    fn line(&mut self, task: &str, line: &str) {
        self.lines.push(format!("{task}: {line}"));
    }
    fn ready(&mut self, _elapsed: Duration) {}
    fn task(&mut self, index: usize, total: usize, report: &TaskReport) {
        self.tasks
            .push(format!("{}/{total} {}", index + 1, report.id));
    }
}

fn options() -> TestOptions {
    TestOptions {
        check_timeout: Duration::from_secs(2),
        line_timeout: Duration::from_secs(3),
        ..TestOptions::default()
    }
}

fn load(dir: &Path, yaml: &str) -> LoadedScenario {
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, yaml).unwrap();
    lab_scenario::load_file(&path).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

async fn test(yaml: &str) -> (ScenarioReport, Recorded) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = load(dir.path(), yaml);
    let mut recorded = Recorded::default();
    let report = test_scenario(&scenario, &options(), &mut recorded)
        .await
        .unwrap();
    (report, recorded)
}

const SOUND: &str = r#"
id: sound
title: Sound
description: Every check can fail and every answer is accepted.
estimated_minutes: 5
engines: []
tasks:
  - id: read
    title: Read
    lesson: {markdown: "Reading only."}
  - id: greet
    title: Greet
    lesson: {markdown: "Say hello."}
    questions:
      - id: word
        prompt: Which word did you print?
        answer: {exact: {text: hello}}
        explanation: You printed it.
      - id: count
        prompt: How many letters has it?
        answer: {number: {value: 5}}
        explanation: Five.
    checks:
      - kind: command_ran
        pattern: '^echo hello$'
        succeeded: true
    solution:
      - echo hello
      - answer word Hello
      - answer count 5
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sound_scenario_passes_every_task() {
    let (report, recorded) = test(SOUND).await;
    assert!(report.is_sound(), "{report:#?}");
    assert_eq!(recorded.tasks, ["1/2 read", "2/2 greet"]);
    assert_eq!(
        recorded.lines,
        [
            "greet: echo hello",
            "greet: answer word Hello",
            "greet: answer count 5"
        ]
    );
    let greet = &report.tasks[1];
    assert_eq!(
        (greet.commands, greet.answers, greet.checks),
        (1, 2, 1),
        "{greet:#?}"
    );
    assert_eq!(greet.summary(), "1 command, 2 answers, 1 check");
    assert_eq!(report.tasks[0].summary(), "reading only");
}

const DEFECTS: &str = r#"
id: defects
title: Defects
description: One defect of each kind.
estimated_minutes: 5
engines: []
tasks:
  - id: first
    title: First
    lesson: {markdown: "Print something."}
    checks:
      - kind: command_ran
        pattern: '^echo one$'
    solution:
      - echo one
  - id: cannot-fail
    title: A check that passed before its solution
    lesson: {markdown: "The check matches what the first task ran."}
    checks:
      - kind: command_ran
        pattern: '^echo'
      - kind: command_ran
        pattern: '^echo two$'
    solution:
      - echo two
  - id: broken-solution
    title: A solution that is wrong
    lesson: {markdown: "Nothing here works."}
    questions:
      - id: rejected
        prompt: What is two and two?
        answer: {number: {value: 4}}
        explanation: Four.
      - id: forgotten
        prompt: Never answered.
        answer: {exact: {text: x}}
        explanation: X.
    checks:
      - kind: command_ran
        pattern: '^never typed$'
    solution:
      - cat no-such-file
      - answer rejected 5
  - id: endless
    title: A line that never ends
    lesson: {markdown: "It waits forever."}
    solution:
      - sleep 100000
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_defect_is_reported_where_it_is() {
    let (report, _) = test(DEFECTS).await;
    assert!(!report.is_sound());
    let by_task: Vec<(&str, &[String])> = report
        .tasks
        .iter()
        .map(|t| (t.id.as_str(), t.defects.as_slice()))
        .collect();
    assert_eq!(by_task[0], ("first", &[][..]));

    let (id, defects) = by_task[1];
    assert_eq!(id, "cannot-fail");
    assert_eq!(defects.len(), 1, "{defects:#?}");
    assert!(
        defects[0]
            .starts_with("check 1 (command_ran) passes before the solution ran, so it cannot fail"),
        "{defects:#?}"
    );

    let (id, defects) = by_task[2];
    assert_eq!(id, "broken-solution");
    let expected = [
        "solution line `cat no-such-file` exited with status 1",
        "question `rejected` rejects the solution's answer `5`",
        "question `forgotten` has no `answer` line in the solution",
        "check 1 (command_ran) still fails after the solution ran",
    ];
    assert_eq!(defects.len(), expected.len(), "{defects:#?}");
    for (defect, start) in defects.iter().zip(expected) {
        assert!(
            defect.starts_with(start),
            "{defect:?} should start {start:?}"
        );
    }
    assert!(
        defects[0].contains("No such file"),
        "the failing line's output is quoted: {defects:#?}"
    );

    let (id, defects) = by_task[3];
    assert_eq!(id, "endless");
    assert_eq!(defects.len(), 1, "{defects:#?}");
    assert!(
        defects[0].starts_with("solution line `sleep 100000` exited with status 124")
            && defects[0].contains("still running after 3s"),
        "{defects:#?}"
    );
}

/// The scenario `lab scenario new` writes is sound as it is, with the real
/// Docker engine running its container.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_scenario_is_sound_as_written() {
    if !docker_with_app_image() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (relative, text) in lab::cli::scenario_new::files("fresh-start") {
        let path = dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let scenario = lab_scenario::load_file(&dir.path().join("scenarios/fresh-start.yaml")).unwrap();
    let mut recorded = Recorded::default();
    let options = TestOptions {
        check_timeout: Duration::from_secs(30),
        ..TestOptions::default()
    };
    let report = test_scenario(&scenario, &options, &mut recorded)
        .await
        .unwrap();
    assert!(report.is_sound(), "{report:#?}");
    assert_eq!(report.tasks[1].checks, 2);
}

/// Whether Docker answers and has the example app's image; says why not.
fn docker_with_app_image() -> bool {
    let found = std::process::Command::new("docker")
        .args(["image", "inspect", "cryillic/thm_example_app:latest"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        eprintln!(
            "SKIPPED: Docker does not answer or has no cryillic/thm_example_app image \
             (`lab images build` makes it), so the new scenario's container cannot run"
        );
    }
    found
}

/// `--cluster kubeconfig=PATH`: the first scenario is sound on an external
/// cluster too, in the instructor's namespace there. The lab's embedded
/// cluster stands in for the external one, reached only by its kubeconfig.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_scenario_is_sound_on_an_external_cluster() {
    if !docker_with_app_image() {
        return;
    }
    let id = format!("lab-scenario-test-{}", std::process::id());
    let cluster = lab_cluster::EmbeddedCluster::start(lab_cluster::ClusterConfig::for_session(id))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let source =
        lab::engines::ClusterSource::parse(&format!("kubeconfig={}", kubeconfig.display()))
            .unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/virtualization-and-containers.yaml");
    let scenario = lab_scenario::load_file(&path).unwrap_or_else(|p| panic!("{p:#?}"));
    let options = TestOptions {
        check_timeout: Duration::from_secs(30),
        cluster: source,
        ..TestOptions::default()
    };
    let mut recorded = Recorded::default();
    let report = test_scenario(&scenario, &options, &mut recorded)
        .await
        .unwrap();
    assert!(report.is_sound(), "{report:#?}");
    let objects = &cluster.state().store;
    assert!(
        objects
            .get("deployments", "default", "hello-tryhackme")
            .is_none(),
        "the scenario's objects went into the instructor's namespace, not default"
    );
    cluster.shutdown().await;
}
