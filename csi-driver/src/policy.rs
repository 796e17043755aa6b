//! Pool allow-lists: the pools this driver may use at all (`--allowed-pools`)
//! and those that may back CSI inline ephemeral volumes (`--ephemeral-pools`).
//!
//! A DAOS system is often shared: the DAOS administrator hands a cluster some
//! pools, and the driver must stay out of the others whatever a StorageClass,
//! a PersistentVolume or a pod names. Entries are labels or UUIDs of pools in
//! the default system and are compared by UUID, so a pool named either way
//! matches. The lists gate every new use of a pool (create, stage, publish,
//! snapshot, expand, capacity); removing what exists (delete, unstage,
//! unpublish) is never blocked by them. Labels are looked up afresh (not
//! through a cached connection) whenever an answer is missing or older than
//! five minutes, so a label moved to another pool is followed.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tonic::Status;
use uuid::Uuid;

use crate::daos_client::DaosClient;
use crate::errors::daos_status;
use crate::volume::{EntityName, SystemName};

/// One allow-list, as the flag `flag` gave it.
pub struct PoolList {
    flag: &'static str,
    entries: Vec<String>,
    listed: Vec<EntityName>,
    default_system: SystemName,
    /// UUIDs of the listed pools, and when they were resolved.
    resolved: Mutex<Option<(Instant, Vec<Uuid>)>>,
}

/// How long resolved UUIDs are trusted before a hit is checked again: a
/// listed label may be moved to another pool, and the old one must not
/// stay allowed for the life of the process.
const RESOLVED_FOR: Duration = Duration::from_secs(300);

impl PoolList {
    /// `entries` were checked as pool names when the flags were parsed.
    pub fn new(flag: &'static str, entries: &[String], default_system: &SystemName) -> PoolList {
        PoolList {
            flag,
            entries: entries.to_vec(),
            listed: entries
                .iter()
                .filter_map(|e| EntityName::parse(e).ok())
                .collect(),
            default_system: default_system.clone(),
            resolved: Mutex::new(None),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// Whether `pool` of `system` is in the list: named as listed (in the
    /// default system), or the same pool by UUID. A pool that does not exist
    /// is in no list.
    pub async fn contains(
        &self,
        daos: &DaosClient,
        system: &SystemName,
        pool: &EntityName,
    ) -> Result<bool, Status> {
        if *system == self.default_system && self.listed.contains(pool) {
            return Ok(true);
        }
        // A volume id names its pool by UUID: nothing to look up.
        let wanted = match pool.uuid() {
            Some(uuid) => uuid,
            // Through the cached connection the request's operation will use.
            None => match daos.pool_uuid(system, pool).await {
                Ok(uuid) => uuid,
                Err(e) if e.is_not_found() => return Ok(false),
                Err(e) => return Err(daos_status(format!("looking up pool {pool}"), &e)),
            },
        };
        if self
            .recent_uuids()
            .is_some_and(|known| known.contains(&wanted))
        {
            return Ok(true);
        }
        // Resolved again on a miss, or when old: a label may name a new pool since.
        let (fresh, failure) = self.resolve(daos).await;
        let found = fresh.contains(&wanted);
        *self.resolved.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), fresh));
        match failure {
            // A listed pool that could not be asked about might be this one.
            Some(status) if !found => Err(status),
            _ => Ok(found),
        }
    }

    /// PERMISSION_DENIED unless `pool` of `system` is in the list, or the
    /// list is empty (no restriction) and `empty_allows`.
    pub async fn check(
        &self,
        daos: &DaosClient,
        system: &SystemName,
        pool: &EntityName,
        empty_allows: bool,
    ) -> Result<(), Status> {
        if self.is_empty() && empty_allows {
            return Ok(());
        }
        if self.contains(daos, system, pool).await? {
            return Ok(());
        }
        Err(Status::permission_denied(format!(
            "pool {pool} is not in {}, the pools this driver may use for that (listed: {})",
            self.flag,
            if self.entries.is_empty() {
                "none".to_string()
            } else {
                self.entries.join(", ")
            }
        )))
    }

    /// The resolved UUIDs, unless they are older than [`RESOLVED_FOR`].
    fn recent_uuids(&self) -> Option<Vec<Uuid>> {
        self.resolved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|(at, _)| at.elapsed() < RESOLVED_FOR)
            .map(|(_, uuids)| uuids.clone())
    }

    /// The UUIDs of the listed pools that exist, and the error of one that
    /// could not be looked up.
    async fn resolve(&self, daos: &DaosClient) -> (Vec<Uuid>, Option<Status>) {
        let mut uuids = Vec::new();
        let mut failure = None;
        for pool in &self.listed {
            if let Some(uuid) = pool.uuid() {
                uuids.push(uuid);
                continue;
            }
            match daos.pool_uuid_fresh(&self.default_system, pool).await {
                Ok(uuid) => uuids.push(uuid),
                Err(e) if e.is_not_found() => {
                    tracing::warn!(%pool, flag = self.flag, "a listed pool does not exist");
                }
                Err(e) => {
                    failure = Some(daos_status(
                        format!("looking up pool {pool} of {}", self.flag),
                        &e,
                    ));
                }
            }
        }
        (uuids, failure)
    }
}
