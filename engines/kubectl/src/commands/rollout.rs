//! `kubectl rollout status|history|undo|restart deployment/NAME`.

use std::time::Duration;

use serde_json::{Value, json};

use super::modify::single_name;
use super::{Context, Failure, Outcome, usage};
use crate::kinds::ResourceKind;

const REVISION: &str = "deployment.kubernetes.io/revision";
const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";

pub async fn run(ctx: &Context<'_>) -> Outcome {
    let action = ctx
        .operands(0)
        .first()
        .cloned()
        .ok_or_else(|| usage("rollout needs a subcommand: status, history, undo or restart"))?;
    let (kind, names) = ctx.kind_and_names(1)?;
    if kind.kind != "Deployment" {
        return Err(usage(format!(
            "no rollout support for {}: the lab's kubectl rolls out deployments",
            kind.qualified_plural()
        )));
    }
    let name = single_name(&names)?;
    match action.as_str() {
        "status" => status(ctx, kind, name).await,
        "history" => history(ctx, kind, name).await,
        "undo" => undo(ctx, kind, name).await,
        "restart" => restart(ctx, kind, name).await,
        other => Err(usage(format!(
            "unknown command \"{other}\" for \"kubectl rollout\""
        ))),
    }
}

/// Waits until every replica runs the current template, printing progress
/// lines as kubectl does.
async fn status(ctx: &Context<'_>, kind: &ResourceKind, name: &str) -> Outcome {
    let path = kind.object_path(ctx.namespace(), name);
    let mut last = String::new();
    loop {
        let deployment = ctx.client.get(&path).await?;
        let (message, done) = progress(name, &deployment);
        if message != last {
            ctx.out.line(&message).await?;
            last = message;
        }
        if done {
            return Ok(());
        }
        tokio::select! {
            _ = ctx.cancel.cancelled() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

fn progress(name: &str, deployment: &Value) -> (String, bool) {
    let number = |path: &str| {
        deployment
            .pointer(path)
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let wanted = deployment
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let updated = number("/status/updatedReplicas");
    let total = number("/status/replicas");
    let available = number("/status/availableReplicas");
    let waiting = "Waiting for deployment";
    let generation = number("/metadata/generation");
    if number("/status/observedGeneration") < generation {
        return (format!("{waiting} spec update to be observed..."), false);
    }
    if updated < wanted {
        return (
            format!(
                "{waiting} \"{name}\" rollout to finish: {updated} out of {wanted} new replicas have been updated..."
            ),
            false,
        );
    }
    if total > updated {
        return (
            format!(
                "{waiting} \"{name}\" rollout to finish: {} old replicas are pending termination...",
                total - updated
            ),
            false,
        );
    }
    if available < updated {
        return (
            format!(
                "{waiting} \"{name}\" rollout to finish: {available} of {updated} updated replicas are available..."
            ),
            false,
        );
    }
    (
        format!("deployment \"{name}\" successfully rolled out"),
        true,
    )
}

/// The replica sets a deployment owns, with their revision numbers, oldest
/// first.
async fn revisions(ctx: &Context<'_>, deployment: &Value) -> Result<Vec<(i64, Value)>, Failure> {
    let uid = deployment
        .pointer("/metadata/uid")
        .cloned()
        .unwrap_or(Value::Null);
    let path = format!("/apis/apps/v1/namespaces/{}/replicasets", ctx.namespace());
    let list = ctx.client.get(&path).await?;
    let mut owned: Vec<(i64, Value)> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rs| {
            rs.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
        })
        .map(|rs| (revision_of(rs), rs.clone()))
        .collect();
    owned.sort_by_key(|(revision, _)| *revision);
    Ok(owned)
}

fn revision_of(object: &Value) -> i64 {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

async fn history(ctx: &Context<'_>, kind: &ResourceKind, name: &str) -> Outcome {
    let deployment = ctx
        .client
        .get(&kind.object_path(ctx.namespace(), name))
        .await?;
    let mut rows = vec![vec!["REVISION".to_string(), "CHANGE-CAUSE".to_string()]];
    for (revision, rs) in revisions(ctx, &deployment).await? {
        let cause = rs
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(CHANGE_CAUSE))
            .and_then(Value::as_str)
            .unwrap_or("<none>");
        rows.push(vec![revision.to_string(), cause.to_string()]);
    }
    // kubectl's history table uses two spaces between columns.
    let width = rows.iter().map(|r| r[0].len()).max().unwrap_or(0) + 2;
    let mut text = format!("{}/{name} \n", kind.qualified());
    for row in rows {
        text.push_str(&format!("{:<width$}{}\n", row[0], row[1]));
    }
    text.push('\n');
    ctx.out.write(text).await?;
    Ok(())
}

async fn undo(ctx: &Context<'_>, kind: &ResourceKind, name: &str) -> Outcome {
    let path = kind.object_path(ctx.namespace(), name);
    let deployment = ctx.client.get(&path).await?;
    let history = revisions(ctx, &deployment).await?;
    let current = revision_of(&deployment);
    let wanted = ctx
        .args
        .number("to-revision")
        .map_err(usage)?
        .filter(|r| *r > 0);
    let target = match wanted {
        Some(revision) => history.iter().find(|(r, _)| *r == revision),
        None => history.iter().rev().find(|(r, _)| *r != current),
    };
    let Some((_, replica_set)) = target else {
        return Err(usage(match wanted {
            Some(revision) => format!("unable to find specified revision {revision} in history"),
            None => "no rollout history found for deployment \"".to_string() + name + "\"",
        }));
    };
    let mut template = replica_set["spec"]["template"].clone();
    if let Some(labels) = template
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove("pod-template-hash");
    }
    let operations = json!([{"op": "replace", "path": "/spec/template", "value": template}]);
    ctx.client.json_patch(&path, &operations).await?;
    ctx.out
        .line(format!("{}/{name} rolled back", kind.qualified()))
        .await?;
    Ok(())
}

async fn restart(ctx: &Context<'_>, kind: &ResourceKind, name: &str) -> Outcome {
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": now
    }}}}});
    ctx.client
        .merge_patch(&kind.object_path(ctx.namespace(), name), &patch)
        .await?;
    ctx.out
        .line(format!("{}/{name} restarted", kind.qualified()))
        .await?;
    Ok(())
}
