//! Open files of a DFS mount: positioned and streaming I/O, blocking or through an
//! [`EventQueue`].

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::ptr::null_mut;
use std::sync::Arc;

use super::{Dfs, DfsObj, FileStat, MountInner};
use crate::eq::{EventQueue, OpFuture, Operation};
use crate::error::{Error, Result};
use crate::object::OneSgl;

/// How [`Dfs::open_options`] opens a file, in the manner of [`std::fs::OpenOptions`].
///
/// ```no_run
/// # fn demo(fs: &daos::Dfs) -> daos::Result<()> {
/// use std::io::Write;
///
/// let mut f = fs.open_options().write(true).create(true).truncate(true).mode(0o640).open("/log")?;
/// f.write_all(b"started\n").map_err(|e| daos::Error::invalid("demo", e.to_string()))?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "nothing is opened until `open` is called"]
pub struct OpenOptions {
    dfs: Dfs,
    read: bool,
    write: bool,
    create: bool,
    create_new: bool,
    truncate: bool,
    mode: u32,
}

impl OpenOptions {
    pub(super) fn new(dfs: &Dfs) -> OpenOptions {
        OpenOptions {
            dfs: dfs.clone(),
            read: true,
            write: false,
            create: false,
            create_new: false,
            truncate: false,
            mode: 0o644,
        }
    }

    /// Open for reading (the default).
    pub fn read(mut self, read: bool) -> OpenOptions {
        self.read = read;
        self
    }

    /// Open for writing; the mount must be read-write (`EPERM` otherwise).
    pub fn write(mut self, write: bool) -> OpenOptions {
        self.write = write;
        self
    }

    /// Create the file if it does not exist (needs `write`).
    pub fn create(mut self, create: bool) -> OpenOptions {
        self.create = create;
        self
    }

    /// Create the file, failing with `EEXIST` if it exists (needs `write`).
    pub fn create_new(mut self, create_new: bool) -> OpenOptions {
        self.create_new = create_new;
        self
    }

    /// Cut an existing file to length 0 (needs `write`).
    pub fn truncate(mut self, truncate: bool) -> OpenOptions {
        self.truncate = truncate;
        self
    }

    /// Permission bits of a file this call creates (default 0644; DFS applies no umask).
    pub fn mode(mut self, mode: u32) -> OpenOptions {
        self.mode = mode;
        self
    }

    /// The `open(2)` flags these options stand for.
    fn flags(&self) -> Result<i32> {
        const METHOD: &str = "OpenOptions::open";
        let creates = self.create || self.create_new || self.truncate;
        if creates && !self.write {
            return Err(Error::invalid(
                METHOD,
                "create, create_new and truncate need write access",
            ));
        }
        let access = match (self.read, self.write) {
            (true, false) => libc::O_RDONLY,
            (false, true) => libc::O_WRONLY,
            (true, true) => libc::O_RDWR,
            (false, false) => {
                return Err(Error::invalid(METHOD, "neither read nor write access"));
            }
        };
        let mut flags = access;
        if self.create || self.create_new {
            flags |= libc::O_CREAT;
        }
        if self.create_new {
            flags |= libc::O_EXCL;
        }
        if self.truncate {
            flags |= libc::O_TRUNC;
        }
        Ok(flags)
    }

    /// Opens (or creates) the regular file at `path` (`dfs_open`). A directory or symbolic
    /// link at `path` is refused: libdfs answers `EINVAL` (and this crate checks the type of
    /// what was opened as well).
    pub fn open(&self, path: &str) -> Result<File> {
        const METHOD: &str = "OpenOptions::open";
        let flags = self.flags()?;
        let obj = self.dfs.open_entry(
            METHOD,
            path,
            flags,
            libc::S_IFREG | (self.mode & 0o7777),
            None,
        )?;
        let mut mode: daos_sys::mode_t = 0;
        // SAFETY: a live object; `mode` is a valid out-pointer.
        let rc = unsafe { daos_sys::dfs_get_mode(obj.as_ptr(), &mut mode) };
        crate::error::check_errno("dfs_get_mode", rc)
            .map_err(|e| e.with_context(format!("path {path:?}")))?;
        if mode & libc::S_IFMT != libc::S_IFREG {
            return Err(Error::invalid(
                METHOD,
                format!("path {path:?} is not a regular file (mode {mode:#o})"),
            ));
        }
        Ok(File {
            inner: Arc::new(FileInner {
                obj,
                mount: Arc::clone(self.dfs.mount()),
                path: path.to_string(),
            }),
            pos: 0,
        })
    }
}

/// The object and what it needs; shared by clones of a [`File`] and by its operations in
/// flight. Fields drop in order: the object is released before the mount can go.
struct FileInner {
    obj: DfsObj,
    mount: Arc<MountInner>,
    path: String,
}

impl FileInner {
    fn describe(&self) -> String {
        format!("path {:?} in {}", self.path, self.mount.describe())
    }
}

/// An open regular file of a [`Dfs`] mount (`dfs_obj_t`), released (`dfs_release`) when the
/// last clone and the last operation in flight on it are gone. It keeps the mount alive.
///
/// Positioned I/O ([`read_at`](File::read_at), [`write_at`](File::write_at)) takes `&self`
/// and may run from many threads at once; [`std::io::Read`], [`Write`](std::io::Write) and
/// [`Seek`](std::io::Seek) use a cursor of this value (clones get their own). Asynchronous
/// forms go through an [`EventQueue`]: each owns its buffer until DAOS is done with it, so
/// dropping a future early is safe. [`File::read_chunks`] and [`File::write_chunks`] stream a
/// large range with a bounded number of extents in flight, so memory does not grow with the
/// file.
///
/// Errors from libdfs are positive errnos: `EPERM` for a write through a read-only open or
/// mount. Reading at or past the end returns fewer bytes, or none.
pub struct File {
    inner: Arc<FileInner>,
    pos: u64,
}

impl Clone for File {
    /// Another handle on the same open object, with its own cursor (at the same position).
    fn clone(&self) -> File {
        File {
            inner: Arc::clone(&self.inner),
            pos: self.pos,
        }
    }
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("path", &self.inner.path)
            .field("pos", &self.pos)
            .finish()
    }
}

/// The end of `len` bytes from `offset`, refused (by `method`) when it does not fit in a file
/// offset.
fn end_of(method: &'static str, offset: u64, len: usize) -> Result<u64> {
    offset.checked_add(len as u64).ok_or_else(|| {
        Error::invalid(
            method,
            format!("offset {offset} + length {len} is past the largest file offset"),
        )
    })
}

/// Result of a DFS I/O call: the return value of a blocking call, or `ev_error` of its event,
/// which libdfs makes an errno too (`daos_event_errno_rc`). A negative value can only come
/// from the event machinery itself, as a DER code.
fn io_result(op: &'static str, rc: i32) -> Result<()> {
    match rc {
        0 => Ok(()),
        rc if rc < 0 => Err(Error::from_rc(op, rc)),
        errno => Err(Error::from_errno(op, errno)),
    }
}

/// `dfs_read` into a buffer the operation owns.
struct ReadAt {
    file: Arc<FileInner>,
    offset: u64,
    buf: Vec<u8>,
    list: OneSgl,
    read: daos_sys::daos_size_t,
}

impl Operation for ReadAt {
    type Output = Vec<u8>;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        let sgl = self.list.point_at(self.buf.as_mut_ptr(), self.buf.len());
        // SAFETY: mount and object are live (held by `file`); the list, the buffer and
        // `read` belong to this operation, which stays in place until completion.
        unsafe {
            daos_sys::dfs_read(
                self.file.mount.ptr(),
                self.file.obj.as_ptr(),
                sgl,
                self.offset,
                &mut self.read,
                ev,
            )
        }
    }

    fn finish(mut self, rc: i32) -> Result<Vec<u8>> {
        io_result("dfs_read", rc).map_err(|e| e.with_context(self.file.describe()))?;
        let read = usize::try_from(self.read).unwrap_or(usize::MAX);
        self.buf.truncate(read.min(self.buf.len()));
        Ok(self.buf)
    }
}

/// `dfs_write` from a buffer the operation owns.
struct WriteAt {
    file: Arc<FileInner>,
    offset: u64,
    data: Vec<u8>,
    list: OneSgl,
}

impl Operation for WriteAt {
    type Output = Vec<u8>;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        // libdfs only reads a write's buffer.
        let sgl = self.list.point_at(self.data.as_mut_ptr(), self.data.len());
        // SAFETY: mount and object are live (held by `file`); the list and the data belong
        // to this operation, which stays in place until completion.
        unsafe {
            daos_sys::dfs_write(
                self.file.mount.ptr(),
                self.file.obj.as_ptr(),
                sgl,
                self.offset,
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<Vec<u8>> {
        io_result("dfs_write", rc).map_err(|e| e.with_context(self.file.describe()))?;
        Ok(self.data)
    }
}

impl File {
    /// The path this file was opened by.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// Reads up to `buf.len()` bytes at `offset` (`dfs_read`); returns how many were read:
    /// fewer at the end of the file, 0 at or past it.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        end_of("File::read_at", offset, buf.len())?;
        let mut list = OneSgl::new();
        let sgl = list.point_at(buf.as_mut_ptr(), buf.len());
        let mut read: daos_sys::daos_size_t = 0;
        // SAFETY: mount and object are live; the list points at `buf` for this blocking call.
        let rc = unsafe {
            daos_sys::dfs_read(
                self.inner.mount.ptr(),
                self.inner.obj.as_ptr(),
                sgl,
                offset,
                &mut read,
                null_mut(),
            )
        };
        io_result("dfs_read", rc).map_err(|e| e.with_context(self.inner.describe()))?;
        Ok(usize::try_from(read).unwrap_or(usize::MAX).min(buf.len()))
    }

    /// Writes all of `data` at `offset` (`dfs_write`), extending the file as needed.
    pub fn write_at(&self, data: &[u8], offset: u64) -> Result<()> {
        end_of("File::write_at", offset, data.len())?;
        let mut list = OneSgl::new();
        // libdfs only reads a write's buffer.
        let sgl = list.point_at(data.as_ptr() as *mut u8, data.len());
        // SAFETY: mount and object are live; the list points at `data` for this blocking call.
        let rc = unsafe {
            daos_sys::dfs_write(
                self.inner.mount.ptr(),
                self.inner.obj.as_ptr(),
                sgl,
                offset,
                null_mut(),
            )
        };
        io_result("dfs_write", rc).map_err(|e| e.with_context(self.inner.describe()))
    }

    /// [`File::read_at`] through an event queue, into a new buffer of `len` bytes; the
    /// future gives it back cut to what was read.
    pub fn read_at_async(&self, eq: &EventQueue, offset: u64, len: usize) -> OpFuture<Vec<u8>> {
        self.read_into_async(eq, offset, vec![0; len])
    }

    /// [`File::read_at`] through an event queue into `buf` (its length is how much to read),
    /// which the future gives back cut to what was read: buffers can be reused.
    pub fn read_into_async(&self, eq: &EventQueue, offset: u64, buf: Vec<u8>) -> OpFuture<Vec<u8>> {
        if let Err(e) = end_of("File::read_into_async", offset, buf.len()) {
            return OpFuture::ready(Err(e));
        }
        eq.submit(ReadAt {
            file: Arc::clone(&self.inner),
            offset,
            buf,
            list: OneSgl::new(),
            read: 0,
        })
    }

    /// [`File::write_at`] through an event queue. The operation owns `data` until DAOS is
    /// done with it; the future gives it back, for reuse.
    pub fn write_at_async(&self, eq: &EventQueue, offset: u64, data: Vec<u8>) -> OpFuture<Vec<u8>> {
        if let Err(e) = end_of("File::write_at_async", offset, data.len()) {
            return OpFuture::ready(Err(e));
        }
        eq.submit(WriteAt {
            file: Arc::clone(&self.inner),
            offset,
            data,
            list: OneSgl::new(),
        })
    }

    /// Reads `range` in chunks of `chunk_size` bytes with up to `in_flight` reads running at
    /// once through `eq`, and hands each chunk to `sink` in file order with its offset. At
    /// most `in_flight` chunks are held in memory, whatever the size of the range. Stops at
    /// the end of the file (a short last chunk) and returns the number of bytes delivered;
    /// the first error (of a read or of `sink`) ends it.
    pub async fn read_chunks(
        &self,
        eq: &EventQueue,
        range: Range<u64>,
        chunk_size: usize,
        in_flight: usize,
        mut sink: impl FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<u64> {
        check_streaming("File::read_chunks", chunk_size, in_flight)?;
        let mut next = range.start;
        let mut pending: VecDeque<(u64, usize, OpFuture<Vec<u8>>)> = VecDeque::new();
        let mut delivered = 0u64;
        loop {
            while pending.len() < in_flight && next < range.end {
                let len = chunk_size.min(usize::try_from(range.end - next).unwrap_or(usize::MAX));
                pending.push_back((next, len, self.read_at_async(eq, next, len)));
                next += len as u64;
            }
            let Some((offset, asked, read)) = pending.pop_front() else {
                return Ok(delivered);
            };
            let chunk = read.await?;
            sink(offset, &chunk)?;
            delivered += chunk.len() as u64;
            if chunk.len() < asked {
                // The end of the file: later chunks (still in flight) would be empty.
                return Ok(delivered);
            }
        }
    }

    /// Writes from `offset` on with up to `in_flight` writes of at most `chunk_size` bytes
    /// running at once through `eq`. `source` fills the buffer it is given (already sized to
    /// `chunk_size`) and returns how many bytes it put there; 0 ends the stream. Buffers are
    /// reused as writes complete, so at most `in_flight` are allocated. Returns the number of
    /// bytes written; on the first error it waits for the writes in flight, then returns it.
    pub async fn write_chunks(
        &self,
        eq: &EventQueue,
        offset: u64,
        chunk_size: usize,
        in_flight: usize,
        mut source: impl FnMut(&mut [u8]) -> Result<usize>,
    ) -> Result<u64> {
        check_streaming("File::write_chunks", chunk_size, in_flight)?;
        let mut next = offset;
        let mut pending: VecDeque<OpFuture<Vec<u8>>> = VecDeque::new();
        let mut spare: Vec<Vec<u8>> = Vec::new();
        let mut failure: Option<Error> = None;
        let mut exhausted = false;
        loop {
            while failure.is_none() && !exhausted && pending.len() < in_flight {
                let mut buf = spare.pop().unwrap_or_default();
                buf.resize(chunk_size, 0);
                let n = match source(&mut buf) {
                    Ok(n) => n.min(chunk_size),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                };
                if n == 0 {
                    exhausted = true;
                    break;
                }
                buf.truncate(n);
                // Checked before the write is launched: on overflow the writes already in
                // flight are still waited for, as for any other error.
                let end = match end_of("File::write_chunks", next, n) {
                    Ok(end) => end,
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                };
                pending.push_back(self.write_at_async(eq, next, buf));
                next = end;
            }
            let Some(write) = pending.pop_front() else {
                break;
            };
            match write.await {
                Ok(buf) => spare.push(buf),
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(next - offset),
        }
    }

    /// Size in bytes (`dfs_get_size`).
    pub fn len(&self) -> Result<u64> {
        let mut size: daos_sys::daos_size_t = 0;
        // SAFETY: mount and object are live; `size` is a valid out-pointer.
        let rc = unsafe {
            daos_sys::dfs_get_size(self.inner.mount.ptr(), self.inner.obj.as_ptr(), &mut size)
        };
        io_result("dfs_get_size", rc).map_err(|e| e.with_context(self.inner.describe()))?;
        Ok(size)
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Status of the open file (`dfs_ostat`).
    pub fn metadata(&self) -> Result<FileStat> {
        let mut st = daos_sys::stat::default();
        // SAFETY: mount and object are live; `st` is a valid buffer.
        let rc = unsafe {
            daos_sys::dfs_ostat(self.inner.mount.ptr(), self.inner.obj.as_ptr(), &mut st)
        };
        io_result("dfs_ostat", rc).map_err(|e| e.with_context(self.inner.describe()))?;
        Ok(FileStat::from(&st))
    }

    /// Makes the file `size` bytes long, cutting it or extending it with zeros (`dfs_punch`
    /// with `len = DFS_MAX_FSIZE`, which sets the size).
    pub fn set_len(&self, size: u64) -> Result<()> {
        self.punch_raw(size, daos_sys::DFS_MAX_FSIZE as u64)
    }

    /// Frees `len` bytes at `offset` (`dfs_punch`): they read as zeros afterwards. As in
    /// libdfs, a range that reaches the end of the file truncates it to `offset` instead, and
    /// a range at or past the end changes nothing.
    pub fn punch(&self, offset: u64, len: u64) -> Result<()> {
        if len == daos_sys::DFS_MAX_FSIZE as u64 {
            // That length means "set the size" to libdfs; a punch must never extend.
            return Err(Error::invalid(
                "File::punch",
                "len DFS_MAX_FSIZE would set the size; use File::set_len",
            ));
        }
        self.punch_raw(offset, len)
    }

    fn punch_raw(&self, offset: u64, len: u64) -> Result<()> {
        // SAFETY: mount and object are live.
        let rc = unsafe {
            daos_sys::dfs_punch(self.inner.mount.ptr(), self.inner.obj.as_ptr(), offset, len)
        };
        io_result("dfs_punch", rc).map_err(|e| e.with_context(self.inner.describe()))
    }

    /// The cursor position used by `Read`, `Write` and `Seek`.
    pub fn position(&self) -> u64 {
        self.pos
    }
}

fn check_streaming(method: &'static str, chunk_size: usize, in_flight: usize) -> Result<()> {
    if chunk_size == 0 || in_flight == 0 {
        return Err(Error::invalid(
            method,
            format!("chunk size ({chunk_size}) and extents in flight ({in_flight}) must be > 0"),
        ));
    }
    Ok(())
}

/// An `io::Error` of the kind the errno (or DER class) names, carrying the whole [`Error`].
fn io_error(e: Error) -> io::Error {
    let kind = match e.errno() {
        Some(errno) => io::Error::from_raw_os_error(errno).kind(),
        None if e.is_not_found() => io::ErrorKind::NotFound,
        None if e.is_invalid() => io::ErrorKind::InvalidInput,
        None if e.is_no_permission() => io::ErrorKind::PermissionDenied,
        None => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

impl io::Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.read_at(buf, self.pos).map_err(io_error)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl io::Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_at(buf, self.pos).map_err(io_error)?;
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }

    /// DFS writes are on the servers once `dfs_write` returns: nothing to flush.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Seek for File {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        let target = match to {
            io::SeekFrom::Start(n) => Some(n),
            io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            io::SeekFrom::End(d) => self.len().map_err(io_error)?.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            io_error(Error::invalid(
                "File::seek",
                format!("{to:?} from {} is outside the file offsets", self.pos),
            ))
        })?;
        self.pos = target;
        Ok(target)
    }
}

impl Dfs {
    /// Options for opening a file: read-only by default; see [`OpenOptions`].
    pub fn open_options(&self) -> OpenOptions {
        OpenOptions::new(self)
    }

    /// Opens an existing regular file for reading.
    pub fn open_file(&self, path: &str) -> Result<File> {
        self.open_options().open(path)
    }

    /// Creates a regular file with `mode`, or truncates an existing one, open for reading and
    /// writing.
    pub fn create_file(&self, path: &str, mode: u32) -> Result<File> {
        self.open_options()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Der;

    #[test]
    fn offsets_that_overflow_are_refused_before_any_call() {
        let e = end_of("File::write_at", u64::MAX - 1, 2).unwrap_err();
        assert!(e.is_invalid() && !e.is_from_daos(), "{e}");
        assert_eq!(end_of("File::write_at", u64::MAX - 2, 2).unwrap(), u64::MAX);
        assert!(check_streaming("m", 0, 1).is_err());
        assert!(check_streaming("m", 1, 0).is_err());
        assert!(check_streaming("m", 1, 1).is_ok());
        assert_eq!(Der::Inval.rc(), e.code());
    }

    #[test]
    fn io_errors_keep_their_kind() {
        let e = io_error(Error::from_errno("dfs_write", libc::EPERM));
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        let e = io_error(Error::invalid("File::seek", "x"));
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn io_results_tell_errnos_from_ders() {
        assert!(io_result("dfs_read", 0).is_ok());
        assert_eq!(
            io_result("dfs_read", libc::EIO).unwrap_err().errno(),
            Some(libc::EIO)
        );
        assert_eq!(
            io_result("dfs_read", Der::Shutdown.rc()).unwrap_err().der(),
            Some(Der::Shutdown)
        );
    }
}
