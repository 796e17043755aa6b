//! Helpers shared by the end-to-end tests of the `daos-csi` binary.
//!
//! The tests act as kubelet and external-provisioner: they start the real driver binary
//! (controller, node and mounter roles) on a unix socket, talk CSI gRPC to it, and look at the
//! result the way an operator would: `/proc/self/mountinfo`, the files under the mounts, the
//! dfuse processes. Everything a test creates lives in its own temporary directory and its own
//! DAOS system (an emulated one per test, or the real pool named by `DAOS_TEST_POOL`).

pub mod cluster;
pub mod data;
pub mod driver;
pub mod kubelet;
pub mod mounts;
pub mod procs;
pub mod rpc;
pub mod system;
pub mod tree;

pub use cluster::{Cluster, ClusterConfig, Layout};
pub use kubelet::{Kubelet, sha256_hex};
pub use mounts::{is_mounted, mounts_at};
pub use rpc::*;
pub use system::{DaosSystem, daos_system, emulator_only_or_skip, privileged_or_skip};

use std::future::Future;
use std::time::Duration;

/// Runs a test body with a deadline, so a wedged RPC or mount fails the test instead of hanging
/// the whole suite.
pub async fn within<T>(limit: Duration, what: &str, body: impl Future<Output = T>) -> T {
    // Pinned here rather than moved into the timeout, so on expiry the body (and the Cluster
    // in it) is dropped while this panic unwinds, and the driver logs get printed.
    let mut body = std::pin::pin!(body);
    match tokio::time::timeout(limit, body.as_mut()).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// Polls `check` until it returns true or `limit` passes; returns the last answer.
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    loop {
        if check() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Calls `call` again, `pause` apart, while it fails with a status `retriable` accepts and
/// `limit` has not passed, as the sidecars retry answers such as ABORTED ("in progress");
/// returns the first other answer, or the last one.
pub async fn retry_while<T, F, Fut>(
    limit: Duration,
    pause: Duration,
    retriable: impl Fn(&tonic::Status) -> bool,
    mut call: F,
) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        match call().await {
            Err(s) if retriable(&s) && std::time::Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
            }
            other => return other,
        }
    }
}
