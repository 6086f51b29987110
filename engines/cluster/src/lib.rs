//! Cluster engine: an embedded Kubernetes API control plane whose pods run as Docker containers.
