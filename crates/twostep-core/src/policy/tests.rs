use super::*;
use crate::plan::seeded_plans;

fn plan(id: &str) -> Entitlements {
    seeded_plans()
        .into_iter()
        .find(|p| p.id == id)
        .map(|p| p.entitlements)
        .unwrap()
}

fn env(mode: EnvMode, factors: &[FactorType]) -> EnvironmentPolicy {
    EnvironmentPolicy {
        mode,
        factors: factors.to_vec(),
        ..EnvironmentPolicy::default()
    }
}

fn org(mode: OrgMode, factors: Option<&[FactorType]>) -> OrganizationPolicy {
    OrganizationPolicy {
        mode,
        factors: factors.map(<[_]>::to_vec),
    }
}

use FactorType::{Email, Sms, Totp};

#[test]
fn without_org_the_environment_decides() {
    let e = env(EnvMode::Optional, &[Totp, Email]);
    let r = resolve(&e, OrgScope::None, &plan("scale"), None);
    assert_eq!(r.source, PolicySource::Environment);
    assert_eq!(r.decided_by, Decision::NoOrganization);
    assert_eq!(r.mode, EnvMode::Optional);
    assert_eq!(r.offered_factors, vec![Totp, Email]);
}

#[test]
fn org_policy_applies_on_scale_only() {
    let e = env(EnvMode::Off, &[Totp, Email]);
    let o = org(OrgMode::Required, Some(&[Totp]));
    let on_scale = resolve(&e, OrgScope::Org(Some(&o)), &plan("scale"), None);
    assert_eq!(on_scale.source, PolicySource::Organization);
    assert_eq!(on_scale.decided_by, Decision::OrganizationPolicy);
    assert_eq!(on_scale.mode, EnvMode::Required);
    assert_eq!(on_scale.factors, vec![Totp]);

    let on_pro = resolve(&e, OrgScope::Org(Some(&o)), &plan("pro"), None);
    assert_eq!(on_pro.source, PolicySource::Environment);
    assert_eq!(on_pro.decided_by, Decision::OrganizationPolicySuspended);
    assert_eq!(on_pro.mode, EnvMode::Off);
    assert!(on_pro.offered_factors.is_empty());
}

#[test]
fn inherit_and_missing_org_policy_use_the_environment() {
    let e = env(EnvMode::Required, &[Totp]);
    let inherit = org(OrgMode::Inherit, None);
    let r = resolve(&e, OrgScope::Org(Some(&inherit)), &plan("scale"), None);
    assert_eq!(
        (r.source, r.decided_by),
        (PolicySource::Environment, Decision::OrganizationInherits)
    );
    let r = resolve(&e, OrgScope::Org(None), &plan("scale"), None);
    assert_eq!(r.decided_by, Decision::OrganizationHasNoPolicy);
    assert_eq!(r.mode, EnvMode::Required);
}

#[test]
fn org_without_factors_takes_the_environments() {
    let e = env(EnvMode::Off, &[Totp, Sms]);
    let o = org(OrgMode::Optional, None);
    let r = resolve(&e, OrgScope::Org(Some(&o)), &plan("scale"), None);
    assert_eq!(r.mode, EnvMode::Optional);
    assert_eq!(r.factors, vec![Totp, Sms]);
}

#[test]
fn same_channel_as_primary_is_excluded_unless_allowed() {
    let mut e = env(EnvMode::Required, &[Email, Totp]);
    let r = resolve(
        &e,
        OrgScope::None,
        &plan("free"),
        Some(PrimaryMethod::EmailCode),
    );
    assert_eq!(r.offered_factors, vec![Totp]);
    assert_eq!(r.excluded_factors.len(), 1);
    assert_eq!(r.excluded_factors[0].factor, Email);

    let r = resolve(
        &e,
        OrgScope::None,
        &plan("free"),
        Some(PrimaryMethod::Password),
    );
    assert_eq!(r.offered_factors, vec![Email, Totp]);

    e.allow_same_as_primary = true;
    let r = resolve(
        &e,
        OrgScope::None,
        &plan("free"),
        Some(PrimaryMethod::EmailLink),
    );
    assert_eq!(r.offered_factors, vec![Email, Totp]);
    assert!(r.excluded_factors.is_empty());
}

#[test]
fn phone_code_excludes_sms() {
    let e = env(EnvMode::Optional, &[Sms]);
    let r = resolve(
        &e,
        OrgScope::None,
        &plan("pro"),
        Some(PrimaryMethod::PhoneCode),
    );
    assert!(r.offered_factors.is_empty());
    assert_eq!(r.excluded_factors[0].factor, Sms);
}

#[test]
fn downgrade_suspends_only_when_mfa_per_org_goes_away() {
    let orgs = ["org_a", "org_b"];
    assert_eq!(
        suspended_by_plan_change(&plan("scale"), &plan("pro"), &orgs),
        orgs.to_vec()
    );
    assert!(suspended_by_plan_change(&plan("scale"), &plan("scale"), &orgs).is_empty());
    assert!(suspended_by_plan_change(&plan("pro"), &plan("scale"), &orgs).is_empty());
    assert!(suspended_by_plan_change(&plan("pro"), &plan("free"), &orgs).is_empty());
    assert!(suspended_by_plan_change::<&str>(&plan("scale"), &plan("free"), &[]).is_empty());
}

#[test]
fn restricted_factors_only_warns() {
    let w = env(EnvMode::Required, &[Email, Sms]).warnings();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].code, "restricted_factors_only");
    assert!(env(EnvMode::Required, &[Email, Totp]).warnings().is_empty());
    assert!(env(EnvMode::Off, &[Email]).warnings().is_empty());
    let o = org(OrgMode::Required, Some(&[Sms]));
    assert_eq!(o.warnings()[0].code, "restricted_factors_only");
}

#[test]
fn same_channel_as_declared_primary_warns() {
    let mut e = env(EnvMode::Optional, &[Email, Totp]);
    e.primary_methods = vec![PrimaryMethod::Password, PrimaryMethod::EmailLink];
    let codes: Vec<_> = e.warnings().iter().map(|w| w.code).collect();
    assert_eq!(codes, ["factor_same_as_primary"]);

    e.factors = vec![Email];
    let codes: Vec<_> = e.warnings().iter().map(|w| w.code).collect();
    assert_eq!(
        codes,
        [
            "restricted_factors_only",
            "factor_same_as_primary",
            "no_factor_for_primary_method"
        ]
    );
}

#[test]
fn validation_catches_bad_policies() {
    let mut e = env(EnvMode::Required, &[]);
    e.otp.length = 7;
    e.otp.ttl_seconds = 601;
    e.otp.max_attempts = 0;
    e.primary_methods = vec![PrimaryMethod::Password, PrimaryMethod::Password];
    let fields: Vec<_> = e.validate().into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [
            "factors",
            "primary_methods",
            "otp.length",
            "otp.ttl_seconds",
            "otp.max_attempts"
        ]
    );
    assert!(env(EnvMode::Off, &[Totp]).validate().is_empty());
    assert_eq!(env(EnvMode::Off, &[Totp, Totp]).validate().len(), 1);
    assert_eq!(org(OrgMode::Required, Some(&[])).validate().len(), 1);
    assert!(org(OrgMode::Required, None).validate().is_empty());
}

#[test]
fn sms_needs_the_entitlement() {
    let e = env(EnvMode::Required, &[Sms, Totp]);
    assert!(e.check_entitlements(&plan("free")).is_err());
    assert!(e.check_entitlements(&plan("pro")).is_ok());
    let o = org(OrgMode::Required, Some(&[Sms]));
    assert!(o.check_entitlements(&plan("free")).is_err());
}

#[test]
fn unknown_fields_and_factor_types_are_refused() {
    let bad = serde_json::from_str::<EnvironmentPolicy>(r#"{"mode":"off","extra":1}"#);
    assert!(bad.is_err());
    let bad = serde_json::from_str::<EnvironmentPolicy>(r#"{"factors":["voice"]}"#);
    assert!(bad.is_err());
    let ok: EnvironmentPolicy = serde_json::from_str(r#"{"mode":"required"}"#).unwrap();
    assert_eq!(ok.factors, vec![Totp]);
}
