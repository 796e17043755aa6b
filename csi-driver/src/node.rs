//! CSI Node service.
//!
//! Stage: one dfuse per volume per node, started by the mounter at the
//! staging path. Publish: a bind mount of the staging mount at the pod's
//! target path (read-only binds for read-only publishes). The node role
//! never runs dfuse itself, so restarting it leaves every mount alone.
//! Inline ephemeral volumes get their own container and a dfuse mounted
//! directly at the target path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use csi_proto::csi::v1::node_server::Node;
use csi_proto::csi::v1::*;
use daos::PosixContainerSpec;
use tonic::{Request, Response, Status};

use crate::config::Config;
use crate::containers::{self, Destroyed, VolumeTags};
use crate::daos_client::DaosClient;
use crate::errors::{daos_status, io_status};
use crate::locks::OpLocks;
use crate::mounter::{MountSpec, MountStatus, MounterClient};
use crate::mountinfo::{MountEntry, MountTable};
use crate::policy::PoolList;
use crate::sysmount::{self, PathHealth};
use crate::volume::{self, DfuseOptions, EntityName, EphemeralSpec, SystemName, VolumeId};

pub struct NodeService {
    cfg: Arc<Config>,
    daos: Arc<DaosClient>,
    mounter: MounterClient,
    locks: Arc<OpLocks>,
    default_system: SystemName,
    /// --allowed-pools: every pool this node stages or publishes from.
    allowed_pools: PoolList,
    /// --ephemeral-pools: the pools inline ephemeral volumes may use.
    ephemeral_pools: PoolList,
}

/// A request path, resolved inside the kubelet root.
enum Resolved {
    Path(PathBuf),
    /// The path's parent does not exist, so nothing can be mounted there.
    ParentMissing,
}

fn not_staged(id: &VolumeId, staging: &Path) -> Status {
    Status::failed_precondition(format!(
        "volume {id} is not staged at {} (NodeStageVolume first)",
        staging.display()
    ))
}

/// A staging mount that does not answer: slow, or hung. Retried, never
/// replaced (pods bound to it may only be waiting).
fn staging_hung(id: &VolumeId, staging: &Path, deadline: std::time::Duration) -> Status {
    Status::unavailable(format!(
        "the dfuse mount of volume {id} at {} did not answer a statfs within {deadline:?}; \
         not publishing until it does",
        staging.display()
    ))
}

fn parent_missing(field: &str, raw: &str) -> Status {
    Status::invalid_argument(format!(
        "{field} {raw:?}: its parent directory does not exist"
    ))
}

fn required<'a>(field: &str, value: &'a str) -> Result<&'a str, Status> {
    if value.is_empty() {
        Err(Status::invalid_argument(format!("{field} is required")))
    } else {
        Ok(value)
    }
}

impl NodeService {
    pub fn new(cfg: Arc<Config>, daos: Arc<DaosClient>, default_system: SystemName) -> NodeService {
        // A Mount waits for dfuse to come up; give the mounter that and more.
        let timeout =
            cfg.dfuse_ready_timeout + cfg.stats_timeout * 3 + std::time::Duration::from_secs(10);
        let mounter = MounterClient::new(&cfg.mounter_socket, timeout);
        let allowed_pools = PoolList::new("--allowed-pools", &cfg.allowed_pools, &default_system);
        let ephemeral_pools =
            PoolList::new("--ephemeral-pools", &cfg.ephemeral_pools, &default_system);
        NodeService {
            cfg,
            daos,
            mounter,
            locks: OpLocks::new(),
            default_system,
            allowed_pools,
            ephemeral_pools,
        }
    }

    /// Resolves `raw` (request field `field`) inside the kubelet root, off
    /// the runtime and with a deadline (a stat on a hung mount can block).
    async fn resolve(&self, field: &'static str, raw: &str) -> Result<Resolved, Status> {
        crate::paths::check_syntax(field, raw)?;
        let root = self.cfg.kubelet_root.clone();
        let raw_owned = raw.to_string();
        let resolved =
            sysmount::with_deadline(self.cfg.stats_timeout, "resolving a path", move || {
                Ok(crate::paths::contain_if_parent_exists(
                    &root, field, &raw_owned,
                ))
            })
            .await
            .map_err(|e| io_status(format!("resolving {field}"), &e))??;
        Ok(resolved.map_or(Resolved::ParentMissing, Resolved::Path))
    }

    /// The status for a dfuse that would not mount `id`. dfuse's own words
    /// differ between DAOS versions (and its log may name unrelated DER
    /// codes), so a volume whose container or pool is gone is told from
    /// DAOS itself: NOT_FOUND naming what is missing.
    async fn explain_mount_failure(&self, id: &VolumeId, failed: Status) -> Status {
        use tonic::Code;
        if matches!(
            failed.code(),
            Code::Unavailable | Code::DeadlineExceeded | Code::Aborted | Code::AlreadyExists
        ) {
            return failed;
        }
        let cont = id.container.to_string();
        let lookup = self
            .daos
            .with_pool("volume_lookup", &id.system, &id.pool, move |pool| {
                containers::lookup(pool, &cont).map(|found| found.is_some())
            });
        // Only an explanation: a DAOS that does not answer must not hold the
        // stage up; dfuse's own reason stands then.
        let Ok(looked) = tokio::time::timeout(MOUNT_FAILURE_LOOKUP, lookup).await else {
            return failed;
        };
        match mount_failure_cause(&looked) {
            Some(missing) => Status::not_found(format!(
                "volume {id}: {missing}; dfuse said: {}",
                failed.message()
            )),
            None => failed,
        }
    }

    async fn resolve_existing(&self, field: &'static str, raw: &str) -> Result<PathBuf, Status> {
        match self.resolve(field, raw).await? {
            Resolved::Path(p) => Ok(p),
            Resolved::ParentMissing => Err(parent_missing(field, raw)),
        }
    }

    /// [`Self::resolve_existing`] of two request paths in one trip off the
    /// runtime (NodePublishVolume resolves the staging and target paths).
    async fn resolve_existing_pair(
        &self,
        (field_a, raw_a): (&'static str, &str),
        (field_b, raw_b): (&'static str, &str),
    ) -> Result<(PathBuf, PathBuf), Status> {
        crate::paths::check_syntax(field_a, raw_a)?;
        crate::paths::check_syntax(field_b, raw_b)?;
        let root = self.cfg.kubelet_root.clone();
        let (a, b) = (raw_a.to_string(), raw_b.to_string());
        let (resolved_a, resolved_b) =
            sysmount::with_deadline(self.cfg.stats_timeout, "resolving paths", move || {
                Ok((
                    crate::paths::contain_if_parent_exists(&root, field_a, &a),
                    crate::paths::contain_if_parent_exists(&root, field_b, &b),
                ))
            })
            .await
            .map_err(|e| io_status(format!("resolving {field_a} and {field_b}"), &e))?;
        let path_a = resolved_a?.ok_or_else(|| parent_missing(field_a, raw_a))?;
        let path_b = resolved_b?.ok_or_else(|| parent_missing(field_b, raw_b))?;
        Ok((path_a, path_b))
    }

    async fn mkdir(&self, path: &Path) -> Result<(), Status> {
        let p = path.to_path_buf();
        sysmount::with_deadline(self.cfg.stats_timeout, "mkdir", move || {
            sysmount::ensure_dir(&p)
        })
        .await
        .map_err(|e| io_status(format!("creating {}", path.display()), &e))
    }

    async fn rmdir(&self, path: &Path) -> Result<(), Status> {
        let p = path.to_path_buf();
        sysmount::with_deadline(self.cfg.stats_timeout, "rmdir", move || {
            sysmount::remove_dir(&p)
        })
        .await
        .map_err(|e| io_status(format!("removing {}", path.display()), &e))
    }

    fn mount_table() -> Result<MountTable, Status> {
        MountTable::read().map_err(|e| io_status("reading /proc/self/mountinfo", &e))
    }

    fn top_mount(table: &MountTable, path: &Path) -> Result<Option<MountEntry>, Status> {
        table
            .top_at(path)
            .map_err(|e| io_status("reading /proc/self/mountinfo", &e))
    }

    /// Whether the top mount at `path` is a dfuse mount that is not a bind
    /// of a mount elsewhere (a staging mount shares its device with binds).
    fn own_dfuse_at(table: &MountTable, path: &Path) -> Result<bool, Status> {
        let Some(top) = Self::top_mount(table, path)?.filter(MountEntry::is_dfuse) else {
            return Ok(false);
        };
        let on_device = table
            .on_device(&top.device)
            .map_err(|e| io_status("reading /proc/self/mountinfo", &e))?;
        Ok(!on_device.iter().any(|e| e.mount_point != top.mount_point))
    }

    /// Removes every mount of ours stacked at `path`, as `table` shows them:
    /// binds of the dfuse mounts the mounter runs, and dead dfuse mounts.
    /// Anything else mounted there (another driver's live dfuse included)
    /// is refused, never unmounted. The caller holds the lock of `path`, so
    /// nothing of ours stacks there meanwhile.
    async fn unmount_ours(&self, path: &Path, table: &MountTable) -> Result<(), Status> {
        let stack = table
            .mounts_at(path)
            .map_err(|e| io_status("reading /proc/self/mountinfo", &e))?;
        for m in stack.iter().rev() {
            if !m.is_dfuse() {
                return Err(Status::failed_precondition(format!(
                    "{} holds a {} mount that is not a DAOS volume; not unmounting it",
                    path.display(),
                    m.fs_type
                )));
            }
            if !self.is_ours_or_dead(path, m, table).await? {
                return Err(Status::failed_precondition(format!(
                    "{} holds a live dfuse mount that is not one of this driver's (no dfuse the \
                     mounter runs shows that file system); not unmounting it",
                    path.display()
                )));
            }
            // umount(2) takes whatever is on top now: it must still be the
            // mount just judged ours (anything may mount there meanwhile;
            // the path lock only keeps this driver out).
            // (Mount ids are reused: the device and root must match too.)
            let now_on_top = Self::top_mount(&Self::mount_table()?, path)?;
            let same = now_on_top.is_some_and(|t| {
                t.mount_id == m.mount_id && t.device == m.device && t.root == m.root
            });
            if !same {
                return Err(Status::aborted(format!(
                    "the mounts at {} changed while they were checked; retry",
                    path.display()
                )));
            }
            sysmount::unmount(path, self.cfg.stats_timeout)
                .await
                .map_err(|e| io_status(format!("unmounting {}", path.display()), &e))?;
        }
        Ok(())
    }

    /// Whether dfuse mount `mount` at `path` shows the file system of a
    /// dfuse the mounter runs (the same superblock, `major:minor`, and
    /// root: a bind of one of our staging mounts, or one of our mounts
    /// itself), or is dead (its daemon gone: nothing left to protect, and
    /// a restage may have replaced the staging mount it was bound from).
    ///
    /// Only the mounts showing that same tree are asked about (usually the
    /// one staging mount it was bound from), one mounter status each: a
    /// full mounter listing checks every mount and would make unpublishing
    /// N volumes cost N² checks.
    async fn is_ours_or_dead(
        &self,
        path: &Path,
        mount: &MountEntry,
        table: &MountTable,
    ) -> Result<bool, Status> {
        let mut same_tree: Vec<PathBuf> = table
            .same_tree_as(mount)
            .map_err(|e| io_status("reading /proc/self/mountinfo", &e))?
            .into_iter()
            .filter(MountEntry::is_dfuse)
            .map(|e| e.mount_point)
            .collect();
        same_tree.sort();
        same_tree.dedup();
        for mountpoint in &same_tree {
            match self.mounter.status(mountpoint).await {
                Ok(Some(_)) => return Ok(true),
                Ok(None) => {}
                Err(s) if s.code() == tonic::Code::Unavailable => return Err(s),
                // Outside the kubelet root or not answering a stat: not
                // a mount the mounter can own.
                Err(s) => {
                    tracing::debug!(mountpoint = %mountpoint.display(), error = %s.message(), "not a mounter mount")
                }
            }
        }
        Ok(sysmount::probe(path, self.cfg.stats_timeout)
            .await
            .is_dead())
    }

    /// The mounter's record of the dfuse at `staging`, if any; one that
    /// stages another volume is FAILED_PRECONDITION.
    async fn staging_record(
        &self,
        id: &VolumeId,
        staging: &Path,
    ) -> Result<Option<MountStatus>, Status> {
        let record = self.mounter.status(staging).await?;
        if let Some(st) = &record
            && st.spec.volume_id != id.as_str()
        {
            return Err(Status::failed_precondition(format!(
                "{} stages volume {}, not {id}",
                staging.display(),
                st.spec.volume_id
            )));
        }
        Ok(record)
    }

    /// Replaces the dead dfuse of a staged volume: kubelet stages a volume
    /// once per node and from then on only publishes it, so without this a
    /// volume whose dfuse died could never be published to a new pod until
    /// every pod using it on the node had gone. Pods already running keep
    /// their dead binds (a bind holds the old FUSE connection); the volume
    /// health reported by NodeGetVolumeStats tells them apart.
    ///
    /// The mounter's record says how the volume was staged; when the mounter
    /// lost it too, `from_request` does (the publish request carries what
    /// the stage request did). Which volume a dead dfuse at `staging` served
    /// mountinfo cannot say, but kubelet names the staging path after the
    /// volume, so a dead dfuse there is this volume's.
    async fn restage(
        &self,
        id: &VolumeId,
        staging: &Path,
        from_request: impl FnOnce() -> Result<MountSpec, Status>,
    ) -> Result<MountEntry, Status> {
        // As NodeStageVolume and NodeUnstageVolume do: the staging mount
        // changes, and concurrent publishes of the volume restage once.
        let _guard = self.locks.try_lock(&[
            &format!("volume:{id}"),
            &format!("path:{}", staging.display()),
        ])?;
        // Look again under the locks: an unstage, or another publish that
        // restaged first, may have changed the staging path since.
        let not_staged = || not_staged(id, staging);
        let top = Self::top_mount(&Self::mount_table()?, staging)?
            .filter(MountEntry::is_dfuse)
            .ok_or_else(not_staged)?;
        let record = self.staging_record(id, staging).await?;
        match sysmount::probe(staging, self.cfg.stats_timeout).await {
            PathHealth::Disconnected => {}
            PathHealth::Live if record.is_some() => return Ok(top),
            PathHealth::Hung => return Err(staging_hung(id, staging, self.cfg.stats_timeout)),
            _ => return Err(not_staged()),
        }
        // (The pool's --allowed-pools check was NodePublishVolume's, the
        // only caller.)
        let spec = match record {
            Some(st) => st.spec,
            None => from_request()?,
        };
        tracing::warn!(volume_id = %id, staging = %staging.display(),
            "the staged dfuse is gone (ENOTCONN); asking the mounter for a new dfuse");
        self.mounter.mount(spec).await.map_err(|e| {
            Status::new(
                e.code(),
                format!(
                    "the dfuse of volume {id} at {} is gone and starting a new one failed: {}",
                    staging.display(),
                    e.message()
                ),
            )
        })?;
        Self::top_mount(&Self::mount_table()?, staging)?
            .filter(MountEntry::is_dfuse)
            .ok_or_else(|| {
                Status::internal(format!(
                    "the mounter started a new dfuse for volume {id} but {} shows no dfuse mount",
                    staging.display()
                ))
            })
    }

    // ------------------------------------------------------------ ephemeral

    async fn publish_ephemeral(
        &self,
        req: NodePublishVolumeRequest,
    ) -> Result<Response<NodePublishVolumeResponse>, Status> {
        let volume_id = req.volume_id.clone();
        required("target_path", &req.target_path)?;
        let cap = req
            .volume_capability
            .as_ref()
            .ok_or_else(|| Status::invalid_argument("volume_capability is required"))?;
        let access = volume::check_capability("volume_capability", cap)?;
        let spec = EphemeralSpec::parse(&req.volume_context, &self.default_system)?;
        if self.cfg.ephemeral_pools.is_empty() {
            return Err(Status::permission_denied(
                "CSI inline ephemeral volumes are disabled on this node (no --ephemeral-pools); use a PVC or a \
                 generic ephemeral volume",
            ));
        }
        // A pod may name a pool by label or by UUID (the first DAOS driver's
        // pods use `poolid=<uuid>`), whichever way the admin listed it.
        self.ephemeral_pools
            .check(&self.daos, &spec.system, &spec.pool, false)
            .await?;
        self.allowed_pools
            .check(&self.daos, &spec.system, &spec.pool, true)
            .await?;
        let target = self
            .resolve_existing("target_path", &req.target_path)
            .await?;
        let read_only = req.readonly || access.read_only_mode;
        let _guard = self.locks.try_lock(&[
            &format!("volume:{volume_id}"),
            &format!("path:{}", target.display()),
        ])?;

        if let Some(st) = self.mounter.status(&target).await?
            && st.spec.volume_id == volume_id
            && st.healthy()
        {
            if st.spec.read_only == read_only {
                return Ok(Response::new(NodePublishVolumeResponse {}));
            }
            return Err(Status::already_exists(format!(
                "{} is already published with read_only={}",
                target.display(),
                st.spec.read_only
            )));
        }

        let label = volume::container_label_for(&volume_id);
        tracing::info!(volume_id = %volume_id, pool = %spec.pool, %label, target = %target.display(), "publishing inline ephemeral volume");
        let driver = self.cfg.driver_name.clone();
        let (vid, lbl, uid, gid) = (volume_id.clone(), label.clone(), spec.uid, spec.gid);
        let created = self
            .daos
            .with_pool(
                "inline_volume_create",
                &spec.system,
                &spec.pool,
                move |pool| ephemeral_container(pool, &vid, &lbl, uid, gid, &driver),
            )
            .await
            .map_err(|e| {
                daos_status(
                    format!("creating the container of inline volume {volume_id}"),
                    &e,
                )
            })??;

        let mount = MountSpec {
            volume_id: volume_id.clone(),
            mountpoint: target.clone(),
            pool: spec.pool.to_string(),
            container: label.clone(),
            system: spec.system.for_daos().map(str::to_string),
            read_only,
            multi_user: spec.dfuse.multi_user,
            caching: spec.dfuse.caching,
            wb_cache: spec.dfuse.wb_cache,
            thread_count: spec.dfuse.thread_count,
            eq_count: spec.dfuse.eq_count,
            ephemeral: true,
        };
        let mounted = async {
            self.mkdir(&target).await?;
            self.mounter.mount(mount).await
        }
        .await;
        if let Err(e) = mounted {
            if created {
                self.destroy_ephemeral(&volume_id, &spec.system, &spec.pool)
                    .await
                    .ok();
            }
            return Err(e);
        }
        Ok(Response::new(NodePublishVolumeResponse {}))
    }

    /// Destroys the container of inline volume `volume_id` in `pool`.
    async fn destroy_ephemeral(
        &self,
        volume_id: &str,
        system: &SystemName,
        pool: &EntityName,
    ) -> Result<(), Status> {
        let label = volume::container_label_for(volume_id);
        let (driver, vid, lbl) = (
            self.cfg.driver_name.clone(),
            volume_id.to_string(),
            label.clone(),
        );
        let result = self
            .daos
            .with_pool("inline_volume_delete", system, pool, move |p| {
                containers::destroy_ephemeral(p, &lbl, &driver, &vid)
            })
            .await;
        match result {
            Ok(Destroyed::Destroyed) => {
                tracing::info!(volume_id, %pool, %label, "destroyed inline volume container");
                Ok(())
            }
            Ok(Destroyed::Missing | Destroyed::NotOurs { .. } | Destroyed::Busy { .. }) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) if e.is_busy() => Err(Status::failed_precondition(format!(
                "the container of inline volume {volume_id} is still in use; retrying later ({e})"
            ))),
            Err(e) => Err(daos_status(
                format!("destroying the container of inline volume {volume_id}"),
                &e,
            )),
        }
    }

    /// Inline ids never parse as `[system/]pool/container`; their containers
    /// live in one of the allowed pools. Looking there (rather than relying
    /// on the mounter's record) makes a retried unpublish still clean up.
    async fn cleanup_ephemeral(
        &self,
        volume_id: &str,
        hint: Option<(SystemName, EntityName)>,
    ) -> Result<(), Status> {
        let mut pools: Vec<(SystemName, EntityName)> = hint.into_iter().collect();
        for p in &self.cfg.ephemeral_pools {
            if let Ok(pool) = EntityName::parse(p) {
                let key = (self.default_system.clone(), pool);
                if !pools.contains(&key) {
                    pools.push(key);
                }
            }
        }
        for (system, pool) in pools {
            self.destroy_ephemeral(volume_id, &system, &pool).await?;
        }
        Ok(())
    }

    fn stats_condition(abnormal: bool, message: String) -> Option<VolumeCondition> {
        Some(VolumeCondition { abnormal, message })
    }
}

/// Topology segment naming the DAOS system a node reaches (its agent's).
pub const TOPOLOGY_SYSTEM_KEY: &str = "topology.daos.io/system";

/// The node's topology: the DAOS system of `--default-system`. kubelet
/// turns segments into node labels, so a system name that is no valid
/// label value (it must start and end with a letter or digit) is left out.
fn node_topology(system: &SystemName) -> Option<Topology> {
    let name = system.as_str();
    let label_value = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !label_value {
        tracing::warn!(
            system = name,
            "DAOS system name is no Kubernetes label value; NodeGetInfo reports no topology"
        );
        return None;
    }
    Some(Topology {
        segments: [(TOPOLOGY_SYSTEM_KEY.to_string(), name.to_string())].into(),
    })
}

/// The dfuse mount NodeStageVolume makes for volume `id` at `staging`.
fn staging_spec(
    id: &VolumeId,
    staging: &Path,
    access: volume::Access,
    dfuse: &DfuseOptions,
) -> MountSpec {
    MountSpec {
        volume_id: id.to_string(),
        mountpoint: staging.to_path_buf(),
        pool: id.pool.to_string(),
        container: id.container.to_string(),
        system: id.system.for_daos().map(str::to_string),
        read_only: access.read_only_mode,
        multi_user: dfuse.multi_user,
        caching: dfuse.caching,
        wb_cache: dfuse.wb_cache,
        thread_count: dfuse.thread_count,
        eq_count: dfuse.eq_count,
        ephemeral: false,
    }
}

/// Finds or creates the container of an inline volume; `Ok(Ok(true))` when
/// it was created by this call.
fn ephemeral_container(
    pool: &daos::Pool,
    volume_id: &str,
    label: &str,
    uid: Option<u32>,
    gid: Option<u32>,
    driver: &str,
) -> Result<Result<bool, Status>, daos::Error> {
    let mut spec = PosixContainerSpec::new(label);
    spec.root_mode = Some(volume::DEFAULT_ROOT_MODE);
    if let Some(uid) = uid {
        spec.root_owner = Some((uid, gid.unwrap_or(uid)));
    } else if let Some(gid) = gid {
        spec.root_owner = Some((0, gid));
    }
    let tags_for = |_| VolumeTags {
        created_by: driver.to_string(),
        volume_name: volume_id.to_string(),
        parameters_hash: String::from("inline"),
        requested_bytes: 0,
        volume_context: Default::default(),
        ephemeral: true,
        expanded_bytes: None,
        content_source: None,
        content_copied: false,
    };
    let staging = containers::staging_label(driver, volume_id);
    // Two rounds: the label may be taken between our lookup and our rename.
    for _ in 0..2 {
        if let Some((_, tags)) = containers::lookup(pool, label)? {
            let ours = tags.is_some_and(|t| {
                t.created_by == driver && t.ephemeral && t.volume_name == volume_id
            });
            return Ok(if ours {
                Ok(false)
            } else {
                Err(Status::failed_precondition(format!(
                    "container {label:?} exists in the pool but is not this inline volume's"
                )))
            });
        }
        match containers::create(
            pool,
            &spec,
            &containers::Layout::Posix,
            &staging,
            tags_for,
            &mut containers::nothing_to_fill,
        ) {
            Ok(containers::Creation::Created(..)) => return Ok(Ok(true)),
            Ok(containers::Creation::Blocked(why)) => {
                return Ok(Err(Status::failed_precondition(why)));
            }
            Err(e) if e.is_exists() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(
        daos::Error::from_der("daos_cont_set_prop", daos::Der::Exist)
            .with_context(format!("container {label:?} keeps appearing and vanishing")),
    )
}

#[tonic::async_trait]
impl Node for NodeService {
    async fn node_stage_volume(
        &self,
        request: Request<NodeStageVolumeRequest>,
    ) -> Result<Response<NodeStageVolumeResponse>, Status> {
        let req = request.into_inner();
        let id = VolumeId::parse(required("volume_id", &req.volume_id)?, &self.default_system)?;
        required("staging_target_path", &req.staging_target_path)?;
        let cap = req
            .volume_capability
            .as_ref()
            .ok_or_else(|| Status::invalid_argument("volume_capability is required"))?;
        let access = volume::check_capability("volume_capability", cap)?;
        let dfuse = DfuseOptions::from_context(&req.volume_context)?;
        let staging = self
            .resolve_existing("staging_target_path", &req.staging_target_path)
            .await?;
        self.allowed_pools
            .check(&self.daos, &id.system, &id.pool, true)
            .await?;
        let _guard = self.locks.try_lock(&[
            &format!("volume:{id}"),
            &format!("path:{}", staging.display()),
        ])?;

        let spec = staging_spec(&id, &staging, access, &dfuse);
        if let Some(st) = self.mounter.status(&staging).await?
            && st.healthy()
            && st.spec.volume_id != spec.volume_id
        {
            return Err(Status::already_exists(format!(
                "{} already stages volume {}",
                staging.display(),
                st.spec.volume_id
            )));
        }
        tracing::info!(volume_id = %id, staging = %staging.display(), "NodeStageVolume");
        self.mkdir(&staging).await?;
        // The mounter answers OK at once when this exact mount is up, and
        // replaces a dead one.
        if let Err(failed) = self.mounter.mount(spec).await {
            return Err(self.explain_mount_failure(&id, failed).await);
        }
        Ok(Response::new(NodeStageVolumeResponse {}))
    }

    async fn node_unstage_volume(
        &self,
        request: Request<NodeUnstageVolumeRequest>,
    ) -> Result<Response<NodeUnstageVolumeResponse>, Status> {
        let req = request.into_inner();
        let volume_id = required("volume_id", &req.volume_id)?;
        required("staging_target_path", &req.staging_target_path)?;
        let staging = match self
            .resolve("staging_target_path", &req.staging_target_path)
            .await?
        {
            Resolved::Path(p) => p,
            Resolved::ParentMissing => return Ok(Response::new(NodeUnstageVolumeResponse {})),
        };
        let _guard = self.locks.try_lock(&[
            &format!("volume:{volume_id}"),
            &format!("path:{}", staging.display()),
        ])?;
        tracing::info!(volume_id, staging = %staging.display(), "NodeUnstageVolume");
        self.mounter.unmount(&staging).await?;
        Ok(Response::new(NodeUnstageVolumeResponse {}))
    }

    async fn node_publish_volume(
        &self,
        request: Request<NodePublishVolumeRequest>,
    ) -> Result<Response<NodePublishVolumeResponse>, Status> {
        let req = request.into_inner();
        required("volume_id", &req.volume_id)?;
        if EphemeralSpec::is_ephemeral(&req.volume_context) {
            return self.publish_ephemeral(req).await;
        }
        let id = VolumeId::parse(&req.volume_id, &self.default_system)?;
        if req.staging_target_path.is_empty() {
            // spec.md, NodePublishVolume errors: "Staging target path not set"
            // is FAILED_PRECONDITION when STAGE_UNSTAGE_VOLUME is advertised.
            return Err(Status::failed_precondition(
                "staging_target_path is required: this driver stages volumes (STAGE_UNSTAGE_VOLUME)",
            ));
        }
        required("target_path", &req.target_path)?;
        let cap = req
            .volume_capability
            .as_ref()
            .ok_or_else(|| Status::invalid_argument("volume_capability is required"))?;
        let access = volume::check_capability("volume_capability", cap)?;
        let read_only = req.readonly || access.read_only_mode;
        let (staging, target) = self
            .resolve_existing_pair(
                ("staging_target_path", &req.staging_target_path),
                ("target_path", &req.target_path),
            )
            .await?;
        // A new pod is a new use of the pool (staged before a policy change
        // or not).
        self.allowed_pools
            .check(&self.daos, &id.system, &id.pool, true)
            .await?;
        let _guard = self
            .locks
            .try_lock(&[&format!("path:{}", target.display())])?;

        // The staging path must be a live dfuse mount of this very volume.
        let not_staged = || not_staged(&id, &staging);
        let table = Self::mount_table()?;
        let mut stage = Self::top_mount(&table, &staging)?
            .filter(MountEntry::is_dfuse)
            .ok_or_else(not_staged)?;
        let mut at_target = Self::top_mount(&table, &target)?;
        drop(table);
        let staged = self.staging_record(&id, &staging).await?;
        match sysmount::probe(&staging, self.cfg.stats_timeout).await {
            // The daemon is gone (never just slow: a slow dfuse still
            // serves the pods bound to it, and replacing it would cut them
            // off for good).
            PathHealth::Disconnected => {
                let from_request = || {
                    let dfuse = DfuseOptions::from_context(&req.volume_context)?;
                    Ok(staging_spec(&id, &staging, access, &dfuse))
                };
                stage = self.restage(&id, &staging, from_request).await?;
            }
            PathHealth::Hung => return Err(staging_hung(&id, &staging, self.cfg.stats_timeout)),
            _ if staged.is_none() => return Err(not_staged()),
            _ => {}
        }

        if at_target.as_ref().is_some_and(MountEntry::is_dfuse) {
            let cleared = sysmount::clear_dead_dfuse_mount(&target, self.cfg.stats_timeout)
                .await
                .map_err(|e| io_status("clearing a dead mount at the target", &e))?;
            if cleared {
                at_target = Self::top_mount(&Self::mount_table()?, &target)?;
            }
        }
        if let Some(m) = at_target {
            if m.is_dfuse() && m.same_tree_as(&stage) {
                if m.is_read_only() == read_only {
                    return Ok(Response::new(NodePublishVolumeResponse {}));
                }
                return Err(Status::already_exists(format!(
                    "{} is already published {}",
                    target.display(),
                    if m.is_read_only() {
                        "read-only"
                    } else {
                        "read-write"
                    }
                )));
            }
            return Err(Status::already_exists(format!(
                "{} already has another mount ({} from {})",
                target.display(),
                m.fs_type,
                m.source
            )));
        }
        tracing::info!(volume_id = %id, target = %target.display(), read_only, "NodePublishVolume");
        sysmount::bind_mount(&staging, &target, read_only, self.cfg.stats_timeout)
            .await
            .map_err(|e| {
                io_status(
                    format!("publishing volume {id} at {}", target.display()),
                    &e,
                )
            })?;
        Ok(Response::new(NodePublishVolumeResponse {}))
    }

    async fn node_unpublish_volume(
        &self,
        request: Request<NodeUnpublishVolumeRequest>,
    ) -> Result<Response<NodeUnpublishVolumeResponse>, Status> {
        let req = request.into_inner();
        let volume_id = required("volume_id", &req.volume_id)?;
        required("target_path", &req.target_path)?;
        let inline = VolumeId::parse(volume_id, &self.default_system).is_err();
        let target = match self.resolve("target_path", &req.target_path).await? {
            Resolved::Path(p) => p,
            Resolved::ParentMissing => {
                if inline {
                    self.cleanup_ephemeral(volume_id, None).await?;
                }
                return Ok(Response::new(NodeUnpublishVolumeResponse {}));
            }
        };
        let _guard = self
            .locks
            .try_lock(&[&format!("path:{}", target.display())])?;
        tracing::info!(volume_id, target = %target.display(), "NodeUnpublishVolume");

        let mut hint = None;
        let mut table = Self::mount_table()?;
        if Self::own_dfuse_at(&table, &target)? {
            // A dfuse of its own at the target is an inline volume's: the
            // mounter stops it. (A bind of a staged volume needs no mounter.)
            if let Some(st) = self.mounter.status(&target).await?
                && st.spec.ephemeral
            {
                let system = st
                    .spec
                    .system
                    .as_deref()
                    .map_or_else(|| Ok(SystemName::default_system()), SystemName::parse);
                if let (Ok(system), Ok(pool)) = (system, EntityName::parse(&st.spec.pool)) {
                    hint = Some((system, pool));
                }
                self.mounter.unmount(&target).await?;
                table = Self::mount_table()?;
            }
        }
        self.unmount_ours(&target, &table).await?;
        drop(table);
        if inline && !self.cfg.ephemeral_pools.is_empty() {
            self.cleanup_ephemeral(volume_id, hint).await?;
        }
        self.rmdir(&target).await?;
        Ok(Response::new(NodeUnpublishVolumeResponse {}))
    }

    async fn node_get_volume_stats(
        &self,
        request: Request<NodeGetVolumeStatsRequest>,
    ) -> Result<Response<NodeGetVolumeStatsResponse>, Status> {
        let req = request.into_inner();
        let volume_id = required("volume_id", &req.volume_id)?;
        required("volume_path", &req.volume_path)?;
        let not_mounted = || {
            Status::not_found(format!(
                "volume {volume_id} is not mounted at {}",
                req.volume_path
            ))
        };
        // A path that cannot hold a volume of ours (relative, outside the
        // kubelet directory, missing) holds no volume: NOT_FOUND, as for a
        // path where nothing is mounted (spec.md, NodeGetVolumeStats errors).
        let path = match self.resolve("volume_path", &req.volume_path).await {
            Ok(Resolved::Path(p)) => p,
            Ok(Resolved::ParentMissing) => return Err(not_mounted()),
            Err(s) if s.code() == tonic::Code::InvalidArgument => {
                return Err(Status::not_found(format!(
                    "volume {volume_id} is not mounted at {}: {}",
                    req.volume_path,
                    s.message()
                )));
            }
            Err(s) => return Err(s),
        };
        let entry = Self::top_mount(&Self::mount_table()?, &path)?.ok_or_else(not_mounted)?;
        if !entry.is_dfuse() {
            return Err(Status::not_found(format!(
                "{} is a {} mount, not a DAOS volume",
                path.display(),
                entry.fs_type
            )));
        }

        let mut usage = Vec::new();
        let mut condition = Self::stats_condition(false, "dfuse mount is healthy".into());
        match sysmount::statfs(&path, self.cfg.stats_timeout).await {
            Ok(fs) => {
                let i = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                usage.push(VolumeUsage {
                    available: i(fs.available_bytes),
                    total: i(fs.total_bytes),
                    used: i(fs.total_bytes.saturating_sub(fs.free_bytes)),
                    unit: volume_usage::Unit::Bytes as i32,
                });
                if let Some(inodes) = fs.inodes {
                    usage.push(VolumeUsage {
                        available: i(inodes.free),
                        total: i(inodes.total),
                        used: i(inodes.total.saturating_sub(inodes.free)),
                        unit: volume_usage::Unit::Inodes as i32,
                    });
                }
            }
            Err(e) => {
                let why = match e.raw_os_error() {
                    Some(libc::ENOTCONN) => {
                        "its dfuse is gone (transport endpoint is not connected)".to_string()
                    }
                    _ => e.to_string(),
                };
                condition = Self::stats_condition(
                    true,
                    format!("the DAOS mount at {} is broken: {why}", path.display()),
                );
            }
        }
        // The mount may still answer from cache while its dfuse has died;
        // ask the mounter about the process behind it.
        if !condition.as_ref().is_some_and(|c| c.abnormal) {
            match self.mounter.list().await {
                Ok(mounts) => {
                    let mine = mounts
                        .iter()
                        .find(|m| m.spec.mountpoint == path)
                        .or_else(|| mounts.iter().find(|m| m.spec.volume_id == volume_id));
                    if let Some(m) = mine.filter(|m| !m.alive) {
                        condition = Self::stats_condition(
                            true,
                            format!(
                                "the dfuse process (pid {}) serving volume {volume_id} is not running",
                                m.pid
                            ),
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "NodeGetVolumeStats: mounter not reachable; dfuse process not checked")
                }
            }
        }
        if let Some(c) = condition.as_ref().filter(|c| c.abnormal) {
            tracing::warn!(volume_id, path = %path.display(), message = %c.message, "volume condition abnormal");
        }
        Ok(Response::new(NodeGetVolumeStatsResponse {
            usage,
            volume_condition: condition,
        }))
    }

    async fn node_expand_volume(
        &self,
        _request: Request<NodeExpandVolumeRequest>,
    ) -> Result<Response<NodeExpandVolumeResponse>, Status> {
        Err(Status::unimplemented(
            "NodeExpandVolume is not supported by the DAOS CSI driver",
        ))
    }

    async fn node_get_capabilities(
        &self,
        _request: Request<NodeGetCapabilitiesRequest>,
    ) -> Result<Response<NodeGetCapabilitiesResponse>, Status> {
        use node_service_capability::rpc::Type;
        let capabilities = [
            Type::StageUnstageVolume,
            Type::GetVolumeStats,
            Type::VolumeCondition,
            Type::SingleNodeMultiWriter,
        ]
        .into_iter()
        .map(|t| NodeServiceCapability {
            r#type: Some(node_service_capability::Type::Rpc(
                node_service_capability::Rpc { r#type: t as i32 },
            )),
        })
        .collect();
        Ok(Response::new(NodeGetCapabilitiesResponse { capabilities }))
    }

    async fn node_get_info(
        &self,
        _request: Request<NodeGetInfoRequest>,
    ) -> Result<Response<NodeGetInfoResponse>, Status> {
        Ok(Response::new(NodeGetInfoResponse {
            node_id: self.cfg.node_id.clone(),
            max_volumes_per_node: 0,
            accessible_topology: node_topology(&self.default_system),
        }))
    }
}

/// How long a failed stage may spend asking DAOS why.
const MOUNT_FAILURE_LOOKUP: std::time::Duration = std::time::Duration::from_secs(10);

/// What is missing when a container lookup after a failed mount says so:
/// the container (`Ok(false)`) or its pool (a not-found error, which the
/// DAOS client already tells apart from an agent that is down).
fn mount_failure_cause(looked: &Result<bool, daos::Error>) -> Option<&'static str> {
    match looked {
        Ok(false) => Some("its container does not exist (deleted?)"),
        Err(e) if e.is_not_found() => Some("its pool does not exist"),
        Ok(true) | Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_failed_mount_is_not_found_only_when_daos_says_what_is_gone() {
        assert_eq!(
            mount_failure_cause(&Ok(false)),
            Some("its container does not exist (deleted?)")
        );
        let no_pool = daos::Error::from_der("daos_pool_connect2", daos::Der::Nonexist);
        assert_eq!(
            mount_failure_cause(&Err(no_pool)),
            Some("its pool does not exist")
        );
        // The container is there: dfuse's own reason stands.
        assert_eq!(mount_failure_cause(&Ok(true)), None);
        let timeout = daos::Error::from_der("daos_pool_connect2", daos::Der::Timedout);
        assert_eq!(mount_failure_cause(&Err(timeout)), None);
    }

    use super::*;

    #[test]
    fn topology_names_the_default_system() {
        let topology = node_topology(&SystemName::default_system()).unwrap();
        assert_eq!(
            topology
                .segments
                .get(TOPOLOGY_SYSTEM_KEY)
                .map(String::as_str),
            Some("daos_server")
        );
        assert_eq!(topology.segments.len(), 1);
        let other = SystemName::parse("lab-2").unwrap();
        assert_eq!(
            node_topology(&other).unwrap().segments[TOPOLOGY_SYSTEM_KEY],
            "lab-2"
        );
        // Valid DAOS system names that Kubernetes would refuse as a label value.
        for name in ["_sys", "sys.", "-"] {
            assert!(
                node_topology(&SystemName::parse(name).unwrap()).is_none(),
                "{name}"
            );
        }
    }
}
