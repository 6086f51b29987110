//! The engine lines of `lab doctor`: each check asks its engine on a
//! small runtime of its own, as the doctor runs outside any runtime.

use lab_engine_api::{EngineKind, EngineState, EngineStatus};

use crate::doctor::EngineCheck;

/// One real check per engine: Docker's daemon, `/dev/kvm` and the CPU,
/// and a throwaway embedded cluster.
pub fn engine_checks() -> Vec<EngineCheck> {
    vec![
        Box::new(|| {
            on_runtime(EngineKind::Docker, async {
                lab_docker::DockerEngine::new().status().await
            })
        }),
        Box::new(|| on_runtime(EngineKind::Cluster, lab_cluster::engine_status())),
        Box::new(lab_kvm::engine_status),
    ]
}

fn on_runtime(
    kind: EngineKind,
    check: impl std::future::Future<Output = EngineStatus>,
) -> EngineStatus {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(check),
        Err(error) => EngineStatus {
            kind,
            state: EngineState::Unavailable {
                reason: format!("failed to start a runtime for the check: {error}"),
                remedy: "check the process limits of this account".to_owned(),
            },
        },
    }
}
