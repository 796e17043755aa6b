//! Per-volume and per-path operation locks.
//!
//! The CO should send one call per volume at a time but may not (restarts,
//! lost state). A second call for a key that is busy gets ABORTED at once
//! (the spec's "operation pending for volume"); the caller retries with
//! back-off. Guards release their keys on drop, including on early return.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use tonic::Status;

#[derive(Debug, Default)]
pub struct OpLocks {
    busy: Mutex<HashSet<String>>,
}

/// Holds a set of keys until dropped.
#[derive(Debug)]
pub struct OpGuard {
    locks: Arc<OpLocks>,
    keys: Vec<String>,
}

impl OpLocks {
    pub fn new() -> Arc<OpLocks> {
        Arc::new(OpLocks::default())
    }

    /// Takes every key or none of them.
    pub fn try_lock(self: &Arc<Self>, keys: &[&str]) -> Result<OpGuard, Status> {
        let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(k) = keys.iter().find(|k| busy.contains(**k)) {
            return Err(Status::aborted(format!(
                "an operation on {k} is already in progress; retry later"
            )));
        }
        let mut taken = Vec::with_capacity(keys.len());
        for k in keys {
            // The same key twice in one request is one key.
            if busy.insert((*k).to_string()) {
                taken.push((*k).to_string());
            }
        }
        Ok(OpGuard {
            locks: Arc::clone(self),
            keys: taken,
        })
    }
}

impl Drop for OpGuard {
    fn drop(&mut self) {
        let mut busy = self
            .locks
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for k in &self.keys {
            busy.remove(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn conflicting_call_is_aborted_until_release() {
        let locks = OpLocks::new();
        let g = locks.try_lock(&["vol-1", "/t/1"]).unwrap();
        let err = locks.try_lock(&["vol-1"]).unwrap_err();
        assert_eq!(err.code(), Code::Aborted);
        assert!(err.message().contains("vol-1"));
        assert_eq!(locks.try_lock(&["/t/1"]).unwrap_err().code(), Code::Aborted);
        // Unrelated keys proceed.
        let _other = locks.try_lock(&["vol-2"]).unwrap();
        drop(g);
        locks.try_lock(&["vol-1", "/t/1"]).unwrap();
    }

    #[test]
    fn all_or_nothing() {
        let locks = OpLocks::new();
        let _g = locks.try_lock(&["b"]).unwrap();
        assert!(locks.try_lock(&["a", "b"]).is_err());
        // "a" must not have been left taken by the failed attempt.
        locks.try_lock(&["a"]).unwrap();
    }

    #[test]
    fn duplicate_keys_in_one_request() {
        let locks = OpLocks::new();
        let g = locks.try_lock(&["x", "x"]).unwrap();
        drop(g);
        locks.try_lock(&["x"]).unwrap();
    }
}
