//! Distributed transactions (`daos_api.h`): read-write transactions and snapshot readers.
//!
//! Every object operation of [`crate::object`] runs in a [`Tx`]: [`Tx::NONE`] makes it its
//! own independent transaction (`DAOS_TX_NONE`), [`Tx::of`] runs it inside an open
//! [`Transaction`]:
//!
//! * [`Container::begin_transaction`] (`daos_tx_open`) gives a read-write transaction: its
//!   updates become visible together on [`Transaction::commit`], or not at all after
//!   [`Transaction::abort`] (or when it is dropped uncommitted). A commit that conflicts with
//!   another writer fails with `-DER_TX_RESTART`; [`Transaction::restart`] then resets it for
//!   the caller to redo its operations.
//! * [`Container::snapshot_reader`] (`daos_tx_open_snap`) gives a read-only transaction that
//!   reads the container as it was at a snapshot's [`Epoch`]: the way to read a snapshot of a
//!   non-POSIX container, or any container on DAOS 2.6, which has no `dfs_mount_snap`.
//!   Updates through it fail with `-DER_NO_PERM`.
//!
//! A [`Transaction`] is closed (`daos_tx_close`) when its last clone and the last operation in
//! flight on it are gone; it keeps its [`Container`] open until then.
//!
//! ```no_run
//! # fn demo(cont: &daos::Container, oid: daos::ObjectId, snap: daos::Epoch) -> daos::Result<()> {
//! use daos::{ObjectAccess, Tx};
//!
//! let obj = cont.open_object(oid, ObjectAccess::ReadWrite)?;
//! let tx = cont.begin_transaction()?;
//! obj.update_single(Tx::of(&tx), b"dkey", b"a", b"one")?;
//! obj.update_single(Tx::of(&tx), b"dkey", b"b", b"two")?;
//! tx.commit()?; // both values appear at once
//!
//! let then = cont.snapshot_reader(snap)?;
//! let old = obj.fetch_single(Tx::of(&then), b"dkey", b"a")?;
//! println!("at {snap}: {old:?}");
//! # Ok(()) }
//! ```

use std::sync::Arc;

use crate::container::Container;
use crate::eq::{EventQueue, OpFuture, Operation, run_blocking};
use crate::error::{Der, Error, Result, check_rc};
use crate::object::Cond;
use crate::snapshot::Epoch;

/// Largest epoch (`DAOS_EPOCH_MAX`); no snapshot can have it.
const EPOCH_MAX: u64 = u64::MAX;

struct TxInner {
    handle: daos_sys::daos_handle_t,
    read_only: bool,
    /// The snapshot a reader reads; `None` for a read-write transaction.
    snapshot: Option<Epoch>,
    closed: bool,
    cont: Container,
}

impl TxInner {
    fn describe(&self) -> String {
        match self.snapshot {
            Some(epoch) => format!("snapshot reader at {epoch} of {}", self.cont.describe()),
            None => format!("transaction in {}", self.cont.describe()),
        }
    }
}

impl Drop for TxInner {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        // SAFETY: the handle came from a successful open; every operation that used it held a
        // clone of this value, so none is in flight any more.
        let rc = unsafe { daos_sys::daos_tx_close(self.handle, std::ptr::null_mut()) };
        if rc != 0 {
            tracing::warn!(error = %Error::from_rc("daos_tx_close", rc).with_context(self.describe()), "transaction handle leaked");
        }
    }
}

/// An open DAOS transaction (`daos_tx_open` or `daos_tx_open_snap`); see the
/// [module documentation](self). Clones share the handle; the last one closes it.
#[derive(Clone)]
pub struct Transaction {
    inner: Arc<TxInner>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("cookie", &self.inner.handle.cookie)
            .field("read_only", &self.inner.read_only)
            .field("snapshot", &self.inner.snapshot)
            .field("container", &self.inner.cont)
            .finish()
    }
}

/// In which transaction an object operation runs, and on which conditions.
///
/// [`Tx::NONE`] is `DAOS_TX_NONE`: the operation is a transaction of its own and reads the
/// latest data. [`Tx::of`] (or `Tx::from(&transaction)`) runs it in an open [`Transaction`].
/// [`Tx::cond`] adds conditional-operation flags (`DAOS_COND_*`) for this one call, e.g. an
/// update that must not overwrite ([`Cond::DKEY_INSERT`]) or a fetch that fails with
/// `-DER_NONEXIST` instead of returning nothing ([`Cond::AKEY_FETCH`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tx<'a> {
    tx: Option<&'a Transaction>,
    cond: Cond,
}

impl<'a> Tx<'a> {
    /// No transaction (`DAOS_TX_NONE`), no conditions.
    pub const NONE: Tx<'static> = Tx {
        tx: None,
        cond: Cond::NONE,
    };

    /// Runs the operation inside `tx`.
    pub fn of(tx: &'a Transaction) -> Tx<'a> {
        Tx {
            tx: Some(tx),
            cond: Cond::NONE,
        }
    }

    /// The same, with the conditional flags `cond` added.
    pub fn cond(self, cond: Cond) -> Tx<'a> {
        Tx {
            cond: self.cond | cond,
            ..self
        }
    }

    /// The transaction, if any.
    pub fn transaction(&self) -> Option<&'a Transaction> {
        self.tx
    }

    /// The conditional flags.
    pub fn conditions(&self) -> Cond {
        self.cond
    }

    /// What an operation in flight holds: the transaction stays open until it completes.
    pub(crate) fn hold(&self) -> HeldTx {
        HeldTx {
            tx: self.tx.cloned(),
            cond: self.cond,
        }
    }
}

impl<'a> From<&'a Transaction> for Tx<'a> {
    fn from(tx: &'a Transaction) -> Tx<'a> {
        Tx::of(tx)
    }
}

/// A [`Tx`] owned by an operation: keeps the transaction open while the operation runs.
#[derive(Clone, Default)]
pub(crate) struct HeldTx {
    tx: Option<Transaction>,
    pub(crate) cond: Cond,
}

impl HeldTx {
    /// The handle to pass to libdaos (`DAOS_TX_NONE` for none).
    pub(crate) fn raw(&self) -> daos_sys::daos_handle_t {
        self.tx
            .as_ref()
            .map_or(daos_sys::DAOS_TX_NONE, Transaction::raw_handle)
    }

    /// The conditional flags as libdaos takes them.
    pub(crate) fn flags(&self) -> u64 {
        self.cond.bits()
    }
}

struct Open {
    cont: Container,
    snapshot: Option<Epoch>,
    handle: daos_sys::daos_handle_t,
}

impl Operation for Open {
    type Output = Transaction;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        let coh = self.cont.raw_handle();
        match self.snapshot {
            // SAFETY: the container is open (held); `handle` belongs to this operation.
            Some(epoch) => unsafe {
                daos_sys::daos_tx_open_snap(coh, epoch.0, &mut self.handle, ev)
            },
            // SAFETY: as above.
            None => unsafe { daos_sys::daos_tx_open(coh, &mut self.handle, 0, ev) },
        }
    }

    fn finish(self, rc: i32) -> Result<Transaction> {
        let op = match self.snapshot {
            Some(_) => "daos_tx_open_snap",
            None => "daos_tx_open",
        };
        check_rc(op, rc).map_err(|e| match self.snapshot {
            Some(epoch) => e.with_context(format!("snapshot {epoch} of {}", self.cont.describe())),
            None => e.with_context(self.cont.describe()),
        })?;
        Ok(Transaction {
            inner: Arc::new(TxInner {
                handle: self.handle,
                read_only: self.snapshot.is_some(),
                snapshot: self.snapshot,
                closed: false,
                cont: self.cont,
            }),
        })
    }
}

#[derive(Clone, Copy)]
enum Step {
    Commit,
    Abort,
    Restart,
}

impl Step {
    fn c_name(self) -> &'static str {
        match self {
            Step::Commit => "daos_tx_commit",
            Step::Abort => "daos_tx_abort",
            Step::Restart => "daos_tx_restart",
        }
    }
}

/// Commit, abort or restart: calls on the open handle that produce nothing.
struct Advance {
    tx: Transaction,
    step: Step,
}

impl Operation for Advance {
    type Output = ();

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        let th = self.tx.raw_handle();
        // SAFETY: the handle is open (this operation holds a clone of the transaction).
        unsafe {
            match self.step {
                Step::Commit => daos_sys::daos_tx_commit(th, ev),
                Step::Abort => daos_sys::daos_tx_abort(th, ev),
                Step::Restart => daos_sys::daos_tx_restart(th, ev),
            }
        }
    }

    fn finish(self, rc: i32) -> Result<()> {
        check_rc(self.step.c_name(), rc).map_err(|e| e.with_context(self.tx.inner.describe()))
    }
}

fn snapshot_open_op(cont: &Container, epoch: Epoch) -> Result<Open> {
    // libdaos refuses these with -DER_INVAL too (dc_tx_open_snap); saying why helps.
    if epoch.0 == 0 || epoch.0 == EPOCH_MAX {
        return Err(Error::invalid(
            "Container::snapshot_reader",
            format!("epoch {epoch} is not a snapshot's epoch"),
        ));
    }
    Ok(Open {
        cont: cont.clone(),
        snapshot: Some(epoch),
        handle: daos_sys::DAOS_HDL_INVAL,
    })
}

impl Container {
    /// Opens a read-write transaction (`daos_tx_open`); see [`crate::tx`].
    pub fn begin_transaction(&self) -> Result<Transaction> {
        run_blocking(Open {
            cont: self.clone(),
            snapshot: None,
            handle: daos_sys::DAOS_HDL_INVAL,
        })
    }

    /// [`Container::begin_transaction`] through an event queue.
    pub fn begin_transaction_async(&self, eq: &EventQueue) -> OpFuture<Transaction> {
        eq.submit(Open {
            cont: self.clone(),
            snapshot: None,
            handle: daos_sys::DAOS_HDL_INVAL,
        })
    }

    /// Opens a read-only transaction that reads the container as of the snapshot at `epoch`
    /// (`daos_tx_open_snap`). Epoch 0 and `DAOS_EPOCH_MAX` are refused with `-DER_INVAL`.
    /// libdaos does not check that a snapshot exists at `epoch`: reads see the container as
    /// of that epoch either way, but only a snapshot keeps that view from being aggregated
    /// away.
    pub fn snapshot_reader(&self, epoch: Epoch) -> Result<Transaction> {
        run_blocking(snapshot_open_op(self, epoch)?)
    }

    /// [`Container::snapshot_reader`] through an event queue.
    pub fn snapshot_reader_async(&self, eq: &EventQueue, epoch: Epoch) -> OpFuture<Transaction> {
        match snapshot_open_op(self, epoch) {
            Ok(op) => eq.submit(op),
            Err(e) => OpFuture::ready(Err(e)),
        }
    }
}

impl Transaction {
    /// The raw transaction handle, valid while this value (or a clone) lives.
    pub fn raw_handle(&self) -> daos_sys::daos_handle_t {
        self.inner.handle
    }

    /// The container the transaction belongs to.
    pub fn container(&self) -> &Container {
        &self.inner.cont
    }

    /// Whether updates are refused: true for a snapshot reader.
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// The snapshot a reader reads; `None` for a read-write transaction.
    pub fn snapshot(&self) -> Option<Epoch> {
        self.inner.snapshot
    }

    /// The transaction's epoch (`daos_tx_hdl2epoch`): a snapshot reader's epoch, or the one
    /// DAOS chose for a read-write transaction. Before a read-write transaction has talked to
    /// any server its epoch is not chosen yet: `-DER_UNINIT`.
    pub fn epoch(&self) -> Result<Epoch> {
        let mut epoch = 0;
        // SAFETY: the handle is open; `epoch` is a valid out-pointer. The call is local.
        let rc = unsafe { daos_sys::daos_tx_hdl2epoch(self.inner.handle, &mut epoch) };
        check_rc("daos_tx_hdl2epoch", rc).map_err(|e| e.with_context(self.inner.describe()))?;
        Ok(Epoch(epoch))
    }

    fn advance(&self, step: Step) -> Advance {
        Advance {
            tx: self.clone(),
            step,
        }
    }

    /// Makes the transaction's updates visible, all at once (`daos_tx_commit`).
    /// `-DER_TX_RESTART` means another transaction conflicted: [`Transaction::restart`] and
    /// redo the operations. Committing twice gives `-DER_ALREADY`; committing an aborted
    /// transaction `-DER_NO_PERM`.
    pub fn commit(&self) -> Result<()> {
        run_blocking(self.advance(Step::Commit))
    }

    /// [`Transaction::commit`] through an event queue.
    pub fn commit_async(&self, eq: &EventQueue) -> OpFuture<()> {
        eq.submit(self.advance(Step::Commit))
    }

    /// Discards the transaction's updates (`daos_tx_abort`). Aborting twice gives
    /// `-DER_ALREADY`; aborting a committed transaction `-DER_NO_PERM`. Dropping an
    /// uncommitted transaction discards its updates as well.
    pub fn abort(&self) -> Result<()> {
        run_blocking(self.advance(Step::Abort))
    }

    /// [`Transaction::abort`] through an event queue.
    pub fn abort_async(&self, eq: &EventQueue) -> OpFuture<()> {
        eq.submit(self.advance(Step::Abort))
    }

    /// Resets a transaction that failed with `-DER_TX_RESTART` so that its operations can be
    /// redone in it (`daos_tx_restart`); `-DER_NO_PERM` for one that did not fail.
    pub fn restart(&self) -> Result<()> {
        run_blocking(self.advance(Step::Restart))
    }

    /// [`Transaction::restart`] through an event queue.
    pub fn restart_async(&self, eq: &EventQueue) -> OpFuture<()> {
        eq.submit(self.advance(Step::Restart))
    }

    /// Closes the handle now (`daos_tx_close`) if this is the last clone and no operation is
    /// in flight on it; otherwise `-DER_BUSY` and only this clone goes away. An uncommitted
    /// transaction is discarded.
    pub fn close(self) -> Result<()> {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                // SAFETY: the last owner of an open handle.
                let rc = unsafe { daos_sys::daos_tx_close(inner.handle, std::ptr::null_mut()) };
                // On failure Drop tries once more (and logs); on success it must not.
                inner.closed = rc == 0;
                check_rc("daos_tx_close", rc).map_err(|e| e.with_context(inner.describe()))
            }
            Err(_) => Err(Error::raised(
                "Transaction::close",
                Der::Busy,
                "other clones of this transaction (or operations using it) are still alive",
            )),
        }
    }
}
