//! Events and event queues (`src/client/api/event.c`, daos-stack/daos v2.8.0).
//!
//! An operation launched with an event runs on one of a few emulator worker threads, in an
//! order of their choosing (so completions arrive out of order), and its completion may be
//! held back by an injected delay on a timer heap without occupying a thread. Completion
//! callbacks run in progress: on the thread that polls or tests, before the event becomes
//! COMPLETED. The event's state lives in its `ev_private` words:
//! `[0]` magic, `[1]` status (`daos_ev_status_t`), `[2]` pointer to the emulator's record.

use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::der::{Der, DerResult};
use crate::ffi::daos_event_t;

const EV_MAGIC: u64 = 0x454d_5545_5645_4e54; // "EMUEVENT"
/// `DAOS_EVS_READY`.
pub const READY: u64 = 0;
/// `DAOS_EVS_RUNNING`.
pub const RUNNING: u64 = 1;
/// `DAOS_EVS_COMPLETED`.
pub const COMPLETED: u64 = 2;

/// A completion callback as C declares it.
pub type CompCb = unsafe extern "C" fn(*mut libc::c_void, *mut daos_event_t, i32) -> i32;

/// A pointer that may cross threads; the DAOS contract keeps the memory alive.
#[derive(Debug)]
pub struct SendPtr<T>(pub *mut T);

impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}
impl<T> PartialEq for SendPtr<T> {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl<T> Eq for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// The pointer. A method (not the field) so that closures capture the whole `SendPtr`.
    pub fn get(&self) -> *mut T {
        self.0
    }
}
// SAFETY: the pointee (caller-owned event or out-parameter) must stay valid and unaliased
// until the operation completes; that is the caller's side of the DAOS async contract.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as above; the emulator only touches the pointee from one thread at a time.
unsafe impl<T> Sync for SendPtr<T> {}

type EvPtr = SendPtr<daos_event_t>;

struct Record {
    eq: Arc<EventQueue>,
    parent: Option<EvPtr>,
    callbacks: Vec<(CompCb, SendPtr<libc::c_void>)>,
    children: Vec<EvPtr>,
    children_running: usize,
    children_err: i32,
    barrier: bool,
}

/// An event queue.
pub struct EventQueue {
    state: Mutex<EqState>,
    cv: Condvar,
}

#[derive(Default)]
struct EqState {
    /// Operations done on a worker whose callbacks have not run yet.
    finished: Vec<(EvPtr, i32)>,
    /// COMPLETED events waiting to be polled.
    completed: VecDeque<EvPtr>,
    /// Launched top-level events not yet COMPLETED.
    running: Vec<EvPtr>,
}

static EQS: Mutex<Option<HashMap<u64, Arc<EventQueue>>>> = Mutex::new(None);
/// Queue of events initialised without an EQ (tested with `daos_event_test`).
static PRIVATE_EQ: Mutex<Option<Arc<EventQueue>>> = Mutex::new(None);

fn new_queue() -> Arc<EventQueue> {
    Arc::new(EventQueue {
        state: Mutex::new(EqState::default()),
        cv: Condvar::new(),
    })
}

fn private_eq() -> Arc<EventQueue> {
    PRIVATE_EQ.lock().get_or_insert_with(new_queue).clone()
}

fn lookup(cookie: u64) -> DerResult<Arc<EventQueue>> {
    EQS.lock()
        .as_ref()
        .and_then(|m| m.get(&cookie).cloned())
        .ok_or(Der::NONEXIST)
}

/// `daos_eq_create`.
pub fn eq_create() -> DerResult<u64> {
    if !crate::client::is_initialized() {
        return Err(Der::UNINIT);
    }
    let cookie = crate::client::new_cookie(crate::client::htype::EQ);
    EQS.lock()
        .get_or_insert_with(HashMap::new)
        .insert(cookie, new_queue());
    Ok(cookie)
}

/// `daos_eq_destroy`: `-DER_BUSY` with launched or unpolled events, unless forced.
pub fn eq_destroy(cookie: u64, force: bool) -> DerResult<()> {
    let eq = lookup(cookie)?;
    {
        let st = eq.state.lock();
        if !force && (!st.running.is_empty() || !st.completed.is_empty() || !st.finished.is_empty())
        {
            return Err(Der::BUSY);
        }
    }
    if let Some(m) = EQS.lock().as_mut() {
        m.remove(&cookie);
    }
    Ok(())
}

fn words(ev: *mut daos_event_t) -> *mut u64 {
    // SAFETY: only computes a field address of a caller-provided event; no access yet.
    unsafe { std::ptr::addr_of_mut!((*ev).ev_private.space).cast::<u64>() }
}

fn status(ev: *mut daos_event_t) -> &'static AtomicU64 {
    // SAFETY: ev_private.space[1] is an 8-aligned u64 inside a live event (caller contract);
    // AtomicU64 has the same layout. The 'static is a convenience: callers use it briefly.
    unsafe { &*(words(ev).add(1) as *const AtomicU64) }
}

fn record(ev: *mut daos_event_t) -> DerResult<&'static Mutex<Record>> {
    if ev.is_null() {
        return Err(Der::INVAL);
    }
    // SAFETY: reading two words of ev_private of a caller-provided event.
    let (magic, ptr) = unsafe { (*words(ev), *words(ev).add(2)) };
    if magic != EV_MAGIC || ptr == 0 {
        return Err(Der::INVAL);
    }
    // SAFETY: ptr was produced by Box::into_raw in event_init and is freed only by event_fini.
    Ok(unsafe { &*(ptr as *const Mutex<Record>) })
}

/// The status of an initialised event.
pub(crate) fn event_status(ev: *mut daos_event_t) -> DerResult<u64> {
    record(ev)?;
    Ok(status(ev).load(Ordering::Acquire))
}

/// `daos_event_init`.
pub(crate) fn event_init(
    ev: *mut daos_event_t,
    eq_cookie: u64,
    parent: *mut daos_event_t,
) -> DerResult<()> {
    if ev.is_null() {
        return Err(Der::INVAL);
    }
    if !crate::client::is_initialized() {
        return Err(Der::UNINIT);
    }
    let (eq, parent) = if !parent.is_null() {
        let prec = record(parent)?;
        let mut p = prec.lock();
        if p.parent.is_some() {
            // Nested parents are not allowed.
            return Err(Der::NO_PERM);
        }
        p.children.push(SendPtr(ev));
        (p.eq.clone(), Some(SendPtr(parent)))
    } else if eq_cookie == 0 {
        (private_eq(), None)
    } else {
        (lookup(eq_cookie)?, None)
    };
    let rec = Box::new(Mutex::new(Record {
        eq,
        parent,
        callbacks: Vec::new(),
        children: Vec::new(),
        children_running: 0,
        children_err: 0,
        barrier: false,
    }));
    // SAFETY: ev points to a caller-owned daos_event_t (176 bytes); we initialise it.
    unsafe {
        (*ev).ev_error = 0;
        std::ptr::write_bytes(words(ev), 0, 20);
        *words(ev) = EV_MAGIC;
        *words(ev).add(2) = Box::into_raw(rec) as u64;
    }
    Ok(())
}

/// `daos_event_fini`: `-DER_BUSY` while RUNNING.
pub(crate) fn event_fini(ev: *mut daos_event_t) -> DerResult<()> {
    let rec = record(ev)?;
    let st = status(ev).load(Ordering::Acquire);
    if st == RUNNING {
        return Err(Der::BUSY);
    }
    {
        let r = rec.lock();
        if r.children
            .iter()
            .any(|c| status(c.0).load(Ordering::Acquire) == RUNNING)
        {
            return Err(Der::BUSY);
        }
        if st == COMPLETED {
            r.eq.state.lock().completed.retain(|e| e.0 != ev);
        }
        if let Some(p) = r.parent
            && let Ok(prec) = record(p.0)
        {
            prec.lock().children.retain(|c| c.0 != ev);
        }
    }
    // SAFETY: the record was created by Box::into_raw in event_init; clearing the magic first
    // makes any later use of the event fail cleanly instead of touching freed memory.
    unsafe {
        let ptr = *words(ev).add(2) as *mut Mutex<Record>;
        *words(ev) = 0;
        *words(ev).add(2) = 0;
        drop(Box::from_raw(ptr));
    }
    Ok(())
}

/// `daos_event_register_comp_cb`.
pub(crate) fn register_comp_cb(
    ev: *mut daos_event_t,
    cb: CompCb,
    arg: *mut libc::c_void,
) -> DerResult<()> {
    record(ev)?.lock().callbacks.push((cb, SendPtr(arg)));
    Ok(())
}

/// `daos_event_next`: the child after `child` (the first when null).
pub(crate) fn event_next(parent: *mut daos_event_t, child: *mut daos_event_t) -> *mut daos_event_t {
    let Ok(rec) = record(parent) else {
        return std::ptr::null_mut();
    };
    let r = rec.lock();
    let pos = if child.is_null() {
        Some(0)
    } else {
        r.children.iter().position(|c| c.0 == child).map(|i| i + 1)
    };
    pos.and_then(|i| r.children.get(i))
        .map(|c| c.0)
        .unwrap_or(std::ptr::null_mut())
}

/// Marks an event RUNNING; refuses one that is not READY.
fn start(ev: *mut daos_event_t) -> DerResult<Arc<EventQueue>> {
    let rec = record(ev)?;
    if status(ev)
        .compare_exchange(READY, RUNNING, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        // daos_event_launch rejects an event that is not READY.
        return Err(Der::NO_PERM);
    }
    // SAFETY: ev is a live initialised event owned by the caller.
    unsafe { (*ev).ev_error = 0 };
    let r = rec.lock();
    match r.parent {
        Some(p) => {
            if let Ok(prec) = record(p.0) {
                prec.lock().children_running += 1;
            }
        }
        None => r.eq.state.lock().running.push(SendPtr(ev)),
    }
    Ok(r.eq.clone())
}

/// Hands a finished operation to its queue; callbacks run at the next progress.
fn finish(eq: &EventQueue, ev: EvPtr, rc: i32) {
    eq.state.lock().finished.push((ev, rc));
    eq.cv.notify_all();
}

/// An operation body: returns the result code the event will carry.
pub type Op = Box<dyn FnOnce() -> i32 + Send + 'static>;

/// Runs `op` for a caller: with no event, now on this thread (after `delay`); with an event,
/// on an emulator thread, completing no earlier than `delay` from now. Returns the call's
/// immediate return value.
pub(crate) fn launch(ev: *mut daos_event_t, delay: Option<Duration>, op: Op) -> i32 {
    let op =
        move || std::panic::catch_unwind(std::panic::AssertUnwindSafe(op)).unwrap_or(Der::MISC.0);
    if ev.is_null() {
        if let Some(d) = delay {
            std::thread::sleep(d);
        }
        return op();
    }
    let eq = match start(ev) {
        Ok(eq) => eq,
        Err(e) => return e.0,
    };
    let deadline = delay.map(|d| Instant::now() + d);
    let evp = SendPtr(ev);
    scheduler().submit(Box::new(move || {
        let rc = op();
        match deadline {
            Some(at) if at > Instant::now() => {
                scheduler().submit_at(at, Box::new(move || finish(&eq, evp, rc)))
            }
            _ => finish(&eq, evp, rc),
        }
    }));
    0
}

/// Runs completion callbacks of finished operations and moves their events to COMPLETED.
fn progress(eq: &EventQueue) {
    loop {
        let batch = std::mem::take(&mut eq.state.lock().finished);
        if batch.is_empty() {
            return;
        }
        for (ev, rc) in batch {
            complete_one(eq, ev, rc);
        }
    }
}

fn complete_one(eq: &EventQueue, ev: EvPtr, mut rc: i32) {
    let Ok(rec) = record(ev.0) else { return };
    let (callbacks, parent) = {
        let mut r = rec.lock();
        (std::mem::take(&mut r.callbacks), r.parent)
    };
    for (cb, arg) in callbacks {
        // SAFETY: a callback registered by the caller for this event, called as documented.
        let ret = unsafe { cb(arg.0, ev.0, rc) };
        if rc == 0 && ret != 0 {
            rc = ret;
        }
    }
    // SAFETY: the event stays valid until it is polled out (caller contract).
    unsafe { (*ev.0).ev_error = rc };
    status(ev.0).store(COMPLETED, Ordering::Release);
    match parent {
        None => {
            let mut st = eq.state.lock();
            st.completed.push_back(ev);
            st.running.retain(|e| *e != ev);
        }
        Some(p) => child_done(eq, p, rc),
    }
}

fn child_done(eq: &EventQueue, parent: EvPtr, rc: i32) {
    let Ok(prec) = record(parent.0) else { return };
    let ready = {
        let mut p = prec.lock();
        p.children_running = p.children_running.saturating_sub(1);
        if p.children_err == 0 && rc != 0 {
            p.children_err = rc;
        }
        (p.barrier && p.children_running == 0).then_some(p.children_err)
    };
    if let Some(err) = ready {
        complete_one(eq, parent, err);
    }
}

/// `daos_event_parent_barrier`: the parent completes once all its children have.
pub(crate) fn parent_barrier(ev: *mut daos_event_t) -> DerResult<()> {
    let rec = record(ev)?;
    let eq = start(ev)?;
    let now = {
        let mut r = rec.lock();
        r.barrier = true;
        (r.children_running == 0).then_some(r.children_err)
    };
    if let Some(err) = now {
        finish(&eq, SendPtr(ev), err);
    }
    Ok(())
}

/// `daos_eq_poll`: up to `max` completed events.
pub fn eq_poll(
    cookie: u64,
    wait_running: bool,
    timeout_us: i64,
    max: usize,
) -> DerResult<Vec<*mut daos_event_t>> {
    if max == 0 {
        return Err(Der::INVAL);
    }
    let eq = lookup(cookie)?;
    let deadline =
        (timeout_us >= 0).then(|| Instant::now() + Duration::from_micros(timeout_us as u64));
    loop {
        progress(&eq);
        let mut st = eq.state.lock();
        if !st.completed.is_empty() {
            let n = max.min(st.completed.len());
            let out: Vec<*mut daos_event_t> = st.completed.drain(..n).map(|e| e.0).collect();
            for e in &out {
                status(*e).store(READY, Ordering::Release);
            }
            return Ok(out);
        }
        if !st.finished.is_empty() {
            continue;
        }
        if wait_running && st.running.is_empty() {
            return Ok(Vec::new());
        }
        match deadline {
            Some(d) => {
                if Instant::now() >= d || eq.cv.wait_until(&mut st, d).timed_out() {
                    drop(st);
                    progress(&eq);
                    let mut st = eq.state.lock();
                    let n = max.min(st.completed.len());
                    let out: Vec<*mut daos_event_t> =
                        st.completed.drain(..n).map(|e| e.0).collect();
                    for e in &out {
                        status(*e).store(READY, Ordering::Release);
                    }
                    return Ok(out);
                }
            }
            None => eq.cv.wait(&mut st),
        }
    }
}

/// `daos_eq_query`: completed (1), in flight (2) or both (3); fills `max` of them.
pub fn eq_query(cookie: u64, query: u32, max: usize) -> DerResult<(usize, Vec<*mut daos_event_t>)> {
    let eq = lookup(cookie)?;
    let st = eq.state.lock();
    let mut count = 0;
    let mut out = Vec::new();
    if query & 1 != 0 {
        count += st.completed.len();
        out.extend(st.completed.iter().map(|e| e.0));
    }
    if query & 2 != 0 {
        count += st.running.len();
        out.extend(st.running.iter().map(|e| e.0));
    }
    out.truncate(max);
    Ok((count, out))
}

/// `daos_event_test`: progresses the event's queue; true once the event completed (it is
/// then READY again).
pub(crate) fn event_test(ev: *mut daos_event_t, timeout_us: i64) -> DerResult<bool> {
    let rec = record(ev)?;
    let (eq, is_child) = {
        let r = rec.lock();
        (r.eq.clone(), r.parent.is_some())
    };
    if is_child {
        return Err(Der::NO_PERM);
    }
    let deadline =
        (timeout_us >= 0).then(|| Instant::now() + Duration::from_micros(timeout_us as u64));
    loop {
        progress(&eq);
        let mut st = eq.state.lock();
        if status(ev).load(Ordering::Acquire) == COMPLETED {
            st.completed.retain(|e| e.0 != ev);
            status(ev).store(READY, Ordering::Release);
            return Ok(true);
        }
        if status(ev).load(Ordering::Acquire) == READY {
            // Never launched, or already polled out.
            return Ok(true);
        }
        if !st.finished.is_empty() {
            continue;
        }
        match deadline {
            Some(d) if Instant::now() >= d => return Ok(false),
            Some(d) => {
                eq.cv.wait_until(&mut st, d);
            }
            None => eq.cv.wait(&mut st),
        }
    }
}

type Job = Box<dyn FnOnce() + Send + 'static>;

struct Timer {
    at: Instant,
    seq: u64,
    job: Job,
}

impl PartialEq for Timer {
    fn eq(&self, o: &Self) -> bool {
        self.at == o.at && self.seq == o.seq
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Timer {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        // Reversed: BinaryHeap is a max-heap and the earliest timer must come first.
        o.at.cmp(&self.at).then(o.seq.cmp(&self.seq))
    }
}

/// The emulator's worker threads and timer heap.
pub struct Scheduler {
    state: Mutex<SchedState>,
    cv: Condvar,
}

#[derive(Default)]
struct SchedState {
    ready: Vec<Job>,
    timers: BinaryHeap<Timer>,
    seq: u64,
    rng: u64,
    started_in: u32,
}

const WORKERS: usize = 4;
static SCHED: Scheduler = Scheduler {
    state: Mutex::new(SchedState {
        ready: Vec::new(),
        timers: BinaryHeap::new(),
        seq: 0,
        rng: 0,
        started_in: 0,
    }),
    cv: Condvar::new(),
};

/// The process's scheduler, (re)starting its threads in a new process after fork.
pub fn scheduler() -> &'static Scheduler {
    let pid = std::process::id();
    let mut st = SCHED.state.lock();
    if st.started_in != pid {
        // A forked child inherits the state but not the threads: start afresh.
        st.ready.clear();
        st.timers.clear();
        st.started_in = pid;
        st.rng = crate::fsutil::unix_nanos() | 1;
        for i in 0..WORKERS {
            let _ = std::thread::Builder::new()
                .name(format!("daos-emu-{i}"))
                .spawn(move || SCHED.worker(pid));
        }
    }
    &SCHED
}

impl Scheduler {
    /// Runs `job` as soon as a worker is free.
    pub fn submit(&self, job: Job) {
        self.state.lock().ready.push(job);
        self.cv.notify_one();
    }

    /// Runs `job` at `at`.
    pub fn submit_at(&self, at: Instant, job: Job) {
        let mut st = self.state.lock();
        st.seq += 1;
        let seq = st.seq;
        st.timers.push(Timer { at, seq, job });
        drop(st);
        self.cv.notify_all();
    }

    fn worker(&self, pid: u32) {
        let mut st = self.state.lock();
        loop {
            if st.started_in != pid {
                return;
            }
            let now = Instant::now();
            while st.timers.peek().is_some_and(|t| t.at <= now) {
                if let Some(t) = st.timers.pop() {
                    st.ready.push(t.job);
                }
            }
            if !st.ready.is_empty() {
                // Pick any ready job, not the oldest: completions come back out of order.
                st.rng ^= st.rng << 13;
                st.rng ^= st.rng >> 7;
                st.rng ^= st.rng << 17;
                let i = (st.rng % st.ready.len() as u64) as usize;
                let job = st.ready.swap_remove(i);
                drop(st);
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                st = self.state.lock();
                continue;
            }
            match st.timers.peek().map(|t| t.at) {
                Some(at) => {
                    self.cv.wait_until(&mut st, at);
                }
                None => self.cv.wait(&mut st),
            }
        }
    }
}
