//! Arguments that name a pool or a container: [`PoolRef`], [`ContainerRef`].
//!
//! libdaos takes a pool or container as one string, a label or a UUID, and tells them apart
//! by shape. The methods of this crate take `impl Into<ContainerRef>` (or `PoolRef`), so a
//! caller passes whatever it holds: a label (`"vol-1"`, `&String`), a [`Uuid`], a UUID
//! string, an [`EntityRef`], or something that already names one (a [`ContainerEntry`] from
//! a listing, an open [`Container`]).
//!
//! Strings are taken by reference only (`&str`, `&String`), not as an owned `String`: with an
//! owned form, every existing `open_container(&uuid.to_string(), ..)` would draw clippy's
//! `needless_borrows_for_generic_args`.
//!
//! ```no_run
//! use daos::{ContainerAccess, Daos, Pool, PoolAccess, Uuid};
//!
//! let daos = Daos::init()?;
//! let pool = Pool::connect(&daos, "tank", None, PoolAccess::ReadWrite)?;
//! let by_label = pool.open_container("vol-1", ContainerAccess::ReadOnly)?;
//! let by_uuid = pool.open_container(by_label.uuid(), ContainerAccess::ReadOnly)?;
//! for entry in pool.list_containers()? {
//!     let cont = pool.open_container(&entry, ContainerAccess::ReadOnly)?;
//!     println!("{:?}: {} snapshots", entry.label, cont.query()?.nsnapshots);
//! }
//! # Ok::<(), daos::Error>(())
//! ```
//!
//! The conversion itself cannot fail; a string that is neither a UUID nor a valid label is
//! refused by the method it is passed to, with `-DER_INVAL` naming that method.

use std::ffi::CString;
use std::fmt;

use crate::container::Container;
use crate::error::{Error, Result};
use crate::pool::{ContainerEntry, c_string};
use crate::uuid::{EntityRef, Uuid};

/// What the caller gave: a UUID, or text still to be checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Name {
    Uuid(Uuid),
    Text(String),
}

impl Name {
    /// The string libdaos receives, checked the way libdaos will check it.
    fn to_c_string(&self, op: &'static str, what: &str) -> Result<CString> {
        match self {
            Name::Uuid(uuid) => c_string(op, what, &uuid.hyphenated().to_string()),
            Name::Text(text) => {
                EntityRef::parse(text).map_err(|_| {
                    Error::invalid(
                        op,
                        format!("{what} {text:?} is neither a UUID nor a valid label"),
                    )
                })?;
                c_string(op, what, text)
            }
        }
    }

    fn entity(&self) -> Option<EntityRef> {
        match self {
            Name::Uuid(uuid) => Some(EntityRef::Uuid(*uuid)),
            Name::Text(text) => EntityRef::parse(text).ok(),
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Uuid(uuid) => write!(f, "{}", uuid.hyphenated()),
            Name::Text(text) => f.write_str(text),
        }
    }
}

macro_rules! reference_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(Name);

        impl $name {
            /// The label or UUID, checked as libdaos checks it; `None` if it is neither.
            pub fn entity(&self) -> Option<EntityRef> {
                self.0.entity()
            }

            /// The C string for libdaos; `-DER_INVAL` from `op` if it is not a label or UUID.
            pub(crate) fn to_c_string(&self, op: &'static str) -> Result<CString> {
                self.0.to_c_string(op, $what)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name(Name::Text(s.to_string()))
            }
        }

        impl From<&&str> for $name {
            fn from(s: &&str) -> $name {
                $name(Name::Text(s.to_string()))
            }
        }

        impl From<&String> for $name {
            fn from(s: &String) -> $name {
                $name(Name::Text(s.clone()))
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> $name {
                $name(Name::Uuid(uuid))
            }
        }

        impl From<&Uuid> for $name {
            fn from(uuid: &Uuid) -> $name {
                $name(Name::Uuid(*uuid))
            }
        }

        impl From<EntityRef> for $name {
            fn from(entity: EntityRef) -> $name {
                match entity {
                    EntityRef::Uuid(uuid) => $name(Name::Uuid(uuid)),
                    EntityRef::Label(label) => $name(Name::Text(label)),
                }
            }
        }

        impl From<&EntityRef> for $name {
            fn from(entity: &EntityRef) -> $name {
                $name::from(entity.clone())
            }
        }

        impl From<&$name> for $name {
            fn from(r: &$name) -> $name {
                r.clone()
            }
        }
    };
}

reference_type! {
    /// A pool named by label or UUID: what [`Pool::connect`](crate::Pool::connect) takes.
    PoolRef, "pool"
}

reference_type! {
    /// A container named by label or UUID: what [`Pool::open_container`](crate::Pool::open_container)
    /// and [`Pool::destroy_container`](crate::Pool::destroy_container) take.
    ContainerRef, "container"
}

/// A listed container, by its UUID (which, unlike a label, cannot be reassigned meanwhile).
impl From<&ContainerEntry> for ContainerRef {
    fn from(entry: &ContainerEntry) -> ContainerRef {
        ContainerRef(Name::Uuid(entry.uuid))
    }
}

/// An open container, by its UUID.
impl From<&Container> for ContainerRef {
    fn from(cont: &Container) -> ContainerRef {
        ContainerRef(Name::Uuid(cont.uuid()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "0b7f4bd2-6c0e-4f7e-9e3a-3c1f3e6f8a10";

    #[test]
    fn every_form_names_the_same_thing() {
        let uuid = Uuid::parse_str(UUID).unwrap();
        let forms: Vec<ContainerRef> = vec![
            UUID.into(),
            (&UUID.to_string()).into(),
            uuid.into(),
            (&uuid).into(),
            EntityRef::Uuid(uuid).into(),
        ];
        for form in &forms {
            assert_eq!(form.entity(), Some(EntityRef::Uuid(uuid)), "{form:?}");
            assert_eq!(form.to_c_string("t").unwrap().to_str().unwrap(), UUID);
        }
        let label: PoolRef = "tank".into();
        assert_eq!(label.entity(), Some(EntityRef::Label("tank".into())));
        assert_eq!(label.to_string(), "tank");
    }

    #[test]
    fn bad_names_are_refused_by_the_method_they_reach() {
        for bad in ["", "has space", "a\0b"] {
            let err = ContainerRef::from(bad)
                .to_c_string("Pool::open_container")
                .unwrap_err();
            assert!(err.is_invalid() && !err.is_from_daos(), "{err}");
            assert_eq!(err.op(), "Pool::open_container");
            assert!(err.to_string().contains("container \""), "{err}");
            assert!(ContainerRef::from(bad).entity().is_none());
        }
    }
}
