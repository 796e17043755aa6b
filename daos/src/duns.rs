//! The DAOS unified namespace (`daos_uns.h`, libduns): paths that stand for containers.
//!
//! A UNS entry is a directory carrying the extended attribute `user.daos` with the value
//! `DAOS.<layout>://<pool uuid>/<container uuid>`. [`resolve_path`] reads it back (or parses a
//! `daos://pool/container/rest` path without touching the file system); [`link_container`]
//! makes a directory for an existing container. Errors are errnos: `ENODATA` (or `ENOTSUP`)
//! for a path that is not a UNS entry, `ENOTCONN` for a dead FUSE mount on the way.
//!
//! ```no_run
//! # fn demo(pool: &daos::Pool) -> daos::Result<()> {
//! daos::duns::link_container(pool, "vol-1", "/mnt/links/vol-1")?;
//! let attr = daos::duns::resolve_path("/mnt/links/vol-1")?;
//! println!("pool {} container {}", attr.pool, attr.container);
//! # Ok(()) }
//! ```

use std::ffi::CStr;

use crate::error::{Result, check_errno};
use crate::pool::{Pool, c_string};
use crate::reference::ContainerRef;

/// What a UNS path resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DunsAttr {
    /// Pool UUID (or label, for a `daos://` path).
    pub pool: String,
    /// Container UUID (or label, for a `daos://` path).
    pub container: String,
    /// Container layout type (`DAOS_PROP_CO_LAYOUT_*`: 1 POSIX, 2 HDF5, ...).
    pub layout: u16,
    /// DAOS system name, if the entry names one.
    pub system: Option<String>,
    /// Rest of the path below the container, for paths that go deeper than the entry.
    pub rel_path: Option<String>,
    /// Whether the entry is on Lustre.
    pub on_lustre: bool,
}

/// Flags for [`resolve_path_with_flags`] (`DUNS_*`).
pub mod flags {
    /// The path is `/pool/container/...` without the `daos://` prefix.
    pub const NO_PREFIX: u32 = daos_sys::DUNS_NO_PREFIX;
    /// Look at the last path component only, not its parents.
    pub const NO_REVERSE_LOOKUP: u32 = daos_sys::DUNS_NO_REVERSE_LOOKUP;
    /// Treat the path as `/pool/container/rest` without checking the file system.
    pub const NO_CHECK_PATH: u32 = daos_sys::DUNS_NO_CHECK_PATH;
}

fn text(chars: &[std::ffi::c_char]) -> String {
    // SAFETY: a fixed char array viewed as bytes; CStr stops at its NUL or the array end.
    let bytes: &[u8] =
        unsafe { std::slice::from_raw_parts(chars.as_ptr() as *const u8, chars.len()) };
    CStr::from_bytes_until_nul(bytes)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned())
}

fn optional_text(p: *const std::ffi::c_char) -> Option<String> {
    // SAFETY: libduns sets these to NULL or to NUL-terminated strings it allocated.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// Resolves a UNS path (`duns_resolve_path`).
pub fn resolve_path(path: &str) -> Result<DunsAttr> {
    resolve_path_with_flags(path, 0)
}

/// [`resolve_path`] with [`flags`].
pub fn resolve_path_with_flags(path: &str, flags: u32) -> Result<DunsAttr> {
    const OP: &str = "duns_resolve_path";
    let c_path = c_string("duns::resolve_path", "path", path)?;
    let mut attr = daos_sys::duns_attr_t {
        da_flags: flags,
        ..Default::default()
    };
    // SAFETY: valid path and zero-initialised attribute structure.
    let rc = unsafe { daos_sys::duns_resolve_path(c_path.as_ptr(), &mut attr) };
    check_errno(OP, rc).map_err(|e| e.with_context(format!("path {path:?}")))?;
    let resolved = DunsAttr {
        pool: text(&attr.da_pool),
        container: text(&attr.da_cont),
        layout: attr.da_type,
        system: optional_text(attr.da_sys),
        rel_path: optional_text(attr.da_rel_path),
        on_lustre: attr.da_on_lustre,
    };
    // SAFETY: frees what duns_resolve_path allocated inside `attr`, once.
    unsafe { daos_sys::duns_destroy_attr(&mut attr) };
    Ok(resolved)
}

/// Makes `path` (a new directory) a UNS entry for the existing container `cont` (label or
/// UUID) of `pool` (`duns_link_cont`). `EEXIST` if the path exists.
pub fn link_container(pool: &Pool, cont: impl Into<ContainerRef>, path: &str) -> Result<()> {
    const OP: &str = "duns_link_cont";
    let cont = cont.into();
    let c_cont = cont.to_c_string("duns::link_container")?;
    let c_path = c_string("duns::link_container", "path", path)?;
    // SAFETY: live pool handle (borrowed), valid strings.
    let rc =
        unsafe { daos_sys::duns_link_cont(pool.raw_handle(), c_cont.as_ptr(), c_path.as_ptr()) };
    check_errno(OP, rc)
        .map_err(|e| e.with_context(format!("container {:?} at path {path:?}", cont.to_string())))
}

/// Removes a UNS entry and destroys its container (`duns_destroy_path`).
pub fn destroy_path(pool: &Pool, path: &str) -> Result<()> {
    const OP: &str = "duns_destroy_path";
    let c_path = c_string("duns::destroy_path", "path", path)?;
    // SAFETY: live pool handle (borrowed), valid string.
    let rc = unsafe { daos_sys::duns_destroy_path(pool.raw_handle(), c_path.as_ptr()) };
    check_errno(OP, rc).map_err(|e| e.with_context(format!("path {path:?}")))
}
