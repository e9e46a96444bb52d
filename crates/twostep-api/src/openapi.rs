//! The OpenAPI documents, built from the routers that serve, plus what every operation
//! shares (security schemes, problem responses).

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, ResponseBuilder, Schema};
use utoipa::{Modify, OpenApi as _};

use crate::error::{PROBLEM_JSON, Problem};

/// Admin API document header.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "twostep admin API",
        description = "Manage plans and tenants (operator token) and a tenant's API keys, \
                       organizations, users and MFA policies (tenant API key). Errors are \
                       RFC 9457 problem+json documents with a stable `code`."
    ),
    components(schemas(Problem, twostep_core::FieldError, crate::admin::DeliveryStatus)),
    modifiers(&Security)
)]
pub struct AdminDoc;

/// Auth API document header.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "twostep auth API",
        description = "The second sign-in step: flows, enrollment, challenges, verification \
                       and signed results."
    ),
    components(schemas(Problem, twostep_core::FieldError)),
    modifiers(&Security)
)]
pub struct AuthDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, format, description) in [
            (
                "operator_token",
                "opaque",
                "The operator token (TWOSTEP_OPERATOR_TOKEN).",
            ),
            ("api_key", "tsk_…", "A tenant API key."),
            (
                "flow_token",
                "tft_…",
                "The flow token returned when the flow started.",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format(format)
                        .description(Some(description))
                        .build(),
                ),
            );
        }
    }
}

/// The admin document header, before routes are added.
pub fn admin_base() -> OpenApi {
    AdminDoc::openapi()
}

/// The auth document header, before routes are added.
pub fn auth_base() -> OpenApi {
    AuthDoc::openapi()
}

/// Adds the problem responses every operation can give, so that clients and checkers
/// know each status the server may answer, and a description to every response (the
/// OpenAPI format requires one).
pub fn complete_responses(doc: &mut OpenApi) {
    open_flattened_schemas(doc);
    for (path, item) in doc.paths.paths.iter_mut() {
        let has_path_params = path.contains('{');
        let flow_step = path.starts_with("/auth/v1/flows/{flow_id}/") && !path.ends_with("/ui");
        let is_post = item.post.is_some();
        for op in operations(item) {
            let has_body = op.request_body.is_some();
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let mut add = |status: &str, description: &str| {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(description)
                            .content(
                                PROBLEM_JSON,
                                Content::new(Some(Ref::from_schema_name("Problem"))),
                            )
                            .build()
                            .into()
                    });
            };
            if has_body {
                add("400", "The body is not valid JSON (`malformed_json`)");
                add(
                    "413",
                    "The body is larger than 64 KiB (`payload_too_large`)",
                );
                add(
                    "415",
                    "The body is not application/json (`unsupported_media_type`)",
                );
            }
            if secured {
                add(
                    "401",
                    "Missing, unknown or revoked credentials (`unauthorized`)",
                );
            }
            if has_path_params {
                add("404", "No such resource for this caller (`not_found`)");
            }
            if flow_step && is_post {
                add(
                    "409",
                    "The step does not fit the flow's state (`flow_state`), or the factor type is not offered (`no_eligible_factor`)",
                );
                add("410", "The flow has expired (`flow_expired`)");
                add(
                    "423",
                    "Too many failed attempts (`factor_locked`, with `retry_after` unless blocked)",
                );
            }
            if flow_step && path.ends_with("/verify") {
                add(
                    "400",
                    "A wrong or used code (`invalid_code`, with `attempts_remaining`) or an expired one (`code_expired`)",
                );
            }
            add("422", "Invalid input (`validation_failed`, with `errors`)");
            add("500", "Internal error (details are in the server log only)");
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    response.description = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Response")
                        .to_owned();
                }
            }
        }
    }
}

/// A response that flattens a schema which refuses unknown fields (`EnvironmentPolicy`
/// in `EnvironmentPolicyOut`) would be invalid by that schema's `additionalProperties:
/// false`: such schemas are opened. The server still refuses unknown request fields.
fn open_flattened_schemas(doc: &mut OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let mut flattened = Vec::new();
    for schema in components.schemas.values() {
        if let RefOr::T(Schema::AllOf(all)) = schema {
            for item in &all.items {
                if let RefOr::Ref(r) = item
                    && let Some(name) = r.ref_location.rsplit('/').next()
                {
                    flattened.push(name.to_owned());
                }
            }
        }
    }
    for name in flattened {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&name) {
            object.additional_properties = None;
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}
