//! Codes: sending email/SMS codes through the delivery pipeline, and checking a TOTP or
//! email/SMS code with single use enforced in the database.

use chrono::Duration;
use twostep_core::otp;
use twostep_core::policy::FactorType;
use twostep_core::throttle::{self, Gate};
use twostep_core::totp::TotpKey;
use twostep_queue::Outgoing;
use twostep_store::entity::{challenge, factor};
use twostep_store::{challenges, factors, tenants, user_mfa};
use uuid::Uuid;

use super::Flow;
use crate::error::ApiError;
use crate::state::AppState;

/// Seconds between two codes for one factor.
pub const RESEND_COOLDOWN_SECONDS: i64 = 30;
/// Codes sent to one user per hour.
pub const SENDS_PER_USER_HOUR: usize = 5;

/// The type of a stored factor.
pub fn factor_type(row: &factor::Model) -> Result<FactorType, ApiError> {
    FactorType::from_name(&row.factor_type)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("factor type {}", row.factor_type)))
}

/// An attempt at a code, taken (and counted as a failure in advance) by [`gate`].
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    /// The user's consecutive failures should this attempt fail.
    pub counted: u32,
}

/// Refuses with 423 while the user must wait or is blocked, or while another attempt of
/// the user is being decided; otherwise takes the attempt.
pub async fn gate(state: &AppState, flow: &Flow) -> Result<Attempt, ApiError> {
    let (tenant_id, user_id) = (flow.row.tenant_id, flow.row.user_id);
    let row = user_mfa::get(&state.db, tenant_id, user_id).await?;
    let (failures, last) = row.map_or((0, None), |r| (r.failures.max(0) as u32, r.last_failure_at));
    let now = state.clock.now();
    match throttle::gate(failures, last, now) {
        Gate::Open => {}
        Gate::Wait(seconds) => return Err(ApiError::FactorLocked(Some(seconds.max(1) as u64))),
        Gate::Blocked => return Err(ApiError::FactorLocked(None)),
    }
    if !user_mfa::reserve_attempt(&state.db, tenant_id, user_id, failures, now).await? {
        return Err(ApiError::FactorLocked(Some(1)));
    }
    Ok(Attempt {
        counted: failures + 1,
    })
}

/// Tries `code` for `factor` in `flow`: takes the attempt (the throttle), checks the
/// code, gives the attempt back when it was no guess (an expired or replaced code), and
/// answers a wrong code with what it cost.
pub async fn try_code(
    state: &AppState,
    flow: &Flow,
    factor: &factor::Model,
    code: &str,
) -> Result<(), ApiError> {
    let attempt = gate(state, flow).await?;
    match check(state, flow, factor, code).await? {
        Checked::Accepted => Ok(()),
        Checked::Expired => {
            refund(state, flow, attempt).await?;
            Err(ApiError::CodeExpired)
        }
        Checked::Rejected(left) => {
            Err(super::outcome::failure(state, flow, attempt, Some(factor.id), left).await?)
        }
    }
}

/// Gives back an attempt that was not a guess.
async fn refund(state: &AppState, flow: &Flow, attempt: Attempt) -> Result<(), ApiError> {
    user_mfa::refund_attempt(
        &state.db,
        flow.row.tenant_id,
        flow.row.user_id,
        attempt.counted,
    )
    .await?;
    Ok(())
}

/// Sends a fresh code for `factor` in `flow`: the challenge and its delivery are stored
/// together unless the resend cooldown, the user's hourly limit or the tenant's caps
/// forbid it (429); the previous code is void. Then the delivery's job is queued.
pub async fn send(
    state: &AppState,
    flow: &Flow,
    factor: &factor::Model,
) -> Result<challenge::Model, ApiError> {
    let now = state.clock.now();
    let (tenant_id, user_id) = (flow.row.tenant_id, flow.row.user_id);
    let kind = factor_type(factor)?;
    if kind == FactorType::Totp {
        return Err(ApiError::field(
            "factor_id",
            "a totp factor needs no code to be sent",
        ));
    }
    let destination = factor
        .destination
        .clone()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("factor without destination")))?;
    let tenant = tenants::get(&state.db, tenant_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let caps = tenants::delivery_caps(&tenant);
    let caps = if kind == FactorType::Sms {
        caps.sms
    } else {
        caps.email
    };
    let otp_settings = flow.policy.otp;
    let code = otp::generate(otp_settings.length);
    let challenge_id = Uuid::now_v7();
    let expires_at = now + Duration::seconds(i64::from(otp_settings.ttl_seconds));
    let delivery = twostep_queue::seal(
        &state.secret_box,
        Outgoing {
            tenant_id,
            channel: kind.as_str(),
            destination,
            code: code.clone(),
            expires_at,
        },
    );
    let delivery_id = delivery.id;
    let challenge = challenges::NewChallenge {
        id: challenge_id,
        tenant_id,
        user_id,
        flow_id: flow.row.id,
        factor_id: factor.id,
        code_digest: otp::digest(state.secret_box.mac_key(), challenge_id.as_bytes(), &code)
            .to_vec(),
        max_attempts: otp_settings.max_attempts as i32,
        expires_at,
    };
    let limits = challenges::SendLimits {
        cooldown: Duration::seconds(RESEND_COOLDOWN_SECONDS),
        per_user_hour: SENDS_PER_USER_HOUR,
    };
    let stored =
        challenges::create_with_delivery(&state.db, challenge, delivery, caps.into(), limits, now)
            .await?;
    let challenge = match stored {
        challenges::Sent::Limited { retry_after } => {
            return Err(ApiError::RateLimited(retry_after));
        }
        challenges::Sent::Created(challenge) => *challenge,
    };
    twostep_queue::push_stored(&state.db, &state.queue, delivery_id)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(challenge)
}

/// What checking a code found.
enum Checked {
    /// Right, and now used up.
    Accepted,
    /// Wrong or already used; `Some(n)` guesses left on the challenge.
    Rejected(Option<u32>),
    /// The challenge is past its expiry, replaced, or out of attempts.
    Expired,
}

/// Checks `code` for `factor` in `flow`. A TOTP step, like an email/SMS code, is taken
/// by compare-and-set, so of many concurrent right answers one is accepted.
async fn check(
    state: &AppState,
    flow: &Flow,
    factor: &factor::Model,
    code: &str,
) -> Result<Checked, ApiError> {
    let now = state.clock.now();
    match factor_type(factor)? {
        FactorType::Totp => {
            let sealed = factor
                .secret
                .as_deref()
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("totp factor without secret")))?;
            let secret = state
                .secret_box
                .open(sealed, factor.id.as_bytes())
                .map_err(|e| ApiError::Internal(e.into()))?;
            let key = TotpKey::new(&secret).map_err(|e| ApiError::Internal(e.into()))?;
            let time = u64::try_from(now.timestamp()).unwrap_or(0);
            let accepted = match key.verify(code, time) {
                Some(step) => {
                    factors::take_step(&state.db, factor.tenant_id, factor.id, step, now).await?
                }
                None => false,
            };
            Ok(if accepted {
                Checked::Accepted
            } else {
                Checked::Rejected(None)
            })
        }
        FactorType::Email | FactorType::Sms => {
            let Some(challenge) =
                challenges::open_for(&state.db, flow.row.tenant_id, flow.row.id, factor.id).await?
            else {
                return Ok(Checked::Expired);
            };
            if challenge.expires_at <= now || challenge.attempts >= challenge.max_attempts {
                return Ok(Checked::Expired);
            }
            let key = state.secret_box.mac_key();
            if otp::matches(key, challenge.id.as_bytes(), code, &challenge.code_digest)
                && challenges::consume(&state.db, challenge.tenant_id, challenge.id, now).await?
            {
                factors::touch(&state.db, factor.tenant_id, factor.id, now).await?;
                return Ok(Checked::Accepted);
            }
            let left = challenges::fail(&state.db, challenge.tenant_id, challenge.id).await?;
            Ok(Checked::Rejected(Some(left)))
        }
    }
}
