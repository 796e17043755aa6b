//! Library initialisation: the [`Daos`] guard.
//!
//! libdaos must be initialised (`daos_init`) before any other call and finalised
//! (`daos_fini`) after the last handle is gone. Both are reference-counted inside libdaos;
//! this module adds the Rust side of that contract: one [`Daos`] value per process, shared as
//! `Arc<Daos>`, that every pool, container and event queue keeps alive. Dropping the last
//! `Arc` calls `dfs_fini` and `daos_fini`.
//!
//! The first `daos_init` asks the DAOS agent for the system's network configuration, through
//! the unix socket `$DAOS_AGENT_DRPC_DIR/daos_agent.sock` (default
//! `/var/run/daos_agent/daos_agent.sock`). libdaos reads `DAOS_AGENT_DRPC_DIR` once, at that
//! first successful init; set it before calling [`Daos::init`]. If the agent is not reachable,
//! `init` fails with an error for which [`Error::is_unavailable`](crate::Error::is_unavailable)
//! is true (`DER_AGENT_COMM` when the socket is missing, `DER_MISC` when nothing listens on it),
//! and a later call tries again from scratch, so a service can simply retry with backoff
//! while the agent starts.

use std::sync::{Arc, Mutex, Weak};

use crate::error::{Error, Result, check_rc};

/// The live library instance, if any. The mutex also serialises init against the fini of a
/// concurrently dropped instance.
static INSTANCE: Mutex<Weak<Daos>> = Mutex::new(Weak::new());

/// Proof that libdaos and libdfs are initialised; finalises them when the last `Arc` drops.
///
/// ```no_run
/// let daos = daos::Daos::init()?;
/// let again = daos::Daos::init()?; // the same instance
/// assert!(std::sync::Arc::ptr_eq(&daos, &again));
/// # Ok::<(), daos::Error>(())
/// ```
#[derive(Debug)]
pub struct Daos {
    _private: (),
}

impl Daos {
    /// Initialises libdaos and libdfs, or returns the instance that already exists.
    ///
    /// Safe to call from several threads. After a failure nothing stays initialised and the
    /// next call starts over (the agent may have come up in between).
    pub fn init() -> Result<Arc<Daos>> {
        let mut instance = INSTANCE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(daos) = instance.upgrade() {
            return Ok(daos);
        }
        // SAFETY: daos_init has no preconditions; it is reference-counted and thread-safe.
        check_rc("daos_init", unsafe { daos_sys::daos_init() })?;
        // dfs_init takes its own reference on libdaos; calling daos_init first keeps the DER
        // code of an agent failure, which dfs_init would turn into an errno.
        // SAFETY: as above, after a successful daos_init.
        let rc = unsafe { daos_sys::dfs_init() };
        if rc != 0 {
            // SAFETY: balances the daos_init above.
            unsafe { daos_sys::daos_fini() };
            return Err(Error::from_errno("dfs_init", rc));
        }
        let daos = Arc::new(Daos { _private: () });
        *instance = Arc::downgrade(&daos);
        Ok(daos)
    }

    /// The DAOS API this crate was built for: `"2.6"` or `"2.8"`.
    pub const fn api_version() -> &'static str {
        if cfg!(daos_api_2_6) { "2.6" } else { "2.8" }
    }
}

impl Drop for Daos {
    fn drop(&mut self) {
        let _instance = INSTANCE.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: every pool, container, DFS mount and event queue holds an Arc<Daos>, so none
        // is left when the last one drops; this balances the init calls.
        let dfs_rc = unsafe { daos_sys::dfs_fini() };
        if dfs_rc != 0 {
            tracing::warn!(error = %Error::from_errno("dfs_fini", dfs_rc), "DAOS shutdown");
        }
        // SAFETY: as above.
        let rc = unsafe { daos_sys::daos_fini() };
        if rc != 0 {
            tracing::warn!(error = %Error::from_rc("daos_fini", rc), "DAOS shutdown");
        }
    }
}
