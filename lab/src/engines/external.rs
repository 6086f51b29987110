//! `--cluster`: where sessions' Kubernetes clusters come from. The default
//! starts an embedded cluster per session; `kubeconfig=PATH` puts every
//! session on one external cluster, each student in a namespace of their
//! own ([`StudentNamespaces`]).
//!
//! A student's namespace is `lab-<user>` (see
//! [`lab_kubectl::student::namespace_for`]), so a student who reconnects
//! finds the same one. It is made (with a Role, RoleBinding and
//! ResourceQuota) when their first session starts and deleted when their
//! last session of this lab process ends; the progress store keeps what
//! they achieved, and the scenario's manifests are applied again next time.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use lab_kubectl::{ClusterClient, NamespaceError};

/// The accepted forms of `--cluster`, for help and errors.
pub const CLUSTER_FORMS: &str = "`embedded` or `kubeconfig=PATH`";

/// Where each session's cluster comes from.
#[derive(Debug, Clone, Default)]
pub enum ClusterSource {
    /// A fresh embedded cluster per session (the default).
    #[default]
    Embedded,
    /// One external cluster for all sessions, a namespace per student.
    Kubeconfig(ExternalCluster),
}

impl ClusterSource {
    /// Parses `--cluster`: `embedded` or `kubeconfig=PATH`. The kubeconfig
    /// is read and its current context checked here, so a wrong path is an
    /// error before anything starts.
    pub fn parse(text: &str) -> Result<ClusterSource, String> {
        if text == "embedded" {
            return Ok(ClusterSource::Embedded);
        }
        let Some(path) = text.strip_prefix("kubeconfig=") else {
            return Err(format!("expected {CLUSTER_FORMS}, not `{text}`"));
        };
        if path.is_empty() {
            return Err("`kubeconfig=` needs the path of a kubeconfig file".to_owned());
        }
        ExternalCluster::open(Path::new(path)).map(ClusterSource::Kubeconfig)
    }

    /// The external cluster, when sessions use one.
    pub fn external(&self) -> Option<&ExternalCluster> {
        match self {
            ClusterSource::Embedded => None,
            ClusterSource::Kubeconfig(external) => Some(external),
        }
    }
}

/// An external cluster reached through a kubeconfig file, and the student
/// namespaces this lab process keeps on it.
#[derive(Clone)]
pub struct ExternalCluster {
    kubeconfig: PathBuf,
    namespaces: StudentNamespaces,
}

impl fmt::Debug for ExternalCluster {
    // The kubeconfig may hold credentials: only its path is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalCluster")
            .field("kubeconfig", &self.kubeconfig)
            .finish_non_exhaustive()
    }
}

impl ExternalCluster {
    /// Checks that `path` is a readable kubeconfig with a usable current
    /// context. The error names the file and what is wrong with it.
    pub fn open(path: &Path) -> Result<ExternalCluster, String> {
        if let Err(error) = std::fs::read(path) {
            return Err(format!(
                "cannot read kubeconfig {}: {error}",
                path.display()
            ));
        }
        if let Err(error) = lab_kubectl::client::check_kubeconfig_file(path) {
            let reason = super::error_chain(&error);
            return Err(format!(
                "{} is not a usable kubeconfig: {reason}",
                path.display()
            ));
        }
        Ok(ExternalCluster {
            kubeconfig: path.to_path_buf(),
            namespaces: StudentNamespaces::default(),
        })
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A client for the kubeconfig's current context.
    pub async fn client(&self) -> Result<ClusterClient, lab_kubectl::ClientError> {
        ClusterClient::from_kubeconfig_file(&self.kubeconfig).await
    }

    /// Asks the cluster for its version: whether it answers at all, before
    /// students arrive. Returns a line saying where sessions will go.
    pub async fn check_reachable(&self) -> Result<String, String> {
        let unreachable = |reason: String| {
            format!(
                "the cluster of kubeconfig {} does not answer: {reason}",
                self.kubeconfig.display()
            )
        };
        let client = self
            .client()
            .await
            .map_err(|e| unreachable(super::error_chain(&e)))?;
        let version = client
            .get("/version")
            .await
            .map_err(|e| unreachable(super::error_chain(&e)))?;
        let version = version["gitVersion"].as_str().unwrap_or("unknown version");
        Ok(format!(
            "Kubernetes {version} at {}; each student works in namespace lab-<user> there",
            client.server()
        ))
    }

    /// Prepares `user`'s namespace and holds it for one session.
    pub async fn lease(
        &self,
        client: &ClusterClient,
        user: &str,
    ) -> Result<NamespaceLease, NamespaceError> {
        self.namespaces.lease(client, user).await
    }
}

/// How many sessions of this process use each student namespace, so the
/// namespace is deleted only when the last one ends. Each namespace has its
/// own lock, held while it is prepared or deleted, so a student who
/// reconnects while their namespace is being deleted waits for that.
#[derive(Clone, Default)]
pub struct StudentNamespaces {
    users: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<usize>>>>>,
}

impl StudentNamespaces {
    async fn lease(
        &self,
        client: &ClusterClient,
        user: &str,
    ) -> Result<NamespaceLease, NamespaceError> {
        let name = lab_kubectl::student::namespace_for(user)?;
        let sessions = self.sessions_of(&name);
        let mut count = sessions.lock().await;
        let prepared = lab_kubectl::prepare_student_namespace(client, user).await?;
        // No await between counting and handing out the lease: a session
        // stopped while preparing leaves the count as it was.
        *count += 1;
        Ok(NamespaceLease {
            name: prepared,
            client: client.clone(),
            sessions: Arc::clone(&sessions),
        })
    }

    fn sessions_of(&self, namespace: &str) -> Arc<tokio::sync::Mutex<usize>> {
        let mut users = match self.users.lock() {
            Ok(users) => users,
            // A panic elsewhere while holding this map cannot leave it
            // half-written: entries are inserted whole.
            Err(poisoned) => poisoned.into_inner(),
        };
        Arc::clone(users.entry(namespace.to_owned()).or_default())
    }
}

/// One session's hold on a student namespace.
pub struct NamespaceLease {
    name: String,
    client: ClusterClient,
    sessions: Arc<tokio::sync::Mutex<usize>>,
}

impl NamespaceLease {
    pub fn namespace(&self) -> &str {
        &self.name
    }

    /// Ends this session's hold; the last one deletes the namespace.
    pub async fn release(self) {
        let mut count = self.sessions.lock().await;
        *count = count.saturating_sub(1);
        if *count > 0 {
            return;
        }
        match lab_kubectl::delete_student_namespace(&self.client, &self.name).await {
            Ok(()) => tracing::info!(namespace = %self.name, "student namespace deleted"),
            Err(error) => {
                tracing::warn!(namespace = %self.name, error = %super::error_chain(&error), "student namespace left behind")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_cluster_values_name_the_accepted_forms() {
        let error = ClusterSource::parse("minikube").unwrap_err();
        assert!(error.contains("`embedded` or `kubeconfig=PATH`"), "{error}");
        let error = ClusterSource::parse("kubeconfig=").unwrap_err();
        assert!(error.contains("needs the path"), "{error}");
        assert!(matches!(
            ClusterSource::parse("embedded"),
            Ok(ClusterSource::Embedded)
        ));
    }

    #[test]
    fn unreadable_kubeconfig_is_refused_with_its_path() {
        let error = ClusterSource::parse("kubeconfig=/nonexistent/kubeconfig").unwrap_err();
        assert_eq!(
            error,
            "cannot read kubeconfig /nonexistent/kubeconfig: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn kubeconfig_without_current_context_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "apiVersion: v1\nkind: Config\nclusters: []\n").unwrap();
        let error = ClusterSource::parse(&format!("kubeconfig={}", path.display())).unwrap_err();
        assert!(error.contains("current-context"), "{error}");
    }
}
