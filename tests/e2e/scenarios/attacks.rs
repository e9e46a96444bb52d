//! Attack cases, each able to fail: cross-tenant access and bad input on every endpoint
//! the OpenAPI documents list (so new endpoints are covered or the test says what it
//! lacks), brute force spread over flows, fifty racers for one code, SMS pumping.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::flows::{TestFlow, pyotp_at};
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

async fn wrong_guess(
    s: &Server,
    (flow, factor, code): &(TestFlow, String, String),
    remaining: u64,
) {
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let problem = s
        .expect_problem(
            Method::POST,
            &flow.path("/verify"),
            &flow.token,
            Some(json!({ "factor_id": factor, "code": wrong })),
            StatusCode::BAD_REQUEST,
            "invalid_code",
        )
        .await;
    assert_eq!(
        problem["attempts_remaining"], remaining,
        "the count is per user, not per flow"
    );
}

pub async fn brute_force_is_counted_across_flows_and_resends(s: Server) {
    let t = s.tenant("Acme", "pro").await;
    s.policy(&t, json!({ "mode": "required", "factors": ["email"] }))
        .await;
    let user = s.user(&t, "victim", "password").await;
    let enroll_flow = s.flow_for(&t, &user).await;
    let enrolled = s
        .expect(
            Method::POST,
            &enroll_flow.path("/enrollments"),
            &enroll_flow.token,
            Some(json!({ "type": "email" })),
            StatusCode::CREATED,
        )
        .await;
    let code = s.nth_code(&t, "victim@example.com", 1).await;
    s.expect(
        Method::POST,
        &enroll_flow.path(&format!(
            "/enrollments/{}/verify",
            enrolled["enrollment_id"].as_str().unwrap()
        )),
        &enroll_flow.token,
        Some(json!({ "code": code })),
        StatusCode::OK,
    )
    .await;
    // A new hour (5 codes per user per hour). Five flows; each sends a fresh code (which
    // voids the previous flow's: one live code per factor) and guesses wrong.
    s.advance(3601.0).await;
    let mut flows = Vec::new();
    for i in 0..5 {
        let flow = s.flow_for(&t, &user).await;
        let factor = flow.started["factors"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        s.expect(
            Method::POST,
            &flow.path("/challenges"),
            &flow.token,
            Some(json!({ "factor_id": factor })),
            StatusCode::CREATED,
        )
        .await;
        let code = s.nth_code(&t, "victim@example.com", 2 + i).await;
        flows.push((flow, factor, code));
        wrong_guess(&s, &flows[i], 4 - i as u64).await;
        s.advance(31.0).await;
    }
    // The earlier flows' codes were voided by the resends.
    let (flow, factor, code) = &flows[0];
    s.expect_problem(
        Method::POST,
        &flow.path("/verify"),
        &flow.token,
        Some(json!({ "factor_id": factor, "code": code })),
        StatusCode::BAD_REQUEST,
        "code_expired",
    )
    .await;
    // Past the threshold even the right code is refused.
    s.advance(-31.0).await;
    let (flow, factor, code) = &flows[4];
    s.expect_problem(
        Method::POST,
        &flow.path("/verify"),
        &flow.token,
        Some(json!({ "factor_id": factor, "code": code })),
        StatusCode::LOCKED,
        "factor_locked",
    )
    .await;
    // Released by time: the right code works.
    s.advance(30.0).await;
    s.expect(
        Method::POST,
        &flow.path("/verify"),
        &flow.token,
        Some(json!({ "factor_id": factor, "code": code })),
        StatusCode::OK,
    )
    .await;
}

async fn race(s: &Arc<Server>, jobs: Vec<(TestFlow, String, Value)>) -> usize {
    let tasks: Vec<_> = jobs
        .into_iter()
        .map(|(flow, rest, body)| {
            let s = s.clone();
            tokio::spawn(async move {
                let body = (!body.is_null()).then_some(body);
                s.step(&flow, Method::POST, &rest, body).await.0
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        let status = task.await.unwrap();
        assert!(status.as_u16() < 500, "{status}");
        ok += usize::from(status == StatusCode::OK);
    }
    ok
}

pub async fn fifty_racers_get_one_success(s: Server) {
    let s = Arc::new(s);
    let t = s.tenant("Acme", "pro").await;
    s.policy(
        &t,
        json!({ "mode": "required", "factors": ["totp", "email", "sms"] }),
    )
    .await;

    // TOTP, and a recovery code: one code, fifty flows of the user.
    for kind in ["totp", "recovery"] {
        let user = s.user(&t, &format!("{kind}-racer"), "password").await;
        let (enrolled, verified) = s.enroll_totp(&s.flow_for(&t, &user).await).await;
        let mut flows = Vec::new();
        for _ in 0..50 {
            flows.push(s.flow_for(&t, &user).await);
        }
        let factor = flows[0].started["factors"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let now = s.advance(30.0).await;
        let body = if kind == "totp" {
            json!({ "factor_id": factor, "code": pyotp_at(enrolled["otpauth_uri"].as_str().unwrap(), now) })
        } else {
            json!({ "recovery_code": verified["recovery_codes"][0] })
        };
        let jobs = flows
            .into_iter()
            .map(|f| (f, "/verify".to_owned(), body.clone()))
            .collect();
        assert_eq!(race(&s, jobs).await, 1, "{kind}");
    }

    // Email and SMS codes: fifty verifies of the code in its flow.
    for (kind, contact) in [
        ("email", json!({ "email": "mail-racer@example.com" })),
        ("sms", json!({ "phone": "+14155550142" })),
    ] {
        let mut fields = json!({ "external_id": format!("{kind}-racer") });
        fields
            .as_object_mut()
            .unwrap()
            .extend(contact.as_object().unwrap().clone());
        let user = s.user_with(&t, fields).await;
        let destination = if kind == "email" {
            "mail-racer@example.com"
        } else {
            "+14155550142"
        };
        let flow = s.flow_for(&t, &user).await;
        let enrolled = s
            .expect(
                Method::POST,
                &flow.path("/enrollments"),
                &flow.token,
                Some(json!({ "type": kind })),
                StatusCode::CREATED,
            )
            .await;
        let code = s.nth_code(&t, destination, 1).await;
        let verify = format!(
            "/enrollments/{}/verify",
            enrolled["enrollment_id"].as_str().unwrap()
        );
        let jobs = (0..50)
            .map(|_| (flow.clone(), verify.clone(), json!({ "code": code })))
            .collect();
        assert_eq!(race(&s, jobs).await, 1, "{kind} enrollment");
        let flow = s.flow_for(&t, &user).await;
        let factor = flow.started["factors"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        s.advance(31.0).await;
        s.expect(
            Method::POST,
            &flow.path("/challenges"),
            &flow.token,
            Some(json!({ "factor_id": factor })),
            StatusCode::CREATED,
        )
        .await;
        let code = s.nth_code(&t, destination, 2).await;
        let jobs = (0..50)
            .map(|_| {
                (
                    flow.clone(),
                    "/verify".to_owned(),
                    json!({ "factor_id": factor, "code": code }),
                )
            })
            .collect();
        assert_eq!(race(&s, jobs).await, 1, "{kind} sign-in");
    }

    // Fifty completions of one flow: one result.
    s.policy(&t, json!({ "mode": "optional", "factors": ["totp"] }))
        .await;
    let user = s.user(&t, "skipper", "password").await;
    let flow = s.flow_for(&t, &user).await;
    let jobs = (0..50)
        .map(|_| (flow.clone(), "/skip".to_owned(), Value::Null))
        .collect();
    assert_eq!(race(&s, jobs).await, 1, "completions");
    // A completed flow is not verified or completed again.
    s.expect_problem(
        Method::POST,
        &flow.path("/verify"),
        &flow.token,
        Some(json!({ "recovery_code": "0000-0000-0000-0000" })),
        StatusCode::CONFLICT,
        "flow_state",
    )
    .await;
    s.expect_problem(
        Method::POST,
        &flow.path("/skip"),
        &flow.token,
        None,
        StatusCode::CONFLICT,
        "flow_state",
    )
    .await;
}

pub async fn sms_pumping_stops_at_the_cap(s: Server) {
    let Ok(moto) = std::env::var("TWOSTEP_TEST_MOTO_URL") else {
        println!(
            "SKIPPED: SMS pumping against SNS (TWOSTEP_TEST_MOTO_URL is not set; ./scripts/test sets it)"
        );
        return;
    };
    let s = s.without_worker().await;
    let t = s.tenant("Pumped", "pro").await;
    s.expect(
        Method::PATCH,
        &format!("/admin/v1/tenants/{}", t.id),
        &s.operator,
        Some(json!({ "delivery_caps": { "sms": { "per_destination": 5, "per_tenant": 20 }, "email": { "per_destination": 10, "per_tenant": 2000 } } })),
        StatusCode::OK,
    )
    .await;
    s.policy(&t, json!({ "mode": "required", "factors": ["sms"] }))
        .await;
    // Valid NANP numbers nobody else uses here: exchange 234–299, a random block of 200.
    let random = uuid::Uuid::now_v7().as_u128();
    let exchange = 234 + (random % 66) as u64;
    let block = ((random >> 8) % 9_800) as u64;
    let numbers: Vec<String> = (0..200)
        .map(|i| format!("+1415{exchange}{:04}", block + i))
        .collect();
    let mut accepted = 0;
    for (i, number) in numbers.iter().enumerate() {
        let (status, created) = s
            .call(
                Method::POST,
                "/admin/v1/users",
                &t.key,
                Some(json!({ "external_id": format!("p{i}"), "phone": number })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{number}: {created}");
        let user = created["id"].as_str().unwrap().to_owned();
        let flow = s.flow_for(&t, &user).await;
        let (status, answer) = s
            .step(
                &flow,
                Method::POST,
                "/enrollments",
                Some(json!({ "type": "sms" })),
            )
            .await;
        match status {
            StatusCode::CREATED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => assert_eq!(answer["code"], "rate_limited"),
            other => panic!("{other}: {answer}"),
        }
    }
    assert_eq!(accepted, 20, "the tenant's hourly SMS cap");
    let mut worker = s.spawn_worker(
        4,
        &[
            ("TWOSTEP_SMS_SENDER", "sns"),
            ("AWS_ENDPOINT_URL", moto.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
    );
    let sent_to_ours = || async {
        let state: Value = reqwest::get(format!("{moto}/moto-api/data.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        state["sns"]["SMS"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|m| numbers.iter().any(|n| m["phone_number"] == n.as_str()))
                    .count()
            })
            .unwrap_or(0)
    };
    for _ in 0..300 {
        if sent_to_ours().await >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sent_to_ours().await, 20, "SNS saw a message past the cap");
    worker.signal_and_wait("-TERM");
}
