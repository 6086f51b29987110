//! The cluster engine's line in `lab doctor`: it is ready when an embedded
//! cluster can start and answer here, and says whether pods can run.

use lab_engine_api::{EngineKind, EngineState, EngineStatus};

use crate::cluster::{ClusterConfig, EmbeddedCluster};

/// Starts a throwaway cluster, asks it for `/version`, and reports.
pub async fn engine_status() -> EngineStatus {
    let state = match probe().await {
        Ok(detail) => EngineState::Ready { detail },
        Err(reason) => EngineState::Unavailable {
            reason,
            remedy: "check that loopback TCP ports can be bound and the Docker engine runs".into(),
        },
    };
    EngineStatus {
        kind: EngineKind::Cluster,
        state,
    }
}

async fn probe() -> Result<String, String> {
    let started = std::time::Instant::now();
    let cluster = EmbeddedCluster::start(ClusterConfig::for_session("doctor"))
        .await
        .map_err(|e| format!("the embedded cluster did not start: {e}"))?;
    let runtime = cluster.state().runtime.runtime_version();
    let elapsed = started.elapsed();
    cluster.shutdown().await;
    Ok(format!(
        "embedded Kubernetes API {} started in {} ms; pods run on {runtime}",
        crate::api::discovery::GIT_VERSION,
        elapsed.as_millis()
    ))
}
