//! The file system the emulated dfuse serves: a passthrough over a container's directory tree.
//!
//! Inodes hold an `O_PATH` descriptor of their backing file, so renames and hard links behave;
//! the FUSE node id is the backing inode number (the root is 1). New files belong to the
//! caller (group from a set-group-ID parent), with the exact mode the kernel asked for.
//! Growth of files is charged to the pool, so a full pool gives `ENOSPC`; `statfs` reports the
//! pool's size and free space with a block size of 1, as dfuse does.

use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, FopenFlags, Generation, INodeNo, KernelConfig,
    OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyLseek, ReplyOpen, ReplyStatfs, ReplyWrite, ReplyXattr, Request, TimeOrNow,
    WriteFlags,
};
use parking_lot::Mutex;

use crate::client::ContHandle;
use crate::dfs::Space;
use crate::state::System;

/// How the mount behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// Refuse every change (`--read-only`, snapshot mounts).
    pub read_only: bool,
    /// Attribute and entry cache time (0 with `--disable-caching`).
    pub cache_ttl: Duration,
}

struct Inode {
    fd: Arc<OwnedFd>,
    nlookup: u64,
}

/// A listed directory entry: node id, type, name.
type Listing = Vec<(u64, FileType, Vec<u8>)>;

struct OpenFile {
    file: File,
    /// Serialises size-changing writes on one handle so the accounting stays exact.
    write: Mutex<()>,
}

/// The FUSE file system of one mounted container.
pub struct ContainerFs {
    root_ino: u64,
    inodes: Mutex<HashMap<u64, Inode>>,
    files: Mutex<HashMap<u64, Arc<OpenFile>>>,
    dirs: Mutex<HashMap<u64, Listing>>,
    next_fh: AtomicU64,
    space: Space,
    cont: Arc<ContHandle>,
    system: System,
    pool_ids: Vec<String>,
    opts: Options,
    health: Mutex<(Option<Instant>, bool)>,
}

fn errno_of(e: &io::Error) -> Errno {
    Errno::from_i32(e.raw_os_error().unwrap_or(libc::EIO))
}

fn last_errno() -> Errno {
    errno_of(&io::Error::last_os_error())
}

fn cstring(name: &OsStr) -> Result<CString, Errno> {
    CString::new(name.as_bytes()).map_err(|_| Errno::EINVAL)
}

fn proc_path(fd: RawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{fd}"))
}

fn stat_fd(fd: RawFd) -> Result<libc::stat, Errno> {
    // SAFETY: zeroed stat is a valid out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstatat on an O_PATH descriptor we own with AT_EMPTY_PATH and a valid buffer.
    let rc = unsafe {
        libc::fstatat(
            fd,
            c"".as_ptr(),
            &mut st,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc == 0 { Ok(st) } else { Err(last_errno()) }
}

fn time_of(sec: i64, nsec: i64) -> SystemTime {
    if sec >= 0 {
        UNIX_EPOCH + Duration::new(sec as u64, nsec as u32)
    } else {
        UNIX_EPOCH - Duration::from_secs(sec.unsigned_abs())
    }
}

fn kind_of(mode: u32) -> FileType {
    match mode & libc::S_IFMT {
        libc::S_IFDIR => FileType::Directory,
        libc::S_IFLNK => FileType::Symlink,
        libc::S_IFIFO => FileType::NamedPipe,
        libc::S_IFSOCK => FileType::Socket,
        libc::S_IFCHR => FileType::CharDevice,
        libc::S_IFBLK => FileType::BlockDevice,
        _ => FileType::RegularFile,
    }
}

impl ContainerFs {
    /// Serves `root` (the container's `fs/` or a snapshot) of the container behind `cont`.
    pub fn new(
        root: &Path,
        cont: Arc<ContHandle>,
        system: System,
        opts: Options,
    ) -> io::Result<ContainerFs> {
        let c = CString::new(root.as_os_str().as_bytes()).map_err(io::Error::other)?;
        // SAFETY: open(2) with a NUL-terminated path; the result is checked.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let st = stat_fd(fd.as_raw_fd()).map_err(|e| io::Error::from_raw_os_error(e.code()))?;
        let space = Space::of(&cont).map_err(io::Error::from_raw_os_error)?;
        let mut inodes = HashMap::new();
        inodes.insert(
            1,
            Inode {
                fd: Arc::new(fd),
                nlookup: 1,
            },
        );
        Ok(ContainerFs {
            root_ino: st.st_ino,
            inodes: Mutex::new(inodes),
            files: Mutex::new(HashMap::new()),
            dirs: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
            space,
            pool_ids: cont.pool.ids(),
            cont,
            system,
            opts,
            health: Mutex::new((None, true)),
        })
    }

    /// The FUSE node id of a backing inode number (a bijection that puts the root at 1).
    fn node_of(&self, ino: u64) -> u64 {
        if ino == self.root_ino {
            1
        } else if ino == 1 {
            self.root_ino
        } else {
            ino
        }
    }

    /// The container handle must still be valid: a forced destroy or an eviction makes every
    /// operation fail, as dfuse's DAOS calls would. Checked at most every 100 ms.
    fn alive(&self) -> Result<(), Errno> {
        let mut h = self.health.lock();
        let now = Instant::now();
        if h.0
            .is_none_or(|t| now.duration_since(t) > Duration::from_millis(100))
        {
            h.1 = crate::client::cont_handle(self.cont.cookie).is_ok();
            h.0 = Some(now);
        }
        if h.1 {
            Ok(())
        } else {
            Err(Errno::from_i32(crate::der::Der::NO_HDL.to_errno()))
        }
    }

    fn fault(&self, op: &str) -> Result<(), Errno> {
        let ids: Vec<&str> = self.pool_ids.iter().map(String::as_str).collect();
        let f = crate::faults::check(&self.system, op, &ids);
        if let Some(d) = f.delay {
            std::thread::sleep(d);
        }
        match f.errno() {
            Some(e) => Err(Errno::from_i32(e)),
            None => Ok(()),
        }
    }

    fn fd(&self, ino: INodeNo) -> Result<Arc<OwnedFd>, Errno> {
        self.inodes
            .lock()
            .get(&ino.0)
            .map(|i| i.fd.clone())
            .ok_or(Errno::ESTALE)
    }

    fn attr(&self, st: &libc::stat) -> FileAttr {
        FileAttr {
            ino: INodeNo(self.node_of(st.st_ino)),
            size: st.st_size as u64,
            blocks: st.st_blocks as u64,
            atime: time_of(st.st_atime, st.st_atime_nsec),
            mtime: time_of(st.st_mtime, st.st_mtime_nsec),
            ctime: time_of(st.st_ctime, st.st_ctime_nsec),
            crtime: UNIX_EPOCH,
            kind: kind_of(st.st_mode),
            perm: (st.st_mode & 0o7777) as u16,
            nlink: st.st_nlink as u32,
            uid: st.st_uid,
            gid: st.st_gid,
            rdev: st.st_rdev as u32,
            blksize: 4096,
            flags: 0,
        }
    }

    /// Looks `name` up under `parent`, taking a lookup reference on the result.
    fn lookup_ref(&self, parent: INodeNo, name: &OsStr) -> Result<FileAttr, Errno> {
        let pfd = self.fd(parent)?;
        let c = cstring(name)?;
        // SAFETY: openat relative to a directory descriptor we hold; result checked.
        let fd = unsafe {
            libc::openat(
                pfd.as_raw_fd(),
                c.as_ptr(),
                libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(last_errno());
        }
        // SAFETY: a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let st = stat_fd(fd.as_raw_fd())?;
        let node = self.node_of(st.st_ino);
        let mut inodes = self.inodes.lock();
        inodes
            .entry(node)
            .and_modify(|i| i.nlookup += 1)
            .or_insert(Inode {
                fd: Arc::new(fd),
                nlookup: 1,
            });
        Ok(self.attr(&st))
    }

    fn entry_ttl(&self) -> Duration {
        self.opts.cache_ttl
    }

    fn writable(&self) -> Result<(), Errno> {
        if self.opts.read_only {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }

    /// Gives a new node to the caller: uid, and gid from a set-group-ID parent or the caller.
    fn own(
        &self,
        req: &Request,
        pfd: RawFd,
        c: &CString,
        dir: bool,
        mode: u32,
    ) -> Result<(), Errno> {
        let pst = stat_fd(pfd)?;
        let sgid = pst.st_mode & libc::S_ISGID != 0;
        let gid = if sgid { pst.st_gid } else { req.gid() };
        // SAFETY: fchownat relative to our directory descriptor, not following links.
        if unsafe { libc::fchownat(pfd, c.as_ptr(), req.uid(), gid, libc::AT_SYMLINK_NOFOLLOW) }
            != 0
        {
            return Err(last_errno());
        }
        let mut m = mode & 0o7777;
        if dir && sgid {
            m |= libc::S_ISGID;
        }
        // SAFETY: fchmodat relative to our directory descriptor.
        if unsafe { libc::fchmodat(pfd, c.as_ptr(), m, 0) } != 0 {
            return Err(last_errno());
        }
        Ok(())
    }

    fn new_fh(&self) -> u64 {
        self.next_fh.fetch_add(1, Ordering::Relaxed)
    }

    fn open_file(&self, fd: RawFd, flags: i32) -> Result<File, Errno> {
        let keep = libc::O_ACCMODE
            | libc::O_APPEND
            | libc::O_DIRECT
            | libc::O_SYNC
            | libc::O_DSYNC
            | libc::O_NONBLOCK;
        let path = CString::new(proc_path(fd).as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
        // SAFETY: open(2) of our /proc/self/fd magic link with sanitised flags; checked.
        let f = unsafe {
            libc::open(
                path.as_ptr(),
                (flags & keep & !libc::O_DIRECT) | libc::O_CLOEXEC,
            )
        };
        if f < 0 {
            return Err(last_errno());
        }
        // SAFETY: a fresh descriptor we own.
        Ok(unsafe { File::from_raw_fd(f) })
    }

    fn file(&self, fh: FileHandle) -> Result<Arc<OpenFile>, Errno> {
        self.files.lock().get(&fh.0).cloned().ok_or(Errno::EBADF)
    }

    fn removal_credit(&self, pfd: RawFd, c: &CString) -> u64 {
        // SAFETY: zeroed stat is a valid out-parameter.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstatat relative to our directory descriptor.
        let rc = unsafe { libc::fstatat(pfd, c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
        if rc == 0 && st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_nlink == 1 {
            st.st_size as u64
        } else {
            0
        }
    }
}

macro_rules! tri {
    ($reply:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(err) => return $reply.error(err),
        }
    };
}

impl fuser::Filesystem for ContainerFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        let _ = config.set_max_write(1 << 20);
        let _ = config.set_max_readahead(1 << 20);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        tri!(reply, self.alive());
        let attr = tri!(reply, self.lookup_ref(parent, name));
        reply.entry(&self.entry_ttl(), &attr, Generation(0));
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        if ino.0 == 1 {
            return;
        }
        let mut inodes = self.inodes.lock();
        if let Some(i) = inodes.get_mut(&ino.0) {
            i.nlookup = i.nlookup.saturating_sub(nlookup);
            if i.nlookup == 0 {
                inodes.remove(&ino.0);
            }
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        tri!(reply, self.alive());
        let fd = tri!(reply, self.fd(ino));
        let st = tri!(reply, stat_fd(fd.as_raw_fd()));
        reply.attr(&self.opts.cache_ttl, &self.attr(&st));
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        tri!(reply, self.alive());
        tri!(reply, self.writable());
        let fd = tri!(reply, self.fd(ino));
        let raw = fd.as_raw_fd();
        let st = tri!(reply, stat_fd(raw));
        let is_link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
        // dfuse hands a mode change to dfs_osetattr (src/client/dfuse/ops/setattr.c), which
        // refuses the sticky bit before changing anything.
        if mode.is_some_and(|m| m & libc::S_ISVTX != 0) {
            return reply.error(Errno::from_i32(libc::ENOTSUP));
        }
        if let Some(m) = mode
            && !is_link
        {
            let p = tri!(
                reply,
                CString::new(proc_path(raw).as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)
            );
            // SAFETY: chmod of our /proc/self/fd magic link (resolves to the node itself).
            if unsafe { libc::chmod(p.as_ptr(), m & 0o7777) } != 0 {
                return reply.error(last_errno());
            }
        }
        if uid.is_some() || gid.is_some() {
            let (u, g) = (uid.unwrap_or(u32::MAX), gid.unwrap_or(u32::MAX));
            // SAFETY: fchownat on our O_PATH descriptor with AT_EMPTY_PATH.
            if unsafe {
                libc::fchownat(
                    raw,
                    c"".as_ptr(),
                    u,
                    g,
                    libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
                )
            } != 0
            {
                return reply.error(last_errno());
            }
        }
        if let Some(sz) = size {
            let r = match fh.and_then(|h| self.file(h).ok()) {
                Some(of) => {
                    let _g = of.write.lock();
                    self.space.set_len(&of.file, sz)
                }
                None => match self.open_file(raw, libc::O_WRONLY) {
                    Ok(f) => self.space.set_len(&f, sz),
                    Err(e) => return reply.error(e),
                },
            };
            if let Err(e) = r {
                return reply.error(Errno::from_i32(e));
            }
        }
        if (atime.is_some() || mtime.is_some()) && !is_link {
            let spec = |t: Option<TimeOrNow>| match t {
                None => libc::timespec {
                    tv_sec: 0,
                    tv_nsec: libc::UTIME_OMIT,
                },
                Some(TimeOrNow::Now) => libc::timespec {
                    tv_sec: 0,
                    tv_nsec: libc::UTIME_NOW,
                },
                Some(TimeOrNow::SpecificTime(t)) => {
                    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
                    libc::timespec {
                        tv_sec: d.as_secs() as i64,
                        tv_nsec: i64::from(d.subsec_nanos()),
                    }
                }
            };
            let times = [spec(atime), spec(mtime)];
            let p = tri!(
                reply,
                CString::new(proc_path(raw).as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)
            );
            // SAFETY: utimensat on our magic link with a two-element array.
            if unsafe { libc::utimensat(libc::AT_FDCWD, p.as_ptr(), times.as_ptr(), 0) } != 0 {
                return reply.error(last_errno());
            }
        }
        let st = tri!(reply, stat_fd(raw));
        reply.attr(&self.opts.cache_ttl, &self.attr(&st));
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        tri!(reply, self.alive());
        let fd = tri!(reply, self.fd(ino));
        let mut buf = vec![0u8; 4096];
        // SAFETY: readlinkat on our O_PATH symlink descriptor with an empty path.
        let n = unsafe {
            libc::readlinkat(
                fd.as_raw_fd(),
                c"".as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            return reply.error(last_errno());
        }
        reply.data(&buf[..n as usize]);
    }

    fn mknod(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        tri!(reply, self.alive());
        tri!(reply, self.writable());
        let pfd = tri!(reply, self.fd(parent));
        let c = tri!(reply, cstring(name));
        // SAFETY: mknodat relative to our directory descriptor.
        if unsafe { libc::mknodat(pfd.as_raw_fd(), c.as_ptr(), mode, u64::from(rdev)) } != 0 {
            return reply.error(last_errno());
        }
        tri!(reply, self.own(req, pfd.as_raw_fd(), &c, false, mode));
        let attr = tri!(reply, self.lookup_ref(parent, name));
        reply.entry(&self.entry_ttl(), &attr, Generation(0));
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        tri!(reply, self.alive());
        tri!(reply, self.writable());
        tri!(reply, self.fault("dfs_mkdir"));
        let pfd = tri!(reply, self.fd(parent));
        let c = tri!(reply, cstring(name));
        // SAFETY: mkdirat relative to our directory descriptor.
        if unsafe { libc::mkdirat(pfd.as_raw_fd(), c.as_ptr(), 0o700) } != 0 {
            return reply.error(last_errno());
        }
        tri!(reply, self.own(req, pfd.as_raw_fd(), &c, true, mode));
        let attr = tri!(reply, self.lookup_ref(parent, name));
        reply.entry(&self.entry_ttl(), &attr, Generation(0));
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        tri!(reply, self.alive());
        tri!(reply, self.writable());
        tri!(reply, self.fault("dfs_remove"));
        let pfd = tri!(reply, self.fd(parent));
        let c = tri!(reply, cstring(name));
        let credit = self.removal_credit(pfd.as_raw_fd(), &c);
        // SAFETY: unlinkat relative to our directory descriptor.
        if unsafe { libc::unlinkat(pfd.as_raw_fd(), c.as_ptr(), 0) } != 0 {
            return reply.error(last_errno());
        }
        self.space.shrink(credit);
        reply.ok();
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        tri!(reply, self.alive());
        tri!(reply, self.writable());
        let pfd = tri!(reply, self.fd(parent));
        let c = tri!(reply, cstring(name));
        // SAFETY: unlinkat(AT_REMOVEDIR) relative to our directory descriptor.
        if unsafe { libc::unlinkat(pfd.as_raw_fd(), c.as_ptr(), libc::AT_REMOVEDIR) } != 0 {
            return reply.error(last_errno());
        }
        reply.ok();
    }

    fn symlink(
        &self,
        req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        tri!(reply, self.alive());
        tri!(reply, self.writable());
        let pfd = tri!(reply, self.fd(parent));
        let c = tri!(reply, cstring(link_name));
        let t = tri!(reply, cstring(target.as_os_str()));
        // SAFETY: symlinkat relative to our directory descriptor.
        if unsafe { libc::symlinkat(t.as_ptr(), pfd.as_raw_fd(), c.as_ptr()) } != 0 {
            return reply.error(last_errno());
        }
        let pst = tri!(reply, stat_fd(pfd.as_raw_fd()));
        let gid = if pst.st_mode & libc::S_ISGID != 0 {
            pst.st_gid
        } else {
            req.gid()
        };
        // SAFETY: fchownat of the new link itself.
        unsafe {
            libc::fchownat(
                pfd.as_raw_fd(),
                c.as_ptr(),
                req.uid(),
                gid,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        let attr = tri!(reply, self.lookup_ref(parent, link_name));
        reply.entry(&self.entry_ttl(), &attr, Generation(0));
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        tri!(reply, self.alive());
        tri!(reply, self.writable());
        let (pfd, nfd) = (
            tri!(reply, self.fd(parent)),
            tri!(reply, self.fd(newparent)),
        );
        let (c, nc) = (tri!(reply, cstring(name)), tri!(reply, cstring(newname)));
        let exchange = flags.bits() & libc::RENAME_EXCHANGE != 0;
        let credit = if exchange {
            0
        } else {
            self.removal_credit(nfd.as_raw_fd(), &nc)
        };
        // SAFETY: renameat2 between our directory descriptors.
        let rc = unsafe {
            libc::renameat2(
                pfd.as_raw_fd(),
                c.as_ptr(),
                nfd.as_raw_fd(),
                nc.as_ptr(),
                flags.bits(),
            )
        };
        if rc != 0 {
            return reply.error(last_errno());
        }
        self.space.shrink(credit);
        reply.ok();
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        tri!(reply, self.alive());
        tri!(reply, self.writable());
        let fd = tri!(reply, self.fd(ino));
        let nfd = tri!(reply, self.fd(newparent));
        let nc = tri!(reply, cstring(newname));
        let src = tri!(
            reply,
            CString::new(proc_path(fd.as_raw_fd()).as_os_str().as_bytes())
                .map_err(|_| Errno::EINVAL)
        );
        // SAFETY: linkat from our magic link (followed) to a name under our directory.
        if unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                src.as_ptr(),
                nfd.as_raw_fd(),
                nc.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        } != 0
        {
            return reply.error(last_errno());
        }
        let attr = tri!(reply, self.lookup_ref(newparent, newname));
        reply.entry(&self.entry_ttl(), &attr, Generation(0));
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        tri!(reply, self.alive());
        if flags.0 & libc::O_ACCMODE != libc::O_RDONLY {
            tri!(reply, self.writable());
        }
        let fd = tri!(reply, self.fd(ino));
        let file = tri!(reply, self.open_file(fd.as_raw_fd(), flags.0));
        if flags.0 & libc::O_TRUNC != 0
            && let Err(e) = self.space.set_len(&file, 0)
        {
            return reply.error(Errno::from_i32(e));
        }
        let fh = self.new_fh();
        self.files.lock().insert(
            fh,
            Arc::new(OpenFile {
                file,
                write: Mutex::new(()),
            }),
        );
        reply.opened(FileHandle(fh), FopenFlags::empty());
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyData,
    ) {
        tri!(reply, self.alive());
        tri!(reply, self.fault("dfs_read"));
        let of = tri!(reply, self.file(fh));
        let mut buf = vec![0u8; size as usize];
        let mut done = 0;
        while done < buf.len() {
            match of.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return reply.error(errno_of(&e)),
            }
        }
        reply.data(&buf[..done]);
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyWrite,
    ) {
        tri!(reply, self.alive());
        tri!(reply, self.writable());
        tri!(reply, self.fault("dfs_write"));
        let of = tri!(reply, self.file(fh));
        let _g = of.write.lock();
        match self.space.write_at(&of.file, data, offset) {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(Errno::from_i32(e)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: fuser::LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.files.lock().remove(&fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        // DAOS acknowledges writes once they are durable; there is nothing left to flush.
        reply.ok();
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        tri!(reply, self.alive());
        let fd = tri!(reply, self.fd(ino));
        let st = tri!(reply, stat_fd(fd.as_raw_fd()));
        let mut entries = vec![(self.node_of(st.st_ino), FileType::Directory, b".".to_vec())];
        entries.push((self.node_of(st.st_ino), FileType::Directory, b"..".to_vec()));
        let rd = tri!(
            reply,
            std::fs::read_dir(proc_path(fd.as_raw_fd())).map_err(|e| errno_of(&e))
        );
        for e in rd.flatten() {
            let kind = match e.file_type() {
                Ok(t) if t.is_dir() => FileType::Directory,
                Ok(t) if t.is_symlink() => FileType::Symlink,
                Ok(t) if t.is_file() => FileType::RegularFile,
                Ok(t) => FileType::from_std(t).unwrap_or(FileType::RegularFile),
                Err(_) => FileType::RegularFile,
            };
            use std::os::unix::fs::DirEntryExt;
            entries.push((
                self.node_of(e.ino()),
                kind,
                e.file_name().as_bytes().to_vec(),
            ));
        }
        let fh = self.new_fh();
        self.dirs.lock().insert(fh, entries);
        reply.opened(FileHandle(fh), FopenFlags::empty());
    }

    fn readdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let dirs = self.dirs.lock();
        let Some(entries) = dirs.get(&fh.0) else {
            return reply.error(Errno::EBADF);
        };
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(
                INodeNo(*ino),
                (i + 1) as u64,
                *kind,
                OsStr::from_bytes(name),
            ) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        self.dirs.lock().remove(&fh.0);
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        tri!(reply, self.alive());
        tri!(reply, self.fault("daos_pool_query"));
        let (total, free) = self.space.pool_usage();
        reply.statfs(total, free, free, u64::MAX, u64::MAX, 1, 255, 1);
    }

    fn setxattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        name: &OsStr,
        value: &[u8],
        flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        tri!(reply, self.alive());
        tri!(reply, self.writable());
        let fd = tri!(reply, self.fd(ino));
        let (p, n) = (
            tri!(reply, cstring(proc_path(fd.as_raw_fd()).as_os_str())),
            tri!(reply, cstring(name)),
        );
        // SAFETY: setxattr on our magic link with a value of the given length.
        if unsafe {
            libc::setxattr(
                p.as_ptr(),
                n.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                flags,
            )
        } != 0
        {
            return reply.error(last_errno());
        }
        reply.ok();
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        tri!(reply, self.alive());
        let fd = tri!(reply, self.fd(ino));
        let (p, n) = (
            tri!(reply, cstring(proc_path(fd.as_raw_fd()).as_os_str())),
            tri!(reply, cstring(name)),
        );
        let mut buf = vec![0u8; size as usize];
        // SAFETY: getxattr on our magic link into a buffer of `size` bytes (NULL-safe for 0).
        let r =
            unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if r < 0 {
            return reply.error(last_errno());
        }
        if size == 0 {
            reply.size(r as u32)
        } else {
            reply.data(&buf[..r as usize])
        }
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        tri!(reply, self.alive());
        let fd = tri!(reply, self.fd(ino));
        let p = tri!(reply, cstring(proc_path(fd.as_raw_fd()).as_os_str()));
        let mut buf = vec![0u8; size as usize];
        // SAFETY: listxattr on our magic link into a buffer of `size` bytes.
        let r = unsafe { libc::listxattr(p.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if r < 0 {
            return reply.error(last_errno());
        }
        if size == 0 {
            reply.size(r as u32)
        } else {
            reply.data(&buf[..r as usize])
        }
    }

    fn removexattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        tri!(reply, self.alive());
        tri!(reply, self.writable());
        let fd = tri!(reply, self.fd(ino));
        let (p, n) = (
            tri!(reply, cstring(proc_path(fd.as_raw_fd()).as_os_str())),
            tri!(reply, cstring(name)),
        );
        // SAFETY: removexattr on our magic link.
        if unsafe { libc::removexattr(p.as_ptr(), n.as_ptr()) } != 0 {
            return reply.error(last_errno());
        }
        reply.ok();
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        tri!(reply, self.alive());
        tri!(reply, self.writable());
        tri!(reply, self.fault("dfs_open"));
        let pfd = tri!(reply, self.fd(parent));
        let c = tri!(reply, cstring(name));
        let keep = libc::O_ACCMODE | libc::O_APPEND | libc::O_EXCL | libc::O_SYNC | libc::O_DSYNC;
        // SAFETY: openat(O_CREAT) relative to our directory descriptor; checked.
        let f = unsafe {
            libc::openat(
                pfd.as_raw_fd(),
                c.as_ptr(),
                (flags & keep) | libc::O_CREAT | libc::O_CLOEXEC,
                0o600,
            )
        };
        if f < 0 {
            return reply.error(last_errno());
        }
        // SAFETY: a fresh descriptor we own.
        let file = unsafe { File::from_raw_fd(f) };
        tri!(reply, self.own(req, pfd.as_raw_fd(), &c, false, mode));
        if flags & libc::O_TRUNC != 0
            && let Err(e) = self.space.set_len(&file, 0)
        {
            return reply.error(Errno::from_i32(e));
        }
        let attr = tri!(reply, self.lookup_ref(parent, name));
        let fh = self.new_fh();
        self.files.lock().insert(
            fh,
            Arc::new(OpenFile {
                file,
                write: Mutex::new(()),
            }),
        );
        reply.created(
            &self.entry_ttl(),
            &attr,
            Generation(0),
            FileHandle(fh),
            FopenFlags::empty(),
        );
    }

    fn fallocate(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        tri!(reply, self.alive());
        tri!(reply, self.writable());
        let of = tri!(reply, self.file(fh));
        let _g = of.write.lock();
        let old = tri!(reply, of.file.metadata().map_err(|e| errno_of(&e))).len();
        let end = offset.saturating_add(length);
        let grows = mode & libc::FALLOC_FL_KEEP_SIZE == 0
            && mode & libc::FALLOC_FL_PUNCH_HOLE == 0
            && end > old;
        if grows && let Err(e) = self.space.grow(end - old) {
            return reply.error(Errno::from_i32(e));
        }
        // SAFETY: fallocate on a descriptor we own.
        if unsafe { libc::fallocate(of.file.as_raw_fd(), mode, offset as i64, length as i64) } != 0
        {
            let e = last_errno();
            if grows {
                self.space.shrink(end - old);
            }
            return reply.error(e);
        }
        reply.ok();
    }

    fn lseek(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: i64,
        whence: i32,
        reply: ReplyLseek,
    ) {
        let of = tri!(reply, self.file(fh));
        // SAFETY: lseek on a descriptor we own (SEEK_DATA/SEEK_HOLE queries).
        let r = unsafe { libc::lseek(of.file.as_raw_fd(), offset, whence) };
        if r < 0 {
            return reply.error(last_errno());
        }
        reply.offset(r);
    }
}
