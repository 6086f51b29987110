//! The kubelet of the one node: runs each scheduled pod's containers through
//! the [`PodRuntime`], restarts exited ones under the pod's restart policy
//! with exponential back-off (`CrashLoopBackOff`), reports images the lab
//! cannot get (`ErrImagePull`, then `ImagePullBackOff`), removes the
//! containers of deleted pods, and writes the pod status kubectl shows.
//!
//! Each container of a pod runs as its own runtime container; a pod with
//! several containers therefore does not share one network namespace, and
//! reports the first container's address as the pod IP.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::events::{EventType, record};
use crate::cluster::ClusterState;
use crate::runtime::{ContainerSpec, ContainerState, RuntimeError};
use crate::seed::{COMPONENT_ANNOTATION, NODE_IP, NODE_NAME};
use crate::store::object_name;
use crate::time::now_rfc3339;

const FIRST_BACKOFF: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Why a container is not running.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Waiting {
    reason: String,
    message: String,
}

/// What the kubelet remembers about one container.
#[derive(Debug, Clone, Default)]
struct ContainerRun {
    name: String,
    image: String,
    id: Option<String>,
    restarts: i64,
    /// When the next start or restart may happen.
    not_before: Option<Instant>,
    backoff: Duration,
    /// Failed attempts to get the image, to tell ErrImagePull from back-off.
    pull_failures: u32,
    waiting: Option<Waiting>,
    running_since: Option<String>,
    ip: Option<String>,
    /// The terminated state of the current container, when it exited and
    /// will not (or not yet) be restarted.
    terminated: Option<Value>,
    last_terminated: Option<Value>,
}

struct PodRun {
    namespace: String,
    name: String,
    started: String,
    containers: Vec<ContainerRun>,
}

/// The node agent; owned by the control loop.
pub struct Kubelet {
    state: Arc<ClusterState>,
    pods: HashMap<String, PodRun>,
}

impl Kubelet {
    pub fn new(state: Arc<ClusterState>) -> Self {
        Kubelet {
            state,
            pods: HashMap::new(),
        }
    }

    /// One pass: stop what was deleted, advance every container, write statuses.
    pub async fn sync(&mut self) {
        let (pods, _) = self.state.store.list("pods", None);
        let mine: Vec<Value> = pods.into_iter().filter(is_node_pod).collect();
        self.finish_terminating(&mine).await;
        let mine: Vec<Value> = mine
            .into_iter()
            .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
            .collect();
        self.remove_deleted(&mine).await;
        for pod in &mine {
            self.sync_pod(pod).await;
        }
    }

    /// Stops the containers of pods marked for deletion, then lets the API
    /// forget them (the end of graceful deletion).
    async fn finish_terminating(&mut self, pods: &[Value]) {
        for pod in pods
            .iter()
            .filter(|p| p.pointer("/metadata/deletionTimestamp").is_some())
        {
            if let Some(run) = self.pods.remove(uid_of(pod)) {
                for c in run.containers.iter().filter(|c| c.id.is_some()) {
                    let message = format!("Stopping container {}", c.name);
                    record(
                        &self.state.store,
                        pod,
                        EventType::Normal,
                        "Killing",
                        &message,
                        "kubelet",
                    );
                }
                self.remove_containers(&run).await;
            }
            let namespace = pod["metadata"]["namespace"].as_str().unwrap_or("default");
            let _ = self
                .state
                .store
                .delete("pods", namespace, &object_name(pod));
        }
    }

    async fn remove_containers(&self, run: &PodRun) {
        for id in run.containers.iter().filter_map(|c| c.id.as_deref()) {
            if let Err(error) = self.state.runtime.remove(id).await {
                tracing::warn!(%error, pod = %run.name, "could not remove a pod's container");
            }
        }
    }

    async fn remove_deleted(&mut self, current: &[Value]) {
        let gone: Vec<String> = self
            .pods
            .keys()
            .filter(|uid| !current.iter().any(|p| uid_of(p) == uid.as_str()))
            .cloned()
            .collect();
        for uid in gone {
            let Some(run) = self.pods.remove(&uid) else {
                continue;
            };
            for id in run.containers.iter().filter_map(|c| c.id.as_deref()) {
                if let Err(error) = self.state.runtime.remove(id).await {
                    tracing::warn!(%error, pod = %run.name, "could not remove a deleted pod's container");
                }
            }
            tracing::debug!(namespace = %run.namespace, pod = %run.name, "pod containers removed");
        }
    }

    async fn sync_pod(&mut self, pod: &Value) {
        let uid = uid_of(pod).to_string();
        let run = self.pods.entry(uid).or_insert_with(|| new_run(pod));
        let restart_policy = pod
            .pointer("/spec/restartPolicy")
            .and_then(Value::as_str)
            .unwrap_or("Always")
            .to_string();
        if pod.pointer("/status/containerStatuses").is_none() {
            // Shown as ContainerCreating while the runtime starts it.
            let status = pod_status(pod, run, &restart_policy);
            let _ = self
                .state
                .store
                .modify("pods", &run.namespace, &run.name, |p| p["status"] = status);
        }
        for index in 0..run.containers.len() {
            let spec = container_spec(pod, index);
            let container = &mut run.containers[index];
            step(&self.state, pod, container, spec, &restart_policy).await;
        }
        let status = pod_status(pod, run, &restart_policy);
        if pod.get("status") != Some(&status) {
            let namespace = run.namespace.clone();
            let name = run.name.clone();
            let _ = self
                .state
                .store
                .modify("pods", &namespace, &name, |p| p["status"] = status);
        }
    }
}

fn is_node_pod(pod: &Value) -> bool {
    let on_node = pod.pointer("/spec/nodeName").and_then(Value::as_str) == Some(NODE_NAME);
    let annotation = format!(
        "/metadata/annotations/{}",
        COMPONENT_ANNOTATION.replace('/', "~1")
    );
    on_node && pod.pointer(&annotation).is_none()
}

fn uid_of(pod: &Value) -> &str {
    pod.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn new_run(pod: &Value) -> PodRun {
    let containers = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| ContainerRun {
            name: c["name"].as_str().unwrap_or("").to_string(),
            image: c["image"].as_str().unwrap_or("").to_string(),
            backoff: FIRST_BACKOFF,
            ..Default::default()
        })
        .collect();
    PodRun {
        namespace: pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string(),
        name: object_name(pod),
        started: now_rfc3339(),
        containers,
    }
}

fn container_spec(pod: &Value, index: usize) -> ContainerSpec {
    let container = &pod["spec"]["containers"][index];
    let strings = |field: &str| -> Vec<String> {
        container[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let env = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some(format!(
                "{}={}",
                e["name"].as_str()?,
                e["value"].as_str().unwrap_or("")
            ))
        })
        .collect();
    ContainerSpec {
        namespace: pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string(),
        pod: object_name(pod),
        pod_uid: uid_of(pod).to_string(),
        name: container["name"].as_str().unwrap_or("").to_string(),
        image: container["image"].as_str().unwrap_or("").to_string(),
        command: strings("command"),
        args: strings("args"),
        env,
    }
}

async fn step(
    state: &ClusterState,
    pod: &Value,
    c: &mut ContainerRun,
    spec: ContainerSpec,
    policy: &str,
) {
    if c.not_before.is_some_and(|t| Instant::now() < t) {
        return;
    }
    if c.id.is_none() {
        first_start(state, pod, c, spec).await;
    }
    // A container just started is inspected at once, so the pod reports
    // its address and readiness in the same pass.
    if let Some(id) = c.id.clone() {
        match state.runtime.state(&id).await {
            Ok(ContainerState::Running { started_at, ip }) => {
                c.running_since = Some(started_at);
                c.ip = ip.or(c.ip.take());
                c.waiting = None;
                c.terminated = None;
            }
            Ok(ContainerState::Exited {
                exit_code,
                started_at,
                finished_at,
            }) => {
                exited(
                    state,
                    pod,
                    c,
                    &id,
                    policy,
                    exit_code,
                    started_at,
                    finished_at,
                )
                .await;
            }
            Ok(ContainerState::Missing) => c.id = None,
            Err(error) => tracing::warn!(%error, "could not inspect a pod container"),
        }
    }
}

async fn first_start(state: &ClusterState, pod: &Value, c: &mut ContainerRun, spec: ContainerSpec) {
    let store = &state.store;
    match state.runtime.start(&spec).await {
        Ok(id) => {
            let image = &c.image;
            record(
                store,
                pod,
                EventType::Normal,
                "Pulled",
                &format!("Container image \"{image}\" already present on machine"),
                "kubelet",
            );
            record(
                store,
                pod,
                EventType::Normal,
                "Created",
                &format!("Created container: {}", c.name),
                "kubelet",
            );
            record(
                store,
                pod,
                EventType::Normal,
                "Started",
                &format!("Started container {}", c.name),
                "kubelet",
            );
            c.id = Some(id);
            c.waiting = None;
            c.pull_failures = 0;
            c.backoff = FIRST_BACKOFF;
        }
        Err(RuntimeError::ImageUnavailable { image, reason }) => {
            let message = format!(
                "Failed to pull image \"{image}\": the image is not available offline: {reason}"
            );
            let reason = if c.pull_failures == 0 {
                "ErrImagePull"
            } else {
                "ImagePullBackOff"
            };
            if c.pull_failures == 0 {
                record(
                    store,
                    pod,
                    EventType::Warning,
                    "Failed",
                    &message,
                    "kubelet",
                );
                record(
                    store,
                    pod,
                    EventType::Warning,
                    "Failed",
                    "Error: ErrImagePull",
                    "kubelet",
                );
            } else {
                record(
                    store,
                    pod,
                    EventType::Normal,
                    "BackOff",
                    &format!("Back-off pulling image \"{image}\""),
                    "kubelet",
                );
                record(
                    store,
                    pod,
                    EventType::Warning,
                    "Failed",
                    "Error: ImagePullBackOff",
                    "kubelet",
                );
            }
            c.pull_failures += 1;
            c.waiting = Some(Waiting {
                reason: reason.into(),
                message,
            });
            back_off(c);
        }
        Err(error) => {
            let message = error_chain(&error);
            record(
                store,
                pod,
                EventType::Warning,
                "Failed",
                &format!("Error: {message}"),
                "kubelet",
            );
            c.waiting = Some(Waiting {
                reason: "CreateContainerError".into(),
                message,
            });
            back_off(c);
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn exited(
    state: &ClusterState,
    pod: &Value,
    c: &mut ContainerRun,
    id: &str,
    policy: &str,
    exit_code: i64,
    started_at: String,
    finished_at: String,
) {
    let terminated = json!({"exitCode": exit_code, "reason": if exit_code == 0 { "Completed" } else { "Error" },
        "startedAt": started_at, "finishedAt": finished_at, "containerID": format!("docker://{id}")});
    let restart = policy == "Always" || (policy == "OnFailure" && exit_code != 0);
    c.running_since = None;
    if !restart {
        c.terminated = Some(terminated);
        return;
    }
    // The first exit restarts at once; repeated exits wait out a growing
    // back-off, which is what CrashLoopBackOff reports.
    let waited = c
        .waiting
        .as_ref()
        .is_some_and(|w| w.reason == "CrashLoopBackOff");
    if c.restarts > 0 && !waited {
        let message = format!(
            "back-off {}s restarting failed container={} pod={}",
            c.backoff.as_secs(),
            c.name,
            object_name(pod)
        );
        let event = format!(
            "Back-off restarting failed container {} in pod {}",
            c.name,
            object_name(pod)
        );
        record(
            &state.store,
            pod,
            EventType::Warning,
            "BackOff",
            &event,
            "kubelet",
        );
        c.last_terminated = Some(terminated);
        c.waiting = Some(Waiting {
            reason: "CrashLoopBackOff".into(),
            message,
        });
        back_off(c);
        return;
    }
    c.last_terminated = Some(terminated);
    match state.runtime.restart(id).await {
        Ok(()) => {
            c.restarts += 1;
            c.waiting = None;
            record(
                &state.store,
                pod,
                EventType::Normal,
                "Started",
                &format!("Started container {}", c.name),
                "kubelet",
            );
        }
        Err(error) => {
            c.waiting = Some(Waiting {
                reason: "RunContainerError".into(),
                message: error_chain(&error),
            });
            back_off(c);
        }
    }
}

fn back_off(c: &mut ContainerRun) {
    c.not_before = Some(Instant::now() + c.backoff);
    c.backoff = (c.backoff * 2).min(MAX_BACKOFF);
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn container_status(c: &ContainerRun) -> Value {
    let state = match (&c.waiting, &c.running_since, &c.terminated) {
        (Some(w), _, _) => json!({"waiting": {"reason": w.reason, "message": w.message}}),
        (None, Some(since), _) => json!({"running": {"startedAt": since}}),
        (None, None, Some(terminated)) => json!({"terminated": terminated}),
        (None, None, None) => json!({"waiting": {"reason": "ContainerCreating"}}),
    };
    let running = c.waiting.is_none() && c.running_since.is_some();
    let mut status = json!({
        "name": c.name, "image": c.image, "imageID": "", "ready": running, "started": running,
        "restartCount": c.restarts, "state": state,
        "lastState": c.last_terminated.as_ref().map_or_else(|| json!({}), |t| json!({"terminated": t})),
    });
    if let Some(id) = &c.id {
        status["containerID"] = json!(format!("docker://{id}"));
    }
    status
}

fn pod_status(pod: &Value, run: &PodRun, policy: &str) -> Value {
    let statuses: Vec<Value> = run.containers.iter().map(container_status).collect();
    let all_ready = run
        .containers
        .iter()
        .all(|c| c.waiting.is_none() && c.running_since.is_some());
    let ever_started = run
        .containers
        .iter()
        .all(|c| c.id.is_some() || c.restarts > 0);
    let all_terminated = run.containers.iter().all(|c| c.terminated.is_some());
    let phase = match (all_terminated, ever_started, policy) {
        (true, _, "Never" | "OnFailure") => {
            let failed = run
                .containers
                .iter()
                .any(|c| c.terminated.as_ref().is_some_and(|t| t["exitCode"] != 0));
            if failed { "Failed" } else { "Succeeded" }
        }
        (_, true, _) => "Running",
        _ => "Pending",
    };
    let not_ready: Vec<&str> = run
        .containers
        .iter()
        .filter(|c| c.running_since.is_none() || c.waiting.is_some())
        .map(|c| c.name.as_str())
        .collect();
    let mut status = json!({
        "phase": phase,
        "conditions": conditions(pod, all_ready, &not_ready),
        "hostIP": NODE_IP, "hostIPs": [{"ip": NODE_IP}],
        "startTime": run.started,
        "containerStatuses": statuses,
        "qosClass": pod.pointer("/status/qosClass").cloned().unwrap_or(json!("BestEffort")),
    });
    if let Some(ip) = run.containers.first().and_then(|c| c.ip.clone()) {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
    }
    status
}

fn conditions(pod: &Value, ready: bool, not_ready: &[&str]) -> Value {
    let previous = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let since = |kind: &str, status: &str| {
        previous
            .iter()
            .find(|c| c["type"] == kind && c["status"] == status)
            .and_then(|c| c["lastTransitionTime"].as_str().map(str::to_string))
            .unwrap_or_else(now_rfc3339)
    };
    let truth = if ready { "True" } else { "False" };
    let ready_condition = |kind: &str| {
        let mut condition = json!({"type": kind, "status": truth, "lastProbeTime": null,
            "lastTransitionTime": since(kind, truth)});
        if !ready {
            condition["reason"] = json!("ContainersNotReady");
            condition["message"] = json!(format!(
                "containers with unready status: [{}]",
                not_ready.join(" ")
            ));
        }
        condition
    };
    let ready_c = ready_condition("Ready");
    let containers_ready = ready_condition("ContainersReady");
    json!([
        {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": since("PodReadyToStartContainers", "True")},
        {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": since("Initialized", "True")},
        ready_c,
        containers_ready,
        {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": since("PodScheduled", "True")},
    ])
}
