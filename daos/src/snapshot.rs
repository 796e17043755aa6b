//! Container snapshots (`daos_cont_{create,list,destroy}_snap`).
//!
//! A snapshot is identified by its [`Epoch`], a hybrid-logical-clock timestamp. DAOS 2.6 and
//! 2.8 do not implement snapshot names: `daos_cont_create_snap` with a name fails with
//! `-DER_NOSYS` ([`Container::create_snapshot_with_native_name`] shows that).
//!
//! # Named snapshots
//!
//! [`Container::create_named_snapshot`] gives a snapshot a name by storing it in a container
//! user attribute:
//!
//! * attribute name: `daos.snapshot.<epoch>` with the epoch in decimal
//!   ([`snapshot_attr_name`]), e.g. `daos.snapshot.1187032426417111040`;
//! * attribute value: the name, UTF-8, 1 to [`MAX_NAME_LEN`] bytes.
//!
//! The scheme is readable with the `daos` tool (`daos container list-attrs`), and keeps the
//! epoch the single source of truth: [`Container::list_named_snapshots`] joins the attributes
//! with the real snapshot list, so a name whose snapshot is gone is ignored, and
//! [`Container::destroy_snapshot`] removes the name with the snapshot. Names are unique per
//! container as long as snapshots of one container are not created concurrently by several
//! processes (DAOS has no compare-and-set on attributes).
//!
//! ```no_run
//! # fn demo(cont: &daos::Container) -> daos::Result<()> {
//! let epoch = cont.create_named_snapshot("before-upgrade")?;
//! assert_eq!(cont.find_snapshot("before-upgrade")?, Some(epoch));
//! for snap in cont.list_named_snapshots()? {
//!     println!("{} {:?} taken at {:?}", snap.epoch, snap.name, snap.epoch.to_system_time());
//! }
//! cont.destroy_snapshot(epoch)?;
//! # Ok(()) }
//! ```

use std::ffi::CString;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::container::Container;
use crate::eq::{EventQueue, OpFuture, Operation, run_blocking};
use crate::error::{Der, Error, Result, check_rc};
use crate::pool::LIST_RETRIES;

/// Prefix of the attributes that hold snapshot names.
pub const NAME_ATTR_PREFIX: &str = "daos.snapshot.";

/// Longest snapshot name in bytes (`DAOS_SNAPSHOT_MAX_LEN` less the NUL).
pub const MAX_NAME_LEN: usize = daos_sys::DAOS_SNAPSHOT_MAX_LEN as usize - 1;

/// A DAOS epoch (HLC timestamp): identifies a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Epoch(pub u64);

impl Epoch {
    /// The raw epoch value.
    pub const fn value(self) -> u64 {
        self.0
    }

    /// The wall-clock time of the epoch (`d_hlc2unixnsec`).
    pub fn to_system_time(self) -> SystemTime {
        // SAFETY: pure conversion function without preconditions.
        let nanos = unsafe { daos_sys::d_hlc2unixnsec(self.0) };
        UNIX_EPOCH + Duration::from_nanos(nanos)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A snapshot and the name this crate stored for it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The snapshot's epoch.
    pub epoch: Epoch,
    /// Its name (see the [module documentation](self)).
    pub name: Option<String>,
}

/// The attribute that holds the name of the snapshot at `epoch`.
pub fn snapshot_attr_name(epoch: Epoch) -> String {
    format!("{NAME_ATTR_PREFIX}{}", epoch.0)
}

fn epoch_of_attr(attr: &str) -> Option<Epoch> {
    attr.strip_prefix(NAME_ATTR_PREFIX)?.parse().ok().map(Epoch)
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.contains('\0') {
        return Err(Error::invalid(
            "Container::create_named_snapshot",
            format!("snapshot name {name:?} must be 1-{MAX_NAME_LEN} bytes without NUL"),
        ));
    }
    Ok(())
}

struct CreateSnap {
    cont: Container,
    name: Option<CString>,
    epoch: u64,
}

impl Operation for CreateSnap {
    type Output = Epoch;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        let name = self
            .name
            .as_ref()
            .map_or(std::ptr::null_mut(), |n| n.as_ptr() as *mut _);
        // SAFETY: epoch and name are owned by this operation; libdaos only reads the name.
        unsafe {
            daos_sys::daos_cont_create_snap(self.cont.raw_handle(), &mut self.epoch, name, ev)
        }
    }

    fn finish(self, rc: i32) -> Result<Epoch> {
        check_rc("daos_cont_create_snap", rc).map_err(|e| e.with_context(self.cont.describe()))?;
        Ok(Epoch(self.epoch))
    }
}

/// `daos_cont_list_snap` into room for `epochs.len()` epochs (0: count only).
struct ListSnaps {
    cont: Container,
    nr: i32,
    epochs: Vec<u64>,
    anchor: daos_sys::daos_anchor_t,
}

enum SnapList {
    Count(usize),
    Done(Vec<Epoch>),
}

impl ListSnaps {
    fn new(cont: &Container, capacity: usize) -> ListSnaps {
        ListSnaps {
            cont: cont.clone(),
            nr: capacity as i32,
            epochs: vec![0; capacity],
            anchor: daos_sys::DAOS_ANCHOR_INIT,
        }
    }
}

impl Operation for ListSnaps {
    type Output = SnapList;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        let epochs = if self.epochs.is_empty() {
            std::ptr::null_mut()
        } else {
            self.epochs.as_mut_ptr()
        };
        // SAFETY: count, epoch buffer (of `nr` entries) and anchor are owned by this operation;
        // names are not asked for (DAOS never fills them).
        unsafe {
            daos_sys::daos_cont_list_snap(
                self.cont.raw_handle(),
                &mut self.nr,
                epochs,
                std::ptr::null_mut(),
                &mut self.anchor,
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<SnapList> {
        check_rc("daos_cont_list_snap", rc).map_err(|e| e.with_context(self.cont.describe()))?;
        let total = self.nr.max(0) as usize;
        if self.epochs.is_empty() || total > self.epochs.len() {
            return Ok(SnapList::Count(total));
        }
        let mut epochs: Vec<Epoch> = self.epochs[..total].iter().map(|&e| Epoch(e)).collect();
        epochs.sort_unstable();
        Ok(SnapList::Done(epochs))
    }
}

struct DestroySnap {
    cont: Container,
    epoch: Epoch,
}

impl Operation for DestroySnap {
    type Output = ();

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        let range = daos_sys::daos_epoch_range_t {
            epr_lo: self.epoch.0,
            epr_hi: self.epoch.0,
        };
        // SAFETY: the range is passed by value; nothing else is referenced.
        unsafe { daos_sys::daos_cont_destroy_snap(self.cont.raw_handle(), range, ev) }
    }

    fn finish(self, rc: i32) -> Result<()> {
        check_rc("daos_cont_destroy_snap", rc).map_err(|e| {
            e.with_context(format!(
                "snapshot {} of {}",
                self.epoch,
                self.cont.describe()
            ))
        })
    }
}

fn list_retry_error() -> Error {
    Error::from_der("daos_cont_list_snap", Der::Trunc)
        .with_context("snapshots kept being added while listing")
}

fn destroy_op(cont: &Container, epoch: Epoch) -> Result<DestroySnap> {
    if epoch.0 == 0 {
        return Err(Error::invalid(
            "Container::destroy_snapshot",
            "epoch 0 is not a snapshot",
        ));
    }
    Ok(DestroySnap {
        cont: cont.clone(),
        epoch,
    })
}

/// Forgets the name of a destroyed snapshot; a missing name is fine.
fn forget_name_result(result: Result<()>) -> Result<()> {
    match result {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

impl Container {
    /// Takes a snapshot of the container now; needs a read-write handle.
    pub fn create_snapshot(&self) -> Result<Epoch> {
        run_blocking(CreateSnap {
            cont: self.clone(),
            name: None,
            epoch: 0,
        })
    }

    /// [`Container::create_snapshot`] through an event queue.
    pub fn create_snapshot_async(&self, eq: &EventQueue) -> OpFuture<Epoch> {
        eq.submit(CreateSnap {
            cont: self.clone(),
            name: None,
            epoch: 0,
        })
    }

    /// Passes `name` to `daos_cont_create_snap` itself. DAOS 2.6 and 2.8 refuse this with
    /// `-DER_NOSYS` ([`Error::is_not_supported`]); use [`Container::create_named_snapshot`].
    pub fn create_snapshot_with_native_name(&self, name: &str) -> Result<Epoch> {
        check_name(name)?;
        let name = CString::new(name).map_err(|_| {
            Error::invalid(
                "Container::create_snapshot_with_native_name",
                format!("snapshot name {name:?} contains a NUL byte"),
            )
        })?;
        run_blocking(CreateSnap {
            cont: self.clone(),
            name: Some(name),
            epoch: 0,
        })
    }

    /// All snapshots, oldest first (`daos_cont_list_snap`: count, then fetch).
    pub fn list_snapshots(&self) -> Result<Vec<Epoch>> {
        let mut capacity = 0;
        for _ in 0..LIST_RETRIES {
            match run_blocking(ListSnaps::new(self, capacity))? {
                SnapList::Done(epochs) => return Ok(epochs),
                SnapList::Count(0) => return Ok(Vec::new()),
                SnapList::Count(n) => capacity = n + 4,
            }
        }
        Err(list_retry_error())
    }

    /// [`Container::list_snapshots`] through an event queue.
    pub fn list_snapshots_async(
        &self,
        eq: &EventQueue,
    ) -> impl Future<Output = Result<Vec<Epoch>>> + Send + 'static + use<> {
        let submitter = eq.submitter();
        let cont = self.clone();
        async move {
            let mut capacity = 0;
            for _ in 0..LIST_RETRIES {
                match submitter.submit(ListSnaps::new(&cont, capacity)).await? {
                    SnapList::Done(epochs) => return Ok(epochs),
                    SnapList::Count(0) => return Ok(Vec::new()),
                    SnapList::Count(n) => capacity = n + 4,
                }
            }
            Err(list_retry_error())
        }
    }

    /// Destroys the snapshot at `epoch` (`-DER_NONEXIST` if there is none) and the name stored
    /// for it, if any.
    pub fn destroy_snapshot(&self, epoch: Epoch) -> Result<()> {
        run_blocking(destroy_op(self, epoch)?)?;
        forget_name_result(self.delete_attrs(&[&snapshot_attr_name(epoch)]))
    }

    /// [`Container::destroy_snapshot`] through an event queue.
    pub fn destroy_snapshot_async(
        &self,
        eq: &EventQueue,
        epoch: Epoch,
    ) -> impl Future<Output = Result<()>> + Send + 'static + use<> {
        let op = destroy_op(self, epoch);
        let submitter = eq.submitter();
        let cont = self.clone();
        async move {
            submitter.submit(op?).await?;
            let attr = snapshot_attr_name(epoch);
            let forget = crate::attr::delete_op_for(&cont, &attr)?;
            forget_name_result(submitter.submit(forget).await)
        }
    }

    /// Takes a snapshot and records `name` for it (see the [module documentation](self)).
    /// Fails with `-DER_EXIST` if a live snapshot already has that name. If the name cannot be
    /// stored, the snapshot is destroyed again and the error returned.
    pub fn create_named_snapshot(&self, name: &str) -> Result<Epoch> {
        check_name(name)?;
        if self.find_snapshot(name)?.is_some() {
            return Err(Error::raised(
                "Container::create_named_snapshot",
                Der::Exist,
                format!("snapshot name {name:?} is taken in {}", self.describe()),
            ));
        }
        let epoch = self.create_snapshot()?;
        if let Err(e) = self.set_attr(&snapshot_attr_name(epoch), name.as_bytes()) {
            if let Err(undo) = run_blocking(DestroySnap {
                cont: self.clone(),
                epoch,
            }) {
                tracing::warn!(error = %undo, "could not remove an unnamed snapshot after a failed naming");
            }
            return Err(e);
        }
        Ok(epoch)
    }

    /// Every snapshot with its stored name, oldest first.
    pub fn list_named_snapshots(&self) -> Result<Vec<Snapshot>> {
        let epochs = self.list_snapshots()?;
        let attrs: Vec<String> = self
            .list_attrs()?
            .into_iter()
            .filter(|a| epoch_of_attr(a).is_some_and(|e| epochs.contains(&e)))
            .collect();
        let names: Vec<(Epoch, String)> = if attrs.is_empty() {
            Vec::new()
        } else {
            let refs: Vec<&str> = attrs.iter().map(String::as_str).collect();
            attrs
                .iter()
                .zip(self.get_attrs(&refs)?)
                .filter_map(|(a, v)| {
                    Some((epoch_of_attr(a)?, String::from_utf8_lossy(&v?).into_owned()))
                })
                .collect()
        };
        Ok(epochs
            .into_iter()
            .map(|epoch| Snapshot {
                epoch,
                name: names
                    .iter()
                    .find(|(e, _)| *e == epoch)
                    .map(|(_, n)| n.clone()),
            })
            .collect())
    }

    /// The epoch of the live snapshot named `name`, if any.
    pub fn find_snapshot(&self, name: &str) -> Result<Option<Epoch>> {
        check_name(name)?;
        Ok(self
            .list_named_snapshots()?
            .into_iter()
            .find(|s| s.name.as_deref() == Some(name))
            .map(|s| s.epoch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_names() {
        let e = Epoch(1_187_032_426_417_111_040);
        assert_eq!(snapshot_attr_name(e), "daos.snapshot.1187032426417111040");
        assert_eq!(epoch_of_attr(&snapshot_attr_name(e)), Some(e));
        assert_eq!(epoch_of_attr("daos.snapshot."), None);
        assert_eq!(epoch_of_attr("daos.snapshot.x"), None);
        assert_eq!(epoch_of_attr("dfuse-attr-time"), None);
    }

    #[test]
    fn names() {
        assert!(check_name("a").is_ok());
        assert!(check_name(&"n".repeat(MAX_NAME_LEN)).is_ok());
        assert!(
            check_name(&"n".repeat(MAX_NAME_LEN + 1))
                .unwrap_err()
                .is_invalid()
        );
        assert!(check_name("").unwrap_err().is_invalid());
        assert!(check_name("a\0").unwrap_err().is_invalid());
    }
}
