//! End-to-end tests of the `daos-csi` binary: the driver's real processes, driven over CSI
//! gRPC on a unix socket as kubelet and external-provisioner drive them, against a private
//! emulated DAOS system per test (or the real pool named by DAOS_TEST_POOL).
//!
//! Build the driver and the emulator programs into the same target dir first:
//! `cargo build -p daos-csi --features emulator && cargo build -p daos-emulator`.

mod agent_down;
mod create_crash;
mod delete_guard;
mod dfuse_killed;
mod ephemeral;
mod expand;
mod graceful;
mod idempotency;
mod identity;
mod lifecycle;
mod metrics;
mod policy;
mod restart;
mod restore;
mod review_fixes;
mod scale;
mod snapshots;
mod validation;
