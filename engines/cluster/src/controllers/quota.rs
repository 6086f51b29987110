//! Resource quota usage: the counts a quota's `status.used` reports, so
//! `kubectl get resourcequota` and `describe` show real numbers.
//!
//! Only object counts are measured (`pods`, `services`,
//! `services.nodeports`, `configmaps`, `secrets`, `count/<resource>`);
//! CPU and memory totals are left out of `status.used`. Nothing here refuses
//! a request that would exceed a quota: the embedded cluster records quotas
//! but does not enforce them.

use serde_json::{Map, Value, json};

use crate::resources::ResourceKind;
use crate::store::{Store, object_name};

/// Writes `status.hard` and `status.used` of every quota that differs.
pub fn reconcile_all(store: &Store) {
    let (quotas, _) = store.list("resourcequotas", None);
    for quota in quotas {
        let namespace = quota["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let hard = quota
            .pointer("/spec/hard")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let used = usage(store, &namespace, &hard);
        let status = json!({"hard": hard, "used": used});
        if quota.get("status") != Some(&status) {
            let _ = store.modify("resourcequotas", &namespace, &object_name(&quota), |q| {
                q["status"] = status;
            });
        }
    }
}

/// The measured count of each resource in `hard` that is an object count.
fn usage(store: &Store, namespace: &str, hard: &Value) -> Value {
    let mut used = Map::new();
    for resource in hard.as_object().into_iter().flatten().map(|(k, _)| k) {
        if let Some(count) = count(store, namespace, resource) {
            used.insert(resource.clone(), json!(count.to_string()));
        }
    }
    Value::Object(used)
}

fn count(store: &Store, namespace: &str, resource: &str) -> Option<usize> {
    match resource {
        "pods" => Some(
            objects(store, namespace, "pods")?
                .iter()
                .filter(|pod| {
                    let phase = pod.pointer("/status/phase").and_then(Value::as_str);
                    !matches!(phase, Some("Succeeded" | "Failed"))
                })
                .count(),
        ),
        "services.nodeports" => Some(
            objects(store, namespace, "services")?
                .iter()
                .flat_map(|s| s["spec"]["ports"].as_array().cloned().unwrap_or_default())
                .filter(|port| port.get("nodePort").is_some_and(|p| !p.is_null()))
                .count(),
        ),
        "services" | "configmaps" | "secrets" | "resourcequotas" => {
            Some(objects(store, namespace, resource)?.len())
        }
        other => {
            let counted = other.strip_prefix("count/")?;
            let plural = counted.split('.').next().unwrap_or(counted);
            Some(objects(store, namespace, plural)?.len())
        }
    }
}

/// The objects of the kind named `plural` in `namespace`, if it is served.
fn objects(store: &Store, namespace: &str, plural: &str) -> Option<Vec<Value>> {
    let kind = ResourceKind::by_plural(plural)?;
    Some(store.list(kind.plural, Some(namespace)).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_objects_named_by_the_quota() {
        let store = Store::new();
        for name in ["a", "b"] {
            let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "status": {"phase": "Running"}});
            store.create("pods", "ns", pod).unwrap();
        }
        let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "q"},
            "spec": {"hard": {"pods": "10", "count/deployments.apps": "5", "memory": "1Gi"}}});
        store.create("resourcequotas", "ns", quota).unwrap();
        reconcile_all(&store);
        let quota = store.get("resourcequotas", "ns", "q").unwrap();
        assert_eq!(
            quota["status"]["used"],
            json!({"pods": "2", "count/deployments.apps": "0"})
        );
        assert_eq!(quota["status"]["hard"]["memory"], "1Gi");
    }
}
