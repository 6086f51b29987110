//! OpenAPI v3 documents built from the k8s-openapi schemas: the discovery
//! root `/openapi/v3` and one document per group version.
//!
//! kubectl reads them for three things: `kubectl explain` (the schemas and
//! their descriptions, found through `x-kubernetes-group-version-kind`),
//! `kubectl apply` (patch strategies and merge keys of lists, and whether a
//! PATCH accepts `fieldValidation`), and `kubectl create`'s validation. The
//! documents are the same for every cluster, so they are built once per
//! process.

use std::sync::OnceLock;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Event, Namespace, Node, Pod, ResourceQuota, Secret, Service,
    ServiceAccount,
};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::api::discovery::GIT_VERSION;
use crate::resources::{GROUPS, KINDS, ResourceKind};

/// One group-version document and the hash clients cache it under.
struct Document {
    /// `api/v1` or `apis/apps/v1`.
    path: String,
    hash: String,
    body: Value,
}

fn documents() -> &'static [Document] {
    static DOCUMENTS: OnceLock<Vec<Document>> = OnceLock::new();
    DOCUMENTS.get_or_init(|| {
        let mut documents = vec![build("", "v1")];
        documents.extend(GROUPS.iter().map(|group| build(group, "v1")));
        documents
    })
}

/// `/openapi/v3`: where each group version's document lives.
pub fn root() -> Value {
    let paths: Map<String, Value> = documents()
        .iter()
        .map(|doc| {
            let url = format!("/openapi/v3/{}?hash={}", doc.path, doc.hash);
            (doc.path.clone(), json!({"serverRelativeURL": url}))
        })
        .collect();
    json!({"paths": paths})
}

/// `/openapi/v3/<path>`: the document of one group version, if served.
pub fn group_version(path: &str) -> Option<Value> {
    documents()
        .iter()
        .find(|doc| doc.path == path)
        .map(|doc| doc.body.clone())
}

fn build(group: &str, version: &str) -> Document {
    let kinds: Vec<&ResourceKind> = KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
        .collect();
    let mut generator = SchemaGenerator::new(SchemaSettings::openapi3());
    for kind in &kinds {
        add_kind_schema(&mut generator, kind.kind);
    }
    let mut schemas = generator.take_definitions(true);
    for kind in &kinds {
        mark_kind(&mut schemas, kind);
    }
    add_patch_metadata(&mut schemas);
    let paths: Map<String, Value> = kinds.iter().flat_map(|k| paths_for(k)).collect();
    let body = json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    });
    let text = serde_json::to_string(&body).unwrap_or_default();
    let path = if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    };
    Document {
        path,
        hash: format!("{:08X}", fnv1a(text.as_bytes())),
        body,
    }
}

fn add_kind_schema(generator: &mut SchemaGenerator, kind: &str) {
    fn add<T: JsonSchema>(generator: &mut SchemaGenerator) {
        let _ = generator.subschema_for::<T>();
    }
    match kind {
        "Namespace" => add::<Namespace>(generator),
        "Node" => add::<Node>(generator),
        "Pod" => add::<Pod>(generator),
        "Service" => add::<Service>(generator),
        "Endpoints" => add::<Endpoints>(generator),
        "ConfigMap" => add::<ConfigMap>(generator),
        "Secret" => add::<Secret>(generator),
        "Event" => add::<Event>(generator),
        "ServiceAccount" => add::<ServiceAccount>(generator),
        "Deployment" => add::<Deployment>(generator),
        "ReplicaSet" => add::<ReplicaSet>(generator),
        "ResourceQuota" => add::<ResourceQuota>(generator),
        "Role" => add::<Role>(generator),
        "RoleBinding" => add::<RoleBinding>(generator),
        _ => {}
    }
}

/// The schema name k8s-openapi gives a kind (`io.k8s.api.core.v1.Pod`,
/// `io.k8s.api.rbac.v1.Role`: a dotted group is named by its first part).
fn schema_name(kind: &ResourceKind) -> String {
    let group = match kind.group {
        "" => "core",
        group => group.split('.').next().unwrap_or(group),
    };
    format!("io.k8s.api.{group}.{}.{}", kind.version, kind.kind)
}

fn gvk(kind: &ResourceKind) -> Value {
    json!({"group": kind.group, "version": kind.version, "kind": kind.kind})
}

fn mark_kind(schemas: &mut Map<String, Value>, kind: &ResourceKind) {
    if let Some(schema) = schemas
        .get_mut(&schema_name(kind))
        .and_then(Value::as_object_mut)
    {
        schema.insert("x-kubernetes-group-version-kind".into(), json!([gvk(kind)]));
    }
}

/// The patch strategies of the lists kubectl's three-way merge must merge
/// by key rather than replace: `(schema, field, strategy, merge key)`.
const PATCH_METADATA: &[(&str, &str, &str, &str)] = &[
    ("io.k8s.api.core.v1.PodSpec", "containers", "merge", "name"),
    (
        "io.k8s.api.core.v1.PodSpec",
        "initContainers",
        "merge",
        "name",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "volumes",
        "merge,retainKeys",
        "name",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "imagePullSecrets",
        "merge",
        "name",
    ),
    ("io.k8s.api.core.v1.Container", "env", "merge", "name"),
    (
        "io.k8s.api.core.v1.Container",
        "ports",
        "merge",
        "containerPort",
    ),
    (
        "io.k8s.api.core.v1.Container",
        "volumeMounts",
        "merge",
        "mountPath",
    ),
    ("io.k8s.api.core.v1.ServiceSpec", "ports", "merge", "port"),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "ownerReferences",
        "merge",
        "uid",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "finalizers",
        "merge",
        "",
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "conditions",
        "merge",
        "type",
    ),
];

fn add_patch_metadata(schemas: &mut Map<String, Value>) {
    for (schema, field, strategy, key) in PATCH_METADATA {
        let Some(property) = schemas
            .get_mut(*schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{field}")))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        property.insert("x-kubernetes-patch-strategy".into(), json!(strategy));
        if !key.is_empty() {
            property.insert("x-kubernetes-patch-merge-key".into(), json!(key));
        }
    }
}

/// The operations of one kind, each tagged with its kind and action; PATCH
/// and POST declare `fieldValidation` so kubectl validates on the server.
fn paths_for(kind: &ResourceKind) -> Vec<(String, Value)> {
    let prefix = if kind.group.is_empty() {
        format!("/api/{}", kind.version)
    } else {
        format!("/apis/{}/{}", kind.group, kind.version)
    };
    let scope = if kind.namespaced {
        "/namespaces/{namespace}"
    } else {
        ""
    };
    let collection = format!("{prefix}{scope}/{}", kind.plural);
    let item = format!("{collection}/{{name}}");
    let schema_ref = json!({"$ref": format!("#/components/schemas/{}", schema_name(kind))});
    let operation = |action: &str, body: bool| {
        let mut op = json!({
            "description": format!("{action} {}", kind.kind),
            "operationId": format!("{action}{}", kind.kind),
            "parameters": [
                {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            ],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": schema_ref}}}},
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk(kind),
        });
        if body {
            op["requestBody"] =
                json!({"content": {"*/*": {"schema": schema_ref}}, "required": true});
        }
        op
    };
    vec![
        (
            collection,
            json!({"get": operation("list", false), "post": operation("post", true)}),
        ),
        (
            item,
            json!({"get": operation("get", false), "put": operation("put", true),
                "patch": operation("patch", true), "delete": operation("delete", false)}),
        ),
    ]
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_document_has_pod_schema_tagged_with_its_kind() {
        let doc = group_version("api/v1").unwrap();
        let pod = &doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"];
        assert_eq!(pod["x-kubernetes-group-version-kind"][0]["kind"], "Pod");
        let containers =
            &doc["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert!(
            root()["paths"]["apis/apps/v1"]["serverRelativeURL"]
                .as_str()
                .unwrap()
                .contains("hash=")
        );
    }

    #[test]
    fn rbac_document_tags_role_schema() {
        let doc = group_version("apis/rbac.authorization.k8s.io/v1").unwrap();
        let role = &doc["components"]["schemas"]["io.k8s.api.rbac.v1.Role"];
        assert_eq!(role["x-kubernetes-group-version-kind"][0]["kind"], "Role");
    }
}
