//! Errors as the API server words them: `Status` objects with the HTTP code,
//! reason and message a real server sends, so kubectl prints its usual lines
//! (`Error from server (NotFound): pods "x" not found`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::store::StoreError;

/// A refused request: becomes a `Status` body with a matching HTTP code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: StatusCode,
    /// The machine-readable reason (`NotFound`, `AlreadyExists`, ...).
    pub reason: &'static str,
    pub message: String,
    /// `(name, kind)` for the `details` field, when one object is concerned.
    pub details: Option<(String, String)>,
    /// `(field, message)` per problem of an Invalid object; kubectl prints them.
    pub causes: Vec<(String, String)>,
}

impl ApiError {
    pub fn new(code: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            causes: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    pub fn not_found_path() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
        )
    }

    /// 422 for an object that decodes but breaks the kind's rules.
    pub fn invalid(kind: &str, name: &str, problems: &[String]) -> Self {
        let message = format!("{kind} \"{name}\" is invalid: {}", problems.join(", "));
        let mut error = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", message);
        error.details = Some((name.to_string(), kind.to_string()));
        error.causes = problems
            .iter()
            .map(|p| match p.split_once(": ") {
                Some((field, message)) => (field.to_string(), message.to_string()),
                None => (String::new(), p.clone()),
            })
            .collect();
        error
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", message)
    }

    /// The `Status` object of this error.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code.as_u16(),
        });
        if let Some((name, kind)) = &self.details {
            status["details"] = json!({"name": name, "kind": kind});
            if !self.causes.is_empty() {
                let causes: Vec<Value> = self
                    .causes
                    .iter()
                    .map(|(field, message)| json!({"reason": cause_reason(message), "message": message, "field": field}))
                    .collect();
                status["details"]["causes"] = json!(causes);
            }
        }
        status
    }
}

/// The machine-readable reason of a field problem, from its wording.
fn cause_reason(message: &str) -> &'static str {
    if message.starts_with("Required value") {
        "FieldValueRequired"
    } else {
        "FieldValueInvalid"
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        let message = error.to_string();
        let (code, reason, details) = match &error {
            StoreError::NotFound { plural, name } => (
                StatusCode::NOT_FOUND,
                "NotFound",
                Some((name.clone(), plural.to_string())),
            ),
            StoreError::AlreadyExists { plural, name } => (
                StatusCode::CONFLICT,
                "AlreadyExists",
                Some((name.clone(), plural.to_string())),
            ),
            StoreError::Conflict { plural, name } => (
                StatusCode::CONFLICT,
                "Conflict",
                Some((name.clone(), plural.to_string())),
            ),
            StoreError::Gone { .. } => (StatusCode::GONE, "Expired", None),
        };
        ApiError {
            code,
            reason,
            message,
            details,
            causes: Vec::new(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.code, axum::Json(self.to_status())).into_response()
    }
}
