//! OpenAPI v3 documents: the discovery root and one document per group
//! version. Only the root is served for now; kubectl falls back to its
//! compiled-in schemas for patches when a group document is missing.

use serde_json::{Value, json};

/// `/openapi/v3`: the list of group-version documents.
pub fn root() -> Value {
    json!({"paths": {}})
}

/// `/openapi/v3/<path>`: the document of one group version, if served.
pub fn group_version(_path: &str) -> Option<Value> {
    None
}
