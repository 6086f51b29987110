//! The Deployment controller: one ReplicaSet per pod template (named
//! `<deployment>-<pod-template-hash>`), rolling updates within `maxSurge` /
//! `maxUnavailable`, revision annotations that `kubectl rollout undo` reads,
//! and the status `kubectl rollout status` waits on.

use serde_json::{Value, json};

use super::events::{EventType, record};
use super::replicaset::without_zeros;
use crate::names::template_hash;
use crate::store::{Store, object_name};

const COMPONENT: &str = "deployment-controller";
const REVISION: &str = "deployment.kubernetes.io/revision";
const HASH_LABEL: &str = "pod-template-hash";

pub fn reconcile_all(store: &Store) {
    let (deployments, _) = store.list("deployments", None);
    for deployment in &deployments {
        reconcile(store, deployment);
    }
}

fn reconcile(store: &Store, deployment: &Value) {
    let namespace = deployment["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    let owned = owned_sets(store, deployment, &namespace);
    let hash = template_hash(&deployment["spec"]["template"]);
    let new_rs = match owned.iter().find(|rs| rs_hash(rs) == hash) {
        Some(rs) => promote_revision(store, rs, &owned, &namespace),
        None => create_new_set(store, deployment, &hash, &owned, &namespace),
    };
    let Some(new_rs) = new_rs else {
        return;
    };
    let old: Vec<&Value> = owned.iter().filter(|rs| rs_hash(rs) != hash).collect();
    scale(store, deployment, &new_rs, &old, &namespace);
    prune_history(store, deployment, &old, &namespace);
    update_status(store, deployment, &new_rs, &namespace);
}

fn owned_sets(store: &Store, deployment: &Value, namespace: &str) -> Vec<Value> {
    let (sets, _) = store.list("replicasets", Some(namespace));
    sets.into_iter()
        .filter(|rs| super::gc::owned_by(rs, &deployment["metadata"]["uid"]))
        .collect()
}

fn rs_hash(rs: &Value) -> &str {
    rs.pointer("/metadata/labels/pod-template-hash")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn revision(rs: &Value) -> i64 {
    rs.pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn max_revision(sets: &[Value]) -> i64 {
    sets.iter().map(revision).max().unwrap_or(0)
}

/// An old template that comes back (a rollback) becomes the newest revision.
fn promote_revision(store: &Store, rs: &Value, owned: &[Value], namespace: &str) -> Option<Value> {
    let highest = max_revision(owned);
    if revision(rs) == highest {
        return Some(rs.clone());
    }
    store
        .modify("replicasets", namespace, &object_name(rs), |rs| {
            rs["metadata"]["annotations"][REVISION] = json!((highest + 1).to_string());
        })
        .ok()
}

fn create_new_set(
    store: &Store,
    deployment: &Value,
    hash: &str,
    owned: &[Value],
    namespace: &str,
) -> Option<Value> {
    let name = format!("{}-{hash}", object_name(deployment));
    let mut template = deployment["spec"]["template"].clone();
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = deployment["spec"]["selector"].clone();
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let desired = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    let rs = json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {
            "name": name, "namespace": namespace,
            "labels": template["metadata"]["labels"].clone(),
            "annotations": {
                REVISION: (max_revision(owned) + 1).to_string(),
                "deployment.kubernetes.io/desired-replicas": desired.to_string(),
                "deployment.kubernetes.io/max-replicas": (desired + max_surge(deployment)).to_string(),
            },
            "ownerReferences": [super::controller_ref(deployment, "Deployment")],
        },
        "spec": {"replicas": 0, "selector": selector, "template": template},
    });
    let kind = crate::resources::ResourceKind::by_plural("replicasets")?;
    let rs = crate::objects::normalize(kind, rs).ok()?;
    match store.create("replicasets", namespace, rs) {
        Ok(created) => Some(created),
        Err(error) => {
            tracing::debug!(%error, "new replica set not created this pass");
            None
        }
    }
}

/// Resolves an int-or-percent against the desired count.
fn resolve(value: &Value, desired: i64, round_up: bool) -> i64 {
    match value {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => {
            let percent: i64 = s.trim_end_matches('%').parse().unwrap_or(25);
            let scaled = desired * percent;
            if round_up {
                (scaled + 99) / 100
            } else {
                scaled / 100
            }
        }
        _ => 0,
    }
}

fn max_surge(deployment: &Value) -> i64 {
    let desired = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    let value = deployment
        .pointer("/spec/strategy/rollingUpdate/maxSurge")
        .cloned()
        .unwrap_or(json!("25%"));
    resolve(&value, desired, true)
}

fn max_unavailable(deployment: &Value) -> i64 {
    let desired = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    let value = deployment
        .pointer("/spec/strategy/rollingUpdate/maxUnavailable")
        .cloned()
        .unwrap_or(json!("25%"));
    let unavailable = resolve(&value, desired, false);
    if unavailable == 0 && max_surge(deployment) == 0 {
        1
    } else {
        unavailable
    }
}

fn replicas(rs: &Value) -> i64 {
    rs["spec"]["replicas"].as_i64().unwrap_or(0)
}

fn available(rs: &Value) -> i64 {
    rs.pointer("/status/availableReplicas")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

fn scale(store: &Store, deployment: &Value, new_rs: &Value, old: &[&Value], namespace: &str) {
    let desired = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    let old_active: Vec<&&Value> = old.iter().filter(|rs| replicas(rs) > 0).collect();
    if deployment
        .pointer("/spec/strategy/type")
        .and_then(Value::as_str)
        == Some("Recreate")
    {
        for rs in &old_active {
            scale_set(store, deployment, rs, 0, namespace);
        }
        let old_pods_gone = old.iter().all(|rs| {
            rs.pointer("/status/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                == 0
        });
        if old_pods_gone {
            scale_set(store, deployment, new_rs, desired, namespace);
        }
        return;
    }
    if old_active.is_empty() {
        scale_set(store, deployment, new_rs, desired, namespace);
        return;
    }
    let total: i64 = replicas(new_rs) + old_active.iter().map(|rs| replicas(rs)).sum::<i64>();
    let room = desired + max_surge(deployment) - total;
    if room > 0 && replicas(new_rs) < desired {
        scale_set(
            store,
            deployment,
            new_rs,
            (replicas(new_rs) + room).min(desired),
            namespace,
        );
    }
    let min_available = desired - max_unavailable(deployment);
    let all_available: i64 =
        available(new_rs) + old_active.iter().map(|rs| available(rs)).sum::<i64>();
    let mut budget = (all_available - min_available).max(0);
    // Pods of old sets that are not available cost no availability to remove.
    for rs in &old_active {
        let unavailable = (replicas(rs) - available(rs)).max(0);
        let cut = (unavailable + budget).min(replicas(rs));
        if cut > 0 {
            budget -= (cut - unavailable).max(0);
            scale_set(store, deployment, rs, replicas(rs) - cut, namespace);
        }
    }
}

fn scale_set(store: &Store, deployment: &Value, rs: &Value, target: i64, namespace: &str) {
    let current = replicas(rs);
    if current == target {
        return;
    }
    let name = object_name(rs);
    let updated = store.modify("replicasets", namespace, &name, |rs| {
        rs["spec"]["replicas"] = json!(target);
        rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = json!(
            deployment["spec"]["replicas"]
                .as_i64()
                .unwrap_or(1)
                .to_string()
        );
    });
    if updated.is_ok() {
        let direction = if target > current { "up" } else { "down" };
        let message = format!("Scaled {direction} replica set {name} from {current} to {target}");
        record(
            store,
            deployment,
            EventType::Normal,
            "ScalingReplicaSet",
            &message,
            COMPONENT,
        );
    }
}

/// Deletes the oldest scaled-down sets beyond `revisionHistoryLimit`.
fn prune_history(store: &Store, deployment: &Value, old: &[&Value], namespace: &str) {
    let limit = usize::try_from(
        deployment["spec"]["revisionHistoryLimit"]
            .as_i64()
            .unwrap_or(10),
    )
    .unwrap_or(10);
    let mut idle: Vec<&&Value> = old
        .iter()
        .filter(|rs| {
            replicas(rs) == 0
                && rs
                    .pointer("/status/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
                    == 0
        })
        .collect();
    if idle.len() <= limit {
        return;
    }
    idle.sort_by_key(|rs| revision(rs));
    let excess = idle.len() - limit;
    for rs in idle.into_iter().take(excess) {
        let _ = store.delete("replicasets", namespace, &object_name(rs));
    }
}

fn update_status(store: &Store, deployment: &Value, new_rs: &Value, namespace: &str) {
    let name = object_name(deployment);
    let sets = owned_sets(store, deployment, namespace);
    let count = |pointer: &str| -> i64 {
        sets.iter()
            .map(|rs| rs.pointer(pointer).and_then(Value::as_i64).unwrap_or(0))
            .sum()
    };
    let new_now = sets
        .iter()
        .find(|rs| object_name(rs) == object_name(new_rs))
        .unwrap_or(new_rs);
    let desired = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    let (total, ready, available) = (
        count("/status/replicas"),
        count("/status/readyReplicas"),
        count("/status/availableReplicas"),
    );
    let updated = new_now
        .pointer("/status/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let complete = updated == desired && total == desired && available >= desired;
    let mut status = without_zeros(
        json!({
            "observedGeneration": deployment["metadata"]["generation"].clone(),
            "replicas": total, "updatedReplicas": updated, "readyReplicas": ready,
            "availableReplicas": available, "unavailableReplicas": (desired - available).max(0),
        }),
        &[],
    );
    status["conditions"] = conditions(deployment, new_now, available, complete);
    let revision_text = revision(new_now).to_string();
    let unchanged = deployment
        .get("status")
        .is_some_and(|old| same_status(old, &status))
        && deployment
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(REVISION))
            == Some(&json!(revision_text));
    if unchanged {
        return;
    }
    let _ = store.modify("deployments", namespace, &name, |d| {
        d["metadata"]["annotations"][REVISION] = json!(revision_text);
        d["status"] = status;
    });
}

/// Equal apart from condition timestamps.
fn same_status(old: &Value, new: &Value) -> bool {
    let strip = |status: &Value| {
        let mut status = status.clone();
        if let Some(conditions) = status["conditions"].as_array_mut() {
            for c in conditions {
                if let Some(c) = c.as_object_mut() {
                    c.remove("lastUpdateTime");
                    c.remove("lastTransitionTime");
                }
            }
        }
        status
    };
    strip(old) == strip(new)
}

fn conditions(deployment: &Value, new_rs: &Value, available: i64, complete: bool) -> Value {
    let now = crate::time::now_rfc3339();
    let desired = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    let has_minimum = available >= desired - max_unavailable(deployment);
    let rs_name = object_name(new_rs);
    let (progress_reason, progress_message) = if complete {
        (
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
        )
    } else {
        (
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{rs_name}\" is progressing."),
        )
    };
    let (available_reason, available_message) = if has_minimum {
        (
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        (
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    let keep_time = |kind: &str, status: &str| {
        deployment
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|all| {
                all.iter()
                    .find(|c| c["type"] == kind && c["status"] == status)
            })
            .and_then(|c| c["lastTransitionTime"].as_str().map(str::to_string))
            .unwrap_or_else(|| now.clone())
    };
    let available_status = if has_minimum { "True" } else { "False" };
    json!([
        {"type": "Available", "status": available_status, "reason": available_reason,
         "message": available_message, "lastUpdateTime": now,
         "lastTransitionTime": keep_time("Available", available_status)},
        {"type": "Progressing", "status": "True", "reason": progress_reason,
         "message": progress_message, "lastUpdateTime": now,
         "lastTransitionTime": keep_time("Progressing", "True")},
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_like_the_controller() {
        assert_eq!(resolve(&json!("25%"), 1, true), 1);
        assert_eq!(resolve(&json!("25%"), 1, false), 0);
        assert_eq!(resolve(&json!("25%"), 8, false), 2);
        assert_eq!(resolve(&json!(3), 8, false), 3);
    }
}
