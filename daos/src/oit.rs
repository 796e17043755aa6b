//! Object index tables (OIT): the list of every object of a snapshot (`daos_oit_*`,
//! `daos_cont_snap_oit_*`, `daos_cont_create_snap_opt`).
//!
//! DAOS keeps no list of a container's objects. A snapshot taken with the OIT option
//! ([`Container::create_snapshot_with_object_index`], `DAOS_SNAP_OPT_CR | DAOS_SNAP_OPT_OIT`)
//! or given one afterwards ([`Container::create_object_index`]) gets a table of the OIDs that
//! existed at its epoch. [`Container::open_object_index`] opens it (`daos_oit_open`;
//! `-DER_NONEXIST` for a snapshot without one) and [`ObjectIndex::list`] lists it in
//! batches. Together with a [snapshot reader](crate::Container::snapshot_reader) this is how
//! a whole container is read as of a snapshot, the way `daos container clone` does.
//!
//! ```no_run
//! # fn demo(cont: &daos::Container) -> daos::Result<()> {
//! let epoch = cont.create_snapshot_with_object_index()?;
//! let index = cont.open_object_index(epoch)?;
//! for oid in index.list()? {
//!     println!("{oid} ({:?})", oid.otype());
//! }
//! index.destroy()?; // drops the table; the snapshot stays
//! # Ok(()) }
//! ```

use std::sync::Arc;

use crate::container::Container;
use crate::eq::{EventQueue, OpFuture, Operation, Submitter, run_blocking};
use crate::error::{Der, Error, Result, check_rc};
use crate::object::{Anchor, ObjectId};
use crate::snapshot::Epoch;

/// Object ids asked for per batch by [`ObjectIndex::list`].
pub const DEFAULT_OID_BATCH: u32 = 1024;

struct IndexInner {
    handle: daos_sys::daos_handle_t,
    epoch: Epoch,
    closed: bool,
    cont: Container,
}

impl IndexInner {
    fn describe(&self) -> String {
        format!(
            "object index of snapshot {} of {}",
            self.epoch,
            self.cont.describe()
        )
    }
}

impl Drop for IndexInner {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        // SAFETY: the handle came from a successful open; every operation that used it held a
        // clone of this value, so none is in flight any more.
        let rc = unsafe { daos_sys::daos_oit_close(self.handle, std::ptr::null_mut()) };
        if rc != 0 {
            tracing::warn!(error = %Error::from_rc("daos_oit_close", rc).with_context(self.describe()), "object index handle leaked");
        }
    }
}

/// The open object index table of a snapshot (`daos_oit_open`); see the
/// [module documentation](self). Clones share the handle; the last one closes it
/// (`daos_oit_close`). It keeps its [`Container`] open.
#[derive(Clone)]
pub struct ObjectIndex {
    inner: Arc<IndexInner>,
}

impl std::fmt::Debug for ObjectIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectIndex")
            .field("epoch", &self.inner.epoch)
            .field("container", &self.inner.cont)
            .finish()
    }
}

struct OpenIndex {
    cont: Container,
    epoch: Epoch,
    handle: daos_sys::daos_handle_t,
}

impl Operation for OpenIndex {
    type Output = ObjectIndex;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        // SAFETY: the container is open (held); `handle` belongs to this operation.
        unsafe {
            daos_sys::daos_oit_open(self.cont.raw_handle(), self.epoch.0, &mut self.handle, ev)
        }
    }

    fn finish(self, rc: i32) -> Result<ObjectIndex> {
        check_rc("daos_oit_open", rc).map_err(|e| {
            e.with_context(format!(
                "snapshot {} of {}",
                self.epoch,
                self.cont.describe()
            ))
        })?;
        Ok(ObjectIndex {
            inner: Arc::new(IndexInner {
                handle: self.handle,
                epoch: self.epoch,
                closed: false,
                cont: self.cont,
            }),
        })
    }
}

/// One `daos_oit_list` call.
struct ListOids {
    index: ObjectIndex,
    nr: u32,
    oids: Vec<daos_sys::daos_obj_id_t>,
    anchor: Anchor,
}

impl ListOids {
    fn new(index: &ObjectIndex, anchor: Anchor, max: u32) -> ListOids {
        ListOids {
            index: index.clone(),
            nr: max,
            oids: vec![daos_sys::daos_obj_id_t::default(); max as usize],
            anchor,
        }
    }
}

impl Operation for ListOids {
    type Output = (Vec<ObjectId>, Anchor);

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        self.nr = self.oids.len() as u32;
        // SAFETY: the table is open (held); the id array (`nr` entries), count and anchor
        // belong to this operation, which stays in place until it completes.
        unsafe {
            daos_sys::daos_oit_list(
                self.index.inner.handle,
                self.oids.as_mut_ptr(),
                &mut self.nr,
                &mut self.anchor.0,
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<(Vec<ObjectId>, Anchor)> {
        check_rc("daos_oit_list", rc).map_err(|e| e.with_context(self.index.inner.describe()))?;
        let count = (self.nr as usize).min(self.oids.len());
        let oids = self.oids[..count]
            .iter()
            .map(|o| ObjectId::from_raw(*o))
            .collect();
        Ok((oids, self.anchor))
    }
}

/// `daos_cont_snap_oit_destroy` then `daos_oit_close`, or the close alone.
struct CloseIndex {
    inner: Option<IndexInner>,
    destroy: bool,
}

impl Operation for CloseIndex {
    type Output = ();

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        let Some(inner) = &self.inner else {
            return Der::NoHdl.rc();
        };
        if self.destroy {
            // SAFETY: the container and the table are open; sole owner of the handle.
            unsafe {
                daos_sys::daos_cont_snap_oit_destroy(inner.cont.raw_handle(), inner.handle, ev)
            }
        } else {
            // SAFETY: sole owner of an open handle.
            unsafe { daos_sys::daos_oit_close(inner.handle, ev) }
        }
    }

    fn finish(mut self, rc: i32) -> Result<()> {
        let Some(mut inner) = self.inner.take() else {
            return Err(Error::raised(
                "ObjectIndex::close",
                Der::NoHdl,
                "the handle was already closed",
            ));
        };
        if self.destroy {
            // The handle stays open after a destroy; Drop closes it.
            return check_rc("daos_cont_snap_oit_destroy", rc)
                .map_err(|e| e.with_context(inner.describe()));
        }
        inner.closed = rc == 0;
        check_rc("daos_oit_close", rc).map_err(|e| e.with_context(inner.describe()))
    }
}

/// Takes a snapshot, or builds the table of an existing one: `daos_cont_create_snap_opt` or
/// `daos_cont_snap_oit_create`.
struct SnapshotIndex {
    cont: Container,
    /// The snapshot to give a table; `None` takes a new snapshot with one.
    existing: Option<Epoch>,
    epoch: u64,
}

impl Operation for SnapshotIndex {
    type Output = Epoch;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        let coh = self.cont.raw_handle();
        match self.existing {
            // SAFETY: the container is open (held); no name is passed.
            Some(epoch) => unsafe {
                daos_sys::daos_cont_snap_oit_create(coh, epoch.0, std::ptr::null_mut(), ev)
            },
            // SAFETY: the container is open (held); `epoch` belongs to this operation.
            None => unsafe {
                daos_sys::daos_cont_create_snap_opt(
                    coh,
                    &mut self.epoch,
                    std::ptr::null_mut(),
                    daos_sys::daos_snapshot_opts_DAOS_SNAP_OPT_CR
                        | daos_sys::daos_snapshot_opts_DAOS_SNAP_OPT_OIT,
                    ev,
                )
            },
        }
    }

    fn finish(self, rc: i32) -> Result<Epoch> {
        match self.existing {
            Some(epoch) => {
                check_rc("daos_cont_snap_oit_create", rc).map_err(|e| {
                    e.with_context(format!("snapshot {epoch} of {}", self.cont.describe()))
                })?;
                Ok(epoch)
            }
            None => {
                check_rc("daos_cont_create_snap_opt", rc)
                    .map_err(|e| e.with_context(self.cont.describe()))?;
                Ok(Epoch(self.epoch))
            }
        }
    }
}

fn check_max(method: &'static str, max: u32) -> Result<()> {
    // libdaos refuses it with -DER_INVAL too (daos_oit_list).
    if max == 0 {
        return Err(Error::invalid(method, "a batch of 0 object ids"));
    }
    Ok(())
}

impl Container {
    /// Takes a snapshot together with its object index table (`daos_cont_create_snap_opt`
    /// with `DAOS_SNAP_OPT_CR | DAOS_SNAP_OPT_OIT`); needs a read-write handle.
    pub fn create_snapshot_with_object_index(&self) -> Result<Epoch> {
        run_blocking(self.snapshot_index_op(None))
    }

    /// [`Container::create_snapshot_with_object_index`] through an event queue.
    pub fn create_snapshot_with_object_index_async(&self, eq: &EventQueue) -> OpFuture<Epoch> {
        eq.submit(self.snapshot_index_op(None))
    }

    /// Builds the object index table of the existing snapshot at `epoch`
    /// (`daos_cont_snap_oit_create`).
    pub fn create_object_index(&self, epoch: Epoch) -> Result<()> {
        run_blocking(self.snapshot_index_op(Some(epoch))).map(drop)
    }

    /// [`Container::create_object_index`] through an event queue.
    pub fn create_object_index_async(
        &self,
        eq: &EventQueue,
        epoch: Epoch,
    ) -> impl Future<Output = Result<()>> + Send + 'static + use<> {
        let submitted = eq.submit(self.snapshot_index_op(Some(epoch)));
        async move { submitted.await.map(drop) }
    }

    fn snapshot_index_op(&self, existing: Option<Epoch>) -> SnapshotIndex {
        SnapshotIndex {
            cont: self.clone(),
            existing,
            epoch: 0,
        }
    }

    /// Opens the object index table of the snapshot at `epoch` (`daos_oit_open`);
    /// `-DER_NONEXIST` if the snapshot has none (or there is no snapshot there).
    pub fn open_object_index(&self, epoch: Epoch) -> Result<ObjectIndex> {
        run_blocking(self.open_index_op(epoch))
    }

    /// [`Container::open_object_index`] through an event queue.
    pub fn open_object_index_async(&self, eq: &EventQueue, epoch: Epoch) -> OpFuture<ObjectIndex> {
        eq.submit(self.open_index_op(epoch))
    }

    fn open_index_op(&self, epoch: Epoch) -> OpenIndex {
        OpenIndex {
            cont: self.clone(),
            epoch,
            handle: daos_sys::DAOS_HDL_INVAL,
        }
    }
}

impl ObjectIndex {
    /// The snapshot this table belongs to.
    pub fn epoch(&self) -> Epoch {
        self.inner.epoch
    }

    /// The container.
    pub fn container(&self) -> &Container {
        &self.inner.cont
    }

    /// Lists up to `max` object ids from where `anchor` stands (`daos_oit_list`) and
    /// advances it; the listing is over when [`Anchor::is_done`]. A batch may be empty before
    /// the end.
    pub fn list_batch(&self, anchor: &mut Anchor, max: u32) -> Result<Vec<ObjectId>> {
        check_max("ObjectIndex::list_batch", max)?;
        let (oids, next) = run_blocking(ListOids::new(self, *anchor, max))?;
        *anchor = next;
        Ok(oids)
    }

    /// Every object id in the table.
    pub fn list(&self) -> Result<Vec<ObjectId>> {
        let mut anchor = Anchor::new();
        let mut all = Vec::new();
        while !anchor.is_done() {
            all.extend(self.list_batch(&mut anchor, DEFAULT_OID_BATCH)?);
        }
        Ok(all)
    }

    /// [`ObjectIndex::list_batch`] through an event queue: takes the anchor and gives it back
    /// advanced with the batch.
    pub fn list_batch_async(
        &self,
        eq: &EventQueue,
        anchor: Anchor,
        max: u32,
    ) -> OpFuture<(Vec<ObjectId>, Anchor)> {
        match check_max("ObjectIndex::list_batch_async", max) {
            Ok(()) => eq.submit(ListOids::new(self, anchor, max)),
            Err(e) => OpFuture::ready(Err(e)),
        }
    }

    /// [`ObjectIndex::list`] through an event queue.
    pub fn list_async(
        &self,
        eq: &EventQueue,
    ) -> impl Future<Output = Result<Vec<ObjectId>>> + Send + 'static + use<> {
        let submitter: Submitter = eq.submitter();
        let index = self.clone();
        async move {
            let mut anchor = Anchor::new();
            let mut all = Vec::new();
            while !anchor.is_done() {
                let (oids, next) = submitter
                    .submit(ListOids::new(&index, anchor, DEFAULT_OID_BATCH))
                    .await?;
                all.extend(oids);
                anchor = next;
            }
            Ok(all)
        }
    }

    fn close_op(self, destroy: bool) -> Result<CloseIndex> {
        match Arc::try_unwrap(self.inner) {
            Ok(inner) => Ok(CloseIndex {
                inner: Some(inner),
                destroy,
            }),
            Err(_) => Err(Error::raised(
                "ObjectIndex::close",
                Der::Busy,
                "other clones of this object index (or operations using it) are still alive",
            )),
        }
    }

    /// Closes the handle now (`daos_oit_close`) if this is the last clone and no operation is
    /// in flight on it; otherwise `-DER_BUSY` and only this clone goes away.
    pub fn close(self) -> Result<()> {
        run_blocking(self.close_op(false)?)
    }

    /// [`ObjectIndex::close`] through an event queue.
    pub fn close_async(self, eq: &EventQueue) -> OpFuture<()> {
        match self.close_op(false) {
            Ok(op) => eq.submit(op),
            Err(e) => OpFuture::ready(Err(e)),
        }
    }

    /// Deletes the table from the snapshot (`daos_cont_snap_oit_destroy`, as `daos container
    /// clone` does when done) and closes the handle. The snapshot itself stays. Same
    /// last-clone rule as [`ObjectIndex::close`].
    pub fn destroy(self) -> Result<()> {
        run_blocking(self.close_op(true)?)
    }

    /// [`ObjectIndex::destroy`] through an event queue.
    pub fn destroy_async(self, eq: &EventQueue) -> OpFuture<()> {
        match self.close_op(true) {
            Ok(op) => eq.submit(op),
            Err(e) => OpFuture::ready(Err(e)),
        }
    }
}
