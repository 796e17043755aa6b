//! CSI Controller service: each volume is one DAOS POSIX container.
//!
//! Capacity is advisory: DAOS has no per-container quota. The requested size
//! is recorded on the container and checked against the pool's free space
//! at creation (OUT_OF_RANGE when it does not fit), and GetCapacity reports
//! the pool's free bytes. Nothing stops a volume from growing past its size.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use csi_proto::csi::v1::controller_server::Controller;
use csi_proto::csi::v1::*;
use daos::{Acl, Pool, PosixContainerSpec, Properties};
use tonic::{Request, Response, Status};

use crate::config::Config;
use crate::containers::{self, Creation, Destroyed, Expansion, VolumeTags};
use crate::copies::{self, CopyJob, CopyJobs, CopySource, Joined};
use crate::daos_client::DaosClient;
use crate::errors::daos_status;
use crate::locks::OpLocks;
use crate::policy::PoolList;
use crate::snapshots::{self, Removed, SnapshotId, SnapshotListToken, Taken};
use crate::volume::{self, CreateParams, EntityName, ListToken, SystemName, VolumeId};

pub struct ControllerService {
    cfg: Arc<Config>,
    daos: Arc<DaosClient>,
    locks: Arc<OpLocks>,
    default_system: SystemName,
    /// Pools ListVolumes walks: --list-pools plus every pool used since start.
    pools_seen: Mutex<BTreeSet<(SystemName, EntityName)>>,
    /// --allowed-pools: the pools new volumes, snapshots, expansions and
    /// capacity reports may use.
    allowed_pools: PoolList,
    /// Volumes being copied from a content source, by name.
    copies: CopyJobs<Created>,
}

fn unimplemented(what: &str) -> Status {
    Status::unimplemented(format!("{what} is not supported by the DAOS CSI driver"))
}

/// A volume as stored on its container.
#[derive(Clone)]
struct Found {
    id: VolumeId,
    capacity: u64,
    context: HashMap<String, String>,
    /// The `content-source` tag of a volume made from one.
    content_source: Option<String>,
}

/// Result of the create step that ran against DAOS.
#[derive(Clone)]
enum Created {
    Volume(Found),
    /// A request-level refusal (ALREADY_EXISTS, OUT_OF_RANGE) decided with
    /// DAOS data in hand.
    Refused(Status),
}

impl ControllerService {
    pub fn new(
        cfg: Arc<Config>,
        daos: Arc<DaosClient>,
        default_system: SystemName,
    ) -> ControllerService {
        let mut seen = BTreeSet::new();
        for p in &cfg.list_pools {
            if let Ok(pool) = EntityName::parse(p) {
                seen.insert((default_system.clone(), pool));
            }
        }
        let allowed_pools = PoolList::new("--allowed-pools", &cfg.allowed_pools, &default_system);
        ControllerService {
            cfg,
            daos,
            locks: OpLocks::new(),
            default_system,
            pools_seen: Mutex::new(seen),
            allowed_pools,
            copies: CopyJobs::default(),
        }
    }

    fn remember_pool(&self, system: &SystemName, pool: &EntityName) {
        self.pools_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((system.clone(), pool.clone()));
    }

    fn container_spec(label: &str, params: &CreateParams) -> Result<PosixContainerSpec, Status> {
        let mut pairs = params.properties.clone();
        if let Some(rf) = params.redundancy_factor {
            pairs.push(("rf".into(), rf.to_string()));
        }
        let mut properties = if pairs.is_empty() {
            Properties::new()
        } else {
            Properties::from_pairs(&pairs)
                .map_err(|e| Status::invalid_argument(format!("container properties: {e}")))?
        };
        if !params.acl.is_empty() {
            let acl = Acl::from_strs(&params.acl)
                .map_err(|e| Status::invalid_argument(format!("acl: {e}")))?;
            properties = properties.acl(acl);
        }
        let mut spec = PosixContainerSpec::new(label);
        spec.properties = properties;
        spec.chunk_size = params.chunk_size;
        spec.object_class = params.oclass.clone();
        spec.dir_object_class = params.dir_oclass.clone();
        spec.file_object_class = params.file_oclass.clone();
        spec.root_mode = Some(params.root_mode);
        if params.root_uid.is_some() || params.root_gid.is_some() {
            spec.root_owner = Some((params.root_uid.unwrap_or(0), params.root_gid.unwrap_or(0)));
        }
        Ok(spec)
    }

    fn volume_context(
        params: &CreateParams,
        pool: &Pool,
        label: &str,
        cont: uuid::Uuid,
    ) -> HashMap<String, String> {
        let mut ctx = HashMap::from([
            (volume::CTX_SYSTEM.to_string(), params.system.to_string()),
            (
                volume::CTX_POOL.to_string(),
                pool.label()
                    .map_or_else(|| params.pool.to_string(), str::to_string),
            ),
            (
                volume::CTX_POOL_UUID.to_string(),
                pool.uuid().hyphenated().to_string(),
            ),
            (volume::CTX_CONTAINER.to_string(), label.to_string()),
            (
                volume::CTX_CONTAINER_UUID.to_string(),
                cont.hyphenated().to_string(),
            ),
        ]);
        params.dfuse.write_context(&mut ctx);
        ctx
    }

    /// Find-or-create against DAOS, on a blocking thread.
    #[allow(clippy::too_many_arguments)]
    fn create_in_pool(
        pool: &Pool,
        name: &str,
        spec: &PosixContainerSpec,
        params: &CreateParams,
        requested: u64,
        driver: &str,
        source: Option<&str>,
        layout: &containers::Layout,
        fill: &mut dyn FnMut(uuid::Uuid) -> Result<(), daos::Error>,
    ) -> Result<Created, daos::Error> {
        let label = spec.label.as_str();
        let id_of = |cont| VolumeId::new(params.system.clone(), pool.uuid(), cont);
        // Two rounds: a concurrent creator (another controller replica) may
        // win the label between our lookup and our create.
        for _ in 0..2 {
            if let Some((uuid, tags)) = containers::lookup(pool, label)? {
                return Ok(Self::existing(
                    id_of(uuid),
                    label,
                    tags,
                    (name, params, requested, source),
                    driver,
                ));
            }
            let free = pool.query()?.free_bytes;
            if requested > free {
                return Ok(Created::Refused(Status::out_of_range(format!(
                    "requested {requested} bytes but pool {} has only {free} bytes free \
                     (DAOS enforces no per-volume size; the pool's free space is the limit)",
                    params.pool
                ))));
            }
            let tags_for = |uuid| VolumeTags {
                created_by: driver.to_string(),
                volume_name: name.to_string(),
                parameters_hash: params.hash.clone(),
                requested_bytes: requested,
                volume_context: Self::volume_context(params, pool, label, uuid),
                ephemeral: false,
                expanded_bytes: None,
                content_source: source.map(str::to_string),
                content_copied: false,
            };
            let staging = containers::staging_label(driver, name);
            match containers::create(pool, spec, layout, &staging, tags_for, fill) {
                Ok(Creation::Created(uuid, tags)) => {
                    return Ok(Created::Volume(Found {
                        id: id_of(uuid),
                        capacity: requested,
                        context: tags.volume_context,
                        content_source: tags.content_source,
                    }));
                }
                Ok(Creation::Blocked(why)) => {
                    return Ok(Created::Refused(Status::already_exists(why)));
                }
                // The final label was taken while ours was staged: look again.
                Err(e) if e.is_exists() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(
            daos::Error::from_der("dfs_cont_create_with_label", daos::Der::Exist)
                .with_context(format!("container {label:?} keeps appearing and vanishing")),
        )
    }

    /// The container with our label exists: the same volume (OK), or a
    /// conflict (ALREADY_EXISTS).
    fn existing(
        id: VolumeId,
        label: &str,
        tags: Option<VolumeTags>,
        (name, params, requested, source): (&str, &CreateParams, u64, Option<&str>),
        driver: &str,
    ) -> Created {
        let Some(tags) = tags.filter(|t| t.created_by == driver && !t.ephemeral) else {
            return Created::Refused(Status::already_exists(format!(
                "container {label:?} already exists in pool {} and was not created by {driver} for a volume; \
                 choose another volume name or remove that container",
                params.pool
            )));
        };
        if tags.volume_name != name {
            return Created::Refused(Status::already_exists(format!(
                "container {label:?} belongs to volume {:?}, not {name:?}",
                tags.volume_name
            )));
        }
        if tags.parameters_hash != params.hash {
            return Created::Refused(Status::already_exists(format!(
                "volume {name:?} already exists with different parameters"
            )));
        }
        if tags.requested_bytes != requested {
            return Created::Refused(Status::already_exists(format!(
                "volume {name:?} already exists with capacity {} bytes, not {requested}",
                tags.requested_bytes
            )));
        }
        if tags.content_source.as_deref() != source {
            return Created::Refused(Status::already_exists(format!(
                "volume {name:?} already exists with content source {}, not {}",
                tags.content_source.as_deref().unwrap_or("none"),
                source.unwrap_or("none")
            )));
        }
        Created::Volume(Found {
            id,
            capacity: tags.capacity(),
            context: tags.volume_context,
            content_source: tags.content_source,
        })
    }

    fn not_snapshottable(&self, source: &VolumeId, created_by: Option<&str>) -> Status {
        Status::failed_precondition(format!(
            "volume {source} is not a volume {} created (created by: {}); only dynamically \
             provisioned volumes can be snapshotted",
            self.cfg.driver_name,
            created_by.unwrap_or("nobody we know")
        ))
    }

    /// Volume `name`, already made from `source` with these parameters, if
    /// it exists (nothing is copied or looked up at the source).
    async fn finished_copy(
        &self,
        name: &str,
        params: &CreateParams,
        requested: u64,
        source: &VolumeContentSource,
    ) -> Result<Option<Found>, Status> {
        let Some(tag) = content_source_tag(source, &self.default_system) else {
            return Ok(None);
        };
        let label = volume::container_label_for(name);
        let driver = self.cfg.driver_name.clone();
        let (system, label2) = (params.system.clone(), label.clone());
        let found = self
            .daos
            .with_pool("volume_lookup", &params.system, &params.pool, move |pool| {
                Ok(containers::lookup(pool, &label2)?
                    .map(|(uuid, tags)| (VolumeId::new(system.clone(), pool.uuid(), uuid), tags)))
            })
            .await
            .map_err(|e| create_failure(name, &label, params, &e))?;
        Ok(found.and_then(|(id, tags)| {
            let tags = tags.filter(|t| {
                t.created_by == driver
                    && !t.ephemeral
                    && t.volume_name == name
                    && t.parameters_hash == params.hash
                    && (requested == 0 || t.requested_bytes == requested)
                    && t.content_source.as_deref() == Some(tag.as_str())
            })?;
            Some(Found {
                id,
                capacity: tags.capacity(),
                context: tags.volume_context,
                content_source: tags.content_source,
            })
        }))
    }

    /// Creates volume `name` from `copy`: the copy runs in the background
    /// (a retry joins it) and this waits for it only so long
    /// (`--copy-wait`), then answers ABORTED with its progress.
    async fn create_copy(
        &self,
        name: &str,
        label: &str,
        spec: PosixContainerSpec,
        params: &CreateParams,
        requested: u64,
        copy: CopySource,
    ) -> Result<Created, Status> {
        let job = match self.copies.join(name, &copy.tag())? {
            Joined::Running(job) => job,
            Joined::Started(job) => {
                tracing::info!(name, source = %copy.tag(), requested, "copying a volume's content");
                match self
                    .start_copy(&job, name, spec, params, requested, copy)
                    .await
                {
                    Ok(()) => {}
                    Err(status) => job.finish(Err(status)),
                }
                job
            }
        };
        self.copies
            .wait(name, &job, self.cfg.copy_wait)
            .await
            .inspect_err(|s| {
                if s.code() != tonic::Code::Aborted {
                    tracing::warn!(name, label, error = %s.message(), "volume copy failed");
                }
            })
    }

    /// Spawns the copy of `job`: the creation of the volume's container,
    /// filled from `copy` before it gets its final label.
    async fn start_copy(
        &self,
        job: &Arc<CopyJob<Created>>,
        name: &str,
        spec: PosixContainerSpec,
        params: &CreateParams,
        requested: u64,
        copy: CopySource,
    ) -> Result<(), Status> {
        let lib = self
            .daos
            .daos()
            .await
            .map_err(|e| daos_status("initialising libdaos for a copy", &e))?;
        let (src_system, src_pool, _) = snapshots::volume_parts(&copy.volume);
        let source_pool = self
            .daos
            .with_pool("content_source_connect", &src_system, &src_pool, |p| {
                Ok(p.clone())
            })
            .await
            .map_err(|e| daos_status(format!("connecting to the pool of {}", copy.tag()), &e))?;
        let driver = self.cfg.driver_name.clone();
        let clone_snapshot = copies::clone_snapshot_name(&driver, name);
        let (name, params) = (name.to_string(), params.clone());
        let label = volume::container_label_for(&name);
        let (daos, job) = (Arc::clone(&self.daos), Arc::clone(job));
        let route = self.cfg.copy_route;
        tokio::spawn(async move {
            let tag = copy.tag();
            let progress_job = Arc::clone(&job);
            let (n, p) = (name.clone(), params.clone());
            let created = daos
                .with_pool("volume_copy", &params.system, &params.pool, move |pool| {
                    let prepared = copies::prepare(route, &source_pool, &copy, &clone_snapshot)?;
                    let mut fill = |uuid| {
                        prepared.copy_into(&lib, pool, uuid, &mut |bytes, entries| {
                            progress_job.advance(bytes, entries)
                        })
                    };
                    let created = Self::create_in_pool(
                        pool,
                        &n,
                        &spec,
                        &p,
                        requested,
                        &driver,
                        Some(&tag),
                        &prepared.layout(),
                        &mut fill,
                    );
                    prepared.release();
                    created
                })
                .await
                .map_err(|e| create_failure(&name, &label, &params, &e));
            match &created {
                Ok(_) => tracing::info!(name, "volume copy done"),
                Err(s) => tracing::warn!(name, code = ?s.code(), error = %s.message(),
                    "volume copy failed; the next CreateVolume of this name gets this error"),
            }
            job.finish(created);
        });
        Ok(())
    }

    /// Whether the content source of a CreateVolume exists and is a
    /// volume (or a snapshot of one) this driver made: a CO that names
    /// nothing gets NOT_FOUND, before any other refusal.
    async fn look_up_content_source(
        &self,
        source: &VolumeContentSource,
    ) -> Result<SourceLookup, Status> {
        let what = content_source_name(source);
        let Some((volume, epoch)) = content_source_parts(source, &self.default_system)? else {
            return Ok(SourceLookup::Missing(format!(
                "volume_content_source: {what} does not exist (not an id this driver issues)"
            )));
        };
        // Reading a source is a use of its pool: one outside --allowed-pools
        // is not even looked at (nor connected to).
        self.check_pool_allowed(&volume.system, &volume.pool)
            .await?;
        let (system, pool, cont) = snapshots::volume_parts(&volume);
        let driver = self.cfg.driver_name.clone();
        let looked = self
            .daos
            .with_pool("content_source_lookup", &system, &pool, move |p| {
                match snapshots::open_source(p, &cont, &driver, daos::ContainerAccess::ReadOnly)? {
                    snapshots::Source::Missing => Ok(None),
                    snapshots::Source::NotOurs { created_by } => Ok(Some(Err(created_by))),
                    snapshots::Source::Ours(c) => {
                        let capacity = containers::read_tags(&c)?.map_or(0, |t| t.capacity());
                        Ok(Some(Ok((snapshots::csi_epochs(&c)?, capacity))))
                    }
                }
            })
            .await;
        let missing = |why: &str| {
            Ok(SourceLookup::Missing(format!(
                "volume_content_source: {what} does not exist ({why})"
            )))
        };
        match looked {
            Err(e) if e.is_not_found() => missing(&format!("pool {} does not exist", volume.pool)),
            Err(e) => Err(daos_status(format!("looking up {what}"), &e)),
            Ok(None) => missing(&format!("container {} is gone", volume.container)),
            Ok(Some(Err(created_by))) => Ok(SourceLookup::NotOurs(format!(
                "volume_content_source: {what} is in container {} of pool {}, which {} did not \
                 create as a volume (created by: {}); only its own dynamically provisioned \
                 volumes and their snapshots can be a content source",
                volume.container,
                volume.pool,
                self.cfg.driver_name,
                created_by.as_deref().unwrap_or("nobody we know")
            ))),
            Ok(Some(Ok((epochs, capacity)))) => match epoch {
                Some(epoch) if !epochs.contains(&epoch) => missing(&format!(
                    "volume {volume} has no snapshot at epoch {}",
                    epoch.0
                )),
                _ => Ok(SourceLookup::Exists(CopySource {
                    volume,
                    epoch,
                    capacity,
                })),
            },
        }
    }

    /// PERMISSION_DENIED for a pool outside --allowed-pools (when given).
    async fn check_pool_allowed(
        &self,
        system: &SystemName,
        pool: &EntityName,
    ) -> Result<(), Status> {
        self.allowed_pools
            .check(&self.daos, system, pool, true)
            .await
    }

    fn known_pools(&self) -> Vec<(SystemName, EntityName)> {
        self.pools_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// The volume (other than `except`) holding a snapshot named `stored`,
    /// in any pool the controller knows.
    async fn name_used_elsewhere(
        &self,
        stored: &str,
        except: Option<uuid::Uuid>,
    ) -> Result<Option<String>, Status> {
        for (system, pool) in self.known_pools() {
            let (driver, name) = (self.cfg.driver_name.clone(), stored.to_string());
            let used = self
                .daos
                .with_pool("snapshot_lookup", &system, &pool, move |p| {
                    snapshots::name_used_in_pool(p, &driver, &name, except)
                })
                .await;
            match used {
                Ok(Some(cont)) => return Ok(Some(format!("container {cont} in pool {pool}"))),
                Ok(None) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    return Err(daos_status(
                        format!("looking for snapshot name {stored:?} in pool {pool}"),
                        &e,
                    ));
                }
            }
        }
        Ok(None)
    }

    /// The snapshots ListSnapshots `req` asks for, unsorted.
    async fn snapshots_matching(
        &self,
        req: &ListSnapshotsRequest,
    ) -> Result<Vec<Snapshot>, Status> {
        let driver = self.cfg.driver_name.clone();
        if !req.snapshot_id.is_empty() {
            let Some(id) = SnapshotId::parse(&req.snapshot_id, &self.default_system) else {
                return Ok(Vec::new());
            };
            if !req.source_volume_id.is_empty() && req.source_volume_id != id.volume.as_str() {
                return Ok(Vec::new());
            }
            let (system, pool, cont) = snapshots::volume_parts(&id.volume);
            let found = self
                .list_volume_snapshots(&system, &pool, cont, driver)
                .await?;
            return Ok(found
                .into_iter()
                .filter(|s| s.snapshot_id == id.to_string())
                .collect());
        }
        if !req.source_volume_id.is_empty() {
            let Ok(id) = VolumeId::parse(&req.source_volume_id, &self.default_system) else {
                return Ok(Vec::new());
            };
            let (system, pool, cont) = snapshots::volume_parts(&id);
            return self
                .list_volume_snapshots(&system, &pool, cont, driver)
                .await;
        }
        let mut out = Vec::new();
        for (system, pool) in self.known_pools() {
            let (d, sys) = (driver.clone(), system.clone());
            let listed = self
                .daos
                .with_pool("snapshot_list", &system, &pool, move |p| {
                    snapshots::list_in_pool(p, &sys, &d)
                })
                .await;
            match listed {
                Ok(vols) => out.extend(
                    vols.iter()
                        .flat_map(|v| v.epochs.iter().map(|e| csi_snapshot(&v.volume, *e))),
                ),
                Err(e) if e.is_not_found() => {
                    tracing::info!(%pool, "ListSnapshots: pool does not exist (any more); skipped");
                }
                Err(e) => {
                    return Err(daos_status(format!("listing snapshots in pool {pool}"), &e));
                }
            }
        }
        Ok(out)
    }

    async fn list_volume_snapshots(
        &self,
        system: &SystemName,
        pool: &EntityName,
        cont: String,
        driver: String,
    ) -> Result<Vec<Snapshot>, Status> {
        let sys = system.clone();
        let listed = self
            .daos
            .with_pool("snapshot_list", system, pool, move |p| {
                snapshots::list_in_volume(p, &sys, &cont, &driver)
            })
            .await;
        match listed {
            Ok(Some(v)) => Ok(v
                .epochs
                .iter()
                .map(|e| csi_snapshot(&v.volume, *e))
                .collect()),
            Ok(None) => Ok(Vec::new()),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(daos_status(format!("listing snapshots in pool {pool}"), &e)),
        }
    }

    /// Our (non-ephemeral) volumes in one pool.
    fn volumes_in_pool(
        pool: &Pool,
        system: &SystemName,
        driver: &str,
    ) -> Result<Vec<Found>, daos::Error> {
        let mut out = Vec::new();
        for listed in containers::settled_uuids(pool)? {
            // Containers can vanish between list and open: skip them.
            let Some((uuid, Some(tags))) = containers::lookup(pool, &listed.to_string())? else {
                continue;
            };
            if tags.created_by != driver || tags.ephemeral {
                continue;
            }
            out.push(Found {
                id: VolumeId::new(system.clone(), pool.uuid(), uuid),
                capacity: tags.capacity(),
                context: tags.volume_context,
                content_source: tags.content_source,
            });
        }
        Ok(out)
    }
}

/// What libdfs checks of the StorageClass's object classes, for an EINVAL
/// it gives no reason for: each must tolerate the redundancy factor.
fn oclass_hint(params: &CreateParams) -> Option<String> {
    let classes: Vec<String> = [
        ("oclass", &params.oclass),
        ("dirOclass", &params.dir_oclass),
        ("fileOclass", &params.file_oclass),
    ]
    .into_iter()
    .filter_map(|(key, class)| class.as_ref().map(|c| format!("{key}={c}")))
    .collect();
    if classes.is_empty() {
        return None;
    }
    let rf = params
        .redundancy_factor
        .map_or_else(|| "the pool's default".to_string(), |rf| rf.to_string());
    Some(format!(
        "if the cause is the object class: libdfs refuses one that tolerates fewer failures \
         than the redundancy factor ({}; redundancy factor {rf}); RF 1 needs RP_2 or EC_kP1 or \
         better, RF 2 RP_3 or EC_kP2",
        classes.join(", ")
    ))
}

/// What a CreateVolume's content source names, once looked up.
enum SourceLookup {
    /// A snapshot or volume of this driver that exists.
    Exists(CopySource),
    /// Nothing: a malformed id, a missing container or a missing epoch.
    Missing(String),
    /// A container this driver did not make as a volume (static, foreign,
    /// inline ephemeral).
    NotOurs(String),
}

/// The source's container and, for a snapshot, its epoch; `None` for an id
/// this driver could never have issued.
fn content_source_parts(
    source: &VolumeContentSource,
    default: &SystemName,
) -> Result<Option<(VolumeId, Option<daos::Epoch>)>, Status> {
    use volume_content_source::Type;
    match &source.r#type {
        Some(Type::Snapshot(s)) => {
            if s.snapshot_id.is_empty() {
                return Err(Status::invalid_argument(
                    "volume_content_source.snapshot.snapshot_id is required",
                ));
            }
            Ok(SnapshotId::parse(&s.snapshot_id, default).map(|id| (id.volume, Some(id.epoch))))
        }
        Some(Type::Volume(v)) => {
            if v.volume_id.is_empty() {
                return Err(Status::invalid_argument(
                    "volume_content_source.volume.volume_id is required",
                ));
            }
            Ok(VolumeId::parse(&v.volume_id, default)
                .ok()
                .map(|id| (id, None)))
        }
        None => Err(Status::invalid_argument(
            "volume_content_source names neither a snapshot nor a volume",
        )),
    }
}

/// How the source of `source` is named in messages.
fn content_source_name(source: &VolumeContentSource) -> String {
    use volume_content_source::Type;
    match &source.r#type {
        Some(Type::Snapshot(s)) => format!("snapshot {:?}", s.snapshot_id),
        Some(Type::Volume(v)) => format!("volume {:?}", v.volume_id),
        None => "an empty content source".to_string(),
    }
}

/// The status of a failed volume creation, with the object class hint when
/// libdfs refused the classes.
fn create_failure(name: &str, label: &str, params: &CreateParams, e: &daos::Error) -> Status {
    if e.is_busy() {
        // The leftover of an interrupted attempt is still open: by a process
        // that died (DAOS keeps its handle until daos_agent evicts it, within
        // seconds) or by one still finishing. Not a failure of this request.
        return Status::aborted(format!(
            "creating volume {name:?}: what an earlier, interrupted attempt left (container \
             {label:?} or its staging container in pool {}) is still open; retry shortly ({e})",
            params.pool
        ));
    }
    let status = daos_status(
        format!(
            "creating volume {name:?} (container {label:?}) in pool {}",
            params.pool
        ),
        e,
    );
    match oclass_hint(params) {
        Some(hint) if e.is_invalid() => {
            Status::new(status.code(), format!("{}; {hint}", status.message()))
        }
        _ => status,
    }
}

/// The CreateVolume answer for `found`.
fn created_response(found: Found) -> CreateVolumeResponse {
    CreateVolumeResponse {
        volume: Some(Volume {
            capacity_bytes: to_i64(found.capacity),
            volume_id: found.id.to_string(),
            volume_context: found.context,
            content_source: found
                .content_source
                .as_deref()
                .and_then(copies::content_source_of),
            accessible_topology: Vec::new(),
        }),
    }
}

/// The `content-source` tag a volume made from `source` carries, if the
/// source is an id this driver issues.
fn content_source_tag(source: &VolumeContentSource, default: &SystemName) -> Option<String> {
    let (volume, epoch) = content_source_parts(source, default).ok()??;
    Some(copies::source_tag(&volume, epoch))
}

/// The size of a volume made from `source`: at least the source's (none
/// asked for: the source's).
fn copy_size(requested: u64, limit: i64, source: &CopySource, what: &str) -> Result<u64, Status> {
    let too_small = |asked: u64| {
        Status::out_of_range(format!(
            "a volume made from {what} must be at least as large as its source ({} bytes); \
             {asked} bytes were asked for",
            source.capacity
        ))
    };
    if limit > 0 && limit.unsigned_abs() < source.capacity {
        return Err(too_small(limit.unsigned_abs()));
    }
    match requested {
        0 => Ok(source.capacity),
        asked if asked < source.capacity => Err(too_small(asked)),
        asked => Ok(asked),
    }
}

/// The CSI form of snapshot `epoch` of `volume`.
fn csi_snapshot(volume: &VolumeId, epoch: daos::Epoch) -> Snapshot {
    Snapshot {
        // DAOS reports no per-snapshot size.
        size_bytes: 0,
        snapshot_id: SnapshotId::new(volume.clone(), epoch).to_string(),
        source_volume_id: volume.to_string(),
        creation_time: Some(snapshots::creation_time(epoch)),
        ready_to_use: true,
        group_snapshot_id: String::new(),
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[tonic::async_trait]
impl Controller for ControllerService {
    async fn create_volume(
        &self,
        request: Request<CreateVolumeRequest>,
    ) -> Result<Response<CreateVolumeResponse>, Status> {
        let req = request.into_inner();
        if req.name.is_empty() {
            return Err(Status::invalid_argument("name is required"));
        }
        let mut requested = volume::requested_bytes(req.capacity_range.as_ref())?;
        volume::check_capabilities("volume_capabilities", &req.volume_capabilities)?;
        let params = CreateParams::parse(&req.parameters, &self.default_system)?;
        self.check_pool_allowed(&params.system, &params.pool)
            .await?;
        // A volume made from a source is itself once made, even if its source
        // has gone since: a repeated CreateVolume gets it back.
        if let Some(source) = &req.volume_content_source
            && let Some(found) = self
                .finished_copy(&req.name, &params, requested, source)
                .await?
        {
            return Ok(Response::new(created_response(found)));
        }
        let copy = match &req.volume_content_source {
            None => None,
            Some(source) => match self.look_up_content_source(source).await? {
                SourceLookup::Missing(why) => return Err(Status::not_found(why)),
                SourceLookup::NotOurs(why) => return Err(Status::invalid_argument(why)),
                SourceLookup::Exists(copy) => {
                    let what = content_source_name(source);
                    let limit = req.capacity_range.as_ref().map_or(0, |r| r.limit_bytes);
                    requested = copy_size(requested, limit, &copy, &what)?;
                    Some(copy)
                }
            },
        };
        if !req.mutable_parameters.is_empty() {
            return Err(Status::invalid_argument(
                "mutable_parameters are not supported",
            ));
        }
        let _guard = self.locks.try_lock(&[&format!("name:{}", req.name)])?;
        let label = volume::container_label_for(&req.name);
        tracing::info!(name = %req.name, %label, pool = %params.pool, requested, "CreateVolume");
        self.remember_pool(&params.system, &params.pool);

        let spec = Self::container_spec(&label, &params)?;
        let created = match copy {
            Some(copy) => {
                self.create_copy(&req.name, &label, spec, &params, requested, copy)
                    .await?
            }
            None => {
                let driver = self.cfg.driver_name.clone();
                let (name, params2) = (req.name.clone(), params.clone());
                self.daos
                    .with_pool("volume_create", &params.system, &params.pool, move |pool| {
                        Self::create_in_pool(
                            pool,
                            &name,
                            &spec,
                            &params2,
                            requested,
                            &driver,
                            None,
                            &containers::Layout::Posix,
                            &mut containers::nothing_to_fill,
                        )
                    })
                    .await
                    .map_err(|e| create_failure(&req.name, &label, &params, &e))?
            }
        };
        match created {
            Created::Refused(s) => Err(s),
            Created::Volume(found) => {
                // A DeleteVolume of this very volume (a retry finding the
                // container it is destroying) holds the volume's lock from
                // before its lookup; the name lock held here keeps one that
                // starts later from destroying it (DeleteVolume takes it).
                let _volume_guard = self.locks.try_lock(&[&format!("volume:{}", found.id)])?;
                tracing::info!(name = %req.name, volume_id = %found.id, "volume ready");
                Ok(Response::new(created_response(found)))
            }
        }
    }

    async fn delete_volume(
        &self,
        request: Request<DeleteVolumeRequest>,
    ) -> Result<Response<DeleteVolumeResponse>, Status> {
        let req = request.into_inner();
        if req.volume_id.is_empty() {
            return Err(Status::invalid_argument("volume_id is required"));
        }
        // An id this driver could never have issued names no volume: gone is OK.
        let Ok(id) = VolumeId::parse(&req.volume_id, &self.default_system) else {
            tracing::info!(volume_id = %req.volume_id, "DeleteVolume of an id that names no container: nothing to do");
            return Ok(Response::new(DeleteVolumeResponse {}));
        };
        let _guard = self
            .locks
            .try_lock(&[&format!("volume:{}", req.volume_id)])?;
        tracing::info!(volume_id = %id, "DeleteVolume");
        self.remember_pool(&id.system, &id.pool);
        let driver = self.cfg.driver_name.clone();
        let container = id.container.to_string();
        let locks = Arc::clone(&self.locks);
        let result = self
            .daos
            .with_pool("volume_delete", &id.system, &id.pool, move |pool| {
                // Snapshots live inside the container: destroying it would
                // destroy them silently.
                let snapshots = snapshots::count_if_ours(pool, &container, &driver)?;
                if snapshots > 0 {
                    return Ok(Err(snapshots));
                }
                // CreateVolume locks the name, which only the tags tell
                // (with the volume lock it then takes, no interleaving of
                // the two hands out a container being destroyed).
                let hold_name = |tags: &VolumeTags| {
                    locks
                        .try_lock(&[&format!("name:{}", tags.volume_name)])
                        .ok()
                };
                containers::destroy_if_ours(pool, &container, &driver, hold_name).map(Ok)
            })
            .await;
        let result = match result {
            Ok(Err(snapshots)) => {
                return Err(Status::failed_precondition(format!(
                    "volume {id} still has {snapshots} snapshot(s); delete its VolumeSnapshots \
                     (DeleteSnapshot) first — deleting the volume would destroy them"
                )));
            }
            Ok(Ok(destroyed)) => Ok(destroyed),
            Err(e) => Err(e),
        };
        match result {
            Ok(Destroyed::Destroyed) => {
                tracing::info!(volume_id = %id, "container destroyed");
                Ok(Response::new(DeleteVolumeResponse {}))
            }
            Ok(Destroyed::Missing) => Ok(Response::new(DeleteVolumeResponse {})),
            Ok(Destroyed::Busy { volume_name }) => Err(Status::aborted(format!(
                "a CreateVolume of {volume_name:?}, the name of volume {id}, is in progress; retry later"
            ))),
            // Tagged by us but refused: an inline volume's container.
            Ok(Destroyed::NotOurs { created_by })
                if created_by.as_deref() == Some(self.cfg.driver_name.as_str()) =>
            {
                Err(Status::failed_precondition(format!(
                    "container {} in pool {} belongs to a CSI inline ephemeral volume; it is destroyed \
                     by NodeUnpublishVolume when its pod goes, never by DeleteVolume",
                    id.container, id.pool
                )))
            }
            Ok(Destroyed::NotOurs { created_by }) => Err(Status::failed_precondition(format!(
                "container {} in pool {} was not created by {} (created by: {}); it is never destroyed by \
                 DeleteVolume — use reclaimPolicy Retain for statically provisioned volumes",
                id.container,
                id.pool,
                self.cfg.driver_name,
                created_by.as_deref().unwrap_or("nobody we know")
            ))),
            Err(e) if e.is_not_found() => Ok(Response::new(DeleteVolumeResponse {})),
            Err(e) if e.is_busy() => Err(Status::failed_precondition(format!(
                "volume {id} is in use: a dfuse still has its container open (mounted on some node, \
                 or a dfuse that died, whose handle daos_agent evicts within seconds); it will be \
                 deleted once it is unstaged everywhere ({e})"
            ))),
            Err(e) => Err(daos_status(format!("deleting volume {id}"), &e)),
        }
    }

    async fn controller_publish_volume(
        &self,
        _request: Request<ControllerPublishVolumeRequest>,
    ) -> Result<Response<ControllerPublishVolumeResponse>, Status> {
        Err(unimplemented("ControllerPublishVolume"))
    }

    async fn controller_unpublish_volume(
        &self,
        _request: Request<ControllerUnpublishVolumeRequest>,
    ) -> Result<Response<ControllerUnpublishVolumeResponse>, Status> {
        Err(unimplemented("ControllerUnpublishVolume"))
    }

    async fn validate_volume_capabilities(
        &self,
        request: Request<ValidateVolumeCapabilitiesRequest>,
    ) -> Result<Response<ValidateVolumeCapabilitiesResponse>, Status> {
        use volume_capability::AccessType;
        let req = request.into_inner();
        if req.volume_id.is_empty() {
            return Err(Status::invalid_argument("volume_id is required"));
        }
        if req.volume_capabilities.is_empty() {
            return Err(Status::invalid_argument("volume_capabilities is required"));
        }
        for cap in &req.volume_capabilities {
            if cap.access_type.is_none() {
                return Err(Status::invalid_argument(
                    "volume_capabilities: access_type is required",
                ));
            }
            if cap.access_mode.is_none() {
                return Err(Status::invalid_argument(
                    "volume_capabilities: access_mode is required",
                ));
            }
        }
        let id = VolumeId::parse(&req.volume_id, &self.default_system)
            .map_err(|_| Status::not_found(format!("volume {:?} does not exist", req.volume_id)))?;
        let container = id.container.to_string();
        let exists = self
            .daos
            .with_pool("volume_lookup", &id.system, &id.pool, move |pool| {
                Ok(containers::lookup(pool, &container)?.is_some())
            })
            .await;
        match exists {
            Ok(true) => {}
            Ok(false) => return Err(Status::not_found(format!("volume {id} does not exist"))),
            Err(e) if e.is_not_found() => {
                return Err(Status::not_found(format!("volume {id} does not exist")));
            }
            Err(e) => return Err(daos_status(format!("looking up volume {id}"), &e)),
        }
        // Mount access in every mode is what a shared file system offers.
        let unsupported = req
            .volume_capabilities
            .iter()
            .find_map(|cap| match &cap.access_type {
                Some(AccessType::Block(_)) => Some("block access is not supported".to_string()),
                _ => volume::check_capability("volume_capabilities", cap)
                    .err()
                    .map(|s| s.message().to_string()),
            });
        if let Some(message) = unsupported {
            return Ok(Response::new(ValidateVolumeCapabilitiesResponse {
                confirmed: None,
                message,
            }));
        }
        if !req.parameters.is_empty()
            && let Err(s) = CreateParams::parse(&req.parameters, &self.default_system)
        {
            return Ok(Response::new(ValidateVolumeCapabilitiesResponse {
                confirmed: None,
                message: s.message().to_string(),
            }));
        }
        Ok(Response::new(ValidateVolumeCapabilitiesResponse {
            confirmed: Some(validate_volume_capabilities_response::Confirmed {
                volume_context: req.volume_context,
                volume_capabilities: req.volume_capabilities,
                parameters: req.parameters,
                mutable_parameters: HashMap::new(),
            }),
            message: String::new(),
        }))
    }

    async fn list_volumes(
        &self,
        request: Request<ListVolumesRequest>,
    ) -> Result<Response<ListVolumesResponse>, Status> {
        let req = request.into_inner();
        if req.max_entries < 0 {
            return Err(Status::invalid_argument("max_entries must not be negative"));
        }
        let after = if req.starting_token.is_empty() {
            None
        } else {
            Some(ListToken::decode(&req.starting_token)?.after)
        };
        let pools: Vec<(SystemName, EntityName)> = self
            .pools_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect();
        let mut all: BTreeMap<String, Found> = BTreeMap::new();
        for (system, pool) in pools {
            let driver = self.cfg.driver_name.clone();
            let sys = system.clone();
            let found = self
                .daos
                .with_pool("volume_list", &system, &pool, move |p| {
                    Self::volumes_in_pool(p, &sys, &driver)
                })
                .await;
            match found {
                Ok(vols) => {
                    for v in vols {
                        all.insert(v.id.to_string(), v);
                    }
                }
                Err(e) if e.is_not_found() => {
                    tracing::info!(%pool, "ListVolumes: pool does not exist (any more); skipped");
                }
                Err(e) => return Err(daos_status(format!("listing volumes in pool {pool}"), &e)),
            }
        }
        let rest: Vec<Found> = match &after {
            Some(a) => all
                .into_iter()
                .filter(|(k, _)| k > a)
                .map(|(_, v)| v)
                .collect(),
            None => all.into_values().collect(),
        };
        let (rest, next_token) = one_page(
            rest,
            req.max_entries,
            |v| v.id.to_string(),
            |after| ListToken { after }.encode(),
        );
        let entries = rest
            .into_iter()
            .map(|v| list_volumes_response::Entry {
                volume: Some(Volume {
                    capacity_bytes: to_i64(v.capacity),
                    volume_id: v.id.to_string(),
                    volume_context: v.context,
                    content_source: v
                        .content_source
                        .as_deref()
                        .and_then(copies::content_source_of),
                    accessible_topology: Vec::new(),
                }),
                status: None,
            })
            .collect();
        Ok(Response::new(ListVolumesResponse {
            entries,
            next_token,
        }))
    }

    async fn get_capacity(
        &self,
        request: Request<GetCapacityRequest>,
    ) -> Result<Response<GetCapacityResponse>, Status> {
        let req = request.into_inner();
        let none = Response::new(GetCapacityResponse {
            available_capacity: 0,
            maximum_volume_size: None,
            minimum_volume_size: None,
        });
        // Volumes of a capability we cannot provide have no capacity.
        if req
            .volume_capabilities
            .iter()
            .any(|c| volume::check_capability("volume_capabilities", c).is_err())
        {
            return Ok(none);
        }
        // Without a pool there is no capacity to speak of (the provisioner
        // asks per StorageClass, which names its pool).
        if !req.parameters.contains_key("pool") {
            return Ok(none);
        }
        let params = CreateParams::parse(&req.parameters, &self.default_system)?;
        self.check_pool_allowed(&params.system, &params.pool)
            .await?;
        self.remember_pool(&params.system, &params.pool);
        let info = self
            .daos
            .with_pool("pool_query", &params.system, &params.pool, |pool| {
                pool.query()
            })
            .await
            .map_err(|e| daos_status(format!("querying pool {}", params.pool), &e))?;
        crate::metrics::global().pool_capacity(
            params.system.as_str(),
            &params.pool.to_string(),
            info.total_bytes,
            info.free_bytes,
        );
        let free = to_i64(info.free_bytes);
        Ok(Response::new(GetCapacityResponse {
            available_capacity: free,
            maximum_volume_size: Some(free),
            minimum_volume_size: None,
        }))
    }

    async fn controller_get_capabilities(
        &self,
        _request: Request<ControllerGetCapabilitiesRequest>,
    ) -> Result<Response<ControllerGetCapabilitiesResponse>, Status> {
        use controller_service_capability::rpc::Type;
        // Snapshots need the VolumeSnapshot CRDs and csi-snapshotter: an
        // admin asks for them (--snapshots). Clones need nothing more: both
        // DAOS versions copy (the object route on 2.6).
        let snapshots: &[Type] = if self.cfg.snapshots {
            &[Type::CreateDeleteSnapshot, Type::ListSnapshots]
        } else {
            &[]
        };
        let clones: &[Type] = &[Type::CloneVolume];
        let capabilities = [
            Type::CreateDeleteVolume,
            Type::ListVolumes,
            Type::GetCapacity,
            Type::SingleNodeMultiWriter,
            Type::ExpandVolume,
        ]
        .into_iter()
        .chain(snapshots.iter().copied())
        .chain(clones.iter().copied())
        .map(|t| ControllerServiceCapability {
            r#type: Some(controller_service_capability::Type::Rpc(
                controller_service_capability::Rpc { r#type: t as i32 },
            )),
        })
        .collect();
        Ok(Response::new(ControllerGetCapabilitiesResponse {
            capabilities,
        }))
    }

    async fn create_snapshot(
        &self,
        request: Request<CreateSnapshotRequest>,
    ) -> Result<Response<CreateSnapshotResponse>, Status> {
        let req = request.into_inner();
        if req.name.is_empty() {
            return Err(Status::invalid_argument("name is required"));
        }
        if req.source_volume_id.is_empty() {
            return Err(Status::invalid_argument("source_volume_id is required"));
        }
        snapshots::check_parameters(&req.parameters)?;
        let no_volume = || {
            Status::not_found(format!(
                "source volume {:?} does not exist",
                req.source_volume_id
            ))
        };
        let source = VolumeId::parse(&req.source_volume_id, &self.default_system)
            .map_err(|_| no_volume())?;
        self.check_pool_allowed(&source.system, &source.pool)
            .await?;
        // The volume lock keeps DeleteVolume from racing a snapshot in.
        let _guard = self.locks.try_lock(&[
            &format!("snapshot-name:{}", req.name),
            &format!("volume:{}", req.source_volume_id),
        ])?;
        tracing::info!(name = %req.name, source = %source, "CreateSnapshot");
        self.remember_pool(&source.system, &source.pool);
        let stored = snapshots::stored_name(&req.name);
        let driver = self.cfg.driver_name.clone();
        let (system, pool, cont) = snapshots::volume_parts(&source);

        let (d, n, sys, c) = (driver.clone(), stored.clone(), system.clone(), cont.clone());
        let looked = self
            .daos
            .with_pool("snapshot_lookup", &system, &pool, move |p| {
                snapshots::find_named(p, &sys, &c, &d, &n)
            })
            .await;
        let (found, source_uuid) = match looked {
            Ok(v) => v,
            Err(e) if e.is_not_found() => return Err(no_volume()),
            Err(e) => {
                return Err(daos_status(
                    format!("looking up snapshot {:?} of volume {source}", req.name),
                    &e,
                ));
            }
        };
        let taken = match found {
            Taken::NotOurs { created_by } => {
                return Err(self.not_snapshottable(&source, created_by.as_deref()));
            }
            Taken::Snapshot { .. } => found,
            Taken::Missing if source_uuid.is_none() => return Err(no_volume()),
            Taken::Missing => {
                if let Some(other) = self.name_used_elsewhere(&stored, source_uuid).await? {
                    return Err(Status::already_exists(format!(
                        "snapshot name {:?} is already used by a snapshot of another volume ({other}); \
                         snapshot names are unique per driver",
                        req.name
                    )));
                }
                let (d, n, sys, c) = (driver.clone(), stored.clone(), system.clone(), cont.clone());
                let indexed = self.cfg.copy_route.needs_object_index();
                self.daos
                    .with_pool("snapshot_create", &system, &pool, move |p| {
                        snapshots::take(p, &sys, &c, &d, &n, indexed)
                    })
                    .await
                    .map_err(|e| {
                        daos_status(
                            format!("taking snapshot {:?} of volume {source}", req.name),
                            &e,
                        )
                    })?
            }
        };
        match taken {
            Taken::Snapshot { volume, epoch } => {
                let snapshot = csi_snapshot(&volume, epoch);
                tracing::info!(name = %req.name, snapshot_id = %snapshot.snapshot_id, "snapshot ready");
                Ok(Response::new(CreateSnapshotResponse {
                    snapshot: Some(snapshot),
                }))
            }
            Taken::Missing => Err(no_volume()),
            Taken::NotOurs { created_by } => {
                Err(self.not_snapshottable(&source, created_by.as_deref()))
            }
        }
    }

    async fn delete_snapshot(
        &self,
        request: Request<DeleteSnapshotRequest>,
    ) -> Result<Response<DeleteSnapshotResponse>, Status> {
        let req = request.into_inner();
        if req.snapshot_id.is_empty() {
            return Err(Status::invalid_argument("snapshot_id is required"));
        }
        let done = || Ok(Response::new(DeleteSnapshotResponse {}));
        let Some(id) = SnapshotId::parse(&req.snapshot_id, &self.default_system) else {
            tracing::info!(snapshot_id = %req.snapshot_id, "DeleteSnapshot of an id that names no snapshot: nothing to do");
            return done();
        };
        let _guard = self
            .locks
            .try_lock(&[&format!("snapshot:{}", req.snapshot_id)])?;
        tracing::info!(snapshot_id = %id, "DeleteSnapshot");
        let driver = self.cfg.driver_name.clone();
        let (system, pool, cont) = snapshots::volume_parts(&id.volume);
        let epoch = id.epoch;
        let removed = self
            .daos
            .with_pool("snapshot_delete", &system, &pool, move |p| {
                snapshots::remove(p, &cont, &driver, epoch)
            })
            .await;
        match removed {
            Ok(Removed::Removed) => {
                tracing::info!(snapshot_id = %id, "snapshot destroyed");
                done()
            }
            Ok(Removed::Missing) => done(),
            Ok(Removed::NotOurs) => {
                tracing::warn!(snapshot_id = %id, "DeleteSnapshot of a snapshot in a container this driver did not create: left alone");
                done()
            }
            Err(e) if e.is_not_found() => done(),
            Err(e) => Err(daos_status(format!("deleting snapshot {id}"), &e)),
        }
    }

    async fn list_snapshots(
        &self,
        request: Request<ListSnapshotsRequest>,
    ) -> Result<Response<ListSnapshotsResponse>, Status> {
        let req = request.into_inner();
        if req.max_entries < 0 {
            return Err(Status::invalid_argument("max_entries must not be negative"));
        }
        let after = if req.starting_token.is_empty() {
            None
        } else {
            Some(SnapshotListToken::decode(&req.starting_token)?.after)
        };
        let mut all = self.snapshots_matching(&req).await?;
        all.sort_by(|a, b| a.snapshot_id.cmp(&b.snapshot_id));
        // A pool known by label and by UUID is walked twice.
        all.dedup_by(|a, b| a.snapshot_id == b.snapshot_id);
        if let Some(a) = &after {
            all.retain(|s| &s.snapshot_id > a);
        }
        let (all, next_token) = one_page(
            all,
            req.max_entries,
            |s| s.snapshot_id.clone(),
            |after| SnapshotListToken { after }.encode(),
        );
        let entries = all
            .into_iter()
            .map(|s| list_snapshots_response::Entry { snapshot: Some(s) })
            .collect();
        Ok(Response::new(ListSnapshotsResponse {
            entries,
            next_token,
        }))
    }

    async fn get_snapshot(
        &self,
        _request: Request<GetSnapshotRequest>,
    ) -> Result<Response<GetSnapshotResponse>, Status> {
        Err(unimplemented("GetSnapshot"))
    }

    /// Grows a volume's recorded capacity. DAOS has no per-container size,
    /// so nothing on the node changes (node_expansion_required is false):
    /// the pool's free space must cover the growth, as it must cover the
    /// whole request at CreateVolume.
    async fn controller_expand_volume(
        &self,
        request: Request<ControllerExpandVolumeRequest>,
    ) -> Result<Response<ControllerExpandVolumeResponse>, Status> {
        let req = request.into_inner();
        if req.volume_id.is_empty() {
            return Err(Status::invalid_argument("volume_id is required"));
        }
        let range = req
            .capacity_range
            .as_ref()
            .ok_or_else(|| Status::invalid_argument("capacity_range is required"))?;
        let wanted = volume::requested_bytes(Some(range))?;
        if wanted == 0 {
            return Err(Status::invalid_argument(
                "capacity_range: required_bytes or limit_bytes must be set",
            ));
        }
        if let Some(cap) = &req.volume_capability {
            volume::check_capability("volume_capability", cap)?;
        }
        let id = VolumeId::parse(&req.volume_id, &self.default_system)
            .map_err(|_| Status::not_found(format!("volume {:?} does not exist", req.volume_id)))?;
        let _guard = self
            .locks
            .try_lock(&[&format!("volume:{}", req.volume_id)])?;
        self.check_pool_allowed(&id.system, &id.pool).await?;
        tracing::info!(volume_id = %id, wanted, "ControllerExpandVolume");
        self.remember_pool(&id.system, &id.pool);
        let driver = self.cfg.driver_name.clone();
        let container = id.container.to_string();
        let limit = range.limit_bytes.unsigned_abs();
        let expansion = self
            .daos
            .with_pool("volume_expand", &id.system, &id.pool, move |pool| {
                containers::expand(pool, &container, &driver, wanted, limit)
            })
            .await;
        let capacity = match expansion {
            Ok(Expansion::Done(capacity)) => capacity,
            Ok(Expansion::Missing) => {
                return Err(Status::not_found(format!("volume {id} does not exist")));
            }
            Err(e) if e.is_not_found() => {
                return Err(Status::not_found(format!(
                    "volume {id} does not exist ({e})"
                )));
            }
            Ok(Expansion::NotOurs { created_by }) => {
                return Err(Status::failed_precondition(format!(
                    "volume {id} was not provisioned by {} (created by: {}); only its dynamically \
                     provisioned volumes can be expanded",
                    self.cfg.driver_name,
                    created_by.as_deref().unwrap_or("nobody we know")
                )));
            }
            Ok(Expansion::NoSpace { growth, free }) => {
                return Err(Status::out_of_range(format!(
                    "expanding volume {id} to {wanted} bytes needs {growth} more bytes but pool {} has \
                     only {free} bytes free",
                    id.pool
                )));
            }
            Ok(Expansion::AboveLimit { capacity }) => {
                return Err(Status::out_of_range(format!(
                    "volume {id} already has {capacity} bytes, more than limit_bytes {limit}; \
                     volumes never shrink"
                )));
            }
            Err(e) => return Err(daos_status(format!("expanding volume {id}"), &e)),
        };
        Ok(Response::new(ControllerExpandVolumeResponse {
            capacity_bytes: to_i64(capacity),
            node_expansion_required: false,
        }))
    }

    async fn controller_get_volume(
        &self,
        _request: Request<ControllerGetVolumeRequest>,
    ) -> Result<Response<ControllerGetVolumeResponse>, Status> {
        Err(unimplemented("ControllerGetVolume"))
    }

    async fn controller_modify_volume(
        &self,
        _request: Request<ControllerModifyVolumeRequest>,
    ) -> Result<Response<ControllerModifyVolumeResponse>, Status> {
        Err(unimplemented("ControllerModifyVolume"))
    }
}

/// One page of `items` (already sorted by `key`): at most `max_entries` of them (0 or less:
/// all), and the token of the next page, made by `token` from the last key returned, or empty
/// when nothing is left. ListVolumes and ListSnapshots page the same way.
fn one_page<T>(
    mut items: Vec<T>,
    max_entries: i32,
    key: impl Fn(&T) -> String,
    token: impl Fn(String) -> String,
) -> (Vec<T>, String) {
    let limit = usize::try_from(max_entries).unwrap_or(usize::MAX);
    if limit == 0 || items.len() <= limit {
        return (items, String::new());
    }
    items.truncate(limit);
    let next = items.last().map(|v| token(key(v))).unwrap_or_default();
    (items, next)
}

#[cfg(test)]
mod tests {
    use super::one_page;

    fn page(items: &[&str], max: i32) -> (Vec<String>, String) {
        let items = items.iter().map(|s| s.to_string()).collect();
        one_page(
            items,
            max,
            |s: &String| s.clone(),
            |after| format!("t:{after}"),
        )
    }

    #[test]
    fn pages_stop_at_max_entries_and_name_the_last_key() {
        assert_eq!(
            page(&["a", "b", "c"], 2),
            (vec!["a".into(), "b".into()], "t:b".into())
        );
        assert_eq!(
            page(&["a", "b"], 2),
            (vec!["a".into(), "b".into()], String::new())
        );
    }

    #[test]
    fn zero_or_negative_max_entries_returns_everything() {
        for max in [0, -1] {
            assert_eq!(page(&["a", "b", "c"], max).0.len(), 3);
            assert_eq!(page(&["a", "b", "c"], max).1, "");
        }
    }
}
