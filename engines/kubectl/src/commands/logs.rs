//! `kubectl logs POD|TYPE/NAME [-c C] [--tail=N] [-f]`.

use futures::AsyncReadExt;
use serde_json::Value;

use super::get::encode;
use super::{Context, Failure, Outcome, usage};

pub async fn run(ctx: &Context<'_>) -> Outcome {
    let operands = ctx.operands(0);
    let target = operands
        .first()
        .ok_or_else(|| usage("expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command"))?;
    let pod = resolve_pod(ctx, target).await?;
    let container = ctx
        .args
        .value("container")
        .or(operands.get(1).map(String::as_str));
    let path = log_path(ctx, &pod, container)?;

    match ctx.args.switch("follow") {
        true => follow(ctx, &path).await,
        false => {
            let text = ctx.client.get_text(&path).await?;
            ctx.out.write(text).await?;
            Ok(())
        }
    }
}

/// The pod a target names: a pod name, `pod/NAME`, or the first pod of a
/// deployment or replica set (`deployment/NAME`).
async fn resolve_pod(ctx: &Context<'_>, target: &str) -> Result<String, Failure> {
    let Some((kind, name)) = target.split_once('/') else {
        return Ok(target.to_string());
    };
    let kind = ctx.kind(kind)?;
    if kind.kind == "Pod" {
        return Ok(name.to_string());
    }
    let owner = ctx
        .client
        .get(&kind.object_path(ctx.namespace(), name))
        .await?;
    let labels = owner
        .pointer("/spec/selector/matchLabels")
        .or_else(|| owner.pointer("/spec/selector"))
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| usage(format!("cannot get the logs of a {}", kind.kind)))?;
    let selector: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    let path = format!(
        "/api/v1/namespaces/{}/pods?labelSelector={}",
        ctx.namespace(),
        encode(&selector.join(","))
    );
    let pods = ctx.client.get(&path).await?;
    let mut names = super::modify::object_names(&pods);
    names.sort();
    names
        .into_iter()
        .next()
        .ok_or_else(|| usage(format!("no pods found for {target}")))
}

fn log_path(ctx: &Context<'_>, pod: &str, container: Option<&str>) -> Result<String, Failure> {
    let mut query = Vec::new();
    if let Some(container) = container {
        query.push(format!("container={}", encode(container)));
    }
    if let Some(tail) = ctx.args.number("tail").map_err(usage)?.filter(|t| *t >= 0) {
        query.push(format!("tailLines={tail}"));
    }
    if ctx.args.switch("follow") {
        query.push("follow=true".to_string());
    }
    if ctx.args.switch("timestamps") {
        query.push("timestamps=true".to_string());
    }
    if ctx.args.switch("previous") {
        query.push("previous=true".to_string());
    }
    let mut path = format!("/api/v1/namespaces/{}/pods/{pod}/log", ctx.namespace());
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    Ok(path)
}

/// Streams the log until it ends or the student presses Ctrl-C.
async fn follow(ctx: &Context<'_>, path: &str) -> Outcome {
    let stream = ctx.client.stream(path).await?;
    let mut stream = std::pin::pin!(stream);
    let mut buffer = vec![0_u8; 8192];
    loop {
        let read = tokio::select! {
            _ = ctx.cancel.cancelled() => return Ok(()),
            read = stream.read(&mut buffer) => read,
        };
        match read {
            Ok(0) => return Ok(()),
            Ok(count) => ctx.out.write(buffer[..count].to_vec()).await?,
            Err(error) => {
                tracing::debug!(%error, "log stream ended");
                return Ok(());
            }
        }
    }
}
