//! Attack cases driven by the OpenAPI documents: cross-tenant access and bad input on
//! every endpoint and body field they list (a new endpoint is covered, or the test names
//! what it lacks).

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::flows::TestFlow;
use crate::harness::{Server, TestTenant};

/// One operation of an OpenAPI document.
struct Operation {
    method: Method,
    template: String,
    id: String,
    /// Security scheme names it accepts.
    security: Vec<String>,
    /// Its JSON request body schema, if it takes one.
    body: Option<Value>,
    /// The whole document, to resolve references.
    spec: Arc<Value>,
}

/// Every operation of both documents.
fn operations() -> Vec<Operation> {
    let mut out = Vec::new();
    for doc in ["admin.json", "auth.json"] {
        let path = format!("{}/../../openapi/{doc}", env!("CARGO_MANIFEST_DIR"));
        let spec: Arc<Value> =
            Arc::new(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap());
        for (template, item) in spec["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let method = match method.as_str() {
                    "get" => Method::GET,
                    "post" => Method::POST,
                    "put" => Method::PUT,
                    "patch" => Method::PATCH,
                    "delete" => Method::DELETE,
                    _ => continue,
                };
                let security = op["security"]
                    .as_array()
                    .map(|alts| {
                        alts.iter()
                            .flat_map(|a| a.as_object().unwrap().keys().cloned())
                            .collect()
                    })
                    .unwrap_or_default();
                let body = op["requestBody"]["content"]["application/json"]["schema"].clone();
                let body = (!body.is_null()).then_some(body);
                out.push(Operation {
                    method,
                    template: template.clone(),
                    id: op["operationId"].as_str().unwrap().to_owned(),
                    security,
                    body,
                    spec: spec.clone(),
                });
            }
        }
    }
    out
}

/// A valid body for each operation that takes one (the test fails for an operation it
/// has no sample for: add one).
fn sample_body(operation: &str, ids: &BTreeMap<&str, String>) -> Value {
    match operation {
        "create_key" => json!({ "name": "k" }),
        "put_environment_policy" => json!({ "mode": "required", "factors": ["totp"] }),
        "create_org" => json!({ "code": "fresh-org", "name": "Fresh" }),
        "update_org" => json!({ "name": "Renamed" }),
        "put_org_policy" => json!({ "mode": "required" }),
        "create_plan" => {
            json!({ "id": "fresh", "name": "Fresh", "rank": 5, "entitlements": { "mfa_per_org": false, "sms": false, "max_orgs": null } })
        }
        "update_plan" => json!({ "name": "Renamed" }),
        "create_tenant" => json!({ "name": "Fresh", "plan_id": "pro" }),
        "update_tenant" => json!({ "name": "Renamed" }),
        "change_plan" => json!({ "plan_id": "scale" }),
        "create_user" => json!({ "external_id": "fresh-user" }),
        "update_user" => json!({ "email": "x@example.com" }),
        "start_flow" => json!({ "user_id": ids["user_id"] }),
        "challenge" => json!({ "factor_id": ids["factor_id"] }),
        "enroll" => json!({ "type": "totp" }),
        "verify_enrollment" => json!({ "code": "123456" }),
        "verify" => json!({ "factor_id": ids["factor_id"], "code": "123456" }),
        other => panic!("no sample body for {other}: add one to attacks::sample_body"),
    }
}

fn fill(template: &str, ids: &BTreeMap<&str, String>) -> String {
    let mut path = template.to_owned();
    for (name, id) in ids {
        path = path.replace(&format!("{{{name}}}"), id);
    }
    assert!(!path.contains('{'), "no id for a parameter of {template}");
    path
}

/// Tenant A's resources: an org, a user with a TOTP factor and a pending one, a flow, a
/// delivery, a key.
async fn tenant_with_everything(
    s: &Server,
    name: &str,
) -> (TestTenant, BTreeMap<&'static str, String>, TestFlow) {
    let t = s.tenant(name, "scale").await;
    s.policy(
        &t,
        json!({ "mode": "required", "factors": ["totp", "email"] }),
    )
    .await;
    let org = s.org(&t, "org").await;
    let user = s.user(&t, "someone", "password").await;
    let (enrolled, _) = s.enroll_totp(&s.flow_for(&t, &user).await).await;
    let flow = s.flow_for(&t, &user).await;
    let other = s.user(&t, "pending", "password").await;
    let pending_flow = s.flow_for(&t, &other).await;
    let pending = s
        .expect(
            Method::POST,
            &pending_flow.path("/enrollments"),
            &pending_flow.token,
            Some(json!({ "type": "email" })),
            StatusCode::CREATED,
        )
        .await;
    let deliveries = s
        .expect(
            Method::GET,
            "/admin/v1/deliveries",
            &t.key,
            None,
            StatusCode::OK,
        )
        .await;
    let key = s
        .expect(
            Method::POST,
            "/admin/v1/api-keys",
            &t.key,
            Some(json!({ "name": "spare" })),
            StatusCode::CREATED,
        )
        .await;
    let ids = BTreeMap::from([
        ("org_id", org),
        ("user_id", user),
        (
            "factor_id",
            enrolled["enrollment_id"].as_str().unwrap().to_owned(),
        ),
        (
            "enrollment_id",
            pending["enrollment_id"].as_str().unwrap().to_owned(),
        ),
        ("flow_id", flow.id.clone()),
        (
            "delivery_id",
            deliveries["data"][0]["id"].as_str().unwrap().to_owned(),
        ),
        ("key_id", key["id"].as_str().unwrap().to_owned()),
        // Operator paths (bad-input test only; not tenant-scoped).
        ("plan_id", "pro".to_owned()),
        ("tenant_id", t.id.clone()),
    ]);
    (t, ids, flow)
}

fn ghosts() -> BTreeMap<&'static str, String> {
    let zero = "00000000000070008000000000000000";
    BTreeMap::from([
        ("org_id", format!("org_{zero}")),
        ("user_id", format!("usr_{zero}")),
        ("factor_id", format!("fct_{zero}")),
        ("enrollment_id", format!("fct_{zero}")),
        ("flow_id", format!("flw_{zero}")),
        ("delivery_id", format!("dlv_{zero}")),
        ("key_id", format!("key_{zero}")),
    ])
}

pub async fn every_tenant_scoped_endpoint_hides_other_tenants(s: Server) {
    let (_a, a_ids, _) = tenant_with_everything(&s, "A").await;
    let (b, b_ids, b_flow) = tenant_with_everything(&s, "B").await;
    let ghost = ghosts();
    let mut checked = 0;
    for Operation {
        method,
        template,
        id: operation,
        security,
        body,
        ..
    } in operations()
    {
        let tenant_scoped = security.iter().any(|s| s == "api_key" || s == "flow_token")
            || template.ends_with("/ui");
        if !template.contains('{') || !tenant_scoped {
            continue;
        }
        let token = if security.iter().any(|s| s == "api_key") {
            b.key.clone()
        } else {
            b_flow.token.clone()
        };
        // B's own ids in the body, so only the path names A's resources.
        let body = body.map(|_| sample_body(&operation, &b_ids));
        let query = if template.ends_with("/ui") {
            format!("?token={}", b_flow.token)
        } else {
            String::new()
        };
        let foreign = format!("{}{query}", fill(&template, &a_ids));
        let missing = format!("{}{query}", fill(&template, &ghost));
        let (status, foreign_body) = s.call(method.clone(), &foreign, &token, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{method} {foreign} with B's credential: {foreign_body}"
        );
        let (status, missing_body) = s.call(method.clone(), &missing, &token, body).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{method} {missing}: {missing_body}"
        );
        assert_eq!(
            foreign_body, missing_body,
            "{method} {template} tells more than a missing id"
        );
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} endpoints checked");
}

/// Values no field should take: empty, null, wrong types, 10 KB, other digit scripts,
/// whitespace around, 5 and 9 digits, leading zeros.
fn bad_values(schema_type: &str) -> Vec<Value> {
    let mut values = vec![
        json!(""),
        Value::Null,
        json!("x".repeat(10 * 1024)),
        json!("١٢٣٤٥٦"),
        json!(" 123456 "),
        json!("12345"),
        json!("123456789"),
        json!("000123"),
        json!({ "nested": true }),
        json!([1, 2]),
    ];
    values.push(if schema_type == "string" {
        json!(12345)
    } else {
        json!("not-a-number")
    });
    values.push(json!(true));
    values.push(json!(-1));
    values
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => &spec["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => schema,
    }
}

pub async fn every_body_field_refuses_bad_input(s: Server) {
    let (t, ids, flow) = tenant_with_everything(&s, "A").await;
    let mut fields = 0;
    for Operation {
        method,
        template,
        id: operation,
        security,
        body,
        spec,
    } in operations()
    {
        let Some(schema) = body else { continue };
        let schema = resolve(&spec, &schema);
        let token = if security.iter().any(|s| s == "operator_token") {
            s.operator.clone()
        } else if security.iter().any(|s| s == "api_key") {
            t.key.clone()
        } else {
            flow.token.clone()
        };
        let path = fill(&template, &ids);
        let base = sample_body(&operation, &ids);
        let properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (field, field_schema) in properties {
            let kind = resolve(&spec, &field_schema)["type"]
                .as_str()
                .unwrap_or("object")
                .to_owned();
            for value in bad_values(&kind) {
                let mut body = base.clone();
                body[&field] = value.clone();
                let (status, content_type, answer) = s
                    .raw(
                        method.clone(),
                        &path,
                        Some(&token),
                        Some(("application/json", serde_json::to_vec(&body).unwrap())),
                    )
                    .await;
                assert!(
                    status.as_u16() < 500,
                    "{method} {path} {field}={value}: {status} {answer}"
                );
                if status.is_client_error() {
                    assert_eq!(
                        content_type, "application/problem+json",
                        "{method} {path} {field}: {answer}"
                    );
                    assert!(answer["code"].is_string(), "{answer}");
                }
            }
            fields += 1;
        }
    }
    assert!(fields >= 30, "only {fields} fields tried");
}
