//! The object layer (`src/object/cli_obj.c`, `obj_tx.c`, `src/client/api/object.c`,
//! `src/container/srv_epoch.c` of daos-stack/daos v2.6.5.p2): objects, dkeys, akeys, values,
//! the object index table of snapshots, OID allocation and transactions.
//!
//! The objects of a container are the projection of its DFS namespace ([`tree`]: what libdfs
//! would have written for the host tree the emulator keeps) and the raw objects written with
//! `daos_obj_update` ([`store`]). A POSIX container with raw objects and no namespace gets
//! its namespace built from them when DFS first mounts it ([`materialise`]).

pub mod materialise;
pub mod store;
pub mod tree;
pub mod value;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::acl::perm;
use crate::client::{self, ContHandle};
use crate::der::{Der, DerResult};
use crate::fsutil::FileLock;
use crate::props::{PropValue, co};
use crate::state::ContDir;
use store::RawStore;
use tree::{Layout, Node, TreeIndex};
use value::{Akeys, ArrayVal, Value};

/// A 128-bit object id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid {
    /// Low 64 bits (DFS: the allocated id).
    pub lo: u64,
    /// High 64 bits: type, class and group bits in the top 32.
    pub hi: u64,
}

/// `DAOS_OT_MULTI_HASHED` (DFS directories, superblock).
pub const OT_MULTI_HASHED: u32 = 0;
/// `DAOS_OT_ARRAY_BYTE` (DFS files).
pub const OT_ARRAY_BYTE: u32 = 13;
/// `DAOS_OT_MAX`.
pub const OT_MAX: u32 = 14;
/// `OID_FMT_TYPE_SHIFT`.
const TYPE_SHIFT: u32 = 56;
/// `OID_FMT_CLASS_SHIFT`.
const CLASS_SHIFT: u32 = 48;
/// `OID_FMT_META_SHIFT`.
const META_SHIFT: u32 = 32;

/// The first id `daos_cont_alloc_oids` hands out in the emulator: tree objects are named
/// by host inode numbers, which stay below it.
pub const ALLOC_BASE: u64 = 1 << 48;

/// `enum daos_otype_t` of an oid (`daos_obj_id2type`).
pub fn otype(oid: Oid) -> u32 {
    (oid.hi >> TYPE_SHIFT) as u32
}

/// True for the types whose dkeys are integers (`daos_is_dkey_uint64_type`).
fn dkey_is_uint64(t: u32) -> bool {
    matches!(t, 2 | 4 | 9 | 11 | 12 | 13)
}

/// True for the types whose akeys are integers (`daos_is_akey_uint64_type`).
fn akey_is_uint64(t: u32) -> bool {
    matches!(t, 3 | 4)
}

/// `obj_key_valid` (cli_obj.c:2417): not empty, and 8 bytes for an integer key.
fn key_valid(oid: Oid, key: &[u8], dkey: bool) -> bool {
    let int = if dkey {
        dkey_is_uint64(otype(oid))
    } else {
        akey_is_uint64(otype(oid))
    };
    !key.is_empty() && (!int || key.len() == 8)
}

/// An integer key's value (little-endian, as the client stores a uint64 key).
fn int_key(k: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = k.len().min(8);
    b[..n].copy_from_slice(&k[..n]);
    u64::from_le_bytes(b)
}

/// The high 32 bits `daos_obj_generate_oid2` gives an object of type `otype` and class
/// `cid` (0: the default, one group for directories, every target for arrays), as
/// `daos_obj_set_oid` packs them (`daos_obj_set_oid_by_class`, obj_class.c:95: a class id
/// below the first redundancy code carries no redundancy bits).
pub fn class_hi(otype: u32, cid: u32, ntargets: u32) -> u64 {
    let (ord, grp) = match cid {
        0 if otype == OT_ARRAY_BYTE => (1, ntargets.max(1)),
        0 => (1, 1),
        c if c < (1 << 24) => (0, c),
        c => {
            let g = c & 0xffff;
            (c >> 24, if g == 0xffff { ntargets.max(1) } else { g })
        }
    };
    (u64::from(otype) << TYPE_SHIFT)
        | (u64::from(ord & 0xff) << CLASS_SHIFT)
        | (u64::from(grp & 0xffff) << META_SHIFT)
}

/// `pools/<uuid>/objs/<cuuid>`: the live raw objects.
pub fn objs_dir(dir: &ContDir) -> PathBuf {
    dir.pool.path.join("objs").join(dir.uuid.to_string())
}

/// `pools/<uuid>/snaps/<cuuid>/<epoch>.objs`: raw objects frozen by a snapshot.
pub fn snap_objs_dir(dir: &ContDir, epoch: u64) -> PathBuf {
    dir.pool
        .path
        .join("snaps")
        .join(dir.uuid.to_string())
        .join(format!("{epoch}.objs"))
}

/// The lock that orders changes of a container's raw objects (exclusive) against snapshots
/// and materialisation.
pub fn lock(dir: &ContDir, exclusive: bool) -> DerResult<FileLock> {
    let objs = dir.pool.path.join("objs");
    crate::fsutil::ensure_dir(&objs).map_err(|e| crate::der::from_io(&e))?;
    FileLock::acquire(&objs.join(format!("{}.lock", dir.uuid)), exclusive)
        .map_err(|e| crate::der::from_io(&e))
}

/// The ROOTS property of a container as 8 words.
pub fn roots_of(meta: &crate::state::ContMeta) -> [u64; 8] {
    match meta.props.get(&co::ROOTS) {
        Some(PropValue::Roots(r)) => *r,
        _ => [0; 8],
    }
}

fn io(e: std::io::Error) -> Der {
    crate::der::from_io(&e)
}

/// Projections of trees already walked in this process, by host root.
static TREES: parking_lot::Mutex<Option<HashMap<PathBuf, Arc<TreeIndex>>>> =
    parking_lot::Mutex::new(None);

fn tree_in_cache(root: &Path) -> Option<Arc<TreeIndex>> {
    TREES.lock().as_ref().and_then(|m| m.get(root).cloned())
}

fn cached_tree(root: &Path, layout: &Layout, rebuild: bool) -> DerResult<Arc<TreeIndex>> {
    if !rebuild && let Some(t) = tree_in_cache(root) {
        return Ok(t);
    }
    let t = Arc::new(TreeIndex::build(root, layout.clone()).map_err(io)?);
    TREES
        .lock()
        .get_or_insert_with(HashMap::new)
        .insert(root.to_path_buf(), t.clone());
    Ok(t)
}

/// Forgets the projection of a tree (its snapshot was destroyed).
pub fn forget_tree(root: &Path) {
    if let Some(m) = TREES.lock().as_mut() {
        m.remove(root);
    }
}

/// The dkeys of objects already listed through a snapshot view.
type KeyCache = parking_lot::Mutex<HashMap<Oid, Arc<Vec<Vec<u8>>>>>;

/// The data extents of files already read through a snapshot view.
type ExtentCache = parking_lot::Mutex<HashMap<Oid, Arc<Vec<(u64, u64)>>>>;

/// What a read sees: a container now, or as of a snapshot.
pub struct View {
    tree: Option<Arc<TreeIndex>>,
    live: bool,
    raw: RawStore,
    /// A frozen view lists an object's dkeys once: a listing in batches then costs one
    /// walk, not one per batch.
    keys: Option<KeyCache>,
    /// A frozen view finds a file's extents once: a seek for data or a hole walks the pages
    /// of the run it is in (tmpfs), so finding them again for each chunk of a large file made
    /// reading it quadratic.
    extents: Option<ExtentCache>,
}

enum Src {
    Tree(Arc<TreeIndex>, Node),
    Raw,
}

impl View {
    /// The container as it is now.
    pub fn live(dir: &ContDir) -> DerResult<View> {
        let root = dir.fs_root();
        // Most reads go to raw objects or to a tree already indexed: no metadata to read.
        let tree = if !root.is_dir() {
            None
        } else if let Some(t) = tree_in_cache(&root) {
            Some(t)
        } else {
            let meta = dir.meta()?;
            match &meta.dfs {
                Some(attrs) => {
                    let layout = Layout::new(&meta, attrs.clone(), ntargets(dir));
                    Some(cached_tree(&root, &layout, false)?)
                }
                None => None,
            }
        };
        Ok(View {
            tree,
            live: true,
            raw: RawStore::at(objs_dir(dir)),
            keys: None,
            extents: None,
        })
    }

    /// The container as of snapshot `epoch`; `-DER_NOSYS` for an epoch that is not a
    /// snapshot (reading at an arbitrary epoch is not modelled).
    pub fn at_snapshot(dir: &ContDir, epoch: u64) -> DerResult<View> {
        let meta = dir.meta()?;
        if !meta.snapshots.contains(&epoch) {
            return Err(Der::NOSYS);
        }
        let root = dir.snap_root(epoch);
        let tree = match &meta.dfs {
            Some(attrs) if root.is_dir() => {
                let layout = Layout::new(&meta, attrs.clone(), ntargets(dir));
                Some(cached_tree(&root, &layout, false)?)
            }
            _ => None,
        };
        Ok(View {
            tree,
            live: false,
            raw: RawStore::at(snap_objs_dir(dir, epoch)),
            keys: Some(KeyCache::default()),
            extents: Some(ExtentCache::default()),
        })
    }

    fn src(&self, oid: Oid) -> DerResult<Src> {
        let Some(t) = &self.tree else {
            return Ok(Src::Raw);
        };
        if oid.lo >= ALLOC_BASE {
            return Ok(Src::Raw);
        }
        if let Some(n) = t.node(oid, self.live) {
            return Ok(Src::Tree(t.clone(), n));
        }
        if self.live {
            // The host tree changed since it was indexed: index it again.
            let t = cached_tree(t.root(), t.layout(), true)?;
            if let Some(n) = t.node(oid, true) {
                return Ok(Src::Tree(t, n));
            }
        }
        Ok(Src::Raw)
    }

    /// Every object with data, sorted: the namespace's and the raw ones.
    pub fn objects(&self) -> Vec<Oid> {
        let mut out: Vec<Oid> = self
            .tree
            .as_ref()
            .map(|t| t.objects().to_vec())
            .unwrap_or_default();
        out.extend(self.raw.objects());
        out.sort();
        out.dedup();
        out
    }

    /// The object's dkeys, sorted.
    pub fn dkeys(&self, oid: Oid) -> DerResult<Arc<Vec<Vec<u8>>>> {
        if let Some(k) = self.keys.as_ref().and_then(|c| c.lock().get(&oid).cloned()) {
            return Ok(k);
        }
        let keys = Arc::new(match self.src(oid)? {
            Src::Tree(t, n) => t.dkeys(&n, &self.file_extents(oid)).map_err(io)?,
            Src::Raw => self.raw.dkeys(oid).map_err(io)?,
        });
        if let Some(c) = &self.keys {
            c.lock().insert(oid, keys.clone());
        }
        Ok(keys)
    }

    /// One dkey's akeys; `None` when missing.
    pub fn read_dkey(&self, oid: Oid, key: &[u8]) -> DerResult<Option<Akeys>> {
        match self.src(oid)? {
            Src::Tree(t, n) => t.read_dkey(&n, key, &self.file_extents(oid)).map_err(io),
            Src::Raw => self.raw.read_dkey(oid, key).map_err(io),
        }
    }

    /// How the tree finds the extents of file `oid` between two offsets: once per frozen
    /// view, from the host each time for a live one (its files change).
    fn file_extents(
        &self,
        oid: Oid,
    ) -> impl Fn(&Path, u64, u64) -> std::io::Result<Vec<(u64, u64)>> + '_ {
        move |path, start, end| {
            let Some(cache) = &self.extents else {
                return tree::data_extents_in(path, start, end);
            };
            let cached = cache.lock().get(&oid).cloned();
            let all = match cached {
                Some(all) => all,
                None => {
                    let all = Arc::new(tree::data_extents(path)?);
                    cache.lock().insert(oid, all.clone());
                    all
                }
            };
            Ok(tree::window(&all, start, end))
        }
    }

    /// The HLC of the object's last update (0: never updated).
    pub fn hlc(&self, oid: Oid) -> DerResult<u64> {
        Ok(match self.src(oid)? {
            Src::Tree(t, n) => t.hlc(&n),
            Src::Raw => self.raw.hlc(oid),
        })
    }
}

fn ntargets(dir: &ContDir) -> u32 {
    dir.pool.meta().map(|m| m.ntargets).unwrap_or(1)
}

// ---------------------------------------------------------------------------------------
// Handles (per process, like the other handle kinds)
// ---------------------------------------------------------------------------------------

/// `DAOS_HTYPE_OBJ`.
const HTYPE_OBJ: u64 = 7;
/// `DAOS_HTYPE_TX`.
const HTYPE_TX: u64 = 11;
/// `DAOS_OO_RO`.
pub const OO_RO: u32 = 1 << 1;
/// `DAOS_OO_RW`.
pub const OO_RW: u32 = 1 << 2;
/// `DAOS_OO_EXCL`.
pub const OO_EXCL: u32 = 1 << 3;

/// An open object.
pub struct ObjHandle {
    /// The container handle it was opened through.
    pub cont: Arc<ContHandle>,
    /// The object.
    pub oid: Oid,
    /// `DAOS_OO_*`.
    pub mode: u32,
}

/// An open object index table (of one snapshot).
pub struct OitHandle {
    /// The container handle it was opened through.
    pub cont: Arc<ContHandle>,
    /// The snapshot.
    pub epoch: u64,
    /// Every object at the snapshot, sorted.
    pub oids: Vec<Oid>,
}

#[derive(Clone)]
enum ObjKind {
    Obj(Arc<ObjHandle>),
    Oit(Arc<OitHandle>),
}

static OBJ_HANDLES: parking_lot::Mutex<Option<HashMap<u64, ObjKind>>> =
    parking_lot::Mutex::new(None);

fn obj_handles<T>(f: impl FnOnce(&mut HashMap<u64, ObjKind>) -> T) -> T {
    f(OBJ_HANDLES.lock().get_or_insert_with(HashMap::new))
}

/// Open object and OIT handles of a container handle (`dc_cont_close` refuses to close
/// with any: cli.c:1141).
pub fn open_objects_of(coh: u64) -> usize {
    obj_handles(|m| {
        m.values()
            .filter(|h| match h {
                ObjKind::Obj(o) => o.cont.cookie == coh,
                ObjKind::Oit(o) => o.cont.cookie == coh,
            })
            .count()
    })
}

fn require(cont: &ContHandle, bits: u64) -> DerResult<()> {
    if cont.capas & bits == bits {
        Ok(())
    } else {
        Err(Der::NO_PERM)
    }
}

/// `daos_obj_open`: any well-formed oid opens (objects exist implicitly).
pub fn obj_open(coh: u64, oid: Oid, mode: u32) -> DerResult<u64> {
    let cont = client::cont_handle(coh)?;
    if otype(oid) > OT_MAX {
        return Err(Der::INVAL);
    }
    let cookie = client::new_cookie(HTYPE_OBJ);
    let h = Arc::new(ObjHandle { cont, oid, mode });
    obj_handles(|m| m.insert(cookie, ObjKind::Obj(h)));
    Ok(cookie)
}

/// An open object by cookie; `-DER_NO_HDL` otherwise (also once its container handle was
/// evicted).
pub fn obj_handle(oh: u64) -> DerResult<Arc<ObjHandle>> {
    let h = match obj_handles(|m| m.get(&oh).cloned()) {
        Some(ObjKind::Obj(o)) => o,
        _ => return Err(Der::NO_HDL),
    };
    client::cont_handle(h.cont.cookie)?;
    Ok(h)
}

/// `daos_obj_close`.
pub fn obj_close(oh: u64) -> DerResult<()> {
    obj_handles(|m| match m.get(&oh) {
        Some(ObjKind::Obj(_)) => {
            m.remove(&oh);
            Ok(())
        }
        _ => Err(Der::NO_HDL),
    })
}

/// The pools of an object or OIT handle, for fault rules.
pub fn pools_of_handle(h: u64) -> Vec<String> {
    match obj_handles(|m| m.get(&h).cloned()) {
        Some(ObjKind::Obj(o)) => o.cont.pool.ids(),
        Some(ObjKind::Oit(o)) => o.cont.pool.ids(),
        None => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------------------

/// `DAOS_TF_RDONLY`.
pub const TF_RDONLY: u64 = 1;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TxStatus {
    Open,
    Committed,
    Aborted,
}

/// A write buffered in a transaction.
#[derive(Clone, Debug)]
pub enum Write {
    /// `daos_obj_update`.
    Update {
        /// Object.
        oid: Oid,
        /// Conditional flags.
        flags: u64,
        /// Dkey.
        dkey: Vec<u8>,
        /// What to write.
        iods: Vec<UpdateIod>,
    },
    /// `daos_obj_punch`.
    PunchObj {
        /// Object.
        oid: Oid,
    },
    /// `daos_obj_punch_dkeys`.
    PunchDkeys {
        /// Object.
        oid: Oid,
        /// Flags.
        flags: u64,
        /// Dkeys.
        dkeys: Vec<Vec<u8>>,
    },
    /// `daos_obj_punch_akeys`.
    PunchAkeys {
        /// Object.
        oid: Oid,
        /// Flags.
        flags: u64,
        /// Dkey.
        dkey: Vec<u8>,
        /// Akeys.
        akeys: Vec<Vec<u8>>,
    },
}

/// One akey of an update.
#[derive(Clone, Debug)]
pub struct UpdateIod {
    /// Akey.
    pub name: Vec<u8>,
    /// `iod_flags` (conditions per akey).
    pub flags: u64,
    /// The value.
    pub what: UpdateValue,
}

/// The value of an [`UpdateIod`].
#[derive(Clone, Debug)]
pub enum UpdateValue {
    /// A single value (empty: punch it).
    Single(Vec<u8>),
    /// Array extents `(idx, nr)` of `rsize`-byte records, their bytes back to back
    /// (`rsize` 0: punch the extents).
    Array {
        /// Record size.
        rsize: u64,
        /// Extents.
        recxs: Vec<(u64, u64)>,
        /// Bytes.
        data: Vec<u8>,
    },
}

/// A transaction.
pub struct Tx {
    /// Its container handle.
    pub cont: Arc<ContHandle>,
    /// The snapshot a `daos_tx_open_snap` transaction reads.
    pub snap: Option<u64>,
    flags: u64,
    state: parking_lot::Mutex<TxState>,
    /// The snapshot's view, made at the first read.
    view: parking_lot::Mutex<Option<Arc<View>>>,
}

struct TxState {
    status: TxStatus,
    pending: Vec<Write>,
    epoch: Option<u64>,
}

static TX_HANDLES: parking_lot::Mutex<Option<HashMap<u64, Arc<Tx>>>> =
    parking_lot::Mutex::new(None);

fn tx_handles<T>(f: impl FnOnce(&mut HashMap<u64, Arc<Tx>>) -> T) -> T {
    f(TX_HANDLES.lock().get_or_insert_with(HashMap::new))
}

/// A transaction by cookie; `-DER_NO_HDL` otherwise.
pub fn tx_handle(th: u64) -> DerResult<Arc<Tx>> {
    tx_handles(|m| m.get(&th).cloned()).ok_or(Der::NO_HDL)
}

/// `daos_tx_open`.
pub fn tx_open(coh: u64, flags: u64) -> DerResult<u64> {
    let cont = client::cont_handle(coh)?;
    let cookie = client::new_cookie(HTYPE_TX);
    let tx = Arc::new(Tx {
        cont,
        snap: None,
        flags,
        state: parking_lot::Mutex::new(TxState {
            status: TxStatus::Open,
            pending: Vec::new(),
            epoch: None,
        }),
        view: parking_lot::Mutex::new(None),
    });
    tx_handles(|m| m.insert(cookie, tx));
    Ok(cookie)
}

/// `daos_tx_open_snap`: a read-only transaction at `epoch` (0 and `DAOS_EPOCH_MAX` are
/// `-DER_INVAL`, obj_tx.c:2500; whether `epoch` is a snapshot is found out at the first read).
pub fn tx_open_snap(coh: u64, epoch: u64) -> DerResult<u64> {
    let cont = client::cont_handle(coh)?;
    if epoch == 0 || epoch == u64::MAX {
        return Err(Der::INVAL);
    }
    let cookie = client::new_cookie(HTYPE_TX);
    let tx = Arc::new(Tx {
        cont,
        snap: Some(epoch),
        flags: TF_RDONLY,
        state: parking_lot::Mutex::new(TxState {
            status: TxStatus::Open,
            pending: Vec::new(),
            epoch: Some(epoch),
        }),
        view: parking_lot::Mutex::new(None),
    });
    tx_handles(|m| m.insert(cookie, tx));
    Ok(cookie)
}

/// `daos_tx_commit` (obj_tx.c `dc_tx_commit`): applies the buffered writes in order, all or
/// none: a write that fails (a condition) undoes the ones before it and aborts the
/// transaction (obj_tx.c:2386). `-DER_ALREADY` once committed, `-DER_NO_PERM` once aborted.
pub fn tx_commit(th: u64) -> DerResult<()> {
    let tx = tx_handle(th)?;
    let mut st = tx.state.lock();
    match st.status {
        TxStatus::Committed => return Err(Der::ALREADY),
        TxStatus::Aborted => return Err(Der::NO_PERM),
        TxStatus::Open => {}
    }
    if !st.pending.is_empty() {
        client::cont_handle(tx.cont.cookie)?;
        let _lock = lock(&tx.cont.dir, true)?;
        let hlc = crate::hlc::now();
        if let Err(e) = apply_all(&tx.cont, &st.pending, hlc) {
            st.pending.clear();
            st.status = TxStatus::Aborted;
            return Err(e);
        }
        st.epoch = Some(hlc);
    } else if st.epoch.is_none() {
        st.epoch = Some(crate::hlc::now());
    }
    st.pending.clear();
    st.status = TxStatus::Committed;
    Ok(())
}

/// The prior state of what a transaction's writes touch, to undo them.
#[derive(Default)]
struct Undo {
    dkeys: Vec<(Oid, Vec<u8>, Option<Akeys>)>,
    stamps: Vec<(Oid, u64)>,
}

impl Undo {
    fn save(&mut self, raw: &RawStore, w: &Write) -> DerResult<()> {
        let (oid, keys) = match w {
            Write::Update { oid, dkey, .. } | Write::PunchAkeys { oid, dkey, .. } => {
                (*oid, vec![dkey.clone()])
            }
            Write::PunchDkeys { oid, dkeys, .. } => (*oid, dkeys.clone()),
            Write::PunchObj { oid } => (*oid, raw.dkeys(*oid).map_err(io)?),
        };
        if !self.stamps.iter().any(|(o, _)| *o == oid) {
            self.stamps.push((oid, raw.hlc(oid)));
        }
        for k in keys {
            if !self.dkeys.iter().any(|(o, d, _)| *o == oid && *d == k) {
                let prior = raw.read_dkey(oid, &k).map_err(io)?;
                self.dkeys.push((oid, k, prior));
            }
        }
        Ok(())
    }

    fn restore(self, raw: &RawStore) {
        for (oid, dkey, prior) in self.dkeys.into_iter().rev() {
            let _ = raw.write_dkey(oid, &dkey, &prior.unwrap_or_default(), 0);
        }
        for (oid, stamp) in self.stamps {
            let _ = raw.stamp(oid, stamp);
        }
    }
}

/// Applies a transaction's writes in order; on a failure, undoes those applied.
fn apply_all(cont: &ContHandle, writes: &[Write], hlc: u64) -> DerResult<()> {
    let raw = RawStore::at(objs_dir(&cont.dir));
    let mut undo = Undo::default();
    for w in writes {
        let done = undo.save(&raw, w).and_then(|()| apply(cont, w, hlc));
        if let Err(e) = done {
            undo.restore(&raw);
            return Err(e);
        }
    }
    Ok(())
}

/// `daos_tx_abort` (obj_tx.c `dc_tx_abort`): drops the buffered writes; `-DER_ALREADY` once
/// aborted, `-DER_NO_PERM` once committed.
pub fn tx_abort(th: u64) -> DerResult<()> {
    let tx = tx_handle(th)?;
    let mut st = tx.state.lock();
    match st.status {
        TxStatus::Aborted => return Err(Der::ALREADY),
        TxStatus::Committed => return Err(Der::NO_PERM),
        TxStatus::Open => {}
    }
    st.pending.clear();
    st.status = TxStatus::Aborted;
    Ok(())
}

/// `daos_tx_close`: a transaction not committed loses its writes.
pub fn tx_close(th: u64) -> DerResult<()> {
    tx_handles(|m| m.remove(&th)).map(|_| ()).ok_or(Der::NO_HDL)
}

/// `daos_tx_restart`: only a transaction that failed with `-DER_TX_RESTART` restarts
/// (obj_tx.c `dc_tx_restart_begin`), and none does here (no conflicts are modelled), so it is
/// `-DER_NO_PERM` on every open handle.
pub fn tx_restart(th: u64) -> DerResult<()> {
    tx_handle(th)?;
    Err(Der::NO_PERM)
}

/// `daos_tx_hdl2epoch` (obj_tx.c:901): `-DER_UNINIT` until the epoch is chosen.
pub fn tx_epoch(th: u64) -> DerResult<u64> {
    if th == 0 {
        return Err(Der::INVAL);
    }
    tx_handle(th)?.state.lock().epoch.ok_or(Der::UNINIT)
}

/// Where a read through `th` looks (`DAOS_TX_NONE`: the container now).
fn read_view(cont: &ContHandle, th: u64) -> DerResult<Arc<View>> {
    if th == 0 {
        return View::live(&cont.dir).map(Arc::new);
    }
    let tx = tx_handle(th)?;
    let mut st = tx.state.lock();
    if st.status != TxStatus::Open {
        return Err(Der::NO_PERM);
    }
    match tx.snap {
        Some(e) => {
            let mut v = tx.view.lock();
            if let Some(view) = v.as_ref() {
                return Ok(view.clone());
            }
            let view = Arc::new(View::at_snapshot(&cont.dir, e)?);
            *v = Some(view.clone());
            Ok(view)
        }
        None => {
            if st.epoch.is_none() {
                st.epoch = Some(crate::hlc::now());
            }
            View::live(&cont.dir).map(Arc::new)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------

/// `DAOS_COND_PUNCH`.
pub const COND_PUNCH: u64 = 1;
/// `DAOS_COND_DKEY_INSERT`.
pub const COND_DKEY_INSERT: u64 = 1 << 1;
/// `DAOS_COND_DKEY_UPDATE`.
pub const COND_DKEY_UPDATE: u64 = 1 << 2;
/// `DAOS_COND_DKEY_FETCH`.
pub const COND_DKEY_FETCH: u64 = 1 << 3;
/// `DAOS_COND_AKEY_INSERT`.
pub const COND_AKEY_INSERT: u64 = 1 << 4;
/// `DAOS_COND_AKEY_UPDATE`.
pub const COND_AKEY_UPDATE: u64 = 1 << 5;
/// `DAOS_COND_AKEY_FETCH`.
pub const COND_AKEY_FETCH: u64 = 1 << 6;
/// `DAOS_COND_PER_AKEY`.
pub const COND_PER_AKEY: u64 = 1 << 7;

/// The akey condition that applies to one iod: its own flags with `DAOS_COND_PER_AKEY`,
/// else the call's.
fn akey_cond(flags: u64, iod_flags: u64) -> u64 {
    if flags & COND_PER_AKEY != 0 {
        iod_flags
    } else {
        flags
    }
}

/// The keys of a write are valid for the object's type (`obj_key_valid`).
fn write_keys_valid(oid: Oid, w: &Write) -> bool {
    match w {
        Write::Update { dkey, iods, .. } => {
            key_valid(oid, dkey, true) && iods.iter().all(|i| key_valid(oid, &i.name, false))
        }
        Write::PunchObj { .. } => true,
        Write::PunchDkeys { dkeys, .. } => dkeys.iter().all(|d| key_valid(oid, d, true)),
        Write::PunchAkeys { dkey, akeys, .. } => {
            key_valid(oid, dkey, true) && akeys.iter().all(|a| key_valid(oid, a, false))
        }
    }
}

/// A write through an object handle: checked, then applied now or buffered in `th`.
pub fn write(oh: u64, th: u64, w: Write) -> DerResult<()> {
    let h = obj_handle(oh)?;
    if !write_keys_valid(h.oid, &w) {
        return Err(Der::INVAL);
    }
    if h.mode & OO_RO != 0 && h.mode & (OO_RW | OO_EXCL) == 0 {
        return Err(Der::NO_PERM);
    }
    require(&h.cont, perm::WRITE)?;
    // The namespace of a live tree names its objects below ALLOC_BASE.
    if h.oid.lo < ALLOC_BASE && h.cont.dir.fs_root().is_dir() {
        return Err(Der::NOSYS);
    }
    if th != 0 {
        let tx = tx_handle(th)?;
        let mut st = tx.state.lock();
        if st.status != TxStatus::Open || tx.flags & TF_RDONLY != 0 {
            return Err(Der::NO_PERM);
        }
        st.pending.push(w);
        return Ok(());
    }
    let _lock = lock(&h.cont.dir, true)?;
    apply(&h.cont, &w, crate::hlc::now())
}

/// Applies one write to the live raw store (the caller holds the exclusive lock).
fn apply(cont: &ContHandle, w: &Write, hlc: u64) -> DerResult<()> {
    let raw = RawStore::at(objs_dir(&cont.dir));
    match w {
        Write::Update {
            oid,
            flags,
            dkey,
            iods,
        } => {
            let old = raw.read_dkey(*oid, dkey).map_err(io)?;
            if flags & COND_DKEY_INSERT != 0 && old.is_some() {
                return Err(Der::EXIST);
            }
            if flags & COND_DKEY_UPDATE != 0 && old.is_none() {
                return Err(Der::NONEXIST);
            }
            let mut akeys = old.unwrap_or_default();
            for iod in iods {
                let cond = akey_cond(*flags, iod.flags);
                let exists = akeys.contains_key(&iod.name);
                if cond & COND_AKEY_INSERT != 0 && exists {
                    return Err(Der::EXIST);
                }
                if cond & COND_AKEY_UPDATE != 0 && !exists {
                    return Err(Der::NONEXIST);
                }
            }
            for iod in iods {
                update_akey(&mut akeys, iod);
            }
            raw.write_dkey(*oid, dkey, &akeys, hlc).map_err(io)
        }
        Write::PunchObj { oid } => raw.remove(*oid).map_err(io),
        Write::PunchDkeys { oid, flags, dkeys } => {
            for d in dkeys {
                if raw.read_dkey(*oid, d).map_err(io)?.is_none() {
                    if flags & COND_PUNCH != 0 {
                        return Err(Der::NONEXIST);
                    }
                    continue;
                }
                raw.write_dkey(*oid, d, &Akeys::new(), hlc).map_err(io)?;
            }
            Ok(())
        }
        Write::PunchAkeys {
            oid,
            flags,
            dkey,
            akeys,
        } => {
            let Some(mut cur) = raw.read_dkey(*oid, dkey).map_err(io)? else {
                return if flags & COND_PUNCH != 0 {
                    Err(Der::NONEXIST)
                } else {
                    Ok(())
                };
            };
            for a in akeys {
                if cur.remove(a).is_none() && flags & COND_PUNCH != 0 {
                    return Err(Der::NONEXIST);
                }
            }
            raw.write_dkey(*oid, dkey, &cur, hlc).map_err(io)
        }
    }
}

fn update_akey(akeys: &mut Akeys, iod: &UpdateIod) {
    match &iod.what {
        UpdateValue::Single(v) if v.is_empty() => {
            akeys.remove(&iod.name);
        }
        UpdateValue::Single(v) => {
            akeys.insert(iod.name.clone(), Value::Single(v.clone()));
        }
        UpdateValue::Array {
            rsize: 0, recxs, ..
        } => {
            if let Some(Value::Array(a)) = akeys.get_mut(&iod.name) {
                for (idx, nr) in recxs {
                    a.punch(*idx, *nr);
                }
                if a.exts.is_empty() {
                    akeys.remove(&iod.name);
                }
            }
        }
        UpdateValue::Array { rsize, recxs, data } => {
            let entry = akeys
                .entry(iod.name.clone())
                .or_insert_with(|| Value::Array(ArrayVal::default()));
            // A different record size (or a single value) is replaced, not mixed.
            let a = match entry {
                Value::Array(a) if a.rsize == *rsize => a,
                other => {
                    *other = Value::Array(ArrayVal {
                        rsize: *rsize,
                        exts: Vec::new(),
                    });
                    match other {
                        Value::Array(a) => a,
                        Value::Single(_) => return,
                    }
                }
            };
            let mut pos = 0usize;
            for (idx, nr) in recxs {
                let len = (nr * rsize) as usize;
                let bytes = data
                    .get(pos..pos + len)
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default();
                pos += len;
                a.write(*idx, *nr, bytes);
            }
        }
    }
}

/// One akey of a fetch.
#[derive(Clone, Debug)]
pub struct FetchIod {
    /// Akey.
    pub name: Vec<u8>,
    /// True for `DAOS_IOD_ARRAY`.
    pub array: bool,
    /// `iod_flags`.
    pub flags: u64,
    /// Extents asked for (arrays).
    pub recxs: Vec<(u64, u64)>,
}

/// What a fetch found for one akey.
#[derive(Clone, Debug, Default)]
pub struct Fetched {
    /// Value or record size (0: nothing there).
    pub size: u64,
    /// The bytes (a single value, or the asked extents back to back).
    pub data: Vec<u8>,
    /// Extents with data among those asked (for the iom).
    pub found: Vec<(u64, u64)>,
}

/// `daos_obj_fetch` (`want_data` false: only the sizes, as with a NULL sgl).
pub fn fetch(
    oh: u64,
    th: u64,
    flags: u64,
    dkey: &[u8],
    iods: &[FetchIod],
    want_data: bool,
) -> DerResult<Vec<Fetched>> {
    let h = obj_handle(oh)?;
    if !key_valid(h.oid, dkey, true) || iods.iter().any(|i| !key_valid(h.oid, &i.name, false)) {
        return Err(Der::INVAL);
    }
    require(&h.cont, perm::READ)?;
    let view = read_view(&h.cont, th)?;
    let akeys = view.read_dkey(h.oid, dkey)?;
    if akeys.is_none() && flags & COND_DKEY_FETCH != 0 {
        return Err(Der::NONEXIST);
    }
    let akeys = akeys.unwrap_or_default();
    let mut out = Vec::with_capacity(iods.len());
    for iod in iods {
        let v = akeys.get(&iod.name);
        if v.is_none() && akey_cond(flags, iod.flags) & COND_AKEY_FETCH != 0 {
            return Err(Der::NONEXIST);
        }
        out.push(fetch_one(v, iod, want_data)?);
    }
    Ok(out)
}

fn fetch_one(v: Option<&Value>, iod: &FetchIod, want_data: bool) -> DerResult<Fetched> {
    match (v, iod.array) {
        (Some(Value::Single(b)), false) => Ok(Fetched {
            size: b.len() as u64,
            data: if want_data { b.clone() } else { Vec::new() },
            found: Vec::new(),
        }),
        (Some(Value::Array(a)), true) => {
            let mut data = Vec::new();
            let mut found = Vec::new();
            for (idx, nr) in &iod.recxs {
                for (s, n) in a.recxs() {
                    let from = s.max(*idx);
                    let to = s.saturating_add(n).min(idx.saturating_add(*nr));
                    if from < to {
                        found.push((from, to - from));
                    }
                }
                if want_data {
                    let len = nr
                        .checked_mul(a.rsize)
                        .filter(|l| *l <= isize::MAX as u64)
                        .ok_or(Der::INVAL)?;
                    let mut buf = vec![0u8; len as usize];
                    a.read(*idx, &mut buf).map_err(io)?;
                    data.extend_from_slice(&buf);
                }
            }
            Ok(Fetched {
                size: a.rsize,
                data,
                found,
            })
        }
        // Nothing of that kind under the akey: size 0 (how a probe tells an array from a
        // single value, daos_hdlr.c cont_clone_list_akeys).
        _ => Ok(Fetched::default()),
    }
}

/// `daos_obj_list_dkey`: every dkey (the caller pages through them).
pub fn list_dkeys(oh: u64, th: u64) -> DerResult<Arc<Vec<Vec<u8>>>> {
    let h = obj_handle(oh)?;
    require(&h.cont, perm::READ)?;
    read_view(&h.cont, th)?.dkeys(h.oid)
}

/// `daos_obj_list_akey`: the akeys of one dkey.
pub fn list_akeys(oh: u64, th: u64, dkey: &[u8]) -> DerResult<Vec<Vec<u8>>> {
    let h = obj_handle(oh)?;
    require(&h.cont, perm::READ)?;
    Ok(read_view(&h.cont, th)?
        .read_dkey(h.oid, dkey)?
        .map(|a| a.keys().cloned().collect())
        .unwrap_or_default())
}

/// `daos_obj_list_recx`: (record size, merged extents) of an array akey.
pub fn list_recxs(oh: u64, th: u64, dkey: &[u8], akey: &[u8]) -> DerResult<(u64, Vec<(u64, u64)>)> {
    let h = obj_handle(oh)?;
    require(&h.cont, perm::READ)?;
    let akeys = read_view(&h.cont, th)?.read_dkey(h.oid, dkey)?;
    Ok(match akeys.as_ref().and_then(|a| a.get(akey)) {
        Some(Value::Array(a)) => (a.rsize, a.recxs()),
        _ => (0, Vec::new()),
    })
}

/// `DAOS_GET_MAX`.
pub const GET_MAX: u64 = 1;
/// `DAOS_GET_MIN`.
pub const GET_MIN: u64 = 1 << 1;
/// `DAOS_GET_DKEY`.
pub const GET_DKEY: u64 = 1 << 2;
/// `DAOS_GET_AKEY`.
pub const GET_AKEY: u64 = 1 << 3;
/// `DAOS_GET_RECX`.
pub const GET_RECX: u64 = 1 << 4;

/// What `daos_obj_query_key` found.
#[derive(Debug, Default)]
pub struct QueryKey {
    /// The dkey (asked or found).
    pub dkey: Vec<u8>,
    /// The akey (asked or found).
    pub akey: Vec<u8>,
    /// The extent.
    pub recx: Option<(u64, u64)>,
}

/// `daos_obj_query_max_epoch`: the HLC of the object's last update as `th` sees it (0 for
/// an object never written). libdfs reports a file's or directory's mtime from it
/// (`update_stbuf_times`, src/client/dfs/common.c).
pub fn query_max_epoch(oh: u64, th: u64) -> DerResult<u64> {
    let h = obj_handle(oh)?;
    require(&h.cont, perm::READ)?;
    read_view(&h.cont, th)?.hlc(h.oid)
}

/// `daos_obj_query_key`: the greatest (`DAOS_GET_MAX`) or smallest dkey, akey and/or
/// extent; `-DER_NONEXIST` when there is none. As `check_query_flags` (cli_obj.c:2352):
/// flags 0 only queries the max epoch (nothing is returned here), a key kind and exactly one
/// of MIN/MAX are needed, and only integer dkeys (akeys) can be asked for.
pub fn query_key(
    oh: u64,
    th: u64,
    flags: u64,
    dkey: Vec<u8>,
    akey: Vec<u8>,
) -> DerResult<QueryKey> {
    let h = obj_handle(oh)?;
    if flags == 0 {
        return Ok(QueryKey::default());
    }
    let max = flags & GET_MAX != 0;
    if max == (flags & GET_MIN != 0)
        || flags & (GET_DKEY | GET_AKEY | GET_RECX) == 0
        || (flags & GET_DKEY != 0 && !dkey_is_uint64(otype(h.oid)))
        || (flags & GET_AKEY != 0 && !akey_is_uint64(otype(h.oid)))
    {
        return Err(Der::INVAL);
    }
    require(&h.cont, perm::READ)?;
    let view = read_view(&h.cont, th)?;
    let mut q = QueryKey {
        dkey,
        akey,
        recx: None,
    };
    if flags & GET_DKEY != 0 {
        let mut keys = view.dkeys(h.oid)?.to_vec();
        keys.sort_by_key(|k| int_key(k));
        let pick = if max {
            keys.pop()
        } else {
            keys.into_iter().next()
        };
        q.dkey = pick.ok_or(Der::NONEXIST)?;
    }
    let akeys = view.read_dkey(h.oid, &q.dkey)?.ok_or(Der::NONEXIST)?;
    if flags & GET_AKEY != 0 {
        let mut keys: Vec<Vec<u8>> = akeys.keys().cloned().collect();
        keys.sort_by_key(|k| int_key(k));
        let pick = if max {
            keys.pop()
        } else {
            keys.into_iter().next()
        };
        q.akey = pick.ok_or(Der::NONEXIST)?;
    }
    if flags & GET_RECX != 0 {
        let Some(Value::Array(a)) = akeys.get(&q.akey) else {
            return Err(Der::NONEXIST);
        };
        let r = a.recxs();
        q.recx = Some(*(if max { r.last() } else { r.first() }).ok_or(Der::NONEXIST)?);
    }
    Ok(q)
}

// ---------------------------------------------------------------------------------------
// OIT and OID allocation
// ---------------------------------------------------------------------------------------

/// `daos_oit_open`: only a snapshot made with `DAOS_SNAP_OPT_OIT` has an OIT, otherwise
/// `-DER_NONEXIST` (srv_epoch.c `ds_cont_snap_oit_oid_get`: an rdb lookup).
pub fn oit_open(coh: u64, epoch: u64) -> DerResult<u64> {
    let cont = client::cont_handle(coh)?;
    require(&cont, perm::READ)?;
    let meta = cont.dir.meta()?;
    if !meta.snapshots.contains(&epoch) || !meta.oit_snapshots.contains(&epoch) {
        return Err(Der::NONEXIST);
    }
    let oids = View::at_snapshot(&cont.dir, epoch)?.objects();
    let cookie = client::new_cookie(HTYPE_OBJ);
    let h = Arc::new(OitHandle { cont, epoch, oids });
    obj_handles(|m| m.insert(cookie, ObjKind::Oit(h)));
    Ok(cookie)
}

/// An open OIT by cookie.
pub fn oit_handle(oh: u64) -> DerResult<Arc<OitHandle>> {
    let h = match obj_handles(|m| m.get(&oh).cloned()) {
        Some(ObjKind::Oit(o)) => o,
        _ => return Err(Der::NO_HDL),
    };
    client::cont_handle(h.cont.cookie)?;
    Ok(h)
}

/// `daos_oit_close`.
pub fn oit_close(oh: u64) -> DerResult<()> {
    obj_handles(|m| match m.get(&oh) {
        Some(ObjKind::Oit(_)) => {
            m.remove(&oh);
            Ok(())
        }
        _ => Err(Der::NO_HDL),
    })
}

/// `daos_cont_snap_oit_create`: gives an existing snapshot an OIT.
pub fn snap_oit_create(coh: u64, epoch: u64) -> DerResult<()> {
    let cont = client::cont_handle(coh)?;
    require(&cont, perm::WRITE)?;
    cont.dir.update(|meta| {
        if !meta.snapshots.contains(&epoch) {
            return Err(Der::NONEXIST);
        }
        if !meta.oit_snapshots.contains(&epoch) {
            meta.oit_snapshots.push(epoch);
        }
        Ok(())
    })
}

/// `daos_cont_snap_oit_destroy`: the snapshot of the open OIT `oh` loses its OIT (the
/// handle stays open until closed).
pub fn snap_oit_destroy(coh: u64, oh: u64) -> DerResult<()> {
    let cont = client::cont_handle(coh)?;
    let oit = oit_handle(oh)?;
    require(&cont, perm::WRITE)?;
    cont.dir.update(|meta| {
        meta.oit_snapshots.retain(|e| *e != oit.epoch);
        Ok(())
    })
}

/// `daos_cont_alloc_oids`: `num` ids from max(`DAOS_PROP_CO_ALLOCED_OID`, 2^48); the
/// property becomes the next free id.
pub fn alloc_oids(cont: &ContHandle, num: u64) -> DerResult<u64> {
    require(cont, perm::WRITE)?;
    if num == 0 {
        return Err(Der::INVAL);
    }
    cont.dir.update(|meta| {
        let start = meta.val(co::ALLOCED_OID).max(ALLOC_BASE);
        let next = start.checked_add(num).ok_or(Der::OVERFLOW)?;
        meta.props.insert(co::ALLOCED_OID, PropValue::Val(next));
        Ok(start)
    })
}

/// Freezes the raw objects into snapshot `epoch` (under the objects lock, so that no
/// update is half in).
pub fn freeze(dir: &ContDir, epoch: u64) -> DerResult<()> {
    let _lock = lock(dir, true)?;
    RawStore::at(objs_dir(dir))
        .freeze_into(&snap_objs_dir(dir, epoch))
        .map_err(io)
}
