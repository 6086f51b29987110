//! The HTTP face of the cluster: routes Kubernetes REST paths to discovery,
//! OpenAPI and the resource handlers.
//!
//! - [`discovery`]: `/version`, `/api`, `/apis` and resource lists.
//! - [`resource`]: get, list, create, update, patch, delete, subresources.
//! - [`watch`]: streamed watch events.
//! - [`table`]: server-side printing for `kubectl get`.
//! - [`patch`], [`selector`]: patch formats and selectors.
//! - [`protobuf`]: the protobuf bodies of kubectl's typed clients.
//! - [`openapi`]: the OpenAPI v3 documents `kubectl explain` and `apply` read.
//! - [`status`]: errors as `Status` objects.

pub mod discovery;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod resource;
pub mod selector;
pub mod status;
pub mod table;
pub mod watch;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::cluster::ClusterState;
use crate::resources::ResourceKind;
use status::ApiError;

/// The router of one cluster's API server.
pub fn router(cluster: Arc<ClusterState>) -> Router {
    Router::new().fallback(dispatch).with_state(cluster)
}

/// A request aimed at a resource collection or object.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: &'static ResourceKind,
    /// The namespace in the path; `None` for cluster-scoped kinds and for
    /// lists across all namespaces.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// Everything a resource handler needs from the request.
pub struct Request {
    pub method: Method,
    pub target: Target,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Request {
    pub fn query_flag(&self, name: &str) -> bool {
        self.query
            .get(name)
            .is_some_and(|v| v == "true" || v == "1")
    }

    pub fn wants_table(&self) -> bool {
        self.headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("as=Table"))
    }
}

async fn dispatch(
    State(cluster): State<Arc<ClusterState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let query = parse_query(uri.query().unwrap_or(""));
    tracing::debug!(%method, path = uri.path(), "api request");
    match segments.as_slice() {
        ["version"] => json_response(discovery::version()),
        ["healthz"] | ["livez"] | ["readyz"] => (StatusCode::OK, "ok").into_response(),
        ["api"] => json_response(discovery::core_versions(&cluster.server_address)),
        ["apis"] => json_response(discovery::group_list()),
        ["api", "v1"] => optional(discovery::resource_list("", "v1")),
        ["apis", group] => optional(discovery::group(group)),
        ["apis", group, version] => optional(discovery::resource_list(group, version)),
        ["openapi", "v3"] => json_response(openapi::root()),
        ["openapi", "v3", rest @ ..] => optional(openapi::group_version(&rest.join("/"))),
        ["api", "v1", rest @ ..] => {
            resource_route(&cluster, "", "v1", rest, method, query, headers, body).await
        }
        ["apis", group, version, rest @ ..] => {
            resource_route(&cluster, group, version, rest, method, query, headers, body).await
        }
        _ => ApiError::not_found_path().into_response(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn resource_route(
    cluster: &Arc<ClusterState>,
    group: &str,
    version: &str,
    rest: &[&str],
    method: Method,
    query: HashMap<String, String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(target) = parse_target(group, version, rest) else {
        return ApiError::not_found_path().into_response();
    };
    let request = Request {
        method,
        target,
        query,
        headers,
        body,
    };
    match resource::handle(cluster, request).await {
        Ok(response) => response,
        Err(error) => {
            tracing::debug!(code = error.code.as_u16(), message = %error.message, "api error");
            error.into_response()
        }
    }
}

/// Reads `namespaces/<ns>/<plural>[/<name>[/<sub>]]` or
/// `<plural>[/<name>[/<sub>]]`.
fn parse_target(group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let namespaced_path = matches!(rest, ["namespaces", _, plural, ..]
        if ResourceKind::lookup(group, version, plural).is_some_and(|k| k.namespaced));
    let (namespace, rest) = if namespaced_path {
        (Some(rest[1].to_string()), &rest[2..])
    } else {
        (None, rest)
    };
    let (plural, name, subresource) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(*name), None),
        [plural, name, sub] => (*plural, Some(*name), Some(*sub)),
        _ => return None,
    };
    let kind = ResourceKind::lookup(group, version, plural)?;
    if subresource.is_some_and(|sub| !kind.subresources.contains(&sub)) {
        return None;
    }
    if kind.namespaced && namespace.is_none() && name.is_some() {
        return None;
    }
    Some(Target {
        kind,
        namespace,
        name: name.map(str::to_string),
        subresource: subresource.map(str::to_string),
    })
}

fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON body with the plain `application/json` type kubectl expects.
pub fn json_response(value: Value) -> Response {
    json_with_code(StatusCode::OK, value)
}

pub fn json_with_code(code: StatusCode, value: Value) -> Response {
    let body = serde_json::to_vec(&value).unwrap_or_default();
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn optional(value: Option<Value>) -> Response {
    match value {
        Some(value) => json_response(value),
        None => ApiError::not_found_path().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_like_the_api_server() {
        let t = parse_target("", "v1", &["namespaces", "default", "pods", "web", "log"]).unwrap();
        assert_eq!(
            (t.kind.plural, t.namespace.as_deref()),
            ("pods", Some("default"))
        );
        assert_eq!(
            (t.name.as_deref(), t.subresource.as_deref()),
            (Some("web"), Some("log"))
        );
        let ns = parse_target("", "v1", &["namespaces", "default"]).unwrap();
        assert_eq!(
            (ns.kind.plural, ns.name.as_deref()),
            ("namespaces", Some("default"))
        );
        let all = parse_target("", "v1", &["pods"]).unwrap();
        assert!(all.namespace.is_none() && all.name.is_none());
        assert!(parse_target("", "v1", &["widgets"]).is_none());
        assert!(parse_target("", "v1", &["pods", "web"]).is_none());
        assert!(parse_target("", "v1", &["namespaces", "d", "pods", "w", "exec"]).is_none());
    }

    #[test]
    fn query_is_percent_decoded() {
        let q = parse_query("labelSelector=app%3Dweb&watch=true");
        assert_eq!(q["labelSelector"], "app=web");
        assert_eq!(q["watch"], "true");
    }
}
