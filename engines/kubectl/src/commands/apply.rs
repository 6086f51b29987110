//! `kubectl apply -f FILE` (and `create -f FILE`): objects from the
//! session's scratch files (or piped input with `-f -`), created when new
//! and merge-patched when they exist.
//!
//! Apply compares and patches whole fields instead of keeping kubectl's
//! last-applied annotation, so a field removed from the file stays on the
//! object; a three-way merge would need that annotation.

use serde_json::{Value, json};

use super::{Context, Failure, Outcome, usage};
use crate::kinds::ResourceKind;

/// Fields apply copies from the file onto an existing object.
const APPLIED_FIELDS: &[&str] = &["spec", "data", "stringData", "type"];

pub async fn run(ctx: &Context<'_>) -> Outcome {
    apply_files(ctx, Mode::Apply).await
}

pub async fn create_from_files(ctx: &Context<'_>) -> Outcome {
    apply_files(ctx, Mode::Create).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Apply,
    Create,
}

async fn apply_files(ctx: &Context<'_>, mode: Mode) -> Outcome {
    let file = ctx
        .args
        .value("filename")
        .ok_or_else(|| usage("must specify one of -f and -k"))?;
    let text = read_file(ctx, file)?;
    let objects = parse_documents(file, &text)?;
    if objects.is_empty() {
        return Err(usage(format!("no objects passed to {}", verb(mode))));
    }
    let mut failed = false;
    for object in objects {
        if let Err(error) = apply_object(ctx, mode, object).await {
            match error {
                Failure::Closed(_) => return Err(error),
                Failure::Reported => {}
                other => ctx.err.line(other.to_string()).await?,
            }
            failed = true;
        }
    }
    match failed {
        true => Err(Failure::Reported),
        false => Ok(()),
    }
}

fn verb(mode: Mode) -> &'static str {
    match mode {
        Mode::Apply => "apply",
        Mode::Create => "create",
    }
}

fn read_file(ctx: &Context<'_>, file: &str) -> Result<String, Failure> {
    let bytes = match file {
        "-" => ctx.stdin.clone(),
        path => ctx.files.read(path),
    };
    let bytes = bytes.ok_or_else(|| usage(format!("the path \"{file}\" does not exist")))?;
    String::from_utf8(bytes).map_err(|_| usage(format!("the file \"{file}\" is not UTF-8 text")))
}

/// The objects of a multi-document YAML (or JSON) text; `List`s unpacked.
fn parse_documents(file: &str, text: &str) -> Result<Vec<Value>, Failure> {
    let mut objects = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        let value: Value = serde::Deserialize::deserialize(document)
            .map_err(|e| usage(format!("error parsing {file}: {e}")))?;
        match value {
            Value::Null => {}
            Value::Object(ref map) if map.get("kind") == Some(&json!("List")) => {
                if let Some(items) = map.get("items").and_then(Value::as_array) {
                    objects.extend(items.iter().cloned());
                }
            }
            other => objects.push(other),
        }
    }
    Ok(objects)
}

async fn apply_object(ctx: &Context<'_>, mode: Mode, object: Value) -> Outcome {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind_name = object["kind"].as_str().unwrap_or_default();
    let kind = ResourceKind::by_kind(api_version, kind_name).ok_or_else(|| {
        usage(format!(
            "resource mapping not found for name: {:?} namespace: \"\" from \"{}\": no matches for kind {kind_name:?} in version {api_version:?}",
            object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default(),
            ctx.args.value("filename").unwrap_or_default(),
        ))
    })?;
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            usage("error when retrieving current configuration: resource name may not be empty")
        })?
        .to_string();
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or(ctx.namespace())
        .to_string();
    let path = kind.object_path(&namespace, &name);
    let label = format!("{}/{name}", kind.qualified());

    let existing = match ctx.client.get(&path).await {
        Ok(existing) => Some(existing),
        Err(error) if error.is_not_found() => None,
        Err(error) => return Err(error.into()),
    };
    match (existing, mode) {
        (None, _) => {
            ctx.client
                .create(&kind.collection_path(Some(&namespace)), &object)
                .await?;
            ctx.out.line(format!("{label} created")).await?;
        }
        (Some(_), Mode::Create) => {
            ctx.err
                .line(format!(
                    "Error from server (AlreadyExists): error when creating \"{}\": {} \"{name}\" already exists",
                    ctx.args.value("filename").unwrap_or_default(),
                    kind.qualified_plural()
                ))
                .await?;
            return Err(Failure::Reported);
        }
        (Some(existing), Mode::Apply) => {
            let patch = changed_fields(&existing, &object);
            if patch.as_object().is_none_or(|m| m.is_empty()) {
                ctx.out.line(format!("{label} unchanged")).await?;
            } else {
                ctx.client.merge_patch(&path, &patch).await?;
                ctx.out.line(format!("{label} configured")).await?;
            }
        }
    }
    Ok(())
}

/// A merge patch with the applied fields and labels whose value in the file
/// is not already contained in the live object.
fn changed_fields(existing: &Value, desired: &Value) -> Value {
    let mut patch = serde_json::Map::new();
    for field in APPLIED_FIELDS {
        if let Some(value) = desired.get(*field)
            && !contained(value, &existing[*field])
        {
            patch.insert((*field).to_string(), value.clone());
        }
    }
    if let Some(labels) = desired.pointer("/metadata/labels")
        && !contained(labels, &existing["metadata"]["labels"])
    {
        patch.insert("metadata".to_string(), json!({"labels": labels}));
    }
    Value::Object(patch)
}

/// Whether everything `wanted` says is already in `live` (the server adds
/// defaults, so live may say more).
fn contained(wanted: &Value, live: &Value) -> bool {
    match (wanted, live) {
        (Value::Object(w), Value::Object(l)) => w
            .iter()
            .all(|(k, v)| l.get(k).is_some_and(|lv| contained(v, lv))),
        (Value::Array(w), Value::Array(l)) => {
            w.len() == l.len() && w.iter().zip(l).all(|(a, b)| contained(a, b))
        }
        (Value::Number(w), Value::String(l)) => w.to_string() == *l,
        _ => wanted == live,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_when_the_server_only_added_defaults() {
        let desired = json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
        let live = json!({"spec": {"replicas": 1, "revisionHistoryLimit": 10, "template": {"spec": {"containers": [{"name": "a", "image": "x", "imagePullPolicy": "Always"}]}}}});
        assert_eq!(changed_fields(&live, &desired), json!({}));
    }

    #[test]
    fn changed_spec_is_patched() {
        let desired = json!({"spec": {"replicas": 3}});
        let live = json!({"spec": {"replicas": 1}});
        assert_eq!(
            changed_fields(&live, &desired),
            json!({"spec": {"replicas": 3}})
        );
    }

    #[test]
    fn documents_and_lists_unpack() {
        let text = "kind: A\n---\n---\nkind: List\nitems:\n- kind: B\n- kind: C\n";
        let kinds: Vec<Value> = parse_documents("f", text)
            .unwrap()
            .into_iter()
            .map(|o| o["kind"].clone())
            .collect();
        assert_eq!(kinds, [json!("A"), json!("B"), json!("C")]);
        assert!(parse_documents("f", "a: [").is_err());
    }
}
