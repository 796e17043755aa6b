//! Containers as CSI volumes: the one place that creates a volume's
//! container, tags it as this driver's, reads the tags back and destroys
//! only what carries them. Blocking (libdaos); run inside
//! [`crate::daos_client::DaosClient::with_pool`].

use std::collections::HashMap;

use daos::{Container, ContainerAccess, Pool, PosixContainerSpec};
use uuid::Uuid;

/// Container user attributes written at creation.
pub const ATTR_CREATED_BY: &str = "csi.daos.io/created-by";
pub const ATTR_VOLUME_NAME: &str = "csi.daos.io/volume-name";
pub const ATTR_PARAMETERS_HASH: &str = "csi.daos.io/parameters-hash";
pub const ATTR_REQUESTED_BYTES: &str = "csi.daos.io/requested-bytes";
pub const ATTR_VOLUME_CONTEXT: &str = "csi.daos.io/volume-context";
pub const ATTR_EPHEMERAL: &str = "csi.daos.io/ephemeral";

const ALL_ATTRS: [&str; 6] = [
    ATTR_CREATED_BY,
    ATTR_VOLUME_NAME,
    ATTR_PARAMETERS_HASH,
    ATTR_REQUESTED_BYTES,
    ATTR_VOLUME_CONTEXT,
    ATTR_EPHEMERAL,
];

/// What the tags on a driver-made container say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeTags {
    pub created_by: String,
    pub volume_name: String,
    pub parameters_hash: String,
    pub requested_bytes: u64,
    pub volume_context: HashMap<String, String>,
    pub ephemeral: bool,
}

impl VolumeTags {
    fn to_attrs(&self) -> Vec<(&'static str, Vec<u8>)> {
        let ctx = serde_json::to_vec(&self.volume_context).unwrap_or_else(|_| b"{}".to_vec());
        vec![
            (ATTR_CREATED_BY, self.created_by.as_bytes().to_vec()),
            // DAOS refuses empty values; a name is never empty (checked first).
            (ATTR_VOLUME_NAME, self.volume_name.as_bytes().to_vec()),
            (
                ATTR_PARAMETERS_HASH,
                self.parameters_hash.as_bytes().to_vec(),
            ),
            (
                ATTR_REQUESTED_BYTES,
                self.requested_bytes.to_string().into_bytes(),
            ),
            (ATTR_VOLUME_CONTEXT, ctx),
            (
                ATTR_EPHEMERAL,
                if self.ephemeral {
                    b"true".to_vec()
                } else {
                    b"false".to_vec()
                },
            ),
        ]
    }

    /// `None` when the container carries no `created-by` tag (not made by a
    /// daos-csi driver).
    fn from_values(values: Vec<Option<Vec<u8>>>) -> Option<VolumeTags> {
        let text =
            |v: &Option<Vec<u8>>| v.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
        let created_by = text(values.first()?)?;
        Some(VolumeTags {
            created_by,
            volume_name: text(values.get(1)?).unwrap_or_default(),
            parameters_hash: text(values.get(2)?).unwrap_or_default(),
            requested_bytes: text(values.get(3)?)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            volume_context: values
                .get(4)?
                .as_ref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or_default(),
            ephemeral: text(values.get(5)?).is_some_and(|s| s == "true"),
        })
    }
}

pub fn read_tags(cont: &Container) -> Result<Option<VolumeTags>, daos::Error> {
    match cont.get_attrs(&ALL_ATTRS) {
        Ok(values) => Ok(VolumeTags::from_values(values)),
        // libdaos says NONEXIST only when none of the names exist.
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Opens `cont` read-only and reads its tags; `Ok(None)` for a missing
/// container, `Ok(Some((uuid, None)))` for one without tags.
pub fn lookup(pool: &Pool, cont: &str) -> Result<Option<(Uuid, Option<VolumeTags>)>, daos::Error> {
    match pool.open_container(cont, ContainerAccess::ReadOnly) {
        Ok(c) => {
            let tags = read_tags(&c)?;
            Ok(Some((c.uuid(), tags)))
        }
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates the container and tags it (`tags_for` gets the new UUID, which
/// the volume context carries). If tagging fails the container is destroyed
/// again: an untagged container with our label would otherwise block every
/// retry with ALREADY_EXISTS.
pub fn create(
    pool: &Pool,
    spec: &PosixContainerSpec,
    tags_for: impl FnOnce(Uuid) -> VolumeTags,
) -> Result<(Uuid, VolumeTags), daos::Error> {
    let uuid = pool.create_posix_container(spec)?;
    let tags = tags_for(uuid);
    let tag = || -> Result<(), daos::Error> {
        let cont = pool.open_container(&uuid.to_string(), ContainerAccess::ReadWrite)?;
        let attrs = tags.to_attrs();
        let pairs: Vec<(&str, &[u8])> = attrs.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        cont.set_attrs(&pairs)?;
        cont.close()
    };
    if let Err(e) = tag() {
        if let Err(undo) = pool.destroy_container(&uuid.to_string(), true) {
            tracing::error!(container = %uuid, error = %undo, "could not remove a container whose tagging failed");
        }
        return Err(e);
    }
    Ok((uuid, tags))
}

/// Outcome of [`destroy_if_ours`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destroyed {
    Destroyed,
    /// Nothing by that name.
    Missing,
    /// The container is not tagged by `driver` (a static volume, or another
    /// driver's): left alone.
    NotOurs {
        created_by: Option<String>,
    },
}

/// Destroys `cont` only if its `created-by` tag names `driver`, without
/// force: a container a dfuse still holds open fails with DER_BUSY.
pub fn destroy_if_ours(pool: &Pool, cont: &str, driver: &str) -> Result<Destroyed, daos::Error> {
    destroy_when(pool, cont, |t| t.created_by == driver)
}

/// Destroys the container of inline ephemeral volume `volume_id`, only if
/// this driver made it for that very volume.
pub fn destroy_ephemeral(
    pool: &Pool,
    cont: &str,
    driver: &str,
    volume_id: &str,
) -> Result<Destroyed, daos::Error> {
    destroy_when(pool, cont, |t| {
        t.created_by == driver && t.ephemeral && t.volume_name == volume_id
    })
}

fn destroy_when(
    pool: &Pool,
    cont: &str,
    ours: impl Fn(&VolumeTags) -> bool,
) -> Result<Destroyed, daos::Error> {
    let Some((uuid, tags)) = lookup(pool, cont)? else {
        return Ok(Destroyed::Missing);
    };
    match tags {
        Some(t) if ours(&t) => {}
        other => {
            return Ok(Destroyed::NotOurs {
                created_by: other.map(|t| t.created_by),
            });
        }
    }
    match pool.destroy_container(&uuid.to_string(), false) {
        Ok(()) => Ok(Destroyed::Destroyed),
        Err(e) if e.is_not_found() => Ok(Destroyed::Missing),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_through_attribute_values() {
        let tags = VolumeTags {
            created_by: "csi.daos.io".into(),
            volume_name: "pvc-1".into(),
            parameters_hash: "abc".into(),
            requested_bytes: 1 << 30,
            volume_context: [("pool".to_string(), "tank".to_string())].into(),
            ephemeral: true,
        };
        let values = tags.to_attrs().into_iter().map(|(_, v)| Some(v)).collect();
        assert_eq!(VolumeTags::from_values(values), Some(tags));
    }

    #[test]
    fn untagged_container_has_no_tags() {
        assert_eq!(
            VolumeTags::from_values(vec![None, Some(b"x".to_vec()), None, None, None, None]),
            None
        );
        let only_owner =
            VolumeTags::from_values(vec![Some(b"d".to_vec()), None, None, None, None, None])
                .unwrap();
        assert_eq!(only_owner.created_by, "d");
        assert_eq!(only_owner.requested_bytes, 0);
        assert!(!only_owner.ephemeral);
    }
}
