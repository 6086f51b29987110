//! PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and the
//! strategic merge patch kubectl sends for built-in kinds.
//!
//! The strategic merge here knows the merge keys of the lists kubectl patches
//! in practice (containers, env, ports, volumes, mounts, conditions, owner
//! references) and the directives kubectl emits (`$patch`,
//! `$setElementOrder/...`, `$deleteFromPrimitiveList/...`, `$retainKeys`).
//! Lists it does not know are replaced, as a real server does for atomic
//! lists.

use serde_json::{Map, Value};

use super::status::ApiError;

/// The patch formats a client names in `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Json,
    StrategicMerge,
    /// Server-side apply: merged here like a strategic merge patch.
    Apply,
}

impl PatchKind {
    pub fn from_content_type(content_type: &str) -> Result<Self, ApiError> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "application/merge-patch+json" => Ok(PatchKind::Merge),
            "application/json-patch+json" => Ok(PatchKind::Json),
            "application/strategic-merge-patch+json" => Ok(PatchKind::StrategicMerge),
            "application/apply-patch+yaml" => Ok(PatchKind::Apply),
            other => Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {other:?})"
                ),
            )),
        }
    }
}

/// Applies `body` (already decoded) to `target`.
pub fn apply_patch(kind: PatchKind, target: &Value, body: Value) -> Result<Value, ApiError> {
    let mut result = target.clone();
    match kind {
        PatchKind::Merge => json_patch::merge(&mut result, &body),
        PatchKind::Json => {
            let patch: json_patch::Patch = serde_json::from_value(body)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(&mut result, &patch).map_err(|e| {
                ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid",
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
            })?;
        }
        PatchKind::StrategicMerge | PatchKind::Apply => strategic_merge(&mut result, &body, ""),
    }
    Ok(result)
}

/// Merges `patch` into `target`. `field` is the name of the field `target`
/// is stored under: it picks the merge key of list items.
fn strategic_merge(target: &mut Value, patch: &Value, field: &str) {
    let Some(patch_map) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if patch_map.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = Value::Object(without_directives(patch_map));
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(target_map) = target.as_object_mut() else {
        return;
    };
    for (key, value) in patch_map {
        if let Some(list) = key.strip_prefix("$deleteFromPrimitiveList/") {
            remove_primitives(target_map, list, value);
            continue;
        }
        if key.starts_with('$') {
            continue;
        }
        merge_field(target_map, key, value);
    }
    let _ = field;
}

fn merge_field(target: &mut Map<String, Value>, key: &str, value: &Value) {
    match value {
        Value::Null => {
            target.remove(key);
        }
        Value::Object(_) => {
            let slot = target.entry(key).or_insert(Value::Null);
            strategic_merge(slot, value, key);
        }
        Value::Array(items) => {
            let merged = match (merge_key(key, items), target.get(key)) {
                (Some(merge_key), Some(Value::Array(existing))) => {
                    merge_list(existing, items, merge_key)
                }
                _ => Value::Array(items.iter().map(strip_item_directives).collect()),
            };
            target.insert(key.to_string(), merged);
        }
        other => {
            target.insert(key.to_string(), other.clone());
        }
    }
}

/// The merge key of a list field, from the Kubernetes API's patch metadata.
fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "conditions" => Some("type"),
        "ownerReferences" => Some("uid"),
        "hostAliases" => Some("ip"),
        "ports" => {
            let container_ports = items.iter().any(|i| i.get("containerPort").is_some());
            Some(if container_ports {
                "containerPort"
            } else {
                "port"
            })
        }
        _ => None,
    }
}

fn merge_list(existing: &[Value], patch: &[Value], key: &str) -> Value {
    let mut merged: Vec<Value> = existing.to_vec();
    for item in patch {
        let id = item.get(key);
        let position = merged.iter().position(|e| id.is_some() && e.get(key) == id);
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(i), true) => {
                merged.remove(i);
            }
            (Some(i), false) => strategic_merge(&mut merged[i], item, ""),
            (None, true) => {}
            (None, false) => merged.push(strip_item_directives(item)),
        }
    }
    Value::Array(merged)
}

fn remove_primitives(target: &mut Map<String, Value>, list: &str, doomed: &Value) {
    let Some(doomed) = doomed.as_array() else {
        return;
    };
    if let Some(Value::Array(items)) = target.get_mut(list) {
        items.retain(|item| !doomed.contains(item));
    }
}

fn strip_item_directives(item: &Value) -> Value {
    match item.as_object() {
        Some(map) => Value::Object(without_directives(map)),
        None => item.clone(),
    }
}

fn without_directives(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(k, _)| !k.starts_with('$'))
        .map(|(k, v)| (k.clone(), strip_item_directives(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": "web", "image": "web:1", "ports": [{"containerPort": 80}]},
                {"name": "side", "image": "side:1"}]}}}})
    }

    #[test]
    fn set_image_patch_merges_by_container_name() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "web:2"}]}}}});
        let result = apply_patch(PatchKind::StrategicMerge, &deployment(), patch).unwrap();
        let containers = &result["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "web:2");
        assert_eq!(containers[0]["ports"][0]["containerPort"], 80);
        assert_eq!(containers[1]["image"], "side:1");
    }

    #[test]
    fn directives_are_honoured_and_stripped() {
        let patch = json!({"metadata": {"labels": {"app": null}},
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "web"}],
                "containers": [{"name": "side", "$patch": "delete"}]}}}});
        let result = apply_patch(PatchKind::StrategicMerge, &deployment(), patch).unwrap();
        assert!(result["metadata"]["labels"].get("app").is_none());
        let containers = result["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap();
        assert_eq!(containers.len(), 1);
        assert!(
            result["spec"]["template"]["spec"]
                .get("$setElementOrder/containers")
                .is_none()
        );
    }

    #[test]
    fn json_patch_replace_and_bad_path() {
        let patch = json!([{"op": "replace", "path": "/spec/replicas", "value": 3}]);
        let result = apply_patch(PatchKind::Json, &deployment(), patch).unwrap();
        assert_eq!(result["spec"]["replicas"], 3);
        let bad = json!([{"op": "replace", "path": "/nope/deeper", "value": 3}]);
        assert!(apply_patch(PatchKind::Json, &deployment(), bad).is_err());
    }

    #[test]
    fn unknown_content_type_is_refused() {
        let error = PatchKind::from_content_type("text/plain").unwrap_err();
        assert_eq!(error.code.as_u16(), 415);
    }
}
