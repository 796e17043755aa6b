//! An entry's own metadata, without following symbolic links: a link's target
//! (`dfs_get_symlink_value`) and owner, mode and modification time (`dfs_osetattr`).

use std::ptr::null_mut;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Dfs, DfsObj, check_mode};
use crate::error::{Der, Error, Result, check_errno};

/// What [`Dfs::set_attributes`] changes; `None` leaves a field as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttributes {
    /// Permission bits (the file type, if given, must be the entry's own). The sticky bit is
    /// refused ([`check_mode`]).
    pub mode: Option<u32>,
    /// Owner uid (recorded by DFS, not enforced).
    pub uid: Option<u32>,
    /// Owner gid.
    pub gid: Option<u32>,
    /// Last modification time; not before the Unix epoch.
    pub mtime: Option<SystemTime>,
}

impl SetAttributes {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == SetAttributes::default()
    }
}

impl Dfs {
    /// Opens the entry at `path` itself (a symbolic link is not followed: `O_NOFOLLOW`) with
    /// `flags`; returns it with its mode.
    fn open_entry_nofollow(
        &self,
        op: &'static str,
        path: &str,
        flags: i32,
    ) -> Result<(DfsObj, u32)> {
        let (parent, name, display) = self.resolve(op, path)?;
        let Some(name) = name else {
            let root = self.lookup_root()?;
            let mut mode: daos_sys::mode_t = 0;
            // SAFETY: a live object and a valid out-pointer.
            let rc = unsafe { daos_sys::dfs_get_mode(root.as_ptr(), &mut mode) };
            check_errno("dfs_get_mode", rc).map_err(|e| e.with_context("the root directory"))?;
            return Ok((root, mode));
        };
        let parent_ptr = parent.as_ref().map_or(null_mut(), DfsObj::as_ptr);
        let mut obj: *mut daos_sys::dfs_obj_t = null_mut();
        let mut mode: daos_sys::mode_t = 0;
        // SAFETY: live mount; parent NULL (the root) or an object we hold; valid name and
        // out-pointers; no stat wanted.
        let rc = unsafe {
            daos_sys::dfs_lookup_rel(
                self.ptr(),
                parent_ptr,
                name.as_ptr(),
                flags | libc::O_NOFOLLOW,
                &mut obj,
                &mut mode,
                null_mut(),
            )
        };
        check_errno("dfs_lookup_rel", rc)
            .map_err(|e| e.with_context(format!("path {display:?}")))?;
        let obj = std::ptr::NonNull::new(obj)
            .map(DfsObj)
            .ok_or_else(|| Error::from_errno("dfs_lookup_rel", libc::EIO))?;
        Ok((obj, mode))
    }

    /// The target of the symbolic link at `path` (`dfs_get_symlink_value`), as it was stored:
    /// relative or absolute, and whether or not it exists. `EINVAL` if `path` is not a
    /// symbolic link; a target that is not UTF-8 is refused with `-DER_INVAL`.
    pub fn read_link(&self, path: &str) -> Result<String> {
        const OP: &str = "dfs_get_symlink_value";
        let (link, _) = self.open_entry_nofollow("Dfs::read_link", path, libc::O_RDONLY)?;
        let context = |e: Error| e.with_context(format!("path {path:?}"));
        let mut size: daos_sys::daos_size_t = 0;
        // SAFETY: a live object; a zero size with a NULL buffer only asks for the size.
        let rc = unsafe { daos_sys::dfs_get_symlink_value(link.as_ptr(), null_mut(), &mut size) };
        check_errno(OP, rc).map_err(context)?;
        let mut buf = vec![0u8; usize::try_from(size).unwrap_or(0).max(1)];
        let mut room = buf.len() as daos_sys::daos_size_t;
        // SAFETY: `buf` holds `room` bytes; libdfs writes at most that many, NUL included.
        let rc = unsafe {
            daos_sys::dfs_get_symlink_value(link.as_ptr(), buf.as_mut_ptr().cast(), &mut room)
        };
        check_errno(OP, rc).map_err(context)?;
        // The value is fixed when the link is opened, so the second call needs no more room.
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        buf.truncate(end);
        String::from_utf8(buf).map_err(|_| {
            Error::raised(
                "Dfs::read_link",
                Der::Inval,
                format!("path {path:?}: the link target is not UTF-8"),
            )
        })
    }

    /// Changes the mode, owner and modification time of the entry at `path` itself, not of
    /// what a symbolic link points to (`dfs_osetattr` on the entry opened with `O_NOFOLLOW`);
    /// `/` is the root. Fields left `None` are kept; setting none is a no-op that only checks
    /// that `path` exists. The change time is updated, as libdfs does. Fails with `EPERM` on a
    /// read-only mount.
    pub fn set_attributes(&self, path: &str, attrs: &SetAttributes) -> Result<()> {
        const METHOD: &str = "Dfs::set_attributes";
        if let Some(mode) = attrs.mode {
            check_mode(METHOD, mode, &format!("path {path:?}"))?;
        }
        let mtime = attrs
            .mtime
            .map(|t| {
                t.duration_since(UNIX_EPOCH).map_err(|_| {
                    Error::invalid(
                        METHOD,
                        format!("path {path:?}: a modification time before 1970"),
                    )
                })
            })
            .transpose()?;
        let flags = if attrs.is_empty() {
            libc::O_RDONLY
        } else {
            libc::O_RDWR
        };
        let (entry, entry_mode) = self.open_entry_nofollow(METHOD, path, flags)?;
        if attrs.is_empty() {
            return Ok(());
        }
        let mut st = daos_sys::stat::default();
        let mut which = 0;
        if let Some(mode) = attrs.mode {
            st.st_mode = (entry_mode & libc::S_IFMT) | (mode & 0o7777);
            which |= daos_sys::DFS_SET_ATTR_MODE;
        }
        if let Some(uid) = attrs.uid {
            st.st_uid = uid;
            which |= daos_sys::DFS_SET_ATTR_UID;
        }
        if let Some(gid) = attrs.gid {
            st.st_gid = gid;
            which |= daos_sys::DFS_SET_ATTR_GID;
        }
        if let Some(since_epoch) = mtime {
            st.st_mtim.tv_sec = since_epoch.as_secs() as _;
            st.st_mtim.tv_nsec = since_epoch.subsec_nanos() as _;
            which |= daos_sys::DFS_SET_ATTR_MTIME;
        }
        // SAFETY: live mount and object (opened read-write); `st` is a valid buffer libdfs
        // reads the chosen fields from and writes the new attributes to.
        let rc =
            unsafe { daos_sys::dfs_osetattr(self.ptr(), entry.as_ptr(), &mut st, which as i32) };
        check_errno("dfs_osetattr", rc).map_err(|e| e.with_context(format!("path {path:?}")))
    }
}
