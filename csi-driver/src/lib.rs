//! daos-csi: a Kubernetes CSI driver for DAOS.
//!
//! Each volume is one DAOS POSIX container, managed in-process through the
//! `daos` crate (libdaos/libdfs); the only program the driver runs is dfuse,
//! and only from the mounter role. See `server::run` for how the roles are
//! wired together.

pub mod config;
pub mod containers;
pub mod controller;
pub mod copies;
pub mod daos_client;
pub mod errors;
pub mod fsworkers;
pub mod identity;
pub mod locks;
pub mod metrics;
pub mod mounter;
pub mod mountinfo;
pub mod node;
pub mod paths;
pub mod policy;
pub mod server;
pub mod snapshots;
pub mod sysmount;
pub mod volume;
