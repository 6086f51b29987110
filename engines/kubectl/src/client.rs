//! [`ClusterClient`]: the kube client plus the default namespace, with the
//! raw requests kubectl makes (JSON, server-side tables, patches) and errors
//! worded as kubectl words them.

use std::fmt;
use std::path::Path;

use futures::AsyncBufRead;
use http::{Method, Request};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

/// What `kubectl get` asks for to have the server print the table.
pub const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/// A failed request, with the text kubectl would print for it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with a `Status` failure; a refusal by the
    /// cluster's access rules (403) says what that means in a lab session.
    #[error("Error from server ({reason}): {message}{}", forbidden_hint(.code))]
    Server {
        reason: String,
        message: String,
        code: u16,
    },
    /// The server could not be reached or answered something unreadable.
    #[error("failed to talk to the cluster at {server}: {source}")]
    Transport {
        server: String,
        #[source]
        source: kube::Error,
    },
    /// A request could not even be built (a name with forbidden characters).
    #[error("invalid request {path}: {source}")]
    Request {
        path: String,
        #[source]
        source: http::Error,
    },
    #[error("the server answered {path} with something that is not JSON: {source}")]
    Decode {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

/// What a 403 means for a student: on a shared cluster the lab's account
/// may be confined to the session's namespace.
fn forbidden_hint(code: &u16) -> &'static str {
    match code {
        403 => {
            "\nThe cluster's access rules refuse this to the lab's account: on a shared \
             cluster a lab session may only reach its own namespace (the default one, \
             used when you leave out -n)."
        }
        _ => "",
    }
}

impl ApiError {
    /// Whether the server said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Server { code: 404, .. })
    }
}

/// Building a client from a kubeconfig failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("failed to read the kubeconfig")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    #[error("failed to build a client for the cluster")]
    Build(#[source] kube::Error),
    #[error(
        "the kubeconfig's current context {context:?} is not usable: {reason} \
         (`kubectl config get-contexts --kubeconfig FILE` lists its contexts)"
    )]
    Context { context: String, reason: String },
}

/// Reads the kubeconfig file at `path` and checks that its current context
/// names a cluster with a server: what can be known without a network.
pub fn check_kubeconfig_file(path: &Path) -> Result<Kubeconfig, ClientError> {
    let kubeconfig = Kubeconfig::read_from(path).map_err(ClientError::Kubeconfig)?;
    let context = kubeconfig.current_context.clone().unwrap_or_default();
    let unusable = |reason: &str| ClientError::Context {
        context: context.clone(),
        reason: reason.to_string(),
    };
    if context.is_empty() {
        return Err(unusable("no current-context is set"));
    }
    let cluster = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.clone())
        .ok_or_else(|| unusable("no context of that name"))?;
    let server = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == cluster)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.clone());
    match server {
        Some(server) if !server.is_empty() => Ok(kubeconfig),
        _ => Err(unusable(&format!(
            "cluster {cluster:?} is missing or has no server"
        ))),
    }
}

/// A kube client bound to one cluster and one default namespace.
#[derive(Clone)]
pub struct ClusterClient {
    client: kube::Client,
    server: String,
    namespace: String,
}

impl fmt::Debug for ClusterClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterClient")
            .field("server", &self.server)
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl ClusterClient {
    /// A client for the current context of a kubeconfig document.
    pub async fn from_kubeconfig_yaml(yaml: &str) -> Result<ClusterClient, ClientError> {
        let kubeconfig = Kubeconfig::from_yaml(yaml).map_err(ClientError::Kubeconfig)?;
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(ClientError::Kubeconfig)?;
        ClusterClient::from_config(config)
    }

    /// A client for the current context of the kubeconfig file at `path`;
    /// paths inside it (certificates) are relative to the file.
    pub async fn from_kubeconfig_file(path: &Path) -> Result<ClusterClient, ClientError> {
        let kubeconfig = check_kubeconfig_file(path)?;
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(ClientError::Kubeconfig)?;
        ClusterClient::from_config(config)
    }

    /// A client for `config`; its `default_namespace` scopes the commands.
    pub fn from_config(config: kube::Config) -> Result<ClusterClient, ClientError> {
        let server = config.cluster_url.to_string();
        let server = server.trim_end_matches('/').to_string();
        let namespace = config.default_namespace.clone();
        let client = kube::Client::try_from(config).map_err(ClientError::Build)?;
        Ok(ClusterClient {
            client,
            server,
            namespace,
        })
    }

    /// The same client with another default namespace.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> ClusterClient {
        self.namespace = namespace.into();
        self
    }

    /// The API server URL, as `cluster-info` prints it.
    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The underlying kube client.
    pub fn kube(&self) -> &kube::Client {
        &self.client
    }

    /// `GET path` as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.send(Method::GET, path, "application/json", None).await
    }

    /// `GET path` as a server-printed `Table` (with object metadata, for
    /// labels and namespaces).
    pub async fn get_table(&self, path: &str) -> Result<Value, ApiError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let path = format!("{path}{separator}includeObject=Metadata");
        self.send(Method::GET, &path, TABLE_ACCEPT, None).await
    }

    pub async fn create(&self, path: &str, object: &Value) -> Result<Value, ApiError> {
        self.send_body(Method::POST, path, "application/json", object)
            .await
    }

    pub async fn replace(&self, path: &str, object: &Value) -> Result<Value, ApiError> {
        self.send_body(Method::PUT, path, "application/json", object)
            .await
    }

    /// A JSON merge patch.
    pub async fn merge_patch(&self, path: &str, patch: &Value) -> Result<Value, ApiError> {
        self.send_body(Method::PATCH, path, "application/merge-patch+json", patch)
            .await
    }

    /// A JSON patch (RFC 6902): a list of operations, applied without a
    /// resource version, so a controller's status write in between does
    /// not make it conflict.
    pub async fn json_patch(&self, path: &str, operations: &Value) -> Result<Value, ApiError> {
        self.send_body(
            Method::PATCH,
            path,
            "application/json-patch+json",
            operations,
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, ApiError> {
        self.send(Method::DELETE, path, "application/json", None)
            .await
    }

    /// `GET path` as a byte stream (pod logs with `follow`).
    pub async fn stream(&self, path: &str) -> Result<impl AsyncBufRead + use<>, ApiError> {
        let request = self.request(Method::GET, path, "*/*", None, None)?;
        self.client
            .request_stream(request)
            .await
            .map_err(|e| self.api_error(e))
    }

    /// `GET path` as text (pod logs).
    pub async fn get_text(&self, path: &str) -> Result<String, ApiError> {
        let request = self.request(Method::GET, path, "*/*", None, None)?;
        self.client
            .request_text(request)
            .await
            .map_err(|e| self.api_error(e))
    }

    async fn send_body(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let bytes = serde_json::to_vec(body).map_err(|source| ApiError::Decode {
            path: path.to_string(),
            source,
        })?;
        let request = self.request(
            method,
            path,
            "application/json",
            Some(content_type),
            Some(bytes),
        )?;
        self.finish(path, request).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Value, ApiError> {
        let request = self.request(method, path, accept, None, body)?;
        self.finish(path, request).await
    }

    async fn finish(&self, path: &str, request: Request<Vec<u8>>) -> Result<Value, ApiError> {
        let text = self
            .client
            .request_text(request)
            .await
            .map_err(|e| self.api_error(e))?;
        serde_json::from_str(&text).map_err(|source| ApiError::Decode {
            path: path.to_string(),
            source,
        })
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Request<Vec<u8>>, ApiError> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::ACCEPT, accept);
        if let Some(content_type) = content_type {
            builder = builder.header(http::header::CONTENT_TYPE, content_type);
        }
        builder
            .body(body.unwrap_or_default())
            .map_err(|source| ApiError::Request {
                path: path.to_string(),
                source,
            })
    }

    fn api_error(&self, error: kube::Error) -> ApiError {
        match error {
            kube::Error::Api(status) => ApiError::Server {
                reason: match status.reason.as_str() {
                    "" => "Unknown".to_string(),
                    reason => reason.to_string(),
                },
                message: status.message.clone(),
                code: status.code,
            },
            source => ApiError::Transport {
                server: self.server.clone(),
                source,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_errors_say_what_confines_the_session() {
        let forbidden = ApiError::Server {
            reason: "Forbidden".into(),
            message: "pods is forbidden: User \"lab\" cannot list resource \"pods\"".into(),
            code: 403,
        };
        let text = forbidden.to_string();
        assert!(text.starts_with("Error from server (Forbidden): pods is forbidden"));
        assert!(text.contains("only reach its own namespace"), "{text}");
        let missing = ApiError::Server {
            reason: "NotFound".into(),
            message: "pods \"x\" not found".into(),
            code: 404,
        };
        assert_eq!(
            missing.to_string(),
            "Error from server (NotFound): pods \"x\" not found"
        );
    }

    #[test]
    fn kubeconfig_without_the_named_context_is_refused() {
        let dir = std::env::temp_dir().join(format!("lab-kubeconfig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\ncurrent-context: gone\ncontexts: []\nclusters: []\n",
        )
        .unwrap();
        let error = check_kubeconfig_file(&path).unwrap_err().to_string();
        assert!(
            error.contains("\"gone\"") && error.contains("no context"),
            "{error}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
