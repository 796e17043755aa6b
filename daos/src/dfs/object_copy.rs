//! Copying a snapshot of a POSIX container object by object, the way `daos container clone`
//! does (`cont_clone_hdlr` in src/utils/daos_hdlr.c, DAOS 2.6): the route for a DAOS client
//! that cannot mount a snapshot through DFS (`dfs_mount_snap` is DAOS 2.8 on).
//!
//! Every object the snapshot's object index table lists is read in a snapshot read
//! transaction and written, keys and values as they are, under the same OID into a container
//! that has no objects yet, so the DFS layout (superblock, root, directory entries, file
//! arrays) arrives whole. Many reads and writes are in flight at once: the work is split by
//! dkey (a directory entry, a file chunk), and up to [`ObjectCopyOptions::in_flight`] of those
//! run together.
//!
//! Two things are not in the objects and are restored afterwards:
//!
//! * **the object-id allocator**: a new DFS mount takes ids above the container's
//!   `DAOS_PROP_CO_ALLOCED_OID`, so the copy must start with the source's value or a new file
//!   could take a copied file's OID. The property can only be given at creation, with the
//!   ids of the superblock and root objects (`DAOS_PROP_CO_ROOTS`, which `dfs_mount`
//!   needs): [`object_copy_properties`] reads both from the source, *after* the snapshot.
//! * **modification times**: libdfs reports a file's or directory's mtime from the epoch of
//!   its object's last update unless its entry records that epoch (`update_stbuf_times` in
//!   src/client/dfs/common.c), so every copied object would show the copy's time. The copy
//!   computes what the source showed at the snapshot (the entry's mtime, or the time of the
//!   object's highest epoch at the snapshot) and sets it through DFS on the new container,
//!   children before their directory, since setting an entry updates its directory's object.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::copy::{CopyProgress, block_on};
use super::{Dfs, SetAttributes};
use crate::container::{Container, ContainerAccess};
use crate::eq::EventQueue;
use crate::error::{Der, Error, Result};
use crate::object::{Anchor, Object, ObjectAccess, ObjectId, ObjectType, ValueKind};
use crate::prop::{PropType, PropValue, Properties};
use crate::snapshot::Epoch;
use crate::tx::{Transaction, Tx};

/// The properties the destination of [`copy_snapshot_objects`] must be created with, read
/// from the source `src` (after the snapshot was taken): the POSIX layout type, the
/// superblock and root object ids (`DAOS_PROP_CO_ROOTS`, without which `dfs_mount` refuses
/// the container with `EIO`: src/client/dfs/mnt.c), and the object-id allocator
/// (`DAOS_PROP_CO_ALLOCED_OID`), so that objects DFS creates later cannot take a copied
/// object's id. As `daos container clone` creates its destination (`dm_connect`,
/// src/utils/daos_hdlr.c). Both can only be given at creation; add the rest (redundancy,
/// ACL, ...) as for any container.
pub fn object_copy_properties(src: &Container) -> Result<Properties> {
    let found = src.properties_of(&[PropType::ROOTS, PropType::ALLOCED_OID])?;
    let mut props = Properties::new().set(PropType::LAYOUT_TYPE, PropValue::Number(LAYOUT_POSIX));
    for kind in [PropType::ROOTS, PropType::ALLOCED_OID] {
        let value = found.get(kind).cloned().ok_or_else(|| {
            Error::raised(
                "object_copy_properties",
                Der::Nonexist,
                format!("{} did not report its {kind:?} property", src.describe()),
            )
        })?;
        props.insert(kind, value);
    }
    Ok(props)
}

/// `DAOS_PROP_CO_LAYOUT_POSIX` (daos_prop.h).
const LAYOUT_POSIX: u64 = 1;

/// How [`copy_snapshot_objects`] copies.
#[derive(Clone, Debug)]
pub struct ObjectCopyOptions {
    /// Most dkeys (directory entries, file chunks) being copied at once (at least 1); each
    /// keeps one DAOS operation in flight. Also the number of threads that then restore
    /// modification times (`dfs_osetattr` has no asynchronous form).
    pub in_flight: usize,
}

impl Default for ObjectCopyOptions {
    /// 16 dkeys at a time.
    fn default() -> ObjectCopyOptions {
        ObjectCopyOptions { in_flight: 16 }
    }
}

/// The dkey under which libdfs keeps the root directory's entry in the superblock object
/// (`dfs_cont_create` in src/client/dfs/cont.c).
const ROOT_DKEY: &[u8] = b"/";
/// The akey of a directory entry's packed inode (`INODE_AKEY_NAME`, dfs_internal.h).
const INODE_AKEY: &[u8] = b"DFS_INODE";
/// OIDs of the superblock and root objects: `lo` 0, the low 32 bits of `hi` 0 and 1
/// (`RESERVED_LO`, `SB_HI`, `ROOT_HI` in dfs_internal.h); the high 32 bits carry the class.
const SB_HI: u64 = 0;

/// Byte offsets in a packed entry, in the order `insert_entry` (src/client/dfs/common.c)
/// writes them: mode (4), oid (16), mtime, ctime, chunk size (8 each), object class (4),
/// mtime ns, ctime ns (8 each), uid, gid (4 each), value length, object HLC (8 each).
mod entry_layout {
    pub const MODE: usize = 0;
    pub const OID: usize = MODE + 4;
    pub const MTIME: usize = OID + 16;
    pub const CTIME: usize = MTIME + 8;
    pub const CHUNK_SIZE: usize = CTIME + 8;
    pub const OCLASS: usize = CHUNK_SIZE + 8;
    pub const MTIME_NSEC: usize = OCLASS + 4;
    pub const CTIME_NSEC: usize = MTIME_NSEC + 8;
    pub const UID: usize = CTIME_NSEC + 8;
    pub const GID: usize = UID + 4;
    pub const VALUE_LEN: usize = GID + 4;
    pub const OBJ_HLC: usize = VALUE_LEN + 8;
    /// `END_IDX`: the length of a layout-3 entry (DAOS 2.2 on).
    pub const END: usize = OBJ_HLC + 8;
}

/// What a copied directory entry says, as far as the copy needs it.
#[derive(Debug, Clone)]
struct Entry {
    /// The directory object holding the entry (the superblock for the root).
    parent: ObjectId,
    name: Vec<u8>,
    mode: u32,
    /// The object the entry names (none for a symbolic link).
    oid: ObjectId,
    mtime: Duration,
    /// The epoch at which libdfs last set the entry's times explicitly; 0 if never (or a
    /// layout without it).
    obj_hlc: u64,
}

impl Entry {
    fn decode(parent: ObjectId, name: &[u8], packed: &[u8]) -> Option<Entry> {
        use entry_layout as at;
        let u32_at = |i: usize| Some(u32::from_ne_bytes(packed.get(i..i + 4)?.try_into().ok()?));
        let u64_at = |i: usize| Some(u64::from_ne_bytes(packed.get(i..i + 8)?.try_into().ok()?));
        let mode = u32_at(at::MODE)?;
        let oid = ObjectId::new(u64_at(at::OID + 8)?, u64_at(at::OID)?);
        let nanos = u64_at(at::MTIME_NSEC).unwrap_or(0).min(999_999_999);
        Some(Entry {
            parent,
            name: name.to_vec(),
            mode,
            oid,
            mtime: Duration::new(u64_at(at::MTIME)?, nanos as u32),
            obj_hlc: if packed.len() >= at::END {
                u64_at(at::OBJ_HLC)?
            } else {
                0
            },
        })
    }

    fn file_type(&self) -> u32 {
        self.mode & libc::S_IFMT
    }

    /// The mtime libdfs showed for this entry at the snapshot, given the highest epoch of its
    /// object then (`update_stbuf_times`): the entry's own when the object was not touched
    /// after the entry recorded it, else the object's.
    fn visible_mtime(&self, object_epoch: Option<Epoch>) -> SystemTime {
        let entry_time = UNIX_EPOCH + self.mtime;
        match object_epoch {
            None | Some(Epoch(0)) => entry_time,
            Some(epoch) if epoch.to_system_time() == Epoch(self.obj_hlc).to_system_time() => {
                entry_time
            }
            Some(epoch) => epoch.to_system_time(),
        }
    }
}

/// The source and destination handles of one object, shared by the work on its dkeys.
struct Pair {
    from: Object,
    to: Object,
    /// Bytes of file data count towards [`CopyProgress::bytes`].
    is_file: bool,
}

/// What one piece of work found.
#[derive(Default)]
struct Done {
    dkeys: Vec<(Arc<Pair>, Vec<u8>)>,
    entries: Vec<Entry>,
    max_epoch: Option<(ObjectId, Epoch)>,
    bytes: u64,
}

type Work = Pin<Box<dyn Future<Output = Result<Done>> + Send>>;

/// Copies every object of snapshot `epoch` of `src` (a POSIX container; the snapshot must
/// have an object index table: [`Container::create_snapshot_with_object_index`]) into `dst`,
/// a POSIX-typed container with no objects yet (not made by `dfs_cont_create`: the copy
/// brings the superblock and root), created with [`object_copy_properties`] of the source
/// read after the snapshot was taken. Then mounts `dst` and
/// gives every copied file and directory the modification time it had at the snapshot.
///
/// Blocking: call it from a thread that may block; it waits for the operations it submits to
/// `eq` itself. `progress` is called as work completes with the totals so far (files,
/// directories and links as their entries are copied; bytes of file data). The first error
/// ends the copy and is returned with the object it happened on; `dst` is then left partly
/// written (destroy it). A snapshot without an object index is `-DER_NONEXIST` saying so.
pub fn copy_snapshot_objects(
    src: &Container,
    epoch: Epoch,
    dst: &Container,
    eq: &Arc<EventQueue>,
    options: &ObjectCopyOptions,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyProgress> {
    const OP: &str = "copy_snapshot_objects";
    if options.in_flight == 0 {
        return Err(Error::invalid(
            OP,
            format!("{options:?}: in_flight must be at least 1"),
        ));
    }
    let index = src.open_object_index(epoch).map_err(|e| {
        if e.is_not_found() {
            let context = format!(
                "snapshot {epoch} of {} has no object index table (it was not taken with \
                 DAOS_SNAP_OPT_OIT), so its objects cannot be listed",
                src.describe()
            );
            e.with_context(context)
        } else {
            e
        }
    })?;
    let reader = src.snapshot_reader(epoch)?;
    let mut copier = ObjectCopier {
        src,
        dst,
        eq,
        reader,
        in_flight: options.in_flight,
        running: FuturesUnordered::new(),
        dkeys: VecDeque::new(),
        entries: Vec::new(),
        epochs: HashMap::new(),
        totals: CopyProgress::default(),
    };
    let mut anchor = Anchor::default();
    loop {
        copier.fill(&index, &mut anchor)?;
        if copier.running.is_empty() {
            break;
        }
        let done = block_on(copier.running.next());
        if let Some(done) = done {
            copier.absorb(done?);
            progress(&copier.totals);
        }
    }
    drop(index);
    let totals = copier.totals;
    let (entries, epochs) = (copier.entries, copier.epochs);
    let fs = dst.mount_dfs(ContainerAccess::ReadWrite)?;
    restore_times(&fs, &entries, &epochs, options.in_flight)?;
    fs.unmount()?;
    Ok(totals)
}

struct ObjectCopier<'a> {
    src: &'a Container,
    dst: &'a Container,
    eq: &'a Arc<EventQueue>,
    reader: Transaction,
    in_flight: usize,
    running: FuturesUnordered<Work>,
    /// dkeys found, waiting for room.
    dkeys: VecDeque<(Arc<Pair>, Vec<u8>)>,
    entries: Vec<Entry>,
    epochs: HashMap<ObjectId, Epoch>,
    totals: CopyProgress,
}

impl ObjectCopier<'_> {
    /// Starts work until `in_flight` pieces run: waiting dkeys first, then the next objects
    /// of the index (each starts with the listing of its dkeys).
    fn fill(&mut self, index: &crate::ObjectIndex, anchor: &mut Anchor) -> Result<()> {
        while self.running.len() < self.in_flight {
            if let Some((pair, dkey)) = self.dkeys.pop_front() {
                let work = copy_dkey(self.eq, &self.reader, pair, dkey);
                self.running.push(Box::pin(work));
                continue;
            }
            if anchor.is_done() {
                return Ok(());
            }
            // Objects are listed only when there is room: the dkeys of the objects already
            // started go first, which keeps the queue short.
            let batch = index.list_batch(anchor, self.in_flight.max(16) as u32)?;
            for oid in batch {
                let work = list_object(self.eq, &self.reader, self.src, self.dst, oid);
                self.running.push(Box::pin(work));
            }
        }
        Ok(())
    }

    fn absorb(&mut self, done: Done) {
        self.dkeys.extend(done.dkeys);
        if let Some((oid, epoch)) = done.max_epoch {
            self.epochs.insert(oid, epoch);
        }
        self.totals.bytes += done.bytes;
        for entry in done.entries {
            match entry.file_type() {
                libc::S_IFREG => self.totals.files += 1,
                libc::S_IFDIR if entry.name != ROOT_DKEY => self.totals.directories += 1,
                libc::S_IFLNK => self.totals.symlinks += 1,
                _ => {}
            }
            self.entries.push(entry);
        }
    }
}

/// Opens an object in both containers and lists its dkeys and its highest epoch at the
/// snapshot. Every call goes through the queue: a blocking open per object would make a copy
/// of many small files wait for one round trip after another.
fn list_object(
    eq: &Arc<EventQueue>,
    reader: &Transaction,
    src: &Container,
    dst: &Container,
    oid: ObjectId,
) -> impl Future<Output = Result<Done>> + Send + 'static + use<> {
    let from = src.open_object_async(eq, oid, ObjectAccess::ReadOnly);
    let to = dst.open_object_async(eq, oid, ObjectAccess::ReadWrite);
    let (eq, reader) = (Arc::clone(eq), reader.clone());
    async move {
        let in_object = |e: Error| e.with_context(format!("copying object {oid}"));
        let (from, to) = futures_util::join!(from, to);
        let pair = Arc::new(Pair {
            from: from.map_err(in_object)?,
            to: to.map_err(in_object)?,
            is_file: oid.otype() == Some(ObjectType::ArrayByte),
        });
        let tx = Tx::of(&reader);
        let (dkeys, max_epoch) = futures_util::join!(
            pair.from.list_dkeys_async(&eq, tx),
            pair.from.max_epoch_async(&eq, tx)
        );
        let dkeys = dkeys.map_err(in_object)?;
        let max_epoch = max_epoch.map_err(in_object)?;
        let done = Done {
            dkeys: dkeys.into_iter().map(|d| (Arc::clone(&pair), d)).collect(),
            max_epoch: Some((oid, max_epoch)),
            ..Done::default()
        };
        close_if_last(&eq, pair).await.map_err(in_object)?;
        Ok(done)
    }
}

/// Closes both handles of an object through the queue once no other work holds them (a
/// drop would close them with a blocking call, one round trip each).
async fn close_if_last(eq: &EventQueue, pair: Arc<Pair>) -> Result<()> {
    let Ok(pair) = Arc::try_unwrap(pair) else {
        return Ok(());
    };
    let (from, to) = futures_util::join!(pair.from.close_async(eq), pair.to.close_async(eq));
    from.and(to)
}

/// Copies every akey of one dkey: single values whole, arrays by the extents that hold data
/// (holes stay holes), in the snapshot's transaction; writes are transactions of their own.
fn copy_dkey(
    eq: &Arc<EventQueue>,
    reader: &Transaction,
    pair: Arc<Pair>,
    dkey: Vec<u8>,
) -> impl Future<Output = Result<Done>> + Send + 'static + use<> {
    let eq = Arc::clone(eq);
    let reader = reader.clone();
    async move {
        let oid = pair.from.oid();
        let in_object = |e: Error| {
            e.with_context(format!(
                "copying dkey {} of object {oid}",
                String::from_utf8_lossy(&dkey).escape_debug()
            ))
        };
        let read = Tx::of(&reader);
        let akeys = pair
            .from
            .list_akeys_async(&eq, read, &dkey)
            .await
            .map_err(in_object)?;
        let mut done = Done::default();
        for akey in akeys {
            match pair
                .from
                .value_kind_async(&eq, read, &dkey, &akey)
                .await
                .map_err(in_object)?
            {
                ValueKind::None => {}
                ValueKind::Single { size } => {
                    let buf = vec![0; usize::try_from(size).unwrap_or(usize::MAX)];
                    let fetched = pair
                        .from
                        .fetch_single_into_async(&eq, read, &dkey, &akey, buf);
                    if let Some(value) = fetched.await.map_err(in_object)? {
                        pair.to
                            .update_single_async(&eq, Tx::NONE, &dkey, &akey, value)
                            .await
                            .map_err(in_object)?;
                    }
                }
                ValueKind::Array { .. } => {
                    let extents = pair
                        .from
                        .list_recxs_async(&eq, read, &dkey, &akey)
                        .await
                        .map_err(in_object)?;
                    if extents.recxs.is_empty() {
                        continue;
                    }
                    let data = pair
                        .from
                        .fetch_array_async(&eq, read, &dkey, &akey, &extents, Vec::new())
                        .await
                        .map_err(in_object)?;
                    if akey == INODE_AKEY
                        && let Some(entry) = Entry::decode(oid, &dkey, &data)
                    {
                        done.entries.push(entry);
                    }
                    if pair.is_file {
                        done.bytes += data.len() as u64;
                    }
                    pair.to
                        .update_array_async(&eq, Tx::NONE, &dkey, &akey, &extents, data)
                        .await
                        .map_err(in_object)?;
                }
            }
        }
        close_if_last(&eq, pair).await.map_err(in_object)?;
        Ok(done)
    }
}

/// Gives every copied file and directory, the root included, the mtime it showed at the
/// snapshot, children before their directory (setting an entry updates its directory's
/// object). libdfs stats the root like any directory (`dfs_stat` → `entry_stat` of its entry
/// in the superblock, src/client/dfs/obj.c), so it needs it too.
///
/// `dfs_osetattr` has no asynchronous form, so the entries of one depth are set by `workers`
/// threads at once (a mount is safe to share), the deepest first: every directory is then
/// set after all of its children.
fn restore_times(
    fs: &Dfs,
    entries: &[Entry],
    epochs: &HashMap<ObjectId, Epoch>,
    workers: usize,
) -> Result<()> {
    for level in by_depth(entries)?.iter().rev() {
        for_each_parallel(level, workers, |(path, entry)| {
            set_mtime(fs, path, entry, epochs)
        })?;
    }
    Ok(())
}

/// The files and directories under the root entry, with their paths, by depth (the root
/// alone at depth 0). Links are left out: they have no object, and libdfs shows their
/// entry's times, which were copied.
fn by_depth(entries: &[Entry]) -> Result<Vec<Vec<(String, &Entry)>>> {
    let mut children: HashMap<ObjectId, Vec<&Entry>> = HashMap::new();
    let mut root = None;
    for entry in entries {
        if entry.name == ROOT_DKEY && entry.parent.hi & 0xffff_ffff == SB_HI && entry.parent.lo == 0
        {
            root = Some(entry);
        } else {
            children.entry(entry.parent).or_default().push(entry);
        }
    }
    let Some(root) = root else {
        return Err(Error::raised(
            "copy_snapshot_objects",
            Der::Nonexist,
            "the snapshot holds no DFS superblock with a root entry: not a POSIX container",
        ));
    };
    let mut levels = vec![vec![("/".to_string(), root)]];
    loop {
        let mut next = Vec::new();
        for (path, dir) in levels.last().into_iter().flatten() {
            if dir.file_type() != libc::S_IFDIR {
                continue;
            }
            for child in children.get(&dir.oid).into_iter().flatten() {
                if !matches!(child.file_type(), libc::S_IFDIR | libc::S_IFREG) {
                    continue;
                }
                let name = String::from_utf8_lossy(&child.name);
                let child_path = if path == "/" {
                    format!("/{name}")
                } else {
                    format!("{path}/{name}")
                };
                next.push((child_path, *child));
            }
        }
        if next.is_empty() {
            return Ok(levels);
        }
        levels.push(next);
    }
}

/// Runs `work` on every item with up to `workers` threads; the first error stops the
/// others from taking more items and is returned.
fn for_each_parallel<T: Sync>(
    items: &[T],
    workers: usize,
    work: impl Fn(&T) -> Result<()> + Sync,
) -> Result<()> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error = Mutex::new(None);
    let run = || {
        while !failed.load(Ordering::Relaxed) {
            let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) else {
                return;
            };
            if let Err(e) = work(item) {
                failed.store(true, Ordering::Relaxed);
                let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                slot.get_or_insert(e);
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..workers.min(items.len()) {
            scope.spawn(run);
        }
        run();
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn set_mtime(fs: &Dfs, path: &str, entry: &Entry, epochs: &HashMap<ObjectId, Epoch>) -> Result<()> {
    let attrs = SetAttributes {
        mtime: Some(entry.visible_mtime(epochs.get(&entry.oid).copied())),
        ..SetAttributes::default()
    };
    fs.set_attributes(path, &attrs)
        .map_err(|e| e.with_context(format!("restoring the mtime of {path:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(mode: u32, oid: ObjectId, mtime: (u64, u64), obj_hlc: u64) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&mode.to_ne_bytes());
        v.extend_from_slice(&oid.lo.to_ne_bytes());
        v.extend_from_slice(&oid.hi.to_ne_bytes());
        v.extend_from_slice(&mtime.0.to_ne_bytes());
        v.extend_from_slice(&7u64.to_ne_bytes()); // ctime
        v.extend_from_slice(&(1u64 << 20).to_ne_bytes()); // chunk size
        v.extend_from_slice(&0u32.to_ne_bytes()); // class
        v.extend_from_slice(&mtime.1.to_ne_bytes());
        v.extend_from_slice(&0u64.to_ne_bytes()); // ctime ns
        v.extend_from_slice(&1000u32.to_ne_bytes());
        v.extend_from_slice(&1000u32.to_ne_bytes());
        v.extend_from_slice(&0u64.to_ne_bytes()); // value len
        v.extend_from_slice(&obj_hlc.to_ne_bytes());
        v
    }

    #[test]
    fn an_entry_decodes_as_insert_entry_packs_it() {
        let oid = ObjectId::new(13 << 56 | 5, 77);
        let bytes = packed(libc::S_IFREG | 0o640, oid, (1_700_000_000, 42), 99);
        assert_eq!(
            bytes.len(),
            entry_layout::END,
            "END_IDX of dfs_internal.h is 88"
        );
        let e = Entry::decode(ObjectId::new(1, 0), b"f", &bytes).expect("decodes");
        assert_eq!(e.mode, libc::S_IFREG | 0o640);
        assert_eq!(e.oid, oid);
        assert_eq!(e.mtime, Duration::new(1_700_000_000, 42));
        assert_eq!(e.obj_hlc, 99);
        assert!(Entry::decode(ObjectId::default(), b"f", &bytes[..10]).is_none());
    }

    #[test]
    fn the_visible_mtime_follows_update_stbuf_times() {
        let set_at = Epoch(0x1234_5678_9abc_0000);
        let e = Entry::decode(
            ObjectId::default(),
            b"f",
            &packed(libc::S_IFREG, ObjectId::new(0, 1), (5, 6), set_at.0),
        )
        .expect("decodes");
        let entry_time = UNIX_EPOCH + Duration::new(5, 6);
        assert_eq!(e.visible_mtime(None), entry_time, "no epoch known");
        assert_eq!(e.visible_mtime(Some(set_at)), entry_time, "untouched since");
        let later = Epoch(set_at.0 + (1 << 30));
        assert_eq!(
            e.visible_mtime(Some(later)),
            later.to_system_time(),
            "written after the entry's times were set"
        );
    }

    fn entry(parent: ObjectId, name: &str, mode: u32, oid: ObjectId) -> Entry {
        Entry::decode(parent, name.as_bytes(), &packed(mode, oid, (1, 0), 0)).expect("decodes")
    }

    #[test]
    fn entries_come_by_depth_with_their_paths_and_without_links() {
        let sb = ObjectId::new(SB_HI, 0);
        let (root, a, b) = (
            ObjectId::new(1, 0),
            ObjectId::new(0, 10),
            ObjectId::new(0, 11),
        );
        let entries = vec![
            entry(a, "f", libc::S_IFREG, ObjectId::new(0, 12)),
            entry(root, "a", libc::S_IFDIR, a),
            entry(b, "g", libc::S_IFREG, ObjectId::new(0, 13)),
            entry(sb, "/", libc::S_IFDIR, root),
            entry(root, "l", libc::S_IFLNK, ObjectId::default()),
            entry(a, "b", libc::S_IFDIR, b),
        ];
        let levels = by_depth(&entries).expect("a root");
        let paths: Vec<Vec<&str>> = levels
            .iter()
            .map(|l| {
                let mut p: Vec<&str> = l.iter().map(|(p, _)| p.as_str()).collect();
                p.sort();
                p
            })
            .collect();
        assert_eq!(
            paths,
            vec![vec!["/"], vec!["/a"], vec!["/a/b", "/a/f"], vec!["/a/b/g"]]
        );
        let no_root = &entries[..3];
        assert!(by_depth(no_root).is_err(), "no superblock entry");
    }

    #[test]
    fn parallel_work_runs_every_item_once_or_stops_at_an_error() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let items: Vec<usize> = (0..100).collect();
        let seen = AtomicUsize::new(0);
        for_each_parallel(&items, 8, |i| {
            seen.fetch_add(*i, Ordering::Relaxed);
            Ok(())
        })
        .expect("no error");
        assert_eq!(seen.load(Ordering::Relaxed), (0..100).sum::<usize>());
        let err = for_each_parallel(&items, 8, |i| {
            if *i == 42 {
                Err(Error::raised("test", Der::Busy, "item 42"))
            } else {
                Ok(())
            }
        })
        .expect_err("item 42 fails");
        assert_eq!(err.der(), Some(Der::Busy));
        for_each_parallel(&[] as &[usize], 8, |_| Ok(())).expect("nothing to do");
    }
}
