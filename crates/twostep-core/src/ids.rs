//! Prefixed identifiers: UUIDv7 underneath, `org_…`, `usr_…` and so on at the edge.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use uuid::Uuid;

/// What a prefixed identifier names; the prefix tells the kinds apart at the API.
pub trait Kind {
    /// The prefix including the underscore, e.g. `org_`.
    const PREFIX: &'static str;
}

/// A UUIDv7 identifier rendered as `<prefix><32 hex digits>`.
pub struct PrefixedId<K: Kind>(Uuid, PhantomData<K>);

/// The identifier could not be parsed (wrong prefix or malformed UUID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed identifier")]
pub struct MalformedId;

impl<K: Kind> PrefixedId<K> {
    /// A new time-ordered identifier.
    pub fn new() -> Self {
        Self(Uuid::now_v7(), PhantomData)
    }

    /// Wraps an identifier read from storage.
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid, PhantomData)
    }

    /// The underlying UUID, for storage.
    pub fn uuid(&self) -> Uuid {
        self.0
    }

    /// Parses `<prefix><uuid>`; any other shape is refused.
    pub fn parse(text: &str) -> Result<Self, MalformedId> {
        let rest = text.strip_prefix(K::PREFIX).ok_or(MalformedId)?;
        if rest.len() != 32 || !rest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(MalformedId);
        }
        Uuid::try_parse(rest)
            .map(Self::from_uuid)
            .map_err(|_| MalformedId)
    }
}

impl<K: Kind> Default for PrefixedId<K> {
    fn default() -> Self {
        Self::new()
    }
}

// Manual impls: derives would demand `K: Clone` etc. of the zero-sized marker.
impl<K: Kind> Clone for PrefixedId<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: Kind> Copy for PrefixedId<K> {}
impl<K: Kind> PartialEq for PrefixedId<K> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<K: Kind> Eq for PrefixedId<K> {}
impl<K: Kind> std::hash::Hash for PrefixedId<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl<K: Kind> fmt::Display for PrefixedId<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", K::PREFIX, self.0.simple())
    }
}

impl<K: Kind> fmt::Debug for PrefixedId<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<K: Kind> FromStr for PrefixedId<K> {
    type Err = MalformedId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<K: Kind> serde::Serialize for PrefixedId<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, K: Kind> serde::Deserialize<'de> for PrefixedId<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(|_| {
            serde::de::Error::custom(format!(
                "expected an identifier starting with {}",
                K::PREFIX
            ))
        })
    }
}

/// Marker kinds, one per prefixed resource.
pub mod kind {
    use super::Kind;

    macro_rules! kinds {
        ($($name:ident => $prefix:literal),* $(,)?) => {$(
            #[doc = concat!("Identifiers prefixed `", $prefix, "`.")]
            #[derive(Debug)]
            pub enum $name {}
            impl Kind for $name {
                const PREFIX: &'static str = $prefix;
            }
        )*};
    }

    kinds! {
        Tenant => "ten_",
        Org => "org_",
        User => "usr_",
        ApiKey => "key_",
        AuditEvent => "evt_",
        OutboxMessage => "msg_",
        Delivery => "dlv_",
        Factor => "fct_",
        Flow => "flw_",
        Challenge => "chl_",
    }
}

/// A tenant's identifier, `ten_…`.
pub type TenantId = PrefixedId<kind::Tenant>;
/// An organization's identifier, `org_…`.
pub type OrgId = PrefixedId<kind::Org>;
/// A user's identifier, `usr_…`.
pub type UserId = PrefixedId<kind::User>;
/// An API key's identifier, `key_…`.
pub type ApiKeyId = PrefixedId<kind::ApiKey>;
/// An audit event's identifier, `evt_…`.
pub type AuditEventId = PrefixedId<kind::AuditEvent>;
/// A delivery's identifier, `dlv_…`.
pub type DeliveryId = PrefixedId<kind::Delivery>;
/// A factor's identifier, `fct_…`.
pub type FactorId = PrefixedId<kind::Factor>;
/// A flow's identifier, `flw_…`.
pub type FlowId = PrefixedId<kind::Flow>;
/// A challenge's identifier, `chl_…`.
pub type ChallengeId = PrefixedId<kind::Challenge>;
/// An outbox message's identifier, `msg_…`.
pub type OutboxMessageId = PrefixedId<kind::OutboxMessage>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = OrgId::new();
        let text = id.to_string();
        assert!(text.starts_with("org_"));
        assert_eq!(text.len(), 4 + 32);
        assert_eq!(OrgId::parse(&text), Ok(id));
    }

    #[test]
    fn refuses_other_prefixes_and_shapes() {
        let user = UserId::new().to_string();
        assert_eq!(OrgId::parse(&user), Err(MalformedId));
        assert_eq!(OrgId::parse("org_"), Err(MalformedId));
        assert_eq!(OrgId::parse("org_xyz"), Err(MalformedId));
        let hyphenated = format!("org_{}", uuid::Uuid::now_v7().hyphenated());
        assert_eq!(OrgId::parse(&hyphenated), Err(MalformedId));
        assert_eq!(OrgId::parse(&format!(" {user}")), Err(MalformedId));
    }

    #[test]
    fn newer_ids_sort_after_older_ones() {
        let a = TenantId::new();
        let b = TenantId::new();
        assert!(a.uuid() < b.uuid());
    }
}
