//! Extractors whose rejections speak problem+json, and the credential extractors.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{header, request::Parts};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use twostep_core::FieldError;
use twostep_core::secret::{API_KEY_PREFIX, constant_time_eq, token_digest};
use twostep_store::audit::Actor;
use twostep_store::{PageRequest, api_keys};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body: `application/json` only, unknown fields refused by the target type,
/// every refusal a problem+json answer.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::MalformedJson("the body could not be read".into())
            }
        })?;
        // Parse first, then map onto the target type: a syntax error is a 400, a value of
        // the wrong shape a 422 naming the field.
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        if !value.is_object() {
            return Err(ApiError::field("body", "must be a JSON object"));
        }
        let value = serde_path_to_error::deserialize(value).map_err(|err| {
            let path = err.path().to_string();
            let field = if path == "." { "body".to_owned() } else { path };
            ApiError::Validation(vec![
                FieldError::new(err.into_inner().to_string()).at(field),
            ])
        })?;
        Ok(Self(value))
    }
}

fn is_json(value: Option<&header::HeaderValue>) -> bool {
    let Some(mime) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Query parameters; a malformed query is a 422 problem.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(value)| Self(value))
            .map_err(|rejection| {
                let text = rejection.body_text();
                let message = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                ApiError::field("query", message)
            })
    }
}

/// `?limit=&cursor=` of every list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Items per page, 1–200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListQuery {
    /// The page to read.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::field("limit", "must be between 1 and 200"));
        }
        let cursor = self.cursor.as_deref().map(parse_cursor).transpose()?;
        Ok(PageRequest {
            cursor,
            limit: limit as u64,
        })
    }
}

// A cursor is the id of the last item of the previous page, whatever its prefix.
fn parse_cursor(text: &str) -> Result<Uuid, ApiError> {
    text.rsplit_once('_')
        .map(|(_, hex)| hex)
        .filter(|hex| hex.len() == 32)
        .and_then(|hex| Uuid::try_parse(hex).ok())
        .ok_or_else(|| ApiError::field("cursor", "is not a cursor returned by this list"))
}

/// The bearer token of the request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The operator, authenticated by the operator token.
pub struct Operator;

impl Operator {
    /// The audit actor.
    pub fn actor(&self) -> Actor {
        Actor("operator".into())
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        if constant_time_eq(&token_digest(token), &state.operator_token_digest) {
            Ok(Self)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// A tenant, authenticated by one of its live API keys.
#[derive(Debug, Clone, Copy)]
pub struct Tenant {
    /// The tenant's id.
    pub id: Uuid,
    /// The key used.
    pub key_id: Uuid,
}

impl Tenant {
    /// The audit actor: the key used.
    pub fn actor(&self) -> Actor {
        Actor(twostep_core::ApiKeyId::from_uuid(self.key_id).to_string())
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)
            .filter(|t| t.starts_with(API_KEY_PREFIX))
            .ok_or(ApiError::Unauthorized)?;
        // Looked up by digest: the key itself is never stored, and a revoked key is gone
        // from this lookup the moment it is revoked.
        let key = api_keys::authenticate(&state.db, &token_digest(token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Self {
            id: key.tenant_id,
            key_id: key.id,
        })
    }
}

/// Path parameters; anything that does not parse names nothing here, so it is a 404.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|_| ApiError::NotFound)
    }
}
