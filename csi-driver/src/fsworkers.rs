//! Threads for file system calls that may never return.
//!
//! A `stat`, `statfs` or `umount` on a FUSE mount whose daemon hangs blocks
//! in the kernel and cannot be cancelled. Such calls run here, off the async
//! runtime, so that a hung call costs one thread and never a runtime or
//! blocking-pool thread.
//!
//! Starting a thread per call costs tens of microseconds, a large share of a
//! NodePublishVolume that makes several such calls; so idle threads wait for
//! the next call and leave after [`IDLE_EXIT`]. A call is handed only to a
//! thread that is idle, or to a new one, never queued behind a busy thread:
//! a thread stuck in a hung call must not delay the calls after it.

use std::collections::VecDeque;
use std::io;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// How long an idle thread waits for work before it ends.
pub const IDLE_EXIT: Duration = Duration::from_secs(30);

/// More threads than this busy at once means that many calls are stuck in
/// the kernel; starting more would only pile up hung threads.
pub const MAX_THREADS: usize = 256;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// An elastic set of threads; see the module documentation.
pub struct Workers {
    state: Mutex<State>,
    work: Condvar,
    idle_exit: Duration,
    max_threads: usize,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// Threads waiting for work and not yet promised a job. A job pushed
    /// while this is positive takes one of them (the count drops at once,
    /// under the same lock), so every queued job has a thread of its own.
    unclaimed_idle: usize,
    threads: usize,
}

impl Workers {
    pub const fn new(idle_exit: Duration, max_threads: usize) -> Workers {
        Workers {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                unclaimed_idle: 0,
                threads: 0,
            }),
            work: Condvar::new(),
            idle_exit,
            max_threads,
        }
    }

    /// The process-wide set used by the driver.
    pub fn global() -> &'static Workers {
        static GLOBAL: OnceLock<Workers> = OnceLock::new();
        GLOBAL.get_or_init(|| Workers::new(IDLE_EXIT, MAX_THREADS))
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

    /// Runs `job` on an idle thread, or on a new one when none is idle.
    pub fn run(&'static self, job: Job) -> io::Result<()> {
        let mut st = self.lock();
        if st.unclaimed_idle > 0 {
            st.unclaimed_idle -= 1;
            st.jobs.push_back(job);
            drop(st);
            self.work.notify_one();
            return Ok(());
        }
        if st.threads >= self.max_threads {
            return Err(io::Error::other(format!(
                "{} file system calls are already running or stuck; refusing to start another thread",
                st.threads
            )));
        }
        st.threads += 1;
        drop(st);
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

    /// Waits for a job; `None` once the thread has been idle long enough to
    /// end (its count is released then, under the lock).
    fn next_job(&self) -> Option<Job> {
        let mut st = self.lock();
        st.unclaimed_idle += 1;
        loop {
            if let Some(job) = st.jobs.pop_front() {
                return Some(job);
            }
            let (guard, wait) = self
                .work
                .wait_timeout(st, self.idle_exit)
                .unwrap_or_else(|p| p.into_inner());
            st = guard;
            if wait.timed_out() && st.jobs.is_empty() {
                // Still counted as unclaimed (a claim always comes with a
                // queued job), so this thread takes its own count away.
                st.unclaimed_idle -= 1;
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

    fn leak(idle_exit: Duration, max: usize) -> &'static Workers {
        Box::leak(Box::new(Workers::new(idle_exit, max)))
    }

    #[test]
    fn idle_threads_are_reused() {
        let w = leak(Duration::from_secs(30), 8);
        for i in 0..50 {
            let (tx, rx) = mpsc::channel();
            w.run(Box::new(move || tx.send(i).unwrap_or(()))).unwrap();
            assert_eq!(rx.recv().unwrap(), i);
            // Let the thread get back to waiting before the next call.
            let deadline = Instant::now() + Duration::from_secs(5);
            while w.lock().unclaimed_idle == 0 && Instant::now() < deadline {
                std::thread::yield_now();
            }
        }
        assert_eq!(w.threads(), 1, "sequential calls should share one thread");
    }

    #[test]
    fn a_stuck_call_does_not_hold_up_the_next() {
        let w = leak(Duration::from_secs(30), 8);
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
        let w = leak(Duration::from_millis(50), 8);
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
    fn the_thread_cap_refuses_instead_of_piling_up() {
        let w = leak(Duration::from_secs(30), 2);
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = std::sync::Arc::new(Mutex::new(release_rx));
        for _ in 0..2 {
            let rx = release_rx.clone();
            w.run(Box::new(move || {
                let _ = rx.lock().map(|r| r.recv());
            }))
            .unwrap();
        }
        let refused = w.run(Box::new(|| {}));
        release_tx.send(()).unwrap();
        release_tx.send(()).unwrap();
        let err = refused.expect_err("a third thread started past the cap of 2");
        assert!(
            err.to_string().contains("already running or stuck"),
            "{err}"
        );
    }

    #[test]
    fn a_panicking_call_leaves_the_thread_serving() {
        let w = leak(Duration::from_secs(30), 8);
        w.run(Box::new(|| panic!("job panics"))).unwrap();
        let (tx, rx) = mpsc::channel();
        w.run(Box::new(move || tx.send(()).unwrap_or(()))).unwrap();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(w.threads() <= 2);
    }

    #[test]
    fn many_concurrent_calls_all_answer() {
        let w = leak(Duration::from_secs(30), 1_000);
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
