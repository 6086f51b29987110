//! Commands that change existing objects: `delete`, `scale`, `set image`.

use serde_json::{Value, json};

use super::get::encode;
use super::{Context, Failure, Outcome, usage};
use crate::kinds::ResourceKind;

/// `kubectl delete TYPE NAME...`, `TYPE/NAME` or `TYPE -l SELECTOR`.
pub async fn delete(ctx: &Context<'_>) -> Outcome {
    let (kind, mut names) = ctx.kind_and_names(0)?;
    if let Some(selector) = ctx.args.value("selector") {
        names = selected_names(ctx, kind, selector).await?;
        if names.is_empty() {
            ctx.err.line("No resources found").await?;
            return Ok(());
        }
    }
    if names.is_empty() {
        return Err(usage(
            "resource(s) were provided, but no name was specified",
        ));
    }
    if ctx.dry_run()? {
        return delete_dry_run(ctx, kind, &names).await;
    }
    // As in kubectl, a selector makes --ignore-not-found the default: an
    // object that matched may be gone (garbage-collected) by its delete.
    let ignore_not_found =
        ctx.args.switch("ignore-not-found") || ctx.args.value("selector").is_some();
    let mut failed = false;
    for name in names {
        match ctx
            .client
            .delete(&kind.object_path(ctx.namespace(), &name))
            .await
        {
            Ok(_) => {
                ctx.out
                    .line(format!("{} \"{name}\" deleted", kind.qualified()))
                    .await?
            }
            Err(error) if error.is_not_found() && ignore_not_found => {}
            Err(error) => {
                ctx.err.line(error.to_string()).await?;
                failed = true;
            }
        }
    }
    match failed {
        true => Err(Failure::Reported),
        false => Ok(()),
    }
}

/// `delete --dry-run`: checks each object exists, deletes nothing.
async fn delete_dry_run(ctx: &Context<'_>, kind: &ResourceKind, names: &[String]) -> Outcome {
    let mut failed = false;
    for name in names {
        match ctx
            .client
            .get(&kind.object_path(ctx.namespace(), name))
            .await
        {
            Ok(_) => {
                let line = format!("{} \"{name}\" deleted (dry run)", kind.qualified());
                ctx.out.line(line).await?;
            }
            Err(error) => {
                ctx.err.line(error.to_string()).await?;
                failed = true;
            }
        }
    }
    match failed {
        true => Err(Failure::Reported),
        false => Ok(()),
    }
}

/// The names of the objects of `kind` matching a label selector.
pub async fn selected_names(
    ctx: &Context<'_>,
    kind: &ResourceKind,
    selector: &str,
) -> Result<Vec<String>, Failure> {
    let path = format!(
        "{}?labelSelector={}",
        kind.collection_path(Some(ctx.namespace())),
        encode(selector)
    );
    let list = ctx.client.get(&path).await?;
    Ok(object_names(&list))
}

/// The `metadata.name`s of a list.
pub fn object_names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.pointer("/metadata/name").and_then(Value::as_str))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// `kubectl scale deployment NAME --replicas=N`.
pub async fn scale(ctx: &Context<'_>) -> Outcome {
    let replicas = ctx
        .args
        .number("replicas")
        .map_err(usage)?
        .ok_or_else(|| usage("required flag(s) \"replicas\" not set"))?;
    if replicas < 0 {
        return Err(usage(
            "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0",
        ));
    }
    let (kind, names) = ctx.kind_and_names(0)?;
    scalable(kind)?;
    let name = single_name(&names)?;
    if ctx.dry_run()? {
        let path = kind.object_path(ctx.namespace(), name);
        if let Err(error) = ctx.client.get(&path).await {
            return Err(scale_failure(error));
        }
        let line = format!("{}/{name} scaled (dry run)", kind.qualified());
        ctx.out.line(line).await?;
        return Ok(());
    }
    let patch = json!({"spec": {"replicas": replicas}});
    let patched = ctx
        .client
        .merge_patch(&kind.object_path(ctx.namespace(), name), &patch)
        .await;
    if let Err(error) = patched {
        return Err(scale_failure(error));
    }
    ctx.out
        .line(format!("{}/{name} scaled", kind.qualified()))
        .await?;
    Ok(())
}

/// kubectl words a missing object in `scale` as "no objects passed".
fn scale_failure(error: crate::client::ApiError) -> Failure {
    match &error {
        crate::client::ApiError::Server {
            code: 404, message, ..
        } => usage(format!("no objects passed to scale {message}")),
        _ => error.into(),
    }
}

fn scalable(kind: &ResourceKind) -> Result<(), Failure> {
    match kind.kind {
        "Deployment" | "ReplicaSet" => Ok(()),
        other => Err(usage(format!(
            "cannot scale a {other}: only deployments and replica sets have a scale"
        ))),
    }
}

/// Exactly one name, or kubectl's complaint.
pub fn single_name(names: &[String]) -> Result<&str, Failure> {
    match names {
        [name] => Ok(name),
        [] => Err(usage(
            "resource(s) were provided, but no name was specified",
        )),
        _ => Err(usage("only one resource name may be given here")),
    }
}

/// `kubectl set image deployment/NAME CONTAINER=IMAGE...`.
pub async fn set(ctx: &Context<'_>) -> Outcome {
    match ctx.operands(0).first().map(String::as_str) {
        Some("image") => set_image(ctx).await,
        Some(other) => Err(usage(format!(
            "the lab's kubectl supports only \"set image\", not \"set {other}\""
        ))),
        None => Err(usage(
            "Usage: kubectl set image (TYPE NAME | TYPE/NAME) CONTAINER=IMAGE",
        )),
    }
}

async fn set_image(ctx: &Context<'_>) -> Outcome {
    let operands = ctx.operands(1);
    let (pairs, target): (Vec<String>, Vec<String>) =
        operands.iter().cloned().partition(|w| w.contains('='));
    let (kind, names) = match target.as_slice() {
        [slashed] if slashed.contains('/') => {
            let (kind, name) = slashed.split_once('/').unwrap_or_default();
            (ctx.kind(kind)?, vec![name.to_string()])
        }
        [kind, names @ ..] => (ctx.kind(kind)?, names.to_vec()),
        [] => return Err(usage("you must specify the type of resource")),
    };
    let name = single_name(&names)?;
    if pairs.is_empty() {
        return Err(usage("at least one image update is required"));
    }
    let path = kind.object_path(ctx.namespace(), name);
    let mut object = ctx.client.get(&path).await?;
    let Some(containers) = object
        .pointer_mut("/spec/template/spec/containers")
        .and_then(Value::as_array_mut)
    else {
        return Err(usage(format!("{} {name} has no pod template", kind.kind)));
    };
    for pair in &pairs {
        let (container, image) = pair.split_once('=').unwrap_or((pair, ""));
        let found = containers
            .iter_mut()
            .find(|c| c["name"] == container || container == "*");
        match found {
            Some(c) => c["image"] = json!(image),
            None => {
                return Err(usage(format!(
                    "unable to find container named \"{container}\""
                )));
            }
        }
    }
    let containers = Value::Array(containers.clone());
    let operations = json!([
        {"op": "replace", "path": "/spec/template/spec/containers", "value": containers}
    ]);
    ctx.client.json_patch(&path, &operations).await?;
    ctx.out
        .line(format!("{}/{name} image updated", kind.qualified()))
        .await?;
    Ok(())
}
