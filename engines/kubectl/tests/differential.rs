//! The lab's `kubectl` against the real `kubectl` v1.32 on the same embedded
//! cluster: same command, same output (ages and timestamps normalised,
//! JSON and YAML compared as data).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::{Run, ScenarioCluster, scenario_runtime_available};

/// How two runs are compared.
#[derive(Clone, Copy, Debug)]
enum Compare {
    /// stdout and stderr as text, ages normalised, exit status equal.
    Text,
    /// stdout parsed as JSON (or YAML) and compared minus volatile fields.
    Data,
    /// Only the `Server Version:` line.
    ServerVersion,
}

const CASES: &[(&str, Compare)] = &[
    ("get pods", Compare::Text),
    ("get po", Compare::Text),
    ("get pods -A", Compare::Text),
    ("get pods -o wide", Compare::Text),
    ("get pods -o name", Compare::Text),
    ("get deploy", Compare::Text),
    ("get rs", Compare::Text),
    ("get svc", Compare::Text),
    ("get nodes", Compare::Text),
    ("get nodes -o wide", Compare::Text),
    ("get ns", Compare::Text),
    ("get all", Compare::Text),
    ("get pods -l app=hello-tryhackme", Compare::Text),
    ("get pods --show-labels", Compare::Text),
    ("get pods -A -o wide --show-labels", Compare::Text),
    ("get deploy,svc", Compare::Text),
    ("get pods -n kube-system", Compare::Text),
    ("get deploy -o json", Compare::Data),
    ("get deploy hello-tryhackme -o yaml", Compare::Data),
    ("get svc hello-tryhackme -o json", Compare::Data),
    ("get cm -A", Compare::Text),
    ("get ep", Compare::Text),
    ("get sa", Compare::Text),
    ("get sa -A", Compare::Text),
    ("get secrets", Compare::Text),
    ("get deployment/hello-tryhackme", Compare::Text),
    (
        "get deployment/hello-tryhackme svc/hello-tryhackme",
        Compare::Text,
    ),
    ("get pods -o yaml", Compare::Data),
    ("get ev", Compare::Text),
    ("get pods,deploy -o name", Compare::Text),
    ("get deploy hello-tryhackme missing", Compare::Text),
    ("get nodes -o name", Compare::Text),
    ("get ns default -o name", Compare::Text),
    ("get pods -l app=nothing", Compare::Text),
    (
        "get pods -o jsonpath={.items[*].metadata.name}",
        Compare::Text,
    ),
    (
        "get deploy -o jsonpath={.items[0].spec.replicas}",
        Compare::Text,
    ),
    ("get foo", Compare::Text),
    ("get deployment missing", Compare::Text),
    ("get pods --bogus", Compare::Text),
    ("get pods x?y", Compare::Text),
    ("get pods ../x", Compare::Text),
    ("get deploy/hello-tryhackme pods", Compare::Text),
    (
        "create deployment dry --image=hello-tryhackme:latest --dry-run=client -o yaml",
        Compare::Data,
    ),
    (
        "create deployment dry --image=hello-tryhackme:latest --dry-run=client",
        Compare::Text,
    ),
    (
        "delete deployment hello-tryhackme --dry-run=client",
        Compare::Text,
    ),
    (
        "scale deployment hello-tryhackme --replicas=3 --dry-run=client",
        Compare::Text,
    ),
    ("api-resources", Compare::Text),
    ("cluster-info", Compare::Text),
    ("version", Compare::ServerVersion),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_kubectl_prints_what_real_kubectl_prints() {
    if !scenario_runtime_available().await {
        return;
    }
    let cluster = ScenarioCluster::start().await;

    let mut failures = Vec::new();
    for (line, compare) in CASES {
        let args: Vec<&str> = line.split(' ').collect();
        let real = cluster.real(&args).await;
        let lab = cluster.lab(&args).await;
        match differences(&real, &lab, *compare) {
            None => eprintln!("PASS  kubectl {line}"),
            Some(diff) => {
                eprintln!("FAIL  kubectl {line}\n{diff}");
                failures.push(*line);
            }
        }
    }
    let survived = cluster.real(&["get", "deploy", "hello-tryhackme"]).await;
    assert_eq!(survived.code, 0, "a dry run deleted the deployment");

    let passed = CASES.len() - failures.len();
    eprintln!("{passed} of {} commands print the same", CASES.len());

    cluster.stop().await;
    assert!(failures.is_empty(), "outputs differ for: {failures:?}");
}

fn differences(real: &Run, lab: &Run, compare: Compare) -> Option<String> {
    let same = match compare {
        Compare::Text => {
            (real.code == 0) == (lab.code == 0)
                && normalise(&real.stdout) == normalise(&lab.stdout)
                && normalise(&real.stderr) == normalise(&lab.stderr)
        }
        Compare::Data => real.code == lab.code && data(&real.stdout) == data(&lab.stdout),
        Compare::ServerVersion => server_version(&real.stdout) == server_version(&lab.stdout),
    };
    (!same).then(|| {
        format!(
            "--- real (exit {}):\n{}{}--- lab (exit {}):\n{}{}",
            real.code, real.stdout, real.stderr, lab.code, lab.stdout, lab.stderr
        )
    })
}

/// Splits table lines into cells (columns are 3+ spaces apart) and blanks
/// out ages, so a second ticking over between the two runs does not count.
fn normalise(text: &str) -> Vec<Vec<String>> {
    let separator = regex::Regex::new(r"\s{3,}").unwrap();
    let age = regex::Regex::new(r"^(\d+[smhdy])+$").unwrap();
    text.lines()
        .map(|line| {
            separator
                .split(line.trim_end())
                .map(|cell| match age.is_match(cell) {
                    true => "<age>".to_string(),
                    false => cell.to_string(),
                })
                .collect()
        })
        .collect()
}

/// The document as data, without fields that change from one read to the
/// next.
fn data(text: &str) -> Value {
    let mut value: Value = serde_json::from_str(text)
        .or_else(|_| serde_yaml_ng::from_str(text))
        .unwrap_or(Value::Null);
    strip_volatile(&mut value);
    value
}

fn strip_volatile(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for key in [
                "resourceVersion",
                "managedFields",
                "lastUpdateTime",
                "lastTransitionTime",
                "lastHeartbeatTime",
            ] {
                map.remove(key);
            }
            map.values_mut().for_each(strip_volatile);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_volatile),
        _ => {}
    }
}

fn server_version(text: &str) -> Option<String> {
    text.lines()
        .find(|l| l.starts_with("Server Version:"))
        .map(String::from)
}
