//! Prints how fast an embedded cluster starts and how much it costs:
//! - start to a serving API with the first scenario's objects applied;
//! - start to the scenario's Deployment available (its pod running in Docker);
//! - the round trip of `kubectl get pods`;
//! - resident memory per cluster (control plane only: pods are Docker's).
//!
//! For comparison, kind takes about 14 s and k3d about 13 s to a ready
//! cluster on a laptop. Run with `cargo bench -p lab-cluster`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use lab_cluster::runtime::{
    ContainerSpec, ContainerState, LogOptions, LogStream, PodRuntime, RuntimeError,
};
use lab_cluster::{ClusterConfig, EmbeddedCluster};

fn scenario_manifests() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../content/cluster/virtualization-and-containers");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// A runtime that runs nothing, so memory figures are the control plane's.
struct NoContainers;

#[async_trait::async_trait]
impl PodRuntime for NoContainers {
    async fn start(&self, spec: &ContainerSpec) -> Result<String, RuntimeError> {
        Err(RuntimeError::ImageUnavailable {
            image: spec.image.clone(),
            reason: "benchmark".into(),
        })
    }
    async fn restart(&self, _: &str) -> Result<(), RuntimeError> {
        Ok(())
    }
    async fn remove(&self, _: &str) -> Result<(), RuntimeError> {
        Ok(())
    }
    async fn state(&self, _: &str) -> Result<ContainerState, RuntimeError> {
        Ok(ContainerState::Missing)
    }
    async fn logs(&self, _: &str, _: LogOptions) -> Result<LogStream, RuntimeError> {
        Ok(Box::pin(futures::stream::iter([Ok(Bytes::new())])))
    }
    async fn remove_all(&self) -> Result<(), RuntimeError> {
        Ok(())
    }
    fn runtime_version(&self) -> String {
        "none://0".into()
    }
}

fn deployment_available(cluster: &EmbeddedCluster) -> bool {
    let (deployments, _) = cluster.state().store.list("deployments", Some("default"));
    !deployments.is_empty()
        && deployments.iter().all(|d| {
            let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
            d["status"]["availableReplicas"].as_i64().unwrap_or(0) >= want
        })
}

async fn start_to_ready(manifests: &[&str], runs: usize) {
    let mut serving = Vec::new();
    let mut ready = Vec::new();
    for run in 0..runs {
        let started = Instant::now();
        let cluster = EmbeddedCluster::start(ClusterConfig::for_session(format!("bench-{run}")))
            .await
            .unwrap();
        cluster.apply_manifests(manifests).unwrap();
        serving.push(started.elapsed());
        let deadline = started + Duration::from_secs(30);
        while !deployment_available(&cluster) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if deployment_available(&cluster) {
            ready.push(started.elapsed());
        }
        cluster.shutdown().await;
    }
    println!(
        "start -> API serving with scenario objects: {}",
        summary(&serving)
    );
    if ready.is_empty() {
        println!(
            "start -> Deployment available: not reached in 30 s (is the scenario image built?)"
        );
    } else {
        println!(
            "start -> Deployment available (pod running in Docker): {}",
            summary(&ready)
        );
    }
}

async fn kubectl_round_trip(manifests: &[&str], runs: usize) {
    let cluster = EmbeddedCluster::start(ClusterConfig::for_session("bench-kubectl"))
        .await
        .unwrap();
    cluster.apply_manifests(manifests).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let output = tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["get", "pods"])
            .env("HOME", dir.path())
            .output()
            .await
            .unwrap();
        assert!(output.status.success());
        times.push(started.elapsed());
    }
    println!(
        "kubectl get pods round trip (process start included): {}",
        summary(&times)
    );
    cluster.shutdown().await;
}

async fn memory_per_cluster(manifests: &[&str], count: usize) {
    let warm = EmbeddedCluster::start(ClusterConfig {
        session_id: "warm".into(),
        runtime: Some(Arc::new(NoContainers)),
    })
    .await
    .unwrap();
    let _ = lab_cluster::api::openapi::root();
    warm.shutdown().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = resident_kib();
    let mut clusters = Vec::new();
    for i in 0..count {
        let config = ClusterConfig {
            session_id: format!("mem-{i}"),
            runtime: Some(Arc::new(NoContainers)),
        };
        let cluster = EmbeddedCluster::start(config).await.unwrap();
        cluster.apply_manifests(manifests).unwrap();
        clusters.push(cluster);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = resident_kib();
    let per = after.saturating_sub(before) / u64::try_from(count).unwrap();
    println!(
        "memory per embedded cluster ({count} running, scenario objects applied): {per} KiB resident"
    );
    for cluster in clusters {
        cluster.shutdown().await;
    }
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn summary(times: &[Duration]) -> String {
    let total: Duration = times.iter().sum();
    let mean = total / u32::try_from(times.len().max(1)).unwrap();
    let min = times.iter().min().copied().unwrap_or_default();
    let max = times.iter().max().copied().unwrap_or_default();
    format!(
        "mean {mean:.1?}, min {min:.1?}, max {max:.1?} over {} runs",
        times.len()
    )
}

#[tokio::main]
async fn main() {
    let manifests = scenario_manifests();
    let manifests: Vec<&str> = manifests.iter().map(String::as_str).collect();
    println!("first scenario manifests: {}", manifests.len());
    start_to_ready(&manifests, 5).await;
    kubectl_round_trip(&manifests, 10).await;
    memory_per_cluster(&manifests, 20).await;
    println!("for comparison: kind about 14 s, k3d about 13 s to a ready cluster");
}
