//! Small building blocks for state shared between processes: atomic file replacement, advisory
//! locks, process identity, and a shared 64-bit counter in a mapped file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Replaces `path` with `data` atomically (a reader sees the old or the new file, never a mix).
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates `path` only if it does not exist yet, with `data` in it.
pub fn create_exclusive(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)?;
    f.write_all(data)
}

/// An advisory `flock` held until dropped.
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Locks `path` (created if missing), shared or exclusive, waiting as long as it takes.
    pub fn acquire(path: &Path, exclusive: bool) -> io::Result<FileLock> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let op = if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        };
        loop {
            // SAFETY: flock on a descriptor we own for the duration of the call.
            let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
            if rc == 0 {
                return Ok(FileLock { file });
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// The locked file.
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // SAFETY: unlocking a descriptor we own; closing it would release the lock anyway.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Lower-case hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Inverse of [`hex_encode`].
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A process as the emulated system tracks it: pid plus start time, so a recycled pid does not
/// keep a dead process's handles alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessId {
    /// The pid.
    pub pid: u32,
    /// Field 22 of `/proc/<pid>/stat` (clock ticks since boot).
    pub start: u64,
}

impl ProcessId {
    /// This process. Recomputed after a fork, since the child is another process.
    pub fn current() -> ProcessId {
        static CACHED: parking_lot::Mutex<Option<ProcessId>> = parking_lot::Mutex::new(None);
        let pid = std::process::id();
        let mut cached = CACHED.lock();
        if let Some(p) = *cached
            && p.pid == pid
        {
            return p;
        }
        let me = ProcessId {
            pid,
            start: start_time(pid).unwrap_or(0),
        };
        *cached = Some(me);
        me
    }

    /// True while this exact process is running (zombies count as gone).
    pub fn is_alive(&self) -> bool {
        match proc_stat(self.pid) {
            Some((state, start)) => start == self.start && state != 'Z' && state != 'X',
            None => false,
        }
    }

    /// `"<pid>.<start>"`, the prefix of the handle files of this process.
    pub fn tag(&self) -> String {
        format!("{}.{}", self.pid, self.start)
    }

    /// Parses the prefix written by [`ProcessId::tag`].
    pub fn from_tag(tag: &str) -> Option<ProcessId> {
        let mut it = tag.split('.');
        let pid = it.next()?.parse().ok()?;
        let start = it.next()?.parse().ok()?;
        Some(ProcessId { pid, start })
    }
}

fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: parse after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

fn start_time(pid: u32) -> Option<u64> {
    proc_stat(pid).map(|(_, s)| s)
}

/// A 64-bit counter in a file mapped shared by every process that opens it.
pub struct SharedCounter {
    ptr: *const AtomicU64,
    _file: File,
}

// SAFETY: the mapping is MAP_SHARED memory accessed only through an AtomicU64; it stays mapped
// for the lifetime of the value (never unmapped while shared).
unsafe impl Send for SharedCounter {}
// SAFETY: see above; all access is atomic.
unsafe impl Sync for SharedCounter {}

const COUNTER_FILE_LEN: usize = 4096;

impl SharedCounter {
    /// Maps `path`, creating it (zeroed) if needed.
    pub fn open(path: &Path) -> io::Result<SharedCounter> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        if file.metadata()?.len() < COUNTER_FILE_LEN as u64 {
            file.set_len(COUNTER_FILE_LEN as u64)?;
        }
        // SAFETY: mapping a file we hold open, with a length it has; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                COUNTER_FILE_LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(SharedCounter {
            ptr: ptr as *const AtomicU64,
            _file: file,
        })
    }

    fn atomic(&self) -> &AtomicU64 {
        // SAFETY: ptr is a live, page-aligned shared mapping (so 8-byte aligned) for our
        // lifetime; AtomicU64 has the layout of u64.
        unsafe { &*self.ptr }
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.atomic().load(Ordering::Acquire)
    }

    /// Adds `n` if the result stays at or below `limit`; false (and no change) otherwise.
    pub fn try_add(&self, n: u64, limit: u64) -> bool {
        let a = self.atomic();
        let mut cur = a.load(Ordering::Acquire);
        loop {
            let Some(next) = cur.checked_add(n).filter(|v| *v <= limit) else {
                return false;
            };
            match a.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Adds `n` unconditionally.
    pub fn add(&self, n: u64) {
        self.atomic().fetch_add(n, Ordering::AcqRel);
    }

    /// Subtracts `n`, stopping at zero.
    pub fn sub(&self, n: u64) {
        let a = self.atomic();
        let mut cur = a.load(Ordering::Acquire);
        loop {
            let next = cur.saturating_sub(n);
            match a.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }
}

impl Drop for SharedCounter {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region mapped in open(); no references outlive self.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, COUNTER_FILE_LEN) };
    }
}

/// The user name of `uid` in this process's passwd database.
pub fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: zeroed passwd is a valid out-parameter for getpwuid_r.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: all pointers are valid for the call; buf outlives the use of pwd's strings.
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        // SAFETY: on success pw_name points into buf, NUL-terminated.
        return Some(
            unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) }
                .to_string_lossy()
                .into_owned(),
        );
    }
}

/// The group name of `gid` in this process's group database.
pub fn group_name(gid: u32) -> Option<String> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: zeroed group is a valid out-parameter for getgrgid_r.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: all pointers are valid for the call; buf outlives the use of grp's strings.
        let rc = unsafe {
            libc::getgrgid_r(
                gid,
                &mut grp,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        // SAFETY: on success gr_name points into buf, NUL-terminated.
        return Some(
            unsafe { std::ffi::CStr::from_ptr(grp.gr_name) }
                .to_string_lossy()
                .into_owned(),
        );
    }
}

/// uid of a user name in this process's passwd database.
pub fn uid_of(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: zeroed passwd is a valid out-parameter.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: valid pointers for the duration of the call.
    let rc = unsafe {
        libc::getpwnam_r(
            c.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some(pwd.pw_uid)
}

/// gid of a group name in this process's group database.
pub fn gid_of(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: zeroed group is a valid out-parameter.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::group = std::ptr::null_mut();
    // SAFETY: valid pointers for the duration of the call.
    let rc = unsafe {
        libc::getgrnam_r(
            c.as_ptr(),
            &mut grp,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some(grp.gr_gid)
}

/// Effective uid and gid of this process.
pub fn euid_egid() -> (u32, u32) {
    // SAFETY: geteuid/getegid have no preconditions.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// Sets the access and modification times of `path` itself (a symbolic link is not followed),
/// each as (seconds, nanoseconds); `None` leaves that time as it is.
pub fn set_times_nofollow(
    path: &Path,
    atime: Option<(i64, i64)>,
    mtime: Option<(i64, i64)>,
) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let spec = |t: Option<(i64, i64)>| match t {
        Some((sec, nsec)) => libc::timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        },
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
    };
    let times = [spec(atime), spec(mtime)];
    // SAFETY: a NUL-terminated path and an array of two timespecs, as utimensat requires.
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Removes a directory tree, ignoring a tree that is already gone.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// `path` joined with `name`, for building state paths.
pub fn join(path: &Path, name: &str) -> PathBuf {
    path.join(name)
}

/// A directory whose contents are lazily created once per process.
pub fn ensure_dir(path: &Path) -> io::Result<()> {
    match std::fs::create_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// Nanoseconds since the Unix epoch.
pub fn unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Process-wide once-initialised value keyed by nothing; a tiny alias for readability.
pub type Lazy<T> = OnceLock<T>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let data = [0u8, 1, 0x7f, 0x80, 0xff];
        assert_eq!(hex_encode(&data), "00017f80ff");
        assert_eq!(hex_decode("00017f80ff").unwrap(), data);
        assert!(hex_decode("0").is_none());
        assert!(hex_decode("zz").is_none());
    }

    #[test]
    fn this_process_is_alive_and_a_fake_one_is_not() {
        let me = ProcessId::current();
        assert!(me.is_alive());
        assert_eq!(ProcessId::from_tag(&me.tag()), Some(me));
        let recycled = ProcessId {
            pid: me.pid,
            start: me.start + 1,
        };
        assert!(!recycled.is_alive());
    }

    #[test]
    fn shared_counter_limits() {
        let dir = tempfile::tempdir().unwrap();
        let c = SharedCounter::open(&dir.path().join("c")).unwrap();
        assert!(c.try_add(10, 15));
        assert!(!c.try_add(6, 15));
        assert!(c.try_add(5, 15));
        c.sub(100);
        assert_eq!(c.get(), 0);
        let again = SharedCounter::open(&dir.path().join("c")).unwrap();
        c.add(7);
        assert_eq!(again.get(), 7, "two mappings of one file share the value");
    }
}
