//! Open containers (`daos_cont.h`): query, properties, close.
//!
//! User attributes are in [`crate::attr`], snapshots in [`crate::snapshot`], the POSIX view in
//! [`crate::dfs`]; all are methods of [`Container`].

use std::ffi::CString;
use std::sync::Arc;

use crate::eq::{EventQueue, OpFuture, Operation, run_blocking};
use crate::error::{Der, Error, Result, check_rc};
use crate::pool::Pool;
use crate::prop::{PropType, Properties, RawProp};
use crate::reference::ContainerRef;
use crate::snapshot::Epoch;
use crate::uuid::Uuid;

/// How a container is opened (`DAOS_COO_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerAccess {
    /// `DAOS_COO_RO`.
    ReadOnly,
    /// `DAOS_COO_RW`: needed for writes, attributes and snapshots.
    ReadWrite,
    /// `DAOS_COO_EX`: exclusive.
    Exclusive,
}

impl ContainerAccess {
    fn flags(self) -> u32 {
        match self {
            ContainerAccess::ReadOnly => daos_sys::DAOS_COO_RO,
            ContainerAccess::ReadWrite => daos_sys::DAOS_COO_RW,
            ContainerAccess::Exclusive => daos_sys::DAOS_COO_EX,
        }
    }
}

/// What `daos_cont_query` reports about a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Container UUID.
    pub uuid: Uuid,
    /// Label, `None` for a container created without one.
    pub label: Option<String>,
    /// Open handles on the container, system-wide (a running dfuse holds one).
    pub nhandles: u32,
    /// Number of snapshots.
    pub nsnapshots: u32,
    /// Newest snapshot, if any.
    pub latest_snapshot: Option<Epoch>,
    /// When the container metadata was last opened (HLC).
    pub metadata_open_time: Epoch,
    /// When the container metadata was last modified (HLC).
    pub metadata_modify_time: Epoch,
}

pub(crate) struct ContainerInner {
    handle: daos_sys::daos_handle_t,
    uuid: Uuid,
    label: Option<String>,
    access: ContainerAccess,
    closed: bool,
    pool: Pool,
}

impl ContainerInner {
    pub(crate) fn describe(&self) -> String {
        match &self.label {
            Some(l) => format!("container {l:?}"),
            None => format!("container \"{}\"", self.uuid.hyphenated()),
        }
    }
}

impl Drop for ContainerInner {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        // SAFETY: the handle came from a successful open and nothing else uses it: every DFS
        // mount borrows the Container and every in-flight operation holds a clone.
        let rc = unsafe { daos_sys::daos_cont_close(self.handle, std::ptr::null_mut()) };
        if rc != 0 {
            tracing::warn!(error = %Error::from_rc("daos_cont_close", rc).with_context(self.describe()), "container handle leaked");
        }
    }
}

/// An open container. Clones share the handle; the last one closes it (`daos_cont_close`).
/// Holds its [`Pool`] connection alive.
///
/// ```no_run
/// use daos::{ContainerAccess, Daos, Pool, PoolAccess};
///
/// let daos = Daos::init()?;
/// let pool = Pool::connect(&daos, "tank", None, PoolAccess::ReadWrite)?;
/// let cont = pool.open_container("vol-1", ContainerAccess::ReadWrite)?;
/// let info = cont.query()?;
/// println!("{} handles, {} snapshots", info.nhandles, info.nsnapshots);
/// cont.set_attrs(&[("size", b"1073741824")])?;
/// assert_eq!(cont.get_attr("size")?.as_deref(), Some(&b"1073741824"[..]));
/// # Ok::<(), daos::Error>(())
/// ```
#[derive(Clone)]
pub struct Container {
    inner: Arc<ContainerInner>,
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container")
            .field("uuid", &self.inner.uuid)
            .field("label", &self.inner.label)
            .field("access", &self.inner.access)
            .field("pool", &self.inner.pool)
            .finish()
    }
}

pub(crate) struct Open {
    pool: Pool,
    cont: CString,
    access: ContainerAccess,
    handle: daos_sys::daos_handle_t,
    info: daos_sys::daos_cont_info_t,
}

impl Open {
    pub(crate) fn new(pool: &Pool, cont: ContainerRef, access: ContainerAccess) -> Result<Open> {
        Ok(Open {
            pool: pool.clone(),
            cont: cont.to_c_string("Pool::open_container")?,
            access,
            handle: daos_sys::DAOS_HDL_INVAL,
            // SAFETY: plain integers.
            info: unsafe { std::mem::zeroed() },
        })
    }
}

impl Operation for Open {
    type Output = Container;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        // SAFETY: name, handle and info are owned by this operation.
        unsafe {
            daos_sys::daos_cont_open2(
                self.pool.raw_handle(),
                self.cont.as_ptr(),
                self.access.flags(),
                &mut self.handle,
                &mut self.info,
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<Container> {
        let name = self.cont.to_string_lossy().into_owned();
        check_rc("daos_cont_open2", rc).map_err(|e| {
            e.with_context(format!("container {name:?} in {}", self.pool.describe()))
        })?;
        let label = (!crate::label::is_uuid_string(&name)).then_some(name);
        Ok(Container {
            inner: Arc::new(ContainerInner {
                handle: self.handle,
                uuid: crate::uuid::from_raw(&self.info.ci_uuid),
                label,
                access: self.access,
                closed: false,
                pool: self.pool,
            }),
        })
    }
}

struct Query {
    cont: Container,
    info: daos_sys::daos_cont_info_t,
    prop: RawProp,
}

impl Operation for Query {
    type Output = ContainerInfo;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        // SAFETY: info and property list are owned by this operation.
        unsafe {
            daos_sys::daos_cont_query(
                self.cont.raw_handle(),
                &mut self.info,
                self.prop.as_ptr(),
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<ContainerInfo> {
        check_rc("daos_cont_query", rc).map_err(|e| e.with_context(self.cont.inner.describe()))?;
        let props = self.prop.to_properties();
        let label = props
            .get_label()
            .filter(|l| *l != crate::label::CONTAINER_LABEL_NOT_SET)
            .map(str::to_string)
            .or_else(|| self.cont.label().map(str::to_string));
        let info = &self.info;
        Ok(ContainerInfo {
            uuid: crate::uuid::from_raw(&info.ci_uuid),
            label,
            nhandles: info.ci_nhandles,
            nsnapshots: info.ci_nsnapshots,
            latest_snapshot: (info.ci_nsnapshots > 0 && info.ci_lsnapshot != 0)
                .then_some(Epoch(info.ci_lsnapshot)),
            metadata_open_time: Epoch(info.ci_md_otime),
            metadata_modify_time: Epoch(info.ci_md_mtime),
        })
    }
}

struct GetProperties {
    cont: Container,
    prop: RawProp,
}

impl Operation for GetProperties {
    type Output = Properties;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        // SAFETY: the property list is owned by this operation; info is optional (NULL).
        unsafe {
            daos_sys::daos_cont_query(
                self.cont.raw_handle(),
                std::ptr::null_mut(),
                self.prop.as_ptr(),
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<Properties> {
        check_rc("daos_cont_query", rc).map_err(|e| e.with_context(self.cont.inner.describe()))?;
        Ok(self.prop.to_properties())
    }
}

struct SetProperties {
    cont: Container,
    prop: RawProp,
}

impl Operation for SetProperties {
    type Output = ();

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        // SAFETY: the property list is owned by this operation.
        unsafe { daos_sys::daos_cont_set_prop(self.cont.raw_handle(), self.prop.as_ptr(), ev) }
    }

    fn finish(self, rc: i32) -> Result<()> {
        check_rc("daos_cont_set_prop", rc).map_err(|e| e.with_context(self.cont.inner.describe()))
    }
}

struct Close {
    inner: Option<ContainerInner>,
}

impl Operation for Close {
    type Output = ();

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        match &self.inner {
            // SAFETY: sole owner of an open handle.
            Some(inner) => unsafe { daos_sys::daos_cont_close(inner.handle, ev) },
            None => Der::NoHdl.rc(),
        }
    }

    fn finish(mut self, rc: i32) -> Result<()> {
        let Some(mut inner) = self.inner.take() else {
            return Err(Error::raised(
                "Container::close",
                Der::NoHdl,
                "the handle was already closed",
            ));
        };
        // On failure Drop tries once more (and logs); on success it must not.
        inner.closed = rc == 0;
        check_rc("daos_cont_close", rc).map_err(|e| e.with_context(inner.describe()))
    }
}

impl Container {
    /// Container UUID.
    pub fn uuid(&self) -> Uuid {
        self.inner.uuid
    }

    /// The label the container was opened by; `None` when it was opened by UUID (use
    /// [`Container::query`] for the stored label).
    pub fn label(&self) -> Option<&str> {
        self.inner.label.as_deref()
    }

    /// How the container was opened.
    pub fn access(&self) -> ContainerAccess {
        self.inner.access
    }

    /// The pool the container belongs to.
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// The raw container handle, for calls this crate does not wrap. It stays valid while
    /// this `Container` (or a clone) is alive.
    pub fn raw_handle(&self) -> daos_sys::daos_handle_t {
        self.inner.handle
    }

    pub(crate) fn describe(&self) -> String {
        self.inner.describe()
    }

    fn query_op(&self) -> Result<Query> {
        // SAFETY: plain integers.
        let info = unsafe { std::mem::zeroed() };
        Ok(Query {
            cont: self.clone(),
            info,
            prop: RawProp::query(&[PropType::LABEL])?,
        })
    }

    /// Handle and snapshot counts and the label (`daos_cont_query`).
    pub fn query(&self) -> Result<ContainerInfo> {
        run_blocking(self.query_op()?)
    }

    /// [`Container::query`] through an event queue.
    pub fn query_async(&self, eq: &EventQueue) -> OpFuture<ContainerInfo> {
        match self.query_op() {
            Ok(op) => eq.submit(op),
            Err(e) => OpFuture::ready(Err(e)),
        }
    }

    /// Every property of the container (`daos_cont_query` with an empty property list).
    pub fn properties(&self) -> Result<Properties> {
        run_blocking(GetProperties {
            cont: self.clone(),
            prop: RawProp::query_all()?,
        })
    }

    /// The listed properties only; types the container does not have are left out.
    pub fn properties_of(&self, types: &[PropType]) -> Result<Properties> {
        run_blocking(GetProperties {
            cont: self.clone(),
            prop: RawProp::query(types)?,
        })
    }

    /// Changes properties (`daos_cont_set_prop`). DAOS allows the label, ACL, owner, owner
    /// group and a few others; immutable ones give `-DER_INVAL` (or `-DER_NO_PERM`).
    pub fn set_properties(&self, props: &Properties) -> Result<()> {
        if props.is_empty() {
            return Ok(());
        }
        if let Some(label) = props.get_label() {
            crate::label::validate_container_label(label).map_err(|e| {
                Error::invalid(
                    "Container::set_properties",
                    e.context().unwrap_or("").to_string(),
                )
            })?;
        }
        run_blocking(SetProperties {
            cont: self.clone(),
            prop: RawProp::from_properties(props)?,
        })
    }

    /// Closes the handle now and reports the result (`daos_cont_close`), if this is the last
    /// clone. Otherwise returns `-DER_BUSY`, and only this clone goes away.
    pub fn close(self) -> Result<()> {
        run_blocking(self.close_op()?)
    }

    /// [`Container::close`] through an event queue.
    pub fn close_async(self, eq: &EventQueue) -> OpFuture<()> {
        match self.close_op() {
            Ok(op) => eq.submit(op),
            Err(e) => OpFuture::ready(Err(e)),
        }
    }

    fn close_op(self) -> Result<Close> {
        match Arc::try_unwrap(self.inner) {
            Ok(inner) => Ok(Close { inner: Some(inner) }),
            Err(_) => Err(Error::raised(
                "Container::close",
                Der::Busy,
                "other clones of this container are still alive",
            )),
        }
    }
}
