//! The lab shell's `kubectl`, built on the kube client, and the cluster
//! probe that evaluates Kubernetes checks and live answers.
//!
//! - [`command`]: [`KubectlCommand`], the `ShellCommand` students type.
//! - [`commands`]: one module per subcommand (`get`, `describe`, `logs`,
//!   `apply`, `rollout`, ...).
//! - [`probe`]: [`ClusterProbe`], the `Probe` for `resource_*` and
//!   `pods_ready` checks and `source: cluster` live values.
//! - [`student`]: a namespace per student on an external cluster.
//! - [`manifests`]: a scenario's manifests applied into that namespace.
//! - [`client`]: [`ClusterClient`], raw requests and kubectl-worded errors.
//! - [`kinds`]: the kinds the command knows and their REST paths.
//! - [`args`], [`printer`], [`jsonpath`], [`completion`], [`help`]: parsing,
//!   output formats, JSONPath, completion names, help texts.
//!
//! ```no_run
//! # async fn example(kubeconfig: &str) -> Result<(), lab_kubectl::ClientError> {
//! let client = lab_kubectl::ClusterClient::from_kubeconfig_yaml(kubeconfig).await?;
//! let kubectl = lab_kubectl::KubectlCommand::new(client.clone());
//! let probe = lab_kubectl::ClusterProbe::new(client);
//! # let _ = (kubectl, probe);
//! # Ok(())
//! # }
//! ```

// Tests may unwrap: a panic there is a failed test.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod args;
pub mod client;
pub mod command;
pub mod commands;
pub mod completion;
pub mod help;
pub mod jsonpath;
pub mod kinds;
pub mod manifests;
pub mod printer;
pub mod probe;
pub mod student;

pub use client::{ApiError, ClientError, ClusterClient};
pub use command::KubectlCommand;
pub use manifests::{ManifestError, apply_manifests};
pub use probe::ClusterProbe;
pub use student::{NamespaceError, delete_student_namespace, prepare_student_namespace};
