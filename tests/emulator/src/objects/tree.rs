//! The DFS projection: the objects real libdfs would have written for a namespace the
//! emulator keeps as a host directory tree (upstream v2.6.5.p2 `src/client/dfs/`:
//! `dfs_internal.h` for the names and the entry layout, `common.c` `insert_entry` /
//! `open_sb`, `cont.c` `dfs_cont_create`, and `src/client/array/dc_array.c` for files).
//!
//! - The superblock object (the container's `DAOS_PROP_CO_ROOTS[0]`) has dkey
//!   `DFS_SB_METADATA` with one single value per attribute, and dkey `/` holding the root
//!   directory's entry (cont.c:355 inserts it into the superblock object).
//! - A directory object has one dkey per entry name; akey `DFS_INODE` is an array of 1-byte
//!   records holding the packed entry (`END_IDX` = 88 bytes), plus `DFS_SLINK` (single value)
//!   for a symbolic link.
//! - A regular file is a byte array (`DAOS_OT_ARRAY_BYTE`): dkey = chunk index + 1 as a
//!   uint64, akey `0`, record size 1, record indexes relative to the chunk (dc_array.c:1034
//!   `compute_dkey`). Only extents with data are there (holes found with SEEK_DATA/SEEK_HOLE).
//! - Objects are named by inode number: oid.lo = the host inode of the directory or file in
//!   this tree, oid.hi = type and class bits (`daos_obj_set_oid`), low 32 bits 0. The root
//!   directory and the superblock are the ROOTS ids (lo 0, hi low bits ROOT_HI 1 / SB_HI 0).

use std::collections::HashMap;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::value::{Akeys, ArrayVal, Data, Ext, Value};
use super::{OT_ARRAY_BYTE, OT_MULTI_HASHED, Oid, class_hi};
use crate::state::{ContMeta, DfsAttrs};

/// `SB_DKEY` (dfs_internal.h:20).
pub const SB_DKEY: &[u8] = b"DFS_SB_METADATA";
/// `DFS_SB_MAGIC`.
pub const SB_MAGIC: u64 = 0xda05_df50_da05_df50;
/// `DFS_SB_VERSION`.
pub const SB_VERSION: u16 = 2;
/// `DFS_LAYOUT_VERSION`.
pub const LAYOUT_VERSION: u16 = 3;
/// Superblock akeys (dfs_internal.h:22-39).
pub const MAGIC_NAME: &[u8] = b"DFS_MAGIC";
/// SB version akey.
pub const SB_VER_NAME: &[u8] = b"DFS_SB_VERSION";
/// Layout version akey.
pub const LAYOUT_VER_NAME: &[u8] = b"DFS_LAYOUT_VERSION";
/// Default chunk size akey.
pub const CS_NAME: &[u8] = b"DFS_CHUNK_SIZE";
/// Default object class akey.
pub const OC_NAME: &[u8] = b"DFS_OBJ_CLASS";
/// Directory object class akey.
pub const DIR_OC_NAME: &[u8] = b"DFS_DIR_OBJ_CLASS";
/// File object class akey.
pub const FILE_OC_NAME: &[u8] = b"DFS_FILE_OBJ_CLASS";
/// Consistency mode akey.
pub const CONT_MODE_NAME: &[u8] = b"DFS_MODE";
/// Object class hints akey.
pub const CONT_HINT_NAME: &[u8] = b"DFS_HINTS";
/// `INODE_AKEY_NAME`.
pub const INODE_AKEY: &[u8] = b"DFS_INODE";
/// `SLINK_AKEY_NAME`.
pub const SLINK_AKEY: &[u8] = b"DFS_SLINK";
/// The akey of a byte array's records (dc_array.c:504, `akey_val = '0'`).
pub const ARRAY_AKEY: &[u8] = b"0";
/// `END_IDX`: bytes of a packed entry.
pub const END_IDX: usize = 88;

/// A directory entry as `insert_entry` packs it (common.c:447-458), field by field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// Mode with the file type.
    pub mode: u32,
    /// Object of the directory or file.
    pub oid: Oid,
    /// Modification time, seconds.
    pub mtime: u64,
    /// Change time, seconds.
    pub ctime: u64,
    /// Chunk size (0: the container's).
    pub chunk_size: u64,
    /// Object class (0: the container's).
    pub oclass: u32,
    /// Modification time, nanoseconds.
    pub mtime_nsec: u64,
    /// Change time, nanoseconds.
    pub ctime_nsec: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Symbolic link value length (files: 0, as libdfs writes it).
    pub value_len: u64,
    /// HLC of the entry's mtime.
    pub obj_hlc: u64,
}

impl Entry {
    /// The 88 packed bytes (`MODE_IDX` .. `END_IDX`).
    pub fn pack(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(END_IDX);
        b.extend_from_slice(&self.mode.to_le_bytes());
        b.extend_from_slice(&self.oid.lo.to_le_bytes());
        b.extend_from_slice(&self.oid.hi.to_le_bytes());
        b.extend_from_slice(&self.mtime.to_le_bytes());
        b.extend_from_slice(&self.ctime.to_le_bytes());
        b.extend_from_slice(&self.chunk_size.to_le_bytes());
        b.extend_from_slice(&self.oclass.to_le_bytes());
        b.extend_from_slice(&self.mtime_nsec.to_le_bytes());
        b.extend_from_slice(&self.ctime_nsec.to_le_bytes());
        b.extend_from_slice(&self.uid.to_le_bytes());
        b.extend_from_slice(&self.gid.to_le_bytes());
        b.extend_from_slice(&self.value_len.to_le_bytes());
        b.extend_from_slice(&self.obj_hlc.to_le_bytes());
        b
    }

    /// Parses [`Entry::pack`]'s layout; `None` when short.
    pub fn unpack(b: &[u8]) -> Option<Entry> {
        if b.len() < END_IDX {
            return None;
        }
        let u32_at = |o: usize| {
            b.get(o..o + 4)
                .and_then(|s| s.try_into().ok())
                .map(u32::from_le_bytes)
        };
        let u64_at = |o: usize| {
            b.get(o..o + 8)
                .and_then(|s| s.try_into().ok())
                .map(u64::from_le_bytes)
        };
        Some(Entry {
            mode: u32_at(0)?,
            oid: Oid {
                lo: u64_at(4)?,
                hi: u64_at(12)?,
            },
            mtime: u64_at(20)?,
            ctime: u64_at(28)?,
            chunk_size: u64_at(36)?,
            oclass: u32_at(44)?,
            mtime_nsec: u64_at(48)?,
            ctime_nsec: u64_at(56)?,
            uid: u32_at(64)?,
            gid: u32_at(68)?,
            value_len: u64_at(72)?,
            obj_hlc: u64_at(80)?,
        })
    }
}

/// What names the objects of one DFS container.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Superblock object (`ROOTS[0]`).
    pub sb: Oid,
    /// Root directory object (`ROOTS[1]`).
    pub root: Oid,
    /// oid.hi of directory objects.
    pub dir_hi: u64,
    /// oid.hi of file objects.
    pub file_hi: u64,
    /// Superblock attributes.
    pub attrs: DfsAttrs,
    /// The container's creation (the superblock's last update).
    pub created_hlc: u64,
}

impl Layout {
    /// The layout of a container from its ROOTS property, DFS attributes and pool size.
    pub fn new(meta: &ContMeta, attrs: DfsAttrs, ntargets: u32) -> Layout {
        let roots = super::roots_of(meta);
        let dir_class = if attrs.dir_oclass != 0 {
            attrs.dir_oclass
        } else {
            attrs.oclass
        };
        let file_class = if attrs.file_oclass != 0 {
            attrs.file_oclass
        } else {
            attrs.oclass
        };
        Layout {
            sb: Oid {
                lo: roots[0],
                hi: roots[1],
            },
            root: Oid {
                lo: roots[2],
                hi: roots[3],
            },
            dir_hi: class_hi(OT_MULTI_HASHED, dir_class, ntargets),
            file_hi: class_hi(OT_ARRAY_BYTE, file_class, ntargets),
            attrs,
            created_hlc: meta.created_hlc,
        }
    }
}

/// A projected object.
#[derive(Clone, Debug)]
pub enum Node {
    /// The superblock.
    Sb,
    /// A directory (the root too).
    Dir(PathBuf),
    /// A regular file.
    File(PathBuf),
}

/// The objects of one tree, by oid. Frozen trees (snapshots) are indexed once; a live tree's
/// index is checked on every lookup and rebuilt when the host changed under it.
pub struct TreeIndex {
    root: PathBuf,
    layout: Layout,
    nodes: HashMap<Oid, Node>,
    objects: Vec<Oid>,
}

fn since_epoch(m: &std::fs::Metadata) -> u64 {
    (m.mtime().max(0) as u64) * 1_000_000_000 + m.mtime_nsec().max(0) as u64
}

/// How a projection finds the extents of a file between two offsets.
pub type Extents<'a> = dyn Fn(&Path, u64, u64) -> io::Result<Vec<(u64, u64)>> + 'a;

/// The parts of `extents` (sorted, not overlapping) between `start` and `end`.
pub fn window(extents: &[(u64, u64)], start: u64, end: u64) -> Vec<(u64, u64)> {
    let first = extents.partition_point(|&(o, l)| o + l <= start);
    extents[first..]
        .iter()
        .take_while(|&&(o, _)| o < end)
        .map(|&(o, l)| {
            let from = o.max(start);
            (from, (o + l).min(end) - from)
        })
        .collect()
}

/// The extents of a file's array object as (offset, length): its data, plus the record that
/// holds the size of a file ending in a hole.
pub fn data_extents(path: &Path) -> io::Result<Vec<(u64, u64)>> {
    data_extents_in(path, 0, u64::MAX)
}

/// [`data_extents`] between byte offsets `start` and `end`, cut to them: one chunk's extents
/// cost a seek per extent of that chunk, not of the whole file (SEEK_DATA walks pages on
/// tmpfs, so a whole-file scan per chunk made copying a large file quadratic).
pub fn data_extents_in(path: &Path, start: u64, end: u64) -> io::Result<Vec<(u64, u64)>> {
    let size = std::fs::metadata(path)?.len();
    let mut out = seek_extents(path, start, end.min(size))?;
    // A file whose end is a hole got its size from daos_array_set_size, which stores one
    // zero record at the last index (dc_array.c `add_record`): libdfs derives a file's size
    // from its highest record, so that record is part of the array.
    let last = size.wrapping_sub(1);
    if size > 0 && (start..end).contains(&last) {
        let ends_in_data = out.last().is_some_and(|&(o, l)| o + l == size);
        if !ends_in_data {
            out.push((last, 1));
        }
    }
    Ok(out)
}

/// The extents of a file that hold data on the host, found with SEEK_DATA/SEEK_HOLE.
pub fn stored_extents(path: &Path) -> io::Result<Vec<(u64, u64)>> {
    seek_extents(path, 0, u64::MAX)
}

/// The extents holding data between `from` and `to` (cut to them and to the file's size).
fn seek_extents(path: &Path, from: u64, to: u64) -> io::Result<Vec<(u64, u64)>> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path)?;
    let to = to.min(f.metadata()?.len());
    let fd = f.as_raw_fd();
    let mut out = Vec::new();
    let mut pos = from;
    while pos < to {
        let Ok(at) = i64::try_from(pos) else { break };
        // SAFETY: lseek on a descriptor we own; no memory is involved.
        let data = unsafe { libc::lseek(fd, at, libc::SEEK_DATA) };
        if data < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENXIO) {
                break;
            }
            return Err(e);
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        if hole < 0 {
            return Err(io::Error::last_os_error());
        }
        let (data, hole) = (data as u64, (hole as u64).min(to));
        if data >= to {
            break;
        }
        if hole > data {
            out.push((data, hole - data));
        }
        pos = hole;
    }
    Ok(out)
}

impl TreeIndex {
    /// Walks the tree at `root`.
    pub fn build(root: &Path, layout: Layout) -> io::Result<TreeIndex> {
        let mut idx = TreeIndex {
            root: root.to_path_buf(),
            layout,
            nodes: HashMap::new(),
            objects: Vec::new(),
        };
        idx.nodes.insert(idx.layout.sb, Node::Sb);
        idx.objects.push(idx.layout.sb);
        let root_oid = idx.layout.root;
        idx.walk(root_oid, root.to_path_buf())?;
        idx.objects.sort();
        Ok(idx)
    }

    fn walk(&mut self, oid: Oid, dir: PathBuf) -> io::Result<()> {
        let mut has_entries = false;
        for e in std::fs::read_dir(&dir)? {
            let e = e?;
            has_entries = true;
            let m = match std::fs::symlink_metadata(e.path()) {
                Ok(m) => m,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            if m.is_dir() {
                let child = Oid {
                    lo: m.ino(),
                    hi: self.layout.dir_hi,
                };
                self.walk(child, e.path())?;
            } else if m.is_file() {
                let child = Oid {
                    lo: m.ino(),
                    hi: self.layout.file_hi,
                };
                self.nodes.insert(child, Node::File(e.path()));
                // An array object exists once something was written to it.
                if !data_extents(&e.path())?.is_empty() {
                    self.objects.push(child);
                }
            }
        }
        self.nodes.insert(oid, Node::Dir(dir));
        if has_entries {
            self.objects.push(oid);
        }
        Ok(())
    }

    /// The objects with data, sorted (what the OIT lists of the namespace).
    pub fn objects(&self) -> &[Oid] {
        &self.objects
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The projected object `oid`, if the tree has it. `check` verifies a live tree's node
    /// still is the host file the index saw.
    pub fn node(&self, oid: Oid, check: bool) -> Option<Node> {
        let n = self.nodes.get(&oid)?.clone();
        if check {
            let ok = match &n {
                Node::Sb => true,
                Node::Dir(p) if oid == self.layout.root => p.is_dir(),
                Node::Dir(p) => std::fs::symlink_metadata(p)
                    .map(|m| m.is_dir() && m.ino() == oid.lo)
                    .unwrap_or(false),
                Node::File(p) => std::fs::symlink_metadata(p)
                    .map(|m| m.is_file() && m.ino() == oid.lo)
                    .unwrap_or(false),
            };
            if !ok {
                return None;
            }
        }
        Some(n)
    }

    /// The entry libdfs would have stored for the host file at `path`, and a link's value.
    fn entry_of(&self, path: &Path, oid: Option<Oid>) -> io::Result<(Entry, Option<Vec<u8>>)> {
        let m = std::fs::symlink_metadata(path)?;
        let ft = m.file_type();
        let (oid, link) = if ft.is_dir() {
            (
                oid.unwrap_or(Oid {
                    lo: m.ino(),
                    hi: self.layout.dir_hi,
                }),
                None,
            )
        } else if ft.is_symlink() {
            let target = std::fs::read_link(path)?.as_os_str().as_bytes().to_vec();
            (
                Oid {
                    lo: m.ino(),
                    hi: self.layout.dir_hi,
                },
                Some(target),
            )
        } else {
            (
                Oid {
                    lo: m.ino(),
                    hi: self.layout.file_hi,
                },
                None,
            )
        };
        let mode = if ft.is_symlink() {
            libc::S_IFLNK | 0o777
        } else {
            m.mode()
        };
        Ok((
            Entry {
                mode,
                oid,
                mtime: m.mtime().max(0) as u64,
                ctime: m.ctime().max(0) as u64,
                // open_file (obj.c:201) stores the chunk size it resolved; open_dir the
                // parent's (0 under the root).
                chunk_size: if ft.is_file() { self.chunk_size() } else { 0 },
                oclass: 0,
                mtime_nsec: m.mtime_nsec().max(0) as u64,
                ctime_nsec: m.ctime_nsec().max(0) as u64,
                uid: m.uid(),
                gid: m.gid(),
                value_len: link.as_ref().map(|l| l.len() as u64).unwrap_or(0),
                obj_hlc: crate::hlc::from_unix_nanos(since_epoch(&m)),
            },
            link,
        ))
    }

    fn entry_akeys(&self, path: &Path, oid: Option<Oid>) -> io::Result<Akeys> {
        let (entry, link) = self.entry_of(path, oid)?;
        let mut akeys = Akeys::new();
        akeys.insert(
            INODE_AKEY.to_vec(),
            Value::Array(ArrayVal {
                rsize: 1,
                exts: vec![Ext {
                    idx: 0,
                    nr: END_IDX as u64,
                    data: Data::Mem(entry.pack()),
                }],
            }),
        );
        if let Some(l) = link {
            akeys.insert(SLINK_AKEY.to_vec(), Value::Single(l));
        }
        Ok(akeys)
    }

    fn sb_akeys(&self) -> Akeys {
        let a = &self.layout.attrs;
        let mut m = Akeys::new();
        let mut put = |k: &[u8], v: Vec<u8>| {
            m.insert(k.to_vec(), Value::Single(v));
        };
        put(MAGIC_NAME, SB_MAGIC.to_le_bytes().to_vec());
        put(SB_VER_NAME, SB_VERSION.to_le_bytes().to_vec());
        put(LAYOUT_VER_NAME, LAYOUT_VERSION.to_le_bytes().to_vec());
        put(CS_NAME, a.chunk_size.to_le_bytes().to_vec());
        put(OC_NAME, a.oclass.to_le_bytes().to_vec());
        put(DIR_OC_NAME, a.dir_oclass.to_le_bytes().to_vec());
        put(FILE_OC_NAME, a.file_oclass.to_le_bytes().to_vec());
        put(CONT_MODE_NAME, a.mode.to_le_bytes().to_vec());
        // open_sb (common.c:835) stores the hints, NUL included, only when there are some.
        if !a.hints.is_empty() {
            let mut h = a.hints.as_bytes().to_vec();
            h.push(0);
            put(CONT_HINT_NAME, h);
        }
        m
    }

    fn chunk_size(&self) -> u64 {
        if self.layout.attrs.chunk_size == 0 {
            crate::dfs::DEFAULT_CHUNK_SIZE
        } else {
            self.layout.attrs.chunk_size
        }
    }

    /// The dkeys of a projected object, sorted; `extents` finds a file's data extents
    /// between two offsets ([`data_extents_in`], or a cache of it).
    pub fn dkeys(&self, node: &Node, extents: &Extents<'_>) -> io::Result<Vec<Vec<u8>>> {
        match node {
            Node::Sb => Ok(vec![b"/".to_vec(), SB_DKEY.to_vec()]),
            Node::Dir(p) => {
                let mut names: Vec<Vec<u8>> = std::fs::read_dir(p)?
                    .flatten()
                    .map(|e| e.file_name().as_bytes().to_vec())
                    .collect();
                names.sort();
                Ok(names)
            }
            Node::File(p) => {
                let cs = self.chunk_size();
                let mut chunks: Vec<u64> = Vec::new();
                for (off, len) in extents(p, 0, u64::MAX)? {
                    let first = off / cs;
                    let last = (off + len - 1) / cs;
                    for c in first..=last {
                        if chunks.last() != Some(&c) {
                            chunks.push(c);
                        }
                    }
                }
                chunks.dedup();
                Ok(chunks
                    .iter()
                    .map(|c| (c + 1).to_le_bytes().to_vec())
                    .collect())
            }
        }
    }

    /// One dkey of a projected object; `None` when it has no such dkey. `extents` as for
    /// [`TreeIndex::dkeys`].
    pub fn read_dkey(
        &self,
        node: &Node,
        key: &[u8],
        extents: &Extents<'_>,
    ) -> io::Result<Option<Akeys>> {
        match node {
            Node::Sb if key == SB_DKEY => Ok(Some(self.sb_akeys())),
            Node::Sb if key == b"/" => self
                .entry_akeys(&self.root, Some(self.layout.root))
                .map(Some),
            Node::Sb => Ok(None),
            Node::Dir(p) => {
                let Ok(name) = std::str::from_utf8(key) else {
                    return Ok(None);
                };
                if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                    return Ok(None);
                }
                match self.entry_akeys(&p.join(name), None) {
                    Ok(a) => Ok(Some(a)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            }
            Node::File(p) => {
                let Ok(k) = <[u8; 8]>::try_from(key) else {
                    return Ok(None);
                };
                let chunk = u64::from_le_bytes(k);
                if chunk == 0 {
                    return Ok(None);
                }
                let cs = self.chunk_size();
                let start = (chunk - 1).saturating_mul(cs);
                let end = start.saturating_add(cs);
                let path = Arc::new(p.clone());
                let exts: Vec<Ext> = extents(p, start, end)?
                    .into_iter()
                    .filter_map(|(off, len)| {
                        let from = off.max(start);
                        let to = (off + len).min(end);
                        (from < to).then(|| Ext {
                            idx: from - start,
                            nr: to - from,
                            data: Data::File {
                                path: path.clone(),
                                off: from,
                            },
                        })
                    })
                    .collect();
                if exts.is_empty() {
                    return Ok(None);
                }
                let mut akeys = Akeys::new();
                akeys.insert(
                    ARRAY_AKEY.to_vec(),
                    Value::Array(ArrayVal { rsize: 1, exts }),
                );
                Ok(Some(akeys))
            }
        }
    }

    /// The HLC of the object's last update as the projection presents it: the host mtime
    /// (the superblock: the container's creation).
    pub fn hlc(&self, node: &Node) -> u64 {
        match node {
            Node::Sb => self.layout.created_hlc,
            Node::Dir(p) | Node::File(p) => std::fs::symlink_metadata(p)
                .map(|m| crate::hlc::from_unix_nanos(since_epoch(&m)))
                .unwrap_or(0),
        }
    }

    /// The tree's root directory on the host.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_packs_in_insert_entry_order() {
        let e = Entry {
            mode: 0o100644,
            oid: Oid { lo: 5, hi: 6 },
            mtime: 7,
            ctime: 8,
            chunk_size: 9,
            oclass: 10,
            mtime_nsec: 11,
            ctime_nsec: 12,
            uid: 13,
            gid: 14,
            value_len: 15,
            obj_hlc: 16,
        };
        let b = e.pack();
        assert_eq!(b.len(), END_IDX);
        // OID_IDX = 4, MTIME_IDX = 20, UID_IDX = 64, HLC_IDX = 80 (dfs_internal.h:62-75).
        assert_eq!(b[4], 5);
        assert_eq!(b[20], 7);
        assert_eq!(b[64], 13);
        assert_eq!(b[80], 16);
        assert_eq!(Entry::unpack(&b), Some(e));
        assert_eq!(Entry::unpack(&b[..87]), None);
    }
}

#[cfg(test)]
mod extent_tests {
    use super::*;

    #[test]
    fn a_window_cuts_extents_to_its_bounds() {
        let all = [(0, 10), (20, 5), (40, 1)];
        assert_eq!(window(&all, 5, 22), vec![(5, 5), (20, 2)]);
        assert_eq!(window(&all, 10, 20), vec![], "a hole");
        assert_eq!(window(&all, 0, u64::MAX), all.to_vec());
        assert_eq!(window(&all, 24, 41), vec![(24, 1), (40, 1)]);
    }

    #[test]
    fn a_chunk_holding_the_end_of_a_sparse_file_has_its_size_record() {
        let dir = tempfile_dir();
        let path = dir.join("sparse");
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(3 << 20).unwrap();
        drop(f);
        let last = (3 << 20) - 1;
        assert_eq!(data_extents(&path).unwrap(), vec![(last, 1)]);
        assert_eq!(
            data_extents_in(&path, 2 << 20, 3 << 20).unwrap(),
            vec![(last, 1)]
        );
        assert_eq!(data_extents_in(&path, 0, 1 << 20).unwrap(), vec![]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("emu-extents-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
