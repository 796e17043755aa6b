//! Copying a whole tree from one DFS mount to another, in process, with many reads and
//! writes in flight through an [`EventQueue`]: what restoring a volume from a snapshot mount
//! ([`Container::mount_dfs_snapshot`](crate::Container::mount_dfs_snapshot)) needs.
//!
//! The walk creates directories and symbolic links as it meets them. Files larger than one
//! chunk go to a pipeline that keeps up to [`CopyOptions::in_flight`] chunk reads and writes
//! running through the queue, across as many files as that takes, so one large file is
//! streamed with that many extents in flight. Files that fit in one chunk cost mostly
//! metadata calls (open, create, set attributes) that libdfs has only in blocking form: they
//! are copied whole by [`CopyOptions::in_flight`] worker threads, one file each at a time,
//! so those calls overlap too. Owner and modification time
//! (and mode, where libdfs can set it) are applied to each file once its data is written and
//! to directories, the root included, once everything is copied, so that creating their
//! entries does not move their modification times again.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::{Dfs, File, FileStat, FileType, SETTABLE_MODE_BITS, SetAttributes};
use crate::eq::{EventQueue, OpFuture};
use crate::error::{Der, Error, Result};

/// How [`copy_tree`] copies.
#[derive(Clone, Debug)]
pub struct CopyOptions {
    /// Most chunk reads and writes running at once, over all files (at least 1); also the
    /// number of threads copying files that fit in one chunk.
    pub in_flight: usize,
    /// Bytes per read and write (at least 1). Chunks of zeros are not written, so holes stay
    /// holes (a zero-filled region the source stored is then a hole in the copy).
    pub chunk_size: usize,
}

impl Default for CopyOptions {
    /// 16 operations of 1 MiB in flight.
    fn default() -> CopyOptions {
        CopyOptions {
            in_flight: 16,
            chunk_size: 1 << 20,
        }
    }
}

/// What [`copy_tree`] has copied so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopyProgress {
    /// Regular files completely copied (data and attributes).
    pub files: u64,
    /// Directories created (the root is not counted).
    pub directories: u64,
    /// Symbolic links created.
    pub symlinks: u64,
    /// Sum of the sizes of the files copied (holes included).
    pub bytes: u64,
}

/// Copies everything under `/` of `src` into `/` of `dst`, which must be empty apart from its
/// root (`-DER_EXIST` otherwise): regular files (content and size, holes kept), directories
/// and symbolic links (targets as stored), and for every entry and for the root itself its
/// permission bits, owner uid/gid and modification time.
///
/// Blocking: call it from a thread that may block (`spawn_blocking` in async code); it waits
/// for the operations it submits to `eq` itself. `progress` is called after each file,
/// directory and symbolic link with the totals so far. The first error ends the copy and is
/// returned with the path it happened on; `dst` is then left partly written (destroy it).
/// Operations already submitted still complete inside DAOS, on buffers the queue owns.
///
/// The sticky bit, which libdfs lets `dfs_mkdir` and `dfs_open` store but refuses to set
/// afterwards, is copied on directories and files; on the root it fails the copy
/// ([`Dfs::set_attributes`]).
pub fn copy_tree(
    src: &Dfs,
    dst: &Dfs,
    eq: &EventQueue,
    options: &CopyOptions,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyProgress> {
    const OP: &str = "copy_tree";
    if options.in_flight == 0 || options.chunk_size == 0 {
        return Err(Error::invalid(
            OP,
            format!("{options:?}: in_flight and chunk_size must be at least 1"),
        ));
    }
    if let Some(entry) = dst.entries("/")?.next() {
        let name = entry?.name;
        return Err(Error::raised(
            OP,
            Der::Exist,
            format!("the destination is not empty (it has /{name})"),
        ));
    }
    std::thread::scope(|scope| {
        let small = SmallFiles::start(scope, src, dst, options);
        let mut copy = Copier {
            src,
            dst,
            data: Pipeline::new(src, dst, eq, options),
            small,
            totals: CopyProgress::default(),
            progress,
            directories: Vec::new(),
        };
        let copied = copy.walk().and_then(|()| copy.finish_files());
        // Stops the workers (they finish the file in hand) and waits for their last results;
        // on an error, the first one found is the one returned.
        let small_done = copy.finish_small_files();
        copied.and(small_done)?;
        copy.finish_directories()?;
        Ok::<_, Error>(copy.totals)
    })
    .and_then(|totals| finish_root(src, dst).map(|()| totals))
}

fn finish_root(src: &Dfs, dst: &Dfs) -> Result<()> {
    let root = src.stat("/")?;
    dst.set_attributes("/", &attributes_of(&root, true))
        .map_err(|e| at("/", e))
}

/// Adds the path an error happened on to its context.
fn at(path: &str, e: Error) -> Error {
    let context = match e.context() {
        Some(c) => format!("copying {path:?}: {c}"),
        None => format!("copying {path:?}"),
    };
    e.with_context(context)
}

fn child_path(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// What to set on a copy so that it matches `stat`; the mode only where libdfs can set it
/// (always for the root, so that refusing it is reported).
fn attributes_of(stat: &FileStat, with_mode: bool) -> SetAttributes {
    let settable = stat.mode & 0o7777 & !SETTABLE_MODE_BITS == 0;
    SetAttributes {
        mode: (with_mode && settable).then_some(stat.mode & 0o7777),
        uid: Some(stat.uid),
        gid: Some(stat.gid),
        mtime: Some(stat.mtime),
    }
}

struct Copier<'a> {
    src: &'a Dfs,
    dst: &'a Dfs,
    data: Pipeline<'a>,
    small: SmallFiles,
    totals: CopyProgress,
    progress: &'a mut dyn FnMut(&CopyProgress),
    /// Directories copied, with their source status, for their attributes at the end.
    directories: Vec<(String, FileStat)>,
}

impl Copier<'_> {
    fn walk(&mut self) -> Result<()> {
        let mut pending = vec!["/".to_string()];
        while let Some(dir) = pending.pop() {
            let listing = self.src.entries(&dir).map_err(|e| at(&dir, e))?;
            for entry in listing {
                let entry = entry.map_err(|e| at(&dir, e))?;
                let path = child_path(&dir, &entry.name);
                match entry.file_type {
                    FileType::Directory => {
                        self.dst
                            .mkdir(&path, entry.stat.mode & 0o7777)
                            .map_err(|e| at(&path, e))?;
                        self.totals.directories += 1;
                        (self.progress)(&self.totals);
                        self.directories.push((path.clone(), entry.stat));
                        pending.push(path);
                    }
                    FileType::Symlink => self.copy_symlink(&path, &entry.stat)?,
                    FileType::File if self.small.takes(&entry.stat) => {
                        let done = self.small.add(path, entry.stat)?;
                        self.count_files(done);
                    }
                    FileType::File => {
                        let done = self.data.add(path, entry.stat)?;
                        self.count_files(done);
                    }
                    FileType::Other => {
                        return Err(Error::raised(
                            "copy_tree",
                            Der::Notsupported,
                            format!(
                                "{path:?}: mode {:#o} is no file, directory or link",
                                entry.stat.mode
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn copy_symlink(&mut self, path: &str, stat: &FileStat) -> Result<()> {
        let target = self.src.read_link(path).map_err(|e| at(path, e))?;
        self.dst.symlink(path, &target).map_err(|e| at(path, e))?;
        self.dst
            .set_attributes(path, &attributes_of(stat, false))
            .map_err(|e| at(path, e))?;
        self.totals.symlinks += 1;
        (self.progress)(&self.totals);
        Ok(())
    }

    fn count_files(&mut self, done: Vec<u64>) {
        for size in done {
            self.totals.files += 1;
            self.totals.bytes += size;
            (self.progress)(&self.totals);
        }
    }

    fn finish_files(&mut self) -> Result<()> {
        loop {
            let done = self.data.drain_step()?;
            let idle = self.data.is_idle();
            self.count_files(done);
            if idle {
                return Ok(());
            }
        }
    }

    fn finish_small_files(&mut self) -> Result<()> {
        let done = self.small.finish()?;
        self.count_files(done);
        Ok(())
    }

    fn finish_directories(&mut self) -> Result<()> {
        // Deepest first; setting a child's attributes leaves its parent's mtime alone anyway.
        for (path, stat) in self.directories.iter().rev() {
            self.dst
                .set_attributes(path, &attributes_of(stat, true))
                .map_err(|e| at(path, e))?;
        }
        Ok(())
    }
}

/// Files that fit in one chunk, copied whole by worker threads, one file each at a time:
/// their cost is metadata calls (open, create, set attributes) that libdfs has only in
/// blocking form, so they overlap only across threads. Larger files go through the
/// [`Pipeline`], whose reads and writes overlap through the event queue.
struct SmallFiles {
    threshold: u64,
    /// To the workers; `None` once they are told to stop.
    work: Option<std::sync::mpsc::SyncSender<(String, FileStat)>>,
    /// From the workers: a file's size, or the error that stopped one.
    results: std::sync::mpsc::Receiver<Result<u64>>,
    /// Files handed over whose result has not come back.
    outstanding: usize,
}

impl SmallFiles {
    fn start<'scope, 'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        src: &'env Dfs,
        dst: &'env Dfs,
        options: &CopyOptions,
    ) -> SmallFiles {
        let workers = options.in_flight;
        let (work, queue) = std::sync::mpsc::sync_channel::<(String, FileStat)>(workers);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        let (report, results) = std::sync::mpsc::channel();
        for _ in 0..workers {
            let (queue, report) = (Arc::clone(&queue), report.clone());
            scope.spawn(move || {
                loop {
                    let next = queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .recv();
                    let Ok((path, stat)) = next else { return };
                    let copied = copy_small_file(src, dst, &path, &stat).map(|()| stat.size);
                    if report.send(copied).is_err() {
                        return;
                    }
                }
            });
        }
        SmallFiles {
            threshold: options.chunk_size as u64,
            work: Some(work),
            results,
            outstanding: 0,
        }
    }

    fn takes(&self, stat: &FileStat) -> bool {
        stat.size <= self.threshold
    }

    /// Hands over a file (waiting while every worker is busy and the queue full); returns
    /// the sizes of the files completed meanwhile, or the first error a worker met.
    fn add(&mut self, path: String, stat: FileStat) -> Result<Vec<u64>> {
        let mut done = self.collect(false)?;
        let Some(work) = &self.work else {
            return Err(Error::invalid("copy_tree", "the file workers have stopped"));
        };
        if work.send((path, stat)).is_err() {
            // Every worker is gone: one of them reported why.
            done.extend(self.collect(true)?);
            return Err(Error::invalid("copy_tree", "the file workers have stopped"));
        }
        self.outstanding += 1;
        done.extend(self.collect(false)?);
        Ok(done)
    }

    /// Tells the workers to stop once the queue is empty and waits for every result.
    fn finish(&mut self) -> Result<Vec<u64>> {
        self.work = None;
        self.collect(true)
    }

    fn collect(&mut self, wait: bool) -> Result<Vec<u64>> {
        let mut done = Vec::new();
        while self.outstanding > 0 {
            let next = if wait {
                self.results.recv().ok()
            } else {
                self.results.try_recv().ok()
            };
            let Some(result) = next else { break };
            self.outstanding -= 1;
            done.push(result?);
        }
        Ok(done)
    }
}

impl Drop for SmallFiles {
    fn drop(&mut self) {
        // The workers end when the queue closes; the scope waits for them.
        self.work = None;
    }
}

/// Copies one file that fits in a chunk: content (a chunk of zeros stays a hole), size, then
/// mode, owner and mtime once it is closed.
fn copy_small_file(src: &Dfs, dst: &Dfs, path: &str, stat: &FileStat) -> Result<()> {
    let len = usize::try_from(stat.size)
        .map_err(|_| Error::raised("copy_tree", Der::Overflow, format!("{path:?} is too large")))?;
    let mut data = vec![0; len];
    {
        let from = src.open_file(path).map_err(|e| at(path, e))?;
        let mut filled = 0;
        while filled < len {
            let n = from
                .read_at(&mut data[filled..], filled as u64)
                .map_err(|e| at(path, e))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
    }
    {
        let to = dst
            .create_file(path, stat.mode & 0o7777)
            .map_err(|e| at(path, e))?;
        if data.iter().any(|&b| b != 0) {
            to.write_at(&data, 0).map_err(|e| at(path, e))?;
        } else if stat.size > 0 {
            to.set_len(stat.size).map_err(|e| at(path, e))?;
        }
    }
    dst.set_attributes(path, &attributes_of(stat, true))
        .map_err(|e| at(path, e))
}

/// A regular file whose data is being copied.
struct Transfer {
    path: String,
    stat: FileStat,
    src: File,
    dst: File,
    /// Next offset to read.
    next: u64,
    /// Reads and writes of this file not yet completed.
    outstanding: usize,
    /// End of the last byte written (a hole at the end needs `set_len`).
    written_end: u64,
}

impl Transfer {
    fn is_done(&self) -> bool {
        self.next >= self.stat.size && self.outstanding == 0
    }
}

enum Op {
    Read {
        file: u64,
        offset: u64,
        future: OpFuture<Vec<u8>>,
    },
    Write {
        file: u64,
        end: u64,
        future: OpFuture<Vec<u8>>,
    },
}

/// Chunk reads and writes of many files, at most `in_flight` at a time, waited for in
/// submission order (they complete in about that order).
struct Pipeline<'a> {
    src: &'a Dfs,
    dst: &'a Dfs,
    eq: &'a EventQueue,
    in_flight: usize,
    chunk_size: usize,
    /// Files handed over, not opened yet.
    waiting: VecDeque<(String, FileStat)>,
    open: HashMap<u64, Transfer>,
    /// Open files whose reads are not all submitted, oldest first.
    reading: VecDeque<u64>,
    next_id: u64,
    ops: VecDeque<Op>,
    /// Sizes of files completed since the caller last asked.
    done: Vec<u64>,
}

impl<'a> Pipeline<'a> {
    fn new(src: &'a Dfs, dst: &'a Dfs, eq: &'a EventQueue, options: &CopyOptions) -> Pipeline<'a> {
        Pipeline {
            src,
            dst,
            eq,
            in_flight: options.in_flight,
            chunk_size: options.chunk_size,
            waiting: VecDeque::new(),
            open: HashMap::new(),
            reading: VecDeque::new(),
            next_id: 0,
            ops: VecDeque::new(),
            done: Vec::new(),
        }
    }

    fn is_idle(&self) -> bool {
        self.waiting.is_empty() && self.open.is_empty() && self.ops.is_empty()
    }

    /// Hands over a file; returns the sizes of the files completed meanwhile.
    fn add(&mut self, path: String, stat: FileStat) -> Result<Vec<u64>> {
        self.waiting.push_back((path, stat));
        self.launch()?;
        // Keeps the walk from running far ahead of the data.
        while self.waiting.len() > self.in_flight {
            self.step()?;
        }
        Ok(std::mem::take(&mut self.done))
    }

    /// Waits for one operation and launches what that makes room for; returns the sizes of
    /// the files completed meanwhile.
    fn drain_step(&mut self) -> Result<Vec<u64>> {
        self.step()?;
        Ok(std::mem::take(&mut self.done))
    }

    fn step(&mut self) -> Result<()> {
        match self.ops.pop_front() {
            Some(op) => self.complete(op)?,
            None if self.waiting.is_empty() && self.open.is_empty() => return Ok(()),
            None => {}
        }
        self.launch()
    }

    /// Submits reads until `in_flight` operations run, opening waiting files as needed.
    fn launch(&mut self) -> Result<()> {
        while self.ops.len() < self.in_flight {
            let Some(&id) = self.reading.front() else {
                let Some((path, stat)) = self.waiting.pop_front() else {
                    return Ok(());
                };
                self.open_transfer(path, stat)?;
                continue;
            };
            let Some(t) = self.open.get_mut(&id) else {
                self.reading.pop_front();
                continue;
            };
            let offset = t.next;
            let len = usize::try_from(t.stat.size - offset)
                .unwrap_or(usize::MAX)
                .min(self.chunk_size);
            t.next += len as u64;
            t.outstanding += 1;
            if t.next >= t.stat.size {
                self.reading.pop_front();
            }
            let future = t.src.read_at_async(self.eq, offset, len);
            self.ops.push_back(Op::Read {
                file: id,
                offset,
                future,
            });
        }
        Ok(())
    }

    fn open_transfer(&mut self, path: String, stat: FileStat) -> Result<()> {
        let src = self.src.open_file(&path).map_err(|e| at(&path, e))?;
        let dst = self
            .dst
            .create_file(&path, stat.mode & 0o7777)
            .map_err(|e| at(&path, e))?;
        let id = self.next_id;
        self.next_id += 1;
        let t = Transfer {
            path,
            stat,
            src,
            dst,
            next: 0,
            outstanding: 0,
            written_end: 0,
        };
        if t.is_done() {
            return self.finish(t);
        }
        self.open.insert(id, t);
        self.reading.push_back(id);
        Ok(())
    }

    fn complete(&mut self, op: Op) -> Result<()> {
        let file = match op {
            Op::Read {
                file,
                offset,
                future,
            } => {
                let chunk = block_on(future);
                let eq = self.eq;
                let t = self.transfer(file)?;
                let chunk = chunk.map_err(|e| at(&t.path, e))?;
                if chunk.iter().any(|&b| b != 0) {
                    let end = offset + chunk.len() as u64;
                    let future = t.dst.write_at_async(eq, offset, chunk);
                    self.ops.push_back(Op::Write { file, end, future });
                    return Ok(());
                }
                // A hole (or zeros) is not written; `set_len` restores the size.
                t.outstanding -= 1;
                file
            }
            Op::Write { file, end, future } => {
                let written = block_on(future);
                let t = self.transfer(file)?;
                written.map_err(|e| at(&t.path, e))?;
                t.outstanding -= 1;
                t.written_end = t.written_end.max(end);
                file
            }
        };
        if self.open.get(&file).is_some_and(Transfer::is_done)
            && let Some(t) = self.open.remove(&file)
        {
            self.finish(t)?;
        }
        Ok(())
    }

    fn transfer(&mut self, id: u64) -> Result<&mut Transfer> {
        self.open.get_mut(&id).ok_or_else(|| {
            Error::raised(
                "copy_tree",
                Der::Inval,
                format!("an operation completed for file {id}, which is not being copied"),
            )
        })
    }

    /// Sets the size (for a hole at the end) and the attributes of a file whose data is all
    /// written.
    fn finish(&mut self, t: Transfer) -> Result<()> {
        if t.written_end < t.stat.size {
            t.dst.set_len(t.stat.size).map_err(|e| at(&t.path, e))?;
        }
        let path = t.path.clone();
        let size = t.stat.size;
        let attrs = attributes_of(&t.stat, true);
        // Closed before their attributes are set, so nothing of the file is open any more.
        drop(t);
        self.dst
            .set_attributes(&path, &attrs)
            .map_err(|e| at(&path, e))?;
        self.done.push(size);
        Ok(())
    }
}

/// Runs a future to completion on this thread. The futures here are [`OpFuture`]s, which
/// the event queue's poller thread completes and wakes.
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            // A spurious wake-up only polls again.
            Poll::Pending => std::thread::park(),
        }
    }
}
