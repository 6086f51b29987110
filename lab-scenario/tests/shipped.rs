//! The scenarios shipped in `scenarios/` load cleanly, from disk and from the
//! copy embedded in the crate, every question in them can be learnt from and
//! solved, and each says what it promises.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use lab_engine_api::{CheckSpec, EngineKind, LiveValueSpec};
use lab_scenario::{
    AnswerRule, Judgement, LoadedScenario, load_embedded, load_file, validate_paths,
};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn first_scenario() -> LoadedScenario {
    let path = scenarios_dir().join("virtualization-and-containers.yaml");
    match load_file(&path) {
        Ok(loaded) => loaded,
        Err(problems) => panic!("{}", render(&problems)),
    }
}

/// Every scenario in `scenarios/`, loaded from disk.
fn shipped_scenarios() -> Vec<LoadedScenario> {
    let files = lab_scenario::discover(&scenarios_dir()).expect("scenarios/ is listable");
    files
        .iter()
        .map(|path| load_file(path).unwrap_or_else(|problems| panic!("{}", render(&problems))))
        .collect()
}

fn second_scenario() -> LoadedScenario {
    let path = scenarios_dir().join("virtualization-in-practice.yaml");
    load_file(&path).unwrap_or_else(|problems| panic!("{}", render(&problems)))
}

fn render(problems: &[lab_scenario::Diagnostic]) -> String {
    problems.iter().map(|p| format!("{p}\n")).collect()
}

#[test]
fn every_shipped_scenario_validates_clean() {
    let problems = validate_paths(&[scenarios_dir()]);
    assert!(problems.is_empty(), "{}", render(&problems));
}

#[test]
fn embedded_scenarios_equal_the_files_on_disk() {
    let embedded = load_embedded().unwrap_or_else(|problems| panic!("{}", render(&problems)));
    let on_disk = lab_scenario::discover(&scenarios_dir()).expect("scenarios/ is listable");
    assert_eq!(embedded.len(), on_disk.len());
    for loaded in embedded {
        assert!(loaded.is_embedded());
        let name = loaded.origin.trim_start_matches("embedded:scenarios/");
        let disk = load_file(&scenarios_dir().join(name)).expect("loads from disk");
        assert_eq!(loaded.scenario, disk.scenario);
        assert_eq!(loaded.lessons, disk.lessons);
        assert_eq!(loaded.manifests, disk.manifests);
    }
}

#[test]
fn first_scenario_has_seven_tasks_with_lesson_text() {
    let loaded = first_scenario();
    let ids: Vec<_> = loaded
        .scenario
        .tasks
        .iter()
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "introduction",
            "virtualization",
            "hypervisors",
            "containers",
            "docker",
            "kubernetes",
            "conclusion"
        ]
    );
    for (task, lesson) in loaded.scenario.tasks.iter().zip(&loaded.lessons) {
        assert!(
            lesson.starts_with("# "),
            "task {} has lesson text {lesson:?}",
            task.id
        );
    }
    assert_eq!(
        loaded.scenario.engines,
        [EngineKind::Docker, EngineKind::Cluster, EngineKind::Kvm]
    );
}

#[test]
fn every_shipped_question_has_hints_and_an_explanation() {
    for loaded in shipped_scenarios() {
        let id = &loaded.scenario.id;
        for question in loaded.scenario.tasks.iter().flat_map(|t| &t.questions) {
            assert!(
                !question.hints.is_empty(),
                "{id}: {} has no hints",
                question.id
            );
            assert!(
                question.explanation.is_some(),
                "{id}: {} has no explanation",
                question.id
            );
        }
    }
}

#[test]
fn the_first_scenario_stays_first_among_the_built_in_ones() {
    // `lab shell` without --scenario and `lab cluster serve` take the first
    // built-in scenario; files are embedded in name order.
    let embedded = load_embedded().unwrap_or_else(|problems| panic!("{}", render(&problems)));
    let ids: Vec<&str> = embedded.iter().map(|s| s.scenario.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "virtualization-and-containers",
            "virtualization-in-practice"
        ]
    );
}

/// Judges the answer that the task's `solution:` gives for `question_id`.
fn solution_answer(loaded: &LoadedScenario, question_id: &str) -> (AnswerRule, String) {
    for task in &loaded.scenario.tasks {
        let Some(question) = task.questions.iter().find(|q| q.id == question_id) else {
            continue;
        };
        let prefix = format!("answer {question_id} ");
        let line = task.solution.iter().find_map(|l| l.strip_prefix(&prefix));
        return (
            question.answer.clone(),
            line.expect("solution answers it").to_owned(),
        );
    }
    panic!("no question {question_id}");
}

#[test]
fn every_shipped_typed_solution_answer_is_judged_correct() {
    for loaded in shipped_scenarios() {
        for question in loaded.scenario.tasks.iter().flat_map(|t| &t.questions) {
            let (rule, answer) = solution_answer(&loaded, &question.id);
            let verdict = rule.judge(&answer, None);
            let expected = if matches!(rule, AnswerRule::Live(_)) {
                Judgement::NeedsLive
            } else {
                Judgement::Correct
            };
            let id = &loaded.scenario.id;
            assert_eq!(verdict, expected, "{id}: {}: {answer}", question.id);
        }
    }
}

#[test]
fn yes_no_and_delete_answers_accept_their_other_forms() {
    let loaded = first_scenario();
    let judge = |id: &str, answer: &str| solution_answer(&loaded, id).0.judge(answer, None);
    assert_eq!(judge("scalability-benefit", "yes"), Judgement::Correct);
    assert_eq!(
        judge("scalability-benefit", "n"),
        Judgement::Wrong { reason: None }
    );
    assert_eq!(
        judge("containers-fully-abstracted", "No"),
        Judgement::Correct
    );
    assert_eq!(
        judge("containers-fully-abstracted", "Y"),
        Judgement::Wrong { reason: None }
    );
    for form in ["deploy", "deployment", "deployments"] {
        let answer = format!("kubectl delete {form} hello-tryhackme");
        assert_eq!(
            judge("delete-command", &answer),
            Judgement::Correct,
            "{answer}"
        );
    }
    assert_eq!(
        judge("virtualbox-type", "type 1"),
        Judgement::Wrong { reason: None }
    );
}

#[test]
fn pod_and_replicaset_names_are_live_never_hard_coded() {
    let loaded = first_scenario();
    for (id, resource) in [("pod-name", "pod"), ("replicaset-name", "replicaset")] {
        let (rule, _) = solution_answer(&loaded, id);
        let AnswerRule::Live(LiveValueSpec::Cluster {
            resource: r,
            namespace,
            selector,
            ..
        }) = rule
        else {
            panic!("{id} is not a live cluster answer");
        };
        assert_eq!((r.as_str(), namespace.as_str()), (resource, "default"));
        assert_eq!(selector.as_deref(), Some("app=hello-tryhackme"));
    }
}

#[test]
fn hands_on_tasks_carry_their_checks() {
    let loaded = first_scenario();
    let checks = |id: &str| {
        loaded
            .scenario
            .tasks
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.checks.clone())
            .unwrap()
    };
    assert!(checks("hypervisors").contains(&CheckSpec::ExitCount {
        counter: "io_out".into(),
        at_least: 1
    }));
    assert!(checks("docker").contains(&CheckSpec::ContainerRunning {
        image: "cryillic/thm_example_app".into(),
        port: Some(5000)
    }));
    assert!(checks("kubernetes").iter().any(|c| matches!(
        c,
        CheckSpec::ResourceExists { absent: true, name: Some(name), .. } if name == "hello-tryhackme"
    )));
}

#[test]
fn cluster_manifests_are_loaded_with_their_text() {
    let loaded = first_scenario();
    let kinds: Vec<bool> = loaded
        .manifests
        .iter()
        .map(|m| m.yaml.contains("kind: Deployment") || m.yaml.contains("kind: Service"))
        .collect();
    assert_eq!(kinds, [true, true]);
    assert!(loaded.manifests[1].yaml.contains("type: NodePort"));
}

#[test]
fn second_scenario_checks_every_engine_and_repeats_no_check_of_the_first() {
    let first: Vec<CheckSpec> = all_checks(&first_scenario());
    let second: Vec<CheckSpec> = all_checks(&second_scenario());
    for engine in [EngineKind::Docker, EngineKind::Cluster, EngineKind::Kvm] {
        assert!(
            second.iter().any(|c| c.engine() == Some(engine)),
            "no {engine} check"
        );
    }
    for check in &second {
        assert!(
            !first.contains(check),
            "{check:?} repeats the first scenario"
        );
    }
}

fn all_checks(loaded: &LoadedScenario) -> Vec<CheckSpec> {
    let tasks = loaded.scenario.tasks.iter();
    tasks.flat_map(|t| t.checks.iter().cloned()).collect()
}

#[test]
fn second_scenario_answers_accept_their_other_forms() {
    let loaded = second_scenario();
    let judge = |id: &str, answer: &str| solution_answer(&loaded, id).0.judge(answer, None);
    for answer in [
        "kubectl scale deployment greeter --replicas=3",
        "kubectl scale deploy/greeter --replicas 3",
        "kubectl scale --replicas=3 deployment greeter",
    ] {
        assert_eq!(
            judge("scale-command", answer),
            Judgement::Correct,
            "{answer}"
        );
    }
    assert_eq!(
        judge(
            "scale-command",
            "kubectl scale deployment greeter --replicas=2"
        ),
        Judgement::Wrong { reason: None }
    );
    // As `docker ps` prints it, quotes included.
    assert_eq!(
        judge("default-command", "\"python3 view.py\""),
        Judgement::Correct
    );
    assert_eq!(
        judge("default-command", "python3 -m http.server 8000"),
        Judgement::Wrong { reason: None }
    );
    for answer in ["watchdog", "The watchdog", "the VMM's watchdog"] {
        assert_eq!(
            judge("spin-stopper", answer),
            Judgement::Correct,
            "{answer}"
        );
    }
    assert_eq!(
        judge("spin-stopper", "the host kernel"),
        Judgement::Wrong { reason: None }
    );
    assert_eq!(judge("healer", "replica set"), Judgement::Correct);
    assert_eq!(
        judge("healer", "deployment"),
        Judgement::Wrong { reason: None }
    );
    assert_eq!(judge("spin-seconds", "5.1"), Judgement::Correct);
}

#[test]
fn second_scenario_seeds_the_deployment_its_checks_watch() {
    let loaded = second_scenario();
    let [manifest] = loaded.manifests.as_slice() else {
        panic!("one manifest expected, got {}", loaded.manifests.len());
    };
    assert!(manifest.yaml.contains("kind: Deployment"));
    assert!(manifest.yaml.contains("name: greeter"));
    assert!(manifest.yaml.contains("replicas: 1"));
    let checks = all_checks(&loaded);
    assert!(checks.contains(&CheckSpec::ResourceField {
        resource: "deployment".into(),
        namespace: "default".into(),
        name: "greeter".into(),
        path: ".spec.replicas".into(),
        equals: Some("3".into()),
        matches: None,
    }));
}
