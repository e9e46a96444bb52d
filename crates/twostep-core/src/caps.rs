//! Hourly send limits per tenant: a guard against toll fraud (SMS pumping) and abuse.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validate::FieldError;

/// Limits for one channel, per rolling hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelCaps {
    /// Messages to one address or number (1–1000).
    pub per_destination: u32,
    /// Messages of the tenant in all (1–1000000).
    pub per_tenant: u32,
}

/// A tenant's hourly limits per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryCaps {
    /// SMS limits.
    pub sms: ChannelCaps,
    /// Email limits.
    pub email: ChannelCaps,
}

impl Default for DeliveryCaps {
    /// SMS: 5 per number and 200 per tenant an hour; email: 10 per address and 2000.
    fn default() -> Self {
        Self {
            sms: ChannelCaps {
                per_destination: 5,
                per_tenant: 200,
            },
            email: ChannelCaps {
                per_destination: 10,
                per_tenant: 2000,
            },
        }
    }
}

impl DeliveryCaps {
    /// Field errors of submitted limits.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (name, caps) in [("sms", self.sms), ("email", self.email)] {
            if !(1..=1000).contains(&caps.per_destination) {
                errors.push(
                    FieldError::new("must be between 1 and 1000")
                        .at(format!("delivery_caps.{name}.per_destination")),
                );
            }
            if !(1..=1_000_000).contains(&caps.per_tenant) {
                errors.push(
                    FieldError::new("must be between 1 and 1000000")
                        .at(format!("delivery_caps.{name}.per_tenant")),
                );
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bounds_are_checked() {
        assert!(DeliveryCaps::default().validate().is_empty());
        let mut caps = DeliveryCaps::default();
        caps.sms.per_destination = 0;
        caps.email.per_tenant = 2_000_000;
        let fields: Vec<_> = caps.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "delivery_caps.sms.per_destination",
                "delivery_caps.email.per_tenant"
            ]
        );
    }
}
