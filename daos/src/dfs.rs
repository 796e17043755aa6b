//! POSIX containers through libdfs (`daos_fs.h`): create one, mount it, and work with paths,
//! open files and directory listings.
//!
//! libdfs functions return 0 or a **positive errno**; errors here carry it
//! ([`Error::errno`](crate::Error::errno)), so `is_not_found()` is true for `ENOENT`. Checks
//! this module makes before calling libdfs (a `..` in a path, a sticky bit libdfs would refuse,
//! an offset past the largest file offset) name the Rust method and raise a DER code of the
//! same class ([`Error::is_from_daos`](crate::Error::is_from_daos) is false for them).
//!
//! A [`Dfs`] mount owns a clone of its [`Container`], so it can be stored beside other state
//! and moved into `'static` tasks; it is `Send + Sync + Clone` (libdfs handles are
//! thread-safe). An open [`File`] and a [`ReadDir`] listing keep the mount alive in turn; the
//! last of them unmounts (`dfs_umount`), always before the container handle can be closed.
//!
//! - Files: [`Dfs::open_options`], [`Dfs::open_file`], [`Dfs::create_file`] give a [`File`]
//!   with positioned I/O, `std::io::{Read, Write, Seek}`, punch and size, and asynchronous
//!   reads and writes over an [`EventQueue`](crate::EventQueue), including
//!   [`File::read_chunks`]/[`File::write_chunks`], which stream a range of any size with a
//!   bounded number of extents in flight.
//! - Directories: [`Dfs::entries`] iterates in batches (`dfs_readdirplus`), with each entry's
//!   type and status; [`Dfs::read_dir`] collects them.
//! - Whole files: [`Dfs::write_file`], [`Dfs::read_file`].
//!
//! Paths are absolute within the container (`/`, `/dir/file`; a leading `/` is optional).
//! `.` components are ignored; `..` is refused.
//!
//! ```no_run
//! use std::io::{Read, Seek, SeekFrom, Write};
//! use daos::{ContainerAccess, Daos, Pool, PoolAccess, PosixContainerSpec};
//!
//! let daos = Daos::init()?;
//! let pool = Pool::connect(&daos, "tank", None, PoolAccess::ReadWrite)?;
//! let mut spec = PosixContainerSpec::new("vol-1");
//! spec.root_owner = Some((1000, 1000));
//! spec.root_mode = Some(0o2775);
//! pool.create_posix_container(&spec)?;
//!
//! let cont = pool.open_container("vol-1", ContainerAccess::ReadWrite)?;
//! let fs = cont.mount_dfs(ContainerAccess::ReadWrite)?;
//! drop(cont); // the mount keeps the container open
//! fs.mkdir("/data", 0o755)?;
//! fs.write_file("/data/hello.txt", b"hello")?;
//! assert_eq!(fs.read_file("/data/hello.txt")?, b"hello");
//!
//! let mut log = fs.create_file("/data/log", 0o644)?;
//! log.write_all(b"one\n").expect("write");
//! log.seek(SeekFrom::Start(0)).expect("seek");
//! let mut text = String::new();
//! log.read_to_string(&mut text).expect("read");
//! for entry in fs.entries("/data")? {
//!     let entry = entry?;
//!     println!("{} {:?} {} bytes", entry.name, entry.file_type, entry.stat.size);
//! }
//! assert_eq!(fs.stat("/")?.uid, 1000);
//! # Ok::<(), daos::Error>(())
//! ```

use std::ffi::{CStr, CString, c_char};
use std::ptr::{NonNull, null, null_mut};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::container::{Container, ContainerAccess};
use crate::error::{Der, Error, Result, check_errno};
use crate::pool::{Pool, c_string};
use crate::prop::{PropType, Properties, RawProp};
use crate::uuid::Uuid;

mod copy;
mod dir;
mod file;
mod meta;
mod object_copy;

pub use copy::{CopyOptions, CopyProgress, copy_tree};
pub use dir::{DEFAULT_BATCH, DirEntry, ReadDir};
pub use file::{File, OpenOptions};
pub use meta::SetAttributes;
pub use object_copy::{ObjectCopyOptions, copy_snapshot_objects, object_copy_properties};

/// Longest hints string in bytes (`DAOS_CONT_HINT_MAX_LEN` less the NUL).
pub const MAX_HINTS_LEN: usize = daos_sys::DAOS_CONT_HINT_MAX_LEN as usize - 1;

/// What a new POSIX container should look like.
///
/// Object classes are names such as `"SX"`, `"RP_3G1"` or `"EC_4P2GX"`, converted with
/// libdaos' `daos_oclass_name2id`; a decimal or `0x` hexadecimal number is taken as a class id
/// as is (for classes the local libdaos does not know by name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PosixContainerSpec {
    /// Container label.
    pub label: String,
    /// Further properties (redundancy factor, owner group, ACL, ...). Must not contain the
    /// label; the layout type is set to POSIX by libdfs.
    pub properties: Properties,
    /// Default file chunk size in bytes (DFS default 1 MiB).
    pub chunk_size: Option<u64>,
    /// Default object class of files and directories.
    pub object_class: Option<String>,
    /// Object class of directories.
    pub dir_object_class: Option<String>,
    /// Object class of files.
    pub file_object_class: Option<String>,
    /// Object class hints, e.g. `"file:single,dir:max"`.
    pub hints: Option<String>,
    /// Owner (uid, gid) of the root directory (default: the creating process' euid/egid).
    pub root_owner: Option<(u32, u32)>,
    /// Permission bits of the root directory (default 0755), e.g. `0o2775`. libdfs refuses
    /// the sticky bit ([`check_mode`]).
    pub root_mode: Option<u32>,
}

impl PosixContainerSpec {
    /// A spec with just a label; DAOS defaults for the rest.
    pub fn new(label: impl Into<String>) -> PosixContainerSpec {
        PosixContainerSpec {
            label: label.into(),
            ..PosixContainerSpec::default()
        }
    }
}

/// Permission bits libdfs can set on an existing file or directory: all but the sticky bit.
///
/// `dfs_chmod` and `dfs_osetattr` refuse `S_ISVTX` with `ENOTSUP` (src/client/dfs/obj.c in
/// DAOS 2.6 and 2.8); setuid and setgid are stored like the other bits.
pub const SETTABLE_MODE_BITS: u32 = 0o7777 & !libc::S_ISVTX;

/// Checks that libdfs can apply `mode` (permission bits, optionally with the file type) to an
/// existing entry. The sticky bit (or bits that belong to no mode) is refused with
/// `-DER_NOTSUPPORTED` ([`Error::is_not_supported`], as libdfs' `ENOTSUP` is), raised by this
/// crate under `op`, the Rust caller, since no C function is called; `subject` says what the
/// mode was for (`path "/"`).
pub fn check_mode(op: &'static str, mode: u32, subject: &str) -> Result<()> {
    let permissions = mode & !libc::S_IFMT;
    if permissions & !SETTABLE_MODE_BITS != 0 {
        return Err(Error::raised(
            op,
            Der::Notsupported,
            format!(
                "{subject}: mode {mode:#o}: libdfs does not support the sticky bit (settable bits: {SETTABLE_MODE_BITS:#o})"
            ),
        ));
    }
    Ok(())
}

/// Turns an object class name or number into its id.
pub fn object_class_id(class: &str) -> Result<u32> {
    const OP: &str = "daos_oclass_name2id";
    let class = class.trim();
    if let Some(id) = numeric_class_id(class) {
        return Ok(id);
    }
    let name = c_string(OP, "object class", class)?;
    // SAFETY: `name` is a valid C string for the duration of the call.
    let id = unsafe { daos_sys::daos_oclass_name2id(name.as_ptr()) };
    if id <= 0 {
        return Err(Error::invalid(
            OP,
            format!("unknown object class {class:?}"),
        ));
    }
    Ok(id as u32)
}

/// A class given as a number (decimal or `0x` hex).
fn numeric_class_id(class: &str) -> Option<u32> {
    match class
        .strip_prefix("0x")
        .or_else(|| class.strip_prefix("0X"))
    {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => class.parse::<u32>().ok(),
    }
}

fn dfs_attr(spec: &PosixContainerSpec, props: Option<&RawProp>) -> Result<daos_sys::dfs_attr_t> {
    const OP: &str = "dfs_cont_create_with_label";
    let class = |c: &Option<String>| {
        c.as_deref()
            .map(object_class_id)
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let mut attr = daos_sys::dfs_attr_t {
        da_chunk_size: spec.chunk_size.unwrap_or(0),
        da_oclass_id: class(&spec.object_class)?,
        da_dir_oclass_id: class(&spec.dir_object_class)?,
        da_file_oclass_id: class(&spec.file_object_class)?,
        ..Default::default()
    };
    attr.da_props = props.map_or(null_mut(), RawProp::as_ptr);
    attr.da_mode = daos_sys::DFS_RELAXED;
    if let Some(hints) = &spec.hints {
        if hints.len() > MAX_HINTS_LEN || hints.contains('\0') {
            return Err(Error::invalid(
                OP,
                format!("hints {hints:?} must be at most {MAX_HINTS_LEN} bytes"),
            ));
        }
        for (dst, src) in attr.da_hints.iter_mut().zip(hints.bytes()) {
            *dst = src as c_char;
        }
    }
    Ok(attr)
}

impl Pool {
    /// Creates a POSIX container (`dfs_cont_create_with_label`) and returns its UUID.
    ///
    /// If the spec asks for a root owner or mode, the new container is then mounted and its
    /// root directory changed (`dfs_chown`/`dfs_chmod`). Should that fail, the container is
    /// destroyed again, so a retry starts clean, and the error is returned.
    pub fn create_posix_container(&self, spec: &PosixContainerSpec) -> Result<Uuid> {
        const OP: &str = "dfs_cont_create_with_label";
        crate::label::validate_container_label(&spec.label)
            .map_err(|e| Error::invalid(OP, e.context().unwrap_or("invalid label").to_string()))?;
        if spec.properties.contains(PropType::LABEL) {
            return Err(Error::invalid(
                OP,
                "the label is given as PosixContainerSpec::label, not as a property",
            ));
        }
        // Found before anything exists, rather than by dfs_chmod on a container just made.
        if let Some(mode) = spec.root_mode {
            let subject = format!("root directory of container {:?}", spec.label);
            check_mode("Pool::create_posix_container", mode, &subject)?;
        }
        let props = if spec.properties.is_empty() {
            None
        } else {
            Some(RawProp::from_properties(&spec.properties)?)
        };
        let mut attr = dfs_attr(spec, props.as_ref())?;
        let label = c_string(OP, "label", &spec.label)?;
        let mut uuid: daos_sys::uuid_t = [0; 16];
        // SAFETY: every pointer is valid for the call (attr, props and label live on this frame);
        // no container handle or mount is requested.
        let rc = unsafe {
            daos_sys::dfs_cont_create_with_label(
                self.raw_handle(),
                label.as_ptr(),
                &mut attr,
                &mut uuid,
                null_mut(),
                null_mut(),
            )
        };
        check_errno(OP, rc).map_err(|e| e.with_context(format!("container {:?}", spec.label)))?;
        let uuid = crate::uuid::from_raw(&uuid);
        let wants_root_setup = spec.root_owner.is_some() || spec.root_mode.is_some();
        if wants_root_setup && let Err(e) = self.prepare_root(&uuid, spec) {
            if let Err(undo) = self.destroy_container(&uuid.to_string(), true) {
                tracing::warn!(error = %undo, "could not remove a POSIX container whose root setup failed");
            }
            return Err(e);
        }
        Ok(uuid)
    }

    fn prepare_root(&self, uuid: &Uuid, spec: &PosixContainerSpec) -> Result<()> {
        let cont = self.open_container(&uuid.to_string(), ContainerAccess::ReadWrite)?;
        let fs = cont.mount_dfs(ContainerAccess::ReadWrite)?;
        if let Some((uid, gid)) = spec.root_owner {
            fs.chown("/", uid, gid)?;
        }
        if let Some(mode) = spec.root_mode {
            fs.chmod("/", mode)?;
        }
        fs.unmount()?;
        cont.close()
    }
}

/// What `dfs_stat` reports about a file or directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStat {
    /// Type and permission bits (`st_mode`).
    pub mode: u32,
    /// Owner uid (recorded by DFS, not enforced).
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Inode number.
    pub ino: u64,
    /// Last access.
    pub atime: SystemTime,
    /// Last modification.
    pub mtime: SystemTime,
    /// Last status change.
    pub ctime: SystemTime,
}

impl FileStat {
    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }

    /// The permission bits (including setuid, setgid and sticky).
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

fn time_of(ts: &daos_sys::timespec) -> SystemTime {
    if ts.tv_sec >= 0 {
        UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32)
    } else {
        UNIX_EPOCH
    }
}

impl From<&daos_sys::stat> for FileStat {
    fn from(st: &daos_sys::stat) -> FileStat {
        FileStat {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            size: st.st_size.max(0) as u64,
            ino: st.st_ino,
            atime: time_of(&st.st_atim),
            mtime: time_of(&st.st_mtim),
            ctime: time_of(&st.st_ctim),
        }
    }
}

/// Attributes of a mounted POSIX container (`dfs_query`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DfsAttributes {
    /// Internal id of the file system.
    pub id: u64,
    /// Default chunk size in bytes.
    pub chunk_size: u64,
    /// Default object class id.
    pub object_class: u32,
    /// Object class id of directories.
    pub dir_object_class: u32,
    /// Object class id of files.
    pub file_object_class: u32,
    /// Consistency mode (`DFS_RELAXED` 0 or `DFS_BALANCED` 4).
    pub mode: u32,
    /// Object class hints.
    pub hints: String,
}

/// Pool space as a file system sees it (what dfuse's `statfs` reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsUsage {
    /// Total bytes of the pool.
    pub total_bytes: u64,
    /// Free bytes of the pool.
    pub free_bytes: u64,
}

/// Kind of a directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// Directory.
    Directory,
    /// Regular file.
    File,
    /// Symbolic link.
    Symlink,
    /// Anything else, or not reported.
    Other,
}

impl FileType {
    /// The kind a `st_mode` names.
    pub fn of_mode(mode: u32) -> FileType {
        match mode & libc::S_IFMT {
            libc::S_IFDIR => FileType::Directory,
            libc::S_IFREG => FileType::File,
            libc::S_IFLNK => FileType::Symlink,
            _ => FileType::Other,
        }
    }
}

/// An object opened with `dfs_open`/`dfs_lookup`, released on drop.
pub(crate) struct DfsObj(NonNull<daos_sys::dfs_obj_t>);

// SAFETY: libdfs lets several threads use one object at once (dfuse reads and writes an open
// file from all its FUSE threads); the handle is released once, by Drop.
unsafe impl Send for DfsObj {}
// SAFETY: as above.
unsafe impl Sync for DfsObj {}

impl DfsObj {
    pub(crate) fn as_ptr(&self) -> *mut daos_sys::dfs_obj_t {
        self.0.as_ptr()
    }
}

impl Drop for DfsObj {
    fn drop(&mut self) {
        // SAFETY: obtained from libdfs and released exactly once.
        let rc = unsafe { daos_sys::dfs_release(self.0.as_ptr()) };
        if rc != 0 {
            tracing::warn!(error = %Error::from_errno("dfs_release", rc), "DFS object leaked");
        }
    }
}

/// A path split into the parent directory components and the last name (None for the root).
#[derive(Debug)]
struct SplitPath {
    parent: Vec<String>,
    name: Option<CString>,
    display: String,
}

/// Splits a path; refusals name `method`, the Rust method that was given the path.
fn split_path(method: &'static str, path: &str) -> Result<SplitPath> {
    let op = method;
    let mut parts: Vec<String> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(Error::invalid(
                    op,
                    format!("path {path:?}: '..' is not supported"),
                ));
            }
            p if p.len() > daos_sys::DFS_MAX_NAME as usize => {
                return Err(Error::invalid(
                    op,
                    format!(
                        "path {path:?}: a name is longer than DFS_MAX_NAME ({} bytes)",
                        daos_sys::DFS_MAX_NAME
                    ),
                ));
            }
            p => parts.push(p.to_string()),
        }
    }
    if path.contains('\0') {
        return Err(Error::invalid(
            op,
            format!("path {path:?} contains a NUL byte"),
        ));
    }
    let name = parts.pop().map(|n| c_string(op, "name", &n)).transpose()?;
    Ok(SplitPath {
        parent: parts,
        name,
        display: path.to_string(),
    })
}

/// The mount itself, shared by a [`Dfs`], its clones, and every [`File`] and [`ReadDir`] of it;
/// the last one to go unmounts.
pub(crate) struct MountInner {
    raw: NonNull<daos_sys::dfs_t>,
    /// Keeps the container handle (and through it the pool connection) open until after
    /// `dfs_umount`: fields drop after `Drop::drop` has unmounted.
    container: Container,
    /// `O_RDONLY` or `O_RDWR`: directories are looked up with the mount's own mode (libdfs
    /// refuses read-write opens on a read-only mount, and writes through read-only parents).
    amode: i32,
    unmounted: bool,
}

// SAFETY: a dfs_t is safe to use from several threads at once (libdfs protects its shared
// state; dfuse serves all FUSE threads from one mount). Container is Send + Sync.
unsafe impl Send for MountInner {}
// SAFETY: as above.
unsafe impl Sync for MountInner {}

impl MountInner {
    pub(crate) fn ptr(&self) -> *mut daos_sys::dfs_t {
        self.raw.as_ptr()
    }

    pub(crate) fn describe(&self) -> String {
        self.container.describe()
    }
}

impl Drop for MountInner {
    fn drop(&mut self) {
        if self.unmounted {
            return;
        }
        // SAFETY: live mount; every object of it was released (each File and ReadDir holds a
        // clone of this value and releases its object first).
        let rc = unsafe { daos_sys::dfs_umount(self.raw.as_ptr()) };
        if rc != 0 {
            tracing::warn!(error = %Error::from_errno("dfs_umount", rc).with_context(self.container.describe()), "DFS mount leaked");
        }
    }
}

/// A mounted POSIX container.
///
/// It owns what it needs: a clone of its [`Container`] (so the container handle stays open
/// until the mount is gone: `daos_cont_close` would return `-DER_BUSY` before `dfs_umount`).
/// So a mount can live in a struct beside other state, be moved into `tokio::spawn` or
/// `spawn_blocking`, and be shared: it is `Send`, `Sync` and `Clone`, and clones share one
/// `dfs_t`. The last clone, [`File`] or [`ReadDir`] to be dropped unmounts (`dfs_umount`).
#[derive(Clone)]
pub struct Dfs {
    inner: Arc<MountInner>,
}

impl std::fmt::Debug for Dfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dfs")
            .field("container", &self.inner.container)
            .field("read_only", &(self.inner.amode == libc::O_RDONLY))
            .finish()
    }
}

impl Container {
    /// Mounts the container's POSIX file system (`dfs_mount`). The container must have been
    /// created as a POSIX container (`EINVAL` otherwise); a read-write mount needs a
    /// read-write container handle. The mount keeps a clone of this `Container`.
    pub fn mount_dfs(&self, access: ContainerAccess) -> Result<Dfs> {
        let flags = match access {
            ContainerAccess::ReadOnly => libc::O_RDONLY,
            ContainerAccess::ReadWrite | ContainerAccess::Exclusive => libc::O_RDWR,
        };
        let mut raw: *mut daos_sys::dfs_t = null_mut();
        // SAFETY: both handles are live (we hold the container, which holds its pool);
        // `raw` is a valid out-pointer.
        let rc = unsafe {
            daos_sys::dfs_mount(self.pool().raw_handle(), self.raw_handle(), flags, &mut raw)
        };
        check_errno("dfs_mount", rc).map_err(|e| e.with_context(self.describe()))?;
        let raw = NonNull::new(raw).ok_or_else(|| Error::from_errno("dfs_mount", libc::EIO))?;
        Ok(Dfs {
            inner: Arc::new(MountInner {
                raw,
                container: self.clone(),
                amode: flags,
                unmounted: false,
            }),
        })
    }
}

impl Container {
    /// Mounts snapshot `epoch` of this POSIX container read-only (`dfs_mount_snap`, DAOS 2.8
    /// on). The mount shows the tree as it was when the snapshot was taken; writes through it
    /// fail with `EPERM`, as on any read-only mount. libdfs does not check that `epoch` names
    /// a snapshot (src/client/dfs/mnt.c and `dc_tx_open_snap`, v2.8.0): an epoch from before
    /// the container's root existed fails with `ENOENT`; [`Epoch`](crate::Epoch) 0 and `DAOS_EPOCH_MAX` with
    /// `EINVAL`. Take epochs from [`Container::list_snapshots`] or
    /// [`Container::find_snapshot`]. The mount keeps a clone of this `Container`.
    #[cfg(not(daos_api_2_6))]
    pub fn mount_dfs_snapshot(&self, epoch: crate::snapshot::Epoch) -> Result<Dfs> {
        const OP: &str = "dfs_mount_snap";
        let mut raw: *mut daos_sys::dfs_t = null_mut();
        // SAFETY: both handles are live (we hold the container, which holds its pool); the
        // name is NULL (the epoch is given); `raw` is a valid out-pointer.
        let rc = unsafe {
            daos_sys::dfs_mount_snap(
                self.pool().raw_handle(),
                self.raw_handle(),
                libc::O_RDONLY,
                epoch.value(),
                null(),
                &mut raw,
            )
        };
        check_errno(OP, rc)
            .map_err(|e| e.with_context(format!("{}, snapshot {epoch}", self.describe())))?;
        let raw = NonNull::new(raw).ok_or_else(|| Error::from_errno(OP, libc::EIO))?;
        Ok(Dfs {
            inner: Arc::new(MountInner {
                raw,
                container: self.clone(),
                amode: libc::O_RDONLY,
                unmounted: false,
            }),
        })
    }

    /// DAOS 2.6 has no `dfs_mount_snap`: a build for it answers `DER_NOSYS`, raised here
    /// (no C call), so code written for both versions compiles against either.
    #[cfg(daos_api_2_6)]
    pub fn mount_dfs_snapshot(&self, epoch: crate::snapshot::Epoch) -> Result<Dfs> {
        Err(Error::raised(
            "Container::mount_dfs_snapshot",
            crate::Der::Nosys,
            format!(
                "reading snapshot {epoch} needs DAOS 2.8 (dfs_mount_snap); this build is for DAOS 2.6"
            ),
        ))
    }
}

impl Dfs {
    /// The container this file system lives in.
    pub fn container(&self) -> &Container {
        &self.inner.container
    }

    /// Whether the mount is read-only (writes fail with `EPERM`).
    pub fn is_read_only(&self) -> bool {
        self.inner.amode == libc::O_RDONLY
    }

    pub(crate) fn mount(&self) -> &Arc<MountInner> {
        &self.inner
    }

    fn ptr(&self) -> *mut daos_sys::dfs_t {
        self.inner.ptr()
    }

    fn lookup_dir(
        &self,
        op: &'static str,
        components: &[String],
        display: &str,
    ) -> Result<Option<DfsObj>> {
        let mut current: Option<DfsObj> = None;
        for component in components {
            let name = c_string(op, "name", component)?;
            let mut obj: *mut daos_sys::dfs_obj_t = null_mut();
            let mut mode: daos_sys::mode_t = 0;
            let parent = current.as_ref().map_or(null_mut(), DfsObj::as_ptr);
            // SAFETY: the mount is live; parent is NULL (root) or an object we hold; out
            // pointers are valid; stbuf is optional.
            let rc = unsafe {
                daos_sys::dfs_lookup_rel(
                    self.ptr(),
                    parent,
                    name.as_ptr(),
                    self.inner.amode,
                    &mut obj,
                    &mut mode,
                    null_mut(),
                )
            };
            check_errno("dfs_lookup_rel", rc)
                .map_err(|e| e.with_context(format!("path {display:?}")))?;
            let obj = NonNull::new(obj)
                .map(DfsObj)
                .ok_or_else(|| Error::from_errno("dfs_lookup_rel", libc::EIO))?;
            if mode & libc::S_IFMT != libc::S_IFDIR {
                return Err(Error::raised(
                    op,
                    Der::Notdir,
                    format!("path {display:?}: {component:?} is not a directory"),
                ));
            }
            current = Some(obj);
        }
        Ok(current)
    }

    /// Resolves the parent of `path`; returns (parent object or None for root, last name).
    /// `op` is the Rust method resolving it: checks made here name it.
    fn resolve(
        &self,
        op: &'static str,
        path: &str,
    ) -> Result<(Option<DfsObj>, Option<CString>, String)> {
        let split = split_path(op, path)?;
        let parent = self.lookup_dir(op, &split.parent, &split.display)?;
        Ok((parent, split.name, split.display))
    }

    fn name_ptr(name: &Option<CString>) -> *const c_char {
        name.as_ref().map_or(null(), |n| n.as_ptr())
    }

    /// Status of a file or directory; `/` is the root.
    pub fn stat(&self, path: &str) -> Result<FileStat> {
        const OP: &str = "dfs_stat";
        let (parent, name, display) = self.resolve("Dfs::stat", path)?;
        let mut st = daos_sys::stat::default();
        let parent_ptr = parent.as_ref().map_or(null_mut(), DfsObj::as_ptr);
        // SAFETY: live mount; parent/name NULL together mean the root; `st` is a valid buffer.
        let rc =
            unsafe { daos_sys::dfs_stat(self.ptr(), parent_ptr, Self::name_ptr(&name), &mut st) };
        check_errno(OP, rc).map_err(|e| e.with_context(format!("path {display:?}")))?;
        Ok(FileStat::from(&st))
    }

    /// Whether `path` exists.
    pub fn exists(&self, path: &str) -> Result<bool> {
        match self.stat(path) {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Changes the owner of a file or directory (`dfs_chown`, following symlinks). DFS
    /// records uid and gid; it does not enforce them.
    pub fn chown(&self, path: &str, uid: u32, gid: u32) -> Result<()> {
        const OP: &str = "dfs_chown";
        let (parent, name, display) = self.resolve("Dfs::chown", path)?;
        let parent_ptr = parent.as_ref().map_or(null_mut(), DfsObj::as_ptr);
        // SAFETY: live mount; parent/name as in `stat`.
        let rc = unsafe {
            daos_sys::dfs_chown(self.ptr(), parent_ptr, Self::name_ptr(&name), uid, gid, 0)
        };
        check_errno(OP, rc).map_err(|e| e.with_context(format!("path {display:?}")))
    }

    /// Changes the permission bits of a file or directory (`dfs_chmod`).
    ///
    /// libdfs keeps setuid and setgid but refuses the sticky bit (`ENOTSUP`); such a mode is
    /// refused here, before any call to libdfs (the error names `Dfs::chmod`, not
    /// `dfs_chmod`). See [`check_mode`].
    pub fn chmod(&self, path: &str, mode: u32) -> Result<()> {
        const OP: &str = "dfs_chmod";
        check_mode("Dfs::chmod", mode, &format!("path {path:?}"))?;
        let (parent, name, display) = self.resolve("Dfs::chmod", path)?;
        let parent_ptr = parent.as_ref().map_or(null_mut(), DfsObj::as_ptr);
        // SAFETY: live mount; parent/name as in `stat`.
        let rc = unsafe {
            daos_sys::dfs_chmod(self.ptr(), parent_ptr, Self::name_ptr(&name), mode & 0o7777)
        };
        check_errno(OP, rc).map_err(|e| e.with_context(format!("path {display:?}")))
    }

    /// Creates a directory (`dfs_mkdir`); `EEXIST` if it exists, `ENOENT` if the parent does
    /// not.
    pub fn mkdir(&self, path: &str, mode: u32) -> Result<()> {
        const OP: &str = "dfs_mkdir";
        let (parent, name, display) = self.resolve("Dfs::mkdir", path)?;
        let Some(name) = name else {
            return Err(Error::raised(
                "Dfs::mkdir",
                Der::Exist,
                "the root directory exists",
            ));
        };
        let parent_ptr = parent.as_ref().map_or(null_mut(), DfsObj::as_ptr);
        // SAFETY: live mount; parent NULL means root; class 0 = container default.
        let rc =
            unsafe { daos_sys::dfs_mkdir(self.ptr(), parent_ptr, name.as_ptr(), mode & 0o7777, 0) };
        check_errno(OP, rc).map_err(|e| e.with_context(format!("path {display:?}")))
    }

    /// Creates a directory and any missing parents; existing directories are fine.
    pub fn mkdir_all(&self, path: &str, mode: u32) -> Result<()> {
        let split = split_path("Dfs::mkdir_all", path)?;
        let mut prefix = String::new();
        for component in split
            .parent
            .iter()
            .map(String::as_str)
            .chain(split.name.as_deref().and_then(|n| n.to_str().ok()))
        {
            prefix.push('/');
            prefix.push_str(component);
            match self.mkdir(&prefix, mode) {
                Ok(()) => {}
                Err(e) if e.is_exists() && self.stat(&prefix)?.is_dir() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// `dfs_open` of any kind of entry; `value` is a new symbolic link's target.
    fn open_entry(
        &self,
        op: &'static str,
        path: &str,
        flags: i32,
        mode: u32,
        value: Option<&CStr>,
    ) -> Result<DfsObj> {
        let (parent, name, display) = self.resolve(op, path)?;
        let Some(name) = name else {
            return Err(Error::invalid(
                op,
                "the root directory is a directory, not a file",
            ));
        };
        let parent_ptr = parent.as_ref().map_or(null_mut(), DfsObj::as_ptr);
        let mut obj: *mut daos_sys::dfs_obj_t = null_mut();
        // SAFETY: live mount; valid name, value (NULL or a string) and out pointer; class and
        // chunk size 0 = defaults.
        let rc = unsafe {
            daos_sys::dfs_open(
                self.ptr(),
                parent_ptr,
                name.as_ptr(),
                mode,
                flags,
                0,
                0,
                value.map_or(null(), CStr::as_ptr),
                &mut obj,
            )
        };
        check_errno("dfs_open", rc).map_err(|e| e.with_context(format!("path {display:?}")))?;
        NonNull::new(obj)
            .map(DfsObj)
            .ok_or_else(|| Error::from_errno("dfs_open", libc::EIO))
    }

    /// Creates a symbolic link at `path` to `target` (`dfs_open` with `S_IFLNK`); `EEXIST` if
    /// `path` exists. The target is stored as given and resolved inside the container.
    pub fn symlink(&self, path: &str, target: &str) -> Result<()> {
        const METHOD: &str = "Dfs::symlink";
        let value = c_string(METHOD, "symbolic link target", target)?;
        self.open_entry(
            METHOD,
            path,
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
            libc::S_IFLNK | 0o777,
            Some(&value),
        )
        .map(drop)
    }

    /// Writes `data` as the whole content of a file, creating it (mode 0644) or truncating it.
    pub fn write_file(&self, path: &str, data: &[u8]) -> Result<()> {
        self.write_file_with_mode(path, data, 0o644)
    }

    /// [`Dfs::write_file`] with the mode a new file gets.
    pub fn write_file_with_mode(&self, path: &str, data: &[u8], mode: u32) -> Result<()> {
        self.create_file(path, mode)?.write_at(data, 0)
    }

    /// Reads a whole file. For large files, use [`File::read_chunks`] or
    /// [`std::io::Read`] on [`Dfs::open_file`].
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>> {
        let file = self.open_file(path)?;
        let size = file.len()?;
        let len = usize::try_from(size).map_err(|_| {
            Error::raised(
                "Dfs::read_file",
                Der::Overflow,
                format!("path {path:?}: {size} bytes do not fit in memory"),
            )
        })?;
        let mut buf = vec![0u8; len];
        let mut filled = 0;
        while filled < len {
            let n = file.read_at(&mut buf[filled..], filled as u64)?;
            if n == 0 {
                // Shrunk since its size was read.
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        Ok(buf)
    }

    fn lookup_root(&self) -> Result<DfsObj> {
        let mut obj: *mut daos_sys::dfs_obj_t = null_mut();
        let mut mode: daos_sys::mode_t = 0;
        let root = c"/";
        // SAFETY: live mount; valid path and out pointers.
        let rc = unsafe {
            daos_sys::dfs_lookup(
                self.ptr(),
                root.as_ptr(),
                self.inner.amode,
                &mut obj,
                &mut mode,
                null_mut(),
            )
        };
        check_errno("dfs_lookup", rc).map_err(|e| e.with_context("the root directory"))?;
        NonNull::new(obj)
            .map(DfsObj)
            .ok_or_else(|| Error::from_errno("dfs_lookup", libc::EIO))
    }

    /// Removes a file or an empty directory; with `recursive`, a directory and everything in
    /// it (`dfs_remove` with `force`).
    pub fn remove(&self, path: &str, recursive: bool) -> Result<()> {
        const OP: &str = "dfs_remove";
        let (parent, name, display) = self.resolve("Dfs::remove", path)?;
        let Some(name) = name else {
            return Err(Error::raised(
                "Dfs::remove",
                Der::Busy,
                "the root directory cannot be removed",
            ));
        };
        let parent_ptr = parent.as_ref().map_or(null_mut(), DfsObj::as_ptr);
        // SAFETY: live mount; valid name; the removed object's id is not wanted.
        let rc = unsafe {
            daos_sys::dfs_remove(self.ptr(), parent_ptr, name.as_ptr(), recursive, null_mut())
        };
        check_errno(OP, rc).map_err(|e| e.with_context(format!("path {display:?}")))
    }

    /// The file system's creation attributes (`dfs_query`).
    pub fn query(&self) -> Result<DfsAttributes> {
        let mut attr = daos_sys::dfs_attr_t::default();
        // SAFETY: live mount; `attr` is a valid buffer.
        let rc = unsafe { daos_sys::dfs_query(self.ptr(), &mut attr) };
        check_errno("dfs_query", rc).map_err(|e| e.with_context(self.inner.describe()))?;
        // SAFETY: da_hints is a fixed array; CStr stops at its NUL or the array end.
        let hint_bytes: &[u8] = unsafe {
            std::slice::from_raw_parts(attr.da_hints.as_ptr() as *const u8, attr.da_hints.len())
        };
        let hints = CStr::from_bytes_until_nul(hint_bytes)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|_| String::from_utf8_lossy(hint_bytes).into_owned());
        Ok(DfsAttributes {
            id: attr.da_id,
            chunk_size: attr.da_chunk_size,
            object_class: attr.da_oclass_id,
            dir_object_class: attr.da_dir_oclass_id,
            file_object_class: attr.da_file_oclass_id,
            mode: attr.da_mode,
            hints,
        })
    }

    /// Size and free space, as `statfs` on a dfuse mount reports them (the pool's).
    pub fn statfs(&self) -> Result<FsUsage> {
        let info = self.inner.container.pool().query()?;
        Ok(FsUsage {
            total_bytes: info.total_bytes,
            free_bytes: info.free_bytes,
        })
    }

    /// Unmounts now and reports the result (`dfs_umount`), if this is the last user of the
    /// mount. Otherwise returns `-DER_BUSY` (other clones, open [`File`]s or [`ReadDir`]s
    /// still use it), and only this clone goes away.
    pub fn unmount(self) -> Result<()> {
        let mut inner = Arc::try_unwrap(self.inner).map_err(|_| {
            Error::raised(
                "Dfs::unmount",
                Der::Busy,
                "other clones, files or listings of this mount are still alive",
            )
        })?;
        // SAFETY: live mount, no other user; unmounted once (Drop sees `unmounted`).
        let rc = unsafe { daos_sys::dfs_umount(inner.ptr()) };
        inner.unmounted = rc == 0;
        check_errno("dfs_umount", rc).map_err(|e| e.with_context(inner.describe()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let p = split_path("op", "/a/./b//c").unwrap();
        assert_eq!(p.parent, vec!["a", "b"]);
        assert_eq!(p.name.unwrap().to_str().unwrap(), "c");
        let root = split_path("op", "/").unwrap();
        assert!(root.parent.is_empty() && root.name.is_none());
        assert!(split_path("op", "").unwrap().name.is_none());
        assert_eq!(
            split_path("op", "x")
                .unwrap()
                .name
                .unwrap()
                .to_str()
                .unwrap(),
            "x"
        );
        assert!(split_path("op", "/a/../b").unwrap_err().is_invalid());
        assert!(split_path("op", "/a\0b").unwrap_err().is_invalid());
        let long = format!("/{}", "n".repeat(256));
        let too_long = split_path("Dfs::stat", &long).unwrap_err();
        assert!(
            too_long.is_invalid() && !too_long.is_from_daos(),
            "{too_long}"
        );
        assert_eq!(too_long.op(), "Dfs::stat");
    }

    #[test]
    fn object_class_numbers() {
        assert_eq!(numeric_class_id("0"), Some(0));
        assert_eq!(numeric_class_id("200"), Some(200));
        assert_eq!(numeric_class_id("0x10"), Some(16));
        assert_eq!(numeric_class_id("SX"), None);
    }

    #[test]
    fn attr_from_spec() {
        let mut spec = PosixContainerSpec::new("v");
        spec.chunk_size = Some(4096);
        spec.hints = Some("file:single".into());
        let attr = dfs_attr(&spec, None).unwrap();
        assert_eq!(attr.da_chunk_size, 4096);
        assert_eq!(attr.da_oclass_id, 0);
        assert_eq!(attr.da_hints[0] as u8, b'f');
        assert_eq!(attr.da_hints[11], 0);
        spec.hints = Some("x".repeat(MAX_HINTS_LEN + 1));
        assert!(dfs_attr(&spec, None).unwrap_err().is_invalid());
    }
}
