//! The first scenario's Kubernetes task, walked through the lab's `kubectl`
//! and the cluster probe: the answers a student reads from `kubectl`'s
//! output are the ones the live answer rules accept, and the task's
//! "deployment is gone" check fails before the delete and passes after.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use lab_engine_api::{CheckSpec, LiveValueSpec, Probe};
use lab_kubectl::{ClusterClient, ClusterProbe};
use serde_json::Value;
use support::{ScenarioCluster, scenario_runtime_available};

/// The Kubernetes task of the shipped scenario, as data.
fn kubernetes_task() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios/virtualization-and-containers.yaml");
    let scenario: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    scenario["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "kubernetes")
        .expect("the scenario has a kubernetes task")
        .clone()
}

fn live_rule(task: &Value, question: &str) -> LiveValueSpec {
    let question = task["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == question)
        .unwrap();
    serde_json::from_value(question["answer"]["live"].clone()).unwrap()
}

fn cluster_checks(task: &Value) -> Vec<CheckSpec> {
    task["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| serde_json::from_value::<CheckSpec>(c.clone()).unwrap())
        .filter(|c| c.engine() == Some(lab_engine_api::EngineKind::Cluster))
        .collect()
}

/// The first column of a table's rows.
fn names(table: &str) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_task_through_kubectl_and_probe() {
    if !scenario_runtime_available().await {
        return;
    }
    let cluster = ScenarioCluster::start().await;
    let client = ClusterClient::from_kubeconfig_yaml(&cluster.cluster.kubeconfig_yaml())
        .await
        .unwrap();
    let probe = ClusterProbe::new(client);
    let task = kubernetes_task();

    let default_pods = names(&cluster.lab(&["get", "pods"]).await.stdout);
    assert_eq!(default_pods.len(), 1, "{default_pods:?}");
    let system_pods = names(
        &cluster
            .lab(&["get", "pods", "-n", "kube-system"])
            .await
            .stdout,
    );
    assert_eq!(system_pods.len(), 7, "{system_pods:?}");

    let accepted_pods = probe
        .live_values(&live_rule(&task, "pod-name"))
        .await
        .unwrap();
    assert_eq!(accepted_pods, default_pods);
    let replica_sets = names(&cluster.lab(&["get", "rs"]).await.stdout);
    let accepted_sets = probe
        .live_values(&live_rule(&task, "replicaset-name"))
        .await
        .unwrap();
    assert_eq!(accepted_sets, replica_sets);
    assert!(default_pods[0].starts_with(&format!("{}-", replica_sets[0])));

    let checks = cluster_checks(&task);
    assert!(!checks.is_empty(), "the task has cluster checks");
    for check in &checks {
        let outcome = probe.check(check).await.unwrap();
        assert!(
            !outcome.passed,
            "passed before the delete: {check:?} {outcome:?}"
        );
    }

    let deleted = cluster
        .lab(&["delete", "deployment", "hello-tryhackme"])
        .await;
    assert_eq!(
        deleted.stdout,
        "deployment.apps \"hello-tryhackme\" deleted\n"
    );
    assert_eq!(deleted.code, 0);
    for check in &checks {
        let outcome = probe.check(check).await.unwrap();
        assert!(
            outcome.passed,
            "failed after the delete: {check:?} {outcome:?}"
        );
    }

    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_counts_fields_and_readiness() {
    if !scenario_runtime_available().await {
        return;
    }
    let cluster = ScenarioCluster::start().await;
    let probe = ClusterProbe::new(cluster.lab.client().clone());
    let check = |yaml: &str| serde_yaml_ng::from_str::<CheckSpec>(yaml).unwrap();

    let cases = [
        (
            "{kind: resource_count, resource: pods, namespace: kube-system, equals: 7}",
            true,
        ),
        ("{kind: resource_count, resource: po, equals: 2}", false),
        ("{kind: resource_count, resource: svc, at_least: 2}", true),
        (
            "{kind: resource_field, resource: deploy, name: hello-tryhackme, path: .spec.replicas, equals: '1'}",
            true,
        ),
        (
            "{kind: resource_field, resource: deploy, name: hello-tryhackme, path: .spec.replicas, equals: '3'}",
            false,
        ),
        (
            "{kind: resource_field, resource: svc, name: hello-tryhackme, path: '.spec.ports[0].nodePort', matches: '^3[0-9]{4}$'}",
            true,
        ),
        (
            "{kind: resource_field, resource: deploy, name: nothing, path: .spec.replicas, equals: '1'}",
            false,
        ),
        ("{kind: pods_ready, selector: app=hello-tryhackme}", true),
        (
            "{kind: pods_ready, selector: app=hello-tryhackme, count: 2}",
            false,
        ),
        (
            "{kind: resource_exists, resource: service, selector: app=hello-tryhackme}",
            true,
        ),
        (
            "{kind: resource_exists, resource: node, name: minikube}",
            true,
        ),
    ];
    for (yaml, expected) in cases {
        let outcome = probe.check(&check(yaml)).await.unwrap();
        assert_eq!(outcome.passed, expected, "{yaml}: {}", outcome.detail);
    }

    let scaled = cluster
        .lab(&["scale", "deployment", "hello-tryhackme", "--replicas=2"])
        .await;
    assert_eq!(scaled.stdout, "deployment.apps/hello-tryhackme scaled\n");
    let replicas = check(
        "{kind: resource_field, resource: deploy, name: hello-tryhackme, path: .spec.replicas, equals: '2'}",
    );
    assert!(probe.check(&replicas).await.unwrap().passed);

    let unknown = check("{kind: resource_count, resource: widgets, equals: 1}");
    assert!(
        probe.check(&unknown).await.is_err(),
        "an unknown kind is an error"
    );

    cluster.stop().await;
}
