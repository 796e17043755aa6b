//! Safe Rust bindings to the DAOS client libraries: libdaos (pools, containers, properties,
//! attributes, snapshots, event queues), libdfs (POSIX containers) and libduns (namespace
//! links), over the raw declarations of the `daos-sys` crate.
//!
//! **Getting started:** the crate [README](https://github.com/daos-csi/daos-csi/blob/main/daos/README.md)
//! shows how to run the examples (`list_containers`, `posix_files`, `async_bulk_create` in
//! `examples/`) against the DAOS emulator of this repository, without a DAOS system: build
//! with the `emulator` feature, start the emulated `daos_agent`, create a pool with the emulated
//! `dmg`, and point `DAOS_AGENT_DRPC_DIR` at the agent. It also compares this crate with the
//! other DAOS bindings and states the stability policy (semver, MSRV, DAOS 2.6 and 2.8).
//!
//! # Shape
//!
//! One module per DAOS concept, one owned value per DAOS handle:
//!
//! | module | type | DAOS |
//! | --- | --- | --- |
//! | [`init`] | [`Daos`] | `daos_init`/`dfs_init` … `dfs_fini`/`daos_fini` |
//! | [`pool`] | [`Pool`] | pool handle: connect, query, list/create/destroy/open containers |
//! | [`container`] | [`Container`] | container handle: query, properties, close |
//! | [`attr`] | methods of [`Container`] | user attributes |
//! | [`snapshot`] | [`Epoch`], [`Snapshot`] | snapshots, named through attributes |
//! | [`object`] | [`Object`], [`ObjectId`], [`Extents`] | objects: keys, single values, arrays, OID allocation |
//! | [`tx`] | [`Transaction`], [`Tx`] | transactions and snapshot readers |
//! | [`oit`] | [`ObjectIndex`] | object index tables of snapshots |
//! | [`prop`] | [`Properties`] | `daos_prop_t` |
//! | [`acl`] | [`Acl`] | `struct daos_acl`, ACE strings |
//! | [`dfs`] | [`Dfs`], [`File`], [`ReadDir`], [`PosixContainerSpec`] | `dfs_t`, `dfs_obj_t`, POSIX containers |
//! | [`duns`] | functions | unified namespace paths |
//! | [`eq`] | [`EventQueue`], [`OpFuture`] | event queues: asynchronous operations |
//! | [`error`] | [`Error`], [`Der`] | DER codes and errnos |
//! | [`reference`](mod@reference) | [`ContainerRef`], [`PoolRef`] | arguments naming a pool or container |
//! | [`label`], [`uuid`] | helpers | label rules, label-or-UUID references |
//!
//! Handles are released in `Drop` in the order libdaos needs (DFS unmount, container close,
//! pool disconnect, `daos_fini`), because each value holds what it depends on: a
//! [`Container`] holds its [`Pool`], every handle holds the [`Daos`] guard, and a [`Dfs`]
//! mount holds its container. `Pool` and `Container` are `Clone` (an `Arc` inside) and
//! `Send + Sync`, like the libdaos handles behind them, so they can be shared across threads
//! and moved into `'static` futures. See [`pool`] for why this crate uses `Arc`s where git2
//! uses lifetimes.
//!
//! Nothing in this crate panics across the FFI boundary: it exports no callbacks, and the
//! completion work its event-queue poller does is guarded with `catch_unwind`.
//!
//! # Errors
//!
//! Every fallible call returns [`Result`]. An [`Error`] keeps the code the C library returned
//! (negative DER from libdaos, positive errno from libdfs/libduns), its name, the C function
//! and what it was applied to, and answers the questions callers branch on:
//! [`is_not_found`](Error::is_not_found), [`is_exists`](Error::is_exists),
//! [`is_busy`](Error::is_busy), [`is_no_permission`](Error::is_no_permission),
//! [`is_no_space`](Error::is_no_space), [`is_invalid`](Error::is_invalid),
//! [`is_unavailable`](Error::is_unavailable).
//!
//! # Finding the DAOS system
//!
//! libdaos talks to the local DAOS agent through `$DAOS_AGENT_DRPC_DIR/daos_agent.sock`
//! (default `/var/run/daos_agent/daos_agent.sock`), read once at the first [`Daos::init`].
//! Logging goes through DAOS' own variables (`D_LOG_FILE`, `D_LOG_MASK`); a long-running
//! process should set `D_POLL_TIMEOUT` (µs) so blocked calls do not busy-poll.
//!
//! # Example
//!
//! ```no_run
//! use daos::{ContainerAccess, Daos, Destroy, Pool, PoolAccess, PosixContainerSpec, Properties};
//!
//! let daos = Daos::init()?;
//! let pool = Pool::connect(&daos, "tank", None, PoolAccess::ReadWrite)?;
//!
//! let mut spec = PosixContainerSpec::new("vol-1");
//! spec.properties = Properties::from_pairs(&[("rd_fac", "0")])?;
//! match pool.create_posix_container(&spec) {
//!     Ok(uuid) => println!("created {uuid}"),
//!     Err(e) if e.is_exists() => println!("already there"),
//!     Err(e) => return Err(e),
//! }
//!
//! let cont = pool.open_container("vol-1", ContainerAccess::ReadWrite)?;
//! cont.set_attrs(&[("requested-bytes", b"1073741824")])?;
//! let snap = cont.create_named_snapshot("nightly")?;
//! println!("snapshot {snap}, {} snapshots", cont.query()?.nsnapshots);
//! drop(cont);
//! pool.destroy_container("vol-1", Destroy::Force)?;
//! # Ok::<(), daos::Error>(())
//! ```
//!
//! Asynchronous forms go through an [`EventQueue`]; see [`eq`] for what a dropped future does
//! and for [`EventQueue::close`].

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

// With `emulator`, the emulator exports the libdaos/libdfs/libduns symbols daos-sys declares;
// naming the crate is what links it in.
#[cfg(feature = "emulator")]
extern crate daos_emulator as _;

pub mod acl;
pub mod attr;
pub mod container;
pub mod dfs;
pub mod duns;
pub mod eq;
pub mod error;
pub mod init;
pub mod label;
pub mod object;
pub mod oit;
pub mod pool;
pub mod prop;
pub mod reference;
pub mod snapshot;
pub mod tx;
pub mod uuid;

pub use crate::uuid::Uuid;
pub use acl::{Ace, Acl};
pub use container::{Container, ContainerAccess, ContainerInfo};
pub use dfs::Dfs;
pub use dfs::{
    CopyOptions, CopyProgress, DfsAttributes, DirEntry, File, FileStat, FileType, FsUsage,
    ObjectCopyOptions, OpenOptions, PosixContainerSpec, ReadDir, SetAttributes,
    copy_snapshot_objects, copy_tree, object_copy_properties,
};
pub use eq::{EventQueue, OpFuture};
pub use error::{Der, Error, Result};
pub use init::Daos;
pub use object::{
    Anchor, Cond, Extents, MaxRecord, Object, ObjectAccess, ObjectClass, ObjectId, ObjectType,
    Recx, ValueKind,
};
pub use oit::ObjectIndex;
pub use pool::{ContainerEntry, Destroy, Pool, PoolAccess, PoolInfo, RebuildState};
pub use prop::{PropType, PropValue, Properties};
pub use reference::{ContainerRef, PoolRef};
pub use snapshot::{Epoch, Snapshot};
pub use tx::{Transaction, Tx};

/// The raw bindings this crate is built on, for calls it does not wrap.
pub use daos_sys as sys;

/// Compiles the README's Rust example as a doctest, so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(test)]
mod send_sync {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn handles_are_thread_safe() {
        assert_send_sync::<Daos>();
        assert_send_sync::<Pool>();
        assert_send_sync::<Container>();
        assert_send_sync::<Dfs>();
        assert_send_sync::<dfs::File>();
        assert_send_sync::<dfs::ReadDir>();
        assert_send_sync::<EventQueue>();
        assert_send_sync::<Error>();
        assert_send_sync::<Properties>();
        assert_send_sync::<Object>();
        assert_send_sync::<Transaction>();
        assert_send_sync::<ObjectIndex>();
        fn assert_send<T: Send>() {}
        assert_send::<OpFuture<Pool>>();
    }
}
