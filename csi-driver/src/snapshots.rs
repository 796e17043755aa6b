//! CSI snapshots as DAOS container snapshots.
//!
//! A snapshot is an epoch of the volume's container (`daos_cont_create_snap`).
//! DAOS 2.6 and 2.8 refuse native snapshot names (`-DER_NOSYS`), so the CSI
//! name lives in a container user attribute `daos.snapshot.<epoch>` (the
//! `daos` crate's named snapshots), and the snapshot id carries everything
//! needed to find it again: `<volume-id>@<epoch>`, with the volume id in its
//! canonical `<system>/<pool-uuid>/<container-uuid>` form (at most
//! 15+1+36+1+36+1+20 = 110 bytes, within CSI's 128).
//!
//! Only volumes this driver created (tagged `csi.daos.io/created-by` with
//! our driver name, not inline ephemeral ones) can be snapshotted: those are
//! the containers ListSnapshots walks and DeleteVolume guards, so a snapshot
//! of anything else could be neither listed nor protected.
//!
//! Blocking functions (libdaos); run inside
//! [`crate::daos_client::DaosClient::with_pool`].

use std::collections::HashMap;
use std::fmt;
use std::time::UNIX_EPOCH;

use daos::{Container, ContainerAccess, Epoch, Pool};
use tonic::Status;
use uuid::Uuid;

use crate::containers::{self, VolumeTags};
use crate::volume::{EntityName, SystemName, VolumeId};

/// What a snapshot id names: an epoch of a volume's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotId {
    pub volume: VolumeId,
    pub epoch: Epoch,
}

impl SnapshotId {
    pub fn new(volume: VolumeId, epoch: Epoch) -> SnapshotId {
        SnapshotId { volume, epoch }
    }

    /// `None` for anything this driver could not have issued.
    pub fn parse(s: &str, default: &SystemName) -> Option<SnapshotId> {
        let (volume, epoch) = s.rsplit_once('@')?;
        if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let epoch: u64 = epoch.parse().ok()?;
        if epoch == 0 {
            return None;
        }
        let volume = VolumeId::parse(volume, default).ok()?;
        Some(SnapshotId {
            volume,
            epoch: Epoch(epoch),
        })
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.volume, self.epoch)
    }
}

/// The name stored for CSI snapshot `name`: the name itself when DAOS
/// takes it (1-127 bytes, no NUL), else `csi-sha256-` + its SHA-256, so
/// that every CSI name (up to 128 bytes) has one.
pub fn stored_name(name: &str) -> String {
    if !name.is_empty() && name.len() <= daos::snapshot::MAX_NAME_LEN && !name.contains('\0') {
        name.to_string()
    } else {
        format!("csi-sha256-{}", crate::volume::sha256_hex(name.as_bytes()))
    }
}

/// CreateSnapshot parameters: none of our own yet; the
/// `csi.storage.k8s.io/*` keys external-snapshotter adds are ignored.
pub fn check_parameters(parameters: &HashMap<String, String>) -> Result<(), Status> {
    let mut unknown: Vec<&str> = parameters
        .keys()
        .map(String::as_str)
        .filter(|k| !k.starts_with("csi.storage.k8s.io/"))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    Err(Status::invalid_argument(format!(
        "parameters: unknown snapshot parameter(s) {unknown:?}; the DAOS CSI driver takes none \
         (VolumeSnapshotClass parameters must be empty)"
    )))
}

/// The wall-clock time of a snapshot, from its epoch (`d_hlc2unixnsec`).
pub fn creation_time(epoch: Epoch) -> prost_types::Timestamp {
    let since = epoch
        .to_system_time()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    prost_types::Timestamp {
        seconds: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(since.subsec_nanos()).unwrap_or(0),
    }
}

/// ListSnapshots pagination token: the id of the last snapshot returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotListToken {
    pub after: String,
}

const TOKEN_PREFIX: &str = "s1.";

impl SnapshotListToken {
    pub fn encode(&self) -> String {
        let hex: String = self.after.bytes().map(|b| format!("{b:02x}")).collect();
        format!("{TOKEN_PREFIX}{hex}")
    }

    /// A token this driver did not hand out is ABORTED, as the spec asks.
    pub fn decode(token: &str) -> Result<SnapshotListToken, Status> {
        let bad = || {
            Status::aborted(format!(
                "starting_token {token:?} is not a ListSnapshots token this driver issued"
            ))
        };
        let hex = token.strip_prefix(TOKEN_PREFIX).ok_or_else(bad)?;
        if hex.is_empty() || hex.len() % 2 != 0 || !hex.is_ascii() {
            return Err(bad());
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| bad())?;
        let after = String::from_utf8(bytes).map_err(|_| bad())?;
        SnapshotId::parse(&after, &SystemName::default_system()).ok_or_else(bad)?;
        Ok(SnapshotListToken { after })
    }
}

/// A volume's container, if it is one of ours.
pub enum Source {
    Missing,
    /// Not created by this driver for a volume (static, foreign or inline
    /// ephemeral).
    NotOurs {
        created_by: Option<String>,
    },
    Ours(Container),
}

fn is_ours(tags: &Option<VolumeTags>, driver: &str) -> bool {
    tags.as_ref()
        .is_some_and(|t| t.created_by == driver && !t.ephemeral)
}

/// Opens `cont` and says whether it is a volume of `driver`.
pub fn open_source(
    pool: &Pool,
    cont: &str,
    driver: &str,
    access: ContainerAccess,
) -> Result<Source, daos::Error> {
    let c = match pool.open_container(cont, access) {
        Ok(c) => c,
        Err(e) if e.is_not_found() => return Ok(Source::Missing),
        Err(e) => return Err(e),
    };
    let tags = containers::read_tags(&c)?;
    if is_ours(&tags, driver) {
        Ok(Source::Ours(c))
    } else {
        Ok(Source::NotOurs {
            created_by: tags.map(|t| t.created_by),
        })
    }
}

/// The canonical id of a volume container in `pool`.
pub fn canonical_volume(system: &SystemName, pool: &Pool, cont: &Container) -> VolumeId {
    VolumeId::new(system.clone(), pool.uuid(), cont.uuid())
}

/// How a CreateSnapshot against the source container ended.
pub enum Taken {
    Snapshot { volume: VolumeId, epoch: Epoch },
    Missing,
    NotOurs { created_by: Option<String> },
}

/// The snapshot of `cont` named `name`, if there is one (no snapshot is
/// taken).
pub fn find_named(
    pool: &Pool,
    system: &SystemName,
    cont: &str,
    driver: &str,
    name: &str,
) -> Result<(Taken, Option<Uuid>), daos::Error> {
    match open_source(pool, cont, driver, ContainerAccess::ReadOnly)? {
        Source::Missing => Ok((Taken::Missing, None)),
        Source::NotOurs { created_by } => Ok((Taken::NotOurs { created_by }, None)),
        Source::Ours(c) => {
            let uuid = c.uuid();
            let found = c.find_snapshot(name)?;
            let volume = canonical_volume(system, pool, &c);
            Ok((
                found.map_or(Taken::Missing, |epoch| Taken::Snapshot { volume, epoch }),
                Some(uuid),
            ))
        }
    }
}

/// Takes the snapshot `name` of `cont`, or returns the one that already
/// has that name. With `indexed` (the object copy route) the snapshot gets
/// an object index table, which restoring it will read; a crash before that
/// leaves a snapshot the restore indexes itself.
pub fn take(
    pool: &Pool,
    system: &SystemName,
    cont: &str,
    driver: &str,
    name: &str,
    indexed: bool,
) -> Result<Taken, daos::Error> {
    let c = match open_source(pool, cont, driver, ContainerAccess::ReadWrite)? {
        Source::Missing => return Ok(Taken::Missing),
        Source::NotOurs { created_by } => return Ok(Taken::NotOurs { created_by }),
        Source::Ours(c) => c,
    };
    let volume = canonical_volume(system, pool, &c);
    let epoch = match c.create_named_snapshot(name) {
        Ok(epoch) => epoch,
        // Made meanwhile by an earlier attempt that we did not see finish.
        Err(e) if e.is_exists() => match c.find_snapshot(name)? {
            Some(epoch) => epoch,
            None => return Err(e),
        },
        Err(e) => return Err(e),
    };
    if indexed {
        ensure_object_index(&c, epoch)?;
    }
    Ok(Taken::Snapshot { volume, epoch })
}

/// Builds the object index table of snapshot `epoch` of `c` unless it has
/// one (`c` open read-write).
pub fn ensure_object_index(c: &Container, epoch: Epoch) -> Result<(), daos::Error> {
    match c.open_object_index(epoch) {
        Ok(index) => index.close(),
        Err(e) if e.is_not_found() => {
            tracing::info!(container = %c.uuid(), %epoch, "building the snapshot's object index table");
            c.create_object_index(epoch)
        }
        Err(e) => Err(e),
    }
}

/// This driver's volume containers in `pool` (skipping those being created
/// and those that vanish while we look).
fn our_volumes(pool: &Pool, driver: &str) -> Result<Vec<Container>, daos::Error> {
    let mut out = Vec::new();
    for uuid in containers::settled_uuids(pool)? {
        if let Source::Ours(c) =
            open_source(pool, &uuid.to_string(), driver, ContainerAccess::ReadOnly)?
        {
            out.push(c);
        }
    }
    Ok(out)
}

/// The container (other than `except`) in `pool` holding a snapshot named
/// `name`, if any.
pub fn name_used_in_pool(
    pool: &Pool,
    driver: &str,
    name: &str,
    except: Option<Uuid>,
) -> Result<Option<Uuid>, daos::Error> {
    for c in our_volumes(pool, driver)? {
        if Some(c.uuid()) == except {
            continue;
        }
        match c.find_snapshot(name) {
            Ok(Some(_)) => return Ok(Some(c.uuid())),
            Ok(None) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Every snapshot of one volume container.
pub struct VolumeSnapshots {
    pub volume: VolumeId,
    pub epochs: Vec<Epoch>,
}

/// The snapshots of every volume of `driver` in `pool`.
pub fn list_in_pool(
    pool: &Pool,
    system: &SystemName,
    driver: &str,
) -> Result<Vec<VolumeSnapshots>, daos::Error> {
    let mut out = Vec::new();
    for c in our_volumes(pool, driver)? {
        let epochs = match csi_epochs(&c) {
            Ok(e) => e,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        if !epochs.is_empty() {
            out.push(VolumeSnapshots {
                volume: canonical_volume(system, pool, &c),
                epochs,
            });
        }
    }
    Ok(out)
}

/// The snapshots of volume container `cont` (none if it is not ours).
pub fn list_in_volume(
    pool: &Pool,
    system: &SystemName,
    cont: &str,
    driver: &str,
) -> Result<Option<VolumeSnapshots>, daos::Error> {
    match open_source(pool, cont, driver, ContainerAccess::ReadOnly)? {
        Source::Ours(c) => Ok(Some(VolumeSnapshots {
            volume: canonical_volume(system, pool, &c),
            epochs: csi_epochs(&c)?,
        })),
        _ => Ok(None),
    }
}

/// How many CSI snapshots `cont` holds, if it is a volume of `driver`. The
/// temporary snapshot of a clone in progress does not count: deleting the
/// source ends that copy with an error, and leaves nothing behind.
pub fn count_if_ours(pool: &Pool, cont: &str, driver: &str) -> Result<usize, daos::Error> {
    match open_source(pool, cont, driver, ContainerAccess::ReadOnly)? {
        Source::Ours(c) => Ok(csi_epochs(&c)?.len()),
        _ => Ok(0),
    }
}

/// The epochs of the snapshots of `c` that are CSI snapshots: all but the
/// temporary ones clones copy from ([`crate::copies`]).
pub fn csi_epochs(c: &Container) -> Result<Vec<Epoch>, daos::Error> {
    Ok(c.list_named_snapshots()?
        .into_iter()
        .filter(|s| {
            !s.name
                .as_deref()
                .is_some_and(|n| n.starts_with(crate::copies::CLONE_SNAPSHOT_PREFIX))
        })
        .map(|s| s.epoch)
        .collect())
}

/// How DeleteSnapshot ended (every case is OK to the caller).
#[derive(Debug, PartialEq, Eq)]
pub enum Removed {
    Removed,
    /// No such container or snapshot.
    Missing,
    /// The container is not one of our volumes: never touched.
    NotOurs,
}

/// Destroys snapshot `epoch` of `cont` and its stored name.
pub fn remove(pool: &Pool, cont: &str, driver: &str, epoch: Epoch) -> Result<Removed, daos::Error> {
    let c = match open_source(pool, cont, driver, ContainerAccess::ReadWrite)? {
        Source::Missing => return Ok(Removed::Missing),
        Source::NotOurs { .. } => return Ok(Removed::NotOurs),
        Source::Ours(c) => c,
    };
    match c.destroy_snapshot(epoch) {
        Ok(()) => Ok(Removed::Removed),
        Err(e) if e.is_not_found() => {
            // A crash between destroying the snapshot and its name leaves
            // the name behind; it names nothing, so it goes now.
            let attr = daos::snapshot::snapshot_attr_name(epoch);
            match c.delete_attrs(&[&attr]) {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    tracing::warn!(container = %c.uuid(), %epoch, error = %e, "could not remove a stale snapshot name")
                }
            }
            Ok(Removed::Missing)
        }
        Err(e) => Err(e),
    }
}

/// The pool and container strings a volume id names.
pub fn volume_parts(id: &VolumeId) -> (SystemName, EntityName, String) {
    (id.system.clone(), id.pool.clone(), id.container.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn sys() -> SystemName {
        SystemName::default_system()
    }

    #[test]
    fn snapshot_ids_round_trip_and_fit_csi() {
        let system = SystemName::parse("abcdefghijklmno").unwrap();
        let volume = VolumeId::new(system, Uuid::from_u128(1), Uuid::from_u128(u128::MAX));
        let id = SnapshotId::new(volume, Epoch(u64::MAX));
        let text = id.to_string();
        assert!(text.len() <= 128, "{} bytes: {text}", text.len());
        assert_eq!(SnapshotId::parse(&text, &sys()), Some(id));
    }

    #[test]
    fn malformed_snapshot_ids_name_nothing() {
        let v =
            "daos_server/00000000-0000-0000-0000-000000000001/00000000-0000-0000-0000-000000000002";
        assert!(SnapshotId::parse(&format!("{v}@42"), &sys()).is_some());
        for bad in [
            String::new(),
            v.to_string(),
            format!("{v}@"),
            format!("{v}@0"),
            format!("{v}@-1"),
            format!("{v}@+1"),
            format!("{v}@x"),
            format!("{v}@18446744073709551616"),
            "a/b/c/d@1".to_string(),
            "@1".to_string(),
        ] {
            assert_eq!(SnapshotId::parse(&bad, &sys()), None, "{bad:?}");
        }
    }

    #[test]
    fn stored_names_fit_daos() {
        assert_eq!(stored_name("snapshot-1"), "snapshot-1");
        let long = "n".repeat(128);
        let stored = stored_name(&long);
        assert!(stored.len() <= daos::snapshot::MAX_NAME_LEN);
        assert_ne!(stored, stored_name(&"m".repeat(128)));
        assert_eq!(stored, stored_name(&long));
        assert!(stored_name("a\0b").starts_with("csi-sha256-"));
    }

    #[test]
    fn parameters() {
        let mut p = HashMap::from([(
            "csi.storage.k8s.io/volumesnapshot/name".to_string(),
            "s".to_string(),
        )]);
        assert!(check_parameters(&p).is_ok());
        p.insert("pool".into(), "tank".into());
        let e = check_parameters(&p).unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().contains("pool"), "{}", e.message());
    }

    #[test]
    fn tokens() {
        let after = "daos_server/00000000-0000-0000-0000-000000000001/00000000-0000-0000-0000-000000000002@7";
        let t = SnapshotListToken {
            after: after.to_string(),
        };
        assert_eq!(SnapshotListToken::decode(&t.encode()).unwrap(), t);
        for bad in ["", "s1.", "s1.zz", "v1.00", "s1.616263", "garbage"] {
            assert_eq!(
                SnapshotListToken::decode(bad).unwrap_err().code(),
                Code::Aborted,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn creation_time_is_the_epoch_wall_clock() {
        // HLC: (unix ns - 2021-01-01) * 16 in the physical bits.
        let ns_2024 = 1_704_067_200u64 * 1_000_000_000;
        let hlc = (ns_2024 - 1_609_459_200u64 * 1_000_000_000) * 16;
        let t = creation_time(Epoch(hlc));
        assert!((t.seconds - 1_704_067_200).abs() <= 1, "{t:?}");
    }
}
