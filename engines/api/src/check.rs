//! Hands-on checks and live answers.
//!
//! These types are part of the scenario format: a task's `checks:` list holds
//! [`CheckSpec`]s and a question's `live:` answer rule holds a
//! [`LiveValueSpec`]. They live here, without I/O, so the scenario loader can
//! parse and validate them while each engine crate evaluates its own kinds
//! through [`Probe`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::status::EngineKind;

/// One hands-on check, written in YAML as a map with a `kind` field.
///
/// A check is evaluated in the background against the live environment of the
/// student's session; when every check of a task passes, the task turns green.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CheckSpec {
    /// The student ran a lab shell command matching a regular expression.
    CommandRan {
        /// Regular expression matched against the whole command line.
        pattern: String,
        /// Only count commands that exited with status 0.
        #[serde(default)]
        succeeded: bool,
    },
    /// A container created from `image` is running in this session.
    ContainerRunning {
        /// Image reference as the student types it, e.g. `cryillic/thm_example_app`.
        image: String,
        /// A container port that must be published to the host.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
    },
    /// An HTTP GET through the session's port map answers as expected.
    Http {
        /// Port as the student knows it (the container's published port).
        port: u16,
        #[serde(default = "default_path")]
        path: String,
        #[serde(default = "default_status")]
        status: u16,
        /// The body must contain this text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contains: Option<String>,
        /// The body must match this regular expression.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        matches: Option<String>,
    },
    /// A Kubernetes resource exists (or, with `absent: true`, does not).
    ResourceExists {
        /// Kind or short name: `pod`, `deployment`, `svc`, ...
        resource: String,
        #[serde(default = "default_namespace")]
        namespace: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Label selector, e.g. `app=hello-tryhackme`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selector: Option<String>,
        #[serde(default)]
        absent: bool,
    },
    /// The number of matching Kubernetes resources compares as asked.
    ResourceCount {
        resource: String,
        #[serde(default = "default_namespace")]
        namespace: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selector: Option<String>,
        /// Exact count, or use `at_least`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        equals: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_least: Option<u64>,
    },
    /// A field of a Kubernetes resource, addressed by a JSON path, equals or
    /// matches a value.
    ResourceField {
        resource: String,
        #[serde(default = "default_namespace")]
        namespace: String,
        name: String,
        /// JSON path such as `.spec.replicas`.
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        equals: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        matches: Option<String>,
    },
    /// At least `count` pods matching the selector are Ready.
    PodsReady {
        #[serde(default = "default_namespace")]
        namespace: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selector: Option<String>,
        #[serde(default = "default_one")]
        count: u64,
    },
    /// A VM of this session is running (`guest`, when given, names which).
    VmRunning {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        guest: Option<String>,
    },
    /// The VM's serial console output matches a regular expression.
    ConsoleMatches { pattern: String },
    /// A VM exit counter reached a threshold.
    ExitCount {
        /// `io_in`, `io_out`, `mmio_read`, `mmio_write`, `hlt`, `shutdown`,
        /// `other` or `total`.
        counter: String,
        at_least: u64,
    },
}

impl CheckSpec {
    /// The engine that evaluates this check; `None` for checks the lab core
    /// answers from its own records.
    pub fn engine(&self) -> Option<EngineKind> {
        match self {
            CheckSpec::CommandRan { .. } => None,
            CheckSpec::ContainerRunning { .. } | CheckSpec::Http { .. } => Some(EngineKind::Docker),
            CheckSpec::ResourceExists { .. }
            | CheckSpec::ResourceCount { .. }
            | CheckSpec::ResourceField { .. }
            | CheckSpec::PodsReady { .. } => Some(EngineKind::Cluster),
            CheckSpec::VmRunning { .. }
            | CheckSpec::ConsoleMatches { .. }
            | CheckSpec::ExitCount { .. } => Some(EngineKind::Kvm),
        }
    }
}

/// Where a live answer comes from: the expected value of a question is read
/// from the student's environment when they submit, never written in YAML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "source", rename_all = "snake_case", deny_unknown_fields)]
pub enum LiveValueSpec {
    /// A field of the Kubernetes resources matching kind, namespace and
    /// selector. Every matching resource's value is an accepted answer.
    Cluster {
        resource: String,
        #[serde(default = "default_namespace")]
        namespace: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selector: Option<String>,
        /// JSON path; defaults to the resource name.
        #[serde(default = "default_name_path")]
        path: String,
    },
    /// A field of this session's containers created from `image`.
    Docker {
        image: String,
        /// `name`, `id`, `short_id`, `ports`, `status` or a JSON path into
        /// the container's inspect document.
        field: String,
    },
    /// A value of the session's VM: `exits_total`, `io_out`, `memory_mib`, ...
    Vm { field: String },
}

impl LiveValueSpec {
    /// The engine that computes this value.
    pub fn engine(&self) -> EngineKind {
        match self {
            LiveValueSpec::Cluster { .. } => EngineKind::Cluster,
            LiveValueSpec::Docker { .. } => EngineKind::Docker,
            LiveValueSpec::Vm { .. } => EngineKind::Kvm,
        }
    }
}

/// The result of evaluating one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    pub passed: bool,
    /// What the student sees: what was found, or what is still missing
    /// ("no running container from cryillic/thm_example_app yet").
    pub detail: String,
}

impl CheckOutcome {
    pub fn pass(detail: impl Into<String>) -> Self {
        CheckOutcome {
            passed: true,
            detail: detail.into(),
        }
    }

    pub fn fail(detail: impl Into<String>) -> Self {
        CheckOutcome {
            passed: false,
            detail: detail.into(),
        }
    }
}

/// Why a probe could not give an answer at all (as opposed to a failed check).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The check or live value belongs to another engine.
    #[error("{engine} cannot evaluate this check")]
    WrongEngine { engine: EngineKind },
    /// The engine does not answer right now.
    #[error("the {engine} engine is not available: {reason}")]
    Unavailable { engine: EngineKind, reason: String },
    /// The engine answered with an error.
    #[error("failed to query the {engine} engine")]
    Query {
        engine: EngineKind,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// An engine's view of one session, able to evaluate its own check kinds.
#[async_trait]
pub trait Probe: Send + Sync {
    /// The engine this probe speaks for.
    fn engine(&self) -> EngineKind;

    /// Evaluates a check of this engine's kinds.
    async fn check(&self, spec: &CheckSpec) -> Result<CheckOutcome, ProbeError>;

    /// Computes the accepted answers of a live question; several values when
    /// several resources match.
    async fn live_values(&self, spec: &LiveValueSpec) -> Result<Vec<String>, ProbeError>;
}

/// Extra values a probe may expose to the UI (for example a VM's exit
/// counters), keyed by a short name.
pub type LiveFigures = BTreeMap<String, String>;

fn default_path() -> String {
    "/".to_owned()
}

fn default_status() -> u16 {
    200
}

fn default_namespace() -> String {
    "default".to_owned()
}

fn default_name_path() -> String {
    ".metadata.name".to_owned()
}

fn default_one() -> u64 {
    1
}
