//! The ReplicaSet controller: keeps `spec.replicas` pods alive (a deleted or
//! failed pod is replaced) and reports how many exist and are ready.

use serde_json::{Value, json};

use super::events::{EventType, record};
use crate::api::selector::LabelSelector;
use crate::names::random_suffix;
use crate::store::{Store, object_name};

const COMPONENT: &str = "replicaset-controller";

pub fn reconcile_all(store: &Store) {
    let (sets, _) = store.list("replicasets", None);
    let (pods, _) = store.list("pods", None);
    for rs in &sets {
        reconcile(store, rs, &pods);
    }
}

fn reconcile(store: &Store, rs: &Value, pods: &[Value]) {
    let namespace = rs["metadata"]["namespace"].as_str().unwrap_or("default");
    let uid = &rs["metadata"]["uid"];
    let owned: Vec<&Value> = pods
        .iter()
        .filter(|p| p["metadata"]["namespace"] == namespace && super::gc::owned_by(p, uid))
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
        .filter(|p| {
            !matches!(
                p.pointer("/status/phase").and_then(Value::as_str),
                Some("Failed" | "Succeeded")
            )
        })
        .collect();
    let desired = usize::try_from(
        rs.pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1),
    )
    .unwrap_or(0);
    if owned.len() < desired {
        for _ in owned.len()..desired {
            create_pod(store, rs, namespace);
        }
    } else if owned.len() > desired {
        delete_surplus(store, rs, namespace, &owned, owned.len() - desired);
    }
    update_status(store, rs, namespace);
}

fn create_pod(store: &Store, rs: &Value, namespace: &str) {
    let template = rs
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let name = format!("{}-{}", object_name(rs), random_suffix(5));
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": template.get("metadata").cloned().unwrap_or_else(|| json!({})),
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    });
    pod["metadata"]["name"] = json!(name);
    pod["metadata"]["generateName"] = json!(format!("{}-", object_name(rs)));
    pod["metadata"]["ownerReferences"] = json!([super::controller_ref(rs, "ReplicaSet")]);
    let Some(kind) = crate::resources::ResourceKind::by_plural("pods") else {
        return;
    };
    let pod = match crate::objects::normalize(kind, pod) {
        Ok(pod) => pod,
        Err(error) => {
            record(
                store,
                rs,
                EventType::Warning,
                "FailedCreate",
                &format!("Error creating: {error}"),
                COMPONENT,
            );
            return;
        }
    };
    if store.create("pods", namespace, pod).is_ok() {
        record(
            store,
            rs,
            EventType::Normal,
            "SuccessfulCreate",
            &format!("Created pod: {name}"),
            COMPONENT,
        );
    }
}

/// Deletes `count` pods, not-ready ones first, then the youngest.
fn delete_surplus(store: &Store, rs: &Value, namespace: &str, owned: &[&Value], count: usize) {
    let mut ranked: Vec<&Value> = owned.to_vec();
    ranked.sort_by_key(|p| {
        let ready = is_ready(p);
        let created = p
            .pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        (ready, std::cmp::Reverse(created))
    });
    for pod in ranked.into_iter().take(count) {
        let name = object_name(pod);
        if store.delete("pods", namespace, &name).is_ok() {
            record(
                store,
                rs,
                EventType::Normal,
                "SuccessfulDelete",
                &format!("Deleted pod: {name}"),
                COMPONENT,
            );
        }
    }
}

pub fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn update_status(store: &Store, rs: &Value, namespace: &str) {
    let name = object_name(rs);
    let selector = LabelSelector::from_match_labels(rs.pointer("/spec/selector/matchLabels"));
    let (pods, _) = store.list("pods", Some(namespace));
    let current: Vec<&Value> = pods
        .iter()
        .filter(|p| super::gc::owned_by(p, &rs["metadata"]["uid"]))
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
        .filter(|p| {
            !matches!(
                p.pointer("/status/phase").and_then(Value::as_str),
                Some("Failed" | "Succeeded")
            )
        })
        .collect();
    let ready = current.iter().filter(|p| is_ready(p)).count();
    let labelled = current.iter().filter(|p| selector.matches(p)).count();
    let status = json!({
        "replicas": current.len(),
        "fullyLabeledReplicas": labelled,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "observedGeneration": rs.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
    });
    let status = without_zeros(status, &["replicas"]);
    if rs.get("status") == Some(&status) {
        return;
    }
    let _ = store.modify("replicasets", namespace, &name, |rs| rs["status"] = status);
}

/// Zero counts are omitted from status, as the real API's `omitempty` does,
/// except the fields in `keep`.
pub fn without_zeros(mut status: Value, keep: &[&str]) -> Value {
    if let Some(map) = status.as_object_mut() {
        map.retain(|k, v| keep.contains(&k.as_str()) || v != &json!(0));
    }
    status
}
