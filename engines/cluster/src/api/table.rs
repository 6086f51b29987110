//! Server-side printing: the `meta.k8s.io/v1` `Table` that `kubectl get`
//! asks for, with the columns a real API server prints for each kind
//! (priority 1 columns appear with `-o wide`).

use serde_json::{Value, json};

use crate::resources::ResourceKind;
use crate::time::{age, seconds_since};

/// One column: name, type and whether it is only shown with `-o wide`.
struct Column(&'static str, &'static str, bool);

const NAME: Column = Column("Name", "string", false);
const AGE: Column = Column("Age", "string", false);

fn columns(kind: &str) -> Vec<Column> {
    let wide = |name| Column(name, "string", true);
    let text = |name| Column(name, "string", false);
    match kind {
        "Pod" => vec![
            NAME,
            text("Ready"),
            text("Status"),
            Column("Restarts", "string", false),
            AGE,
            wide("IP"),
            wide("Node"),
            wide("Nominated Node"),
            wide("Readiness Gates"),
        ],
        "Deployment" => vec![
            NAME,
            text("Ready"),
            Column("Up-to-date", "integer", false),
            Column("Available", "integer", false),
            AGE,
            wide("Containers"),
            wide("Images"),
            wide("Selector"),
        ],
        "ReplicaSet" => vec![
            NAME,
            Column("Desired", "integer", false),
            Column("Current", "integer", false),
            Column("Ready", "integer", false),
            AGE,
            wide("Containers"),
            wide("Images"),
            wide("Selector"),
        ],
        "Service" => vec![
            NAME,
            text("Type"),
            text("Cluster-IP"),
            text("External-IP"),
            text("Port(s)"),
            AGE,
            wide("Selector"),
        ],
        "Node" => vec![
            NAME,
            text("Status"),
            text("Roles"),
            AGE,
            text("Version"),
            wide("Internal-IP"),
            wide("External-IP"),
            wide("OS-Image"),
            wide("Kernel-Version"),
            wide("Container-Runtime"),
        ],
        "Namespace" => vec![NAME, text("Status"), AGE],
        "Endpoints" => vec![NAME, text("Endpoints"), AGE],
        "ConfigMap" => vec![NAME, Column("Data", "integer", false), AGE],
        "Secret" => vec![NAME, text("Type"), Column("Data", "integer", false), AGE],
        "ServiceAccount" => vec![NAME, Column("Secrets", "integer", false), AGE],
        "Role" => vec![NAME, Column("Created At", "date", false)],
        "RoleBinding" => vec![
            NAME,
            text("Role"),
            AGE,
            wide("Users"),
            wide("Groups"),
            wide("ServiceAccounts"),
        ],
        "ResourceQuota" => vec![NAME, AGE, text("Request"), text("Limit")],
        "Event" => vec![
            text("Last Seen"),
            text("Type"),
            text("Reason"),
            text("Object"),
            text("Message"),
        ],
        _ => vec![NAME, AGE],
    }
}

fn cells(kind: &str, object: &Value) -> Vec<Value> {
    match kind {
        "Pod" => pod_cells(object),
        "Deployment" => deployment_cells(object),
        "ReplicaSet" => replica_set_cells(object),
        "Service" => service_cells(object),
        "Node" => node_cells(object),
        "Namespace" => vec![
            name(object),
            text(object, "/status/phase"),
            created_age(object),
        ],
        "Endpoints" => vec![
            name(object),
            json!(endpoints_text(object)),
            created_age(object),
        ],
        "ConfigMap" => vec![
            name(object),
            json!(count(object, "/data")),
            created_age(object),
        ],
        "Secret" => vec![
            name(object),
            text(object, "/type"),
            json!(count(object, "/data")),
            created_age(object),
        ],
        "ServiceAccount" => {
            vec![
                name(object),
                json!(count(object, "/secrets")),
                created_age(object),
            ]
        }
        "Event" => event_cells(object),
        "Role" => vec![name(object), text(object, "/metadata/creationTimestamp")],
        "RoleBinding" => role_binding_cells(object),
        "ResourceQuota" => quota_cells(object),
        _ => vec![name(object), created_age(object)],
    }
}

/// The Table for a list of objects of one kind. `include_object` follows the
/// `includeObject` query parameter: `Object` embeds the whole object, anything
/// else (the default) only its metadata.
pub fn table(kind: &ResourceKind, objects: &[Value], revision: u64, include: &str) -> Value {
    let column_definitions: Vec<Value> = columns(kind.kind)
        .into_iter()
        .map(|Column(name, kind, wide)| {
            json!({"name": name, "type": kind, "format": if name == "Name" { "name" } else { "" },
                "description": "", "priority": i32::from(wide)})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| json!({"cells": cells(kind.kind, object), "object": embedded(object, include)}))
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": revision.to_string()},
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

fn embedded(object: &Value, include: &str) -> Value {
    match include {
        "Object" => object.clone(),
        "None" => Value::Null,
        _ => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    }
}

fn pod_cells(pod: &Value) -> Vec<Value> {
    let statuses = array(pod, "/status/containerStatuses");
    let total = array(pod, "/spec/containers").len();
    let ready = statuses.iter().filter(|s| s["ready"] == true).count();
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    let ip = pod
        .pointer("/status/podIP")
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    vec![
        name(pod),
        json!(format!("{ready}/{total}")),
        json!(pod_status_reason(pod)),
        json!(restarts_text(statuses)),
        created_age(pod),
        json!(ip),
        json!(node),
        json!("<none>"),
        json!("<none>"),
    ]
}

/// The STATUS column of a pod: the waiting/terminated reason of a container
/// when there is one, `Terminating` while deleting, else the phase.
pub fn pod_status_reason(pod: &Value) -> String {
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        return "Terminating".into();
    }
    let mut reason = pod
        .pointer("/status/reason")
        .or_else(|| pod.pointer("/status/phase"))
        .and_then(Value::as_str)
        .unwrap_or("Pending")
        .to_string();
    for status in array(pod, "/status/containerStatuses") {
        let state = &status["state"];
        if let Some(waiting) = state["waiting"]["reason"]
            .as_str()
            .filter(|r| !r.is_empty())
        {
            reason = waiting.to_string();
        } else if let Some(terminated) = state["terminated"]["reason"].as_str() {
            reason = terminated.to_string();
        }
    }
    reason
}

fn restarts_text(statuses: &[Value]) -> String {
    let restarts: i64 = statuses
        .iter()
        .filter_map(|s| s["restartCount"].as_i64())
        .sum();
    let last_finish = statuses
        .iter()
        .filter_map(|s| {
            s.pointer("/lastState/terminated/finishedAt")
                .and_then(Value::as_str)
        })
        .filter_map(seconds_since)
        .min();
    match (restarts, last_finish) {
        (0, _) | (_, None) => restarts.to_string(),
        (n, Some(ago)) => format!("{n} ({} ago)", crate::time::human_duration(ago)),
    }
}

fn deployment_cells(deployment: &Value) -> Vec<Value> {
    let desired = int(deployment, "/spec/replicas");
    let ready = int(deployment, "/status/readyReplicas");
    let template = deployment
        .pointer("/spec/template/spec")
        .unwrap_or(&Value::Null);
    vec![
        name(deployment),
        json!(format!("{ready}/{desired}")),
        json!(int(deployment, "/status/updatedReplicas")),
        json!(int(deployment, "/status/availableReplicas")),
        created_age(deployment),
        json!(container_field(template, "name")),
        json!(container_field(template, "image")),
        json!(selector_text(
            deployment.pointer("/spec/selector/matchLabels")
        )),
    ]
}

fn replica_set_cells(rs: &Value) -> Vec<Value> {
    let template = rs.pointer("/spec/template/spec").unwrap_or(&Value::Null);
    vec![
        name(rs),
        json!(int(rs, "/spec/replicas")),
        json!(int(rs, "/status/replicas")),
        json!(int(rs, "/status/readyReplicas")),
        created_age(rs),
        json!(container_field(template, "name")),
        json!(container_field(template, "image")),
        json!(selector_text(rs.pointer("/spec/selector/matchLabels"))),
    ]
}

fn service_cells(service: &Value) -> Vec<Value> {
    let ports: Vec<String> = array(service, "/spec/ports")
        .iter()
        .map(|p| {
            let protocol = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64() {
                Some(node_port) => format!("{}:{node_port}/{protocol}", p["port"]),
                None => format!("{}/{protocol}", p["port"]),
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    vec![
        name(service),
        text(service, "/spec/type"),
        json!(
            service
                .pointer("/spec/clusterIP")
                .and_then(Value::as_str)
                .unwrap_or("<none>")
        ),
        json!("<none>"),
        json!(ports),
        created_age(service),
        json!(selector_text(service.pointer("/spec/selector"))),
    ]
}

fn node_cells(node: &Value) -> Vec<Value> {
    let ready = array(node, "/status/conditions")
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    let roles: Vec<&str> = node
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
        .collect();
    let address = |kind: &str| {
        array(node, "/status/addresses")
            .iter()
            .find(|a| a["type"] == kind)
            .and_then(|a| a["address"].as_str())
            .unwrap_or("<none>")
            .to_string()
    };
    let info = |field: &str| text(node, &format!("/status/nodeInfo/{field}"));
    vec![
        name(node),
        json!(if ready { "Ready" } else { "NotReady" }),
        json!(if roles.is_empty() {
            "<none>".to_string()
        } else {
            roles.join(",")
        }),
        created_age(node),
        info("kubeletVersion"),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        info("osImage"),
        info("kernelVersion"),
        info("containerRuntimeVersion"),
    ]
}

fn role_binding_cells(binding: &Value) -> Vec<Value> {
    let role = format!(
        "{}/{}",
        text(binding, "/roleRef/kind").as_str().unwrap_or(""),
        text(binding, "/roleRef/name").as_str().unwrap_or("")
    );
    let subjects = |kind: &str| {
        let names: Vec<String> = array(binding, "/subjects")
            .iter()
            .filter(|s| s["kind"] == kind)
            .map(|s| {
                let name = s["name"].as_str().unwrap_or("");
                match s["namespace"].as_str().filter(|_| kind == "ServiceAccount") {
                    Some(namespace) => format!("{namespace}/{name}"),
                    None => name.to_string(),
                }
            })
            .collect();
        json!(names.join(", "))
    };
    vec![
        name(binding),
        json!(role),
        created_age(binding),
        subjects("User"),
        subjects("Group"),
        subjects("ServiceAccount"),
    ]
}

/// `used/hard` for each resource of a quota, requests and limits apart, as
/// `pods: 1/10, services: 0/5`.
fn quota_cells(quota: &Value) -> Vec<Value> {
    let hard = quota
        .pointer("/spec/hard")
        .and_then(Value::as_object)
        .into_iter()
        .flatten();
    let (mut requests, mut limits) = (Vec::new(), Vec::new());
    for (resource, limit) in hard {
        let used = quota
            .pointer("/status/used")
            .and_then(|u| u.get(resource))
            .and_then(Value::as_str)
            .unwrap_or("0");
        let cell = format!("{resource}: {used}/{}", limit.as_str().unwrap_or(""));
        match resource.starts_with("limits.") {
            true => limits.push(cell),
            false => requests.push(cell),
        }
    }
    vec![
        name(quota),
        created_age(quota),
        json!(requests.join(", ")),
        json!(limits.join(", ")),
    ]
}

fn event_cells(event: &Value) -> Vec<Value> {
    let last = event
        .pointer("/lastTimestamp")
        .or_else(|| event.pointer("/eventTime"))
        .and_then(Value::as_str);
    let object = format!(
        "{}/{}",
        event
            .pointer("/involvedObject/kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_lowercase(),
        event
            .pointer("/involvedObject/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    );
    vec![
        json!(age(last)),
        text(event, "/type"),
        text(event, "/reason"),
        json!(object),
        text(event, "/message"),
    ]
}

fn endpoints_text(endpoints: &Value) -> String {
    let mut addresses = Vec::new();
    for subset in array(endpoints, "/subsets") {
        let ports = subset["ports"].as_array().cloned().unwrap_or_default();
        for address in subset["addresses"].as_array().into_iter().flatten() {
            let ip = address["ip"].as_str().unwrap_or("");
            for port in &ports {
                addresses.push(format!("{ip}:{}", port["port"]));
            }
        }
    }
    match addresses.len() {
        0 => "<none>".into(),
        1..=3 => addresses.join(","),
        n => format!("{} + {} more...", addresses[..3].join(","), n - 3),
    }
}

fn container_field(template: &Value, field: &str) -> String {
    template["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c[field].as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn selector_text(labels: Option<&Value>) -> String {
    let pairs: Vec<String> = labels
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    if pairs.is_empty() {
        "<none>".into()
    } else {
        pairs.join(",")
    }
}

fn name(object: &Value) -> Value {
    text(object, "/metadata/name")
}

fn created_age(object: &Value) -> Value {
    json!(age(object
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)))
}

fn text(object: &Value, pointer: &str) -> Value {
    json!(
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
    )
}

fn int(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn count(object: &Value, pointer: &str) -> usize {
    match object.pointer(pointer) {
        Some(Value::Object(map)) => map.len(),
        Some(Value::Array(items)) => items.len(),
        _ => 0,
    }
}

fn array<'a>(object: &'a Value, pointer: &str) -> &'a [Value] {
    object
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_looping_pod_shows_waiting_reason() {
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"ready": false, "restartCount": 3,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let row = pod_cells(&pod);
        assert_eq!(row[1], "0/1");
        assert_eq!(row[2], "CrashLoopBackOff");
        assert_eq!(row[3], "3");
    }

    #[test]
    fn quota_prints_used_of_hard_and_binding_its_role() {
        let quota = json!({"metadata": {"name": "q"},
            "spec": {"hard": {"limits.cpu": "2", "pods": "10", "services": "5"}},
            "status": {"used": {"pods": "3"}}});
        let row = quota_cells(&quota);
        assert_eq!(row[2], "pods: 3/10, services: 0/5");
        assert_eq!(row[3], "limits.cpu: 0/2");
        let binding = json!({"metadata": {"name": "b"},
            "roleRef": {"kind": "Role", "name": "student"},
            "subjects": [{"kind": "ServiceAccount", "name": "student", "namespace": "lab-a"}]});
        let row = role_binding_cells(&binding);
        assert_eq!(row[1], "Role/student");
        assert_eq!(row[5], "lab-a/student");
    }

    #[test]
    fn node_port_service_prints_both_ports() {
        let svc = json!({"metadata": {"name": "s"}, "spec": {"type": "NodePort",
            "clusterIP": "10.96.0.10", "ports": [{"port": 8080, "nodePort": 31000, "protocol": "TCP"}]}});
        assert_eq!(service_cells(&svc)[4], "8080:31000/TCP");
    }
}
