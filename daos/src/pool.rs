//! Pools (`daos_pool.h`): connect, query, list containers, create/destroy/open containers.
//!
//! A [`Pool`] is a cheap-to-clone handle (an `Arc` inside) on one pool connection; the
//! connection is closed (`daos_pool_disconnect`) when the last clone, and the last
//! [`Container`] opened through it, are gone.
//!
//! # Why `Arc` and not lifetimes
//!
//! git2 ties a child to its parent with a lifetime (`Remote<'repo>`), so a use after free does
//! not compile. Pools and containers here are used from async code whose futures must be
//! `'static` (they run on a runtime and on the event queue's poller), which a borrowed pool
//! cannot be. So ownership replaces borrowing: a `Container` holds a clone of its `Pool`, an
//! in-flight operation holds a clone of the handle it works on, and every handle holds the
//! [`Daos`] guard. The resulting order of teardown is the one libdaos requires (containers
//! closed, then the pool disconnected, then `daos_fini`) however the values are dropped.
//! A DFS mount ([`Dfs`](crate::Dfs)) holds a clone of its container the same way, so
//! `dfs_umount` runs before `daos_cont_close`.

use std::ffi::{CStr, CString};
use std::sync::Arc;

use crate::container::{Container, ContainerAccess};
use crate::eq::{EventQueue, OpFuture, Operation, run_blocking};
use crate::error::{Der, Error, Result, check_rc};
use crate::init::{Daos, is_agent_failure};
use crate::label;
use crate::prop::{PropType, Properties, RawProp};
use crate::reference::{ContainerRef, PoolRef};
use crate::uuid::Uuid;

/// How a pool is connected (`DAOS_PC_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolAccess {
    /// `DAOS_PC_RO`.
    ReadOnly,
    /// `DAOS_PC_RW`: needed to create or destroy containers.
    ReadWrite,
    /// `DAOS_PC_EX`: exclusive.
    Exclusive,
}

impl PoolAccess {
    fn flags(self) -> u32 {
        match self {
            PoolAccess::ReadOnly => daos_sys::DAOS_PC_RO,
            PoolAccess::ReadWrite => daos_sys::DAOS_PC_RW,
            PoolAccess::Exclusive => daos_sys::DAOS_PC_EX,
        }
    }
}

/// What [`Pool::destroy_container`] does about handles still open on the container
/// (the `force` argument of `daos_cont_destroy2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Destroy {
    /// Fail with `-DER_BUSY` ([`Error::is_busy`]) while any handle on the container is open
    /// anywhere, a running dfuse for example (`force = 0`).
    #[default]
    IfUnused,
    /// Evict the open handles, then destroy (`force = 1`). Their holders get errors on the
    /// next use.
    Force,
}

impl Destroy {
    fn force_flag(self) -> i32 {
        match self {
            Destroy::IfUnused => 0,
            Destroy::Force => 1,
        }
    }
}

/// `true` is [`Destroy::Force`]: keeps callers written against the `force: bool` of 0.1
/// compiling. New code should name the variant.
impl From<bool> for Destroy {
    fn from(force: bool) -> Destroy {
        if force {
            Destroy::Force
        } else {
            Destroy::IfUnused
        }
    }
}

/// Space and state of a pool (`daos_pool_info_t` queried with `DPI_SPACE |
/// DPI_REBUILD_STATUS`). Byte counts are over all live targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolInfo {
    /// Pool UUID.
    pub uuid: Uuid,
    /// Label the pool was connected by, if it was connected by label.
    pub label: Option<String>,
    /// Total bytes, SCM + NVMe (what dfuse reports as the file system size).
    pub total_bytes: u64,
    /// Free bytes, SCM + NVMe.
    pub free_bytes: u64,
    /// Total SCM (metadata tier) bytes.
    pub scm_total: u64,
    /// Free SCM bytes.
    pub scm_free: u64,
    /// Total NVMe (data tier) bytes.
    pub nvme_total: u64,
    /// Free NVMe bytes.
    pub nvme_free: u64,
    /// Free SCM bytes on the fullest target (ENOSPC can come before `scm_free` reaches 0).
    pub scm_free_min: u64,
    /// Free NVMe bytes on the fullest target.
    pub nvme_free_min: u64,
    /// Number of targets.
    pub ntargets: u32,
    /// Number of disabled targets.
    pub ndisabled: u32,
    /// Number of engines (nodes) the pool spans.
    pub nnodes: u32,
    /// Rank of the pool service leader.
    pub leader: u32,
    /// Pool map version.
    pub map_version: u32,
    /// Rebuild state, when the pool reported one.
    pub rebuild: Option<RebuildState>,
}

/// Rebuild progress of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildState {
    /// No rebuild has run.
    NotStarted,
    /// A rebuild is running.
    InProgress,
    /// The last rebuild finished.
    Completed,
    /// The last rebuild failed with this code.
    Failed(i32),
}

/// One entry of [`Pool::list_containers`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerEntry {
    /// Container UUID.
    pub uuid: Uuid,
    /// Container label, `None` for a container created without one.
    pub label: Option<String>,
}

pub(crate) struct PoolInner {
    handle: daos_sys::daos_handle_t,
    uuid: Uuid,
    label: Option<String>,
    system: Option<String>,
    access: PoolAccess,
    disconnected: bool,
    /// Keeps libdaos initialised until the pool is disconnected.
    _daos: Arc<Daos>,
}

impl Drop for PoolInner {
    fn drop(&mut self) {
        if self.disconnected {
            return;
        }
        // SAFETY: the handle came from a successful connect and nothing else uses it: every
        // container and in-flight operation on it holds this `PoolInner` alive.
        let rc = unsafe { daos_sys::daos_pool_disconnect(self.handle, std::ptr::null_mut()) };
        if rc != 0 {
            tracing::warn!(error = %Error::from_rc("daos_pool_disconnect", rc).with_context(self.describe()), "pool handle leaked");
        }
    }
}

impl PoolInner {
    fn describe(&self) -> String {
        describe_pool(
            &self
                .label
                .clone()
                .unwrap_or_else(|| self.uuid.hyphenated().to_string()),
            self.system.as_deref(),
        )
    }
}

/// A connection to a DAOS pool. Clones share the connection.
///
/// ```no_run
/// use daos::{Daos, Destroy, Pool, PoolAccess, Properties};
///
/// let daos = Daos::init()?;
/// let pool = Pool::connect(&daos, "tank", None, PoolAccess::ReadWrite)?;
/// let info = pool.query()?;
/// println!("{} of {} bytes free", info.free_bytes, info.total_bytes);
/// let uuid = pool.create_container("scratch", &Properties::new().redundancy_factor(0))?;
/// for entry in pool.list_containers()? {
///     println!("{} {:?}", entry.uuid, entry.label);
/// }
/// pool.destroy_container(uuid, Destroy::IfUnused)?;
/// # Ok::<(), daos::Error>(())
/// ```
#[derive(Clone)]
pub struct Pool {
    inner: Arc<PoolInner>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("uuid", &self.inner.uuid)
            .field("label", &self.inner.label)
            .field("system", &self.inner.system)
            .field("access", &self.inner.access)
            .finish()
    }
}

/// `pool "tank"`, or `pool "tank" in system "daos_server"` when a system was named.
fn describe_pool(pool: &str, system: Option<&str>) -> String {
    match system {
        Some(system) => format!("pool {pool:?} in system {system:?}"),
        None => format!("pool {pool:?}"),
    }
}

pub(crate) fn c_string(op: &'static str, what: &str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(op, format!("{what} {s:?} contains a NUL byte")))
}

struct Connect {
    /// Keeps libdaos initialised until the pool is disconnected.
    daos: Arc<Daos>,
    pool: CString,
    sys: Option<CString>,
    access: PoolAccess,
    handle: daos_sys::daos_handle_t,
    info: daos_sys::daos_pool_info_t,
}

impl Operation for Connect {
    type Output = Pool;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        let sys = self.sys.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
        // SAFETY: strings, handle and info are fields of this operation, which stays in place
        // until completion; pi_bits = 0 asks for the always-filled part only.
        unsafe {
            daos_sys::daos_pool_connect2(
                self.pool.as_ptr(),
                sys,
                self.access.flags(),
                &mut self.handle,
                &mut self.info,
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<Pool> {
        let pool = self.pool.to_string_lossy().into_owned();
        let system = self.sys.as_ref().map(|s| s.to_string_lossy().into_owned());
        check_rc("daos_pool_connect2", rc).map_err(|e| {
            let mut context = describe_pool(&pool, system.as_deref());
            if is_agent_failure(&e) {
                context = format!("{context}: {}", self.daos.agent_socket().explain());
            }
            e.with_context(context)
        })?;
        let label = (!label::is_uuid_string(&pool)).then_some(pool);
        Ok(Pool {
            inner: Arc::new(PoolInner {
                handle: self.handle,
                uuid: crate::uuid::from_raw(&self.info.pi_uuid),
                label,
                system,
                access: self.access,
                disconnected: false,
                _daos: self.daos,
            }),
        })
    }
}

impl Connect {
    fn new(
        daos: &Arc<Daos>,
        pool: PoolRef,
        system: Option<&str>,
        access: PoolAccess,
    ) -> Result<Connect> {
        const OP: &str = "Pool::connect";
        Ok(Connect {
            daos: Arc::clone(daos),
            pool: pool.to_c_string(OP)?,
            sys: system.map(|s| c_string(OP, "system name", s)).transpose()?,
            access,
            handle: daos_sys::DAOS_HDL_INVAL,
            // SAFETY: plain integers; zero is a valid "ask for nothing" request.
            info: unsafe { std::mem::zeroed() },
        })
    }
}

struct Query {
    pool: Pool,
    info: daos_sys::daos_pool_info_t,
}

impl Operation for Query {
    type Output = PoolInfo;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        self.info.pi_bits = (daos_sys::daos_pool_info_bit_DPI_SPACE
            | daos_sys::daos_pool_info_bit_DPI_REBUILD_STATUS) as u64;
        // SAFETY: `info` is a field of this operation and stays in place until completion.
        unsafe {
            daos_sys::daos_pool_query(
                self.pool.inner.handle,
                std::ptr::null_mut(),
                &mut self.info,
                std::ptr::null_mut(),
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<PoolInfo> {
        check_rc("daos_pool_query", rc).map_err(|e| e.with_context(self.pool.inner.describe()))?;
        Ok(pool_info(&self.info, self.pool.label()))
    }
}

fn pool_info(info: &daos_sys::daos_pool_info_t, label: Option<&str>) -> PoolInfo {
    const SCM: usize = daos_sys::daos_media_type_t_DAOS_MEDIA_SCM as usize;
    const NVME: usize = daos_sys::daos_media_type_t_DAOS_MEDIA_NVME as usize;
    let space = &info.pi_space;
    let has_space = info.pi_bits & daos_sys::daos_pool_info_bit_DPI_SPACE as u64 != 0;
    let (scm_total, scm_free, nvme_total, nvme_free) = if has_space {
        (
            space.ps_space.s_total[SCM],
            space.ps_space.s_free[SCM],
            space.ps_space.s_total[NVME],
            space.ps_space.s_free[NVME],
        )
    } else {
        (0, 0, 0, 0)
    };
    let rebuild = (info.pi_bits & daos_sys::daos_pool_info_bit_DPI_REBUILD_STATUS as u64 != 0)
        .then(|| {
            let rs = &info.pi_rebuild_st;
            // SAFETY: both union members are i32; reading either is defined.
            let state = unsafe { rs.__bindgen_anon_1.rs_state };
            if rs.rs_errno != 0 {
                RebuildState::Failed(rs.rs_errno)
            } else {
                match state as u32 {
                    daos_sys::daos_rebuild_state_t_DRS_IN_PROGRESS => RebuildState::InProgress,
                    daos_sys::daos_rebuild_state_t_DRS_COMPLETED => RebuildState::Completed,
                    _ => RebuildState::NotStarted,
                }
            }
        });
    PoolInfo {
        uuid: crate::uuid::from_raw(&info.pi_uuid),
        label: label.map(str::to_string),
        total_bytes: scm_total.saturating_add(nvme_total),
        free_bytes: scm_free.saturating_add(nvme_free),
        scm_total,
        scm_free,
        nvme_total,
        nvme_free,
        scm_free_min: if has_space { space.ps_free_min[SCM] } else { 0 },
        nvme_free_min: if has_space {
            space.ps_free_min[NVME]
        } else {
            0
        },
        ntargets: info.pi_ntargets,
        ndisabled: info.pi_ndisabled,
        nnodes: info.pi_nnodes,
        leader: info.pi_leader,
        map_version: info.pi_map_ver,
        rebuild,
    }
}

/// `daos_pool_list_cont` into a buffer of `capacity` entries (0: count only).
struct ListContainers {
    pool: Pool,
    ncont: daos_sys::daos_size_t,
    buf: Vec<daos_sys::daos_pool_cont_info>,
}

impl ListContainers {
    fn new(pool: &Pool, capacity: usize) -> ListContainers {
        // SAFETY: plain data (uuid bytes and a char array); zero is a valid empty entry.
        let buf = (0..capacity)
            .map(|_| unsafe { std::mem::zeroed() })
            .collect();
        ListContainers {
            pool: pool.clone(),
            ncont: capacity as u64,
            buf,
        }
    }
}

/// What one listing step found.
enum Listing {
    /// The buffer was too small (`-DER_TRUNC`) or not given: this many entries exist.
    Count { n: usize, truncated: bool },
    /// The complete list.
    Done(Vec<ContainerEntry>),
}

impl Listing {
    /// The buffer size for the next step, or `None` when the pool has no containers.
    fn next_capacity(n: usize, truncated: bool, capacity: usize) -> Option<usize> {
        if !truncated && capacity == 0 && n == 0 {
            return None;
        }
        // Leave room for a few containers created while we ask again; after -DER_TRUNC never
        // ask for less than before, whatever count came back.
        Some(n.max(capacity) + 8)
    }
}

impl Operation for ListContainers {
    type Output = Listing;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        let cbuf = if self.buf.is_empty() {
            std::ptr::null_mut()
        } else {
            self.buf.as_mut_ptr()
        };
        // SAFETY: `ncont` and the buffer (of `ncont` entries) are owned by this operation.
        unsafe { daos_sys::daos_pool_list_cont(self.pool.inner.handle, &mut self.ncont, cbuf, ev) }
    }

    fn finish(self, rc: i32) -> Result<Listing> {
        let n = self.ncont as usize;
        if rc == Der::Trunc.rc() {
            return Ok(Listing::Count { n, truncated: true });
        }
        if rc == 0 && (self.buf.is_empty() || n > self.buf.len()) {
            return Ok(Listing::Count {
                n,
                truncated: false,
            });
        }
        check_rc("daos_pool_list_cont", rc)
            .map_err(|e| e.with_context(self.pool.inner.describe()))?;
        let entries = self.buf[..n]
            .iter()
            .map(|c| {
                // SAFETY: pci_label is a fixed array; libdaos NUL-terminates it, and CStr stops
                // at the array end otherwise (from_bytes_until_nul).
                let bytes: &[u8] = unsafe {
                    std::slice::from_raw_parts(c.pci_label.as_ptr() as *const u8, c.pci_label.len())
                };
                let label = CStr::from_bytes_until_nul(bytes)
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned());
                ContainerEntry {
                    uuid: crate::uuid::from_raw(&c.pci_uuid),
                    label: (!label.is_empty() && label != label::CONTAINER_LABEL_NOT_SET)
                        .then_some(label),
                }
            })
            .collect();
        Ok(Listing::Done(entries))
    }
}

/// How many times a two-phase listing retries when entries are added between its phases.
pub(crate) const LIST_RETRIES: usize = 8;

fn list_retry_error(op: &'static str) -> Error {
    Error::from_der(op, Der::Trunc).with_context("the list kept growing between count and fetch")
}

struct CreateContainer {
    pool: Pool,
    label: CString,
    prop: Option<RawProp>,
    uuid: daos_sys::uuid_t,
}

impl Operation for CreateContainer {
    type Output = Uuid;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        let prop = self
            .prop
            .as_ref()
            .map_or(std::ptr::null_mut(), RawProp::as_ptr);
        // SAFETY: label, property list and uuid buffer are owned by this operation.
        unsafe {
            daos_sys::daos_cont_create_with_label(
                self.pool.inner.handle,
                self.label.as_ptr(),
                prop,
                &mut self.uuid,
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<Uuid> {
        check_rc("daos_cont_create_with_label", rc).map_err(|e| {
            e.with_context(format!(
                "container {:?} in {}",
                self.label.to_string_lossy(),
                self.pool.inner.describe()
            ))
        })?;
        Ok(crate::uuid::from_raw(&self.uuid))
    }
}

struct DestroyContainer {
    pool: Pool,
    cont: CString,
    mode: Destroy,
}

impl Operation for DestroyContainer {
    type Output = ();

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        // SAFETY: the name is owned by this operation.
        unsafe {
            daos_sys::daos_cont_destroy2(
                self.pool.inner.handle,
                self.cont.as_ptr(),
                self.mode.force_flag(),
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<()> {
        check_rc("daos_cont_destroy2", rc).map_err(|e| {
            e.with_context(format!(
                "container {:?} in {}",
                self.cont.to_string_lossy(),
                self.pool.inner.describe()
            ))
        })
    }
}

impl Pool {
    /// Connects to a pool by label or UUID (`daos_pool_connect2`), in the default system
    /// (`daos_server`) unless `system` names another. `pool` is anything that names a pool:
    /// `"tank"`, a `String`, a [`Uuid`] (see [`PoolRef`]).
    pub fn connect(
        daos: &Arc<Daos>,
        pool: impl Into<PoolRef>,
        system: Option<&str>,
        access: PoolAccess,
    ) -> Result<Pool> {
        run_blocking(Connect::new(daos, pool.into(), system, access)?)
    }

    /// [`Pool::connect`] through an event queue.
    pub fn connect_async(
        eq: &EventQueue,
        pool: impl Into<PoolRef>,
        system: Option<&str>,
        access: PoolAccess,
    ) -> OpFuture<Pool> {
        match Connect::new(eq.daos(), pool.into(), system, access) {
            Ok(op) => eq.submit(op),
            Err(e) => OpFuture::ready(Err(e)),
        }
    }

    /// Pool UUID.
    pub fn uuid(&self) -> Uuid {
        self.inner.uuid
    }

    /// The label the pool was connected by; `None` when it was connected by UUID.
    pub fn label(&self) -> Option<&str> {
        self.inner.label.as_deref()
    }

    /// The DAOS system name given at connect, if any.
    pub fn system(&self) -> Option<&str> {
        self.inner.system.as_deref()
    }

    /// How the pool was connected.
    pub fn access(&self) -> PoolAccess {
        self.inner.access
    }

    /// `pool "tank"` (with the system, if one was named), for error contexts.
    pub(crate) fn describe(&self) -> String {
        self.inner.describe()
    }

    /// The raw pool handle, for calls this crate does not wrap. It stays valid while this
    /// `Pool` (or a clone) is alive.
    pub fn raw_handle(&self) -> daos_sys::daos_handle_t {
        self.inner.handle
    }

    /// Space, target counts and rebuild state (`daos_pool_query`).
    pub fn query(&self) -> Result<PoolInfo> {
        run_blocking(self.query_op())
    }

    /// [`Pool::query`] through an event queue.
    pub fn query_async(&self, eq: &EventQueue) -> OpFuture<PoolInfo> {
        eq.submit(self.query_op())
    }

    fn query_op(&self) -> Query {
        // SAFETY: plain integers; zero-filled is a valid request.
        let info = unsafe { std::mem::zeroed() };
        Query {
            pool: self.clone(),
            info,
        }
    }

    /// How many containers the pool holds (`daos_pool_list_cont` without a buffer: DAOS
    /// answers with the count alone, which is cheaper than listing them).
    pub fn container_count(&self) -> Result<usize> {
        match run_blocking(ListContainers::new(self, 0))? {
            Listing::Count { n, .. } => Ok(n),
            Listing::Done(entries) => Ok(entries.len()),
        }
    }

    /// Every container of the pool (`daos_pool_list_cont`: count, then fetch, again if the
    /// pool gained containers in between and the fetch reported `-DER_TRUNC`).
    pub fn list_containers(&self) -> Result<Vec<ContainerEntry>> {
        let mut capacity = 0;
        for _ in 0..LIST_RETRIES {
            match run_blocking(ListContainers::new(self, capacity))? {
                Listing::Done(entries) => return Ok(entries),
                Listing::Count { n, truncated } => {
                    match Listing::next_capacity(n, truncated, capacity) {
                        Some(c) => capacity = c,
                        None => return Ok(Vec::new()),
                    }
                }
            }
        }
        Err(list_retry_error("daos_pool_list_cont"))
    }

    /// [`Pool::list_containers`] through an event queue.
    pub fn list_containers_async(
        &self,
        eq: &EventQueue,
    ) -> impl Future<Output = Result<Vec<ContainerEntry>>> + Send + 'static + use<> {
        let submitter = eq.submitter();
        let pool = self.clone();
        async move {
            let mut capacity = 0;
            for _ in 0..LIST_RETRIES {
                match submitter
                    .submit(ListContainers::new(&pool, capacity))
                    .await?
                {
                    Listing::Done(entries) => return Ok(entries),
                    Listing::Count { n, truncated } => {
                        match Listing::next_capacity(n, truncated, capacity) {
                            Some(c) => capacity = c,
                            None => return Ok(Vec::new()),
                        }
                    }
                }
            }
            Err(list_retry_error("daos_pool_list_cont"))
        }
    }

    fn create_op(&self, label: &str, props: &Properties) -> Result<CreateContainer> {
        const OP: &str = "Pool::create_container";
        label::validate_container_label(label)
            .map_err(|e| Error::invalid(OP, e.context().unwrap_or("").to_string()))?;
        if props.contains(PropType::LABEL) {
            return Err(Error::invalid(
                OP,
                "the label is an argument, not a property",
            ));
        }
        let prop = if props.is_empty() {
            None
        } else {
            Some(RawProp::from_properties(props)?)
        };
        Ok(CreateContainer {
            pool: self.clone(),
            label: c_string(OP, "label", label)?,
            prop,
            uuid: [0; 16],
        })
    }

    /// Creates a plain (non-POSIX) container with a label (`daos_cont_create_with_label`);
    /// returns its UUID. `props` must not contain the label. For a POSIX container use
    /// [`Pool::create_posix_container`].
    pub fn create_container(&self, label: &str, props: &Properties) -> Result<Uuid> {
        run_blocking(self.create_op(label, props)?)
    }

    /// [`Pool::create_container`] through an event queue.
    pub fn create_container_async(
        &self,
        eq: &EventQueue,
        label: &str,
        props: &Properties,
    ) -> OpFuture<Uuid> {
        match self.create_op(label, props) {
            Ok(op) => eq.submit(op),
            Err(e) => OpFuture::ready(Err(e)),
        }
    }

    fn destroy_op(&self, cont: ContainerRef, mode: Destroy) -> Result<DestroyContainer> {
        Ok(DestroyContainer {
            pool: self.clone(),
            cont: cont.to_c_string("Pool::destroy_container")?,
            mode,
        })
    }

    /// Destroys a container by label or UUID (`daos_cont_destroy2`). With
    /// [`Destroy::IfUnused`] it fails with `-DER_BUSY` ([`Error::is_busy`]) while any handle on
    /// it is open anywhere (a running dfuse, for example); with [`Destroy::Force`] those
    /// handles are evicted first.
    pub fn destroy_container(
        &self,
        cont: impl Into<ContainerRef>,
        mode: impl Into<Destroy>,
    ) -> Result<()> {
        run_blocking(self.destroy_op(cont.into(), mode.into())?)
    }

    /// [`Pool::destroy_container`] through an event queue.
    pub fn destroy_container_async(
        &self,
        eq: &EventQueue,
        cont: impl Into<ContainerRef>,
        mode: impl Into<Destroy>,
    ) -> OpFuture<()> {
        match self.destroy_op(cont.into(), mode.into()) {
            Ok(op) => eq.submit(op),
            Err(e) => OpFuture::ready(Err(e)),
        }
    }

    /// Opens a container by label or UUID (`daos_cont_open2`). `cont` is anything that names
    /// a container: a label, a [`Uuid`], a [`ContainerEntry`] (see [`ContainerRef`]).
    pub fn open_container(
        &self,
        cont: impl Into<ContainerRef>,
        access: ContainerAccess,
    ) -> Result<Container> {
        run_blocking(crate::container::Open::new(self, cont.into(), access)?)
    }

    /// [`Pool::open_container`] through an event queue.
    pub fn open_container_async(
        &self,
        eq: &EventQueue,
        cont: impl Into<ContainerRef>,
        access: ContainerAccess,
    ) -> OpFuture<Container> {
        match crate::container::Open::new(self, cont.into(), access) {
            Ok(op) => eq.submit(op),
            Err(e) => OpFuture::ready(Err(e)),
        }
    }

    /// Disconnects now and reports the result, if this is the last clone and no container
    /// opened through it is alive. Otherwise returns `-DER_BUSY` (and only this clone goes
    /// away; the connection closes when the others do).
    pub fn disconnect(self) -> Result<()> {
        const OP: &str = "daos_pool_disconnect";
        let Ok(mut inner) = Arc::try_unwrap(self.inner) else {
            return Err(Error::raised(
                "Pool::disconnect",
                Der::Busy,
                "other clones or containers still use this pool",
            ));
        };
        // SAFETY: sole owner of a connected handle.
        let rc = unsafe { daos_sys::daos_pool_disconnect(inner.handle, std::ptr::null_mut()) };
        // On failure Drop tries once more (and logs); on success it must not.
        inner.disconnected = rc == 0;
        check_rc(OP, rc).map_err(|e| e.with_context(inner.describe()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_capacity() {
        assert_eq!(Listing::next_capacity(0, false, 0), None);
        assert_eq!(Listing::next_capacity(3, false, 0), Some(11));
        // A truncated count phase that reported nothing must still ask again.
        assert_eq!(Listing::next_capacity(0, true, 0), Some(8));
        assert_eq!(Listing::next_capacity(2, true, 11), Some(19));
    }
}
