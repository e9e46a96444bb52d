//! The hosted page: the same steps as the API, for tenants that do not build their own.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use twostep_core::FlowId;
use twostep_core::secret::FLOW_TOKEN_PREFIX;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AUTH_TAG, FlowToken, flow_by_token};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

const PAGE: &str = include_str!("ui.html");
const COOKIE: &str = "twostep_flow";

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(page))
}

/// The flow token, when not sent as a cookie.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UiQuery {
    /// The flow token (`tft_…`); afterwards a cookie carries it.
    pub token: Option<String>,
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The hosted page for a flow: enroll, verify or skip in the browser. The flow token
/// comes as `?token=` the first time and is then kept in a cookie for this flow only.
#[utoipa::path(get, path = "/flows/{flow_id}/ui", tag = AUTH_TAG,
    params(("flow_id" = String, Path), UiQuery),
    responses((status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 401, description = "No flow token (`unauthorized`)", body = crate::error::Problem, content_type = "application/problem+json")))]
async fn page(
    State(state): State<AppState>,
    ApiPath(flow_id): ApiPath<FlowId>,
    ApiQuery(query): ApiQuery<UiQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = query
        .token
        .or_else(|| cookie_token(&headers))
        .filter(|t| {
            t.starts_with(FLOW_TOKEN_PREFIX) && t[4..].bytes().all(|b| b.is_ascii_hexdigit())
        })
        .ok_or(ApiError::Unauthorized)?;
    let token = FlowToken(token);
    flow_by_token(&state, flow_id, &token).await?;
    let body = PAGE
        .replace("__FLOW_ID__", &flow_id.to_string())
        .replace("__FLOW_TOKEN__", &token.0);
    let cookie = format!(
        "{COOKIE}={}; Path=/auth/v1/flows/{flow_id}; HttpOnly; Secure; SameSite=Strict; Max-Age=900",
        token.0
    );
    let mut response = Html(body).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; frame-ancestors 'none'",
        ),
    );
    Ok(response)
}
