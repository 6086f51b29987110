//! Commands that make new objects from flags: `create deployment`,
//! `create namespace`, `expose`.

use serde_json::{Value, json};

use super::modify::single_name;
use super::{Context, Failure, Outcome, usage};
use crate::client::ApiError;
use crate::kinds::ResourceKind;
use crate::printer;

/// `kubectl create deployment|namespace NAME ...`.
pub async fn create(ctx: &Context<'_>) -> Outcome {
    if ctx.args.value("filename").is_some() {
        return super::apply::create_from_files(ctx).await;
    }
    let operands = ctx.operands(0);
    let what = operands.first().map(String::as_str);
    let name = operands.get(1).ok_or_else(|| usage("NAME is required"))?;
    match what {
        Some("deployment" | "deploy") => create_deployment(ctx, name).await,
        Some("namespace" | "ns") => create_namespace(ctx, name).await,
        Some(other) => Err(usage(format!(
            "the lab's kubectl creates deployments and namespaces, not \"{other}\"; write a manifest and use kubectl apply -f"
        ))),
        None => Err(usage("must specify one of -f and -k")),
    }
}

async fn create_deployment(ctx: &Context<'_>, name: &str) -> Outcome {
    let image = ctx
        .args
        .value("image")
        .ok_or_else(|| usage("required flag(s) \"image\" not set"))?;
    let replicas = ctx.args.number("replicas").map_err(usage)?.unwrap_or(1);
    let mut container = json!({"name": container_name(image), "image": image});
    if let Some(port) = ctx.args.number("port").map_err(usage)? {
        container["ports"] = json!([{"containerPort": port}]);
    }
    let deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container]},
            },
        },
    });
    // kubectl words a refused `create deployment` as its own failure.
    match create_object(ctx, "deployments", deployment, "created").await {
        Err(Failure::Api(ApiError::Server { message, .. })) => {
            Err(usage(format!("failed to create deployment: {message}")))
        }
        other => other,
    }
}

/// kubectl names the container after the image: `web` for `reg/web:1`.
fn container_name(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    let base = last.split(['@', ':']).next().unwrap_or(last);
    base.to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

async fn create_namespace(ctx: &Context<'_>, name: &str) -> Outcome {
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    create_object(ctx, "namespaces", namespace, "created").await
}

async fn create_object(ctx: &Context<'_>, plural: &str, object: Value, verb: &str) -> Outcome {
    let kind = ctx.kind(plural)?;
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if ctx.dry_run()? {
        return print_dry_run(ctx, kind, &name, object, verb).await;
    }
    ctx.client
        .create(&kind.collection_path(Some(ctx.namespace())), &object)
        .await?;
    ctx.out
        .line(format!("{}/{name} {verb}", kind.qualified()))
        .await?;
    Ok(())
}

/// `--dry-run`: the object kubectl would send, in the `-o` format, or the
/// usual message marked "(dry run)".
async fn print_dry_run(
    ctx: &Context<'_>,
    kind: &ResourceKind,
    name: &str,
    object: Value,
    verb: &str,
) -> Outcome {
    let text = match ctx.args.value("output") {
        Some("yaml") => printer::yaml(&as_sent(object)),
        Some("json") => printer::json(&as_sent(object)),
        Some("name") => format!("{}/{name}\n", kind.qualified()),
        Some(other) => {
            return Err(usage(format!(
                "unable to match a printer suitable for the output format \"{other}\" in a dry run"
            )));
        }
        None => format!("{}/{name} {verb} (dry run)\n", kind.qualified()),
    };
    ctx.out.write(text).await?;
    Ok(())
}

/// The object with the empty fields kubectl's client-side objects carry, so
/// a saved dry run reads like kubectl's.
fn as_sent(mut object: Value) -> Value {
    object["metadata"]["creationTimestamp"] = Value::Null;
    if object["kind"] == "Deployment" {
        object["spec"]["strategy"] = json!({});
        object["spec"]["template"]["metadata"]["creationTimestamp"] = Value::Null;
        if let Some(containers) = object
            .pointer_mut("/spec/template/spec/containers")
            .and_then(Value::as_array_mut)
        {
            containers
                .iter_mut()
                .for_each(|c| c["resources"] = json!({}));
        }
    }
    if object["kind"] == "Namespace" {
        object["spec"] = json!({});
    }
    object["status"] = json!({});
    object
}

/// `kubectl expose deployment NAME --port=P [--target-port=T] [--type=T]`.
pub async fn expose(ctx: &Context<'_>) -> Outcome {
    let (kind, names) = ctx.kind_and_names(0)?;
    let name = single_name(&names)?;
    let source = ctx
        .client
        .get(&kind.object_path(ctx.namespace(), name))
        .await?;
    let selector = selector_of(kind, &source)
        .ok_or_else(|| usage(format!("couldn't find a selector on {} {name}", kind.kind)))?;
    let port = match ctx.args.number("port").map_err(usage)? {
        Some(port) => port,
        None => first_container_port(&source)
            .ok_or_else(|| usage("couldn't find port via --port flag or introspection"))?,
    };
    let target = match ctx.args.value("target-port") {
        Some(target) => target
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or(json!(target)),
        None => json!(port),
    };
    let service_name = ctx.args.value("name").unwrap_or(name);
    let mut service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": service_name, "labels": source["metadata"]["labels"].clone()},
        "spec": {
            "selector": selector,
            "ports": [{"port": port, "targetPort": target, "protocol": ctx.args.value("protocol").unwrap_or("TCP")}],
        },
    });
    if let Some(kind) = ctx.args.value("type") {
        service["spec"]["type"] = json!(kind);
    }
    create_object(ctx, "services", service, "exposed").await
}

fn selector_of(kind: &ResourceKind, object: &Value) -> Option<Value> {
    let selector = match kind.kind {
        "Service" => object.pointer("/spec/selector"),
        "Pod" => object.pointer("/metadata/labels"),
        _ => object.pointer("/spec/selector/matchLabels"),
    };
    selector
        .filter(|s| s.as_object().is_some_and(|m| !m.is_empty()))
        .cloned()
}

fn first_container_port(object: &Value) -> Option<i64> {
    let containers = object
        .pointer("/spec/template/spec/containers")
        .or_else(|| object.pointer("/spec/containers"))?;
    containers
        .as_array()?
        .iter()
        .find_map(|c| c.pointer("/ports/0/containerPort").and_then(Value::as_i64))
}

#[cfg(test)]
mod tests {
    use super::container_name;

    #[test]
    fn container_names_come_from_the_image() {
        assert_eq!(container_name("hello-tryhackme:latest"), "hello-tryhackme");
        assert_eq!(container_name("registry.local/team/web@sha256:ab"), "web");
    }
}
