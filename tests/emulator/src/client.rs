//! The client library of the emulated system: what libdaos keeps in a process (init count,
//! handles) and the operations behind the C API, in Rust types.
//!
//! Semantics follow `src/client/api/{init,pool,container}.c`, `src/pool/cli.c`,
//! `src/container/cli.c` and the server checks of `src/container/srv_container.c`
//! (daos-stack/daos v2.8.0); see daos-facts.md §1–§3.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use uuid::Uuid;

use crate::acl::{Acl, Identity, perm};
use crate::der::{Der, DerResult};
use crate::fsutil::{self, ProcessId};
use crate::label::NameOrUuid;
use crate::props::{self, PropValue, co};
use crate::state::{ContDir, ContMeta, PoolDir, System};

/// Handle kinds: the low 4 bits of a cookie (`enum daos_handle_type`).
pub mod htype {
    /// Event queue.
    pub const EQ: u64 = 1;
    /// Pool.
    pub const POOL: u64 = 3;
    /// Container.
    pub const CO: u64 = 5;
}

/// Pool connect flags.
pub const PC_RO: u32 = 1;
/// Pool connect read-write.
pub const PC_RW: u32 = 2;
/// Pool connect exclusive.
pub const PC_EX: u32 = 4;
/// Container open flags.
pub const COO_RO: u32 = 1;
/// Container open read-write.
pub const COO_RW: u32 = 2;
/// Container open exclusive.
pub const COO_EX: u32 = 4;
const COO_EVICT: u32 = 32;
const COO_EVICT_ALL: u32 = 64;
const COO_MASK: u32 = 255;

/// `DAOS_SYS_NAME_MAX`.
pub const SYS_NAME_MAX: usize = 15;

/// What `daos_init` set up.
pub struct Library {
    /// The system found through the agent directory.
    pub system: System,
    /// Its name, as the agent reported it.
    pub sys_name: String,
}

struct InitState {
    count: u32,
    lib: Option<Arc<Library>>,
}

static INIT: parking_lot::Mutex<InitState> = parking_lot::Mutex::new(InitState {
    count: 0,
    lib: None,
});

/// `daos_init`: the first call finds the agent (reading `DAOS_AGENT_DRPC_DIR` then) and asks
/// it for attach info; later calls only count.
pub fn init() -> DerResult<()> {
    let mut st = INIT.lock();
    if st.count > 0 {
        st.count += 1;
        return Ok(());
    }
    let system = System::from_env();
    let sys_name = crate::agent::attach_info(&system.socket_path(), None)?;
    st.lib = Some(Arc::new(Library { system, sys_name }));
    st.count = 1;
    Ok(())
}

/// `daos_fini`: `-DER_UNINIT` without a matching init; the last call tells the agent.
pub fn fini() -> DerResult<()> {
    let mut st = INIT.lock();
    match st.count {
        0 => Err(Der::UNINIT),
        1 => {
            st.count = 0;
            if let Some(lib) = st.lib.take() {
                crate::agent::notify_exit(&lib.system.socket_path());
            }
            Ok(())
        }
        _ => {
            st.count -= 1;
            Ok(())
        }
    }
}

/// The initialised library; `-DER_UNINIT` before `daos_init`.
pub fn library() -> DerResult<Arc<Library>> {
    INIT.lock().lib.clone().ok_or(Der::UNINIT)
}

/// True between the first `daos_init` and the last `daos_fini`.
pub fn is_initialized() -> bool {
    INIT.lock().count > 0
}

/// An open pool handle.
pub struct PoolHandle {
    /// Cookie.
    pub cookie: u64,
    /// The library it was opened under.
    pub lib: Arc<Library>,
    /// The pool's directory.
    pub dir: PoolDir,
    /// Label at connect time.
    pub label: Option<String>,
    /// Connect flags.
    pub flags: u32,
    /// Permissions the pool ACL grants this process.
    pub perms: u64,
    file: PathBuf,
}

impl PoolHandle {
    /// UUID and label as strings, for fault rules that name a pool.
    pub fn ids(&self) -> Vec<String> {
        let mut v = vec![self.dir.uuid.to_string()];
        v.extend(self.label.clone());
        v
    }
}

/// An open container handle.
pub struct ContHandle {
    /// Cookie.
    pub cookie: u64,
    /// The pool handle it was opened through.
    pub pool: Arc<PoolHandle>,
    /// The container's directory.
    pub dir: ContDir,
    /// Open flags.
    pub flags: u32,
    /// What the handle may do: ACL permission bits fixed at open and filtered by the open
    /// flags, as the server keeps `ch_sec_capas` (see [`cont_capas`]).
    pub capas: u64,
    /// Live DFS mounts on this handle (close is refused while any remain).
    pub dfs_mounts: AtomicU32,
    file: PathBuf,
}

impl ContHandle {
    /// True when opened for writing.
    pub fn writable(&self) -> bool {
        self.flags & (COO_RW | COO_EX) != 0
    }
}

enum Handle {
    Pool(Arc<PoolHandle>),
    Cont(Arc<ContHandle>),
}

static HANDLES: parking_lot::Mutex<Option<HashMap<u64, Handle>>> = parking_lot::Mutex::new(None);
static NEXT_COOKIE: AtomicU64 = AtomicU64::new(1);

/// A fresh cookie of a kind: `(counter << 4) | type`, as gurt's handle hash hands out.
pub fn new_cookie(kind: u64) -> u64 {
    (NEXT_COOKIE.fetch_add(1, Ordering::Relaxed) << 4) | kind
}

fn register(cookie: u64, h: Handle) {
    HANDLES
        .lock()
        .get_or_insert_with(HashMap::new)
        .insert(cookie, h);
}

fn unregister(cookie: u64) {
    if let Some(m) = HANDLES.lock().as_mut() {
        m.remove(&cookie);
    }
}

/// A pool handle by cookie; `-DER_NO_HDL` for an unknown, closed, evicted or wrong-kind one.
pub fn pool_handle(cookie: u64) -> DerResult<Arc<PoolHandle>> {
    let h = match HANDLES.lock().as_ref().and_then(|m| m.get(&cookie)) {
        Some(Handle::Pool(p)) => p.clone(),
        _ => return Err(Der::NO_HDL),
    };
    if !h.file.exists() {
        return Err(Der::NO_HDL);
    }
    Ok(h)
}

/// A container handle by cookie; `-DER_NO_HDL` for an unknown or evicted one (a forced
/// destroy or pool eviction removes the handle files).
pub fn cont_handle(cookie: u64) -> DerResult<Arc<ContHandle>> {
    let h = match HANDLES.lock().as_ref().and_then(|m| m.get(&cookie)) {
        Some(Handle::Cont(c)) => c.clone(),
        _ => return Err(Der::NO_HDL),
    };
    if !h.file.exists() || !h.pool.file.exists() {
        return Err(Der::NO_HDL);
    }
    Ok(h)
}

fn open_conts_of(pool_cookie: u64) -> usize {
    HANDLES
        .lock()
        .as_ref()
        .map(|m| {
            m.values()
                .filter(|h| matches!(h, Handle::Cont(c) if c.pool.cookie == pool_cookie))
                .count()
        })
        .unwrap_or(0)
}

fn exactly_one(flags: u32, mask: u32) -> bool {
    (flags & mask).count_ones() == 1
}

/// Pool permission bits with the pool-level aliases: `w` grants create and delete container.
fn pool_perms(acl: &Acl, who: &Identity, owner: &str, group: &str) -> u64 {
    let mut p = acl.permissions(who, owner, group, 0);
    if p & perm::WRITE != 0 {
        p |= perm::CREATE_CONT | perm::DEL_CONT;
    }
    p
}

/// `daos_pool_connect2`.
pub fn pool_connect(pool: &str, sys: Option<&str>, flags: u32) -> DerResult<Arc<PoolHandle>> {
    let lib = library()?;
    if flags & !(PC_RO | PC_RW | PC_EX) != 0 || !exactly_one(flags, PC_RO | PC_RW | PC_EX) {
        return Err(Der::INVAL);
    }
    if let Some(s) = sys {
        if s.len() > SYS_NAME_MAX {
            return Err(Der::OVERFLOW);
        }
        if s != lib.sys_name {
            return Err(Der::INVAL);
        }
    }
    let id = NameOrUuid::parse(pool).ok_or(Der::INVAL)?;
    let dir = lib.system.find_pool(&id)?;
    // libdaos asks the agent for credentials on every connect.
    let user = crate::agent::request_credentials(&lib.system.socket_path())?;
    let meta = dir.meta()?;
    let mut who = Identity::current()?;
    who.user = user;
    let acl = Acl::from_bytes(&meta.acl).unwrap_or_default();
    let perms = pool_perms(&acl, &who, &meta.owner, &meta.owner_group);
    if perms & (perm::READ | perm::GET_PROP) == 0 || (flags != PC_RO && perms & perm::WRITE == 0) {
        return Err(Der::NO_PERM);
    }
    let cookie = new_cookie(htype::POOL);
    let file = dir.handle_path(ProcessId::current(), cookie);
    std::fs::write(&file, b"").map_err(|e| crate::der::from_io(&e))?;
    let h = Arc::new(PoolHandle {
        cookie,
        lib,
        dir,
        label: meta.label,
        flags,
        perms,
        file,
    });
    register(cookie, Handle::Pool(h.clone()));
    Ok(h)
}

/// `daos_pool_disconnect`.
pub fn pool_disconnect(cookie: u64) -> DerResult<()> {
    let h = match HANDLES.lock().as_ref().and_then(|m| m.get(&cookie)) {
        Some(Handle::Pool(p)) => p.clone(),
        _ => return Err(Der::NO_HDL),
    };
    if open_conts_of(cookie) > 0 {
        return Err(Der::BUSY);
    }
    let _ = std::fs::remove_file(&h.file);
    unregister(cookie);
    Ok(())
}

/// What `daos_pool_query` reports.
#[derive(Clone, Debug)]
pub struct PoolInfo {
    /// UUID.
    pub uuid: Uuid,
    /// Label.
    pub label: Option<String>,
    /// Targets.
    pub ntargets: u32,
    /// Engines.
    pub nnodes: u32,
    /// Pool map version.
    pub map_version: u32,
    /// [SCM, NVMe] totals.
    pub total: [u64; 2],
    /// [SCM, NVMe] free.
    pub free: [u64; 2],
}

/// `daos_pool_query`.
pub fn pool_query(h: &PoolHandle) -> DerResult<PoolInfo> {
    let meta = h.dir.meta()?;
    let used = h.dir.space()?.get().min(meta.total_bytes());
    // Metadata lands on SCM, data on NVMe: split usage by tier size.
    let total = meta.total_bytes().max(1);
    let scm_used = ((u128::from(used) * u128::from(meta.scm_bytes)) / u128::from(total)) as u64;
    let nvme_used = used - scm_used;
    Ok(PoolInfo {
        uuid: meta.uuid,
        label: meta.label,
        ntargets: meta.ntargets,
        nnodes: meta.nnodes,
        map_version: meta.map_version,
        total: [meta.scm_bytes, meta.nvme_bytes],
        free: [
            meta.scm_bytes.saturating_sub(scm_used),
            meta.nvme_bytes.saturating_sub(nvme_used),
        ],
    })
}

/// `daos_pool_list_cont`: (uuid, label or `container_label_not_set`).
pub fn pool_list_cont(h: &PoolHandle) -> DerResult<Vec<(Uuid, String)>> {
    h.dir.meta()?;
    Ok(h.dir
        .list_conts()
        .into_iter()
        .map(|(u, l)| {
            (
                u,
                l.unwrap_or_else(|| crate::label::CONT_LABEL_DEFAULT.to_string()),
            )
        })
        .collect())
}

/// The principals of the calling process: `-DER_NONEXIST` when euid/egid have no name.
fn owner_principals() -> DerResult<(String, String)> {
    let (uid, gid) = fsutil::euid_egid();
    let user = fsutil::user_name(uid).ok_or(Der::NONEXIST)?;
    let group = fsutil::group_name(gid).ok_or(Der::NONEXIST)?;
    Ok((user + "@", group + "@"))
}

/// `daos_cont_create2` / `daos_cont_create_with_label`, after the C layer turned the caller's
/// `daos_prop_t` into `given` (and rejected duplicates).
pub fn cont_create(
    pool: &PoolHandle,
    uuid: Uuid,
    given: &[(u32, PropValue)],
    dfs: Option<crate::state::DfsAttrs>,
) -> DerResult<()> {
    if given.len() > 128 {
        return Err(Der::INVAL);
    }
    for (t, v) in given {
        props::validate_container_entry(*t, v)?;
        // The status is the server's; the default label is refused as a label.
        if *t == co::STATUS
            || matches!(v, PropValue::Str(s) if *t == co::LABEL && s == crate::label::CONT_LABEL_DEFAULT)
        {
            return Err(Der::INVAL);
        }
    }
    let (owner, group) = owner_principals()?;
    if let Some((_, PropValue::Str(o))) = given.iter().find(|(t, _)| *t == co::OWNER)
        && *o != owner
    {
        return Err(Der::INVAL);
    }
    if pool.flags == PC_RO || pool.perms & perm::CREATE_CONT == 0 {
        return Err(Der::NO_PERM);
    }
    let meta = pool.dir.meta()?;
    let mut all = props::container_defaults(&owner, &group, meta.redun_fac);
    for (t, v) in given {
        all.insert(*t, v.clone());
    }
    pool.dir.create_cont(uuid, all, dfs)
}

fn cont_perms(meta: &ContMeta, who: &Identity) -> u64 {
    let owner = meta.str_prop(co::OWNER).unwrap_or("");
    let group = meta.str_prop(co::OWNER_GROUP).unwrap_or("");
    // The owner can always read and change the ACL (CONT_OWNER_MIN_PERMS).
    meta.acl()
        .permissions(who, owner, group, perm::GET_ACL | perm::SET_ACL)
}

/// Capabilities a read-only handle keeps (`CONT_CAPAS_RO_MASK`).
const CAPAS_RO_MASK: u64 = perm::READ | perm::GET_PROP | perm::GET_ACL;
/// Capabilities that change the container (`CONT_CAPAS_W_MASK`).
const CAPAS_W_MASK: u64 =
    perm::WRITE | perm::SET_PROP | perm::SET_ACL | perm::SET_OWNER | perm::DEL_CONT;

/// A handle's capabilities from the caller's permissions and the open flags, as
/// `filter_cont_capas_based_on_flags` (`src/security/srv_acl.c`): a read-only handle keeps only
/// the read capabilities, a read-write one gets nothing unless it has some of both kinds.
pub fn cont_capas(perms: u64, flags: u32) -> u64 {
    let capas = perms & (CAPAS_RO_MASK | CAPAS_W_MASK);
    if flags & COO_RO != 0 {
        capas & CAPAS_RO_MASK
    } else if capas & CAPAS_RO_MASK == 0 || capas & CAPAS_W_MASK == 0 {
        0
    } else {
        capas
    }
}

fn caller(pool: &PoolHandle) -> DerResult<Identity> {
    let mut who = Identity::current()?;
    if let Some(u) = fsutil::user_name(fsutil::euid_egid().0) {
        who.user = u + "@";
    }
    let _ = pool;
    Ok(who)
}

/// `dc_cont_open_flags_valid`.
pub fn cont_open_flags_valid(flags: u32) -> bool {
    if flags & !COO_MASK != 0 || !exactly_one(flags, COO_RO | COO_RW | COO_EX) {
        return false;
    }
    let evict = flags & COO_EVICT != 0;
    let evict_all = flags & COO_EVICT_ALL != 0;
    let exclusive = flags & COO_EX != 0;
    // EVICT and EVICT_ALL exclude each other; EVICT_ALL needs EX; EVICT must not have it.
    match (evict, evict_all) {
        (true, true) => false,
        (false, true) => exclusive,
        (true, false) => !exclusive,
        (false, false) => true,
    }
}

/// `daos_cont_open2`.
pub fn cont_open(pool: &Arc<PoolHandle>, cont: &str, flags: u32) -> DerResult<Arc<ContHandle>> {
    if !cont_open_flags_valid(flags) {
        return Err(Der::INVAL);
    }
    let id = NameOrUuid::parse(cont).ok_or(Der::INVAL)?;
    let uuid = pool.dir.resolve_cont(&id)?;
    let dir = pool.dir.cont(uuid);
    let _lock = dir.lock(false)?;
    let meta = dir.meta()?;
    let perms = cont_perms(&meta, &caller(pool)?);
    let capas = cont_capas(perms, flags);
    // `ds_sec_cont_can_open` (src/security/srv_acl.c): some read-kind
    // capability left after the flags filtered them. An RW open therefore
    // goes through with any read-kind and any write-kind permission (the
    // owner always has get-ACL and set-ACL), and the handle's capabilities
    // then refuse what it may not do. EX is modelled as needing write.
    if capas & CAPAS_RO_MASK == 0 || (flags & COO_EX != 0 && perms & perm::WRITE == 0) {
        return Err(Der::NO_PERM);
    }
    if flags & COO_EX != 0 && !dir.live_handles().is_empty() && flags & COO_EVICT_ALL == 0 {
        return Err(Der::BUSY);
    }
    let cookie = new_cookie(htype::CO);
    let file = dir.handle_path(ProcessId::current(), cookie, pool.cookie);
    std::fs::write(&file, b"").map_err(|e| crate::der::from_io(&e))?;
    let h = Arc::new(ContHandle {
        cookie,
        pool: pool.clone(),
        dir,
        flags,
        capas,
        dfs_mounts: AtomicU32::new(0),
        file,
    });
    register(cookie, Handle::Cont(h.clone()));
    Ok(h)
}

/// `daos_cont_close`: `-DER_BUSY` while DFS is mounted on the handle or objects are open
/// through it (`dc_cont_close`, src/container/cli.c:1141).
pub fn cont_close(cookie: u64) -> DerResult<()> {
    let h = match HANDLES.lock().as_ref().and_then(|m| m.get(&cookie)) {
        Some(Handle::Cont(c)) => c.clone(),
        _ => return Err(Der::NO_HDL),
    };
    if h.dfs_mounts.load(Ordering::Acquire) > 0 || crate::objects::open_objects_of(cookie) > 0 {
        return Err(Der::BUSY);
    }
    let _ = std::fs::remove_file(&h.file);
    unregister(cookie);
    Ok(())
}

/// `daos_cont_destroy2`.
pub fn cont_destroy(pool: &PoolHandle, cont: &str, force: bool) -> DerResult<()> {
    let id = NameOrUuid::parse(cont).ok_or(Der::INVAL)?;
    let uuid = pool.dir.resolve_cont(&id)?;
    if pool.perms & perm::DEL_CONT == 0 {
        let meta = pool.dir.cont(uuid).meta()?;
        if cont_perms(&meta, &caller(pool)?) & perm::DEL_CONT == 0 {
            return Err(Der::NO_PERM);
        }
    }
    pool.dir.destroy_cont(&NameOrUuid::Uuid(uuid), force)
}

/// What `daos_cont_query` reports besides properties.
#[derive(Clone, Debug)]
pub struct ContInfo {
    /// UUID.
    pub uuid: Uuid,
    /// Latest snapshot (0 without snapshots).
    pub latest_snapshot: u64,
    /// Open handles over all processes.
    pub nhandles: u32,
    /// Snapshots.
    pub nsnapshots: u32,
    /// Last open (HLC).
    pub otime: u64,
    /// Last metadata change (HLC).
    pub mtime: u64,
}

/// `daos_cont_query`.
pub fn cont_query(h: &ContHandle) -> DerResult<(ContInfo, ContMeta)> {
    let meta = h.dir.meta()?;
    let info = ContInfo {
        uuid: meta.uuid,
        latest_snapshot: meta.snapshots.last().copied().unwrap_or(0),
        nhandles: h.dir.live_handles().len() as u32,
        nsnapshots: meta.snapshots.len() as u32,
        otime: h.dir.open_time_hlc(meta.created_hlc),
        mtime: h.dir.modify_time_hlc(),
    };
    Ok((info, meta))
}

/// The server's `ds_sec_cont_can_*` checks: against the capabilities the handle got at open,
/// not the ACL of now (an ACL change does not alter handles already open).
fn require(h: &ContHandle, bits: u64) -> DerResult<()> {
    if h.capas & bits == bits {
        Ok(())
    } else {
        Err(Der::NO_PERM)
    }
}

/// `daos_cont_set_prop`: label, ACL, owner, group, status and alloced OID only.
pub fn cont_set_prop(h: &ContHandle, given: &[(u32, PropValue)]) -> DerResult<()> {
    if given.is_empty() {
        return Err(Der::INVAL);
    }
    for (t, v) in given {
        props::validate_container_entry(*t, v)?;
        if !props::container_settable(*t) {
            return Err(Der::INVAL);
        }
    }
    h.dir.update(|meta| {
        for (t, _) in given {
            let bits = match *t {
                co::ACL => perm::SET_ACL,
                co::OWNER | co::OWNER_GROUP => perm::SET_OWNER,
                _ => perm::SET_PROP,
            };
            require(h, bits)?;
        }
        for (t, v) in given {
            match (t, v) {
                (&co::LABEL, PropValue::Str(l)) => h.dir.relabel(meta, l)?,
                _ => {
                    meta.props.insert(*t, v.clone());
                }
            }
        }
        Ok(())
    })
}

/// How an ACL change applies.
pub enum AclChange {
    /// Replace the whole ACL.
    Overwrite(Acl),
    /// Add or replace entries.
    Update(Acl),
    /// Remove one principal's entry.
    Delete(u8, Option<String>),
}

/// `daos_cont_get_acl`: (ACL, owner, owner group).
pub fn cont_get_acl(h: &ContHandle) -> DerResult<(Acl, String, String)> {
    require(h, perm::GET_ACL)?;
    let meta = h.dir.meta()?;
    Ok((
        meta.acl(),
        meta.str_prop(co::OWNER).unwrap_or_default().to_string(),
        meta.str_prop(co::OWNER_GROUP)
            .unwrap_or_default()
            .to_string(),
    ))
}

/// `daos_cont_overwrite_acl` / `_update_acl` / `_delete_acl`.
pub fn cont_change_acl(h: &ContHandle, change: AclChange) -> DerResult<()> {
    h.dir.update(|meta| {
        // The server builds the new ACL first (a missing principal is -DER_NONEXIST on any
        // handle), then stores it through set_prop, which checks the capability.
        let acl = match change {
            AclChange::Overwrite(a) => a,
            AclChange::Update(a) => {
                let mut cur = meta.acl();
                for ace in a.aces {
                    cur.add(ace);
                }
                cur
            }
            AclChange::Delete(t, name) => {
                let mut cur = meta.acl();
                cur.remove(t, name.as_deref())?;
                cur
            }
        };
        acl.validate_perms(perm::CONT_ALL)?;
        require(h, perm::SET_ACL)?;
        meta.props.insert(co::ACL, PropValue::Acl(acl.to_bytes()));
        Ok(())
    })
}

/// `daos_cont_set_owner[_no_check]`: user and/or group principals.
pub fn cont_set_owner(
    h: &ContHandle,
    user: Option<&str>,
    group: Option<&str>,
    check: bool,
) -> DerResult<()> {
    if user.is_none() && group.is_none() {
        return Err(Der::INVAL);
    }
    for p in [user, group].into_iter().flatten() {
        if !crate::acl::principal_is_valid(p) {
            return Err(Der::INVAL);
        }
    }
    if check {
        if let Some(u) = user
            && fsutil::uid_of(u.trim_end_matches('@')).is_none()
        {
            return Err(Der::NONEXIST);
        }
        if let Some(g) = group
            && fsutil::gid_of(g.trim_end_matches('@')).is_none()
        {
            return Err(Der::NONEXIST);
        }
    }
    require(h, perm::SET_OWNER)?;
    h.dir.update(|meta| {
        if let Some(u) = user {
            meta.props.insert(co::OWNER, PropValue::Str(u.into()));
        }
        if let Some(g) = group {
            meta.props.insert(co::OWNER_GROUP, PropValue::Str(g.into()));
        }
        Ok(())
    })
}

/// `daos_cont_list_attr`: names in creation-independent (sorted) order.
pub fn cont_list_attrs(h: &ContHandle) -> DerResult<Vec<String>> {
    require(h, perm::READ)?;
    Ok(h.dir.meta()?.attrs.keys().cloned().collect())
}

/// `daos_cont_get_attr`: values, `None` for missing names; `-DER_NONEXIST` if none exist.
pub fn cont_get_attrs(h: &ContHandle, names: &[String]) -> DerResult<Vec<Option<Vec<u8>>>> {
    require(h, perm::READ)?;
    let meta = h.dir.meta()?;
    let values: Vec<Option<Vec<u8>>> = names
        .iter()
        .map(|n| meta.attrs.get(n).and_then(|v| fsutil::hex_decode(v)))
        .collect();
    if values.iter().all(Option::is_none) {
        return Err(Der::NONEXIST);
    }
    Ok(values)
}

/// `daos_cont_set_attr`: needs the write capability (`cont_attr_set`).
pub fn cont_set_attrs(h: &ContHandle, attrs: &[(String, Vec<u8>)]) -> DerResult<()> {
    require(h, perm::WRITE)?;
    h.dir.update(|meta| {
        for (n, v) in attrs {
            meta.attrs.insert(n.clone(), fsutil::hex_encode(v));
        }
        Ok(())
    })
}

/// `daos_cont_del_attr`: missing names are not an error, as on a real server.
///
/// `ds_rsvc_del_attr` (src/rsvc/srv_common.c) counts `-DER_NONEXIST` from `rdb_tx_delete`, but
/// `rdb_tx_delete` only appends the deletion to the transaction (src/rdb/rdb_tx.c), and
/// applying it punches the key whether or not it exists: the count never moves.
pub fn cont_del_attrs(h: &ContHandle, names: &[String]) -> DerResult<()> {
    require(h, perm::WRITE)?;
    h.dir.update(|meta| {
        remove_attrs(&mut meta.attrs, names);
        Ok(())
    })
}

/// Removes whichever of `names` exist.
fn remove_attrs(attrs: &mut std::collections::BTreeMap<String, String>, names: &[String]) {
    for n in names {
        attrs.remove(n);
    }
}

/// `daos_cont_create_snap[_opt]`: a new epoch; the POSIX namespace and the raw objects are
/// frozen under it; `oit` gives it an object index table (`DAOS_SNAP_OPT_OIT`).
pub fn cont_create_snap(h: &ContHandle, oit: bool) -> DerResult<u64> {
    require(h, perm::WRITE)?;
    let epoch = crate::hlc::now();
    // Before the metadata lock: the objects lock is always taken first.
    if let Err(e) = crate::objects::freeze(&h.dir, epoch) {
        let _ = fsutil::remove_tree(&crate::objects::snap_objs_dir(&h.dir, epoch));
        return Err(e);
    }
    let r = h.dir.update(|meta| {
        // Only DFS containers have a namespace to freeze.
        if h.dir.fs_root().exists() {
            crate::state::copy_tree(&h.dir.fs_root(), &h.dir.snap_root(epoch))
                .map_err(|e| crate::der::from_io(&e))?;
        }
        meta.snapshots.push(epoch);
        meta.snapshots.sort_unstable();
        if oit {
            meta.oit_snapshots.push(epoch);
        }
        Ok(epoch)
    });
    if r.is_err() {
        let _ = fsutil::remove_tree(&crate::objects::snap_objs_dir(&h.dir, epoch));
    }
    r
}

/// `daos_cont_list_snap`: every epoch, ascending.
pub fn cont_list_snaps(h: &ContHandle) -> DerResult<Vec<u64>> {
    require(h, perm::READ)?;
    Ok(h.dir.meta()?.snapshots)
}

/// `daos_cont_destroy_snap` of one epoch.
pub fn cont_destroy_snap(h: &ContHandle, epoch: u64) -> DerResult<()> {
    require(h, perm::WRITE)?;
    h.dir.update(|meta| {
        let before = meta.snapshots.len();
        meta.snapshots.retain(|e| *e != epoch);
        if meta.snapshots.len() == before {
            return Err(Der::NONEXIST);
        }
        meta.oit_snapshots.retain(|e| *e != epoch);
        let _ = fsutil::remove_tree(&h.dir.snap_root(epoch));
        let _ = fsutil::remove_tree(&crate::objects::snap_objs_dir(&h.dir, epoch));
        crate::objects::forget_tree(&h.dir.snap_root(epoch));
        Ok(())
    })
}

/// Pool attributes: list.
pub fn pool_list_attrs(h: &PoolHandle) -> DerResult<Vec<String>> {
    Ok(h.dir.meta()?.attrs.keys().cloned().collect())
}

/// Pool attributes: get.
pub fn pool_get_attrs(h: &PoolHandle, names: &[String]) -> DerResult<Vec<Option<Vec<u8>>>> {
    let meta = h.dir.meta()?;
    let values: Vec<Option<Vec<u8>>> = names
        .iter()
        .map(|n| meta.attrs.get(n).and_then(|v| fsutil::hex_decode(v)))
        .collect();
    if values.iter().all(Option::is_none) {
        return Err(Der::NONEXIST);
    }
    Ok(values)
}

/// Pool attributes: set.
pub fn pool_set_attrs(h: &PoolHandle, attrs: &[(String, Vec<u8>)]) -> DerResult<()> {
    h.dir.update_meta(|meta| {
        for (n, v) in attrs {
            meta.attrs.insert(n.clone(), fsutil::hex_encode(v));
        }
        Ok(())
    })
}

/// Pool attributes: delete. Missing names are not an error (the pool service deletes through
/// the same `ds_rsvc_del_attr` as containers; see [`cont_del_attrs`]).
pub fn pool_del_attrs(h: &PoolHandle, names: &[String]) -> DerResult<()> {
    h.dir.update_meta(|meta| {
        remove_attrs(&mut meta.attrs, names);
        Ok(())
    })
}

/// `daos_pool_global2local`: a handle in this process for a pool handle shared by another.
pub fn pool_from_global(uuid: Uuid, flags: u32) -> DerResult<Arc<PoolHandle>> {
    let lib = library()?;
    let dir = lib.system.find_pool(&NameOrUuid::Uuid(uuid))?;
    let meta = dir.meta()?;
    let cookie = new_cookie(htype::POOL);
    let file = dir.handle_path(ProcessId::current(), cookie);
    std::fs::write(&file, b"").map_err(|e| crate::der::from_io(&e))?;
    let perms = perm::POOL_ALL;
    let h = Arc::new(PoolHandle {
        cookie,
        lib,
        dir,
        label: meta.label,
        flags,
        perms,
        file,
    });
    register(cookie, Handle::Pool(h.clone()));
    Ok(h)
}

/// `daos_cont_global2local`.
pub fn cont_from_global(
    pool: &Arc<PoolHandle>,
    uuid: Uuid,
    flags: u32,
) -> DerResult<Arc<ContHandle>> {
    let dir = pool.dir.cont(uuid);
    let _lock = dir.lock(false)?;
    // The blob carries no capabilities; the sharing processes run as one user, so the
    // caller's permissions now give what the original open got.
    let capas = cont_capas(cont_perms(&dir.meta()?, &caller(pool)?), flags);
    let cookie = new_cookie(htype::CO);
    let file = dir.handle_path(ProcessId::current(), cookie, pool.cookie);
    std::fs::write(&file, b"").map_err(|e| crate::der::from_io(&e))?;
    let h = Arc::new(ContHandle {
        cookie,
        pool: pool.clone(),
        dir,
        flags,
        capas,
        dfs_mounts: AtomicU32::new(0),
        file,
    });
    register(cookie, Handle::Cont(h.clone()));
    Ok(h)
}
