//! The HTTP layer's one error type, answered as RFC 9457 problem details.

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use thiserror::Error;
use utoipa::ToSchema;

use crate::kpi::InvalidInput;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Problem {
    /// A stable identifier of the kind of problem, e.g. `urn:retention-kpi:problem:validation`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, in a sentence.
    pub detail: String,
    /// The offending fields, each with a JSON pointer into the request body.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub errors: Vec<FieldError>,
}

/// One offending field.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) to the field in the request body; empty for the whole body.
    pub pointer: String,
    /// The rule the field broke.
    pub detail: String,
}

/// Everything a request can fail with. Each variant documents its status.
#[derive(Debug, Error)]
pub enum ApiError {
    /// 400: the body is not JSON.
    #[error("{0}")]
    MalformedJson(String),
    /// 415: the body is not declared as JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 413: the body is over the configured limit.
    #[error("the request body is larger than the {limit} bytes this service accepts")]
    PayloadTooLarge { limit: usize },
    /// 422: JSON, but a field is missing, unknown or of the wrong type.
    #[error("{detail}")]
    InvalidBody {
        pointer: String,
        reason: String,
        detail: String,
    },
    /// 422: values the formula cannot work with (impossible counts, division by zero).
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// 404: no such path.
    #[error("no endpoint at {0}")]
    NotFound(String),
    /// 405: the path exists, not with this method.
    #[error("{0} is not allowed here")]
    MethodNotAllowed(String),
    /// 429 with `Retry-After`: this API key is over its request rate.
    #[error("this API key is over its rate of requests: retry after {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },
    /// 503 with `Retry-After`: too much work in progress or waiting for a worker.
    #[error("too many requests are being computed right now: retry after a second")]
    Overloaded,
    /// 503: the request ran past its time budget; its work was cancelled.
    #[error("the request did not finish within its time budget of {limit_ms} ms; its work was cancelled")]
    TimeLimit { limit_ms: u64 },
    /// 500: a bug; the detail is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::InvalidBody { .. } | ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TimeLimit { .. } | ApiError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem details this error answers with.
    pub fn problem(&self) -> Problem {
        let (kind, title) = match self {
            ApiError::MalformedJson(_) => ("malformed-json", "Malformed JSON"),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::PayloadTooLarge { .. } => ("payload-too-large", "Request body too large"),
            ApiError::InvalidBody { .. } => ("invalid-body", "Invalid request body"),
            ApiError::Invalid(_) => ("validation", "Invalid input"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::MethodNotAllowed(_) => ("method-not-allowed", "Method not allowed"),
            ApiError::TimeLimit { .. } => ("time-limit", "Time budget exceeded"),
            ApiError::Overloaded => ("overloaded", "Service overloaded"),
            ApiError::RateLimited { .. } => ("rate-limited", "Too many requests"),
            ApiError::Internal(_) => ("internal", "Internal server error"),
        };
        let errors = match self {
            ApiError::InvalidBody {
                pointer, reason, ..
            } => vec![FieldError {
                pointer: pointer.clone(),
                detail: reason.clone(),
            }],
            ApiError::Invalid(invalid) => vec![FieldError {
                pointer: invalid.pointer.clone(),
                detail: invalid.reason.clone(),
            }],
            _ => Vec::new(),
        };
        let detail = match self {
            ApiError::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
            other => other.to_string(),
        };
        Problem {
            problem_type: format!("urn:retention-kpi:problem:{kind}"),
            title: title.to_owned(),
            status: self.status().as_u16(),
            detail,
            errors,
        }
    }

    /// The same error, for a body nested under `prefix` (e.g. `/items/2`).
    pub fn nested_under(self, prefix: &str) -> Self {
        match self {
            ApiError::InvalidBody {
                pointer,
                reason,
                detail,
            } => ApiError::InvalidBody {
                pointer: format!("{prefix}{pointer}"),
                reason,
                detail,
            },
            ApiError::Invalid(invalid) => ApiError::Invalid(invalid.nested_under(prefix)),
            other => other,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let mut response = problem_response(&self.problem());
        let retry_after = match self {
            ApiError::Overloaded => Some(1),
            ApiError::RateLimited { retry_after_s } => Some(retry_after_s),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Serialises a problem with its status and the problem+json content type.
pub fn problem_response(problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// Middleware: any error response that is not problem+json yet (from a tower layer such as
/// the timeout, or a framework default) is rewritten into one, keeping its status.
pub async fn problem_for_bare_errors(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return response;
    }
    let title = status.canonical_reason().unwrap_or("Error");
    let problem = Problem {
        problem_type: format!("urn:retention-kpi:problem:http-{}", status.as_u16()),
        title: title.to_owned(),
        status: status.as_u16(),
        detail: format!(
            "the request could not be answered: {}",
            title.to_lowercase()
        ),
        errors: Vec::new(),
    };
    let (parts, _) = response.into_parts();
    let mut rewritten = problem_response(&problem);
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}
