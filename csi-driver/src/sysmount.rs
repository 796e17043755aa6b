//! File system calls that can hang on a dead or stuck FUSE daemon (stat,
//! statfs, umount), run off the async runtime's threads with a deadline, plus
//! the bind-mount and unmount primitives.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sys::statvfs::Statvfs;

use crate::mountinfo::{self, MountEntry};

/// Runs `f` on a [`fsworkers`](crate::fsworkers) thread and waits at most
/// `deadline` for it.
///
/// A call stuck in the kernel (hung FUSE request) cannot be cancelled; its
/// thread is left behind, which is the price of never blocking a runtime or
/// blocking-pool thread on it.
pub async fn with_deadline<T, F>(deadline: Duration, what: &str, f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    crate::fsworkers::Workers::global().run(Box::new(move || {
        // The caller may have given up (its deadline) before a thread took
        // this: then the call is not made at all.
        if !tx.is_closed() {
            let _ = tx.send(f());
        }
    }))?;
    match tokio::time::timeout(deadline, rx).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(io::Error::other(format!(
            "{what}: worker thread ended without a result"
        ))),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what}: no answer within {deadline:?} (hung file system?)"),
        )),
    }
}

/// What a `stat` of a path says about the mount behind it.
#[derive(Debug)]
pub enum PathHealth {
    /// The path answers.
    Live,
    /// Nothing at the path.
    Missing,
    /// ENOTCONN: a FUSE mount whose daemon is gone.
    Disconnected,
    /// No answer within the deadline.
    Hung,
    /// Another error (e.g. EACCES, EIO).
    Error(io::Error),
}

impl PathHealth {
    /// Its daemon is gone. A mount that is only slow to answer is not dead:
    /// it still serves whoever is bound to it, so it is never detached or
    /// replaced on that ground.
    pub fn is_dead(&self) -> bool {
        matches!(self, PathHealth::Disconnected)
    }
}

/// Asks the file system at `path` for its statistics: unlike `stat`, which
/// the kernel may answer from FUSE's attribute cache, `statfs` always
/// reaches the daemon, so a dead dfuse shows as ENOTCONN at once.
pub async fn probe(path: &Path, deadline: Duration) -> PathHealth {
    match statvfs_guarded(path, deadline).await {
        Ok(_) => PathHealth::Live,
        Err(e) if e.kind() == io::ErrorKind::NotFound => PathHealth::Missing,
        Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => PathHealth::Disconnected,
        Err(e) if e.kind() == io::ErrorKind::TimedOut => PathHealth::Hung,
        Err(e) => PathHealth::Error(e),
    }
}

/// Paths whose statfs outlived its deadline and has not returned yet.
static STUCK: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

fn stuck() -> MutexGuard<'static, Option<HashSet<PathBuf>>> {
    STUCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One statfs call, until it returns or is dropped without being made:
/// then, under the STUCK lock, it says so and unmarks its path. A caller
/// that gives up marks the path only while the call is still out.
struct CallOut {
    path: PathBuf,
    returned: Arc<AtomicBool>,
}

impl Drop for CallOut {
    fn drop(&mut self) {
        let mut set = stuck();
        self.returned.store(true, Ordering::Relaxed);
        if let Some(s) = set.as_mut() {
            s.remove(&self.path);
        }
    }
}

/// `statvfs(path)` with a deadline. A path whose earlier statfs is still
/// stuck in the kernel answers TimedOut at once: asking a hung daemon again
/// (kubelet asks for volume stats every minute) would only strand one more
/// thread each time.
async fn statvfs_guarded(path: &Path, deadline: Duration) -> io::Result<Statvfs> {
    let already_stuck = stuck().as_ref().is_some_and(|s| s.contains(path));
    if already_stuck {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "statfs of {}: an earlier statfs has not returned (hung file system?)",
                path.display()
            ),
        ));
    }
    let returned = Arc::new(AtomicBool::new(false));
    let out = CallOut {
        path: path.to_path_buf(),
        returned: Arc::clone(&returned),
    };
    let result = with_deadline(deadline, "statfs", move || {
        let r = nix::sys::statvfs::statvfs(&out.path).map_err(io::Error::from);
        drop(out);
        r
    })
    .await;
    if matches!(&result, Err(e) if e.kind() == io::ErrorKind::TimedOut) {
        let mut set = stuck();
        if !returned.load(Ordering::Relaxed) {
            set.get_or_insert_with(HashSet::new)
                .insert(path.to_path_buf());
        }
    }
    result
}

/// Byte and inode counts of a mounted file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsUsage {
    pub total_bytes: u64,
    pub free_bytes: u64,
    pub available_bytes: u64,
    /// `None` when the file system does not count inodes (dfuse reports -1).
    pub inodes: Option<InodeUsage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InodeUsage {
    pub total: u64,
    pub free: u64,
}

pub async fn statfs(path: &Path, deadline: Duration) -> io::Result<FsUsage> {
    let st = statvfs_guarded(path, deadline).await?;
    Ok(usage_from(
        st.fragment_size(),
        st.blocks(),
        st.blocks_free(),
        st.blocks_available(),
        st.files(),
        st.files_free(),
    ))
}

/// Turns raw statvfs numbers into byte counts; `u64::MAX` and 0 inode totals
/// mean "not counted".
#[allow(clippy::unnecessary_cast)] // the statvfs field types differ between targets
fn usage_from(
    frsize: u64,
    blocks: u64,
    bfree: u64,
    bavail: u64,
    files: u64,
    ffree: u64,
) -> FsUsage {
    let frsize = frsize.max(1);
    let inodes = (files != 0 && files != u64::MAX).then_some(InodeUsage {
        total: files,
        free: ffree.min(files),
    });
    FsUsage {
        total_bytes: blocks.saturating_mul(frsize),
        free_bytes: bfree.saturating_mul(frsize),
        available_bytes: bavail.saturating_mul(frsize),
        inodes,
    }
}

/// `mount --bind source target` (creating the directory `target` when
/// missing), then a read-only remount when asked (MS_RDONLY is ignored on
/// the initial bind; it needs MS_REMOUNT|MS_BIND).
pub async fn bind_mount(
    source: &Path,
    target: &Path,
    read_only: bool,
    deadline: Duration,
) -> io::Result<()> {
    let (src, dst) = (source.to_path_buf(), target.to_path_buf());
    with_deadline(deadline, "bind mount", move || {
        ensure_dir(&dst)?;
        nix::mount::mount(
            Some(&src),
            &dst,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| {
            errno_error(
                e,
                format!("bind mount {} on {}", src.display(), dst.display()),
            )
        })?;
        if read_only {
            let flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY;
            if let Err(e) = nix::mount::mount(None::<&str>, &dst, None::<&str>, flags, None::<&str>)
            {
                // Never leave a writable bind behind a failed read-only publish.
                let _ = nix::mount::umount2(&dst, MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW);
                return Err(errno_error(
                    e,
                    format!("remount {} read-only", dst.display()),
                ));
            }
        }
        Ok(())
    })
    .await
}

/// Unmounts `path`; a mount that is dead (ENOTCONN), busy or hangs is detached
/// lazily (MNT_DETACH) instead, which cannot block.
///
/// Every unmount here is UMOUNT_NOFOLLOW: a symlink at the last component
/// (which whoever can write the parent directory may plant) would otherwise
/// redirect the unmount to any mount of the host; a symlink is no mount
/// point, so it reads as "not mounted".
pub async fn unmount(path: &Path, deadline: Duration) -> io::Result<()> {
    let p = path.to_path_buf();
    let first = with_deadline(deadline, "umount", move || {
        nix::mount::umount2(&p, MntFlags::UMOUNT_NOFOLLOW).map_err(io::Error::from)
    })
    .await;
    match first {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            // Not a mount point (any more): someone else unmounted it.
            Ok(())
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "unmount failed; detaching lazily");
            lazy_unmount(path)
        }
    }
}

/// MNT_DETACH: removes the mount from the namespace now, whatever state its
/// file system is in. Does not touch the file system, so it cannot hang.
pub fn lazy_unmount(path: &Path) -> io::Result<()> {
    match nix::mount::umount2(path, MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW) {
        Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(errno_error(
            e,
            format!("lazy unmount of {}", path.display()),
        )),
    }
}

fn errno_error(e: Errno, what: String) -> io::Error {
    io::Error::new(io::Error::from(e).kind(), format!("{what}: {e}"))
}

/// The dfuse mount at `path`, if the top-most mount there is one.
pub fn dfuse_mount_at(path: &Path) -> io::Result<Option<MountEntry>> {
    Ok(mountinfo::lookup(path)?.filter(MountEntry::is_dfuse))
}

/// If `path` holds a dead dfuse mount (ENOTCONN), detaches it and returns
/// true. Mounts of any other type are left alone: we only clean up
/// what is ours.
pub async fn clear_dead_dfuse_mount(path: &Path, deadline: Duration) -> io::Result<bool> {
    let mut cleared = false;
    // Stacked dead mounts (repeated failed attempts) are peeled one by one.
    for _ in 0..8 {
        if dfuse_mount_at(path)?.is_none() {
            break;
        }
        if !probe(path, deadline).await.is_dead() {
            break;
        }
        tracing::warn!(path = %path.display(), "detaching a dead dfuse mount");
        lazy_unmount(path)?;
        cleared = true;
    }
    Ok(cleared)
}

/// The file type bits (`S_IFDIR`, `S_IFLNK`, ...) of `path` itself, from the
/// kernel's cached attributes: `statx` with AT_STATX_DONT_SYNC never waits
/// for a FUSE daemon, so it answers for the root of a mount whose dfuse
/// hangs or is gone (a plain stat would block, or fail with ENOTCONN).
pub fn cached_file_type(path: &Path) -> io::Result<u32> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut buf = std::mem::MaybeUninit::<libc::statx>::zeroed();
    // SAFETY: c_path is a NUL-terminated string that outlives the call, and
    // buf is writable memory of the size statx(2) fills.
    let rc = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW | libc::AT_STATX_DONT_SYNC,
            libc::STATX_TYPE,
            buf.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statx returned 0, so it filled the buffer.
    let st = unsafe { buf.assume_init() };
    Ok(u32::from(st.stx_mode) & libc::S_IFMT)
}

/// Creates `path` as a directory (parents must exist); an existing directory
/// is fine, the root of a dead or hung mount included (whoever mounts there
/// next clears it first).
pub fn ensure_dir(path: &Path) -> io::Result<()> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if cached_file_type(path)? == libc::S_IFDIR {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a directory", path.display()),
                ))
            }
        }
        Err(e) => Err(e),
    }
}

/// Removes an empty directory; a missing one is fine.
pub fn remove_dir(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `path` with its parent canonicalised (symlinks resolved) and its last
/// component kept as is, so that a dead mount at `path` itself is never
/// touched.
pub fn resolve_parent(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no last component"))?;
    let parent = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    Ok(parent.canonicalize()?.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_scales_by_fragment_size() {
        let u = usage_from(4096, 100, 40, 30, 1000, 10);
        assert_eq!(u.total_bytes, 409_600);
        assert_eq!(u.free_bytes, 163_840);
        assert_eq!(u.available_bytes, 122_880);
        assert_eq!(
            u.inodes,
            Some(InodeUsage {
                total: 1000,
                free: 10
            })
        );
    }

    #[test]
    fn uncounted_inodes_are_none() {
        assert_eq!(usage_from(1, 10, 5, 5, u64::MAX, u64::MAX).inodes, None);
        assert_eq!(usage_from(1, 10, 5, 5, 0, 0).inodes, None);
        // frsize 0 would zero everything; treat as 1.
        assert_eq!(usage_from(0, 10, 5, 5, 0, 0).total_bytes, 10);
    }

    #[tokio::test]
    async fn deadline_fires_on_a_stuck_call() {
        let r: io::Result<()> = with_deadline(Duration::from_millis(50), "sleep", || {
            std::thread::sleep(Duration::from_secs(2));
            Ok(())
        })
        .await;
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::TimedOut);
        let r = with_deadline(Duration::from_secs(5), "quick", || Ok(7)).await;
        assert_eq!(r.unwrap(), 7);
    }

    /// The path is marked as a statfs that outlived its deadline leaves it
    /// (a FUSE daemon that never answers cannot be staged in a unit test).
    #[tokio::test]
    async fn a_path_still_stuck_is_not_asked_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hung");
        std::fs::create_dir(&path).unwrap();
        stuck()
            .get_or_insert_with(HashSet::new)
            .insert(path.clone());
        let started = std::time::Instant::now();
        assert!(matches!(
            probe(&path, Duration::from_secs(30)).await,
            PathHealth::Hung
        ));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "a stuck path was asked again"
        );
        let err = statfs(&path, Duration::from_secs(30)).await.unwrap_err();
        assert!(err.to_string().contains("has not returned"), "{err}");
        // Once the stuck call returns (it removes the path), the path is asked again.
        stuck().get_or_insert_with(HashSet::new).remove(&path);
        assert!(matches!(
            probe(&path, Duration::from_secs(5)).await,
            PathHealth::Live
        ));
    }

    #[tokio::test]
    async fn a_statfs_given_up_on_does_not_stay_marked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        // A zero deadline gives up before the worker can answer; the call then
        // returns and clears the mark on its own.
        let _ = statvfs_guarded(&path, Duration::ZERO).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while stuck().as_ref().is_some_and(|s| s.contains(&path))
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            !stuck().as_ref().is_some_and(|s| s.contains(&path)),
            "a statfs that returned left its path marked stuck"
        );
    }

    #[tokio::test]
    async fn probe_tells_missing_from_live() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            probe(dir.path(), Duration::from_secs(5)).await,
            PathHealth::Live
        ));
        let gone = dir.path().join("gone");
        assert!(matches!(
            probe(&gone, Duration::from_secs(5)).await,
            PathHealth::Missing
        ));
    }

    #[tokio::test]
    async fn unmount_does_not_follow_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let real = base.join("real");
        std::fs::create_dir(&real).unwrap();
        let mounted = nix::mount::mount(
            Some("tmpfs"),
            &real,
            Some("tmpfs"),
            MsFlags::empty(),
            Some("size=1m"),
        );
        if let Err(e) = mounted {
            println!("SKIP: cannot mount a tmpfs here ({e}); needs root");
            return;
        }
        let link = base.join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let deadline = Duration::from_secs(5);

        unmount(&link, deadline).await.unwrap();
        let still = mountinfo::lookup(&real).unwrap().is_some();
        lazy_unmount(&link).unwrap();
        let still_after_detach = mountinfo::lookup(&real).unwrap().is_some();
        unmount(&real, deadline).await.unwrap();
        assert!(
            still,
            "unmount through a symlink removed its target's mount"
        );
        assert!(still_after_detach, "lazy unmount followed a symlink");
        assert!(mountinfo::lookup(&real).unwrap().is_none());
    }

    #[test]
    fn ensure_and_remove_dir() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("t");
        ensure_dir(&d).unwrap();
        ensure_dir(&d).unwrap();
        remove_dir(&d).unwrap();
        remove_dir(&d).unwrap();
        let f = dir.path().join("file");
        std::fs::write(&f, b"x").unwrap();
        assert!(ensure_dir(&f).is_err());
    }
}
