//! MFA policies: the environment policy, organization policies, warnings, and the rule
//! that decides which one a sign-in uses.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::plan::{Entitlement, Entitlements};
use crate::validate::FieldError;

mod resolve;
pub use resolve::{
    Decision, EffectivePolicy, ExcludedFactor, ExclusionReason, OrgScope, PolicySource, resolve,
};

/// A second factor type.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FactorType {
    /// A code sent by email.
    Email,
    /// A code sent by SMS.
    Sms,
    /// An authenticator app (RFC 6238).
    Totp,
}

impl FactorType {
    /// Every factor type.
    pub const ALL: [Self; 3] = [Self::Email, Self::Sms, Self::Totp];

    /// The factor type with this wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Email and SMS are restricted authenticators (NIST SP 800-63B rev 4 §3.1.3).
    pub fn is_restricted(self) -> bool {
        matches!(self, Self::Email | Self::Sms)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Totp => "totp",
        }
    }
}

/// How the user signed in before twostep's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrimaryMethod {
    /// Password.
    Password,
    /// Magic link sent by email.
    EmailLink,
    /// Code sent by email.
    EmailCode,
    /// Code sent to the phone.
    PhoneCode,
    /// Social or enterprise identity provider.
    Social,
    /// Anything else.
    Other,
}

impl PrimaryMethod {
    /// Every method, in wire order.
    pub const ALL: [Self; 6] = [
        Self::Password,
        Self::EmailLink,
        Self::EmailCode,
        Self::PhoneCode,
        Self::Social,
        Self::Other,
    ];

    /// The method with this wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// The factor riding the same channel, which would add no independent proof.
    pub fn channel(self) -> Option<FactorType> {
        match self {
            Self::EmailLink | Self::EmailCode => Some(FactorType::Email),
            Self::PhoneCode => Some(FactorType::Sms),
            Self::Password | Self::Social | Self::Other => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::EmailLink => "email_link",
            Self::EmailCode => "email_code",
            Self::PhoneCode => "phone_code",
            Self::Social => "social",
            Self::Other => "other",
        }
    }
}

/// Environment-wide MFA mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnvMode {
    /// No MFA.
    Off,
    /// Users are offered enrollment and may skip it.
    Optional,
    /// Users must enroll and pass a factor.
    Required,
}

/// An organization's MFA mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgMode {
    /// Follow the environment policy.
    Inherit,
    /// Offered, may be skipped.
    Optional,
    /// Mandatory.
    Required,
}

/// One-time code settings; a policy may tighten the defaults, never loosen them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OtpSettings {
    /// Digits per code: 6 or 8.
    pub length: u8,
    /// Seconds a code stays valid: 60 to 600.
    pub ttl_seconds: u32,
    /// Wrong guesses allowed per challenge: 1 to 5.
    pub max_attempts: u32,
}

impl Default for OtpSettings {
    fn default() -> Self {
        Self {
            length: 6,
            ttl_seconds: 600,
            max_attempts: 5,
        }
    }
}

/// The tenant's environment-wide policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EnvironmentPolicy {
    /// Whether MFA is off, offered or required.
    pub mode: EnvMode,
    /// Factor types users may enroll.
    pub factors: Vec<FactorType>,
    /// Whether recovery codes are issued on first enrollment.
    pub recovery_codes: bool,
    /// Offer a factor even when it rides the same channel as the primary method.
    pub allow_same_as_primary: bool,
    /// The primary sign-in methods the tenant uses (for warnings only).
    pub primary_methods: Vec<PrimaryMethod>,
    /// One-time code settings.
    pub otp: OtpSettings,
}

impl Default for EnvironmentPolicy {
    fn default() -> Self {
        Self {
            mode: EnvMode::Off,
            factors: vec![FactorType::Totp],
            recovery_codes: true,
            allow_same_as_primary: false,
            primary_methods: Vec::new(),
            otp: OtpSettings::default(),
        }
    }
}

/// An organization's own policy; applies only while the plan has `mfa_per_org`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPolicy {
    /// `inherit` follows the environment policy.
    pub mode: OrgMode,
    /// A narrower set of factor types; absent means the environment's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factors: Option<Vec<FactorType>>,
}

impl OrganizationPolicy {
    /// Whether the organization sets anything of its own.
    pub fn is_own(&self) -> bool {
        self.mode != OrgMode::Inherit
    }
}

/// Something a saved policy does that the tenant should know about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PolicyWarning {
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

fn check_factor_list(factors: &[FactorType], field: &str, errors: &mut Vec<FieldError>) {
    if factors.is_empty() {
        errors.push(FieldError::new("must name at least one factor type").at(field));
    }
    let mut seen = Vec::new();
    for f in factors {
        if seen.contains(f) {
            errors.push(FieldError::new(format!("lists {} twice", f.as_str())).at(field));
        }
        seen.push(*f);
    }
}

fn check_sms_entitlement(factors: &[FactorType], plan: &Entitlements) -> Result<(), Entitlement> {
    if factors.contains(&FactorType::Sms) {
        plan.require(Entitlement::Sms, 0)?;
    }
    Ok(())
}

fn restricted_only_warning(factors: &[FactorType]) -> Option<PolicyWarning> {
    (!factors.is_empty() && factors.iter().all(|f| f.is_restricted())).then(|| PolicyWarning {
        code: "restricted_factors_only",
        message: "only restricted factors (email, SMS) are allowed; NIST SP 800-63B recommends \
                  also allowing an authenticator app (totp)"
            .to_owned(),
    })
}

impl EnvironmentPolicy {
    /// Field errors of a submitted policy.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_factor_list(&self.factors, "factors", &mut errors);
        let mut seen = Vec::new();
        for m in &self.primary_methods {
            if seen.contains(m) {
                errors.push(
                    FieldError::new(format!("lists {} twice", m.as_str())).at("primary_methods"),
                );
            }
            seen.push(*m);
        }
        if ![6, 8].contains(&self.otp.length) {
            errors.push(FieldError::new("must be 6 or 8").at("otp.length"));
        }
        if !(60..=600).contains(&self.otp.ttl_seconds) {
            errors.push(FieldError::new("must be between 60 and 600").at("otp.ttl_seconds"));
        }
        if !(1..=5).contains(&self.otp.max_attempts) {
            errors.push(FieldError::new("must be between 1 and 5").at("otp.max_attempts"));
        }
        errors
    }

    /// Refuses factor types the plan does not include.
    pub fn check_entitlements(&self, plan: &Entitlements) -> Result<(), Entitlement> {
        check_sms_entitlement(&self.factors, plan)
    }

    /// Warnings to return with a saved policy.
    pub fn warnings(&self) -> Vec<PolicyWarning> {
        let mut warnings = Vec::new();
        if self.mode == EnvMode::Off {
            return warnings;
        }
        warnings.extend(restricted_only_warning(&self.factors));
        for method in &self.primary_methods {
            let Some(channel) = method.channel() else {
                continue;
            };
            if !self.factors.contains(&channel) {
                continue;
            }
            warnings.push(PolicyWarning {
                code: "factor_same_as_primary",
                message: format!(
                    "the {} factor rides the same channel as the primary method {}{}",
                    channel.as_str(),
                    method.as_str(),
                    if self.allow_same_as_primary {
                        "; it is offered anyway because allow_same_as_primary is set"
                    } else {
                        "; it is not offered to users who signed in that way"
                    }
                ),
            });
            if !self.allow_same_as_primary && self.factors.iter().all(|f| *f == channel) {
                warnings.push(PolicyWarning {
                    code: "no_factor_for_primary_method",
                    message: format!(
                        "users who sign in with {} have no factor left to enroll",
                        method.as_str()
                    ),
                });
            }
        }
        warnings
    }
}

impl OrganizationPolicy {
    /// Field errors of a submitted policy.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(factors) = &self.factors {
            check_factor_list(factors, "factors", &mut errors);
        }
        errors
    }

    /// Refuses factor types the plan does not include.
    pub fn check_entitlements(&self, plan: &Entitlements) -> Result<(), Entitlement> {
        check_sms_entitlement(self.factors.as_deref().unwrap_or_default(), plan)
    }

    /// Warnings to return with a saved policy.
    pub fn warnings(&self) -> Vec<PolicyWarning> {
        match (&self.mode, &self.factors) {
            (OrgMode::Inherit, _) | (_, None) => Vec::new(),
            (_, Some(factors)) => restricted_only_warning(factors).into_iter().collect(),
        }
    }
}

/// Organizations whose own policy a plan change would suspend: all of them when the
/// change takes `mfa_per_org` away, none otherwise (policies already suspended stay so).
pub fn suspended_by_plan_change<O: Clone>(
    current: &Entitlements,
    next: &Entitlements,
    orgs_with_own_policy: &[O],
) -> Vec<O> {
    if current.mfa_per_org && !next.mfa_per_org {
        orgs_with_own_policy.to_vec()
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests;
