//! Runs one embedded cluster until Ctrl-C or SIGTERM, writing its kubeconfig to the
//! path given as the first argument (default `./kubeconfig`), and applying
//! any further arguments as manifest files.

use std::path::PathBuf;

use lab_cluster::{ClusterConfig, EmbeddedCluster};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let kubeconfig = PathBuf::from(args.next().unwrap_or_else(|| "kubeconfig".into()));
    let cluster = EmbeddedCluster::start(ClusterConfig::for_session(format!(
        "example-{}",
        std::process::id()
    )))
    .await?;
    cluster.write_kubeconfig(&kubeconfig)?;
    for manifest in args {
        let text = std::fs::read_to_string(&manifest)?;
        cluster.apply_manifests(&[&text])?;
    }
    println!(
        "cluster at {} (kubeconfig {})",
        cluster.base_url(),
        kubeconfig.display()
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    cluster.shutdown().await;
    Ok(())
}
