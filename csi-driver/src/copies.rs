//! Volumes made from a snapshot or from another volume (CreateVolume with a
//! `volume_content_source`).
//!
//! The source's file system is mounted read-only at its snapshot
//! (`dfs_mount_snap`, DAOS 2.8) and copied in process, with many DAOS
//! operations in flight, into the new volume's container while that is still
//! under its staging label ([`crate::containers::create`]); only a finished
//! copy is marked and renamed, so no partial copy is ever handed out. A clone
//! of a volume copies a temporary snapshot, taken for the copy and removed
//! after it: the clone is one point in time even while the source is written.
//!
//! A copy takes as long as its data: it runs in the background, and
//! CreateVolume waits for it only so long, then answers ABORTED ("in
//! progress", with the progress) until a retry finds it done. If the
//! controller dies, the retry of the next one finds the unmarked staging
//! container, destroys it and copies again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use csi_proto::csi::v1::{VolumeContentSource, volume_content_source};
use daos::{ContainerAccess, Daos, Epoch, EventQueue, Pool};
use tokio::sync::watch;
use tonic::Status;
use uuid::Uuid;

use crate::snapshots::SnapshotId;
use crate::volume::VolumeId;

/// Prefix of the stored name of the temporary snapshot a clone copies.
pub const CLONE_SNAPSHOT_PREFIX: &str = "csi-clone-";

/// What a new volume is copied from, looked up and checked.
#[derive(Debug, Clone)]
pub struct CopySource {
    /// The source volume (the snapshot's volume for a snapshot).
    pub volume: VolumeId,
    /// The snapshot to copy; `None` for a clone of the volume as it is now.
    pub epoch: Option<Epoch>,
    /// The source volume's capacity: a copy is at least as large.
    pub capacity: u64,
}

impl CopySource {
    /// The value of the `content-source` tag: `snapshot:<id>` or `volume:<id>`.
    pub fn tag(&self) -> String {
        source_tag(&self.volume, self.epoch)
    }
}

/// The `content-source` tag of a copy of `volume` at snapshot `epoch` (none: the volume as
/// it is).
pub fn source_tag(volume: &VolumeId, epoch: Option<Epoch>) -> String {
    match epoch {
        Some(epoch) => format!("snapshot:{}", SnapshotId::new(volume.clone(), epoch)),
        None => format!("volume:{volume}"),
    }
}

/// The CSI content source a `content-source` tag records, for the
/// CreateVolume response of a volume made from it.
pub fn content_source_of(tag: &str) -> Option<VolumeContentSource> {
    use volume_content_source::{SnapshotSource, Type, VolumeSource};
    let r#type = match tag.split_once(':')? {
        ("snapshot", id) => Type::Snapshot(SnapshotSource {
            snapshot_id: id.to_string(),
        }),
        ("volume", id) => Type::Volume(VolumeSource {
            volume_id: id.to_string(),
        }),
        _ => return None,
    };
    Some(VolumeContentSource {
        r#type: Some(r#type),
    })
}

/// The stored name of the temporary snapshot a clone named `volume_name`
/// copies: deterministic, so a retry after a crash finds (and reuses) it.
pub fn clone_snapshot_name(driver: &str, volume_name: &str) -> String {
    let digest = crate::volume::sha256_hex(format!("{driver}\0{volume_name}").as_bytes());
    format!("{CLONE_SNAPSHOT_PREFIX}{}", &digest[..40])
}

/// A copy's source, opened and pinned at the epoch the copy reads: its
/// snapshot, or for a clone a temporary snapshot taken now (and removed by
/// [`Prepared::release`]).
pub struct Prepared {
    src: daos::Container,
    epoch: Epoch,
    temporary: bool,
    route: CopyRoute,
    /// What the object route's copy must be created with, read after the
    /// snapshot ([`crate::containers::Layout::Bare`]).
    inherited: daos::Properties,
}

/// Opens `source` and settles the epoch to copy: blocking, for a
/// `with_pool` thread. On the object route the snapshot gets an object
/// index table if it has none (a snapshot taken by a driver on the DFS
/// route, or one whose indexing was interrupted).
pub fn prepare(
    route: CopyRoute,
    src_pool: &Pool,
    source: &CopySource,
    clone_snapshot: &str,
) -> Result<Prepared, daos::Error> {
    let cont = source.volume.container.to_string();
    // A clone takes (and removes) its snapshot; the object route may have to
    // index the snapshot. Both need a read-write handle.
    let access = if source.epoch.is_none() || route == CopyRoute::Objects {
        ContainerAccess::ReadWrite
    } else {
        ContainerAccess::ReadOnly
    };
    let src = src_pool.open_container(cont.as_str(), access)?;
    let (epoch, temporary) = match source.epoch {
        Some(epoch) => (epoch, false),
        None => {
            let epoch = match src.find_snapshot(clone_snapshot)? {
                Some(epoch) => epoch,
                None => src.create_named_snapshot(clone_snapshot)?,
            };
            (epoch, true)
        }
    };
    let mut prepared = Prepared {
        src,
        epoch,
        temporary,
        route,
        inherited: daos::Properties::new(),
    };
    if route == CopyRoute::Objects {
        let indexed = crate::snapshots::ensure_object_index(&prepared.src, epoch)
            .and_then(|()| daos::object_copy_properties(&prepared.src));
        match indexed {
            Ok(props) => prepared.inherited = props,
            Err(e) => {
                prepared.release();
                return Err(e);
            }
        }
    }
    Ok(prepared)
}

impl Prepared {
    /// What the new container must start as.
    pub fn layout(&self) -> crate::containers::Layout {
        match self.route {
            CopyRoute::Dfs => crate::containers::Layout::Posix,
            CopyRoute::Objects => crate::containers::Layout::Bare {
                inherited: self.inherited.clone(),
            },
        }
    }

    /// Copies the source into container `dst` of `dst_pool`: blocking.
    /// `progress` gets the bytes and entries done since its last call.
    pub fn copy_into(
        &self,
        daos: &Arc<Daos>,
        dst_pool: &Pool,
        dst: Uuid,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), daos::Error> {
        let dst = dst_pool.open_container(dst, ContainerAccess::ReadWrite)?;
        let eq = EventQueue::new(daos)?;
        let mut last = daos::CopyProgress::default();
        let mut report = |now: &daos::CopyProgress| {
            let entries = |p: &daos::CopyProgress| p.files + p.directories + p.symlinks;
            progress(
                now.bytes.saturating_sub(last.bytes),
                entries(now).saturating_sub(entries(&last)),
            );
            last = *now;
        };
        let copied = match self.route {
            CopyRoute::Dfs => self.copy_through_dfs(&dst, &eq, &mut report),
            CopyRoute::Objects => daos::copy_snapshot_objects(
                &self.src,
                self.epoch,
                &dst,
                &eq,
                &daos::ObjectCopyOptions::default(),
                &mut report,
            ),
        };
        // Operations still in flight after a failure hold the new container
        // open; it is destroyed next, which they would make DER_BUSY.
        if let Err(e) = eq.close_blocking() {
            tracing::warn!(container = %dst.uuid(), error = %e, "closing the copy's event queue");
        }
        let total = copied?;
        tracing::info!(container = %dst.uuid(), route = ?self.route, files = total.files,
            directories = total.directories, symlinks = total.symlinks, bytes = total.bytes,
            "content copied");
        Ok(())
    }

    fn copy_through_dfs(
        &self,
        dst: &daos::Container,
        eq: &EventQueue,
        report: &mut dyn FnMut(&daos::CopyProgress),
    ) -> Result<daos::CopyProgress, daos::Error> {
        let from = self.src.mount_dfs_snapshot(self.epoch)?;
        let to = dst.mount_dfs(ContainerAccess::ReadWrite)?;
        daos::copy_tree(&from, &to, eq, &daos::CopyOptions::default(), report)
    }

    /// Removes a clone's temporary snapshot. A leftover (this failing, or a
    /// crash before it) is found by name and reused by the next clone of
    /// the same volume name, or goes with the source volume.
    pub fn release(self) {
        if self.temporary
            && let Err(e) = self.src.destroy_snapshot(self.epoch)
        {
            tracing::warn!(container = %self.src.uuid(), epoch = %self.epoch, error = %e,
                "could not remove the temporary snapshot of a clone");
        }
    }
}

/// Whether this build's DAOS can read a snapshot through DFS
/// (`dfs_mount_snap` is DAOS 2.8 on; 2.6 has no DFS read of a snapshot).
pub const DFS_READS_SNAPSHOTS: bool = !matches!(daos::Daos::api_version().as_bytes(), b"2.6");

/// How content is copied into a new volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyRoute {
    /// Mount the snapshot with `dfs_mount_snap` and copy files, directories
    /// and links through DFS ([`daos::copy_tree`]): DAOS 2.8.
    Dfs,
    /// Copy every object the snapshot's object index table lists, keys and
    /// values as they are, in a snapshot read transaction, then restore the
    /// times DFS derives from object epochs ([`daos::copy_snapshot_objects`]):
    /// DAOS 2.6 and 2.8. Snapshots are then taken with an object index
    /// (`DAOS_SNAP_OPT_OIT`), which the copy needs.
    Objects,
}

impl CopyRoute {
    /// The route `--copy-route` asks for, on this build.
    pub fn choose(flag: crate::config::CopyRouteFlag) -> Result<CopyRoute, String> {
        use crate::config::CopyRouteFlag;
        match flag {
            CopyRouteFlag::Auto if DFS_READS_SNAPSHOTS => Ok(CopyRoute::Dfs),
            CopyRouteFlag::Auto | CopyRouteFlag::Objects => Ok(CopyRoute::Objects),
            CopyRouteFlag::Dfs if DFS_READS_SNAPSHOTS => Ok(CopyRoute::Dfs),
            CopyRouteFlag::Dfs => Err(format!(
                "--copy-route=dfs: this build is for DAOS {}, which has no DFS read of a \
                 snapshot (dfs_mount_snap is DAOS 2.8); use --copy-route=objects or auto",
                daos::Daos::api_version()
            )),
        }
    }

    /// Whether snapshots must be taken with an object index table.
    pub fn needs_object_index(self) -> bool {
        self == CopyRoute::Objects
    }
}

/// Where one copy is.
#[derive(Debug, Clone, Default)]
struct Progress {
    bytes: u64,
    entries: u64,
}

/// A copy running in the background for one volume name; it ends with a
/// `T` (the created volume) or a status.
pub struct CopyJob<T> {
    source_tag: String,
    progress: Mutex<Progress>,
    done: watch::Sender<Option<Result<T, Status>>>,
}

impl<T> CopyJob<T> {
    /// Adds to the progress (and the metrics).
    pub fn advance(&self, bytes: u64, entries: u64) {
        let mut p = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        p.bytes += bytes;
        p.entries += entries;
        crate::metrics::global().copied(bytes, entries);
    }

    /// Records how the copy ended.
    pub fn finish(&self, result: Result<T, Status>) {
        self.done.send_replace(Some(result));
    }

    fn describe(&self) -> String {
        let p = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        format!(
            "{} bytes and {} files, directories and links copied so far",
            p.bytes, p.entries
        )
    }
}

/// The copies of this controller, by volume name.
pub struct CopyJobs<T> {
    jobs: Mutex<HashMap<String, Arc<CopyJob<T>>>>,
}

impl<T> Default for CopyJobs<T> {
    fn default() -> Self {
        CopyJobs {
            jobs: Mutex::new(HashMap::new()),
        }
    }
}

/// What [`CopyJobs::join`] found.
pub enum Joined<T> {
    /// A new job: the caller starts the copy and calls [`CopyJob::finish`].
    Started(Arc<CopyJob<T>>),
    /// A copy of this name is already running (or just ended).
    Running(Arc<CopyJob<T>>),
}

impl<T: Clone> CopyJobs<T> {
    /// The job copying `source_tag` into volume `name`, new or running. A
    /// running job of another source is refused: one CreateVolume of a name
    /// at a time.
    pub fn join(&self, name: &str, source_tag: &str) -> Result<Joined<T>, Status> {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(job) = jobs.get(name) {
            if job.source_tag != source_tag {
                return Err(Status::aborted(format!(
                    "volume {name:?} is being copied from {}, not {source_tag}; retry once that \
                     copy has ended",
                    job.source_tag
                )));
            }
            return Ok(Joined::Running(Arc::clone(job)));
        }
        let (done, _) = watch::channel(None);
        let job = Arc::new(CopyJob {
            source_tag: source_tag.to_string(),
            progress: Mutex::new(Progress::default()),
            done,
        });
        jobs.insert(name.to_string(), Arc::clone(&job));
        Ok(Joined::Started(job))
    }

    /// Waits up to `limit` for the job of `name` to end. Its result, once
    /// (the job is then forgotten: a retry looks at DAOS, where a finished
    /// copy is a volume); ABORTED with the progress while it runs.
    pub async fn wait(
        &self,
        name: &str,
        job: &Arc<CopyJob<T>>,
        limit: Duration,
    ) -> Result<T, Status> {
        let mut done = job.done.subscribe();
        let ended = tokio::time::timeout(limit, done.wait_for(Option::is_some)).await;
        let result = match ended {
            Ok(Ok(result)) => result.clone(),
            Ok(Err(_)) | Err(_) => None,
        };
        match result {
            Some(result) => {
                let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
                if jobs.get(name).is_some_and(|j| Arc::ptr_eq(j, job)) {
                    jobs.remove(name);
                }
                result
            }
            None => Err(Status::aborted(format!(
                "volume {name:?} is being copied from {}: {}; CreateVolume answers once the copy \
                 is done",
                job.source_tag,
                job.describe()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::SystemName;

    fn volume() -> VolumeId {
        VolumeId::new(
            SystemName::default_system(),
            Uuid::from_u128(1),
            Uuid::from_u128(2),
        )
    }

    #[test]
    fn a_content_source_tag_gives_back_the_csi_source() {
        let snapshot = CopySource {
            volume: volume(),
            epoch: Some(Epoch(42)),
            capacity: 1,
        };
        let tag = snapshot.tag();
        let Some(VolumeContentSource {
            r#type: Some(volume_content_source::Type::Snapshot(s)),
        }) = content_source_of(&tag)
        else {
            panic!("{tag} is no snapshot source");
        };
        assert_eq!(
            SnapshotId::parse(&s.snapshot_id, &SystemName::default_system()),
            Some(SnapshotId::new(volume(), Epoch(42)))
        );
        let clone = CopySource {
            epoch: None,
            ..snapshot
        };
        let Some(VolumeContentSource {
            r#type: Some(volume_content_source::Type::Volume(v)),
        }) = content_source_of(&clone.tag())
        else {
            panic!("{} is no volume source", clone.tag());
        };
        assert_eq!(v.volume_id, volume().to_string());
        assert!(content_source_of("elsewhere:x").is_none());
        assert!(content_source_of("no tag").is_none());
    }

    #[test]
    fn clone_snapshot_names_are_per_driver_and_volume_and_fit_daos() {
        let a = clone_snapshot_name("csi.daos.io", "pvc-1");
        assert_eq!(a, clone_snapshot_name("csi.daos.io", "pvc-1"));
        assert_ne!(a, clone_snapshot_name("csi.daos.io", "pvc-2"));
        assert_ne!(a, clone_snapshot_name("other", "pvc-1"));
        assert!(a.starts_with(CLONE_SNAPSHOT_PREFIX));
        assert!(a.len() <= daos::snapshot::MAX_NAME_LEN);
    }

    #[tokio::test]
    async fn a_job_is_joined_by_its_retries_and_refuses_another_source() {
        let jobs = CopyJobs::<u32>::default();
        let Joined::Started(job) = jobs.join("pvc-a", "snapshot:x").unwrap() else {
            panic!("the first call starts the job");
        };
        assert!(matches!(
            jobs.join("pvc-a", "snapshot:x").unwrap(),
            Joined::Running(_)
        ));
        let other = jobs
            .join("pvc-a", "volume:y")
            .err()
            .expect("another source");
        assert_eq!(other.code(), tonic::Code::Aborted);
        job.advance(10, 2);
        let waiting = jobs
            .wait("pvc-a", &job, Duration::from_millis(10))
            .await
            .unwrap_err();
        assert_eq!(waiting.code(), tonic::Code::Aborted);
        assert!(
            waiting.message().contains("10 bytes"),
            "{}",
            waiting.message()
        );
        job.finish(Err(Status::not_found("source gone")));
        let ended = jobs.wait("pvc-a", &job, Duration::from_secs(1)).await;
        assert_eq!(ended.unwrap_err().code(), tonic::Code::NotFound);
        // Forgotten once its result was given: the next call starts afresh.
        assert!(matches!(
            jobs.join("pvc-a", "volume:y").unwrap(),
            Joined::Started(_)
        ));
    }
}
