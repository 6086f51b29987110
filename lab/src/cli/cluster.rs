//! `lab cluster serve`: one embedded cluster for use with your own
//! kubectl, seeded like the first scenario's.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use lab_cluster::{ClusterConfig, EmbeddedCluster};

use crate::engines::error_chain;

#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Start an embedded Kubernetes API server seeded with the first
    /// scenario's manifests; pods run as Docker containers. Runs until
    /// Ctrl-C.
    #[command(
        after_long_help = "Example:\n  lab cluster serve --kubeconfig /tmp/lab.kubeconfig\n  \
                                 KUBECONFIG=/tmp/lab.kubeconfig kubectl get pods"
    )]
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Where to write the kubeconfig [default: DATA_DIR/cluster.kubeconfig].
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
}

pub fn execute(
    command: &ClusterCommand,
    data_dir: &Path,
    scenarios_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let ClusterCommand::Serve(args) = command;
    let kubeconfig = args
        .kubeconfig
        .clone()
        .unwrap_or_else(|| data_dir.join("cluster.kubeconfig"));
    if let Some(parent) = kubeconfig.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let manifests = first_manifests(scenarios_dir);
    let runtime = super::runtime()?;
    let config = ClusterConfig::for_session(format!("cluster-serve-{}", std::process::id()));
    let served = runtime.block_on(lab_cluster::serve(
        config,
        Some(&kubeconfig),
        |cluster| announce(cluster, &manifests, &kubeconfig),
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    ));
    served.map_err(|error| anyhow::anyhow!("{}", error_chain(&error)))?;
    println!("cluster stopped");
    Ok(ExitCode::SUCCESS)
}

/// The manifests of the first scenario that has a cluster.
fn first_manifests(scenarios_dir: Option<&Path>) -> Vec<String> {
    let catalog = super::catalog(scenarios_dir);
    catalog
        .scenarios
        .iter()
        .find(|s| !s.manifests.is_empty())
        .map(|s| s.manifests.iter().map(|m| m.yaml.clone()).collect())
        .unwrap_or_default()
}

fn announce(cluster: &EmbeddedCluster, manifests: &[String], kubeconfig: &Path) {
    let texts: Vec<&str> = manifests.iter().map(String::as_str).collect();
    match cluster.apply_manifests(&texts) {
        Ok(count) => println!("applied {count} objects from the scenario's manifests"),
        Err(error) => eprintln!("warning: manifests not applied: {}", error_chain(&error)),
    }
    println!("Kubernetes API at {}", cluster.base_url());
    println!("kubeconfig written to {}", kubeconfig.display());
    println!(
        "try:  KUBECONFIG={} kubectl get pods -A",
        kubeconfig.display()
    );
    println!("press Ctrl-C to stop the cluster");
}
