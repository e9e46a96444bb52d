//! Operational endpoints: liveness, readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::state::AppState;

/// `/healthz` and `/readyz`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match twostep_store::is_ready(&state.db).await {
        Ok(true) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "migrations_pending" })),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "database_unreachable" })),
            )
        }
    }
}

/// `POST /testing/clock {"advance_seconds": n}`: moves the test clock and answers the new
/// time. Mounted only when the service runs with the test clock (tests, never production).
pub fn test_clock_router() -> Router<AppState> {
    Router::new().route("/testing/clock", axum::routing::post(move_clock))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveClock {
    #[serde(default)]
    advance_seconds: f64,
}

async fn move_clock(
    State(state): State<AppState>,
    crate::extract::ApiJson(body): crate::extract::ApiJson<MoveClock>,
) -> Result<Json<Value>, crate::error::ApiError> {
    let clock = state
        .test_clock
        .as_ref()
        .ok_or(crate::error::ApiError::NotFound)?;
    let millis = (body.advance_seconds * 1000.0).round() as i64;
    clock.advance(chrono::Duration::milliseconds(millis));
    let now = state.clock.now();
    Ok(Json(json!({ "now": now, "unix": now.timestamp() })))
}
