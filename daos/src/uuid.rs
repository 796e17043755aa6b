//! UUIDs and "label or UUID" references.
//!
//! libdaos accepts a pool or container either by label or by UUID string, and tells them apart
//! by shape (see [`crate::label::is_uuid_string`]). [`EntityRef`] makes that decision once, in
//! Rust, so code holding one knows which it has.
//!
//! ```
//! use daos::uuid::{EntityRef, Uuid};
//!
//! let by_uuid: EntityRef = "0b7f4bd2-6c0e-4f7e-9e3a-3c1f3e6f8a10".parse().unwrap();
//! assert!(matches!(by_uuid, EntityRef::Uuid(_)));
//! let by_label: EntityRef = "tank".parse().unwrap();
//! assert_eq!(by_label, EntityRef::Label("tank".to_string()));
//! assert!("no spaces".parse::<EntityRef>().is_err());
//! assert_eq!(daos::uuid::from_raw(&[0; 16]), Uuid::nil());
//! ```

pub use ::uuid::Uuid;

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::label;

/// A `uuid_t` (16 bytes, as libuuid lays it out) as a [`Uuid`].
pub fn from_raw(raw: &[u8; 16]) -> Uuid {
    Uuid::from_bytes(*raw)
}

/// A [`Uuid`] as a `uuid_t`.
pub fn to_raw(uuid: &Uuid) -> [u8; 16] {
    *uuid.as_bytes()
}

/// A pool or container named by label or by UUID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntityRef {
    /// Named by its UUID.
    Uuid(Uuid),
    /// Named by its label.
    Label(String),
}

impl EntityRef {
    /// Parses `s` as libdaos does: a UUID string if it has that shape, else it must be a valid
    /// label (`-DER_INVAL` otherwise).
    pub fn parse(s: &str) -> Result<EntityRef> {
        if label::is_uuid_string(s) {
            return Uuid::parse_str(s)
                .map(EntityRef::Uuid)
                .map_err(|e| Error::invalid("EntityRef::parse", format!("{s:?}: {e}")));
        }
        if label::is_valid(s) {
            Ok(EntityRef::Label(s.to_string()))
        } else {
            Err(Error::invalid(
                "EntityRef::parse",
                format!("{s:?} is neither a UUID nor a valid label"),
            ))
        }
    }

    /// The label, if this reference is one.
    pub fn label(&self) -> Option<&str> {
        match self {
            EntityRef::Label(l) => Some(l),
            EntityRef::Uuid(_) => None,
        }
    }

    /// The UUID, if this reference is one.
    pub fn uuid(&self) -> Option<Uuid> {
        match self {
            EntityRef::Uuid(u) => Some(*u),
            EntityRef::Label(_) => None,
        }
    }
}

impl FromStr for EntityRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<EntityRef> {
        EntityRef::parse(s)
    }
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntityRef::Uuid(u) => write!(f, "{}", u.hyphenated()),
            EntityRef::Label(l) => f.write_str(l),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_round_trip() {
        let u = Uuid::parse_str("0b7f4bd2-6c0e-4f7e-9e3a-3c1f3e6f8a10").unwrap();
        assert_eq!(from_raw(&to_raw(&u)), u);
        assert_eq!(to_raw(&u)[0], 0x0b);
    }

    #[test]
    fn display_round_trip() {
        for s in ["0b7f4bd2-6c0e-4f7e-9e3a-3c1f3e6f8a10", "tank", "pvc-1"] {
            assert_eq!(EntityRef::parse(s).unwrap().to_string(), s);
        }
        let upper = EntityRef::parse("0B7F4BD2-6C0E-4F7E-9E3A-3C1F3E6F8A10").unwrap();
        assert_eq!(upper.to_string(), "0b7f4bd2-6c0e-4f7e-9e3a-3c1f3e6f8a10");
        assert!(EntityRef::parse("").unwrap_err().is_invalid());
    }
}
