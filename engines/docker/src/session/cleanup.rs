//! Removing what a session created: at session end, when a session is
//! dropped without a shutdown, and at lab start for orphans of a lab
//! process that is gone.

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptions, ListNetworksOptions, RemoveContainerOptions,
};

use super::{DockerSession, SESSION_LABEL};
use crate::engine::DockerEngine;
use crate::error::DockerError;
use crate::owner::OwnerStamp;

/// What an orphan sweep removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub containers: usize,
    pub networks: usize,
}

impl DockerSession {
    /// Removes every container and the network of this session. Safe to
    /// call more than once.
    pub async fn shutdown(&self) -> Result<SweepReport, DockerError> {
        self.shut_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let docker = self.engine.client().await?;
        let report = remove_session(&docker, &self.id).await?;
        if let Ok(owned) = self.owned.lock() {
            owned.iter().for_each(|id| self.ports.release_container(id));
        }
        Ok(report)
    }
}

impl Drop for DockerSession {
    /// Best effort: a session dropped without [`DockerSession::shutdown`]
    /// (a closed SSH channel, a panic) still removes its containers when a
    /// Tokio runtime is around to do it. Without one, the next lab start's
    /// orphan sweep removes them.
    fn drop(&mut self) {
        if self.shut_down.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(session = %self.id, "session dropped outside a runtime; containers stay until the next sweep");
            return;
        };
        let engine = self.engine.clone();
        let id = self.id.clone();
        handle.spawn(async move {
            let result = match engine.client().await {
                Ok(docker) => remove_session(&docker, &id).await,
                Err(e) => Err(e),
            };
            if let Err(error) = result {
                tracing::warn!(session = %id, %error, "cleanup of a dropped session failed");
            }
        });
    }
}

async fn remove_session(docker: &Docker, session: &str) -> Result<SweepReport, DockerError> {
    let label = format!("{SESSION_LABEL}={session}");
    let containers = labelled_containers(docker, &label).await?;
    for (id, _) in &containers {
        remove_container(docker, id).await?;
    }
    let networks = labelled_networks(docker, &label).await?;
    for (name, _) in &networks {
        remove_network(docker, name).await?;
    }
    Ok(SweepReport {
        containers: containers.len(),
        networks: networks.len(),
    })
}

/// Removes containers and networks of any session whose owning lab process
/// is gone (crashed, killed, or from before a reboot). Resources of live lab
/// processes, this one included, are left alone, and so are `lab.session`
/// resources without an owner stamp (made by other tools).
pub async fn sweep_orphans(engine: &DockerEngine) -> Result<SweepReport, DockerError> {
    let docker = engine.client().await?;
    let mut report = SweepReport::default();
    for (id, labels) in labelled_containers(&docker, SESSION_LABEL).await? {
        if OwnerStamp::is_orphan(&labels) {
            remove_container(&docker, &id).await?;
            report.containers += 1;
        }
    }
    for (name, labels) in labelled_networks(&docker, SESSION_LABEL).await? {
        if OwnerStamp::is_orphan(&labels) {
            remove_network(&docker, &name).await?;
            report.networks += 1;
        }
    }
    if report != SweepReport::default() {
        tracing::info!(?report, "removed orphans of lab processes that are gone");
    }
    Ok(report)
}

async fn labelled_containers(
    docker: &Docker,
    label: &str,
) -> Result<Vec<(String, HashMap<String, String>)>, DockerError> {
    let filters = HashMap::from([("label".to_owned(), vec![label.to_owned()])]);
    let options = ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..Default::default()
    };
    let found = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| DockerError::api("list lab containers", e))?;
    Ok(found
        .into_iter()
        .filter_map(|c| Some((c.id?, c.labels.unwrap_or_default())))
        .collect())
}

async fn labelled_networks(
    docker: &Docker,
    label: &str,
) -> Result<Vec<(String, HashMap<String, String>)>, DockerError> {
    let filters = HashMap::from([("label".to_owned(), vec![label.to_owned()])]);
    let found = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(filters),
        }))
        .await
        .map_err(|e| DockerError::api("list lab networks", e))?;
    Ok(found
        .into_iter()
        .filter_map(|n| Some((n.name?, n.labels.unwrap_or_default())))
        .collect())
}

async fn remove_container(docker: &Docker, id: &str) -> Result<(), DockerError> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        // Already gone (a `--rm` container that just exited) or being removed.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404 | 409,
            ..
        }) => Ok(()),
        Err(e) => Err(DockerError::api(format!("remove container {id}"), e)),
    }
}

async fn remove_network(docker: &Docker, name: &str) -> Result<(), DockerError> {
    match docker.remove_network(name).await {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(DockerError::api(format!("remove network {name}"), e)),
    }
}
