//! Directory listings that scale: an iterator that fetches entries in batches
//! (`dfs_readdirplus` with an anchor) instead of collecting a whole directory.

use std::collections::VecDeque;
use std::ffi::CStr;
use std::sync::Arc;

use super::{Dfs, DfsObj, FileStat, FileType, MountInner, split_path};
use crate::error::{Error, Result, check_errno};

/// Entries fetched per `dfs_readdirplus` call unless [`Dfs::entries_batched`] says otherwise.
pub const DEFAULT_BATCH: usize = 64;

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Name within the directory.
    pub name: String,
    /// Kind, from the entry's own status (a symbolic link is not followed).
    pub file_type: FileType,
    /// Status of the entry itself (`lstat`-like), as `dfs_readdirplus` reports it.
    pub stat: FileStat,
}

/// An iterator over the entries of a directory ([`Dfs::entries`]), fetched in batches: memory
/// holds one batch, however large the directory. Yields `Err` once if a fetch fails, then
/// ends.
///
/// libdfs lists entries in the order of their keys, not sorted; `.` and `..` are not listed.
/// Entries added while iterating may or may not be seen. An entry removed between libdfs'
/// listing of a batch and its stat of that entry fails the fetch with `ENOENT`, as
/// `dfs_readdirplus` does (`src/client/dfs/readdir.c`): the iterator then yields that error
/// and ends, and a caller that wants the rest lists again. The iterator holds the directory
/// open and the mount alive; it is `Send`.
pub struct ReadDir {
    /// Released before the mount can go (fields drop in order).
    dir: DfsObj,
    mount: Arc<MountInner>,
    path: String,
    anchor: daos_sys::daos_anchor_t,
    batch: usize,
    ready: VecDeque<DirEntry>,
    finished: bool,
}

impl std::fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadDir")
            .field("path", &self.path)
            .field("ready", &self.ready.len())
            .field("finished", &self.finished)
            .finish()
    }
}

impl ReadDir {
    /// Fetches the next batch into `ready`; marks the listing finished at the anchor's end.
    fn fetch(&mut self) -> Result<()> {
        let mut dirents = vec![daos_sys::dirent::default(); self.batch];
        let mut stats = vec![daos_sys::stat::default(); self.batch];
        let mut nr = u32::try_from(self.batch).unwrap_or(u32::MAX);
        // libdfs fills only d_name (d_type stays as given), so types come from the stat of
        // each entry that dfs_readdirplus adds.
        // SAFETY: live mount and directory object; `dirents` and `stats` have room for `nr`
        // entries each; the anchor is ours.
        let rc = unsafe {
            daos_sys::dfs_readdirplus(
                self.mount.ptr(),
                self.dir.as_ptr(),
                &mut self.anchor,
                &mut nr,
                dirents.as_mut_ptr(),
                stats.as_mut_ptr(),
            )
        };
        check_errno("dfs_readdirplus", rc)
            .map_err(|e| e.with_context(format!("path {:?}", self.path)))?;
        let got = (nr as usize).min(self.batch);
        for (d, st) in dirents.iter().zip(&stats).take(got) {
            // SAFETY: libdfs NUL-terminates d_name within its 256 bytes, and the zeroed
            // dirent has a NUL at the end in any case.
            let name = unsafe { CStr::from_ptr(d.d_name.as_ptr()) }
                .to_string_lossy()
                .into_owned();
            if name == "." || name == ".." {
                continue;
            }
            self.ready.push_back(DirEntry {
                name,
                file_type: FileType::of_mode(st.st_mode),
                stat: FileStat::from(st),
            });
        }
        // The end is the anchor's EOF; a batch of nothing that does not reach it would
        // otherwise be asked for again forever, so it ends the listing too.
        if daos_sys::daos_anchor_is_eof(&self.anchor) || got == 0 {
            self.finished = true;
        }
        Ok(())
    }
}

impl Iterator for ReadDir {
    type Item = Result<DirEntry>;

    fn next(&mut self) -> Option<Result<DirEntry>> {
        loop {
            if let Some(entry) = self.ready.pop_front() {
                return Some(Ok(entry));
            }
            if self.finished {
                return None;
            }
            if let Err(e) = self.fetch() {
                self.finished = true;
                return Some(Err(e));
            }
        }
    }
}

impl Dfs {
    /// The entries of the directory at `path`, as an iterator that fetches
    /// [`DEFAULT_BATCH`] at a time. `ENOENT` if it does not exist; a file is refused.
    pub fn entries(&self, path: &str) -> Result<ReadDir> {
        self.entries_batched(path, DEFAULT_BATCH)
    }

    /// [`Dfs::entries`] fetching `batch` entries per `dfs_readdirplus` call (at least 1).
    pub fn entries_batched(&self, path: &str, batch: usize) -> Result<ReadDir> {
        const METHOD: &str = "Dfs::entries";
        if batch == 0 {
            return Err(Error::invalid(METHOD, "a batch of 0 entries"));
        }
        let split = split_path(METHOD, path)?;
        let mut components = split.parent.clone();
        if let Some(name) = &split.name {
            components.push(name.to_string_lossy().into_owned());
        }
        let dir = match self.lookup_dir(METHOD, &components, &split.display)? {
            Some(dir) => dir,
            // The root needs an object too: look "/" up explicitly.
            None => self.lookup_root()?,
        };
        Ok(ReadDir {
            dir,
            mount: Arc::clone(self.mount()),
            path: path.to_string(),
            anchor: daos_sys::DAOS_ANCHOR_INIT,
            batch,
            ready: VecDeque::new(),
            finished: false,
        })
    }

    /// Every entry of a directory (without `.` and `..`), in the order DFS lists them. For
    /// large directories, iterate with [`Dfs::entries`] instead.
    pub fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>> {
        self.entries(path)?.collect()
    }
}
