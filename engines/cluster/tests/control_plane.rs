//! The controllers with an in-memory [`PodRuntime`], so what the control
//! plane decides (which containers start and stop) is checked apart from
//! Docker. The kubectl tests cover the same paths on the real runtime.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use lab_cluster::runtime::{
    ContainerSpec, ContainerState, LogOptions, LogStream, PodRuntime, RuntimeError,
};
use lab_cluster::{ClusterConfig, EmbeddedCluster};
use serde_json::Value;

/// Containers that run until removed; records every start and removal.
#[derive(Default)]
struct RecordingRuntime {
    running: Mutex<HashMap<String, ContainerSpec>>,
    removed: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl PodRuntime for RecordingRuntime {
    async fn start(&self, spec: &ContainerSpec) -> Result<String, RuntimeError> {
        if spec.image.starts_with("missing/") {
            return Err(RuntimeError::ImageUnavailable {
                image: spec.image.clone(),
                reason: "test".into(),
            });
        }
        let id = format!("c-{}-{}", spec.pod, spec.name);
        self.running
            .lock()
            .unwrap()
            .insert(id.clone(), spec.clone());
        Ok(id)
    }
    async fn restart(&self, _id: &str) -> Result<(), RuntimeError> {
        Ok(())
    }
    async fn remove(&self, id: &str) -> Result<(), RuntimeError> {
        self.running.lock().unwrap().remove(id);
        self.removed.lock().unwrap().push(id.to_string());
        Ok(())
    }
    async fn state(&self, id: &str) -> Result<ContainerState, RuntimeError> {
        Ok(match self.running.lock().unwrap().contains_key(id) {
            true => ContainerState::Running {
                started_at: "2024-01-01T00:00:00Z".into(),
                ip: Some("10.1.0.9".into()),
            },
            false => ContainerState::Missing,
        })
    }
    async fn logs(&self, id: &str, _options: LogOptions) -> Result<LogStream, RuntimeError> {
        let line = Bytes::from(format!("log of {id}\n"));
        Ok(Box::pin(futures::stream::iter([Ok(line)])))
    }
    async fn remove_all(&self) -> Result<(), RuntimeError> {
        self.running.lock().unwrap().clear();
        Ok(())
    }
    fn runtime_version(&self) -> String {
        "recording://1".into()
    }
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: main, image: 'app:1'}]
";

fn app_pods(cluster: &EmbeddedCluster) -> Vec<Value> {
    let (pods, _) = cluster.state().store.list("pods", Some("default"));
    pods
}

async fn until(cluster: &EmbeddedCluster, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..100 {
        let pods = app_pods(cluster);
        if done(&pods) {
            return pods;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "pods never reached the expected state: {:#?}",
        app_pods(cluster)
    );
}

fn running(pods: &[Value]) -> usize {
    pods.iter()
        .filter(|p| {
            p["status"]["phase"] == "Running" && p["metadata"]["deletionTimestamp"].is_null()
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_set_replaces_a_deleted_pod_and_its_container_goes() {
    let runtime = Arc::new(RecordingRuntime::default());
    let config = ClusterConfig {
        session_id: "cp".into(),
        runtime: Some(runtime.clone()),
    };
    let cluster = EmbeddedCluster::start(config).await.unwrap();
    assert_eq!(cluster.apply_manifests(&[DEPLOYMENT]).unwrap(), 1);

    let pods = until(&cluster, |pods| running(pods) == 2).await;
    assert!(pods.iter().all(|p| p["status"]["podIP"] == "10.1.0.9"));
    assert_eq!(runtime.running.lock().unwrap().len(), 2);

    let victim = pods[0]["metadata"]["name"].as_str().unwrap().to_string();
    cluster
        .state()
        .store
        .delete("pods", "default", &victim)
        .unwrap();
    let pods = until(&cluster, |pods| {
        running(pods) == 2
            && pods
                .iter()
                .all(|p| p["metadata"]["name"] != victim.as_str())
    })
    .await;
    assert_eq!(pods.len(), 2);
    let removed = runtime.removed.lock().unwrap().clone();
    assert_eq!(removed, [format!("c-{victim}-main")]);
    cluster.shutdown().await;
    assert!(
        runtime.running.lock().unwrap().is_empty(),
        "shutdown removes the pods' containers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_image_is_reported_then_backed_off() {
    let runtime = Arc::new(RecordingRuntime::default());
    let config = ClusterConfig {
        session_id: "cp2".into(),
        runtime: Some(runtime),
    };
    let cluster = EmbeddedCluster::start(config).await.unwrap();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: lost}\nspec:\n  containers: [{name: main, image: 'missing/app:1'}]\n";
    cluster.apply_manifests(&[pod]).unwrap();
    let pods = until(&cluster, |pods| {
        pods.iter().any(|p| {
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ErrImagePull"
        })
    })
    .await;
    let message = pods[0]["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("not available offline"), "{message}");
    assert_eq!(pods[0]["status"]["phase"], "Pending");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_writes_a_kubeconfig_and_stops_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    let config = ClusterConfig {
        session_id: "serve".into(),
        runtime: Some(Arc::new(RecordingRuntime::default())),
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let until = async {
        let url = rx.await.unwrap();
        let answer = tokio::net::TcpStream::connect(url.trim_start_matches("http://")).await;
        assert!(answer.is_ok(), "the API answers while serving");
    };
    lab_cluster::serve(
        config,
        Some(&kubeconfig),
        |cluster| tx.send(cluster.base_url()).unwrap(),
        until,
    )
    .await
    .unwrap();
    let written = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(
        written.contains("current-context: lab") && written.contains("server: http://127.0.0.1:")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_cluster_shows_its_control_plane_running() {
    let config = ClusterConfig {
        session_id: "cp-start".into(),
        runtime: Some(Arc::new(RecordingRuntime::default())),
    };
    let cluster = EmbeddedCluster::start(config).await.unwrap();
    let (pods, _) = cluster.state().store.list("pods", Some("kube-system"));
    assert_eq!(pods.len(), 7);
    for pod in &pods {
        assert_eq!(pod["status"]["phase"], "Running", "{pod:#}");
    }
    cluster.shutdown().await;
}
