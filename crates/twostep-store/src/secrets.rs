//! Installation-wide secrets kept by the service itself (stored as digests where the
//! secret is only ever compared).

use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use crate::StoreError;
use crate::entity::service_secret::{ActiveModel, Entity};

/// Name under which the operator token's SHA-256 digest is kept.
pub const OPERATOR_TOKEN_DIGEST: &str = "operator_token_sha256";

/// The stored value of `name`, if any.
pub async fn get(conn: &impl ConnectionTrait, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(Entity::find_by_id(name.to_owned())
        .one(conn)
        .await?
        .map(|m| m.value))
}

/// Stores `value` under `name` unless something is stored there already; returns what is
/// stored afterwards and whether it is `value`, so two processes starting at once agree
/// on one value.
pub async fn get_or_insert(
    conn: &impl ConnectionTrait,
    name: &str,
    value: Vec<u8>,
) -> Result<(Vec<u8>, bool), StoreError> {
    let inserted = ActiveModel {
        name: Set(name.to_owned()),
        value: Set(value),
        created_at: Set(crate::now()),
    }
    .insert(conn)
    .await;
    match inserted {
        Ok(model) => Ok((model.value, true)),
        Err(err) => match StoreError::from(err) {
            StoreError::Conflict => {
                let stored = get(conn, name).await?.ok_or(StoreError::Conflict)?;
                Ok((stored, false))
            }
            other => Err(other),
        },
    }
}
