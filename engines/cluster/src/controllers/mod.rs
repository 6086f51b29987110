//! The control loop: level-triggered controllers that run after every store
//! change (and once a second), each reading the whole state and writing what
//! differs.
//!
//! - [`deployment`], [`replicaset`]: workloads.
//! - [`kubelet`]: runs scheduled pods through the [`crate::runtime::PodRuntime`].
//! - [`service`]: IP and node-port allocation, endpoints.
//! - [`node_ports`]: listeners that forward node ports to endpoints.
//! - [`gc`]: garbage collection by owner references.
//! - [`quota`]: the usage counts of resource quotas (not enforced).
//! - [`events`]: the event recorder the others use.
//!
//! The scheduler and the service-account controller are small enough to
//! live here.

pub mod deployment;
pub mod events;
pub mod gc;
pub mod kubelet;
pub mod node_ports;
pub mod quota;
pub mod replicaset;
pub mod service;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cluster::ClusterState;
use crate::seed::{NODE_NAME, refresh_components};
use crate::store::{Store, object_name};
use events::{EventType, record};

/// The longest the loop sleeps without a store change (pod containers can
/// exit without one).
const RESYNC: Duration = Duration::from_secs(1);
/// The shortest pause between passes, so a burst of writes is handled in
/// one pass rather than one pass per write.
const SETTLE: Duration = Duration::from_millis(20);

/// Starts the control loop; it stops when `cancel` fires.
pub fn spawn(state: Arc<ClusterState>, cancel: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        state.controllers_running.store(true, Ordering::SeqCst);
        let mut kubelet = kubelet::Kubelet::new(state.clone());
        let mut node_ports = node_ports::NodePortProxy::new(state.store.clone());
        let changed = state.store.changed();
        loop {
            let notified = changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            run_pass(&state, &mut kubelet).await;
            node_ports.sync();
            tokio::time::sleep(SETTLE).await;
            tokio::select! {
                () = cancel.cancelled() => break,
                () = notified => {}
                () = tokio::time::sleep(RESYNC) => {}
            }
        }
        state.controllers_running.store(false, Ordering::SeqCst);
        refresh_components(&state);
    })
}

async fn run_pass(state: &ClusterState, kubelet: &mut kubelet::Kubelet) {
    let store = &state.store;
    ensure_service_accounts(store);
    deployment::reconcile_all(store);
    replicaset::reconcile_all(store);
    schedule(store);
    kubelet.sync().await;
    service::reconcile_endpoints(store);
    gc::collect(store);
    quota::reconcile_all(store);
    refresh_components(state);
}

/// The owner reference a controller puts on what it creates.
pub fn controller_ref(owner: &Value, kind: &str) -> Value {
    json!({
        "apiVersion": owner["apiVersion"], "kind": kind,
        "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
        "controller": true, "blockOwnerDeletion": true,
    })
}

/// Binds every unscheduled pod to the one node.
fn schedule(store: &Store) {
    let (pods, _) = store.list("pods", None);
    let unscheduled = pods.iter().filter(|p| {
        p.pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_none()
    });
    for pod in unscheduled {
        let namespace = pod["metadata"]["namespace"].as_str().unwrap_or("default");
        let name = object_name(pod);
        let now = crate::time::now_rfc3339();
        let bound = store.modify("pods", namespace, &name, |pod| {
            pod["spec"]["nodeName"] = json!(NODE_NAME);
            pod["status"]["conditions"] = json!([
                {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}]);
        });
        if let Ok(bound) = bound {
            let message = format!("Successfully assigned {namespace}/{name} to {NODE_NAME}");
            record(
                store,
                &bound,
                EventType::Normal,
                "Scheduled",
                &message,
                "default-scheduler",
            );
        }
    }
}

/// Every namespace has a `default` ServiceAccount.
fn ensure_service_accounts(store: &Store) {
    let (namespaces, _) = store.list("namespaces", None);
    for namespace in namespaces {
        let name = object_name(&namespace);
        if store.get("serviceaccounts", &name, "default").is_none() {
            let account = json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": name}});
            let _ = store.create("serviceaccounts", &name, account);
        }
    }
}
