//! Handlers for resource collections and objects: the verbs kubectl uses.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::patch::{PatchKind, apply_patch};
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::{Request, json_response, json_with_code, table, watch};
use crate::cluster::ClusterState;
use crate::objects::{normalize, validate};
use crate::resources::ResourceKind;
use crate::runtime::LogOptions;
use crate::store::{StoreError, object_name};

/// Attempts of a read-patch-write cycle before a conflict is reported.
const PATCH_ATTEMPTS: usize = 5;

pub async fn handle(cluster: &Arc<ClusterState>, request: Request) -> Result<Response, ApiError> {
    let has_name = request.target.name.is_some();
    let sub = request.target.subresource.clone();
    match (request.method.clone(), has_name, sub.as_deref()) {
        (Method::GET, false, None) if request.query_flag("watch") => {
            watch::serve(cluster, &request)
        }
        (Method::GET, false, None) => list(cluster, &request),
        (Method::POST, false, None) => create(cluster, &request),
        (Method::DELETE, false, None) => delete_collection(cluster, &request),
        (Method::GET, true, None | Some("status")) => get(cluster, &request),
        (Method::GET, true, Some("log")) => logs(cluster, &request).await,
        (Method::GET, true, Some("scale")) => get_scale(cluster, &request),
        (Method::PUT, true, None) => update(cluster, &request, Part::Main),
        (Method::PUT, true, Some("status")) => update(cluster, &request, Part::Status),
        (Method::PUT, true, Some("scale")) => change_scale(cluster, &request, None),
        (Method::PATCH, true, None) => patch(cluster, &request, Part::Main),
        (Method::PATCH, true, Some("status")) => patch(cluster, &request, Part::Status),
        (Method::PATCH, true, Some("scale")) => {
            let kind = patch_kind(&request)?;
            change_scale(cluster, &request, Some(kind))
        }
        (Method::DELETE, true, None) => delete(cluster, &request),
        (method, _, _) => Err(ApiError::method_not_allowed(method.as_str())),
    }
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Everything but the status, for kinds with a status subresource.
    Main,
    /// Only the status.
    Status,
}

fn namespace(request: &Request) -> &str {
    request.target.namespace.as_deref().unwrap_or("")
}

fn name(request: &Request) -> &str {
    request.target.name.as_deref().unwrap_or("")
}

fn get(cluster: &ClusterState, request: &Request) -> Result<Response, ApiError> {
    let kind = request.target.kind;
    let object = cluster
        .store
        .get(kind.plural, namespace(request), name(request))
        .ok_or_else(|| not_found(kind, name(request)))?;
    if request.wants_table() {
        let include = request
            .query
            .get("includeObject")
            .map_or("", String::as_str);
        return Ok(json_response(table::table(
            kind,
            &[object],
            cluster.store.revision(),
            include,
        )));
    }
    Ok(json_response(object))
}

fn list(cluster: &ClusterState, request: &Request) -> Result<Response, ApiError> {
    let kind = request.target.kind;
    let (items, revision) = filtered_list(cluster, request)?;
    if request.wants_table() {
        let include = request
            .query
            .get("includeObject")
            .map_or("", String::as_str);
        return Ok(json_response(table::table(kind, &items, revision, include)));
    }
    Ok(json_response(json!({
        "kind": format!("{}List", kind.kind),
        "apiVersion": kind.api_version(),
        "metadata": {"resourceVersion": revision.to_string()},
        "items": items,
    })))
}

/// The objects a list request selects, with the revision of the snapshot.
pub fn filtered_list(
    cluster: &ClusterState,
    request: &Request,
) -> Result<(Vec<Value>, u64), ApiError> {
    let labels = selector_param(request, "labelSelector", LabelSelector::parse)?;
    let fields = selector_param(request, "fieldSelector", FieldSelector::parse)?;
    let (items, revision) = cluster.store.list(
        request.target.kind.plural,
        request.target.namespace.as_deref(),
    );
    let items = items
        .into_iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
        .collect();
    Ok((items, revision))
}

pub fn selector_param<T: Default>(
    request: &Request,
    param: &str,
    parse: fn(&str) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    request
        .query
        .get(param)
        .map_or_else(|| Ok(T::default()), |text| parse(text))
}

fn create(cluster: &ClusterState, request: &Request) -> Result<Response, ApiError> {
    let kind = request.target.kind;
    let namespace = require_namespace(cluster, request)?;
    let object = decode_object(request)?;
    let object = prepare_new(cluster, kind, &namespace, object)?;
    if is_dry_run(request) {
        return Ok(json_with_code(StatusCode::CREATED, object));
    }
    let created = cluster.store.create(kind.plural, &namespace, object)?;
    Ok(json_with_code(StatusCode::CREATED, created))
}

/// Checks and fills a new object: identity, namespace, defaults, validity,
/// and what the server allocates (cluster IPs, node ports).
pub fn prepare_new(
    cluster: &ClusterState,
    kind: &ResourceKind,
    namespace: &str,
    mut object: Value,
) -> Result<Value, ApiError> {
    if !object.is_object() {
        return Err(ApiError::bad_request("the object must be a JSON object"));
    }
    check_type_meta(kind, &mut object)?;
    generate_name(&mut object);
    check_body_namespace(kind, namespace, &object)?;
    let mut object = normalize(kind, object).map_err(ApiError::bad_request)?;
    check_valid(kind, &object)?;
    cluster
        .admit(kind, &mut object)
        .map_err(|message| ApiError::invalid(kind.kind, &object_name(&object), &[message]))?;
    Ok(object)
}

fn update(cluster: &ClusterState, request: &Request, part: Part) -> Result<Response, ApiError> {
    let kind = request.target.kind;
    let mut object = decode_object(request)?;
    check_type_meta(kind, &mut object)?;
    if object_name(&object) != name(request) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({})",
            object_name(&object),
            name(request)
        )));
    }
    check_body_namespace(kind, namespace(request), &object)?;
    let current = cluster
        .store
        .get(kind.plural, namespace(request), name(request))
        .ok_or_else(|| not_found(kind, name(request)))?;
    let object = merge_part(kind, &current, object, part);
    let object = normalize(kind, object).map_err(ApiError::bad_request)?;
    check_valid(kind, &object)?;
    if is_dry_run(request) {
        return Ok(json_response(object));
    }
    Ok(json_response(cluster.store.update(
        kind.plural,
        namespace(request),
        object,
    )?))
}

/// Keeps the status (for `Main` writes) or everything but the status (for
/// `Status` writes) from the stored object.
fn merge_part(kind: &ResourceKind, current: &Value, mut incoming: Value, part: Part) -> Value {
    if !kind.has_status() {
        return incoming;
    }
    match part {
        Part::Main => {
            match current.get("status") {
                Some(status) => incoming["status"] = status.clone(),
                None => {
                    if let Some(map) = incoming.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
            incoming
        }
        Part::Status => {
            let mut merged = current.clone();
            merged["status"] = incoming.get("status").cloned().unwrap_or(Value::Null);
            if let Some(version) = incoming.pointer("/metadata/resourceVersion") {
                merged["metadata"]["resourceVersion"] = version.clone();
            }
            merged
        }
    }
}

fn patch(cluster: &ClusterState, request: &Request, part: Part) -> Result<Response, ApiError> {
    let kind = request.target.kind;
    let patch_kind = patch_kind(request)?;
    let body = decode_patch(request, patch_kind)?;
    for _ in 0..PATCH_ATTEMPTS {
        let Some(current) = cluster
            .store
            .get(kind.plural, namespace(request), name(request))
        else {
            return create_from_apply(cluster, request, patch_kind, body);
        };
        let patched = apply_patch(patch_kind, &current, body.clone())?;
        if !patched.is_object() {
            return Err(ApiError::bad_request(
                "the patched object is not a JSON object",
            ));
        }
        let patched = merge_part(kind, &current, patched, part);
        let mut patched = normalize(kind, patched).map_err(ApiError::bad_request)?;
        check_valid(kind, &patched)?;
        if is_dry_run(request) {
            return Ok(json_response(patched));
        }
        if patch_kind == PatchKind::Apply {
            patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
        }
        match cluster
            .store
            .update(kind.plural, namespace(request), patched)
        {
            Err(StoreError::Conflict { .. })
                if body.pointer("/metadata/resourceVersion").is_none() =>
            {
                continue;
            }
            result => return Ok(json_response(result?)),
        }
    }
    Err(StoreError::Conflict {
        plural: kind.plural,
        name: name(request).to_string(),
    }
    .into())
}

/// Server-side apply creates what does not exist; other patches cannot.
fn create_from_apply(
    cluster: &ClusterState,
    request: &Request,
    patch_kind: PatchKind,
    body: Value,
) -> Result<Response, ApiError> {
    let kind = request.target.kind;
    if patch_kind != PatchKind::Apply {
        return Err(not_found(kind, name(request)));
    }
    let namespace = require_namespace(cluster, request)?;
    let object = prepare_new(cluster, kind, &namespace, body)?;
    if is_dry_run(request) {
        return Ok(json_with_code(StatusCode::CREATED, object));
    }
    let created = cluster.store.create(kind.plural, &namespace, object)?;
    Ok(json_with_code(StatusCode::CREATED, created))
}

fn patch_kind(request: &Request) -> Result<PatchKind, ApiError> {
    let content_type = request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    PatchKind::from_content_type(content_type)
}

fn decode_patch(request: &Request, kind: PatchKind) -> Result<Value, ApiError> {
    if kind == PatchKind::Apply {
        return serde_yaml_ng::from_slice(&request.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")));
    }
    serde_json::from_slice(&request.body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
}

fn delete(cluster: &ClusterState, request: &Request) -> Result<Response, ApiError> {
    let kind = request.target.kind;
    let namespace = namespace(request);
    let current = cluster
        .store
        .get(kind.plural, namespace, name(request))
        .ok_or_else(|| not_found(kind, name(request)))?;
    if is_dry_run(request) {
        return Ok(json_response(current));
    }
    if kind.kind == "Pod" && is_graceful(&current, request) {
        return mark_terminating(cluster, &current, namespace);
    }
    if propagation_policy(request) == "Orphan" {
        cluster.orphan_dependents(&current);
    }
    let deleted = cluster
        .store
        .delete(kind.plural, namespace, name(request))?;
    if kind.kind == "Namespace" {
        cluster.delete_namespace_contents(name(request));
    }
    Ok(json_response(deleted))
}

/// A pod the kubelet runs is deleted gracefully: marked Terminating, and
/// removed once its containers are stopped. `--grace-period=0 --force` and
/// pods not yet on a node go at once.
fn is_graceful(pod: &Value, request: &Request) -> bool {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let grace = request
        .query
        .get("gracePeriodSeconds")
        .and_then(|g| g.parse::<i64>().ok())
        .or_else(|| body["gracePeriodSeconds"].as_i64());
    let annotation = format!(
        "/metadata/annotations/{}",
        crate::seed::COMPONENT_ANNOTATION.replace('/', "~1")
    );
    grace != Some(0)
        && pod.pointer("/spec/nodeName").is_some()
        && pod.pointer(&annotation).is_none()
}

fn mark_terminating(
    cluster: &ClusterState,
    pod: &Value,
    namespace: &str,
) -> Result<Response, ApiError> {
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        return Ok(json_response(pod.clone()));
    }
    let grace = pod
        .pointer("/spec/terminationGracePeriodSeconds")
        .cloned()
        .unwrap_or(json!(30));
    let marked = cluster
        .store
        .modify("pods", namespace, &object_name(pod), |pod| {
            pod["metadata"]["deletionTimestamp"] = json!(crate::time::now_rfc3339());
            pod["metadata"]["deletionGracePeriodSeconds"] = grace;
        })?;
    Ok(json_response(marked))
}

fn delete_collection(cluster: &ClusterState, request: &Request) -> Result<Response, ApiError> {
    let kind = request.target.kind;
    let (items, _) = filtered_list(cluster, request)?;
    let mut deleted = Vec::new();
    for item in items {
        let namespace = item
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        if let Ok(object) = cluster
            .store
            .delete(kind.plural, namespace, &object_name(&item))
        {
            deleted.push(object);
        }
    }
    Ok(json_response(json!({
        "kind": format!("{}List", kind.kind),
        "apiVersion": kind.api_version(),
        "metadata": {"resourceVersion": cluster.store.revision().to_string()},
        "items": deleted,
    })))
}

/// `propagationPolicy` from the query or the DeleteOptions body; kubectl's
/// default is Background.
fn propagation_policy(request: &Request) -> String {
    if let Some(policy) = request.query.get("propagationPolicy") {
        return policy.clone();
    }
    serde_json::from_slice::<Value>(&request.body)
        .ok()
        .and_then(|options| options["propagationPolicy"].as_str().map(str::to_string))
        .unwrap_or_else(|| "Background".to_string())
}

async fn logs(cluster: &ClusterState, request: &Request) -> Result<Response, ApiError> {
    let kind = request.target.kind;
    let pod = cluster
        .store
        .get(kind.plural, namespace(request), name(request))
        .ok_or_else(|| not_found(kind, name(request)))?;
    let container = log_container(&pod, request.query.get("container").map(String::as_str))?;
    let container_id = running_container_id(&pod, &container)?;
    let options = LogOptions {
        follow: request.query_flag("follow"),
        tail_lines: request.query.get("tailLines").and_then(|t| t.parse().ok()),
        timestamps: request.query_flag("timestamps"),
    };
    let stream = cluster
        .runtime
        .logs(&container_id, options)
        .await
        .map_err(|e| {
            ApiError::bad_request(format!("failed to read logs of container {container}: {e}"))
        })?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain")],
        Body::from_stream(stream),
    )
        .into_response())
}

fn log_container(pod: &Value, requested: Option<&str>) -> Result<String, ApiError> {
    let names: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let pod_name = object_name(pod);
    match (requested, names.as_slice()) {
        (Some(name), _) if names.contains(&name) => Ok(name.to_string()),
        (Some(name), _) => Err(ApiError::bad_request(format!(
            "container {name} is not valid for pod {pod_name}"
        ))),
        (None, [only]) => Ok((*only).to_string()),
        (None, _) => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {pod_name}, choose one of: [{}]",
            names.join(" ")
        ))),
    }
}

/// The runtime id of a container that has started at least once, or the
/// error a real kubelet gives for one still waiting.
fn running_container_id(pod: &Value, container: &str) -> Result<String, ApiError> {
    let status = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|all| all.iter().find(|s| s["name"] == container));
    let id = status
        .and_then(|s| s["containerID"].as_str())
        .and_then(|id| id.split_once("://"));
    if let Some((_, id)) = id {
        return Ok(id.to_string());
    }
    let reason = status
        .and_then(|s| s.pointer("/state/waiting/reason"))
        .and_then(Value::as_str)
        .unwrap_or("ContainerCreating");
    let reason = match reason {
        "ErrImagePull" | "ImagePullBackOff" => "trying and failing to pull image",
        other => other,
    };
    Err(ApiError::bad_request(format!(
        "container \"{container}\" in pod \"{}\" is waiting to start: {reason}",
        object_name(pod)
    )))
}

fn get_scale(cluster: &ClusterState, request: &Request) -> Result<Response, ApiError> {
    let kind = request.target.kind;
    let object = cluster
        .store
        .get(kind.plural, namespace(request), name(request))
        .ok_or_else(|| not_found(kind, name(request)))?;
    Ok(json_response(scale_of(&object)))
}

/// The `autoscaling/v1` Scale view of a Deployment or ReplicaSet.
fn scale_of(object: &Value) -> Value {
    let selector: Vec<String> = object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    let metadata = &object["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": metadata["name"], "namespace": metadata["namespace"], "uid": metadata["uid"],
            "resourceVersion": metadata["resourceVersion"],
            "creationTimestamp": metadata["creationTimestamp"],
        },
        "spec": {"replicas": object.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
        "status": {
            "replicas": object.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector.join(","),
        },
    })
}

/// PUT (no patch kind) or PATCH of the scale subresource.
fn change_scale(
    cluster: &ClusterState,
    request: &Request,
    patch_kind: Option<PatchKind>,
) -> Result<Response, ApiError> {
    let kind = request.target.kind;
    let current = cluster
        .store
        .get(kind.plural, namespace(request), name(request))
        .ok_or_else(|| not_found(kind, name(request)))?;
    let body = decode_object(request)?;
    let scale = match patch_kind {
        Some(patch_kind) => apply_patch(patch_kind, &scale_of(&current), body)?,
        None => body,
    };
    let Some(replicas) = scale.pointer("/spec/replicas").and_then(Value::as_i64) else {
        return Err(ApiError::invalid(
            "Scale",
            name(request),
            &["spec.replicas: Required value".into()],
        ));
    };
    if replicas < 0 {
        let problem =
            format!("spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0");
        return Err(ApiError::invalid("Scale", name(request), &[problem]));
    }
    let mut updated = current;
    updated["spec"]["replicas"] = json!(replicas);
    if let Some(version) = scale
        .pointer("/metadata/resourceVersion")
        .filter(|v| !v.is_null())
    {
        updated["metadata"]["resourceVersion"] = version.clone();
    }
    let stored = cluster
        .store
        .update(kind.plural, namespace(request), updated)?;
    Ok(json_response(scale_of(&stored)))
}

/// Whether kubectl's typed client sent a protobuf body.
fn is_protobuf(request: &Request) -> bool {
    request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/vnd.kubernetes.protobuf"))
}

fn decode_object(request: &Request) -> Result<Value, ApiError> {
    if is_protobuf(request) {
        return super::protobuf::decode(&request.body).map_err(|e| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                e.to_string(),
            )
        });
    }
    let value: Value = serde_json::from_slice(&request.body).map_err(|e| {
        ApiError::bad_request(format!("couldn't decode the request body as JSON: {e}"))
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    Ok(value)
}

fn check_type_meta(kind: &ResourceKind, object: &mut Value) -> Result<(), ApiError> {
    let api_version = kind.api_version();
    match object.get("apiVersion").and_then(Value::as_str) {
        None => object["apiVersion"] = json!(api_version),
        Some(given) if given == api_version => {}
        Some(given) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({given}) does not match the expected API version ({api_version})"
            )));
        }
    }
    match object.get("kind").and_then(Value::as_str) {
        None => object["kind"] = json!(kind.kind),
        Some(given) if given == kind.kind => {}
        Some(given) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({given}) does not match the expected kind ({})",
                kind.kind
            )));
        }
    }
    Ok(())
}

fn generate_name(object: &mut Value) {
    let has_name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let prefix = object
        .pointer("/metadata/generateName")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let (false, Some(prefix)) = (has_name, prefix) {
        object["metadata"]["name"] = json!(format!("{prefix}{}", crate::names::random_suffix(5)));
    }
}

fn check_body_namespace(
    kind: &ResourceKind,
    namespace: &str,
    object: &Value,
) -> Result<(), ApiError> {
    let given = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind.namespaced && !given.is_empty() && given != namespace {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

/// The namespace of a create, which must exist for namespaced kinds.
fn require_namespace(cluster: &ClusterState, request: &Request) -> Result<String, ApiError> {
    let kind = request.target.kind;
    let Some(namespace) = request.target.namespace.clone() else {
        if kind.namespaced {
            return Err(ApiError::not_found_path());
        }
        return Ok(String::new());
    };
    if cluster.store.get("namespaces", "", &namespace).is_none() {
        return Err(StoreError::NotFound {
            plural: "namespaces",
            name: namespace,
        }
        .into());
    }
    Ok(namespace)
}

fn check_valid(kind: &ResourceKind, object: &Value) -> Result<(), ApiError> {
    let problems = validate(kind, object);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            kind.kind,
            &object_name(object),
            &problems,
        ))
    }
}

fn is_dry_run(request: &Request) -> bool {
    request.query.get("dryRun").is_some_and(|v| v == "All")
}

fn not_found(kind: &ResourceKind, name: &str) -> ApiError {
    let plural = kind.plural;
    let mut error = ApiError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("{plural} \"{name}\" not found"),
    );
    error.details = Some((name.to_string(), plural.to_string()));
    error
}
