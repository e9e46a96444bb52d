//! End-to-end tests: the real binary on port 0, a fresh database per test, HTTP only.
//! Every scenario runs on SQLite, and on PostgreSQL when `TWOSTEP_TEST_DATABASE_URL`
//! names a server database the tests may create databases from (they say when skipped).

mod flows;
mod harness;
mod scenarios;

/// Runs each named scenario once per backend: `sqlite::name` and `postgres::name`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(server) = crate::harness::Server::start(crate::harness::Backend::Sqlite).await {
                    crate::scenarios::$name(server).await;
                }
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(server) = crate::harness::Server::start(crate::harness::Backend::Postgres).await {
                    crate::scenarios::$name(server).await;
                }
            })*
        }
    };
}

on_both_backends!(
    walkthrough_every_endpoint,
    credentials_are_checked,
    revoked_keys_stop_at_once,
    generated_operator_token_is_printed_once,
    tenants_never_see_each_other,
    bad_input_is_refused_with_problems,
    malformed_requests_never_answer_500,
    duplicates_conflict,
    per_org_policy_needs_scale,
    downgrade_suspends_org_policies_only_with_force,
    plan_edit_removing_per_org_needs_force,
    policy_warnings,
    effective_policy_explains_itself,
    audit_log_records_writes_without_secrets,
    ops_endpoints_and_graceful_shutdown,
    pagination_walks_every_item,
    concurrent_writes_all_succeed,
    readme_walkthrough_works,
    readme_sign_in_walkthrough_works,
    worker_recovers_after_a_crash,
    two_workers_share_the_queue,
    worker_stops_gracefully,
    worker_sends_through_aws,
    totp_enrollment_and_sign_in,
    email_and_sms_enrollment_and_sign_in,
    optional_policy_offers_and_skips,
    per_org_policy_applies_in_its_org_only,
    same_as_primary_is_not_offered,
    recovery_codes_work_once_and_regenerate,
    concurrent_verifies_accept_one,
    failures_throttle_until_time_or_reset,
    codes_and_flows_expire,
    no_plaintext_secrets_at_rest,
    schemathesis_finds_no_conformance_failures,
    generated_python_client_drives_a_scenario,
    independent_verifiers_agree,
    every_tenant_scoped_endpoint_hides_other_tenants,
    every_body_field_refuses_bad_input,
    brute_force_is_counted_across_flows_and_resends,
    fifty_racers_get_one_success,
    sms_pumping_stops_at_the_cap,
    parallel_guesses_cannot_outrun_the_throttle,
    parallel_sends_stop_at_the_cap,
);
