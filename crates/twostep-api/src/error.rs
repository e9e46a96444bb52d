//! The admin and auth surfaces' one error type, answered as RFC 9457 problem+json.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use twostep_core::{Entitlement, FieldError};
use twostep_store::StoreError;
use utoipa::ToSchema;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong in this request.
    pub detail: String,
    /// Stable snake_case code, e.g. `not_found`.
    pub code: String,
    /// Field errors, for `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// Organizations whose policy would be suspended, for `plan_downgrade_conflict`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizations: Option<Vec<String>>,
    /// The missing entitlement, for `plan_entitlement_required`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entitlement: Option<String>,
    /// Guesses left before waits start or the code is void, for `invalid_code`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts_remaining: Option<u32>,
    /// Seconds to wait, for `factor_locked` (absent when only an admin reset helps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// Everything a handler can answer instead of success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing, malformed, unknown or revoked credentials.
    #[error("valid credentials are required")]
    Unauthorized,
    /// No such resource for this caller (another tenant's resources included).
    #[error("the resource does not exist")]
    NotFound,
    /// The route exists, the method does not.
    #[error("the method is not allowed on this resource")]
    MethodNotAllowed,
    /// Input that parsed but is not acceptable.
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// The body is not JSON at all.
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// A body without `Content-Type: application/json`.
    #[error("the request body must be sent as application/json")]
    UnsupportedMediaType,
    /// A body over the size limit.
    #[error("the request body is larger than 64 KiB")]
    PayloadTooLarge,
    /// A duplicate or a state that forbids the change.
    #[error("{0}")]
    Conflict(String),
    /// The tenant's plan does not include what the request needs.
    #[error("the tenant's plan does not include `{}`", .0.name())]
    EntitlementRequired(Entitlement),
    /// A plan change would suspend organization policies.
    #[error("the new plan has no per-organization MFA; {} organization(s) would have their policy suspended (repeat with force: true to proceed)", .0.len())]
    DowngradeConflict(Vec<String>),
    /// Over an hourly cap (or a resend cooldown): nothing was queued or sent.
    #[error("too many messages; try again in {0} seconds")]
    RateLimited(u64),
    /// A wrong code (or one already used).
    #[error("the code is not valid")]
    InvalidCode {
        /// Guesses left.
        attempts_remaining: u32,
    },
    /// The code's time is over, or it was replaced by a newer one.
    #[error("the code has expired or was replaced; ask for a new one")]
    CodeExpired,
    /// Too many failures: wait `Some(seconds)`, or (`None`) until an admin reset.
    #[error("{}", match .0 { Some(s) => format!("too many failed attempts; try again in {s} seconds"), None => "too many failed attempts; MFA is blocked until an administrator resets it".to_owned() })]
    FactorLocked(Option<u64>),
    /// The flow's time is over.
    #[error("the flow has expired; start a new one")]
    FlowExpired,
    /// The step does not fit the flow's state.
    #[error("{0}")]
    FlowState(String),
    /// No factor type is left to offer or use.
    #[error("{0}")]
    NoEligibleFactor(String),
    /// Anything unexpected; logged, answered as a bare 500.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// HTTP status and stable code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            Self::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            Self::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::EntitlementRequired(_) => (StatusCode::FORBIDDEN, "plan_entitlement_required"),
            Self::DowngradeConflict(_) => (StatusCode::CONFLICT, "plan_downgrade_conflict"),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::InvalidCode { .. } => (StatusCode::BAD_REQUEST, "invalid_code"),
            Self::CodeExpired => (StatusCode::BAD_REQUEST, "code_expired"),
            Self::FactorLocked(_) => (StatusCode::LOCKED, "factor_locked"),
            Self::FlowExpired => (StatusCode::GONE, "flow_expired"),
            Self::FlowState(_) => (StatusCode::CONFLICT, "flow_state"),
            Self::NoEligibleFactor(_) => (StatusCode::CONFLICT, "no_eligible_factor"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }

    /// One field error as a validation failure.
    pub fn field(field: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(message).at(field)])
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict => {
                Self::Conflict("a resource with the same unique value already exists".into())
            }
            StoreError::Db(e) => Self::Internal(e.into()),
        }
    }
}

impl From<twostep_store::DbErr> for ApiError {
    fn from(err: twostep_store::DbErr) -> Self {
        StoreError::from(err).into()
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(errors: Vec<FieldError>) -> Self {
        Self::Validation(errors)
    }
}

impl From<Entitlement> for ApiError {
    fn from(e: Entitlement) -> Self {
        Self::EntitlementRequired(e)
    }
}

/// Turns a unique-constraint hit into a 409 that says what was duplicated.
pub trait OnConflict<T> {
    /// Maps [`StoreError::Conflict`] to [`ApiError::Conflict`] with `message`.
    fn on_conflict(self, message: &str) -> Result<T, ApiError>;
}

impl<T> OnConflict<T> for Result<T, StoreError> {
    fn on_conflict(self, message: &str) -> Result<T, ApiError> {
        self.map_err(|e| match e {
            StoreError::Conflict => ApiError::Conflict(message.to_owned()),
            other => other.into(),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Internal(err) = &self {
            // The cause stays in the log; the client learns nothing of the internals.
            tracing::error!(error = ?err, "request failed");
        }
        let retry_after = match self {
            Self::RateLimited(seconds) | Self::FactorLocked(Some(seconds)) => Some(seconds),
            _ => None,
        };
        let title = status.canonical_reason().unwrap_or("Error").to_owned();
        let mut problem = Problem {
            kind: format!("urn:twostep:problem:{code}"),
            title,
            status: status.as_u16(),
            detail: self.to_string(),
            code: code.to_owned(),
            errors: None,
            organizations: None,
            entitlement: None,
            attempts_remaining: None,
            retry_after: None,
        };
        match self {
            Self::Validation(errors) => problem.errors = Some(errors),
            Self::DowngradeConflict(orgs) => problem.organizations = Some(orgs),
            Self::EntitlementRequired(e) => problem.entitlement = Some(e.name().to_owned()),
            Self::InvalidCode { attempts_remaining } => {
                problem.attempts_remaining = Some(attempts_remaining)
            }
            Self::FactorLocked(seconds) => problem.retry_after = seconds,
            _ => {}
        }
        let mut response = (status, axum::Json(problem)).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
