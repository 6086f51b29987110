//! The Docker checks of a scenario, evaluated for one session.

use std::sync::Arc;

use async_trait::async_trait;
use lab_engine_api::{CheckOutcome, CheckSpec, EngineKind, LiveValueSpec, Probe, ProbeError};

use crate::curl::{fetch, session_port};
use crate::error::DockerError;
use crate::images::normalize_reference;
use crate::session::{DockerSession, SessionContainer};

/// Evaluates `container_running`, `http` and Docker live values against
/// one session's containers.
pub struct DockerProbe {
    session: Arc<DockerSession>,
}

impl DockerProbe {
    pub fn new(session: Arc<DockerSession>) -> Self {
        DockerProbe { session }
    }

    async fn running_from(&self, image: &str) -> Result<Vec<SessionContainer>, ProbeError> {
        let wanted = normalize_reference(image);
        let containers = self.session.list(false).await.map_err(probe_error)?;
        Ok(containers
            .into_iter()
            .filter(|c| normalize_reference(&c.image) == wanted)
            .collect())
    }

    async fn container_running(
        &self,
        image: &str,
        port: Option<u16>,
    ) -> Result<CheckOutcome, ProbeError> {
        let running = self.running_from(image).await?;
        let Some(first) = running.first() else {
            return Ok(CheckOutcome::fail(format!(
                "no running container from {image} yet"
            )));
        };
        let Some(port) = port else {
            return Ok(CheckOutcome::pass(format!(
                "{} is running from {image}",
                first.name
            )));
        };
        let published = running.iter().find(|c| {
            c.ports
                .iter()
                .any(|p| p.container_port == port && p.host_port.is_some())
        });
        Ok(match published {
            Some(c) => CheckOutcome::pass(format!(
                "{} is running from {image} with port {port} published",
                c.name
            )),
            None => CheckOutcome::fail(format!(
                "{} is running from {image}, but its port {port} is not published (use -p {port}:{port})",
                first.name
            )),
        })
    }

    async fn http(
        &self,
        port: u16,
        path: &str,
        status: u16,
        contains: Option<&str>,
        matches: Option<&str>,
    ) -> Result<CheckOutcome, ProbeError> {
        let Some(real) = session_port(&self.session, port).await else {
            return Ok(CheckOutcome::fail(format!(
                "nothing is published on port {port} yet"
            )));
        };
        let response = match fetch("localhost", real, path, false).await {
            Ok(response) => response,
            Err(error) => {
                return Ok(CheckOutcome::fail(format!(
                    "port {port} does not answer HTTP yet ({error})"
                )));
            }
        };
        if response.status != status {
            return Ok(CheckOutcome::fail(format!(
                "localhost:{port}{path} answered {} instead of {status}",
                response.status
            )));
        }
        let body = String::from_utf8_lossy(&response.body);
        if let Some(text) = contains
            && !body.contains(text)
        {
            return Ok(CheckOutcome::fail(format!(
                "the page at localhost:{port}{path} does not show {text:?}"
            )));
        }
        if let Some(pattern) = matches {
            let regex = regex::Regex::new(pattern).map_err(|e| ProbeError::Query {
                engine: EngineKind::Docker,
                source: Box::new(e),
            })?;
            if !regex.is_match(&body) {
                return Ok(CheckOutcome::fail(format!(
                    "the page at localhost:{port}{path} does not match {pattern:?}"
                )));
            }
        }
        Ok(CheckOutcome::pass(format!(
            "localhost:{port}{path} answered {status}"
        )))
    }

    async fn live_field(
        &self,
        container: &SessionContainer,
        field: &str,
    ) -> Result<Option<String>, ProbeError> {
        Ok(match field {
            "name" => Some(container.name.clone()),
            "id" => Some(container.id.clone()),
            "short_id" => Some(container.id.chars().take(12).collect()),
            "status" => Some(container.status.clone()),
            "ports" => Some(crate::cli::containers_ports_column(container)),
            path => {
                let document = self
                    .session
                    .inspect(&container.id)
                    .await
                    .map_err(probe_error)?;
                let value = serde_json::to_value(document).map_err(|e| ProbeError::Query {
                    engine: EngineKind::Docker,
                    source: Box::new(e),
                })?;
                json_path(&value, path)
            }
        })
    }
}

/// Reads `.A.B.0.C` from a JSON document; strings come back unquoted.
fn json_path(value: &serde_json::Value, path: &str) -> Option<String> {
    let mut current = value;
    for part in path
        .trim_start_matches('.')
        .split('.')
        .filter(|p| !p.is_empty())
    {
        current = match part.parse::<usize>() {
            Ok(index) => current.get(index)?,
            Err(_) => current.get(part)?,
        };
    }
    Some(match current {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    })
}

fn probe_error(error: DockerError) -> ProbeError {
    if error.is_engine_down() {
        return ProbeError::Unavailable {
            engine: EngineKind::Docker,
            reason: crate::engine::error_chain(&error),
        };
    }
    ProbeError::Query {
        engine: EngineKind::Docker,
        source: Box::new(error),
    }
}

#[async_trait]
impl Probe for DockerProbe {
    fn engine(&self) -> EngineKind {
        EngineKind::Docker
    }

    async fn check(&self, spec: &CheckSpec) -> Result<CheckOutcome, ProbeError> {
        match spec {
            CheckSpec::ContainerRunning { image, port } => {
                self.container_running(image, *port).await
            }
            CheckSpec::Http {
                port,
                path,
                status,
                contains,
                matches,
            } => {
                self.http(
                    *port,
                    path,
                    *status,
                    contains.as_deref(),
                    matches.as_deref(),
                )
                .await
            }
            _ => Err(ProbeError::WrongEngine {
                engine: EngineKind::Docker,
            }),
        }
    }

    async fn live_values(&self, spec: &LiveValueSpec) -> Result<Vec<String>, ProbeError> {
        let LiveValueSpec::Docker { image, field } = spec else {
            return Err(ProbeError::WrongEngine {
                engine: EngineKind::Docker,
            });
        };
        let wanted = normalize_reference(image);
        let all = self.session.list(true).await.map_err(probe_error)?;
        let mut values = Vec::new();
        for container in all
            .iter()
            .filter(|c| normalize_reference(&c.image) == wanted)
        {
            values.extend(self.live_field(container, field).await?);
        }
        Ok(values)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_reach_nested_fields_and_array_items() {
        let doc = serde_json::json!({"Config": {"Image": "x", "Env": ["A=1", "B=2"]}, "State": {"Running": true}});
        assert_eq!(json_path(&doc, ".Config.Image").as_deref(), Some("x"));
        assert_eq!(json_path(&doc, "Config.Env.1").as_deref(), Some("B=2"));
        assert_eq!(json_path(&doc, ".State.Running").as_deref(), Some("true"));
        assert_eq!(json_path(&doc, ".Missing"), None);
    }
}
