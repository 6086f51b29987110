//! Cluster engine: an embedded Kubernetes API control plane whose pods run
//! as Docker containers.
//!
//! One [`EmbeddedCluster`] per lab session: an HTTP server on loopback that
//! speaks enough of the Kubernetes REST API for the real `kubectl` and the
//! `kube` client, an in-memory object store, and the controllers that make
//! Deployments, ReplicaSets, Pods and Services behave. Roles, RoleBindings
//! and ResourceQuotas are stored and printed (and quotas' usage counted) so
//! the lab's student namespaces can be tried here, but no request is ever
//! refused by them: this API server authorizes everything.
//!
//! - [`cluster`]: [`EmbeddedCluster`] (start, kubeconfig, manifests,
//!   shutdown) and the shared [`cluster::ClusterState`].
//! - [`api`]: routing, discovery, resource verbs, watch, tables, OpenAPI.
//! - [`store`]: the revisioned object store with watch history.
//! - [`objects`]: decoding through k8s-openapi types, defaults, validation.
//! - [`controllers`]: deployment, replica set, scheduler, kubelet, services,
//!   garbage collection, quota usage, events.
//! - [`runtime`]: the [`runtime::PodRuntime`] trait and its Docker runtime.
//! - [`seed`]: the starting state (node `minikube`, kube-system pods).
//! - [`resources`]: the table of served kinds.
//! - [`doctor`]: the engine's line in `lab doctor`.

// Tests may unwrap: a panic there is a failed test.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod cluster;
pub mod controllers;
pub mod doctor;
pub mod names;
pub mod objects;
pub mod resources;
pub mod runtime;
pub mod seed;
pub mod store;
pub mod time;

pub use cluster::{ClusterConfig, ClusterError, EmbeddedCluster, serve};
pub use doctor::engine_status;
