//! A scenario's manifests applied through the API of an external cluster,
//! into the student's namespace: the external counterpart of the embedded
//! cluster's own `apply_manifests`.

use serde_json::Value;

use crate::client::{ApiError, ClusterClient};
use crate::kinds::ResourceKind;
use crate::probe::SCENARIO_NAMESPACE;

/// A manifest that could not be applied; `index` counts the manifest files
/// of the scenario from 0.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest {index} is not valid YAML")]
    Yaml {
        index: usize,
        #[source]
        source: serde_yaml_ng::Error,
    },
    #[error("manifest {index}: the lab cannot apply kind {kind:?} of apiVersion {api_version:?}")]
    UnknownKind {
        index: usize,
        kind: String,
        api_version: String,
    },
    #[error("manifest {index}: an object of kind {kind} has no metadata.name")]
    NoName { index: usize, kind: &'static str },
    #[error("manifest {index}: failed to apply {kind} {name}")]
    Refused {
        index: usize,
        kind: &'static str,
        name: String,
        #[source]
        source: Box<ApiError>,
    },
}

/// Creates the objects of multi-document YAML `manifests`, or merges them
/// into objects that exist. Namespaced objects without a namespace, or in
/// `default`, go to `namespace`; other namespaces are kept as written.
/// Returns how many objects were applied.
pub async fn apply_manifests(
    client: &ClusterClient,
    namespace: &str,
    manifests: &[&str],
) -> Result<usize, ManifestError> {
    let objects = parse(manifests)?;
    let applied = objects.len();
    for (index, object) in objects {
        apply_object(client, namespace, index, object).await?;
    }
    Ok(applied)
}

/// Every object of every manifest with the manifest's index, all read
/// before the first request (the YAML parser cannot cross an await).
fn parse(manifests: &[&str]) -> Result<Vec<(usize, Value)>, ManifestError> {
    let mut objects = Vec::new();
    for (index, text) in manifests.iter().enumerate() {
        for document in serde_yaml_ng::Deserializer::from_str(text) {
            let object: Value = serde::Deserialize::deserialize(document)
                .map_err(|source| ManifestError::Yaml { index, source })?;
            if !object.is_null() {
                objects.push((index, object));
            }
        }
    }
    Ok(objects)
}

async fn apply_object(
    client: &ClusterClient,
    namespace: &str,
    index: usize,
    mut object: Value,
) -> Result<(), ManifestError> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind_name = object["kind"].as_str().unwrap_or_default();
    let kind = ResourceKind::by_kind(api_version, kind_name).ok_or_else(|| {
        ManifestError::UnknownKind {
            index,
            kind: kind_name.to_string(),
            api_version: api_version.to_string(),
        }
    })?;
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .ok_or(ManifestError::NoName {
            index,
            kind: kind.kind,
        })?
        .to_string();
    let target = target_namespace(&object, namespace);
    if kind.namespaced {
        object["metadata"]["namespace"] = Value::String(target.clone());
    }
    let refused = |source| ManifestError::Refused {
        index,
        kind: kind.kind,
        name: name.clone(),
        source: Box::new(source),
    };
    match client
        .create(&kind.collection_path(Some(&target)), &object)
        .await
    {
        Ok(_) => Ok(()),
        Err(ApiError::Server { code: 409, .. }) => client
            .merge_patch(&kind.object_path(&target, &name), &object)
            .await
            .map(|_| ())
            .map_err(refused),
        Err(source) => Err(refused(source)),
    }
}

/// `namespace` for objects that name none or the scenario's `default`.
fn target_namespace(object: &Value, namespace: &str) -> String {
    match object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
    {
        None | Some(SCENARIO_NAMESPACE) => namespace.to_string(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_and_missing_namespaces_become_the_students() {
        let plain = json!({"metadata": {"name": "a"}});
        let default = json!({"metadata": {"name": "a", "namespace": "default"}});
        let system = json!({"metadata": {"name": "a", "namespace": "kube-system"}});
        assert_eq!(target_namespace(&plain, "lab-ada"), "lab-ada");
        assert_eq!(target_namespace(&default, "lab-ada"), "lab-ada");
        assert_eq!(target_namespace(&system, "lab-ada"), "kube-system");
    }
}
