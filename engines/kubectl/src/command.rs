//! [`KubectlCommand`]: the lab shell's `kubectl`, dispatching subcommands
//! and answering help and completion.

use async_trait::async_trait;
use lab_engine_api::{Invocation, ShellCommand};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::args::Args;
use crate::client::{ClientError, ClusterClient};
use crate::commands::{self, Context, Failure, Outcome};
use crate::completion::NameCache;
use crate::help;
use crate::kinds::{KINDS, ResourceKind};

/// `kubectl` for one lab session, bound to one cluster and one default
/// namespace.
pub struct KubectlCommand {
    client: ClusterClient,
    names: NameCache,
    /// Stops the completion refresher when the command is dropped.
    stop: CancellationToken,
}

impl Drop for KubectlCommand {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl KubectlCommand {
    /// A command on `client`. Inside a tokio runtime this starts the
    /// background refresh of names for completion.
    pub fn new(client: ClusterClient) -> KubectlCommand {
        let stop = CancellationToken::new();
        let names = NameCache::start(client.clone(), stop.clone());
        KubectlCommand {
            client,
            names,
            stop,
        }
    }

    /// A command for the current context of a kubeconfig document.
    pub async fn from_kubeconfig_yaml(yaml: &str) -> Result<KubectlCommand, ClientError> {
        Ok(KubectlCommand::new(
            ClusterClient::from_kubeconfig_yaml(yaml).await?,
        ))
    }

    pub fn client(&self) -> &ClusterClient {
        &self.client
    }

    async fn dispatch(&self, ctx: &Context<'_>) -> Outcome {
        let Some(subcommand) = ctx.args.positional.first() else {
            ctx.out.write(help::text(&[])).await?;
            return Ok(());
        };
        if matches!(subcommand.as_str(), "apply" | "set" | "rollout") {
            ctx.refuse_dry_run(subcommand)?;
        }
        match subcommand.as_str() {
            "get" => commands::get::run(ctx).await,
            "describe" => commands::describe::run(ctx).await,
            "logs" => commands::logs::run(ctx).await,
            "delete" => commands::modify::delete(ctx).await,
            "scale" => commands::modify::scale(ctx).await,
            "set" => commands::modify::set(ctx).await,
            "create" => commands::create::create(ctx).await,
            "expose" => commands::create::expose(ctx).await,
            "apply" => commands::apply::run(ctx).await,
            "rollout" => commands::rollout::run(ctx).await,
            "cluster-info" => commands::info::cluster_info(ctx).await,
            "version" => commands::info::version(ctx).await,
            "api-resources" => commands::info::api_resources(ctx).await,
            "explain" => commands::info::explain(ctx).await,
            "config" => commands::info::config(ctx).await,
            "edit" | "exec" | "port-forward" | "attach" | "cp" | "proxy" => {
                commands::info::not_available(subcommand).await
            }
            other => Err(commands::usage(format!(
                "unknown command \"{other}\" for \"kubectl\"\n\nRun 'kubectl --help' for usage."
            ))),
        }
    }
}

#[async_trait]
impl ShellCommand for KubectlCommand {
    fn name(&self) -> &str {
        "kubectl"
    }

    fn summary(&self) -> &str {
        "control this session's Kubernetes cluster"
    }

    fn help(&self, topic: &[String]) -> String {
        help::text(topic)
    }

    fn complete(&self, before: &[String], partial: &str) -> Vec<String> {
        let words: Vec<&str> = before
            .iter()
            .map(String::as_str)
            .filter(|w| !w.starts_with('-'))
            .collect();
        let candidates = match words.as_slice() {
            [] => help::SUBCOMMANDS
                .iter()
                .map(|(n, _)| n.to_string())
                .collect(),
            [_, kind] if ResourceKind::lookup(kind).is_some() => ResourceKind::lookup(kind)
                .map(|k| self.names.names(k))
                .unwrap_or_default(),
            [_] => kind_words(partial, &self.names),
            _ => Vec::new(),
        };
        let mut matching: Vec<String> = candidates
            .into_iter()
            .filter(|c| c.starts_with(partial))
            .collect();
        matching.sort();
        matching.dedup();
        matching
    }

    async fn run(&self, invocation: Invocation<'_>) -> i32 {
        let args = match Args::parse(invocation.args) {
            Ok(args) => args,
            Err(message) => {
                let _ = invocation
                    .stderr
                    .line(usage_error(invocation.args, &message))
                    .await;
                return 1;
            }
        };
        if args.value("kubeconfig").is_some() || args.value("context").is_some() {
            let message = "error: the lab's kubectl always talks to this session's cluster; \
                           --kubeconfig and --context cannot change that";
            let _ = invocation.stderr.line(message).await;
            return 1;
        }
        if args.switch("help") {
            let _ = invocation.stdout.write(help::text(&args.positional)).await;
            return 0;
        }
        let ctx = Context {
            client: &self.client,
            args: &args,
            out: &invocation.stdout,
            err: &invocation.stderr,
            files: invocation.files,
            stdin: invocation.stdin.clone(),
            cancel: invocation.cancel.clone(),
        };
        let subcommand = args.positional.first().map(String::as_str).unwrap_or("");
        let span = tracing::debug_span!("kubectl", subcommand, namespace = ctx.namespace());
        let outcome = self.dispatch(&ctx).instrument(span).await;
        if let Err(failure) = &outcome {
            tracing::debug!(%failure, "kubectl command failed");
        }
        self.names.refresh_soon();
        match outcome {
            Ok(()) => 0,
            Err(Failure::Reported) | Err(Failure::Closed(_)) => 1,
            Err(failure) => {
                let _ = invocation.stderr.line(failure.to_string()).await;
                1
            }
        }
    }
}

/// cobra's wording for a bad flag: `Error: unknown flag: --x` and where
/// to read the usage.
fn usage_error(words: &[String], message: &str) -> String {
    let subcommand = words.iter().find(|w| !w.starts_with('-'));
    let help = match subcommand {
        Some(subcommand) => format!("kubectl {subcommand} --help"),
        None => "kubectl --help".to_string(),
    };
    format!("Error: {message}\nSee '{help}' for usage.")
}

/// Kind names for the word after a subcommand: plural names, short names
/// and `TYPE/NAME` forms once a `/` is typed.
fn kind_words(partial: &str, names: &NameCache) -> Vec<String> {
    if let Some((kind, _)) = partial.split_once('/') {
        return ResourceKind::lookup(kind)
            .map(|k| {
                names
                    .names(k)
                    .into_iter()
                    .map(|n| format!("{kind}/{n}"))
                    .collect()
            })
            .unwrap_or_default();
    }
    let mut words: Vec<String> = KINDS.iter().map(|k| k.plural.to_string()).collect();
    words.extend(
        KINDS
            .iter()
            .flat_map(|k| k.short.iter().map(|s| s.to_string())),
    );
    words.push("all".to_string());
    words
}
