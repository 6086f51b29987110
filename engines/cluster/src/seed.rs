//! The starting state of every cluster, shaped like a fresh single-node
//! minikube: namespaces, the node `minikube`, the `kubernetes` and `kube-dns`
//! Services, and the seven kube-system pods.
//!
//! The control-plane pods stand for the embedded components: their Ready
//! condition follows whether the embedded API server and controller loop
//! run (see [`refresh_components`]). coredns, kube-proxy and
//! storage-provisioner have no embedded counterpart (there is no cluster DNS
//! or service proxy here); their status follows the API server so the
//! listing looks like a healthy cluster, which is what the lessons describe.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use crate::cluster::ClusterState;
use crate::names::random_suffix;
use crate::resources::ResourceKind;
use crate::time::now_rfc3339;

pub const NODE_NAME: &str = "minikube";
/// The address pods on the host network (the control plane) report.
pub const NODE_IP: &str = "127.0.0.1";
/// Annotation naming the embedded component a kube-system pod stands for;
/// the kubelet loop never runs such pods as containers.
pub const COMPONENT_ANNOTATION: &str = "lab.cluster/component";

const NAMESPACES: [&str; 4] = ["default", "kube-node-lease", "kube-public", "kube-system"];

/// Which embedded part a kube-system pod reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Component {
    ApiServer,
    Controllers,
}

/// Creates the starting objects. Seeding a fresh store cannot conflict, so a
/// refused object is a programming error, logged rather than returned.
pub fn seed(state: &ClusterState) {
    for namespace in NAMESPACES {
        create(
            state,
            "",
            json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace}}),
        );
    }
    create(state, "", node(state));
    create(state, "default", kubernetes_service());
    create(state, "kube-system", kube_dns_service());
    for (name, component, host_network) in component_pods() {
        create(
            state,
            "kube-system",
            component_pod(&name, component, host_network),
        );
    }
    refresh_components(state);
}

fn create(state: &ClusterState, namespace: &str, object: Value) {
    let kind_name = object["kind"].as_str().unwrap_or("");
    let Some(kind) = ResourceKind::by_kind(object["apiVersion"].as_str().unwrap_or(""), kind_name)
    else {
        return;
    };
    let prepared =
        crate::api::resource::prepare_new(state, kind, namespace, object).map_err(|e| e.message);
    match prepared.map(|o| state.store.create(kind.plural, namespace, o)) {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => tracing::error!(%error, "seeding the cluster failed"),
        Err(error) => tracing::error!(%error, "seeding the cluster failed"),
    }
}

fn component_pods() -> Vec<(String, Component, bool)> {
    let hash = random_suffix(10).chars().take(10).collect::<String>();
    vec![
        (
            format!("coredns-{hash}-{}", random_suffix(5)),
            Component::ApiServer,
            false,
        ),
        (format!("etcd-{NODE_NAME}"), Component::ApiServer, true),
        (
            format!("kube-apiserver-{NODE_NAME}"),
            Component::ApiServer,
            true,
        ),
        (
            format!("kube-controller-manager-{NODE_NAME}"),
            Component::Controllers,
            true,
        ),
        (
            format!("kube-proxy-{}", random_suffix(5)),
            Component::ApiServer,
            true,
        ),
        (
            format!("kube-scheduler-{NODE_NAME}"),
            Component::Controllers,
            true,
        ),
        (
            "storage-provisioner".to_string(),
            Component::ApiServer,
            true,
        ),
    ]
}

fn component_pod(name: &str, component: Component, host_network: bool) -> Value {
    let base = name
        .split('-')
        .take(if name.starts_with("kube-") { 2 } else { 1 });
    let container = base.collect::<Vec<_>>().join("-");
    let component_name = match component {
        Component::ApiServer => "apiserver",
        Component::Controllers => "controllers",
    };
    let ip = if host_network { NODE_IP } else { "10.244.0.2" };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "kube-system",
            "labels": {"component": container, "tier": "control-plane"},
            "annotations": {COMPONENT_ANNOTATION: component_name}},
        "spec": {"nodeName": NODE_NAME, "hostNetwork": host_network, "priorityClassName": "system-node-critical",
            "containers": [{"name": container, "image": format!("registry.k8s.io/{container}:v1.32.0")}]},
        "status": {"phase": "Pending", "podIP": ip, "hostIP": NODE_IP},
    })
}

fn node(state: &ClusterState) -> Value {
    let now = now_rfc3339();
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE_NAME, "labels": {
            "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": NODE_NAME,
            "kubernetes.io/os": "linux", "minikube.k8s.io/primary": "true",
            "node-role.kubernetes.io/control-plane": "",
            "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux"}},
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": NODE_NAME}],
            "capacity": {"cpu": cpu_count(), "memory": memory_total(), "pods": "110"},
            "allocatable": {"cpu": cpu_count(), "memory": memory_total(), "pods": "110"},
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "nodeInfo": {
                "architecture": "amd64", "operatingSystem": "linux", "bootID": "", "machineID": "",
                "systemUUID": "", "kubeletVersion": crate::api::discovery::GIT_VERSION,
                "kubeProxyVersion": crate::api::discovery::GIT_VERSION,
                "containerRuntimeVersion": state.runtime.runtime_version(),
                "kernelVersion": host_file("/proc/sys/kernel/osrelease"), "osImage": os_image(),
            },
        },
    })
}

fn cpu_count() -> String {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .to_string()
}

/// The host's memory as a Kubernetes quantity (`24563212Ki`).
fn memory_total() -> String {
    host_file("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .map(|v| format!("{}Ki", v.trim().trim_end_matches("kB").trim()))
        .unwrap_or_else(|| "0".to_string())
}

fn host_file(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn os_image() -> String {
    host_file("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".to_string())
}

fn kubernetes_service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 8443}]}})
}

fn kube_dns_service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "labels": {"k8s-app": "kube-dns"}},
        "spec": {"clusterIP": "10.96.0.10", "selector": {"k8s-app": "kube-dns"}, "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
            {"name": "metrics", "port": 9153, "protocol": "TCP"}]}})
}

/// Sets each kube-system component pod's status from the health of the
/// embedded part it stands for.
pub fn refresh_components(state: &ClusterState) {
    let api = state.api_running.load(Ordering::SeqCst);
    let controllers = state.controllers_running.load(Ordering::SeqCst);
    let (pods, _) = state.store.list("pods", Some("kube-system"));
    for pod in pods {
        let healthy = match pod.pointer(&format!(
            "/metadata/annotations/{}",
            COMPONENT_ANNOTATION.replace('/', "~1")
        )) {
            Some(Value::String(c)) if c == "controllers" => controllers,
            Some(Value::String(_)) => api,
            _ => continue,
        };
        let name = crate::store::object_name(&pod);
        let _ = state.store.modify("pods", "kube-system", &name, |pod| {
            set_component_status(pod, healthy)
        });
    }
}

fn set_component_status(pod: &mut Value, healthy: bool) {
    let container = pod
        .pointer("/spec/containers/0")
        .cloned()
        .unwrap_or(Value::Null);
    let was_ready = pod.pointer("/status/conditions/1/status") == Some(&json!("True"));
    if was_ready == healthy && pod.pointer("/status/containerStatuses").is_some() {
        return;
    }
    let now = now_rfc3339();
    let truth = if healthy { "True" } else { "False" };
    let started = pod
        .pointer("/metadata/creationTimestamp")
        .cloned()
        .unwrap_or(json!(now));
    let state = if healthy {
        json!({"running": {"startedAt": started}})
    } else {
        json!({"waiting": {"reason": "NotRunning", "message": "the embedded component is stopped"}})
    };
    pod["status"]["phase"] = json!(if healthy { "Running" } else { "Pending" });
    pod["status"]["startTime"] = started.clone();
    pod["status"]["conditions"] = json!([
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
        {"type": "Ready", "status": truth, "lastTransitionTime": now},
        {"type": "ContainersReady", "status": truth, "lastTransitionTime": now},
        {"type": "Initialized", "status": "True", "lastTransitionTime": started},
    ]);
    pod["status"]["containerStatuses"] = json!([{
        "name": container["name"], "image": container["image"], "imageID": "",
        "ready": healthy, "started": healthy, "restartCount": 0, "state": state,
    }]);
}
