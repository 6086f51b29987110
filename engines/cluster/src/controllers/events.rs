//! Events: what the controllers and the kubelet did, as `kubectl describe`
//! and `kubectl get events` show it. A repeat of the same event on the same
//! object bumps its count, as the real event recorder does.

use serde_json::{Value, json};

use crate::store::{Store, object_name};
use crate::time::now_rfc3339;

/// `Normal` or `Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// Records `reason: message` about `object`, reported by `component`.
pub fn record(
    store: &Store,
    object: &Value,
    event_type: EventType,
    reason: &str,
    message: &str,
    component: &str,
) {
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let uid = object
        .pointer("/metadata/uid")
        .cloned()
        .unwrap_or(Value::Null);
    let (events, _) = store.list("events", Some(namespace));
    let repeat = events.iter().find(|e| {
        e["involvedObject"]["uid"] == uid && e["reason"] == reason && e["message"] == message
    });
    let now = now_rfc3339();
    if let Some(repeat) = repeat {
        let _ = store.modify("events", namespace, &object_name(repeat), |event| {
            let count = event["count"].as_i64().unwrap_or(1);
            event["count"] = json!(count + 1);
            event["lastTimestamp"] = json!(now);
        });
        return;
    }
    // Named like the real recorder (`<object>.<nanoseconds in hex>`), which
    // also keeps a listing in the order the events happened.
    let nanos = jiff::Timestamp::now().as_nanosecond();
    let name = format!("{}.{nanos:x}", object_name(object));
    let event = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {
            "apiVersion": object["apiVersion"], "kind": object["kind"], "name": object_name(object),
            "namespace": namespace, "uid": uid,
            "resourceVersion": object.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null),
        },
        "reason": reason, "message": message,
        "source": {"component": component, "host": if component == "kubelet" { json!(crate::seed::NODE_NAME) } else { Value::Null }},
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        "type": match event_type { EventType::Normal => "Normal", EventType::Warning => "Warning" },
        "eventTime": null, "reportingComponent": component, "reportingInstance": "",
    });
    if let Err(error) = store.create("events", namespace, event) {
        tracing::debug!(%error, "could not record an event");
    }
}
