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

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use crate::error::{Der, Error, Result, check_rc};

/// The variable libdaos reads the agent's socket directory from (`DAOS_AGENT_DRPC_DIR_ENV`
/// in `src/include/daos/agent.h`).
pub const AGENT_DIR_ENV: &str = "DAOS_AGENT_DRPC_DIR";

/// The agent's socket directory when [`AGENT_DIR_ENV`] is unset (`DAOS_AGENT_DRPC_DIR` in
/// `src/include/daos/agent.h`).
pub const DEFAULT_AGENT_DIR: &str = "/var/run/daos_agent";

/// The socket file name in that directory (`DAOS_AGENT_DRPC_SOCK_NAME`).
pub const AGENT_SOCKET_NAME: &str = "daos_agent.sock";

/// Where libdaos will look for the agent, and why there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSocket {
    /// `$DAOS_AGENT_DRPC_DIR/daos_agent.sock`, or the default path.
    pub path: PathBuf,
    /// Whether the path came from `DAOS_AGENT_DRPC_DIR` (else it is the default).
    pub from_env: bool,
}

impl AgentSocket {
    /// The socket path as libdaos computes it at `daos_init` (`dc_agent_init` in
    /// `src/client/api/agent.c`): `$DAOS_AGENT_DRPC_DIR/daos_agent.sock` if the variable is
    /// set, else `/var/run/daos_agent/daos_agent.sock`.
    pub fn from_env() -> AgentSocket {
        match std::env::var_os(AGENT_DIR_ENV) {
            Some(dir) => AgentSocket {
                path: Path::new(&dir).join(AGENT_SOCKET_NAME),
                from_env: true,
            },
            None => AgentSocket {
                path: Path::new(DEFAULT_AGENT_DIR).join(AGENT_SOCKET_NAME),
                from_env: false,
            },
        }
    }

    /// What is wrong with the agent, for an error message: the socket is missing, or it is
    /// there and refused us; names the path and where it came from.
    pub fn explain(&self) -> String {
        let origin = if self.from_env {
            format!("{AGENT_DIR_ENV} points there")
        } else {
            format!("that is the default, set {AGENT_DIR_ENV} to the agent's socket directory")
        };
        let problem = if self.path.exists() {
            "refused the connection"
        } else {
            "does not exist"
        };
        format!(
            "DAOS agent socket {:?} {problem}; {origin}; is daos_agent running?",
            self.path
        )
    }
}

/// Whether `err` is libdaos saying it could not talk to the agent: `DER_AGENT_COMM` for a
/// missing socket, `DER_MISC` from calls that talk to nothing but the agent
/// (`dc_mgmt_sys_attach` and `get_attach_info` in `src/mgmt/cli_mgmt.c`).
pub(crate) fn is_agent_failure(err: &Error) -> bool {
    err.is_from_daos()
        && (err.der() == Some(Der::AgentComm)
            || (err.der() == Some(Der::Misc) && err.is_unavailable()))
}

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
    /// Where libdaos looks for the agent: it reads the directory once, at the first init.
    agent: AgentSocket,
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
        let agent = AgentSocket::from_env();
        // SAFETY: daos_init has no preconditions; it is reference-counted and thread-safe.
        check_rc("daos_init", unsafe { daos_sys::daos_init() }).map_err(|e| {
            if is_agent_failure(&e) {
                e.with_context(agent.explain())
            } else {
                e
            }
        })?;
        // dfs_init takes its own reference on libdaos; calling daos_init first keeps the DER
        // code of an agent failure, which dfs_init would turn into an errno.
        // SAFETY: as above, after a successful daos_init.
        let rc = unsafe { daos_sys::dfs_init() };
        if rc != 0 {
            // SAFETY: balances the daos_init above.
            unsafe { daos_sys::daos_fini() };
            return Err(Error::from_errno("dfs_init", rc));
        }
        let daos = Arc::new(Daos { agent });
        *instance = Arc::downgrade(&daos);
        Ok(daos)
    }

    /// Where libdaos talks to the DAOS agent, as read when this instance was initialised.
    pub fn agent_socket(&self) -> &AgentSocket {
        &self.agent
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
