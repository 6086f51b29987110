//! Commands that change the cluster, run by the real `kubectl` on one object
//! and by the lab's `kubectl` on a twin: the same messages, and objects that
//! end up alike. Also logs, completion, and the commands the lab explains
//! instead of running.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use lab_engine_api::ShellCommand;
use serde_json::Value;
use support::{Run, ScenarioCluster, scenario_runtime_available};

/// Steps in order; `{name}` becomes `real-web` for the real kubectl and
/// `lab-web` for the lab's. `#settle {name} N` is no command: it waits until
/// exactly N pods carry the label `app={name}`, so that the step after it
/// sees the same pods on both sides rather than a rollout still under way.
const STEPS: &[&str] = &[
    "create deployment {name} --image=hello-tryhackme:latest",
    "create deployment {name} --image=hello-tryhackme:latest",
    "get deployment {name} -o jsonpath={.spec.template.spec.containers[0].name}",
    "scale deployment {name} --replicas=2",
    "scale deployment/{name} --replicas=1",
    "expose deployment {name} --port=8080 --type=NodePort",
    "get svc {name} -o jsonpath={.spec.type}/{.spec.ports[0].port}/{.spec.selector}",
    "set image deployment/{name} hello-tryhackme=cryillic/thm_example_app:latest",
    "rollout status deployment/{name}",
    "rollout history deployment/{name}",
    "rollout undo deployment/{name}",
    "rollout status deployment/{name}",
    "get deployment {name} -o jsonpath={.spec.template.spec.containers[0].image}",
    "rollout restart deployment/{name}",
    "scale deployment {name} --replicas=2",
    "rollout status deployment/{name}",
    "#settle {name} 2",
    "delete pods -l app={name}",
    "apply -f {name}.yaml",
    "apply -f {name}.yaml",
    "apply -f {name}-3.yaml",
    "get deployment {name}-applied -o jsonpath={.spec.replicas}",
    "delete deployment {name}-applied",
    "delete svc {name}",
    "delete deployment {name}",
    "delete deployment {name}",
    "scale deployment {name} --replicas=1",
    "create namespace {name}",
    "get ns {name} -o name",
    "delete namespace {name}",
];

fn manifest(name: &str, replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}-applied\n  labels:\n    app: {name}-applied\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: {name}-applied\n  template:\n    metadata:\n      labels:\n        app: {name}-applied\n    spec:\n      containers:\n      - name: web\n        image: hello-tryhackme:latest\n"
    )
}

/// The run with the object name replaced, generated pod names blanked, and
/// for `rollout status` only the final line (the progress lines depend on
/// how far the controllers got when each client looked).
fn renamed(run: &Run, name: &str, step: &str) -> Run {
    let pod = regex::Regex::new(r"NAME-[a-z0-9]+-[a-z0-9]{5}").unwrap();
    let clean = |text: &str| {
        pod.replace_all(&text.replace(name, "NAME"), "NAME-POD")
            .into_owned()
    };
    let mut stdout = clean(&run.stdout);
    if step.starts_with("rollout status") {
        stdout = stdout.lines().last().unwrap_or_default().to_string();
    }
    Run {
        code: run.code,
        stdout,
        stderr: clean(&run.stderr),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_print_what_real_kubectl_prints() {
    if !scenario_runtime_available().await {
        return;
    }
    let cluster = ScenarioCluster::start().await;
    for name in ["real-web", "lab-web"] {
        let dir = cluster.dir.path();
        std::fs::write(dir.join(format!("{name}.yaml")), manifest(name, 1)).unwrap();
        std::fs::write(dir.join(format!("{name}-3.yaml")), manifest(name, 3)).unwrap();
    }

    let mut failures = Vec::new();
    for step in STEPS {
        if let Some(settle) = step.strip_prefix("#settle ") {
            for name in ["real-web", "lab-web"] {
                settle_pods(&cluster, &settle.replace("{name}", name)).await;
            }
            continue;
        }
        let (mut real, mut lab) = run_step(&cluster, step).await;
        // A read may run while the controllers still catch up with the
        // change before it; read both sides again rather than compare a
        // moment that differs only in timing.
        let read_only = step.starts_with("get ") || step.starts_with("rollout history");
        for _ in 0..10 {
            if !read_only || same(&real, &lab) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            (real, lab) = run_step(&cluster, step).await;
        }
        if same(&real, &lab) {
            eprintln!("PASS  kubectl {step}");
        } else {
            eprintln!(
                "FAIL  kubectl {step}\n--- real:\n{}{}--- lab:\n{}{}",
                real.stdout, real.stderr, lab.stdout, lab.stderr
            );
            failures.push(*step);
            let sets = cluster
                .real(&["get", "rs", "--show-labels", "-o", "custom-columns=NAME:.metadata.name,REV:.metadata.annotations.deployment\\.kubernetes\\.io/revision,OWNER:.metadata.ownerReferences[0].name,REPLICAS:.spec.replicas"])
                .await;
            eprintln!("(replica sets then:\n{}{})", sets.stdout, sets.stderr);
        }
    }
    let commands = STEPS.iter().filter(|s| !s.starts_with('#')).count();
    eprintln!(
        "{} of {commands} change commands print the same",
        commands - failures.len(),
    );
    cluster.stop().await;
    assert!(failures.is_empty(), "outputs differ for: {failures:?}");
}

/// Runs one step with the real kubectl on `real-web` and the lab's on
/// `lab-web`, each output with its object's name blanked.
async fn run_step(cluster: &ScenarioCluster, step: &str) -> (Run, Run) {
    let real_line = step.replace("{name}", "real-web");
    let lab_line = step.replace("{name}", "lab-web");
    let real_args = real_args(&real_line, cluster.dir.path());
    let real = cluster
        .real(&real_args.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    let lab = cluster.lab(&lab_line.split(' ').collect::<Vec<_>>()).await;
    (
        renamed(&real, "real-web", step),
        renamed(&lab, "lab-web", step),
    )
}

fn same(real: &Run, lab: &Run) -> bool {
    (real.code == 0) == (lab.code == 0) && real.stdout == lab.stdout && real.stderr == lab.stderr
}

/// Waits until `get pods -l app=NAME` lists exactly the given number of pods
/// (`settle` is `NAME N`); fails the test after a minute.
async fn settle_pods(cluster: &ScenarioCluster, settle: &str) {
    let (name, count) = settle.split_once(' ').unwrap();
    let count: usize = count.parse().unwrap();
    let selector = format!("app={name}");
    let mut listed = String::new();
    for _ in 0..300 {
        listed = cluster
            .real(&["get", "pods", "-l", &selector, "-o", "name"])
            .await
            .stdout;
        if listed.lines().count() == count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("pods of {name} never settled at {count}; last listed:\n{listed}");
}

/// The real kubectl reads `-f` files by absolute path.
fn real_args(line: &str, dir: &std::path::Path) -> Vec<String> {
    line.split(' ')
        .map(|word| match word.ends_with(".yaml") {
            true => dir.join(word).display().to_string(),
            false => word.to_string(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_describe_and_explanations() {
    if !scenario_runtime_available().await {
        return;
    }
    let cluster = ScenarioCluster::start().await;
    let pod = cluster
        .real(&["get", "pods", "-o", "jsonpath={.items[0].metadata.name}"])
        .await
        .stdout;

    // The app may still be writing its start-up lines: compare once both
    // agree or after a few tries.
    let mut last = (String::new(), String::new());
    for _ in 0..10 {
        let real = cluster.real(&["logs", &pod]).await.stdout;
        let lab = cluster.lab(&["logs", &pod]).await.stdout;
        if real == lab {
            break;
        }
        last = (real, lab);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let real = cluster
        .real(&["logs", "deployment/hello-tryhackme", "--tail=1"])
        .await;
    let lab = cluster
        .lab(&["logs", "deployment/hello-tryhackme", "--tail=1"])
        .await;
    assert_eq!(real.stdout, lab.stdout, "earlier difference: {last:?}");

    let described = cluster.lab(&["describe", "pod", &pod]).await;
    assert_eq!(described.code, 0, "{}", described.stderr);
    for expected in [
        "Name:",
        pod.as_str(),
        "Containers:",
        "hello-tryhackme:latest",
        "Events:",
    ] {
        assert!(
            described.stdout.contains(expected),
            "{expected} missing:\n{}",
            described.stdout
        );
    }
    let deployment = cluster
        .lab(&["describe", "deployment", "hello-tryhackme"])
        .await;
    assert!(
        deployment
            .stdout
            .contains("1 desired | 1 updated | 1 total | 1 available"),
        "{}",
        deployment.stdout
    );

    for command in ["exec", "port-forward", "edit"] {
        let run = cluster.lab(&[command, "x"]).await;
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.contains("is not available in the lab"),
            "{}",
            run.stderr
        );
    }
    let unknown = cluster.lab(&["frobnicate"]).await;
    assert_eq!(
        unknown.stderr,
        "error: unknown command \"frobnicate\" for \"kubectl\"\n\nRun 'kubectl --help' for usage.\n"
    );
    let help = cluster.lab(&["get", "--help"]).await;
    assert!(
        help.stdout.starts_with("Display one or many resources."),
        "{}",
        help.stdout
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_answers_from_the_cache() {
    if !scenario_runtime_available().await {
        return;
    }
    let cluster = ScenarioCluster::start().await;
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<String>>();

    assert_eq!(cluster.lab.complete(&[], "ge"), ["get"]);
    assert_eq!(
        cluster.lab.complete(&words(&["get"]), "depl"),
        ["deploy", "deployments"]
    );

    // Names arrive from the background refresh; `complete` never waits.
    let mut names = Vec::new();
    for _ in 0..50 {
        names = cluster.lab.complete(&words(&["get", "deploy"]), "he");
        if !names.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(names, ["hello-tryhackme"]);
    // Pods started after the first refresh; any command run refreshes.
    cluster.lab(&["get", "pods"]).await;
    let mut pods = Vec::new();
    for _ in 0..50 {
        pods = cluster.lab.complete(&words(&["logs"]), "pod/hello");
        if !pods.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pods.len(), 1, "{pods:?}");
    let value: Value = Value::from(pods[0].clone());
    assert!(value.as_str().unwrap().starts_with("pod/hello-tryhackme-"));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_and_watch_stop_on_ctrl_c() {
    if !scenario_runtime_available().await {
        return;
    }
    let cluster = ScenarioCluster::start().await;
    let dir = cluster.dir.path().to_path_buf();

    let cancel = tokio_util::sync::CancellationToken::new();
    let stopper = cancel.clone();
    let scale = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        cluster
            .lab(&["scale", "deploy", "hello-tryhackme", "--replicas=2"])
            .await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        stopper.cancel();
    };
    let watch = support::run_until(&cluster.lab, &["get", "deploy", "-w"], &dir, cancel.clone());
    let (watched, ()) = tokio::join!(watch, scale);
    assert_eq!(watched.code, 0, "{}", watched.stderr);
    let lines: Vec<&str> = watched.stdout.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{}", watched.stdout);
    assert!(
        lines.len() >= 3,
        "the scale shows as a new row:\n{}",
        watched.stdout
    );
    assert!(lines.last().unwrap().contains("/2"), "{}", watched.stdout);

    let cancel = tokio_util::sync::CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        stopper.cancel();
    });
    let started = std::time::Instant::now();
    let followed = support::run_until(
        &cluster.lab,
        &["logs", "-f", "deployment/hello-tryhackme", "--tail=1"],
        &dir,
        cancel,
    )
    .await;
    assert_eq!(followed.code, 0, "{}", followed.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "Ctrl-C ends logs -f"
    );
    cluster.stop().await;
}
