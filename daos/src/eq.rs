//! Asynchronous operations through a DAOS event queue.
//!
//! Every libdaos call that takes a `daos_event_t *ev` either blocks (`ev == NULL`) or returns
//! at once and completes later, when the event's queue is polled. An [`EventQueue`] owns one
//! DAOS event queue and a dedicated OS thread (the *poller*) that calls `daos_eq_poll` with a
//! bounded timeout; no async runtime is needed for it, and none of its work runs on the
//! caller's runtime.
//!
//! # Ownership of in-flight operations
//!
//! DAOS cannot cancel an operation, and until it completes libdaos may write into the event
//! and into every buffer and out-parameter the call was given. So each operation lives in one
//! heap allocation (`#[repr(C)]`, the `daos_event_t` first, followed by everything the C side
//! may touch: strings, buffers, property lists, out-params, and clones of the pool or
//! container handle it works on). The allocation is handed to the poller at submission and
//! freed **only by the poller**, after the event completed and was polled out. The
//! [`OpFuture`] the caller gets is just the receiving end of a oneshot channel: dropping it
//! early abandons the result, never the memory, and the operation still runs to completion
//! inside DAOS (the same discipline rust-rdkafka uses for librdkafka's callbacks).
//!
//! # Dropped futures
//!
//! Dropping an [`OpFuture`] (or a task awaiting one) does not stop the operation: DAOS has no
//! way to cancel it. It still runs to completion, its side effects (a created container, a
//! written attribute) still happen, and every buffer, string and handle clone it was given
//! stays alive until then; only its result is thrown away. To stop caring about a slow
//! operation, drop its future; to know it is over, await it (or [`EventQueue::close`]).
//!
//! # Shutdown
//!
//! Dropping the last handle on an [`EventQueue`] never blocks: it tells the poller to finish
//! and returns. The poller keeps polling until every operation already submitted has
//! completed, then destroys the DAOS event queue and exits; libdaos stays initialised until
//! then. That makes a drop safe on an async runtime's worker thread.
//!
//! To *wait* for that point (before a process exits, or to see the result of
//! `daos_eq_destroy`), await [`EventQueue::close`]: from then on the queue refuses new work
//! with `DER_SHUTDOWN`, and the returned future resolves once the in-flight operations are
//! done and the queue is destroyed. It waits on a channel, not on a thread, so other tasks keep
//! running meanwhile. [`EventQueue::close_blocking`] is the same for synchronous code.
//!
//! ```no_run
//! # async fn demo() -> daos::Result<()> {
//! use daos::{Daos, EventQueue, Pool, PoolAccess};
//!
//! let daos = Daos::init()?;
//! let eq = EventQueue::new(&daos)?;
//! let pool = Pool::connect_async(&eq, "tank", None, PoolAccess::ReadWrite).await?;
//! let (a, b) = futures::join!(pool.query_async(&eq), pool.list_containers_async(&eq));
//! println!("{} bytes free, {} containers", a?.free_bytes, b?.len());
//! # Ok(()) }
//! ```

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr::{addr_of_mut, null_mut};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_channel::oneshot;

use crate::error::{Der, Error, Result, check_rc};
use crate::init::Daos;

/// How long one `daos_eq_poll` may wait (µs): bounds how late the poller notices shutdown.
const POLL_TIMEOUT_US: i64 = 100_000;

/// Completed events fetched per `daos_eq_poll` call.
const POLL_BATCH: usize = 64;

/// One libdaos call with everything it reads or writes, run either blocking (`ev == NULL`) or
/// through an [`EventQueue`]. Blocking and async forms of a method share one implementation.
pub(crate) trait Operation: Send + 'static {
    /// What the operation produces.
    type Output: Send + 'static;

    /// Calls the C function with `ev` (NULL for a blocking call) and returns its return value.
    ///
    /// # Safety
    /// `self` stays at its address until the operation completed (for an event: until it is
    /// polled out). The C call must be the last thing this method does with `self`: once it
    /// returns 0 the poller may already have completed and freed the operation.
    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32;

    /// Turns the result code (return value, or `ev_error`) into the output.
    fn finish(self, rc: i32) -> Result<Self::Output>;
}

/// Runs an operation synchronously on the calling thread.
pub(crate) fn run_blocking<O: Operation>(mut op: O) -> Result<O::Output> {
    // SAFETY: `op` lives on this stack frame until `finish`; with ev == NULL libdaos does not
    // keep any pointer past the call.
    let rc = unsafe { op.launch(null_mut()) };
    op.finish(rc)
}

/// Makes plain-data holders with raw pointers `Send`.
///
/// Invariant for every use: the pointers point into memory owned by the same operation (or
/// by libdaos for it), and the operation is touched by one thread at a time: the submitter
/// until launch, then the poller.
pub(crate) struct SendPtr<T>(pub T);

// SAFETY: see the type's invariant; nothing is shared between threads concurrently.
unsafe impl<T> Send for SendPtr<T> {}

/// The start of every in-flight allocation; the poller only sees this part.
#[repr(C)]
struct Header {
    /// Must stay the first field: the poller turns the `daos_event_t *` back into `*Header`.
    ev: daos_sys::daos_event_t,
    /// Consumes the allocation: computes the result, sends it, frees everything.
    complete: unsafe fn(*mut Header, i32),
}

#[repr(C)]
struct InFlight<O: Operation> {
    header: Header,
    op: O,
    tx: oneshot::Sender<Result<O::Output>>,
}

/// Completion for `InFlight<O>`; runs on the poller thread.
///
/// # Safety
/// `header` comes from `Box::into_raw(Box<InFlight<O>>)` and the event was polled out and
/// finalised; this is the only owner from now on.
unsafe fn complete<O: Operation>(header: *mut Header, rc: i32) {
    // SAFETY: per the contract above.
    let boxed = unsafe { Box::from_raw(header as *mut InFlight<O>) };
    let InFlight { op, tx, .. } = *boxed;
    // A panic in result conversion must not kill the poller (in-flight operations would never
    // be freed); the receiver then sees a cancelled channel.
    if let Ok(result) = catch_unwind(AssertUnwindSafe(|| op.finish(rc))) {
        // The caller may have dropped its future; the result is simply discarded then.
        let _ = tx.send(result);
    }
}

/// State shared by the queue, its poller and every submitted operation.
struct Shared {
    eqh: daos_sys::daos_handle_t,
    state: Mutex<PollerState>,
    /// Wakes the poller: new work, or shutdown.
    wake: Condvar,
    /// Wakes [`EventQueue::close_blocking`] once the queue is destroyed.
    destroyed: Condvar,
    /// Keeps libdaos initialised until the queue is destroyed.
    daos: Arc<Daos>,
}

#[derive(Default)]
struct PollerState {
    /// Events launched and not yet polled out.
    in_flight: usize,
    /// The owner asked the poller to stop once `in_flight` reaches 0.
    shutdown: bool,
    /// [`EventQueue::close`] was called: new operations are refused, even the next step of a
    /// multi-step future.
    closed: bool,
    /// The poller is gone and the queue destroyed: nothing may be submitted any more.
    exited: bool,
    /// What `daos_eq_destroy` returned, once the poller has run it.
    destroyed: Option<Result<()>>,
    /// Callers of [`EventQueue::close`] waiting for `destroyed`.
    close_waiters: Vec<oneshot::Sender<Result<()>>>,
}

/// A cloneable handle used by multi-step futures to submit their next step.
#[derive(Clone)]
pub(crate) struct Submitter(Arc<Shared>);

impl Submitter {
    /// Launches `op` on the queue and returns the future of its result.
    pub(crate) fn submit<O: Operation>(&self, op: O) -> OpFuture<O::Output> {
        let shared = &self.0;
        {
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.exited || state.closed {
                return OpFuture::ready(Err(Error::raised(
                    "EventQueue",
                    Der::Shutdown,
                    "the event queue is closed",
                )));
            }
            state.in_flight += 1;
        }
        let (tx, rx) = oneshot::channel();
        let zeroed_ev: daos_sys::daos_event_t = unsafe_zeroed_event();
        let ptr = Box::into_raw(Box::new(InFlight {
            header: Header {
                ev: zeroed_ev,
                complete: complete::<O>,
            },
            op,
            tx,
        }));
        // SAFETY: `ptr` is a fresh, exclusively owned allocation; the event is zeroed memory
        // as daos_event_init expects, and `eqh` is live (the poller has not exited: counted
        // above).
        let rc = unsafe {
            daos_sys::daos_event_init(addr_of_mut!((*ptr).header.ev), shared.eqh, null_mut())
        };
        if rc != 0 {
            return self.abandon(ptr, Error::from_rc("daos_event_init", rc));
        }
        // Wake the poller before launching: the event is counted, so it polls until done.
        shared.wake.notify_one();
        // SAFETY: the allocation stays put until the poller frees it after completion; `op`
        // and `ev` are disjoint fields. After a 0 return `ptr` is not touched again here.
        let rc = unsafe {
            let op: &mut O = &mut (*ptr).op;
            op.launch(addr_of_mut!((*ptr).header.ev))
        };
        if rc != 0 {
            // Not launched (argument checks): libdaos does not hold the event.
            // SAFETY: the event is initialised and not running.
            unsafe { daos_sys::daos_event_fini(addr_of_mut!((*ptr).header.ev)) };
            // SAFETY: still exclusively ours.
            let InFlight { op, .. } = *unsafe { Box::from_raw(ptr) };
            self.finished(1);
            return OpFuture::ready(op.finish(rc));
        }
        OpFuture::waiting(rx)
    }

    fn abandon<O: Operation>(&self, ptr: *mut InFlight<O>, err: Error) -> OpFuture<O::Output> {
        // SAFETY: the event never reached libdaos; the allocation is exclusively ours.
        drop(unsafe { Box::from_raw(ptr) });
        self.finished(1);
        OpFuture::ready(Err(err))
    }

    fn finished(&self, n: usize) {
        let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        state.in_flight -= n;
        if state.in_flight == 0 {
            self.0.wake.notify_all();
        }
    }
}

fn unsafe_zeroed_event() -> daos_sys::daos_event_t {
    // SAFETY: daos_event_t is plain integers; all-zero is the state daos_event_init expects.
    unsafe { std::mem::zeroed() }
}

/// A DAOS event queue with its own poller thread.
///
/// Create one per process (or a few for more parallel progress) and share it as
/// `Arc<EventQueue>`. Many operations may be in flight at once; they complete in any order.
/// See the [module documentation](self) for the ownership rules and shutdown.
pub struct EventQueue {
    submitter: Submitter,
}

impl EventQueue {
    /// Creates the DAOS event queue (`daos_eq_create`) and starts its poller thread.
    pub fn new(daos: &Arc<Daos>) -> Result<Arc<EventQueue>> {
        let mut eqh = daos_sys::DAOS_HDL_INVAL;
        // SAFETY: `eqh` is a valid out-pointer; libdaos is initialised (we hold a Daos).
        check_rc("daos_eq_create", unsafe {
            daos_sys::daos_eq_create(&mut eqh)
        })?;
        let shared = Arc::new(Shared {
            eqh,
            state: Mutex::new(PollerState::default()),
            wake: Condvar::new(),
            destroyed: Condvar::new(),
            daos: Arc::clone(daos),
        });
        let for_poller = Arc::clone(&shared);
        // Detached: the poller owns an Arc of everything it needs and exits on its own once
        // the queue is shut down and drained; joining it in Drop would block the dropping
        // thread (maybe a runtime worker) for as long as the slowest operation.
        std::thread::Builder::new()
            .name("daos-eq-poller".into())
            .spawn(move || poll_until_drained(&for_poller))
            .map_err(|e| {
                // SAFETY: the queue is empty and nobody else has its handle.
                unsafe { daos_sys::daos_eq_destroy(eqh, 0) };
                Error::raised(
                    "EventQueue::new",
                    Der::Nomem,
                    format!("cannot start the poller thread: {e}"),
                )
            })?;
        Ok(Arc::new(EventQueue {
            submitter: Submitter(shared),
        }))
    }

    /// Number of operations submitted whose memory the queue still holds: running inside DAOS,
    /// or completed and about to be freed. A future may resolve an instant before its
    /// operation leaves this count.
    pub fn in_flight(&self) -> usize {
        self.submitter
            .0
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .in_flight
    }

    /// Stops taking new operations and resolves once every operation already submitted has
    /// completed and the DAOS event queue is destroyed, with the result of
    /// `daos_eq_destroy`.
    ///
    /// Does not block: the returned future waits on a channel the poller thread answers, so
    /// it may be awaited on any runtime, including a current-thread one, while other tasks
    /// run. From the call on, submitting to this queue (through any clone) fails with
    /// `DER_SHUTDOWN`, including the later steps of a multi-step operation such as
    /// [`Pool::list_containers_async`](crate::Pool::list_containers_async). Calling it again
    /// (or after the poller is gone) gives the same result.
    ///
    /// ```no_run
    /// # async fn demo(pool: daos::Pool) -> daos::Result<()> {
    /// let daos = daos::Daos::init()?;
    /// let eq = daos::EventQueue::new(&daos)?;
    /// let pending = pool.create_container_async(&eq, "scratch", &daos::Properties::new());
    /// drop(pending); // the container is still created
    /// eq.close().await?; // ... and now it has been
    /// # Ok(()) }
    /// ```
    pub fn close(&self) -> OpFuture<()> {
        let shared = &self.submitter.0;
        let (tx, rx) = oneshot::channel();
        {
            let mut state = shared.lock();
            if let Some(result) = &state.destroyed {
                return OpFuture::ready(result.clone());
            }
            state.close_waiters.push(tx);
        }
        shared.request_shutdown(true);
        OpFuture::waiting(rx)
    }

    /// [`EventQueue::close`] for synchronous code: blocks the calling thread until the
    /// in-flight operations are done and the queue is destroyed. Do not call it on an async
    /// runtime's worker thread; await [`EventQueue::close`] there.
    pub fn close_blocking(&self) -> Result<()> {
        let shared = &self.submitter.0;
        shared.request_shutdown(true);
        let mut state = shared.lock();
        loop {
            if let Some(result) = &state.destroyed {
                return result.clone();
            }
            state = shared
                .destroyed
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    pub(crate) fn submit<O: Operation>(&self, op: O) -> OpFuture<O::Output> {
        self.submitter.submit(op)
    }

    pub(crate) fn submitter(&self) -> Submitter {
        self.submitter.clone()
    }

    pub(crate) fn daos(&self) -> &Arc<Daos> {
        &self.submitter.0.daos
    }
}

impl std::fmt::Debug for EventQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("cookie", &self.submitter.0.eqh.cookie)
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl Drop for EventQueue {
    /// Hands the queue to its poller, which destroys it once the in-flight operations are
    /// done; returns at once (see the [module documentation](self)).
    fn drop(&mut self) {
        self.submitter.0.request_shutdown(false);
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, PollerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the poller to exit once drained; `close` also refuses further submissions.
    fn request_shutdown(&self, close: bool) {
        {
            let mut state = self.lock();
            state.shutdown = true;
            state.closed |= close;
        }
        self.wake.notify_all();
    }

    /// Records the outcome of `daos_eq_destroy` and tells every waiting `close`.
    fn report_destroyed(&self, result: Result<()>) {
        let waiters = {
            let mut state = self.lock();
            state.destroyed = Some(result.clone());
            std::mem::take(&mut state.close_waiters)
        };
        self.destroyed.notify_all();
        for waiter in waiters {
            // A caller that stopped waiting does not need the answer.
            let _ = waiter.send(result.clone());
        }
    }
}

/// The poller: waits for work, polls completions, and destroys the queue once shut down and
/// drained.
fn poll_until_drained(shared: &Shared) {
    let mut events: [*mut daos_sys::daos_event_t; POLL_BATCH] = [null_mut(); POLL_BATCH];
    loop {
        {
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            while state.in_flight == 0 {
                if state.shutdown {
                    state.exited = true;
                    drop(state);
                    shared.report_destroyed(destroy_queue(shared.eqh));
                    return;
                }
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        }
        // SAFETY: `events` has room for POLL_BATCH pointers; the queue is live until this
        // thread destroys it.
        let rc = unsafe {
            daos_sys::daos_eq_poll(
                shared.eqh,
                0,
                POLL_TIMEOUT_US,
                POLL_BATCH as u32,
                events.as_mut_ptr(),
            )
        };
        if rc < 0 {
            tracing::error!(error = %Error::from_rc("daos_eq_poll", rc), "polling the DAOS event queue");
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        let n = (rc as usize).min(POLL_BATCH);
        for &ev in &events[..n] {
            // SAFETY: every event on this queue was launched by `Submitter::submit` and is the
            // first field of an `InFlight` allocation; it was just polled out (READY again).
            unsafe {
                let header = ev as *mut Header;
                let result = (*header).ev.ev_error;
                daos_sys::daos_event_fini(ev);
                ((*header).complete)(header, result);
            }
            // Counted down only once the operation's memory (and the handles it held) is gone.
            shared
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .in_flight -= 1;
        }
    }
}

fn destroy_queue(eqh: daos_sys::daos_handle_t) -> Result<()> {
    // SAFETY: all events were polled out and finalised; nobody can submit any more.
    let rc = unsafe { daos_sys::daos_eq_destroy(eqh, 0) };
    let result = check_rc("daos_eq_destroy", rc);
    if let Err(error) = &result {
        tracing::warn!(%error, "destroying the DAOS event queue");
    }
    result
}

/// The result of an operation submitted to an [`EventQueue`].
///
/// Dropping it does not cancel the operation: it still completes inside DAOS and its memory is
/// freed by the queue's poller. Needs no particular async runtime.
#[must_use = "the operation runs anyway; the future only carries its result"]
pub struct OpFuture<T> {
    state: FutureState<T>,
}

enum FutureState<T> {
    Ready(Option<Result<T>>),
    Waiting(oneshot::Receiver<Result<T>>),
}

impl<T> OpFuture<T> {
    pub(crate) fn ready(result: Result<T>) -> OpFuture<T> {
        OpFuture {
            state: FutureState::Ready(Some(result)),
        }
    }

    fn waiting(rx: oneshot::Receiver<Result<T>>) -> OpFuture<T> {
        OpFuture {
            state: FutureState::Waiting(rx),
        }
    }
}

// The value is only ever moved out whole, never pinned in place.
impl<T> Unpin for OpFuture<T> {}

impl<T> Future for OpFuture<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.get_mut();
        match &mut this.state {
            FutureState::Ready(result) => match result.take() {
                Some(r) => Poll::Ready(r),
                None => Poll::Ready(Err(Error::invalid("OpFuture", "polled after completion"))),
            },
            FutureState::Waiting(rx) => match Pin::new(rx).poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(result)) => Poll::Ready(result),
                Poll::Ready(Err(_)) => Poll::Ready(Err(Error::raised(
                    "OpFuture",
                    Der::Canceled,
                    "the operation's result was lost (conversion panicked)",
                ))),
            },
        }
    }
}

impl<T> std::fmt::Debug for OpFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            FutureState::Ready(_) => "ready",
            FutureState::Waiting(_) => "waiting",
        };
        f.debug_struct("OpFuture").field("state", &state).finish()
    }
}
