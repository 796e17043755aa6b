//! The emulated system on disk, shared by every process that uses it.
//!
//! Layout under `<agent dir>/emulated-system/`:
//! ```text
//! system.json                      system name
//! pool-labels/<label>              pool uuid (created O_EXCL: labels are unique)
//! pools/<uuid>/meta.json           PoolMeta (replaced atomically)
//! pools/<uuid>/space               used bytes (mapped shared counter)
//! pools/<uuid>/handles/<pid>.<start>.<cookie>           open pool handles
//! pools/<uuid>/labels/<label>      container uuid (O_EXCL)
//! pools/<uuid>/lock               flock: SH while opening a container, EX to change/destroy one
//! pools/<uuid>/conts/<cuuid>.json  ContMeta of a container (it exists while this file does)
//! pools/<uuid>/chandles/<cuuid>.<pid>.<start>.<cookie>.<pool cookie>   open container handles
//! pools/<uuid>/cspace/<cuuid>      bytes written to the container (mapped shared counter)
//! pools/<uuid>/fs/<cuuid>/         the POSIX namespace of a DFS container (DFS, dfuse)
//! pools/<uuid>/snaps/<cuuid>/<epoch>/   frozen copy of fs/<cuuid> per snapshot
//! pools/<uuid>/trash/              data trees of destroyed containers being removed
//! faults.json, faults.gen, faults.count/<rule id>      fault injection (see faults.rs)
//! ```
//! Handle files of processes that no longer exist are ignored (and swept), as the real agent
//! evicts the handles of exited processes.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::acl::Acl;
use crate::der::{Der, DerResult};
use crate::fsutil::{self, FileLock, ProcessId, SharedCounter};
use crate::label::{self, NameOrUuid};
use crate::props::{self, PropValue, Props, co};

/// Name of the state directory inside the agent directory.
pub const STATE_DIR: &str = "emulated-system";
/// Name of the agent socket.
pub const AGENT_SOCKET: &str = "daos_agent.sock";
/// Where libdaos looks without `DAOS_AGENT_DRPC_DIR`.
pub const DEFAULT_AGENT_DIR: &str = "/var/run/daos_agent";
/// Default DAOS system name.
pub const DEFAULT_SYSTEM_NAME: &str = "daos_server";
/// Targets per emulated engine.
pub const TARGETS: u32 = 8;

/// One emulated DAOS system, found through its agent directory.
#[derive(Clone, Debug)]
pub struct System {
    agent_dir: PathBuf,
    root: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct SystemMeta {
    name: String,
}

impl System {
    /// The system whose agent lives in `agent_dir`.
    pub fn new(agent_dir: &Path) -> System {
        System {
            agent_dir: agent_dir.to_path_buf(),
            root: agent_dir.join(STATE_DIR),
        }
    }

    /// The system libdaos would use: `$DAOS_AGENT_DRPC_DIR`, else `/var/run/daos_agent`.
    pub fn from_env() -> System {
        let dir = std::env::var_os("DAOS_AGENT_DRPC_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_AGENT_DIR));
        System::new(&dir)
    }

    /// The agent directory.
    pub fn agent_dir(&self) -> &Path {
        &self.agent_dir
    }

    /// The state directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The agent socket path.
    pub fn socket_path(&self) -> PathBuf {
        self.agent_dir.join(AGENT_SOCKET)
    }

    /// Creates the directory layout (the agent does this at start).
    pub fn create_layout(&self) -> io::Result<()> {
        for d in ["pools", "pool-labels", "faults.count"] {
            fsutil::ensure_dir(&self.root.join(d))?;
        }
        let meta = self.root.join("system.json");
        if !meta.exists() {
            let m = SystemMeta {
                name: DEFAULT_SYSTEM_NAME.into(),
            };
            fsutil::write_atomic(
                &meta,
                &serde_json::to_vec_pretty(&m).map_err(io::Error::other)?,
            )?;
        }
        Ok(())
    }

    /// True when the state directory exists.
    pub fn exists(&self) -> bool {
        self.root.join("pools").is_dir()
    }

    /// The DAOS system name.
    pub fn name(&self) -> String {
        std::fs::read(self.root.join("system.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<SystemMeta>(&b).ok())
            .map(|m| m.name)
            .unwrap_or_else(|| DEFAULT_SYSTEM_NAME.into())
    }

    fn pools_dir(&self) -> PathBuf {
        self.root.join("pools")
    }

    fn pool_label_path(&self, label: &str) -> PathBuf {
        self.root.join("pool-labels").join(label)
    }

    /// Creates a pool of `scm_bytes + nvme_bytes` owned by `owner`/`owner_group` (`name@`).
    pub fn create_pool(&self, req: &PoolCreate) -> Result<PoolMeta, PoolError> {
        if !label::is_valid(&req.label) || req.label == label::POOL_LABEL_DEFAULT {
            return Err(PoolError::Der(Der::INVAL));
        }
        if req.scm_bytes + req.nvme_bytes == 0 {
            return Err(PoolError::Der(Der::INVAL));
        }
        let uuid = Uuid::new_v4();
        let label_path = self.pool_label_path(&req.label);
        match fsutil::create_exclusive(&label_path, uuid.to_string().as_bytes()) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if self
                    .find_pool(&NameOrUuid::Label(req.label.clone()))
                    .is_ok()
                {
                    return Err(PoolError::DuplicateLabel(req.label.clone()));
                }
                // A leftover from an interrupted destroy: take it over.
                fsutil::write_atomic(&label_path, uuid.to_string().as_bytes()).map_err(io_err)?;
            }
            Err(e) => return Err(io_err(e)),
        }
        let meta = PoolMeta {
            uuid,
            label: Some(req.label.clone()),
            scm_bytes: req.scm_bytes,
            nvme_bytes: req.nvme_bytes,
            ntargets: TARGETS,
            nnodes: 1,
            map_version: 1,
            owner: req.owner.clone(),
            owner_group: req.owner_group.clone(),
            acl: req.acl.clone().unwrap_or_else(Acl::default_pool).to_bytes(),
            redun_fac: 0,
            created_unix_ns: fsutil::unix_nanos(),
            attrs: BTreeMap::new(),
        };
        let build = self.pools_dir().join(format!(".new-{uuid}"));
        let result = (|| -> io::Result<()> {
            for d in [
                "handles", "chandles", "conts", "labels", "trash", "fs", "snaps", "cspace",
            ] {
                std::fs::create_dir_all(build.join(d))?;
            }
            SharedCounter::open(&build.join("space"))?;
            std::fs::write(build.join("lock"), b"")?;
            fsutil::write_atomic(
                &build.join("meta.json"),
                &serde_json::to_vec_pretty(&meta).map_err(io::Error::other)?,
            )?;
            std::fs::rename(&build, self.pools_dir().join(uuid.to_string()))
        })();
        if let Err(e) = result {
            let _ = fsutil::remove_tree(&build);
            let _ = std::fs::remove_file(&label_path);
            return Err(io_err(e));
        }
        Ok(meta)
    }

    /// Every pool, in label order.
    pub fn list_pools(&self) -> Vec<PoolMeta> {
        let mut pools: Vec<PoolMeta> = std::fs::read_dir(self.pools_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| read_json::<PoolMeta>(&e.path().join("meta.json")).ok())
            .collect();
        pools.sort_by(|a, b| a.label.cmp(&b.label).then(a.uuid.cmp(&b.uuid)));
        pools
    }

    /// A pool by label or UUID; `-DER_NONEXIST` when there is none.
    pub fn find_pool(&self, id: &NameOrUuid) -> DerResult<PoolDir> {
        let uuid = match id {
            NameOrUuid::Uuid(u) => *u,
            NameOrUuid::Label(l) => std::fs::read_to_string(self.pool_label_path(l))
                .ok()
                .and_then(|s| Uuid::parse_str(s.trim()).ok())
                .ok_or(Der::NONEXIST)?,
        };
        let dir = PoolDir {
            uuid,
            path: self.pools_dir().join(uuid.to_string()),
        };
        let meta = dir.meta()?;
        if let NameOrUuid::Label(l) = id
            && meta.label.as_deref() != Some(l.as_str())
        {
            return Err(Der::NONEXIST);
        }
        Ok(dir)
    }

    /// Destroys a pool: refuses one with containers unless `recursive`, and one with open
    /// handles unless `force` (which evicts them), as the control plane does.
    pub fn destroy_pool(
        &self,
        id: &NameOrUuid,
        force: bool,
        recursive: bool,
    ) -> Result<(), PoolError> {
        let pool = self.find_pool(id).map_err(PoolError::Der)?;
        if !recursive && !pool.list_conts().is_empty() {
            return Err(PoolError::HasContainers);
        }
        if !force && !pool.live_pool_handles().is_empty() {
            return Err(PoolError::Der(Der::BUSY));
        }
        let meta = pool.meta().map_err(PoolError::Der)?;
        let trash =
            self.pools_dir()
                .join(format!(".destroyed-{}-{}", pool.uuid, fsutil::unix_nanos()));
        std::fs::rename(&pool.path, &trash).map_err(io_err)?;
        if let Some(l) = &meta.label {
            let path = self.pool_label_path(l);
            if std::fs::read_to_string(&path)
                .map(|s| s.trim() == pool.uuid.to_string())
                .unwrap_or(false)
            {
                let _ = std::fs::remove_file(path);
            }
        }
        fsutil::remove_tree(&trash).map_err(io_err)?;
        Ok(())
    }

    /// Evicts every pool and container handle of every process (the agent does this when it
    /// shuts down, unless auto-evict is disabled). Returns how many handles it evicted.
    pub fn evict_all_handles(&self) -> usize {
        let mut n = 0;
        for pool in std::fs::read_dir(self.pools_dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            let pdir = pool.path();
            n += clear_dir(&pdir.join("handles"));
            n += clear_dir(&pdir.join("chandles"));
        }
        n
    }

    /// Evicts the pool and container handles of processes that are gone, as daos_agent's
    /// process monitor does (`procmon.go`: a pool evict of the dead process's handles, which
    /// closes its container handles too). Returns how many handles it evicted.
    pub fn evict_dead_handles(&self) -> usize {
        self.evict_handles_where(|owner| !owner.is_alive())
    }

    /// Evicts every handle of process `pid` (daos_agent does so when a client's `daos_fini`
    /// says it exits with handles still open). Returns how many it evicted.
    pub fn evict_handles_of(&self, pid: u32) -> usize {
        self.evict_handles_where(|owner| owner.pid == pid)
    }

    fn evict_handles_where(&self, evict: impl Fn(&ProcessId) -> bool) -> usize {
        let mut n = 0;
        for pool in std::fs::read_dir(self.pools_dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            let pdir = pool.path();
            for dir in [pdir.join("handles"), pdir.join("chandles")] {
                for (path, owner) in handle_files(&dir, None) {
                    if evict(&owner) && std::fs::remove_file(path).is_ok() {
                        n += 1;
                    }
                }
            }
        }
        n
    }

    /// Path of `faults.json`.
    pub fn faults_path(&self) -> PathBuf {
        self.root.join("faults.json")
    }

    /// Directory of the per-rule consumption counters.
    pub fn faults_count_dir(&self) -> PathBuf {
        self.root.join("faults.count")
    }
}

fn clear_dir(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if std::fs::remove_file(e.path()).is_ok() {
            n += 1;
        }
    }
    n
}

fn io_err(e: io::Error) -> PoolError {
    PoolError::Der(crate::der::from_io(&e))
}

/// What pool creation needs.
#[derive(Clone, Debug)]
pub struct PoolCreate {
    /// The label.
    pub label: String,
    /// SCM tier bytes.
    pub scm_bytes: u64,
    /// NVMe tier bytes.
    pub nvme_bytes: u64,
    /// Owner principal (`name@`).
    pub owner: String,
    /// Owner group principal.
    pub owner_group: String,
    /// ACL (default: `A::OWNER@:rw`, `A:G:GROUP@:rw`).
    pub acl: Option<Acl>,
}

/// Why a control-plane pool operation failed.
#[derive(Debug, PartialEq, Eq)]
pub enum PoolError {
    /// A DAOS error.
    Der(Der),
    /// Another pool has the label.
    DuplicateLabel(String),
    /// Destroy without `--recursive` of a pool that has containers.
    HasContainers,
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PoolError::Der(d) => write!(f, "{d}"),
            PoolError::DuplicateLabel(l) => {
                write!(f, "pool label {l:?} already exists in the system")
            }
            PoolError::HasContainers => write!(f, "cannot destroy a pool with existing containers"),
        }
    }
}

/// A pool's stored metadata.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PoolMeta {
    /// UUID.
    pub uuid: Uuid,
    /// Label.
    pub label: Option<String>,
    /// SCM tier size.
    pub scm_bytes: u64,
    /// NVMe tier size.
    pub nvme_bytes: u64,
    /// Targets.
    pub ntargets: u32,
    /// Engines.
    pub nnodes: u32,
    /// Pool map version.
    pub map_version: u32,
    /// Owner principal.
    pub owner: String,
    /// Owner group principal.
    pub owner_group: String,
    /// Packed ACL.
    pub acl: Vec<u8>,
    /// Redundancy factor (what containers inherit).
    pub redun_fac: u64,
    /// Creation time.
    pub created_unix_ns: u64,
    /// User attributes (hex values).
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
}

impl PoolMeta {
    /// Total bytes over both tiers.
    pub fn total_bytes(&self) -> u64 {
        self.scm_bytes + self.nvme_bytes
    }
}

/// A pool's directory.
#[derive(Clone, Debug)]
pub struct PoolDir {
    /// UUID.
    pub uuid: Uuid,
    /// `pools/<uuid>`.
    pub path: PathBuf,
}

static SPACE_CACHE: parking_lot::Mutex<Option<HashMap<PathBuf, Arc<SharedCounter>>>> =
    parking_lot::Mutex::new(None);

/// The shared used-bytes counter in `path`, mapped once per process.
pub fn space_counter(path: &Path) -> io::Result<Arc<SharedCounter>> {
    let mut cache = SPACE_CACHE.lock();
    let map = cache.get_or_insert_with(HashMap::new);
    if let Some(c) = map.get(path) {
        return Ok(c.clone());
    }
    let c = Arc::new(SharedCounter::open(path)?);
    map.insert(path.to_path_buf(), c.clone());
    Ok(c)
}

/// Forgets the cached mapping of a counter file that is being removed.
fn forget_space(path: &Path) {
    if let Some(map) = SPACE_CACHE.lock().as_mut() {
        map.remove(path);
    }
}

impl PoolDir {
    /// The stored metadata; `-DER_NONEXIST` once the pool is gone.
    pub fn meta(&self) -> DerResult<PoolMeta> {
        read_json(&self.path.join("meta.json")).map_err(|_| Der::NONEXIST)
    }

    /// Replaces the metadata under the pool lock.
    pub fn update_meta<T>(&self, f: impl FnOnce(&mut PoolMeta) -> DerResult<T>) -> DerResult<T> {
        let _lock = self.lock(true)?;
        let mut meta = self.meta()?;
        let out = f(&mut meta)?;
        write_json(&self.path.join("meta.json"), &meta)?;
        Ok(out)
    }

    /// The pool lock: shared while a container handle is opened, exclusive while container
    /// metadata changes or a container is destroyed.
    pub fn lock(&self, exclusive: bool) -> DerResult<FileLock> {
        FileLock::acquire(&self.path.join("lock"), exclusive).map_err(|_| Der::NONEXIST)
    }

    /// The used-bytes counter of the pool.
    pub fn space(&self) -> DerResult<Arc<SharedCounter>> {
        space_counter(&self.path.join("space")).map_err(|e| crate::der::from_io(&e))
    }

    /// Bytes used and total.
    pub fn usage(&self) -> DerResult<(u64, u64)> {
        let meta = self.meta()?;
        Ok((
            self.space()?.get().min(meta.total_bytes()),
            meta.total_bytes(),
        ))
    }

    /// Path of a pool handle file.
    pub fn handle_path(&self, owner: ProcessId, cookie: u64) -> PathBuf {
        self.path
            .join("handles")
            .join(format!("{}.{cookie}", owner.tag()))
    }

    /// Open pool handles, including those of processes that died and are not evicted yet.
    pub fn live_pool_handles(&self) -> Vec<PathBuf> {
        open_handle_files(&self.path.join("handles"), None)
    }

    /// A container by UUID (it may not exist).
    pub fn cont(&self, uuid: Uuid) -> ContDir {
        ContDir {
            uuid,
            pool: self.clone(),
        }
    }

    fn label_path(&self, label: &str) -> PathBuf {
        self.path.join("labels").join(label)
    }

    /// The UUID of a container named by label or UUID; `-DER_NONEXIST` when there is none.
    pub fn resolve_cont(&self, id: &NameOrUuid) -> DerResult<Uuid> {
        match id {
            NameOrUuid::Uuid(u) => {
                if self.cont(*u).meta_path().exists() {
                    Ok(*u)
                } else {
                    Err(Der::NONEXIST)
                }
            }
            NameOrUuid::Label(l) => {
                let u = std::fs::read_to_string(self.label_path(l))
                    .ok()
                    .and_then(|s| Uuid::parse_str(s.trim()).ok())
                    .ok_or(Der::NONEXIST)?;
                let meta = self.cont(u).meta()?;
                if meta.label() != Some(l.as_str()) {
                    return Err(Der::NONEXIST);
                }
                Ok(u)
            }
        }
    }

    /// Creates a container. `props` must already hold every property (defaults merged).
    /// With `dfs`, the root directory is set up as `dfs_cont_create` leaves it.
    ///
    /// Each new inode is costly on a file system with much create/delete churn, so a
    /// container is its label file, its metadata file and (POSIX only) its root directory.
    pub fn create_cont(&self, uuid: Uuid, props: Props, dfs: Option<DfsAttrs>) -> DerResult<()> {
        // The server's default label means "no label".
        let label = match props.get(&co::LABEL) {
            Some(PropValue::Str(s)) if s != label::CONT_LABEL_DEFAULT => Some(s.clone()),
            _ => None,
        };
        let cont = self.cont(uuid);
        if cont.meta_path().exists() {
            return Err(Der::EXIST);
        }
        if let Some(l) = &label {
            self.claim_label(l, uuid)?;
        }
        let root_owner = dfs.as_ref().map(|d| (d.root_uid, d.root_gid));
        let meta = ContMeta {
            uuid,
            props,
            attrs: BTreeMap::new(),
            snapshots: Vec::new(),
            oit_snapshots: Vec::new(),
            created_hlc: crate::hlc::now(),
            dfs,
        };
        let result = (|| -> io::Result<()> {
            if let Some((uid, gid)) = root_owner {
                use std::os::unix::fs::PermissionsExt;
                let root = cont.fs_root();
                std::fs::create_dir(&root)?;
                std::os::unix::fs::chown(&root, Some(uid), Some(gid))?;
                std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755))?;
            }
            // Written last: a container exists once its metadata file does.
            fsutil::write_atomic(
                &cont.meta_path(),
                &serde_json::to_vec(&meta).map_err(io::Error::other)?,
            )
        })();
        if let Err(e) = result {
            let _ = fsutil::remove_tree(&cont.fs_root());
            if let Some(l) = &label {
                self.release_label(l, uuid);
            }
            return Err(crate::der::from_io(&e));
        }
        Ok(())
    }

    /// Takes a container label for `uuid`; `-DER_EXIST` when another container has it.
    fn claim_label(&self, label: &str, uuid: Uuid) -> DerResult<()> {
        let path = self.label_path(label);
        match fsutil::create_exclusive(&path, uuid.to_string().as_bytes()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // The label file may be left over from a destroy that was interrupted.
                let owner = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| Uuid::parse_str(s.trim()).ok());
                let stale = match owner {
                    Some(o) if o == uuid => false,
                    Some(o) => self
                        .cont(o)
                        .meta()
                        .map(|m| m.label() != Some(label))
                        .unwrap_or(true),
                    None => true,
                };
                if stale && std::fs::remove_file(&path).is_ok() {
                    return self.claim_label(label, uuid);
                }
                Err(Der::EXIST)
            }
            Err(e) => Err(crate::der::from_io(&e)),
        }
    }

    fn release_label(&self, label: &str, uuid: Uuid) {
        let path = self.label_path(label);
        if std::fs::read_to_string(&path)
            .map(|s| s.trim() == uuid.to_string())
            .unwrap_or(false)
        {
            let _ = std::fs::remove_file(path);
        }
    }

    /// (uuid, label) of every container.
    pub fn list_conts(&self) -> Vec<(Uuid, Option<String>)> {
        let mut out: Vec<(Uuid, Option<String>)> = std::fs::read_dir(self.path.join("conts"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                Uuid::parse_str(name.strip_suffix(".json")?).ok()
            })
            .filter_map(|u| {
                self.cont(u)
                    .meta()
                    .ok()
                    .map(|m| (u, m.label().map(str::to_string)))
            })
            .collect();
        out.sort();
        out
    }

    /// Destroys a container: `-DER_BUSY` while any live process has it open, unless `force`
    /// (whose open handles then fail with `-DER_NO_HDL`).
    pub fn destroy_cont(&self, id: &NameOrUuid, force: bool) -> DerResult<()> {
        let uuid = self.resolve_cont(id)?;
        let cont = self.cont(uuid);
        let _lock = self.lock(true)?;
        let meta = cont.meta()?;
        let handles = cont.live_handles();
        if !force && !handles.is_empty() {
            return Err(Der::BUSY);
        }
        std::fs::remove_file(cont.meta_path()).map_err(|e| crate::der::from_io(&e))?;
        if let Some(l) = meta.label() {
            self.release_label(l, uuid);
        }
        for h in handles {
            let _ = std::fs::remove_file(h);
        }
        let space = cont.space_path();
        if space.exists() {
            let used = space_counter(&space).map(|c| c.get()).unwrap_or(0);
            if let Ok(p) = self.space() {
                p.sub(used);
            }
            forget_space(&space);
            let _ = std::fs::remove_file(&space);
        }
        // Data trees leave through the trash so that the name is free at once.
        let _ = std::fs::remove_file(self.path.join("objs").join(format!("{uuid}.lock")));
        for tree in [
            cont.fs_root(),
            self.path.join("snaps").join(uuid.to_string()),
            crate::objects::objs_dir(&cont),
        ] {
            if tree.exists() {
                let trash = self
                    .path
                    .join("trash")
                    .join(format!("{uuid}.{}", fsutil::unix_nanos()));
                if std::fs::rename(&tree, &trash).is_ok() {
                    let _ = fsutil::remove_tree(&trash);
                }
            }
        }
        Ok(())
    }
}

/// A container's stored metadata.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContMeta {
    /// UUID.
    pub uuid: Uuid,
    /// Every property.
    pub props: Props,
    /// User attributes, hex-encoded values.
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
    /// Snapshot epochs, ascending.
    #[serde(default)]
    pub snapshots: Vec<u64>,
    /// Snapshots that have an object index table (`DAOS_SNAP_OPT_OIT`).
    #[serde(default)]
    pub oit_snapshots: Vec<u64>,
    /// Creation time (HLC).
    pub created_hlc: u64,
    /// DFS superblock attributes of a POSIX container made by `dfs_cont_create`.
    #[serde(default)]
    pub dfs: Option<DfsAttrs>,
}

/// What DFS keeps in a POSIX container's superblock.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DfsAttrs {
    /// Default chunk size.
    pub chunk_size: u64,
    /// Default object class.
    pub oclass: u32,
    /// Directory object class.
    pub dir_oclass: u32,
    /// File object class.
    pub file_oclass: u32,
    /// `DFS_RELAXED` or `DFS_BALANCED`.
    pub mode: u32,
    /// Object class hints.
    pub hints: String,
    /// Owner of the root directory at creation.
    pub root_uid: u32,
    /// Group of the root directory at creation.
    pub root_gid: u32,
}

impl ContMeta {
    /// The label, unless the container has none.
    pub fn label(&self) -> Option<&str> {
        match self.props.get(&co::LABEL) {
            Some(PropValue::Str(s)) if s != label::CONT_LABEL_DEFAULT => Some(s),
            _ => None,
        }
    }

    /// A numeric property (0 when absent).
    pub fn val(&self, t: u32) -> u64 {
        match self.props.get(&t) {
            Some(PropValue::Val(v)) => *v,
            _ => 0,
        }
    }

    /// A string property.
    pub fn str_prop(&self, t: u32) -> Option<&str> {
        match self.props.get(&t) {
            Some(PropValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The ACL.
    pub fn acl(&self) -> Acl {
        match self.props.get(&co::ACL) {
            Some(PropValue::Acl(b)) => Acl::from_bytes(b).unwrap_or_default(),
            _ => Acl::default(),
        }
    }

    /// True for a POSIX (DFS) container.
    pub fn is_posix(&self) -> bool {
        self.val(co::LAYOUT_TYPE) == props::LAYOUT_POSIX
    }
}

/// A container's files in its pool.
#[derive(Clone, Debug)]
pub struct ContDir {
    /// UUID.
    pub uuid: Uuid,
    /// Its pool.
    pub pool: PoolDir,
}

impl ContDir {
    /// `conts/<uuid>.json`.
    pub fn meta_path(&self) -> PathBuf {
        self.pool
            .path
            .join("conts")
            .join(format!("{}.json", self.uuid))
    }

    /// The stored metadata; `-DER_NONEXIST` once destroyed.
    pub fn meta(&self) -> DerResult<ContMeta> {
        read_json(&self.meta_path()).map_err(|_| Der::NONEXIST)
    }

    /// Takes the pool lock (shared for open, exclusive for destroy and updates) and checks
    /// that the container still exists under it.
    pub fn lock(&self, exclusive: bool) -> DerResult<FileLock> {
        let lock = self.pool.lock(exclusive)?;
        if !self.meta_path().exists() {
            return Err(Der::NONEXIST);
        }
        Ok(lock)
    }

    /// Changes the metadata atomically with respect to other processes.
    pub fn update<T>(&self, f: impl FnOnce(&mut ContMeta) -> DerResult<T>) -> DerResult<T> {
        let _lock = self.lock(true)?;
        let mut meta = self.meta()?;
        let out = f(&mut meta)?;
        write_json(&self.meta_path(), &meta)?;
        Ok(out)
    }

    /// Changes the label, keeping labels unique in the pool.
    pub fn relabel(&self, meta: &mut ContMeta, new: &str) -> DerResult<()> {
        if !label::is_valid(new) || new == label::CONT_LABEL_DEFAULT {
            return Err(Der::INVAL);
        }
        let old = meta.label().map(str::to_string);
        if old.as_deref() == Some(new) {
            return Ok(());
        }
        self.pool.claim_label(new, self.uuid)?;
        if let Some(o) = old {
            self.pool.release_label(&o, self.uuid);
        }
        meta.props.insert(co::LABEL, PropValue::Str(new.into()));
        Ok(())
    }

    /// The container's POSIX namespace (exists for containers made by DFS).
    pub fn fs_root(&self) -> PathBuf {
        self.pool.path.join("fs").join(self.uuid.to_string())
    }

    /// The frozen namespace of a snapshot.
    pub fn snap_root(&self, epoch: u64) -> PathBuf {
        self.pool
            .path
            .join("snaps")
            .join(self.uuid.to_string())
            .join(epoch.to_string())
    }

    fn space_path(&self) -> PathBuf {
        self.pool.path.join("cspace").join(self.uuid.to_string())
    }

    /// Bytes written to this container (the counter file appears on first use).
    pub fn space(&self) -> DerResult<Arc<SharedCounter>> {
        space_counter(&self.space_path()).map_err(|e| crate::der::from_io(&e))
    }

    /// Path of a container handle file.
    pub fn handle_path(&self, owner: ProcessId, cookie: u64, pool_cookie: u64) -> PathBuf {
        self.pool.path.join("chandles").join(format!(
            "{}.{}.{cookie}.{pool_cookie}",
            self.uuid,
            owner.tag()
        ))
    }

    /// Open handles, including those of processes that died and are not evicted yet.
    pub fn live_handles(&self) -> Vec<PathBuf> {
        open_handle_files(
            &self.pool.path.join("chandles"),
            Some(&self.uuid.to_string()),
        )
    }

    /// Last open time (HLC): the newest handle file, else the creation time.
    pub fn open_time_hlc(&self, created: u64) -> u64 {
        self.live_handles()
            .iter()
            .map(|h| mtime_hlc(h))
            .max()
            .unwrap_or(created)
    }

    /// Last metadata change (HLC).
    pub fn modify_time_hlc(&self) -> u64 {
        mtime_hlc(&self.meta_path())
    }
}

fn mtime_hlc(path: &Path) -> u64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| crate::hlc::from_unix_nanos(d.as_nanos() as u64))
        .unwrap_or(0)
}

/// Handle files in `dir` (of one container when `cont` is given). A handle outlives the
/// process that opened it: the server keeps it open until the agent's process monitor sees
/// the process gone and evicts it ([`System::evict_dead_handles`], every
/// [`PROCESS_MONITOR_INTERVAL`]), or until a pool evict.
fn open_handle_files(dir: &Path, cont: Option<&str>) -> Vec<PathBuf> {
    handle_files(dir, cont)
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

/// Handle files in `dir` (of one container when `cont` is given) with the process that
/// owns each.
fn handle_files(dir: &Path, cont: Option<&str>) -> Vec<(PathBuf, ProcessId)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let tag = match cont {
            Some(c) => match name.strip_prefix(c).and_then(|r| r.strip_prefix('.')) {
                Some(rest) => rest.to_string(),
                None => continue,
            },
            None => match name.split_once('.') {
                // Container handle files start with the container's UUID.
                Some((first, rest)) if first.len() == 36 => rest.to_string(),
                _ => name,
            },
        };
        if let Some(owner) = ProcessId::from_tag(&tag) {
            out.push((e.path(), owner));
        }
    }
    out
}

/// How often daos_agent's process monitor looks for dead clients (`MonWaitTime` in
/// `src/control/cmd/daos_agent/procmon.go`): a killed process's handles stay open on the
/// server for up to this long.
pub const PROCESS_MONITOR_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3);

/// Reads a JSON file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> io::Result<T> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(io::Error::other)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> DerResult<()> {
    let bytes = serde_json::to_vec(value).map_err(|_| Der::IO)?;
    fsutil::write_atomic(path, &bytes).map_err(|e| crate::der::from_io(&e))
}

/// Copies a directory tree (a snapshot of a container namespace), keeping modes and owners.
pub fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::symlink_metadata(src)?;
    std::fs::create_dir_all(dst)?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let from = e.path();
        let to = dst.join(e.file_name());
        // A DAOS snapshot is one epoch: an entry removed or renamed while this walks was
        // not there at the epoch this copy stands for.
        match copy_entry(&from, &to) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            other => other?,
        }
    }
    let _ = std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()));
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    // Last, so that the copying of its entries does not move it.
    set_times(dst, &meta)
}

/// Copies one entry (recursively for a directory) with its owner, mode and times.
fn copy_entry(from: &Path, to: &Path) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let m = std::fs::symlink_metadata(from)?;
    let ft = m.file_type();
    if ft.is_dir() {
        return copy_tree(from, to);
    } else if ft.is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(from)?, to)?;
    } else if ft.is_file() {
        copy_sparse(from, to)?;
    } else {
        return Ok(());
    }
    let _ = std::os::unix::fs::lchown(to, Some(m.uid()), Some(m.gid()));
    if !ft.is_symlink() {
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
    }
    set_times(to, &m)
}

/// Copies a regular file's data extents only, so that its holes stay holes (the object
/// layer lists a snapshot's file extents from them).
fn copy_sparse(from: &Path, to: &Path) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let src = std::fs::File::open(from)?;
    let dst = std::fs::File::create(to)?;
    let mut buf = vec![0u8; 1 << 20];
    for (off, len) in crate::objects::tree::stored_extents(from)? {
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(buf.len() as u64) as usize;
            src.read_exact_at(&mut buf[..n], off + done)?;
            dst.write_all_at(&buf[..n], off + done)?;
            done += n as u64;
        }
    }
    dst.set_len(src.metadata()?.len())
}

/// Gives `path` (not following a symbolic link) the access and modification times of `m`.
fn set_times(path: &Path, m: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    crate::fsutil::set_times_nofollow(
        path,
        Some((m.atime(), m.atime_nsec())),
        Some((m.mtime(), m.mtime_nsec())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system() -> (tempfile::TempDir, System) {
        let dir = tempfile::tempdir().unwrap();
        let sys = System::new(dir.path());
        sys.create_layout().unwrap();
        (dir, sys)
    }

    fn pool(sys: &System, label: &str) -> PoolDir {
        let req = PoolCreate {
            label: label.into(),
            scm_bytes: 60,
            nvme_bytes: 940,
            owner: "root@".into(),
            owner_group: "root@".into(),
            acl: None,
        };
        let meta = sys.create_pool(&req).unwrap();
        sys.find_pool(&NameOrUuid::Uuid(meta.uuid)).unwrap()
    }

    fn props(label: Option<&str>) -> Props {
        let mut p = props::container_defaults("root@", "root@", 0);
        if let Some(l) = label {
            p.insert(co::LABEL, PropValue::Str(l.into()));
        }
        p
    }

    #[test]
    fn pool_labels_are_unique_and_found_both_ways() {
        let (_d, sys) = system();
        let p = pool(&sys, "tank");
        assert_eq!(
            sys.find_pool(&NameOrUuid::Label("tank".into()))
                .unwrap()
                .uuid,
            p.uuid
        );
        let dup = PoolCreate {
            label: "tank".into(),
            scm_bytes: 1,
            nvme_bytes: 1,
            owner: "root@".into(),
            owner_group: "root@".into(),
            acl: None,
        };
        assert_eq!(
            sys.create_pool(&dup).unwrap_err(),
            PoolError::DuplicateLabel("tank".into())
        );
        assert_eq!(
            sys.find_pool(&NameOrUuid::Label("nope".into()))
                .unwrap_err(),
            Der::NONEXIST
        );
        assert_eq!(sys.list_pools().len(), 1);
    }

    #[test]
    fn container_labels_are_unique_per_pool() {
        let (_d, sys) = system();
        let a = pool(&sys, "a");
        let b = pool(&sys, "b");
        a.create_cont(Uuid::new_v4(), props(Some("vol")), None)
            .unwrap();
        assert_eq!(
            a.create_cont(Uuid::new_v4(), props(Some("vol")), None),
            Err(Der::EXIST)
        );
        b.create_cont(Uuid::new_v4(), props(Some("vol")), None)
            .unwrap();
        a.create_cont(Uuid::new_v4(), props(None), None).unwrap();
        assert_eq!(a.list_conts().len(), 2);
        a.create_cont(Uuid::new_v4(), props(Some(label::CONT_LABEL_DEFAULT)), None)
            .unwrap();
        assert_eq!(
            a.list_conts().iter().filter(|(_, l)| l.is_none()).count(),
            2
        );
    }

    #[test]
    fn destroy_frees_label_and_space_and_refuses_pools_with_containers() {
        let (_d, sys) = system();
        let p = pool(&sys, "tank");
        let u = Uuid::new_v4();
        p.create_cont(u, props(Some("vol")), None).unwrap();
        p.cont(u).space().unwrap().add(100);
        p.space().unwrap().add(100);
        assert_eq!(
            sys.destroy_pool(&NameOrUuid::Label("tank".into()), true, false),
            Err(PoolError::HasContainers)
        );
        p.destroy_cont(&NameOrUuid::Label("vol".into()), false)
            .unwrap();
        assert_eq!(p.space().unwrap().get(), 0);
        assert_eq!(p.resolve_cont(&NameOrUuid::Uuid(u)), Err(Der::NONEXIST));
        p.create_cont(Uuid::new_v4(), props(Some("vol")), None)
            .unwrap();
        sys.destroy_pool(&NameOrUuid::Label("tank".into()), false, true)
            .unwrap();
        assert!(sys.list_pools().is_empty());
    }

    #[test]
    fn a_namespace_copy_keeps_times_and_skips_what_vanished() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("d")).unwrap();
        std::fs::write(src.join("d/f"), b"x").unwrap();
        std::os::unix::fs::symlink("d/f", src.join("l")).unwrap();
        let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
        std::fs::File::options()
            .write(true)
            .open(src.join("d/f"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let dst = dir.path().join("dst");
        copy_tree(&src, &dst).unwrap();
        for rel in ["", "d", "d/f", "l"] {
            let (a, b) = (
                std::fs::symlink_metadata(src.join(rel)).unwrap(),
                std::fs::symlink_metadata(dst.join(rel)).unwrap(),
            );
            assert_eq!(
                (a.mtime(), a.mtime_nsec()),
                (b.mtime(), b.mtime_nsec()),
                "{rel:?}"
            );
        }
        assert_eq!(
            std::fs::symlink_metadata(dst.join("d/f")).unwrap().mtime(),
            1_500_000_000
        );
        // An entry that is gone by the time it is copied was not there at the epoch.
        assert!(copy_entry(&src.join("gone"), &dir.path().join("x")).is_err());
        std::fs::remove_dir_all(&dst).unwrap();
    }

    #[test]
    fn handles_of_dead_processes_count_until_the_agent_evicts_them() {
        let (_d, sys) = system();
        let p = pool(&sys, "tank");
        let u = Uuid::new_v4();
        p.create_cont(u, props(Some("vol")), None).unwrap();
        let c = p.cont(u);
        let dead = ProcessId {
            pid: u32::MAX - 1,
            start: 1,
        };
        std::fs::write(c.handle_path(dead, 5, 3), b"").unwrap();
        std::fs::write(p.handle_path(dead, 3), b"").unwrap();
        // Another container's handle does not count for this one.
        let other = p.cont(Uuid::new_v4());
        std::fs::write(other.handle_path(ProcessId::current(), 7, 3), b"").unwrap();
        // As on a DAOS server, a dead process's handle is open until it is evicted.
        assert_eq!(c.live_handles().len(), 1);
        assert_eq!(p.destroy_cont(&NameOrUuid::Uuid(u), false), Err(Der::BUSY));
        assert_eq!(
            sys.evict_dead_handles(),
            2,
            "its pool and container handles"
        );
        assert!(c.live_handles().is_empty());
        assert_eq!(
            other.live_handles().len(),
            1,
            "a live process keeps its handle"
        );
        std::fs::write(c.handle_path(ProcessId::current(), 21, 3), b"").unwrap();
        assert_eq!(p.destroy_cont(&NameOrUuid::Uuid(u), false), Err(Der::BUSY));
        p.destroy_cont(&NameOrUuid::Uuid(u), true).unwrap();
    }

    #[test]
    fn relabel_keeps_labels_unique() {
        let (_d, sys) = system();
        let p = pool(&sys, "tank");
        let (u1, u2) = (Uuid::new_v4(), Uuid::new_v4());
        p.create_cont(u1, props(Some("one")), None).unwrap();
        p.create_cont(u2, props(Some("two")), None).unwrap();
        let c2 = p.cont(u2);
        assert_eq!(c2.update(|m| c2.relabel(m, "one")), Err(Der::EXIST));
        c2.update(|m| c2.relabel(m, "three")).unwrap();
        assert_eq!(
            p.resolve_cont(&NameOrUuid::Label("three".into())).unwrap(),
            u2
        );
        assert_eq!(
            p.resolve_cont(&NameOrUuid::Label("two".into())),
            Err(Der::NONEXIST)
        );
    }
}
