//! twostep HTTP surfaces: the admin API, the auth API, operational endpoints, the
//! problem+json error format and the OpenAPI documents built from the same routers.

pub mod admin;
pub mod auth;
mod dto;
pub mod error;
pub mod extract;
pub mod openapi;
mod ops;
mod state;

pub use state::AppState;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{SwaggerUi, Url};

use crate::error::ApiError;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Which surfaces one process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Surfaces {
    /// Admin and auth APIs.
    #[default]
    All,
    /// Only `/admin/v1`.
    Admin,
    /// Only `/auth/v1`.
    Auth,
}

fn admin_parts() -> (Router<AppState>, OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(openapi::admin_base())
        .nest("/admin/v1", admin::router())
        .split_for_parts();
    openapi::complete_responses(&mut doc);
    (router, doc)
}

fn auth_parts() -> (Router<AppState>, OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(openapi::auth_base())
        .nest("/auth/v1", auth::router())
        .split_for_parts();
    openapi::complete_responses(&mut doc);
    (router, doc)
}

/// The admin API's OpenAPI document.
pub fn admin_openapi() -> OpenApi {
    admin_parts().1
}

/// The auth API's OpenAPI document.
pub fn auth_openapi() -> OpenApi {
    auth_parts().1
}

/// The whole HTTP application for `surfaces`.
pub fn app(state: AppState, surfaces: Surfaces) -> Router {
    let (admin, admin_doc) = admin_parts();
    let (auth, auth_doc) = auth_parts();
    let mut router = Router::new().merge(ops::router());
    if surfaces != Surfaces::Auth {
        router = router.merge(admin);
    }
    if surfaces != Surfaces::Admin {
        router = router.merge(auth);
    }
    if state.test_clock.is_some() {
        // Tests only (TWOSTEP_TEST_CLOCK): never part of the documented API.
        router = router.merge(ops::test_clock_router());
    }
    let docs = SwaggerUi::new("/docs").urls(vec![
        (Url::new("admin", "/openapi/admin.json"), admin_doc),
        (Url::new("auth", "/openapi/auth.json"), auth_doc),
    ]);
    let request_id = HeaderName::from_static("x-request-id");
    router
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .merge(docs)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    // The path only: query strings may carry tokens.
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                })
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                )
                .on_request(()),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
}

#[cfg(test)]
mod tests;
