//! The flow state machine: one MFA step of one sign-in.
//!
//! ```text
//! start ─► completed            (mode off, or optional and the user declined before)
//!       ─► enrollment_offered   (optional, nothing enrolled)  ── skip ─► completed
//!       ─► enrollment_required  (required, nothing active)
//!       ─► challenge_required   (a factor is active)
//! enrollment_* ── enroll + verify first code ─► completed
//! challenge_required ── verify code / recovery code ─► completed
//! any ── too many failures ─► locked ;  any ── past expiry ─► expired
//! ```

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::policy::{EffectivePolicy, EnvMode};

/// Where a flow stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlowState {
    /// Done; the result token is available.
    Completed,
    /// MFA is optional and nothing is enrolled: enroll or skip.
    EnrollmentOffered,
    /// MFA is required and nothing is enrolled: enroll.
    EnrollmentRequired,
    /// A factor is active: prove it.
    ChallengeRequired,
    /// Too many failures.
    Locked,
    /// Past its expiry.
    Expired,
}

impl FlowState {
    /// Every state.
    pub const ALL: [Self; 6] = [
        Self::Completed,
        Self::EnrollmentOffered,
        Self::EnrollmentRequired,
        Self::ChallengeRequired,
        Self::Locked,
        Self::Expired,
    ];

    /// The wire name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::EnrollmentOffered => "enrollment_offered",
            Self::EnrollmentRequired => "enrollment_required",
            Self::ChallengeRequired => "challenge_required",
            Self::Locked => "locked",
            Self::Expired => "expired",
        }
    }

    /// The state with this wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether nothing can happen to the flow any more (not even expiry).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Locked | Self::Expired)
    }
}

/// What can happen to a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowEvent {
    /// The user declined an optional enrollment.
    Skip,
    /// The first code of a new factor was verified.
    EnrollmentVerified,
    /// A code or recovery code of an active factor was verified.
    ChallengeVerified,
    /// The failure limit was reached.
    TooManyFailures,
    /// The flow's time ran out.
    Expire,
}

/// The event does not apply in this state (answered 409 `flow_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{event:?} is not possible while the flow is {state:?}")]
pub struct WrongState {
    /// The state the flow was in.
    pub state: FlowState,
    /// What was attempted.
    pub event: FlowEvent,
}

/// MFA applies but no factor type is left to offer (answered 409 `no_eligible_factor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no factor type is both allowed by the policy and different from the primary method")]
pub struct NoEligibleFactor;

/// The state a new flow starts in. `has_active_factor` counts only factors whose type the
/// policy offers to this user.
pub fn start(
    policy: &EffectivePolicy,
    has_active_factor: bool,
    declined_before: bool,
) -> Result<FlowState, NoEligibleFactor> {
    match policy.mode {
        EnvMode::Off => Ok(FlowState::Completed),
        _ if has_active_factor => Ok(FlowState::ChallengeRequired),
        _ if policy.offered_factors.is_empty() => match policy.mode {
            // Optional MFA with nothing to offer is simply not offered.
            EnvMode::Optional => Ok(FlowState::Completed),
            _ => Err(NoEligibleFactor),
        },
        EnvMode::Optional if declined_before => Ok(FlowState::Completed),
        EnvMode::Optional => Ok(FlowState::EnrollmentOffered),
        EnvMode::Required => Ok(FlowState::EnrollmentRequired),
    }
}

/// The state after `event`.
pub fn next(state: FlowState, event: FlowEvent) -> Result<FlowState, WrongState> {
    use FlowEvent as E;
    use FlowState as S;
    let to = match (state, event) {
        (S::Completed | S::Locked | S::Expired, _) => None,
        (_, E::Expire) => Some(S::Expired),
        (_, E::TooManyFailures) => Some(S::Locked),
        (S::EnrollmentOffered, E::Skip) => Some(S::Completed),
        (S::EnrollmentOffered | S::EnrollmentRequired, E::EnrollmentVerified) => Some(S::Completed),
        (S::ChallengeRequired, E::ChallengeVerified) => Some(S::Completed),
        _ => None,
    };
    to.ok_or(WrongState { state, event })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Decision, FactorType, OtpSettings, PolicySource};

    fn policy(mode: EnvMode, offered: &[FactorType]) -> EffectivePolicy {
        EffectivePolicy {
            mode,
            factors: offered.to_vec(),
            offered_factors: offered.to_vec(),
            excluded_factors: Vec::new(),
            recovery_codes: true,
            otp: OtpSettings::default(),
            source: PolicySource::Environment,
            decided_by: Decision::NoOrganization,
        }
    }

    use FactorType::Totp;

    #[test]
    fn the_policy_decides_the_first_state() {
        assert_eq!(
            start(&policy(EnvMode::Off, &[Totp]), true, false),
            Ok(FlowState::Completed)
        );
        assert_eq!(
            start(&policy(EnvMode::Optional, &[Totp]), false, false),
            Ok(FlowState::EnrollmentOffered)
        );
        assert_eq!(
            start(&policy(EnvMode::Optional, &[Totp]), false, true),
            Ok(FlowState::Completed)
        );
        assert_eq!(
            start(&policy(EnvMode::Optional, &[Totp]), true, true),
            Ok(FlowState::ChallengeRequired)
        );
        assert_eq!(
            start(&policy(EnvMode::Required, &[Totp]), false, false),
            Ok(FlowState::EnrollmentRequired)
        );
        assert_eq!(
            start(&policy(EnvMode::Required, &[Totp]), true, false),
            Ok(FlowState::ChallengeRequired)
        );
        assert_eq!(
            start(&policy(EnvMode::Required, &[]), false, false),
            Err(NoEligibleFactor)
        );
        assert_eq!(
            start(&policy(EnvMode::Optional, &[]), false, false),
            Ok(FlowState::Completed)
        );
    }

    #[test]
    fn wire_names_match_serde_and_round_trip() {
        for state in FlowState::ALL {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
            assert_eq!(FlowState::from_name(state.as_str()), Some(state));
            assert_eq!(state.is_final(), next(state, FlowEvent::Expire).is_err());
        }
        assert_eq!(FlowState::from_name("done"), None);
    }

    #[test]
    fn transitions_follow_the_diagram() {
        use FlowEvent as E;
        use FlowState as S;
        assert_eq!(next(S::EnrollmentOffered, E::Skip), Ok(S::Completed));
        assert!(
            next(S::EnrollmentRequired, E::Skip).is_err(),
            "required cannot be skipped"
        );
        assert!(next(S::ChallengeRequired, E::Skip).is_err());
        assert_eq!(
            next(S::EnrollmentRequired, E::EnrollmentVerified),
            Ok(S::Completed)
        );
        assert_eq!(
            next(S::ChallengeRequired, E::ChallengeVerified),
            Ok(S::Completed)
        );
        assert!(next(S::EnrollmentRequired, E::ChallengeVerified).is_err());
        for state in [
            S::EnrollmentOffered,
            S::EnrollmentRequired,
            S::ChallengeRequired,
        ] {
            assert_eq!(next(state, E::TooManyFailures), Ok(S::Locked));
            assert_eq!(next(state, E::Expire), Ok(S::Expired));
        }
        // Final states stay final: a flow completes at most once.
        for state in [S::Completed, S::Locked, S::Expired] {
            for event in [
                E::Skip,
                E::EnrollmentVerified,
                E::ChallengeVerified,
                E::TooManyFailures,
                E::Expire,
            ] {
                assert_eq!(next(state, event), Err(WrongState { state, event }));
            }
        }
    }
}
