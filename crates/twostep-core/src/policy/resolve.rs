//! Which policy a sign-in uses, and why.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    EnvMode, EnvironmentPolicy, FactorType, OrgMode, OrganizationPolicy, OtpSettings, PrimaryMethod,
};
use crate::plan::Entitlements;

/// The organization context of a sign-in.
#[derive(Debug, Clone, Copy)]
pub enum OrgScope<'a> {
    /// No organization.
    None,
    /// An organization, with its own policy if it has one.
    Org(Option<&'a OrganizationPolicy>),
}

/// Where the effective policy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicySource {
    /// The tenant's environment policy.
    Environment,
    /// The organization's own policy.
    Organization,
}

/// The rule that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The sign-in has no organization.
    NoOrganization,
    /// The organization has no policy of its own.
    OrganizationHasNoPolicy,
    /// The organization's policy says `inherit`.
    OrganizationInherits,
    /// The organization's own policy applies.
    OrganizationPolicy,
    /// The organization has a policy, but the plan lacks `mfa_per_org`, so it is suspended.
    OrganizationPolicySuspended,
}

/// The rule that left a factor type out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionReason {
    /// It rides the same channel as the primary sign-in method.
    SameAsPrimary,
}

/// Why a factor type is not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExcludedFactor {
    /// The factor type left out.
    #[serde(rename = "type")]
    pub factor: FactorType,
    /// Always `same_as_primary` for now.
    pub reason: ExclusionReason,
}

/// The policy a sign-in uses, with the reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EffectivePolicy {
    /// Whether MFA is off, optional or required.
    pub mode: EnvMode,
    /// Factor types the policy allows.
    pub factors: Vec<FactorType>,
    /// Factor types actually offered to this user (allowed, minus exclusions).
    pub offered_factors: Vec<FactorType>,
    /// Allowed factor types that are not offered, and why.
    pub excluded_factors: Vec<ExcludedFactor>,
    /// Whether recovery codes are issued.
    pub recovery_codes: bool,
    /// One-time code settings.
    pub otp: OtpSettings,
    /// Which policy applies.
    pub source: PolicySource,
    /// The rule that decided.
    pub decided_by: Decision,
}

/// Resolves the policy for one sign-in: the organization's own policy applies only when
/// the plan has `mfa_per_org` and the policy is not `inherit`; otherwise the environment
/// policy. A factor on the primary method's channel is excluded unless allowed.
pub fn resolve(
    env: &EnvironmentPolicy,
    org: OrgScope<'_>,
    plan: &Entitlements,
    primary: Option<PrimaryMethod>,
) -> EffectivePolicy {
    let (decided_by, own) = match org {
        OrgScope::None => (Decision::NoOrganization, None),
        OrgScope::Org(None) => (Decision::OrganizationHasNoPolicy, None),
        OrgScope::Org(Some(p)) if !p.is_own() => (Decision::OrganizationInherits, None),
        OrgScope::Org(Some(_)) if !plan.mfa_per_org => {
            (Decision::OrganizationPolicySuspended, None)
        }
        OrgScope::Org(Some(p)) => (Decision::OrganizationPolicy, Some(p)),
    };
    let (source, mode, factors) = match own {
        None => (PolicySource::Environment, env.mode, env.factors.clone()),
        Some(p) => (
            PolicySource::Organization,
            match p.mode {
                OrgMode::Required => EnvMode::Required,
                OrgMode::Optional | OrgMode::Inherit => EnvMode::Optional,
            },
            p.factors.clone().unwrap_or_else(|| env.factors.clone()),
        ),
    };
    let clash = primary
        .and_then(PrimaryMethod::channel)
        .filter(|_| !env.allow_same_as_primary);
    let (excluded, offered): (Vec<_>, Vec<_>) = factors.iter().partition(|f| Some(**f) == clash);
    EffectivePolicy {
        mode,
        offered_factors: if mode == EnvMode::Off {
            Vec::new()
        } else {
            offered
        },
        excluded_factors: excluded
            .into_iter()
            .map(|factor| ExcludedFactor {
                factor,
                reason: ExclusionReason::SameAsPrimary,
            })
            .collect(),
        factors,
        recovery_codes: env.recovery_codes,
        otp: env.otp,
        source,
        decided_by,
    }
}
