//! Garbage collection through owner references: an object whose owners are
//! all gone is deleted, which is how deleting a Deployment removes its
//! ReplicaSets and then their Pods (background propagation).

use std::collections::HashSet;

use serde_json::Value;

use crate::resources::KINDS;
use crate::store::{Store, object_name};

/// Whether `object` lists `uid` among its owners.
pub fn owned_by(object: &Value, uid: &Value) -> bool {
    owner_refs(object).iter().any(|r| r["uid"] == *uid)
}

fn owner_refs(object: &Value) -> &[Value] {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Deletes every object all of whose owners no longer exist.
pub fn collect(store: &Store) {
    let mut all = Vec::new();
    for kind in KINDS {
        let (items, _) = store.list(kind.plural, None);
        all.extend(items.into_iter().map(|item| (kind.plural, item)));
    }
    let live: HashSet<&str> = all
        .iter()
        .filter_map(|(_, o)| o.pointer("/metadata/uid").and_then(Value::as_str))
        .collect();
    let orphans: Vec<(&'static str, String, String)> = all
        .iter()
        .filter(|(_, o)| {
            let refs = owner_refs(o);
            !refs.is_empty()
                && refs
                    .iter()
                    .all(|r| !r["uid"].as_str().is_some_and(|u| live.contains(u)))
        })
        .map(|(plural, o)| {
            let namespace = o
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("");
            (*plural, namespace.to_string(), object_name(o))
        })
        .collect();
    for (plural, namespace, name) in orphans {
        tracing::debug!(plural, %namespace, %name, "garbage collecting");
        let _ = store.delete(plural, &namespace, &name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dependents_of_a_deleted_owner_are_collected() {
        let store = Store::new();
        let owner = store
            .create("deployments", "default", json!({"metadata": {"name": "d"}}))
            .unwrap();
        let uid = owner["metadata"]["uid"].clone();
        let child = json!({"metadata": {"name": "r", "ownerReferences": [{"uid": uid}]}});
        store.create("replicasets", "default", child).unwrap();
        collect(&store);
        assert!(store.get("replicasets", "default", "r").is_some());
        store.delete("deployments", "default", "d").unwrap();
        collect(&store);
        assert!(store.get("replicasets", "default", "r").is_none());
    }
}
