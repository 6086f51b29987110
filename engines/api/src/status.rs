//! Engine identity and health, as reported by `lab doctor` and the UI.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The engines a scenario can ask for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// Docker Engine through bollard.
    Docker,
    /// The embedded Kubernetes control plane, or an external cluster.
    Cluster,
    /// The lab's own KVM micro-VMM.
    Kvm,
}

impl EngineKind {
    /// Every engine, in the order `lab doctor` reports them.
    pub const ALL: [EngineKind; 3] = [EngineKind::Docker, EngineKind::Cluster, EngineKind::Kvm];

    /// The lower-case name used in YAML and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Docker => "docker",
            EngineKind::Cluster => "cluster",
            EngineKind::Kvm => "kvm",
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether an engine can serve sessions right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EngineState {
    /// The engine answers; `detail` says what it is (version, address).
    Ready { detail: String },
    /// The engine does not answer or cannot run here.
    Unavailable {
        /// What went wrong, in one line.
        reason: String,
        /// What the user can do about it, in one line.
        remedy: String,
    },
}

/// One engine's line in `lab doctor` and in the UI's status bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineStatus {
    pub kind: EngineKind,
    #[serde(flatten)]
    pub state: EngineState,
}

impl EngineStatus {
    pub fn is_ready(&self) -> bool {
        matches!(self.state, EngineState::Ready { .. })
    }
}
