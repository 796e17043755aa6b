//! Threads for file system calls that may never return.
//!
//! A `stat`, `statfs` or `umount` on a FUSE mount whose daemon hangs blocks
//! in the kernel and cannot be cancelled. Such calls run here, off the async
//! runtime, so that a hung call costs one thread and never a runtime or
//! blocking-pool thread.
//!
//! Starting a thread per call costs tens of microseconds, a large share of a
//! NodePublishVolume that makes several such calls; so idle threads wait for
//! the next call and leave after [`IDLE_EXIT`]. A call goes to an idle
//! thread, or to a new one when none is idle, never behind a busy thread: a
//! thread stuck in a hung call must not delay the calls after it, and there
//! is no cap (a cap full of stuck threads would stall every call on the
//! node, the healthy volumes' too). Callers keep from piling threads onto
//! one hung mount themselves: [`crate::sysmount`] does not ask again about
//! a path whose earlier statfs outlived its deadline and is still out, and
//! path checks use cached attributes. A job is only ever queued for a
//! thread that is about to take it, so it never runs long after its caller
//! gave up on it.

use std::collections::VecDeque;
use std::io;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long an idle thread waits for work before it ends.
pub const IDLE_EXIT: Duration = Duration::from_secs(30);

/// Every this many threads a warning is logged: calls are stuck.
pub const MANY_THREADS: usize = 256;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// An elastic set of threads; see the module documentation.
pub struct Workers {
    state: Mutex<State>,
    work: Condvar,
    idle_exit: Duration,
}

struct State {
    jobs: VecDeque<Job>,
    /// Threads waiting for a job. Every queued job is spoken for by one of
    /// them or by the thread started for it.
    idle: usize,
    threads: usize,
}

static GLOBAL: Workers = Workers::new(IDLE_EXIT);

impl Workers {
    pub const fn new(idle_exit: Duration) -> Workers {
        Workers {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                idle: 0,
                threads: 0,
            }),
            work: Condvar::new(),
            idle_exit,
        }
    }

    /// The process-wide set used by the driver.
    pub fn global() -> &'static Workers {
        &GLOBAL
    }

    /// Threads alive now (idle or busy).
    pub fn threads(&self) -> usize {
        self.lock().threads
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A job never runs under this lock, so a poisoned lock only means
        // a panic between two plain field updates; the counts stay usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `job` on an idle thread, or on a new one when none is free;
    /// an error (and `job` dropped) when no thread can be started.
    pub fn run(&'static self, job: Job) -> io::Result<()> {
        let mut st = self.lock();
        if st.idle > st.jobs.len() {
            st.jobs.push_back(job);
            drop(st);
            self.work.notify_one();
            return Ok(());
        }
        st.threads += 1;
        let threads = st.threads;
        drop(st);
        // Once per MANY_THREADS more, not once per thread.
        if threads >= MANY_THREADS && threads.is_multiple_of(MANY_THREADS) {
            tracing::warn!(
                threads,
                "many file system calls are stuck (hung FUSE mounts?)"
            );
        }
        let started = std::thread::Builder::new()
            .name("daos-csi-fsop".into())
            .spawn(move || self.serve(job));
        if let Err(e) = started {
            self.lock().threads -= 1;
            return Err(e);
        }
        Ok(())
    }

    fn serve(&self, first: Job) {
        let mut job = first;
        loop {
            // A panicking job drops its answer channel (the caller sees "no
            // result"); the thread lives on so its count stays right.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            match self.next_job() {
                Some(next) => job = next,
                None => return,
            }
        }
    }

    /// The next job; `None` once the thread has been idle long enough to
    /// end (its count is released then, under the lock).
    fn next_job(&self) -> Option<Job> {
        let mut st = self.lock();
        loop {
            if let Some(job) = st.jobs.pop_front() {
                return Some(job);
            }
            st.idle += 1;
            let (guard, wait) = self
                .work
                .wait_timeout(st, self.idle_exit)
                .unwrap_or_else(|p| p.into_inner());
            st = guard;
            st.idle -= 1;
            if wait.timed_out() && st.jobs.is_empty() {
                st.threads -= 1;
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Instant;

    fn leak(idle_exit: Duration) -> &'static Workers {
        Box::leak(Box::new(Workers::new(idle_exit)))
    }

    #[test]
    fn idle_threads_are_reused() {
        let w = leak(Duration::from_secs(30));
        for i in 0..50 {
            let (tx, rx) = mpsc::channel();
            w.run(Box::new(move || tx.send(i).unwrap_or(()))).unwrap();
            assert_eq!(rx.recv().unwrap(), i);
            // Let the thread get back to waiting before the next call.
            let deadline = Instant::now() + Duration::from_secs(5);
            while w.lock().idle == 0 && Instant::now() < deadline {
                std::thread::yield_now();
            }
        }
        assert_eq!(w.threads(), 1, "sequential calls should share one thread");
    }

    #[test]
    fn a_stuck_call_does_not_hold_up_the_next() {
        let w = leak(Duration::from_secs(30));
        let (release_tx, release_rx) = mpsc::channel::<()>();
        w.run(Box::new(move || {
            let _ = release_rx.recv();
        }))
        .unwrap();
        let (tx, rx) = mpsc::channel();
        w.run(Box::new(move || tx.send(()).unwrap_or(()))).unwrap();
        let answered = rx.recv_timeout(Duration::from_secs(5));
        release_tx.send(()).unwrap();
        assert!(answered.is_ok(), "the second call waited for the stuck one");
        assert_eq!(w.threads(), 2);
    }

    #[test]
    fn idle_threads_end() {
        let w = leak(Duration::from_millis(50));
        let (tx, rx) = mpsc::channel();
        w.run(Box::new(move || tx.send(()).unwrap_or(()))).unwrap();
        rx.recv().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while w.threads() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(w.threads(), 0);
        // And a call after that starts a fresh thread.
        let (tx, rx) = mpsc::channel();
        w.run(Box::new(move || tx.send(()).unwrap_or(()))).unwrap();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
    }

    #[test]
    fn stuck_calls_never_hold_up_new_ones() {
        // Far more stuck calls than any cap would allow: the next call still runs at once.
        let w = leak(Duration::from_secs(30));
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = std::sync::Arc::new(Mutex::new(release_rx));
        let stuck = 300;
        for _ in 0..stuck {
            let rx = release_rx.clone();
            w.run(Box::new(move || {
                let _ = rx.lock().map(|r| r.recv());
            }))
            .unwrap();
        }
        let (tx, rx) = mpsc::channel();
        w.run(Box::new(move || tx.send(()).unwrap_or(()))).unwrap();
        let answered = rx.recv_timeout(Duration::from_secs(5));
        for _ in 0..stuck {
            release_tx.send(()).unwrap();
        }
        assert!(
            answered.is_ok(),
            "a new call waited behind {stuck} stuck ones"
        );
        assert!(w.threads() > stuck);
    }

    #[test]
    fn a_panicking_call_leaves_the_thread_serving() {
        let w = leak(Duration::from_secs(30));
        w.run(Box::new(|| panic!("job panics"))).unwrap();
        let (tx, rx) = mpsc::channel();
        w.run(Box::new(move || tx.send(()).unwrap_or(()))).unwrap();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(w.threads() <= 2);
    }

    #[test]
    fn many_concurrent_calls_all_answer() {
        let w = leak(Duration::from_secs(30));
        let (tx, rx) = mpsc::channel();
        for i in 0..500 {
            let tx = tx.clone();
            w.run(Box::new(move || tx.send(i).unwrap_or(()))).unwrap();
        }
        drop(tx);
        let mut got: Vec<i32> = rx.iter().collect();
        got.sort();
        assert_eq!(got, (0..500).collect::<Vec<_>>());
    }
}
