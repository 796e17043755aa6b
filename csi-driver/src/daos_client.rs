//! The driver's handle on libdaos: lazy initialisation (retried until the
//! agent answers), cached pool connections (reconnected after handle
//! errors), and every blocking DAOS call moved off the async runtime.
//!
//! Every DAOS operation of the driver goes through here, so this is where
//! they are counted (`daos_csi_daos_calls_total{operation,code}`): one count
//! per operation (which may be several libdaos calls), with the DER name of
//! the call that failed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use daos::{Daos, Der, Pool, PoolAccess};
use tokio::sync::OnceCell;

use crate::volume::{EntityName, SystemName};

pub struct DaosClient {
    daos: OnceCell<Arc<Daos>>,
    pools: Mutex<HashMap<(String, String), Pool>>,
    agent_socket: PathBuf,
}

/// Handle errors after which a cached pool connection is not worth keeping.
fn stale_handle(err: &daos::Error) -> bool {
    matches!(
        err.der(),
        Some(Der::NoHdl) | Some(Der::Stale) | Some(Der::Excluded)
    ) || err.is_unavailable()
}

impl DaosClient {
    pub fn new(agent_socket: PathBuf) -> Arc<DaosClient> {
        Arc::new(DaosClient {
            daos: OnceCell::new(),
            pools: Mutex::new(HashMap::new()),
            agent_socket,
        })
    }

    /// The library guard; `daos_init` is tried again on every call until it
    /// succeeds once (the agent may start after the driver).
    pub async fn daos(&self) -> Result<Arc<Daos>, daos::Error> {
        self.daos
            .get_or_try_init(|| async {
                let daos = tokio::task::spawn_blocking(Daos::init)
                    .await
                    .map_err(|e| {
                        daos::Error::invalid(
                            "DaosClient::daos",
                            format!("the daos_init task failed: {e}"),
                        )
                    })
                    .and_then(|r| r);
                crate::metrics::global().daos_call("init", &daos);
                let daos = daos?;
                tracing::info!("libdaos initialised");
                Ok(daos)
            })
            .await
            .cloned()
    }

    pub fn is_initialised(&self) -> bool {
        self.daos.initialized()
    }

    /// Whether the agent socket accepts a connection right now.
    pub async fn agent_reachable(&self) -> bool {
        agent_accepts(&self.agent_socket).await
    }

    /// Runs `f` (DAOS operation `operation`, a metrics label) with a
    /// read-write connection to `pool` on a blocking thread. The connection
    /// is cached; after a stale-handle error it is dropped and `f` is tried
    /// once more on a fresh connection.
    pub async fn with_pool<T, F>(
        &self,
        operation: &'static str,
        system: &SystemName,
        pool: &EntityName,
        f: F,
    ) -> Result<T, daos::Error>
    where
        T: Send + 'static,
        F: Fn(&Pool) -> Result<T, daos::Error> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let key = (system.as_str().to_string(), pool.to_string());
        let mut last_err = None;
        for attempt in 0..2 {
            let pool = self.pool(system, pool, &key).await?;
            let f = Arc::clone(&f);
            let result = tokio::task::spawn_blocking(move || f(&pool))
                .await
                .map_err(|e| {
                    daos::Error::invalid(
                        "DaosClient::with_pool",
                        format!("the worker task failed: {e}"),
                    )
                })
                .and_then(|r| r);
            crate::metrics::global().daos_call(operation, &result);
            match result {
                Err(e) if stale_handle(&e) => {
                    tracing::warn!(pool = %key.1, attempt, error = %e, "dropping cached pool connection");
                    self.forget(&key);
                    last_err = Some(e);
                }
                other => return other,
            }
        }
        Err(last_err.unwrap_or_else(|| daos::Error::from_der("daos_pool_connect2", Der::NoHdl)))
    }

    fn forget(&self, key: &(String, String)) {
        self.pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    async fn pool(
        &self,
        system: &SystemName,
        pool: &EntityName,
        key: &(String, String),
    ) -> Result<Pool, daos::Error> {
        if let Some(p) = self
            .pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return Ok(p.clone());
        }
        let daos = self.daos().await?;
        let name = pool.to_string();
        let sys = system.for_daos().map(str::to_string);
        let connected = tokio::task::spawn_blocking(move || {
            Pool::connect(&daos, &name, sys.as_deref(), PoolAccess::ReadWrite)
        })
        .await
        .map_err(|e| {
            daos::Error::invalid(
                "DaosClient::pool",
                format!("the pool connect task failed: {e}"),
            )
        })
        .and_then(|r| r);
        crate::metrics::global().daos_call("pool_connect", &connected);
        let connected = match connected {
            Err(e) if e.is_not_found() => return Err(self.not_found_or_agent_gone(e).await),
            other => other?,
        };
        self.pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone(), connected.clone());
        Ok(connected)
    }

    /// libdaos asks the agent for credentials at every pool connect and
    /// maps a missing agent socket (an agent stopped cleanly) to
    /// `-DER_NONEXIST`, the same code as a missing pool. Callers treat a
    /// missing pool as "the volume is gone", so a not-found while the agent
    /// does not answer must become "unavailable" (retried), never "gone".
    async fn not_found_or_agent_gone(&self, err: daos::Error) -> daos::Error {
        if self.agent_reachable().await {
            return err;
        }
        tracing::warn!(agent_socket = %self.agent_socket.display(), error = %err,
            "pool connect said not found while the agent is unreachable; treating the agent as down");
        daos::Error::from_der("daos_pool_connect2", Der::AgentComm).with_context(format!(
            "pool connect failed with {} and the DAOS agent socket {} accepts no connection",
            err.name(),
            self.agent_socket.display()
        ))
    }

    /// The UUID a pool label names now: the cached connection is dropped
    /// first, since the label may name another pool since it was made.
    pub async fn pool_uuid_fresh(
        &self,
        system: &SystemName,
        pool: &EntityName,
    ) -> Result<uuid::Uuid, daos::Error> {
        if let Some(uuid) = pool.uuid() {
            return Ok(uuid);
        }
        self.forget(&(system.as_str().to_string(), pool.to_string()));
        self.pool_uuid(system, pool).await
    }

    /// The UUID of `pool` (a label or a UUID), through the cached
    /// connection.
    pub async fn pool_uuid(
        &self,
        system: &SystemName,
        pool: &EntityName,
    ) -> Result<uuid::Uuid, daos::Error> {
        let key = (system.as_str().to_string(), pool.to_string());
        Ok(self.pool(system, pool, &key).await?.uuid())
    }
}

/// Whether the DAOS agent socket at `socket` accepts a connection within
/// two seconds (a listening agent answers at once).
pub async fn agent_accepts(socket: &std::path::Path) -> bool {
    let connect = tokio::net::UnixStream::connect(socket);
    matches!(
        tokio::time::timeout(Duration::from_secs(2), connect).await,
        Ok(Ok(_))
    )
}
