//! The DAOS File System over a container's directory tree (`src/client/dfs/*.c`, daos-stack/daos
//! v2.8.0). Every call returns an errno on failure, as libdfs does.
//!
//! Paths are resolved inside the container: symbolic links are followed within the namespace
//! (an absolute target starts at the container root), and `..` never leaves the root. Written
//! bytes are charged to the pool (and the container) so that a full pool gives `ENOSPC`.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::client::ContHandle;
use crate::fsutil::SharedCounter;
use crate::state::DfsAttrs;

/// An errno result.
pub type ErrnoResult<T> = Result<T, i32>;

/// One directory entry as libdfs lists it: a name (the entry's dkey), nothing more.
pub type DirEntry = String;

/// `DFS_MAX_NAME`.
pub const MAX_NAME: usize = 255;
/// `DFS_DEFAULT_CHUNK_SIZE`.
pub const DEFAULT_CHUNK_SIZE: u64 = 1 << 20;
/// `DFS_BALANCED`.
pub const BALANCED: u32 = 4;

fn errno(e: io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// Space accounting of one container in its pool.
#[derive(Clone)]
pub struct Space {
    pool: Arc<SharedCounter>,
    cont: Arc<SharedCounter>,
    total: u64,
}

impl Space {
    /// The counters of the container behind `cont`.
    pub fn of(cont: &ContHandle) -> ErrnoResult<Space> {
        let meta = cont.pool.dir.meta().map_err(|e| e.to_errno())?;
        Ok(Space {
            pool: cont.pool.dir.space().map_err(|e| e.to_errno())?,
            cont: cont.dir.space().map_err(|e| e.to_errno())?,
            total: meta.total_bytes(),
        })
    }

    /// Charges `n` bytes; `ENOSPC` when the pool cannot hold them.
    pub fn grow(&self, n: u64) -> ErrnoResult<()> {
        if n == 0 {
            return Ok(());
        }
        if !self.pool.try_add(n, self.total) {
            return Err(libc::ENOSPC);
        }
        self.cont.add(n);
        Ok(())
    }

    /// Gives back `n` bytes.
    pub fn shrink(&self, n: u64) {
        self.pool.sub(n);
        self.cont.sub(n);
    }

    /// Pool (total, free) bytes.
    pub fn pool_usage(&self) -> (u64, u64) {
        (self.total, self.total.saturating_sub(self.pool.get()))
    }

    /// Writes `data` at `off`, charging the growth of the file first.
    pub fn write_at(&self, file: &File, data: &[u8], off: u64) -> ErrnoResult<()> {
        let old = file.metadata().map_err(errno)?.len();
        let end = off.checked_add(data.len() as u64).ok_or(libc::EFBIG)?;
        let growth = end.saturating_sub(old);
        self.grow(growth)?;
        if let Err(e) = file.write_all_at(data, off) {
            let now = file.metadata().map(|m| m.len()).unwrap_or(old);
            self.shrink(end.saturating_sub(now.max(old)).min(growth));
            return Err(errno(e));
        }
        Ok(())
    }

    /// Sets a file's size, charging or crediting the difference.
    pub fn set_len(&self, file: &File, size: u64) -> ErrnoResult<()> {
        let old = file.metadata().map_err(errno)?.len();
        if size > old {
            self.grow(size - old)?;
            if let Err(e) = file.set_len(size) {
                self.shrink(size - old);
                return Err(errno(e));
            }
        } else {
            file.set_len(size).map_err(errno)?;
            self.shrink(old - size);
        }
        Ok(())
    }

    /// Credits what removing `path` (a file or a whole tree) frees.
    pub fn credit_removal(&self, path: &Path) {
        self.shrink(freed_by_removal(path));
    }
}

/// Bytes freed by removing `path`: regular files whose last link goes.
pub fn freed_by_removal(path: &Path) -> u64 {
    let Ok(m) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if m.is_dir() {
        std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| freed_by_removal(&e.path()))
            .sum()
    } else if m.is_file() && m.nlink() == 1 {
        m.len()
    } else {
        0
    }
}

/// A mounted DFS.
pub struct Dfs {
    /// The container handle (kept open, with its mount count raised).
    pub cont: Arc<ContHandle>,
    /// The directory tree served.
    pub root: PathBuf,
    /// Mounted read-write.
    pub writable: bool,
    /// Superblock attributes.
    pub attrs: DfsAttrs,
    /// Accounting.
    pub space: Space,
    /// `dfs_connect` opened the handles itself and closes them at disconnect.
    pub owns_handles: bool,
}

/// What an object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjKind {
    /// Directory.
    Dir,
    /// Regular file.
    File,
    /// Symbolic link.
    Symlink,
}

/// An open DFS object.
pub struct DfsObj {
    /// Path relative to the root (components).
    pub rel: Vec<String>,
    /// Kind.
    pub kind: ObjKind,
    /// Open file of a regular file.
    pub file: Option<File>,
    /// Opened for writing.
    pub writable: bool,
    /// Opened for reading (not `O_WRONLY`).
    pub readable: bool,
    /// Mode at lookup time.
    pub mode: u32,
    /// A symbolic link's target, read when it was opened (libdfs keeps it in the object).
    pub symlink_value: Option<Vec<u8>>,
}

/// libdfs does not support the sticky bit: `dfs_chmod` and `dfs_osetattr` with
/// `DFS_SET_ATTR_MODE` refuse it with `ENOTSUP` (src/client/dfs/obj.c, 2.6 and 2.8).
/// `dfs_mkdir` and `dfs_open` store whatever mode they are given.
fn refuse_sticky(mode: u32) -> ErrnoResult<()> {
    if mode & libc::S_ISVTX != 0 {
        Err(libc::ENOTSUP)
    } else {
        Ok(())
    }
}

/// `dfs_chmod` takes a file type in the mode only if it is the entry's own.
fn refuse_type_change(mode: u32, current: u32) -> ErrnoResult<()> {
    let kind = mode & libc::S_IFMT;
    if kind != 0 && kind != current & libc::S_IFMT {
        Err(libc::EINVAL)
    } else {
        Ok(())
    }
}

fn check_name(name: &str) -> ErrnoResult<()> {
    if name.is_empty() || name.len() > MAX_NAME || name.contains('/') {
        return Err(libc::EINVAL);
    }
    Ok(())
}

impl Dfs {
    /// Mounts DFS on a container handle (`dfs_mount`): the container must be POSIX.
    pub fn mount(cont: Arc<ContHandle>, flags: i32, snapshot: Option<u64>) -> ErrnoResult<Dfs> {
        if snapshot.is_none() {
            crate::objects::materialise::ensure_namespace(&cont)?;
        }
        let meta = cont.dir.meta().map_err(|e| e.to_errno())?;
        if !meta.is_posix() {
            return Err(libc::EINVAL);
        }
        let Some(attrs) = meta.dfs.clone() else {
            return Err(libc::EIO);
        };
        let writable = flags & libc::O_ACCMODE == libc::O_RDWR;
        if writable && (!cont.writable() || snapshot.is_some()) {
            return Err(libc::EPERM);
        }
        if attrs.mode == BALANCED && flags as u32 & BALANCED == 0 {
            return Err(libc::EPERM);
        }
        let root = match snapshot {
            Some(epoch) => {
                if !meta.snapshots.contains(&epoch) {
                    return Err(libc::ENOENT);
                }
                cont.dir.snap_root(epoch)
            }
            None => cont.dir.fs_root(),
        };
        let space = Space::of(&cont)?;
        if writable {
            // A read-write mount reserves an object id for the namespace it creates
            // (mnt.c:697, daos_cont_alloc_oids), which moves DAOS_PROP_CO_ALLOCED_OID.
            crate::objects::alloc_oids(&cont, 1).map_err(|e| e.to_errno())?;
        }
        cont.dfs_mounts.fetch_add(1, Ordering::AcqRel);
        Ok(Dfs {
            cont,
            root,
            writable,
            attrs,
            space,
            owns_handles: false,
        })
    }

    /// `dfs_umount`.
    pub fn umount(&self) {
        self.cont.dfs_mounts.fetch_sub(1, Ordering::AcqRel);
    }

    fn host(&self, rel: &[String]) -> PathBuf {
        let mut p = self.root.clone();
        for c in rel {
            p.push(c);
        }
        p
    }

    /// Resolves `path` (relative to `base`, or to the root when absolute) inside the
    /// namespace, following symbolic links (the last one only with `follow`).
    pub fn resolve(&self, base: &[String], path: &str, follow: bool) -> ErrnoResult<Vec<String>> {
        let mut cur: Vec<String> = if path.starts_with('/') {
            Vec::new()
        } else {
            base.to_vec()
        };
        let mut pending: Vec<String> = path
            .split('/')
            .filter(|c| !c.is_empty())
            .rev()
            .map(str::to_string)
            .collect();
        let mut hops = 0;
        while let Some(c) = pending.pop() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    cur.pop();
                    continue;
                }
                _ => {}
            }
            if c.len() > MAX_NAME {
                return Err(libc::ENAMETOOLONG);
            }
            cur.push(c);
            let last = pending.is_empty();
            let host = self.host(&cur);
            let m = std::fs::symlink_metadata(&host).map_err(errno)?;
            if m.file_type().is_symlink() && (!last || follow) {
                hops += 1;
                if hops > 40 {
                    return Err(libc::ELOOP);
                }
                let target = std::fs::read_link(&host).map_err(errno)?;
                let target = target.to_string_lossy().into_owned();
                cur.pop();
                if target.starts_with('/') {
                    cur.clear();
                }
                pending.extend(
                    target
                        .split('/')
                        .filter(|x| !x.is_empty())
                        .rev()
                        .map(str::to_string),
                );
            } else if !last && !m.is_dir() {
                return Err(libc::ENOTDIR);
            }
        }
        Ok(cur)
    }

    fn open_obj(&self, rel: Vec<String>, flags: i32) -> ErrnoResult<DfsObj> {
        let host = self.host(&rel);
        let m = std::fs::symlink_metadata(&host).map_err(errno)?;
        let want_write = flags & libc::O_ACCMODE != libc::O_RDONLY;
        if want_write && !self.writable {
            return Err(libc::EPERM);
        }
        let ft = m.file_type();
        let mut symlink_value = None;
        let (kind, file) = if ft.is_dir() {
            (ObjKind::Dir, None)
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&host).map_err(errno)?;
            symlink_value = Some(target.into_os_string().into_vec());
            (ObjKind::Symlink, None)
        } else {
            let f = OpenOptions::new()
                .read(true)
                .write(want_write)
                .open(&host)
                .map_err(errno)?;
            (ObjKind::File, Some(f))
        };
        Ok(DfsObj {
            rel,
            kind,
            file,
            writable: want_write,
            readable: flags & libc::O_ACCMODE != libc::O_WRONLY,
            mode: m.mode(),
            symlink_value,
        })
    }

    /// `dfs_lookup`: an absolute path in the namespace.
    pub fn lookup(&self, path: &str, flags: i32) -> ErrnoResult<DfsObj> {
        if !path.starts_with('/') {
            return Err(libc::EINVAL);
        }
        let rel = self.resolve(&[], path, flags & libc::O_NOFOLLOW == 0)?;
        self.open_obj(rel, flags)
    }

    /// `dfs_lookup_rel`.
    pub fn lookup_rel(
        &self,
        parent: Option<&DfsObj>,
        name: &str,
        flags: i32,
    ) -> ErrnoResult<DfsObj> {
        check_name(name)?;
        let base = self.dir_of(parent)?;
        let rel = self.resolve(&base, name, flags & libc::O_NOFOLLOW == 0)?;
        self.open_obj(rel, flags)
    }

    fn dir_of(&self, parent: Option<&DfsObj>) -> ErrnoResult<Vec<String>> {
        match parent {
            None => Ok(Vec::new()),
            Some(p) if p.kind == ObjKind::Dir => Ok(p.rel.clone()),
            Some(_) => Err(libc::ENOTDIR),
        }
    }

    fn child(&self, parent: Option<&DfsObj>, name: &str) -> ErrnoResult<Vec<String>> {
        check_name(name)?;
        let mut rel = self.dir_of(parent)?;
        if name == "." || name == ".." {
            return Err(libc::EINVAL);
        }
        rel.push(name.to_string());
        Ok(rel)
    }

    fn require_writable(&self) -> ErrnoResult<()> {
        if self.writable {
            Ok(())
        } else {
            Err(libc::EPERM)
        }
    }

    /// `dfs_open`: opens or creates a file, directory or symbolic link.
    pub fn open(
        &self,
        parent: Option<&DfsObj>,
        name: &str,
        mode: u32,
        flags: i32,
        value: Option<&str>,
    ) -> ErrnoResult<DfsObj> {
        let rel = self.child(parent, name)?;
        let host = self.host(&rel);
        let (uid, gid) = crate::fsutil::euid_egid();
        let exists = std::fs::symlink_metadata(&host).is_ok();
        if flags & libc::O_CREAT != 0 {
            if exists && flags & libc::O_EXCL != 0 {
                return Err(libc::EEXIST);
            }
            if !exists {
                self.require_writable()?;
                match mode & libc::S_IFMT {
                    libc::S_IFDIR => {
                        std::fs::create_dir(&host).map_err(errno)?;
                        std::fs::set_permissions(
                            &host,
                            std::fs::Permissions::from_mode(mode & 0o7777),
                        )
                        .map_err(errno)?;
                    }
                    libc::S_IFLNK => {
                        let target = value.ok_or(libc::EINVAL)?;
                        std::os::unix::fs::symlink(target, &host).map_err(errno)?;
                    }
                    0 | libc::S_IFREG => {
                        let f = OpenOptions::new()
                            .write(true)
                            .create_new(true)
                            .mode(0o600)
                            .open(&host)
                            .map_err(errno)?;
                        f.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))
                            .map_err(errno)?;
                    }
                    _ => return Err(libc::EINVAL),
                }
                let _ = std::os::unix::fs::lchown(&host, Some(uid), Some(gid));
            }
        } else if !exists {
            return Err(libc::ENOENT);
        }
        // open_file (src/client/dfs/obj.c) refuses an existing entry that is not a regular
        // file with EINVAL, created or not.
        if mode & libc::S_IFMT == libc::S_IFREG
            && std::fs::symlink_metadata(&host).is_ok_and(|m| !m.file_type().is_file())
        {
            return Err(libc::EINVAL);
        }
        let obj = self.open_obj(rel, flags & libc::O_ACCMODE)?;
        if flags & libc::O_TRUNC != 0
            && let Some(f) = &obj.file
        {
            self.require_writable()?;
            self.space.set_len(f, 0)?;
        }
        Ok(obj)
    }

    /// `dfs_read`: fills the buffers in order from `off`; returns the bytes read (fewer at the
    /// end of the file, 0 past it).
    pub fn read(&self, obj: &DfsObj, off: u64, bufs: &mut [&mut [u8]]) -> ErrnoResult<u64> {
        let f = obj.file.as_ref().ok_or(libc::EINVAL)?;
        if !obj.readable {
            return Err(libc::EPERM);
        }
        let mut pos = off;
        let mut total = 0u64;
        for b in bufs.iter_mut() {
            let mut done = 0;
            while done < b.len() {
                let n = f.read_at(&mut b[done..], pos).map_err(errno)?;
                if n == 0 {
                    return Ok(total);
                }
                done += n;
                pos += n as u64;
                total += n as u64;
            }
        }
        Ok(total)
    }

    /// `dfs_write`: writes the buffers in order from `off`.
    pub fn write(&self, obj: &DfsObj, off: u64, bufs: &[&[u8]]) -> ErrnoResult<()> {
        self.require_writable()?;
        let f = obj.file.as_ref().ok_or(libc::EINVAL)?;
        if !obj.writable {
            return Err(libc::EPERM);
        }
        let data: Vec<u8> = bufs.concat();
        self.space.write_at(f, &data, off)
    }

    /// `dfs_get_size`.
    pub fn get_size(&self, obj: &DfsObj) -> ErrnoResult<u64> {
        match &obj.file {
            Some(f) => Ok(f.metadata().map_err(errno)?.len()),
            None => Err(libc::EINVAL),
        }
    }

    /// `dfs_punch` (src/client/dfs/obj.c): with `len == DFS_MAX_FSIZE` sets the size to `off`
    /// (shrinking or extending); otherwise zeroes `[off, off+len)`, or truncates to `off` when
    /// the range reaches the end, and does nothing from the end on.
    pub fn punch(&self, obj: &DfsObj, off: u64, len: u64) -> ErrnoResult<()> {
        self.require_writable()?;
        let f = obj.file.as_ref().ok_or(libc::EINVAL)?;
        if !obj.writable {
            return Err(libc::EPERM);
        }
        if len == u64::MAX {
            return self.space.set_len(f, off);
        }
        let size = f.metadata().map_err(errno)?.len();
        if off >= size {
            return Ok(());
        }
        if off.saturating_add(len) >= size {
            return self.space.set_len(f, off);
        }
        let zeros = vec![0u8; len.min(1 << 20) as usize];
        let mut pos = off;
        while pos < off + len {
            let n = (off + len - pos).min(zeros.len() as u64) as usize;
            f.write_all_at(&zeros[..n], pos).map_err(errno)?;
            pos += n as u64;
        }
        Ok(())
    }

    /// `dfs_readdir`: up to `max` entry names from position `start`; returns them and whether
    /// the listing is complete. Names only: libdfs lists the directory's dkeys and fills
    /// `d_name` alone (src/client/dfs/readdir.c), so the type is not known here.
    pub fn readdir(
        &self,
        obj: &DfsObj,
        start: usize,
        max: usize,
    ) -> ErrnoResult<(Vec<DirEntry>, bool)> {
        if obj.kind != ObjKind::Dir {
            return Err(libc::ENOTDIR);
        }
        let mut names: Vec<DirEntry> = std::fs::read_dir(self.host(&obj.rel))
            .map_err(errno)?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let rest: Vec<_> = names.into_iter().skip(start).collect();
        let done = rest.len() <= max;
        Ok((rest.into_iter().take(max).collect(), done))
    }

    /// What `dfs_readdirplus` reports for one listed entry: the entry itself (a symbolic link
    /// is not followed), as `entry_stat` does.
    pub fn entry_stat(&self, dir: &DfsObj, name: &str) -> ErrnoResult<std::fs::Metadata> {
        let mut rel = dir.rel.clone();
        rel.push(name.to_string());
        std::fs::symlink_metadata(self.host(&rel)).map_err(errno)
    }

    /// `dfs_mkdir`.
    pub fn mkdir(&self, parent: Option<&DfsObj>, name: &str, mode: u32) -> ErrnoResult<()> {
        self.require_writable()?;
        let host = self.host(&self.child(parent, name)?);
        std::fs::create_dir(&host).map_err(errno)?;
        std::fs::set_permissions(&host, std::fs::Permissions::from_mode(mode & 0o7777))
            .map_err(errno)?;
        let (uid, gid) = crate::fsutil::euid_egid();
        let _ = std::os::unix::fs::lchown(&host, Some(uid), Some(gid));
        Ok(())
    }

    /// `dfs_remove`: a file, link or empty directory; a whole tree with `force`.
    pub fn remove(&self, parent: Option<&DfsObj>, name: &str, force: bool) -> ErrnoResult<()> {
        self.require_writable()?;
        let host = self.host(&self.child(parent, name)?);
        let m = std::fs::symlink_metadata(&host).map_err(errno)?;
        let freed = freed_by_removal(&host);
        if m.is_dir() {
            if force {
                std::fs::remove_dir_all(&host).map_err(errno)?;
            } else {
                std::fs::remove_dir(&host).map_err(errno)?;
            }
        } else {
            std::fs::remove_file(&host).map_err(errno)?;
        }
        self.space.shrink(freed);
        Ok(())
    }

    fn target(
        &self,
        parent: Option<&DfsObj>,
        name: Option<&str>,
        follow: bool,
    ) -> ErrnoResult<PathBuf> {
        match name {
            None if parent.is_none() => Ok(self.root.clone()),
            None => Err(libc::EINVAL),
            Some(n) => {
                check_name(n)?;
                let base = self.dir_of(parent)?;
                Ok(self.host(&self.resolve(&base, n, follow)?))
            }
        }
    }

    /// `dfs_stat`: NULL parent and name mean the root.
    pub fn stat(
        &self,
        parent: Option<&DfsObj>,
        name: Option<&str>,
    ) -> ErrnoResult<std::fs::Metadata> {
        std::fs::symlink_metadata(self.target(parent, name, false)?).map_err(errno)
    }

    /// `dfs_ostat`.
    pub fn ostat(&self, obj: &DfsObj) -> ErrnoResult<std::fs::Metadata> {
        std::fs::symlink_metadata(self.host(&obj.rel)).map_err(errno)
    }

    /// `dfs_access`.
    pub fn access(
        &self,
        parent: Option<&DfsObj>,
        name: Option<&str>,
        mask: i32,
    ) -> ErrnoResult<()> {
        let path = self.target(parent, name, true)?;
        if mask & libc::W_OK != 0 && !self.writable {
            return Err(libc::EPERM);
        }
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| libc::EINVAL)?;
        // SAFETY: faccessat on a NUL-terminated path.
        let rc = unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), mask, libc::AT_EACCESS) };
        if rc == 0 {
            Ok(())
        } else {
            Err(errno(io::Error::last_os_error()))
        }
    }

    /// `dfs_chmod` (follows a symbolic link). In libdfs' order (src/client/dfs/obj.c): a
    /// read-only mount, then the parent and name, then the sticky bit (`ENOTSUP`, before the
    /// entry is looked up), then the entry, then a change of file type (`EINVAL`). Setuid and
    /// setgid are kept.
    pub fn chmod(&self, parent: Option<&DfsObj>, name: Option<&str>, mode: u32) -> ErrnoResult<()> {
        self.require_writable()?;
        match name {
            None if parent.is_some() => return Err(libc::EINVAL),
            None => {}
            Some(n) => {
                self.dir_of(parent)?;
                check_name(n)?;
            }
        }
        refuse_sticky(mode)?;
        let path = self.target(parent, name, true)?;
        let current = std::fs::metadata(&path).map_err(errno)?.mode();
        refuse_type_change(mode, current)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7777))
            .map_err(errno)
    }

    /// `dfs_chown`: `u32::MAX` leaves an id unchanged; `O_NOFOLLOW` changes a link itself.
    pub fn chown(
        &self,
        parent: Option<&DfsObj>,
        name: Option<&str>,
        uid: u32,
        gid: u32,
        flags: i32,
    ) -> ErrnoResult<()> {
        self.require_writable()?;
        let nofollow = flags & libc::O_NOFOLLOW != 0;
        let path = self.target(parent, name, !nofollow)?;
        let uid = (uid != u32::MAX).then_some(uid);
        let gid = (gid != u32::MAX).then_some(gid);
        std::os::unix::fs::lchown(path, uid, gid).map_err(errno)
    }

    /// `dfs_osetattr`: applies the selected fields; returns the new attributes.
    pub fn setattr(
        &self,
        obj: &DfsObj,
        st: &libc::stat,
        flags: i32,
    ) -> ErrnoResult<std::fs::Metadata> {
        self.require_writable()?;
        if !obj.writable {
            return Err(libc::EPERM);
        }
        if flags & 1 != 0 {
            // DFS_SET_ATTR_MODE: the type must be given, and be the object's own.
            if st.st_mode & libc::S_IFMT != obj.mode & libc::S_IFMT {
                return Err(libc::EINVAL);
            }
            refuse_sticky(st.st_mode)?;
        }
        let path = self.host(&obj.rel);
        // The host keeps no mode for a symbolic link (and chmod would follow it out of the
        // container): accepted and not stored, see the README.
        if flags & 1 != 0 && obj.kind != ObjKind::Symlink {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(st.st_mode & 0o7777))
                .map_err(errno)?;
        }
        if flags & (16 | 32) != 0 {
            let uid = (flags & 16 != 0).then_some(st.st_uid);
            let gid = (flags & 32 != 0).then_some(st.st_gid);
            std::os::unix::fs::lchown(&path, uid, gid).map_err(errno)?;
        }
        if flags & 8 != 0 {
            let f = obj.file.as_ref().ok_or(libc::EINVAL)?;
            self.space.set_len(f, st.st_size as u64)?;
        }
        if flags & (2 | 4) != 0 {
            let atime = (flags & 2 != 0).then_some((st.st_atime, st.st_atime_nsec));
            let mtime = (flags & 4 != 0).then_some((st.st_mtime, st.st_mtime_nsec));
            crate::fsutil::set_times_nofollow(&path, atime, mtime).map_err(errno)?;
        }
        std::fs::symlink_metadata(&path).map_err(errno)
    }

    /// The name of the last component of an object's path.
    pub fn name_of(obj: &DfsObj) -> &OsStr {
        obj.rel
            .last()
            .map(|s| OsStr::new(s.as_str()))
            .unwrap_or(OsStr::new("/"))
    }
}

/// Fills a `struct stat` from metadata.
pub fn fill_stat(m: &std::fs::Metadata, st: &mut libc::stat) {
    st.st_dev = m.dev();
    st.st_ino = m.ino();
    st.st_mode = m.mode();
    st.st_nlink = m.nlink();
    st.st_uid = m.uid();
    st.st_gid = m.gid();
    st.st_rdev = m.rdev();
    st.st_size = m.size() as i64;
    st.st_blksize = m.blksize() as i64;
    st.st_blocks = m.blocks() as i64;
    st.st_atime = m.atime();
    st.st_atime_nsec = m.atime_nsec();
    st.st_mtime = m.mtime();
    st.st_mtime_nsec = m.mtime_nsec();
    st.st_ctime = m.ctime();
    st.st_ctime_nsec = m.ctime_nsec();
}
