//! [`ClusterClient`]: the kube client plus the default namespace, with the
//! raw requests kubectl makes (JSON, server-side tables, patches) and errors
//! worded as kubectl words them.

use std::fmt;

use futures::AsyncBufRead;
use http::{Method, Request};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

/// What `kubectl get` asks for to have the server print the table.
pub const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/// A failed request, with the text kubectl would print for it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with a `Status` failure.
    #[error("Error from server ({reason}): {message}")]
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
