//! Containers as CSI volumes: the one place that creates a volume's
//! container, tags it as this driver's, reads the tags back and destroys
//! only what carries them. Blocking (libdaos); run inside
//! [`crate::daos_client::DaosClient::with_pool`].

use std::collections::HashMap;

use daos::{Container, ContainerAccess, Pool, PosixContainerSpec, Properties};
use uuid::Uuid;

/// Container user attributes written at creation.
pub const ATTR_CREATED_BY: &str = "csi.daos.io/created-by";
pub const ATTR_VOLUME_NAME: &str = "csi.daos.io/volume-name";
pub const ATTR_PARAMETERS_HASH: &str = "csi.daos.io/parameters-hash";
pub const ATTR_REQUESTED_BYTES: &str = "csi.daos.io/requested-bytes";
pub const ATTR_VOLUME_CONTEXT: &str = "csi.daos.io/volume-context";
pub const ATTR_EPHEMERAL: &str = "csi.daos.io/ephemeral";
/// Written by ControllerExpandVolume: the capacity after the last expansion.
/// The creation request stays in [`ATTR_REQUESTED_BYTES`], which a repeated
/// CreateVolume is compared with.
pub const ATTR_CAPACITY_BYTES: &str = "csi.daos.io/capacity-bytes";
/// The CSI content source of a volume made from a snapshot (`snapshot:<id>`)
/// or a volume (`volume:<id>`).
pub const ATTR_CONTENT_SOURCE: &str = "csi.daos.io/content-source";
/// Written once the content of [`ATTR_CONTENT_SOURCE`] is all copied: a
/// staging container without it holds a partial copy.
pub const ATTR_CONTENT_COPIED: &str = "csi.daos.io/content-copied";

const ALL_ATTRS: [&str; 9] = [
    ATTR_CREATED_BY,
    ATTR_VOLUME_NAME,
    ATTR_PARAMETERS_HASH,
    ATTR_REQUESTED_BYTES,
    ATTR_VOLUME_CONTEXT,
    ATTR_EPHEMERAL,
    ATTR_CAPACITY_BYTES,
    ATTR_CONTENT_SOURCE,
    ATTR_CONTENT_COPIED,
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
    /// Set once the volume has been expanded.
    pub expanded_bytes: Option<u64>,
    /// What the volume was made from (see [`ATTR_CONTENT_SOURCE`]).
    pub content_source: Option<String>,
    /// Whether all of the content source has been copied in.
    pub content_copied: bool,
}

impl VolumeTags {
    /// The capacity the volume has now: the last expansion, else the
    /// creation request.
    pub fn capacity(&self) -> u64 {
        self.expanded_bytes.unwrap_or(self.requested_bytes)
    }

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
        .into_iter()
        .chain(
            self.content_source
                .as_ref()
                .map(|source| (ATTR_CONTENT_SOURCE, source.as_bytes().to_vec())),
        )
        .collect()
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
            expanded_bytes: values.get(6).and_then(text).and_then(|s| s.parse().ok()),
            content_source: values.get(7).and_then(text),
            content_copied: values.get(8).and_then(text).is_some_and(|s| s == "true"),
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

/// Prefix of the label a volume's container has while it is being created.
pub const STAGING_PREFIX: &str = "csi-creating-";

/// The label a volume's container carries until it is complete:
/// `csi-creating-` + 32 hex digits of SHA-256(driver, NUL, volume name).
/// Deterministic, so a retry after a crash finds it; the driver name is in
/// the hash so that two drivers sharing a pool never share one.
pub fn staging_label(driver: &str, volume_name: &str) -> String {
    let digest = crate::volume::sha256_hex(format!("{driver}\0{volume_name}").as_bytes());
    format!("{STAGING_PREFIX}{}", &digest[..32])
}

pub fn is_staging_label(label: &str) -> bool {
    label.starts_with(STAGING_PREFIX)
}

/// The UUIDs of the containers in `pool` that may be volumes: all but the
/// half-made ones under a staging label, never answered to anyone.
pub fn settled_uuids(pool: &Pool) -> Result<Vec<Uuid>, daos::Error> {
    Ok(pool
        .list_containers()?
        .into_iter()
        .filter(|e| !e.label.as_deref().is_some_and(is_staging_label))
        .map(|e| e.uuid)
        .collect())
}

/// How [`create`] ended.
#[derive(Debug)]
pub enum Creation {
    /// The container is complete: tagged, under its final label.
    Created(Uuid, VolumeTags),
    /// The staging label is held by a container that is not ours to finish
    /// or remove (it has data, or another volume's tags); the message says
    /// which.
    Blocked(String),
}

/// Whether `found` are the tags [`create`] writes for `wanted`: same
/// driver, volume and request (the volume context follows from those).
fn same_request(found: &VolumeTags, wanted: &VolumeTags) -> bool {
    found.created_by == wanted.created_by
        && found.volume_name == wanted.volume_name
        && found.parameters_hash == wanted.parameters_hash
        && found.requested_bytes == wanted.requested_bytes
        && found.ephemeral == wanted.ephemeral
        && found.content_source == wanted.content_source
}

/// Creates a volume's container so that a crash at any step leaves
/// something a retry can finish (`spec.label` is the final label; the
/// caller has checked that nothing has it yet):
///
/// 1. create it under the deterministic `staging` label;
/// 2. tag it (`tags_for` gets the new UUID, which the volume context holds);
/// 3. rename it to the final label (`daos_cont_set_prop` of the label,
///    `-DER_EXIST` if that label has been taken meanwhile).
///
/// A volume with a content source is filled between steps 2 and 3 (`fill`
/// copies it in), then marked [`ATTR_CONTENT_COPIED`].
///
/// Only step 3 makes the container visible under the name a retry looks
/// for, and it is a single property update, so a volume is either complete
/// or still at its staging label. A retry that finds the staging label:
/// - tagged by this driver for this volume and request: goes on from
///   step 3 (after step 2 if needed), unless it has a content source not
///   marked copied: a partial copy, destroyed, and creation starts again;
/// - tagged by this driver for this volume with other parameters: an
///   attempt that was never answered (only a renamed container is ever
///   returned), so it is destroyed and creation starts again;
/// - untagged: a crash between steps 1 and 2. The label is one only this
///   code makes, for this driver and name, so it is ours; if it holds
///   nothing (no user attributes, no snapshots, an empty root directory) it
///   is indistinguishable from a fresh one and is destroyed and recreated
///   (recreating, rather than adopting, makes its properties those of this
///   request). If it holds anything, someone has used it: it is left alone
///   and the creation is [`Creation::Blocked`].
///
/// Destroys are never forced: a container somebody has open (for example a
/// concurrent creator between its steps) fails with `-DER_BUSY` and the
/// caller retries later.
pub fn create(
    pool: &Pool,
    spec: &PosixContainerSpec,
    layout: &Layout,
    staging: &str,
    tags_for: impl Fn(Uuid) -> VolumeTags,
    fill: &mut dyn FnMut(Uuid) -> Result<(), daos::Error>,
) -> Result<Creation, daos::Error> {
    // Each round removes at most one stale leftover, so three rounds are
    // enough unless another process keeps recreating the staging label.
    for _ in 0..3 {
        let (uuid, tags) = match lookup(pool, staging)? {
            None => {
                let staged_spec = PosixContainerSpec {
                    label: staging.to_string(),
                    ..spec.clone()
                };
                let uuid = match create_container(pool, &staged_spec, layout) {
                    Ok(uuid) => uuid,
                    Err(e) if e.is_exists() => continue,
                    Err(e) => return Err(e),
                };
                let mut tags = tags_for(uuid);
                let filled = tag(pool, uuid, &tags).and_then(|()| {
                    if tags.content_source.is_some() {
                        fill(uuid)?;
                        mark_copied(pool, uuid)?;
                        tags.content_copied = true;
                    }
                    Ok(())
                });
                if let Err(e) = filled {
                    // Best effort: a retry handles whatever is left.
                    if let Err(undo) = destroy_when_closed(pool, uuid) {
                        tracing::warn!(container = %uuid, label = staging, error = %undo,
                            "could not remove a container whose tagging or filling failed; the next attempt will");
                    }
                    return Err(e);
                }
                (uuid, tags)
            }
            Some((uuid, Some(found))) => {
                let wanted = tags_for(uuid);
                if same_request(&found, &wanted)
                    && found.content_source.is_some()
                    && !found.content_copied
                {
                    tracing::info!(container = %uuid, label = staging,
                        "removing the partial copy of an interrupted attempt; copying again");
                    discard(pool, uuid)?;
                    continue;
                } else if same_request(&found, &wanted) {
                    tracing::info!(container = %uuid, label = staging, "finishing a container an earlier attempt created");
                    (uuid, found)
                } else if found.created_by == wanted.created_by
                    && found.volume_name == wanted.volume_name
                {
                    tracing::info!(container = %uuid, label = staging,
                        "removing an unfinished container of an earlier attempt with other parameters");
                    discard(pool, uuid)?;
                    continue;
                } else {
                    return Ok(Creation::Blocked(format!(
                        "container {staging:?} (the staging label of this volume) carries the tags of volume {:?} \
                         of driver {:?}; not touching it",
                        found.volume_name, found.created_by
                    )));
                }
            }
            Some((uuid, None)) => {
                if !is_blank(pool, uuid)? {
                    return Ok(Creation::Blocked(format!(
                        "container {staging:?} (uuid {uuid}), the staging label of this volume, is untagged \
                         but holds data (attributes, snapshots or files); an administrator must inspect and \
                         remove or relabel it"
                    )));
                }
                tracing::info!(container = %uuid, label = staging,
                    "removing the empty, untagged container of an interrupted creation");
                discard(pool, uuid)?;
                continue;
            }
        };
        match rename(pool, uuid, &spec.label) {
            Ok(()) => return Ok(Creation::Created(uuid, tags)),
            Err(e) if e.is_exists() => {
                // The final label went to another container meanwhile; ours
                // was never handed out, so it goes, and the caller looks
                // at whoever holds the label now.
                if let Err(undo) = discard(pool, uuid) {
                    tracing::warn!(container = %uuid, error = %undo, "could not remove a staged container");
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(
        daos::Error::from_der("daos_cont_create", daos::Der::Exist).with_context(format!(
            "staging container {staging:?} keeps reappearing (another creator of the same volume?)"
        )),
    )
}

/// What a new volume's container starts with.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// A DFS file system (`dfs_cont_create`): superblock and empty root.
    Posix,
    /// A POSIX-typed container with no objects yet: a fill that copies a
    /// whole file system object by object writes the superblock and root
    /// itself (the spec's DFS settings, chunk size and classes, then come
    /// from the copied superblock). It is made with `inherited`
    /// ([`daos::object_copy_properties`] of the source: the superblock and
    /// root ids and the object-id allocator), which DAOS takes only at
    /// creation.
    Bare { inherited: daos::Properties },
}

fn create_container(
    pool: &Pool,
    spec: &PosixContainerSpec,
    layout: &Layout,
) -> Result<Uuid, daos::Error> {
    match layout {
        Layout::Posix => pool.create_posix_container(spec),
        Layout::Bare { inherited } => {
            let mut props = spec.properties.clone();
            for (kind, value) in inherited.iter() {
                props.insert(kind, value.clone());
            }
            pool.create_container(&spec.label, &props)
        }
    }
}

fn tag(pool: &Pool, uuid: Uuid, tags: &VolumeTags) -> Result<(), daos::Error> {
    let cont = pool.open_container(&uuid.to_string(), ContainerAccess::ReadWrite)?;
    let attrs = tags.to_attrs();
    let pairs: Vec<(&str, &[u8])> = attrs.iter().map(|(k, v)| (*k, v.as_slice())).collect();
    cont.set_attrs(&pairs)?;
    cont.close()
}

/// Destroys `uuid`, waiting a little while it is still open (`DER_BUSY`):
/// a failed fill's handles are closing, and a retry may never come to remove
/// what is left (its source may be gone).
fn destroy_when_closed(pool: &Pool, uuid: Uuid) -> Result<(), daos::Error> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match pool.destroy_container(&uuid.to_string(), false) {
            Err(e) if e.is_busy() && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// The `fill` of [`create`] for a volume without a content source.
pub fn nothing_to_fill(_: Uuid) -> Result<(), daos::Error> {
    Ok(())
}

fn mark_copied(pool: &Pool, uuid: Uuid) -> Result<(), daos::Error> {
    let cont = pool.open_container(&uuid.to_string(), ContainerAccess::ReadWrite)?;
    cont.set_attrs(&[(ATTR_CONTENT_COPIED, b"true".as_slice())])?;
    cont.close()
}

fn rename(pool: &Pool, uuid: Uuid, label: &str) -> Result<(), daos::Error> {
    let cont = pool.open_container(&uuid.to_string(), ContainerAccess::ReadWrite)?;
    cont.set_properties(&Properties::new().label(label))?;
    cont.close()
}

/// Destroys a staged container (never forced); gone already is fine.
fn discard(pool: &Pool, uuid: Uuid) -> Result<(), daos::Error> {
    match pool.destroy_container(&uuid.to_string(), false) {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

/// No user attributes, no snapshots, nothing in the root directory (or no
/// file system at all).
fn is_blank(pool: &Pool, uuid: Uuid) -> Result<bool, daos::Error> {
    let cont = pool.open_container(&uuid.to_string(), ContainerAccess::ReadOnly)?;
    if !cont.list_attrs()?.is_empty() || !cont.list_snapshots()?.is_empty() {
        return Ok(false);
    }
    let empty = match cont.mount_dfs(ContainerAccess::ReadOnly) {
        // One small batch is enough to tell empty from not. An entry removed
        // while it is listed (ENOENT from dfs_readdirplus) means someone is
        // using the file system: not blank.
        Ok(dfs) => match dfs.entries_batched("/", 1)?.next().transpose() {
            Ok(first) => first.is_none(),
            Err(e) if e.errno() == Some(libc::ENOENT) => false,
            Err(e) => return Err(e),
        },
        // Not a POSIX container at all: not one dfs_cont_create made.
        Err(e) if e.is_invalid() => false,
        // No DFS superblock: dfs_cont_create stopped between creating the
        // container and writing it (libdfs' dfs_mount says ENOENT). Nothing
        // can have been written into a file system that never existed.
        Err(e) if e.errno() == Some(libc::ENOENT) => true,
        Err(e) => return Err(e),
    };
    Ok(empty)
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
    /// Ours, but the caller's `hold` declined (another operation on the
    /// volume `volume_name` is in progress): left alone.
    Busy {
        volume_name: String,
    },
}

/// Destroys `cont` only if its `created-by` tag names `driver` and it is
/// not an inline ephemeral volume's (those go only with their pod, at
/// NodeUnpublishVolume), without force: a container a dfuse still holds
/// open fails with DER_BUSY.
///
/// `hold` runs once the container is known to be ours, before it is
/// destroyed, and what it returns is held until then: the caller takes the
/// lock of the volume's name there, which it only learns from the tags, so
/// that a CreateVolume of that name (a retry finding this very container)
/// cannot hand the volume out while it is being destroyed. `None` leaves
/// the container alone ([`Destroyed::Busy`]).
pub fn destroy_if_ours<G>(
    pool: &Pool,
    cont: &str,
    driver: &str,
    hold: impl FnOnce(&VolumeTags) -> Option<G>,
) -> Result<Destroyed, daos::Error> {
    let Some((uuid, tags)) = lookup(pool, cont)? else {
        return Ok(Destroyed::Missing);
    };
    let tags = match tags {
        Some(t) if t.created_by == driver && !t.ephemeral => t,
        other => {
            return Ok(Destroyed::NotOurs {
                created_by: other.map(|t| t.created_by),
            });
        }
    };
    let Some(_held) = hold(&tags) else {
        return Ok(Destroyed::Busy {
            volume_name: tags.volume_name,
        });
    };
    destroy_uuid(pool, uuid)
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
    destroy_uuid(pool, uuid)
}

/// Destroys container `uuid` without force: DAOS refuses (DER_BUSY) while
/// any handle is open on it, such as a dfuse's.
fn destroy_uuid(pool: &Pool, uuid: Uuid) -> Result<Destroyed, daos::Error> {
    match pool.destroy_container(&uuid.to_string(), false) {
        Ok(()) => Ok(Destroyed::Destroyed),
        Err(e) if e.is_not_found() => Ok(Destroyed::Missing),
        Err(e) => Err(e),
    }
}

/// How [`expand`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Expansion {
    /// The volume has this capacity now (at least what was asked).
    Done(u64),
    Missing,
    /// Not a dynamically provisioned volume of this driver.
    NotOurs {
        created_by: Option<String>,
    },
    /// The growth exceeds the pool's free space.
    NoSpace {
        growth: u64,
        free: u64,
    },
    /// The volume is already larger than the caller's limit.
    AboveLimit {
        capacity: u64,
    },
}

/// Records a new capacity of at least `wanted` bytes (at most `limit`, 0 =
/// none) for volume container `cont`. DAOS has no per-container quota, so
/// like creation this checks the growth against the pool's free space and
/// records it; a volume never shrinks.
pub fn expand(
    pool: &Pool,
    cont: &str,
    driver: &str,
    wanted: u64,
    limit: u64,
) -> Result<Expansion, daos::Error> {
    let container = match pool.open_container(cont, ContainerAccess::ReadWrite) {
        Ok(c) => c,
        Err(e) if e.is_not_found() => return Ok(Expansion::Missing),
        Err(e) => return Err(e),
    };
    let tags = match read_tags(&container)? {
        Some(t) if t.created_by == driver && !t.ephemeral => t,
        other => {
            return Ok(Expansion::NotOurs {
                created_by: other.map(|t| t.created_by),
            });
        }
    };
    let capacity = tags.capacity();
    if wanted <= capacity {
        if limit > 0 && capacity > limit {
            return Ok(Expansion::AboveLimit { capacity });
        }
        return Ok(Expansion::Done(capacity));
    }
    let growth = wanted - capacity;
    let free = pool.query()?.free_bytes;
    if growth > free {
        return Ok(Expansion::NoSpace { growth, free });
    }
    container.set_attr(ATTR_CAPACITY_BYTES, wanted.to_string().as_bytes())?;
    Ok(Expansion::Done(wanted))
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
            expanded_bytes: None,
            content_source: None,
            content_copied: false,
        };
        // As read back: the values of ALL_ATTRS, in that order.
        let read_back = |tags: &VolumeTags| {
            let attrs = tags.to_attrs();
            ALL_ATTRS
                .iter()
                .map(|name| {
                    attrs
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                })
                .collect()
        };
        assert_eq!(
            VolumeTags::from_values(read_back(&tags)),
            Some(tags.clone())
        );
        let restored = VolumeTags {
            content_source: Some("snapshot:sys/pool/cont@7".into()),
            ..tags
        };
        assert_eq!(
            VolumeTags::from_values(read_back(&restored)),
            Some(restored)
        );
    }

    #[test]
    fn staging_labels_are_valid_deterministic_and_per_driver() {
        let a = staging_label("csi.daos.io", "pvc-1");
        assert_eq!(a, staging_label("csi.daos.io", "pvc-1"));
        assert_ne!(a, staging_label("csi.daos.io", "pvc-2"));
        assert_ne!(a, staging_label("other.daos.io", "pvc-1"));
        assert!(daos::label::is_valid(&a), "{a}");
        assert!(is_staging_label(&a));
        assert_eq!(a.len(), STAGING_PREFIX.len() + 32);
        // The final label of a volume is never a staging label.
        let long = "x".repeat(300);
        for name in ["pvc-1", "csi-creating", "csi-creating-0123", long.as_str()] {
            assert!(!is_staging_label(&crate::volume::container_label_for(name)));
        }
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

/// Against the emulator (`--features emulator`): the shared test system.
#[cfg(all(test, feature = "emulator"))]
mod emulated {
    use super::*;
    use daos::{Daos, PoolAccess};

    fn pool() -> (std::sync::Arc<Daos>, Pool) {
        let sys = daos_test_harness::system();
        let daos = Daos::init().expect("daos_init");
        let pool =
            Pool::connect(&daos, &sys.pool, None, PoolAccess::ReadWrite).expect("pool connect");
        (daos, pool)
    }

    fn tags(name: &str, ephemeral: bool) -> VolumeTags {
        VolumeTags {
            created_by: "csi.daos.io".into(),
            volume_name: name.into(),
            parameters_hash: "h".into(),
            requested_bytes: 0,
            volume_context: HashMap::new(),
            ephemeral,
            expanded_bytes: None,
            content_source: None,
            content_copied: false,
        }
    }

    fn make(pool: &Pool, name: &str, ephemeral: bool) -> Uuid {
        let spec = PosixContainerSpec::new(name);
        let staging = staging_label("csi.daos.io", name);
        match create(
            pool,
            &spec,
            &Layout::Posix,
            &staging,
            |_| tags(name, ephemeral),
            &mut nothing_to_fill,
        )
        .expect("create")
        {
            Creation::Created(uuid, _) => uuid,
            Creation::Blocked(why) => panic!("blocked: {why}"),
        }
    }

    #[test]
    fn delete_volume_never_destroys_an_inline_volume_container() {
        let (_daos, pool) = pool();
        let inline = daos_test_harness::unique_label("inline");
        make(&pool, &inline, true);
        assert_eq!(
            destroy_if_ours(&pool, &inline, "csi.daos.io", |_| Some(())).unwrap(),
            Destroyed::NotOurs {
                created_by: Some("csi.daos.io".into())
            }
        );
        assert!(lookup(&pool, &inline).unwrap().is_some(), "still there");
        // Its own path still removes it.
        assert_eq!(
            destroy_ephemeral(&pool, &inline, "csi.daos.io", &inline).unwrap(),
            Destroyed::Destroyed
        );

        let volume = daos_test_harness::unique_label("pvc");
        make(&pool, &volume, false);
        // The hold sees the volume's own tags, and declining keeps the container.
        let mut seen = None;
        let declined = destroy_if_ours(&pool, &volume, "csi.daos.io", |t| {
            seen = Some(t.volume_name.clone());
            None::<()>
        })
        .unwrap();
        assert_eq!(
            declined,
            Destroyed::Busy {
                volume_name: volume.clone()
            }
        );
        assert_eq!(seen.as_deref(), Some(volume.as_str()));
        assert!(lookup(&pool, &volume).unwrap().is_some(), "kept while busy");
        assert_eq!(
            destroy_if_ours(&pool, &volume, "csi.daos.io", |_| Some(())).unwrap(),
            Destroyed::Destroyed
        );
    }
}
