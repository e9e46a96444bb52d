//! Plans and their entitlements.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validate::FieldError;

/// What a plan allows a tenant to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Entitlements {
    /// Organizations may carry their own MFA policy.
    #[serde(default)]
    pub mfa_per_org: bool,
    /// SMS may be an allowed factor.
    #[serde(default)]
    pub sms: bool,
    /// Most organizations the tenant may have; `null` for no limit.
    #[serde(default)]
    pub max_orgs: Option<u32>,
}

/// Which entitlement an action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entitlement {
    /// Per-organization MFA policies.
    MfaPerOrg,
    /// SMS as a factor.
    Sms,
    /// One more organization under `max_orgs`.
    MoreOrgs,
}

impl Entitlement {
    /// The entitlement's field name, as reported to clients.
    pub fn name(self) -> &'static str {
        match self {
            Self::MfaPerOrg => "mfa_per_org",
            Self::Sms => "sms",
            Self::MoreOrgs => "max_orgs",
        }
    }
}

impl Entitlements {
    /// Refuses an action the plan does not allow. `org_count` is the tenant's current
    /// number of organizations, used for [`Entitlement::MoreOrgs`].
    pub fn require(&self, what: Entitlement, org_count: u64) -> Result<(), Entitlement> {
        let allowed = match what {
            Entitlement::MfaPerOrg => self.mfa_per_org,
            Entitlement::Sms => self.sms,
            Entitlement::MoreOrgs => self.max_orgs.is_none_or(|max| org_count < u64::from(max)),
        };
        if allowed { Ok(()) } else { Err(what) }
    }
}

/// A plan's id: a lowercase slug such as `scale`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlanSlug(String);

impl PlanSlug {
    /// Accepts 1–32 characters of `a-z`, `0-9` and `-`, starting with a letter.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let ok = (1..=32).contains(&text.len())
            && text.starts_with(|c: char| c.is_ascii_lowercase())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(FieldError::new(
                "must be 1-32 characters of a-z, 0-9 and '-', starting with a letter",
            ))
        }
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A plan as seeded, for tests of the rules (the migration holds the real seed).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlanSeed {
    /// Slug.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Ordering from cheapest to dearest.
    pub rank: i32,
    /// What it allows.
    pub entitlements: Entitlements,
}

/// The plans every installation starts with; only `scale` has per-organization MFA.
#[cfg(test)]
pub(crate) fn seeded_plans() -> Vec<PlanSeed> {
    let plan = |id, name, rank, mfa_per_org, sms, max_orgs| PlanSeed {
        id,
        name,
        rank,
        entitlements: Entitlements {
            mfa_per_org,
            sms,
            max_orgs,
        },
    };
    vec![
        plan("free", "Free", 0, false, false, Some(5)),
        plan("pro", "Pro", 10, false, true, Some(100)),
        plan("plus", "Plus", 20, false, true, Some(1000)),
        plan("scale", "Scale", 30, true, true, None),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scale_has_mfa_per_org() {
        let with: Vec<_> = seeded_plans()
            .into_iter()
            .filter(|p| p.entitlements.mfa_per_org)
            .map(|p| p.id)
            .collect();
        assert_eq!(with, vec!["scale"]);
    }

    #[test]
    fn gates_entitlements() {
        let pro = &seeded_plans()[1].entitlements;
        let scale = &seeded_plans()[3].entitlements;
        assert_eq!(
            pro.require(Entitlement::MfaPerOrg, 0),
            Err(Entitlement::MfaPerOrg)
        );
        assert_eq!(scale.require(Entitlement::MfaPerOrg, 0), Ok(()));
        assert_eq!(pro.require(Entitlement::MoreOrgs, 99), Ok(()));
        assert_eq!(
            pro.require(Entitlement::MoreOrgs, 100),
            Err(Entitlement::MoreOrgs)
        );
        assert_eq!(scale.require(Entitlement::MoreOrgs, 1_000_000), Ok(()));
        let free = &seeded_plans()[0].entitlements;
        assert_eq!(free.require(Entitlement::Sms, 0), Err(Entitlement::Sms));
    }

    #[test]
    fn slugs_are_checked() {
        assert!(PlanSlug::parse("scale").is_ok());
        assert!(PlanSlug::parse("team-2").is_ok());
        for bad in ["", "Scale", "2team", "a b", &"a".repeat(33)] {
            assert!(PlanSlug::parse(bad).is_err(), "{bad:?}");
        }
    }
}
