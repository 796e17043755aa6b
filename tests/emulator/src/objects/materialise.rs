//! Builds the namespace of a POSIX container from its raw objects when DFS first mounts it
//! (a container filled object by object, as `daos container clone` does on DAOS 2.6), the
//! way libdfs would read those objects (upstream v2.6.5.p2 `src/client/dfs/mnt.c`
//! `dfs_mount`, `common.c` `open_sb`, `fetch_entry`, `update_stbuf_times`).

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::store::RawStore;
use super::tree::{
    ARRAY_AKEY, CONT_HINT_NAME, CONT_MODE_NAME, CS_NAME, DIR_OC_NAME, END_IDX, Entry, FILE_OC_NAME,
    INODE_AKEY, LAYOUT_VER_NAME, LAYOUT_VERSION, MAGIC_NAME, OC_NAME, SB_DKEY, SB_MAGIC,
    SB_VER_NAME, SB_VERSION, SLINK_AKEY,
};
use super::value::{Akeys, Value};
use super::{Oid, lock, objs_dir, roots_of};
use crate::client::ContHandle;
use crate::dfs::{ErrnoResult, Space};
use crate::props::co;
use crate::state::DfsAttrs;

fn errno(e: io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

fn single<'a>(akeys: &'a Akeys, name: &[u8]) -> Option<&'a [u8]> {
    match akeys.get(name) {
        Some(Value::Single(v)) => Some(v),
        _ => None,
    }
}

fn le_u64(b: Option<&[u8]>) -> u64 {
    b.and_then(|s| s.get(..8))
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0)
}

fn le_u32(b: Option<&[u8]>) -> u32 {
    b.and_then(|s| s.get(..4))
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(0)
}

/// The superblock's attributes, checked as `open_sb` does (common.c:880-910): no magic
/// `ENOENT`, a wrong magic or version `EINVAL`.
fn read_sb(raw: &RawStore, sb: Oid) -> ErrnoResult<DfsAttrs> {
    let akeys = raw
        .read_dkey(sb, SB_DKEY)
        .map_err(errno)?
        .unwrap_or_default();
    let magic = single(&akeys, MAGIC_NAME).ok_or(libc::ENOENT)?;
    if le_u64(Some(magic)) != SB_MAGIC || magic.len() != 8 {
        return Err(libc::EINVAL);
    }
    let version = |name: &[u8]| {
        single(&akeys, name)
            .filter(|v| v.len() == 2)
            .map(|v| u16::from_le_bytes([v[0], v[1]]))
    };
    match version(SB_VER_NAME) {
        Some(v) if v <= SB_VERSION => {}
        _ => return Err(libc::EINVAL),
    }
    if version(LAYOUT_VER_NAME) != Some(LAYOUT_VERSION) {
        return Err(libc::EINVAL);
    }
    let chunk = le_u64(single(&akeys, CS_NAME));
    let hints = single(&akeys, CONT_HINT_NAME)
        .map(|h| {
            let end = h.iter().position(|c| *c == 0).unwrap_or(h.len());
            String::from_utf8_lossy(&h[..end]).into_owned()
        })
        .unwrap_or_default();
    Ok(DfsAttrs {
        chunk_size: if chunk == 0 {
            crate::dfs::DEFAULT_CHUNK_SIZE
        } else {
            chunk
        },
        oclass: le_u32(single(&akeys, OC_NAME)),
        dir_oclass: le_u32(single(&akeys, DIR_OC_NAME)),
        file_oclass: le_u32(single(&akeys, FILE_OC_NAME)),
        mode: le_u32(single(&akeys, CONT_MODE_NAME)),
        hints,
        root_uid: 0,
        root_gid: 0,
    })
}

/// The entry under `name` in object `dir`; `None` when there is none.
fn read_entry(raw: &RawStore, dir: Oid, name: &[u8]) -> ErrnoResult<Option<(Entry, Akeys)>> {
    let Some(akeys) = raw.read_dkey(dir, name).map_err(errno)? else {
        return Ok(None);
    };
    let Some(Value::Array(a)) = akeys.get(INODE_AKEY) else {
        return Ok(None);
    };
    let bytes = a.read_all().map_err(errno)?;
    let entry = Entry::unpack(bytes.get(..END_IDX).unwrap_or(&bytes)).ok_or(libc::EIO)?;
    Ok(Some((entry, akeys)))
}

/// A time as `update_stbuf_times` (common.c:520) reports it: the entry's mtime when the
/// entry's `obj_hlc` is the object's last update (or the object was never updated), else
/// the time of that last update.
fn shown_mtime(entry: &Entry, obj_hlc: u64) -> (i64, i64) {
    let obj_ns = crate::hlc::to_unix_nanos(obj_hlc);
    if obj_hlc == 0 || crate::hlc::to_unix_nanos(entry.obj_hlc) == obj_ns {
        (entry.mtime as i64, entry.mtime_nsec as i64)
    } else {
        (
            (obj_ns / 1_000_000_000) as i64,
            (obj_ns % 1_000_000_000) as i64,
        )
    }
}

struct Build<'a> {
    raw: &'a RawStore,
    chunk: u64,
    alloced: u64,
    consumed: Vec<Oid>,
    bytes: u64,
    /// (path, mtime, follow) in the order to set them: children before their directory.
    times: Vec<(PathBuf, (i64, i64))>,
}

impl Build<'_> {
    /// The emulator's check (stricter than DAOS): an object at or above the container's
    /// allocator would collide with the next object DFS creates.
    fn check_alloc(&self, oid: Oid) -> ErrnoResult<()> {
        if oid.lo >= self.alloced {
            eprintln!(
                "daos-emulator: refusing to mount: object {:#x}.{:#x} is at or above the \
                 container's DAOS_PROP_CO_ALLOCED_OID ({}); copy the allocator state with the \
                 objects, or new DFS objects would collide with copied ones",
                oid.hi, oid.lo, self.alloced
            );
            return Err(libc::EIO);
        }
        Ok(())
    }

    fn dir(&mut self, oid: Oid, path: &Path) -> ErrnoResult<()> {
        self.check_alloc(oid)?;
        if self.raw.exists(oid) {
            self.consumed.push(oid);
        }
        for name in self.raw.dkeys(oid).map_err(errno)? {
            if name.is_empty() || name.contains(&b'/') || name == b"." || name == b".." {
                return Err(libc::EIO);
            }
            let Some((entry, akeys)) = read_entry(self.raw, oid, &name)? else {
                continue;
            };
            let child = path.join(std::ffi::OsStr::from_bytes(&name));
            self.entry(&entry, &akeys, &child)?;
        }
        Ok(())
    }

    fn entry(&mut self, entry: &Entry, akeys: &Akeys, path: &Path) -> ErrnoResult<()> {
        match entry.mode & libc::S_IFMT {
            libc::S_IFDIR => {
                std::fs::create_dir(path).map_err(errno)?;
                self.dir(entry.oid, path)?;
                set_mode_owner(path, entry)?;
            }
            libc::S_IFREG => {
                self.file(entry, path)?;
                set_mode_owner(path, entry)?;
            }
            libc::S_IFLNK => {
                let value = single(akeys, SLINK_AKEY).ok_or(libc::EIO)?;
                if value.len() as u64 != entry.value_len || value.is_empty() {
                    return Err(libc::EIO);
                }
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(value), path)
                    .map_err(errno)?;
                let _ = std::os::unix::fs::lchown(path, Some(entry.uid), Some(entry.gid));
                self.times.push((
                    path.to_path_buf(),
                    (entry.mtime as i64, entry.mtime_nsec as i64),
                ));
                return Ok(());
            }
            _ => return Err(libc::EIO),
        }
        let hlc = self.raw.hlc(entry.oid);
        self.times
            .push((path.to_path_buf(), shown_mtime(entry, hlc)));
        Ok(())
    }

    fn file(&mut self, entry: &Entry, path: &Path) -> ErrnoResult<()> {
        self.check_alloc(entry.oid)?;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(errno)?;
        let chunk = if entry.chunk_size != 0 {
            entry.chunk_size
        } else {
            self.chunk
        };
        let oid = entry.oid;
        if self.raw.exists(oid) {
            self.consumed.push(oid);
        }
        let mut size = 0u64;
        for dkey in self.raw.dkeys(oid).map_err(errno)? {
            let Ok(k) = <[u8; 8]>::try_from(dkey.as_slice()) else {
                return Err(libc::EIO);
            };
            let index = u64::from_le_bytes(k);
            if index == 0 {
                return Err(libc::EIO);
            }
            let base = (index - 1).checked_mul(chunk).ok_or(libc::EIO)?;
            let akeys = self
                .raw
                .read_dkey(oid, &dkey)
                .map_err(errno)?
                .unwrap_or_default();
            let Some(Value::Array(a)) = akeys.get(ARRAY_AKEY) else {
                continue;
            };
            for (idx, nr) in a.recxs() {
                // Extents past what a file offset can hold are a corrupt object.
                let len = nr.checked_mul(a.rsize).ok_or(libc::EIO)?;
                let off = idx
                    .checked_mul(a.rsize)
                    .and_then(|o| o.checked_add(base))
                    .filter(|o| o.checked_add(len).is_some_and(|e| e <= i64::MAX as u64))
                    .ok_or(libc::EIO)?;
                let mut buf = vec![0u8; len as usize];
                a.read(idx, &mut buf).map_err(errno)?;
                f.write_all_at(&buf, off).map_err(errno)?;
                size = size.max(off + len);
            }
        }
        self.bytes += size;
        Ok(())
    }
}

fn set_mode_owner(path: &Path, entry: &Entry) -> ErrnoResult<()> {
    std::os::unix::fs::lchown(path, Some(entry.uid), Some(entry.gid)).map_err(errno)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(entry.mode & 0o7777))
        .map_err(errno)
}

fn set_mtime(path: &Path, time: (i64, i64)) -> ErrnoResult<()> {
    crate::fsutil::set_times_nofollow(path, Some(time), Some(time)).map_err(errno)
}

/// Makes sure a POSIX container has its namespace before DFS serves it: a container with
/// none but raw objects gets it built from them (and loses the raw objects that became it).
/// Errors as `dfs_mount` gives them: no ROOTS `EIO`, no superblock `ENOENT`, a bad one
/// `EINVAL`, no root entry `ENOENT`.
pub fn ensure_namespace(cont: &ContHandle) -> ErrnoResult<()> {
    let root = cont.dir.fs_root();
    if root.exists() {
        return Ok(());
    }
    let meta = cont.dir.meta().map_err(|e| e.to_errno())?;
    if !meta.is_posix() {
        return Ok(());
    }
    let roots = roots_of(&meta);
    let sb = Oid {
        lo: roots[0],
        hi: roots[1],
    };
    if (roots[0], roots[1]) == (0, 0) || (roots[2], roots[3]) == (0, 0) {
        // mnt.c: "Invalid superblock or root object ID".
        return Err(libc::EIO);
    }
    let _lock = lock(&cont.dir, true).map_err(|e| e.to_errno())?;
    if root.exists() {
        return Ok(());
    }
    let raw = RawStore::at(objs_dir(&cont.dir));
    let mut attrs = read_sb(&raw, sb)?;
    let (root_entry, _) = read_entry(&raw, sb, b"/")?.ok_or(libc::ENOENT)?;
    if root_entry.mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(libc::ENOTDIR);
    }
    attrs.root_uid = root_entry.uid;
    attrs.root_gid = root_entry.gid;
    let tmp = root.with_file_name(format!(
        "{}.materialising.{}",
        cont.dir.uuid,
        std::process::id()
    ));
    let _ = crate::fsutil::remove_tree(&tmp);
    let mut b = Build {
        raw: &raw,
        chunk: attrs.chunk_size,
        alloced: meta.val(co::ALLOCED_OID),
        consumed: Vec::new(),
        bytes: 0,
        times: Vec::new(),
    };
    let built = (|| -> ErrnoResult<()> {
        b.check_alloc(sb)?;
        b.consumed.push(sb);
        std::fs::create_dir(&tmp).map_err(errno)?;
        b.dir(root_entry.oid, &tmp)?;
        set_mode_owner(&tmp, &root_entry)?;
        let hlc = raw.hlc(root_entry.oid);
        b.times.push((tmp.clone(), shown_mtime(&root_entry, hlc)));
        for (p, t) in &b.times {
            set_mtime(p, *t)?;
        }
        Ok(())
    })();
    if let Err(e) = built {
        let _ = crate::fsutil::remove_tree(&tmp);
        return Err(e);
    }
    let space = Space::of(cont)?;
    if let Err(e) = space.grow(b.bytes) {
        let _ = crate::fsutil::remove_tree(&tmp);
        return Err(e);
    }
    let done = std::fs::rename(&tmp, &root).map_err(errno).and_then(|()| {
        cont.dir
            .update(|m| {
                m.dfs = Some(attrs.clone());
                Ok(())
            })
            .map_err(|e| e.to_errno())
    });
    if let Err(e) = done {
        space.shrink(b.bytes);
        let _ = crate::fsutil::remove_tree(&tmp);
        let _ = crate::fsutil::remove_tree(&root);
        return Err(e);
    }
    for oid in b.consumed {
        let _ = raw.remove(oid);
    }
    Ok(())
}
