//! Validation and defaulting of objects on their way into the store.
//!
//! Each object is decoded into its k8s-openapi type and encoded again, so a
//! malformed field is refused with the decoder's message and what is stored is
//! exactly the JSON shape clients expect. Defaults are the ones a real API
//! server fills, so `kubectl get -o yaml` shows familiar objects.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Event, Namespace, Node, Pod, ResourceQuota, Secret, Service,
    ServiceAccount,
};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::resources::ResourceKind;

/// Decodes `object` as `kind`, fills server defaults and encodes it again.
/// The error is the decoder's message, fit for a 400 Status.
pub fn normalize(kind: &ResourceKind, object: Value) -> Result<Value, String> {
    let mut object = match kind.kind {
        "Namespace" => roundtrip::<Namespace>(object)?,
        "Node" => roundtrip::<Node>(object)?,
        "Pod" => roundtrip::<Pod>(object)?,
        "Service" => roundtrip::<Service>(object)?,
        "Endpoints" => roundtrip::<Endpoints>(object)?,
        "ConfigMap" => roundtrip::<ConfigMap>(object)?,
        "Secret" => roundtrip::<Secret>(object)?,
        "Event" => roundtrip::<Event>(object)?,
        "ServiceAccount" => roundtrip::<ServiceAccount>(object)?,
        "Deployment" => roundtrip::<Deployment>(object)?,
        "ReplicaSet" => roundtrip::<ReplicaSet>(object)?,
        "ResourceQuota" => roundtrip::<ResourceQuota>(object)?,
        "Role" => roundtrip::<Role>(object)?,
        "RoleBinding" => roundtrip::<RoleBinding>(object)?,
        other => return Err(format!("no decoder for kind {other}")),
    };
    apply_defaults(kind.kind, &mut object);
    Ok(object)
}

/// Checks what the decoder cannot: the fields without which the object is
/// meaningless. Returns `field: reason` lines in the API's wording.
pub fn validate(kind: &ResourceKind, object: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.is_empty() {
        problems.push("metadata.name: Required value: name or generateName is required".into());
    } else if !is_dns_subdomain(name) {
        problems.push(format!(
            "metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must \
             consist of lower case alphanumeric characters, '-' or '.', and must start and end \
             with an alphanumeric character"
        ));
    }
    let template_containers = match kind.kind {
        "Pod" => Some("/spec/containers"),
        "Deployment" | "ReplicaSet" => Some("/spec/template/spec/containers"),
        _ => None,
    };
    if matches!(kind.kind, "Deployment" | "ReplicaSet") {
        check_workload(object, &mut problems);
    }
    if kind.kind == "RoleBinding" {
        check_role_ref(object, &mut problems);
    }
    if let Some(pointer) = template_containers {
        check_containers(
            object.pointer(pointer),
            &pointer[1..].replace('/', "."),
            &mut problems,
        );
    }
    problems
}

/// Replicas are not negative and the selector selects the template's pods.
fn check_workload(object: &Value, problems: &mut Vec<String>) {
    let replicas = object.pointer("/spec/replicas").and_then(Value::as_i64);
    if let Some(replicas) = replicas.filter(|r| *r < 0) {
        problems.push(format!(
            "spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0"
        ));
    }
    let selector = object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object);
    let labels = object.pointer("/spec/template/metadata/labels");
    let matches = selector
        .into_iter()
        .flatten()
        .all(|(key, value)| labels.and_then(|l| l.get(key)) == Some(value));
    if !matches {
        problems.push(
            "spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`"
                .to_string(),
        );
    }
}

/// A binding names the Role or ClusterRole it grants (the decoder fills a
/// missing `roleRef` with empty strings).
fn check_role_ref(object: &Value, problems: &mut Vec<String>) {
    let field = |name: &str| {
        object
            .pointer(&format!("/roleRef/{name}"))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    if !matches!(field("kind"), "Role" | "ClusterRole") {
        problems.push(format!(
            "roleRef.kind: Unsupported value: \"{}\": supported values: \"Role\", \"ClusterRole\"",
            field("kind")
        ));
    }
    if field("name").is_empty() {
        problems.push("roleRef.name: Required value".to_string());
    }
}

fn check_containers(containers: Option<&Value>, field: &str, problems: &mut Vec<String>) {
    let containers = containers
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if containers.is_empty() {
        problems.push(format!("{field}: Required value"));
    }
    for (i, container) in containers.iter().enumerate() {
        if container
            .get("image")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            problems.push(format!("{field}[{i}].image: Required value"));
        }
        if container
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            problems.push(format!("{field}[{i}].name: Required value"));
        }
    }
}

fn is_dns_subdomain(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    name.len() <= 253
        && edge_ok(bytes.first())
        && edge_ok(bytes.last())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(b))
}

fn roundtrip<T: DeserializeOwned + Serialize>(object: Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(object).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

fn apply_defaults(kind: &str, object: &mut Value) {
    match kind {
        "Pod" => {
            default_pod_spec(&mut object["spec"]);
            default_missing(
                object,
                "status",
                json!({"phase": "Pending", "qosClass": "BestEffort"}),
            );
        }
        "Deployment" => default_deployment(object),
        "ReplicaSet" => {
            default_missing(&mut object["spec"], "replicas", json!(1));
            default_pod_spec(&mut object["spec"]["template"]["spec"]);
        }
        "Service" => default_service(&mut object["spec"]),
        "Namespace" => default_namespace(object),
        "Secret" => default_secret(object),
        _ => {}
    }
}

fn default_deployment(object: &mut Value) {
    let spec = &mut object["spec"];
    default_missing(spec, "replicas", json!(1));
    default_missing(spec, "revisionHistoryLimit", json!(10));
    default_missing(spec, "progressDeadlineSeconds", json!(600));
    default_missing(
        spec,
        "strategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
    );
    default_pod_spec(&mut spec["template"]["spec"]);
}

/// The pod spec defaults of a real API server (pods and pod templates).
pub fn default_pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    default_missing(spec, "restartPolicy", json!("Always"));
    default_missing(spec, "dnsPolicy", json!("ClusterFirst"));
    default_missing(spec, "schedulerName", json!("default-scheduler"));
    default_missing(spec, "terminationGracePeriodSeconds", json!(30));
    default_missing(spec, "securityContext", json!({}));
    if let Some(containers) = spec.get_mut("containers").and_then(Value::as_array_mut) {
        containers.iter_mut().for_each(default_container);
    }
}

fn default_container(container: &mut Value) {
    let image = container.get("image").and_then(Value::as_str).unwrap_or("");
    let policy = if image_tag(image).is_none_or(|tag| tag == "latest") {
        "Always"
    } else {
        "IfNotPresent"
    };
    default_missing(container, "imagePullPolicy", json!(policy));
    default_missing(
        container,
        "terminationMessagePath",
        json!("/dev/termination-log"),
    );
    default_missing(container, "terminationMessagePolicy", json!("File"));
    default_missing(container, "resources", json!({}));
    if let Some(ports) = container.get_mut("ports").and_then(Value::as_array_mut) {
        ports
            .iter_mut()
            .for_each(|p| default_missing(p, "protocol", json!("TCP")));
    }
}

/// The tag of an image reference, if it names one (`app:1.0` -> `1.0`).
pub fn image_tag(image: &str) -> Option<&str> {
    let last = image.rsplit('/').next().unwrap_or(image);
    let without_digest = last.split('@').next().unwrap_or(last);
    without_digest.split_once(':').map(|(_, tag)| tag)
}

fn default_service(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    default_missing(spec, "type", json!("ClusterIP"));
    default_missing(spec, "sessionAffinity", json!("None"));
    default_missing(spec, "ipFamilies", json!(["IPv4"]));
    default_missing(spec, "ipFamilyPolicy", json!("SingleStack"));
    default_missing(spec, "internalTrafficPolicy", json!("Cluster"));
    if spec["type"] == "NodePort" || spec["type"] == "LoadBalancer" {
        default_missing(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports {
            default_missing(port, "protocol", json!("TCP"));
            let number = port.get("port").cloned().unwrap_or(Value::Null);
            default_missing(port, "targetPort", number);
        }
    }
}

fn default_namespace(object: &mut Value) {
    let name = object
        .pointer("/metadata/name")
        .cloned()
        .unwrap_or(Value::Null);
    let labels = &mut object["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    default_missing(labels, "kubernetes.io/metadata.name", name);
    default_missing(object, "spec", json!({"finalizers": ["kubernetes"]}));
    default_missing(object, "status", json!({"phase": "Active"}));
}

/// `stringData` is write-only: the server folds it into `data`, base64-encoded.
fn default_secret(object: &mut Value) {
    default_missing(object, "type", json!("Opaque"));
    let Some(string_data) = object.as_object_mut().and_then(|o| o.remove("stringData")) else {
        return;
    };
    let pairs: BTreeMap<String, String> = serde_json::from_value(string_data).unwrap_or_default();
    let data = &mut object["data"];
    if !data.is_object() {
        *data = json!({});
    }
    for (key, value) in pairs {
        data[key] = json!(base64_encode(value.as_bytes()));
    }
}

/// Standard base64 with padding, as JSON carries bytes.
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Sets `object[field] = value` unless the field is already present.
pub fn default_missing(object: &mut Value, field: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        map.entry(field).or_insert(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::ResourceKind;

    fn kind(plural: &str) -> &'static ResourceKind {
        ResourceKind::by_plural(plural).unwrap()
    }

    #[test]
    fn malformed_field_is_refused_with_decoder_message() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"},
            "spec": {"containers": "not-a-list"}});
        assert!(normalize(kind("pods"), pod).is_err());
    }

    #[test]
    fn pod_gets_server_defaults() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"},
            "spec": {"containers": [{"name": "c", "image": "app:1.0"}]}});
        let pod = normalize(kind("pods"), pod).unwrap();
        assert_eq!(pod["spec"]["restartPolicy"], "Always");
        assert_eq!(
            pod["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert_eq!(pod["status"]["phase"], "Pending");
    }

    #[test]
    fn missing_containers_and_bad_name_are_reported() {
        let pod = json!({"metadata": {"name": "Bad_Name"}, "spec": {}});
        let problems = validate(kind("pods"), &pod);
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn role_binding_without_role_ref_is_refused() {
        let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "b"}, "subjects": []});
        let binding = normalize(kind("rolebindings"), binding).unwrap();
        let problems = validate(kind("rolebindings"), &binding);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[1].starts_with("roleRef.name"), "{problems:?}");
        let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
            "spec": {"hard": {"pods": "10"}}});
        let quota = normalize(kind("resourcequotas"), quota).unwrap();
        assert_eq!(quota["spec"]["hard"]["pods"], "10");
    }

    #[test]
    fn string_data_is_folded_into_data() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "stringData": {"user": "admin"}});
        let secret = normalize(kind("secrets"), secret).unwrap();
        assert_eq!(secret["data"]["user"], "YWRtaW4=");
        assert!(secret.get("stringData").is_none());
    }
}
