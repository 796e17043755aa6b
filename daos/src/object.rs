//! DAOS objects (`daos_obj.h`): identifiers, open handles, keys, values and their
//! enumeration, blocking or through an [`EventQueue`].
//!
//! # The object model
//!
//! A container holds objects, each named by a 128-bit [`ObjectId`]. An object is a two-level
//! key-value store:
//!
//! * **dkeys** (distribution keys) are byte strings; everything under one dkey is stored on
//!   the same targets, so the dkey is the unit of placement;
//! * each dkey holds **akeys** (attribute keys), byte strings too;
//! * each akey holds one value, either a **single value** (an atomic blob, rewritten whole:
//!   [`Object::update_single`], [`Object::fetch_single`]) or an **array** of fixed-size
//!   records addressed by index, written and read as extents ([`Recx`]: start index and
//!   record count; [`Object::update_array`], [`Object::fetch_array`]). An array may have
//!   holes; [`Object::list_recxs`] lists the extents that hold data.
//!
//! The high bits of the OID carry the object's [`ObjectType`] (whether keys are hashed,
//! integers or lexically ordered, and whether it is a KV or array object) and its
//! [`ObjectClass`] (redundancy and striping); [`Container::generate_oid`] encodes them
//! (`daos_obj_generate_oid2`) around an id from [`Container::alloc_oids`]. The POSIX layer
//! (libdfs) stores every file and directory as such an object, so a POSIX container can be
//! read (and copied) through this module too.
//!
//! Nothing needs to be created: updating a key of an object that was never written creates
//! both. Reading a dkey or akey that does not exist is not an error: [`Object::fetch_single`]
//! gives `None`, [`Object::value_kind`] [`ValueKind::None`], unless the call asks for a
//! failure with the conditional flags of [`Tx::cond`](crate::Tx::cond) ([`Cond::DKEY_FETCH`],
//! [`Cond::AKEY_FETCH`] give `-DER_NONEXIST`).
//!
//! # Transactions and snapshots
//!
//! Every operation names the transaction it runs in, a [`Tx`](crate::Tx): [`Tx::NONE`](crate::Tx::NONE) for the latest
//! data, or [`Tx::of`](crate::Tx::of) an open [`Transaction`](crate::Transaction) — a read-write one from
//! [`Container::begin_transaction`](crate::Container::begin_transaction), or a snapshot reader from
//! [`Container::snapshot_reader`](crate::Container::snapshot_reader) that sees the container as of a snapshot's epoch.
//!
//! To find every object of a snapshot, take it with
//! [`Container::create_snapshot_with_object_index`](crate::Container::create_snapshot_with_object_index) (`DAOS_SNAP_OPT_OIT`) and list its object
//! index table ([`crate::oit`]).
//!
//! # Enumeration
//!
//! Keys are listed in batches: each call fills up to `max` keys and advances an [`Anchor`];
//! the listing is over when [`Anchor::is_done`]. A batch may come back empty before the end.
//! A key longer than the batch's buffer makes libdaos answer `-DER_KEY2BIG` with the length it
//! needs; the listing methods then grow the buffer and ask again, so callers never see that
//! error. [`Object::list_dkeys`] and friends collect every batch.
//!
//! # Asynchronous forms
//!
//! Every operation has an `_async` form over an [`EventQueue`]. Each operation in flight owns
//! everything libdaos may touch (keys, I/O descriptors, extent lists, scatter/gather lists,
//! buffers, the anchor) and clones of the object and transaction handles, until the poller
//! frees it; buffers are taken and given back as owned `Vec<u8>` so they can be reused. Many
//! fetches and updates may be in flight at once and complete in any order.
//!
//! A form that is one libdaos call (open, a fetch into a given buffer, an update, a punch, a
//! batch of extents) submits it when called, so creating many futures puts many operations in
//! flight. A form of several calls (the size probe and fetch of [`Object::fetch_single_async`],
//! [`Object::value_kind_async`], whole listings, key batches that may need a larger buffer)
//! submits its first call when first polled.
//!
//! # Example: copying one object
//!
//! ```no_run
//! # async fn demo(src: &daos::Container, dst: &daos::Container, oid: daos::ObjectId,
//! #               snap: daos::Epoch, eq: &daos::EventQueue) -> daos::Result<()> {
//! use daos::{ObjectAccess, Tx, ValueKind};
//!
//! let at_snapshot = src.snapshot_reader(snap)?;
//! let from = src.open_object(oid, ObjectAccess::ReadOnly)?;
//! let to = dst.open_object(oid, ObjectAccess::ReadWrite)?;
//! let read = Tx::of(&at_snapshot);
//! for dkey in from.list_dkeys_async(eq, read).await? {
//!     for akey in from.list_akeys_async(eq, read, &dkey).await? {
//!         match from.value_kind_async(eq, read, &dkey, &akey).await? {
//!             ValueKind::Single { size } => {
//!                 let buf = vec![0; size as usize];
//!                 if let Some(value) = from.fetch_single_into_async(eq, read, &dkey, &akey, buf).await? {
//!                     to.update_single_async(eq, Tx::NONE, &dkey, &akey, value).await?;
//!                 }
//!             }
//!             ValueKind::Array { .. } => {
//!                 let extents = from.list_recxs_async(eq, read, &dkey, &akey).await?;
//!                 let data = from.fetch_array_async(eq, read, &dkey, &akey, &extents, Vec::new()).await?;
//!                 to.update_array_async(eq, Tx::NONE, &dkey, &akey, &extents, data).await?;
//!             }
//!             ValueKind::None => {}
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::ptr::null_mut;
use std::str::FromStr;
use std::sync::Arc;

use crate::container::Container;
use crate::eq::{EventQueue, OpFuture, Operation, SendPtr, run_blocking};
use crate::error::{Der, Error, Result, check_rc};

mod io;
mod keys;

pub use io::{MaxRecord, ValueKind};
pub use keys::{DEFAULT_KEY_BATCH, DEFAULT_RECX_BATCH};

// oid.hi: | type (8) | redundancy order (8) | group count (16) | free for the user (32) |
// (OID_FMT_* of src/include/daos_obj.h, v2.6.5 and v2.8.0).
const OID_FMT_TYPE_SHIFT: u32 = 56;
const OID_FMT_CLASS_SHIFT: u32 = 48;
const OID_FMT_META_SHIFT: u32 = 32;
/// `OC_REDUN_SHIFT` of src/include/daos_obj_class.h: where the redundancy order sits in a
/// class id.
const OC_REDUN_SHIFT: u32 = 24;

/// A DAOS object identifier (`daos_obj_id_t`): 128 bits, of which the top 32 of `hi` encode
/// the object's type and class.
///
/// Printed and parsed the way DAOS prints OIDs (`DF_OID`): `hi.lo` in decimal.
///
/// ```
/// use daos::{ObjectId, ObjectType};
///
/// let oid: ObjectId = "360287970189639681.42".parse()?;
/// assert_eq!(oid, ObjectId::new(360287970189639681, 42));
/// assert_eq!(oid.otype(), Some(ObjectType::DkeyLexical));
/// assert_eq!(oid.to_string(), "360287970189639681.42");
/// # Ok::<(), daos::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ObjectId {
    /// High 64 bits: type, class and 32 bits of the caller's id.
    pub hi: u64,
    /// Low 64 bits: the caller's id (from [`Container::alloc_oids`]).
    pub lo: u64,
}

impl ObjectId {
    /// An id from its two halves, in the order DAOS prints them.
    pub const fn new(hi: u64, lo: u64) -> ObjectId {
        ObjectId { hi, lo }
    }

    /// The type encoded in the id (`daos_obj_id2type`); `None` for a type this crate does not
    /// know.
    pub fn otype(self) -> Option<ObjectType> {
        ObjectType::from_raw((self.hi >> OID_FMT_TYPE_SHIFT) as u32)
    }

    /// The class encoded in the id (`daos_obj_id2class`): redundancy order and group count.
    pub fn class(self) -> ObjectClass {
        let order = (self.hi >> OID_FMT_CLASS_SHIFT) & 0xff;
        let groups = (self.hi >> OID_FMT_META_SHIFT) & 0xffff;
        ObjectClass(((order as u32) << OC_REDUN_SHIFT) | groups as u32)
    }

    /// The C form.
    pub const fn to_raw(self) -> daos_sys::daos_obj_id_t {
        daos_sys::daos_obj_id_t {
            lo: self.lo,
            hi: self.hi,
        }
    }

    /// From the C form.
    pub const fn from_raw(raw: daos_sys::daos_obj_id_t) -> ObjectId {
        ObjectId {
            hi: raw.hi,
            lo: raw.lo,
        }
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.hi, self.lo)
    }
}

impl FromStr for ObjectId {
    type Err = Error;

    /// Parses `hi.lo` (two decimal numbers), as DAOS prints an OID.
    fn from_str(s: &str) -> Result<ObjectId> {
        let bad = || Error::invalid("ObjectId::from_str", format!("{s:?} is not an OID (hi.lo)"));
        let (hi, lo) = s.split_once('.').ok_or_else(bad)?;
        let number = |part: &str| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse::<u64>().map_err(|_| bad())
        };
        Ok(ObjectId::new(number(hi)?, number(lo)?))
    }
}

/// The kind of object an OID names (`enum daos_otype_t` of `daos_obj.h`): how its keys are
/// stored and ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum ObjectType {
    /// `DAOS_OT_MULTI_HASHED`: dkeys and akeys are hashed byte strings (the default).
    MultiHashed = 0,
    /// `DAOS_OT_OIT`: an object index table (version 1).
    Oit = 1,
    /// `DAOS_OT_DKEY_UINT64`: dkeys are 8-byte integers, akeys hashed.
    DkeyUint64 = 2,
    /// `DAOS_OT_AKEY_UINT64`: akeys are 8-byte integers, dkeys hashed.
    AkeyUint64 = 3,
    /// `DAOS_OT_MULTI_UINT64`: dkeys and akeys are 8-byte integers.
    MultiUint64 = 4,
    /// `DAOS_OT_DKEY_LEXICAL`: dkeys are ordered lexically, akeys hashed.
    DkeyLexical = 5,
    /// `DAOS_OT_AKEY_LEXICAL`: akeys are ordered lexically, dkeys hashed.
    AkeyLexical = 6,
    /// `DAOS_OT_MULTI_LEXICAL`: dkeys and akeys are ordered lexically.
    MultiLexical = 7,
    /// `DAOS_OT_KV_HASHED`: a flat key-value object with hashed keys (`daos_kv.h`).
    KvHashed = 8,
    /// `DAOS_OT_KV_UINT64`: a flat key-value object with integer keys.
    KvUint64 = 9,
    /// `DAOS_OT_KV_LEXICAL`: a flat key-value object with lexically ordered keys.
    KvLexical = 10,
    /// `DAOS_OT_ARRAY`: an array object (`daos_array.h`), with its metadata in the object.
    Array = 11,
    /// `DAOS_OT_ARRAY_ATTR`: an array whose attributes are kept by the caller.
    ArrayAttr = 12,
    /// `DAOS_OT_ARRAY_BYTE`: a byte array whose attributes are kept by the caller (DFS files).
    ArrayByte = 13,
    /// `DAOS_OT_OIT_V2`: an object index table (version 2).
    OitV2 = 14,
}

impl ObjectType {
    const ALL: [ObjectType; 15] = [
        ObjectType::MultiHashed,
        ObjectType::Oit,
        ObjectType::DkeyUint64,
        ObjectType::AkeyUint64,
        ObjectType::MultiUint64,
        ObjectType::DkeyLexical,
        ObjectType::AkeyLexical,
        ObjectType::MultiLexical,
        ObjectType::KvHashed,
        ObjectType::KvUint64,
        ObjectType::KvLexical,
        ObjectType::Array,
        ObjectType::ArrayAttr,
        ObjectType::ArrayByte,
        ObjectType::OitV2,
    ];

    /// The type with the C value `raw`, if there is one.
    pub fn from_raw(raw: u32) -> Option<ObjectType> {
        ObjectType::ALL.get(usize::try_from(raw).ok()?).copied()
    }

    /// The C value (`daos_otype_t`).
    pub fn to_raw(self) -> daos_sys::daos_otype_t {
        self as daos_sys::daos_otype_t
    }

    /// Whether dkeys must be 8-byte integers (`daos_is_dkey_uint64_type`); libdaos refuses
    /// another length with `-DER_INVAL`.
    pub fn has_integer_dkeys(self) -> bool {
        matches!(
            self,
            ObjectType::ArrayByte
                | ObjectType::MultiUint64
                | ObjectType::DkeyUint64
                | ObjectType::KvUint64
                | ObjectType::Array
                | ObjectType::ArrayAttr
        )
    }

    /// Whether akeys must be 8-byte integers (`daos_is_akey_uint64_type`).
    pub fn has_integer_akeys(self) -> bool {
        matches!(self, ObjectType::MultiUint64 | ObjectType::AkeyUint64)
    }

    /// Whether this is an array object (`daos_is_array_type`).
    pub fn is_array(self) -> bool {
        matches!(
            self,
            ObjectType::ArrayByte | ObjectType::Array | ObjectType::ArrayAttr
        )
    }
}

/// An object class id (`daos_oclass_id_t`): redundancy (replication or erasure code) and the
/// number of redundancy groups the object is striped over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ObjectClass(pub u32);

impl ObjectClass {
    /// `OC_UNKNOWN` (0): DAOS chooses from the container's redundancy factor.
    pub const DEFAULT: ObjectClass = ObjectClass(0);

    /// The class named `name` (`"SX"`, `"RP_3G1"`, `"EC_4P2GX"`, or a number), as
    /// libdaos' `daos_oclass_name2id` knows it; `-DER_INVAL` for an unknown name.
    pub fn from_name(name: &str) -> Result<ObjectClass> {
        crate::dfs::object_class_id(name).map(ObjectClass)
    }

    /// The class's name (`daos_oclass_id2name`), `None` if libdaos does not know the id.
    pub fn name(self) -> Option<String> {
        let mut buf = [0 as std::ffi::c_char; daos_sys::MAX_OBJ_CLASS_NAME_LEN as usize];
        // SAFETY: `buf` has the MAX_OBJ_CLASS_NAME_LEN bytes the function may write.
        let rc = unsafe { daos_sys::daos_oclass_id2name(self.0, buf.as_mut_ptr()) };
        if rc < 0 {
            return None;
        }
        // SAFETY: on success libdaos wrote a NUL-terminated name into `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
        Some(name.to_string_lossy().into_owned())
    }
}

/// How an object is opened (`DAOS_OO_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectAccess {
    /// `DAOS_OO_RO`: updates and punches fail with `-DER_NO_PERM`.
    ReadOnly,
    /// `DAOS_OO_RW`; the container must be open read-write as well.
    ReadWrite,
}

impl ObjectAccess {
    fn flags(self) -> u32 {
        match self {
            ObjectAccess::ReadOnly => daos_sys::DAOS_OO_RO,
            ObjectAccess::ReadWrite => daos_sys::DAOS_OO_RW,
        }
    }
}

/// Conditional-operation flags (`DAOS_COND_*` of `daos_obj.h`), combined with `|` and given
/// to one call through [`Tx::cond`](crate::Tx::cond).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Cond(u64);

impl Cond {
    /// No condition.
    pub const NONE: Cond = Cond(0);
    /// Punch: fail with `-DER_NONEXIST` if the key does not exist.
    pub const PUNCH: Cond = Cond(daos_sys::DAOS_COND_PUNCH as u64);
    /// Update: fail with `-DER_EXIST` if the dkey exists.
    pub const DKEY_INSERT: Cond = Cond(daos_sys::DAOS_COND_DKEY_INSERT as u64);
    /// Update: fail with `-DER_NONEXIST` unless the dkey exists.
    pub const DKEY_UPDATE: Cond = Cond(daos_sys::DAOS_COND_DKEY_UPDATE as u64);
    /// Fetch: fail with `-DER_NONEXIST` unless the dkey exists.
    pub const DKEY_FETCH: Cond = Cond(daos_sys::DAOS_COND_DKEY_FETCH as u64);
    /// Update: fail with `-DER_EXIST` if the akey exists.
    pub const AKEY_INSERT: Cond = Cond(daos_sys::DAOS_COND_AKEY_INSERT as u64);
    /// Update: fail with `-DER_NONEXIST` unless the akey exists.
    pub const AKEY_UPDATE: Cond = Cond(daos_sys::DAOS_COND_AKEY_UPDATE as u64);
    /// Fetch: fail with `-DER_NONEXIST` unless the akey exists.
    pub const AKEY_FETCH: Cond = Cond(daos_sys::DAOS_COND_AKEY_FETCH as u64);

    /// The flags as libdaos takes them.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Cond) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Cond {
    type Output = Cond;

    fn bitor(self, rhs: Cond) -> Cond {
        Cond(self.0 | rhs.0)
    }
}

/// An extent of an array value (`daos_recx_t`): `count` records from record `index` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Recx {
    /// Index of the first record.
    pub index: u64,
    /// Number of records.
    pub count: u64,
}

impl Recx {
    /// `count` records from `index` on.
    pub const fn new(index: u64, count: u64) -> Recx {
        Recx { index, count }
    }

    fn to_raw(self) -> daos_sys::daos_recx_t {
        daos_sys::daos_recx_t {
            rx_idx: self.index,
            rx_nr: self.count,
        }
    }

    fn from_raw(raw: &daos_sys::daos_recx_t) -> Recx {
        Recx::new(raw.rx_idx, raw.rx_nr)
    }
}

/// The extents of an array value and the size of its records: what [`Object::list_recxs`]
/// finds, and what [`Object::fetch_array`] and [`Object::update_array`] take.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extents {
    /// Bytes per record (1 for a byte array). 0 when there are no extents.
    pub record_size: u64,
    /// The extents, in increasing index order when listed.
    pub recxs: Vec<Recx>,
}

impl Extents {
    /// Extents of `record_size`-byte records.
    pub fn new(record_size: u64, recxs: Vec<Recx>) -> Extents {
        Extents { record_size, recxs }
    }

    /// Number of bytes the extents cover: the buffer size a fetch or update needs.
    /// `-DER_OVERFLOW` if that does not fit in memory.
    pub fn byte_len(&self) -> Result<usize> {
        let records = self
            .recxs
            .iter()
            .try_fold(0u64, |sum, r| sum.checked_add(r.count));
        records
            .and_then(|n| n.checked_mul(self.record_size))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                Error::raised(
                    "Extents::byte_len",
                    Der::Overflow,
                    "the extents cover more bytes than fit in memory",
                )
            })
    }
}

/// Where an enumeration stands (`daos_anchor_t`): start with [`Anchor::new`], pass it to
/// every batch of the same listing, stop when [`Anchor::is_done`].
#[derive(Clone, Copy)]
pub struct Anchor(pub(crate) daos_sys::daos_anchor_t);

impl Anchor {
    /// The start of a listing (`DAOS_ANCHOR_INIT`).
    pub const fn new() -> Anchor {
        Anchor(daos_sys::DAOS_ANCHOR_INIT)
    }

    /// Whether the listing is over (`daos_anchor_is_eof`).
    pub const fn is_done(&self) -> bool {
        daos_sys::daos_anchor_is_eof(&self.0)
    }
}

impl Default for Anchor {
    fn default() -> Anchor {
        Anchor::new()
    }
}

impl fmt::Debug for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Anchor")
            .field("type", &self.0.da_type)
            .field("done", &self.is_done())
            .finish()
    }
}

pub(crate) struct ObjectInner {
    handle: daos_sys::daos_handle_t,
    oid: ObjectId,
    access: ObjectAccess,
    closed: bool,
    cont: Container,
}

impl ObjectInner {
    pub(crate) fn describe(&self) -> String {
        format!("object {} in {}", self.oid, self.cont.describe())
    }
}

impl Drop for ObjectInner {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        // SAFETY: the handle came from a successful open; every operation that used it held a
        // clone of this value, so none is in flight any more.
        let rc = unsafe { daos_sys::daos_obj_close(self.handle, null_mut()) };
        if rc != 0 {
            tracing::warn!(error = %Error::from_rc("daos_obj_close", rc).with_context(self.describe()), "object handle leaked");
        }
    }
}

/// An open DAOS object (`daos_obj_open`); see the [module documentation](self).
///
/// Clones share the handle; the last one (or the last operation in flight on it) closes it
/// (`daos_obj_close`). It keeps its [`Container`] open. `Send + Sync`: libdaos object handles
/// may be used from any thread.
#[derive(Clone)]
pub struct Object {
    inner: Arc<ObjectInner>,
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Object")
            .field("oid", &self.inner.oid)
            .field("access", &self.inner.access)
            .field("container", &self.inner.cont)
            .finish()
    }
}

/// A byte string (key) and the `d_iov_t` that points at it; lives inside an operation.
pub(crate) struct KeyIov {
    bytes: Vec<u8>,
    iov: SendPtr<daos_sys::d_iov_t>,
}

impl KeyIov {
    pub(crate) fn new(bytes: Vec<u8>) -> KeyIov {
        KeyIov {
            bytes,
            iov: SendPtr(daos_sys::d_iov_t {
                iov_buf: null_mut(),
                iov_buf_len: 0,
                iov_len: 0,
            }),
        }
    }

    /// Points the iov at the bytes; valid while `self` stays in place.
    pub(crate) fn iov(&mut self) -> *mut daos_sys::d_iov_t {
        daos_sys::d_iov_set(
            &mut self.iov.0,
            self.bytes.as_mut_ptr().cast(),
            self.bytes.len(),
        );
        &mut self.iov.0
    }

    /// The iov by value (for a descriptor's `iod_name`); the same validity as [`KeyIov::iov`].
    pub(crate) fn as_iov(&mut self) -> daos_sys::d_iov_t {
        // SAFETY: `iov` just returned a pointer to our own field.
        unsafe { *self.iov() }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes libdaos reported as the key's length after a call that writes a key.
    pub(crate) fn reported(&self) -> &[u8] {
        &self.bytes[..self.iov.0.iov_len.min(self.bytes.len())]
    }
}

/// Refuses an empty key as libdaos would (`obj_key_valid`: `-DER_INVAL`), saying which.
pub(crate) fn check_key(method: &'static str, what: &str, key: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid(method, format!("the {what} is empty")));
    }
    Ok(())
}

/// `op` submitted to `eq`, or the error that kept it from being built as a ready future: the
/// start of every `_async` method here, which reports argument errors through its future.
fn submit_or_fail<O: Operation>(eq: &EventQueue, op: Result<O>) -> OpFuture<O::Output> {
    match op {
        Ok(op) => eq.submit(op),
        Err(e) => OpFuture::ready(Err(e)),
    }
}

/// A scatter/gather list over one buffer; lives inside the operation that uses it.
pub(crate) struct OneSgl {
    iov: SendPtr<daos_sys::d_iov_t>,
    sgl: SendPtr<daos_sys::d_sg_list_t>,
}

impl OneSgl {
    pub(crate) fn new() -> OneSgl {
        OneSgl {
            iov: SendPtr(daos_sys::d_iov_t {
                iov_buf: null_mut(),
                iov_buf_len: 0,
                iov_len: 0,
            }),
            sgl: SendPtr(daos_sys::d_sg_list_t {
                sg_nr: 1,
                sg_nr_out: 0,
                sg_iovs: null_mut(),
            }),
        }
    }

    /// Points the list at `len` bytes from `buf`; valid while `self` and the buffer stay put.
    pub(crate) fn point_at(&mut self, buf: *mut u8, len: usize) -> *mut daos_sys::d_sg_list_t {
        daos_sys::d_iov_set(&mut self.iov.0, buf.cast(), len);
        self.sgl.0.sg_iovs = &mut self.iov.0;
        self.sgl.0.sg_nr_out = 0;
        &mut self.sgl.0
    }
}

struct OpenObject {
    cont: Container,
    oid: ObjectId,
    access: ObjectAccess,
    handle: daos_sys::daos_handle_t,
}

impl Operation for OpenObject {
    type Output = Object;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        // SAFETY: the container is open (held); `handle` belongs to this operation.
        unsafe {
            daos_sys::daos_obj_open(
                self.cont.raw_handle(),
                self.oid.to_raw(),
                self.access.flags(),
                &mut self.handle,
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<Object> {
        check_rc("daos_obj_open", rc).map_err(|e| {
            e.with_context(format!("object {} in {}", self.oid, self.cont.describe()))
        })?;
        Ok(Object {
            inner: Arc::new(ObjectInner {
                handle: self.handle,
                oid: self.oid,
                access: self.access,
                closed: false,
                cont: self.cont,
            }),
        })
    }
}

struct CloseObject {
    inner: Option<ObjectInner>,
}

impl Operation for CloseObject {
    type Output = ();

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        match &self.inner {
            // SAFETY: sole owner of an open handle.
            Some(inner) => unsafe { daos_sys::daos_obj_close(inner.handle, ev) },
            None => Der::NoHdl.rc(),
        }
    }

    fn finish(mut self, rc: i32) -> Result<()> {
        let Some(mut inner) = self.inner.take() else {
            return Err(Error::raised(
                "Object::close",
                Der::NoHdl,
                "the handle was already closed",
            ));
        };
        // On failure Drop tries once more (and logs); on success it must not.
        inner.closed = rc == 0;
        check_rc("daos_obj_close", rc).map_err(|e| e.with_context(inner.describe()))
    }
}

struct AllocOids {
    cont: Container,
    count: u64,
    first: u64,
}

impl Operation for AllocOids {
    type Output = u64;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        // SAFETY: the container is open (held); `first` belongs to this operation.
        unsafe {
            daos_sys::daos_cont_alloc_oids(self.cont.raw_handle(), self.count, &mut self.first, ev)
        }
    }

    fn finish(self, rc: i32) -> Result<u64> {
        check_rc("daos_cont_alloc_oids", rc).map_err(|e| e.with_context(self.cont.describe()))?;
        Ok(self.first)
    }
}

fn alloc_op(cont: &Container, count: u64) -> Result<AllocOids> {
    if count == 0 {
        return Err(Error::invalid(
            "Container::alloc_oids",
            "asked for 0 object ids",
        ));
    }
    Ok(AllocOids {
        cont: cont.clone(),
        count,
        first: 0,
    })
}

impl Container {
    /// Opens the object `oid` (`daos_obj_open`). Objects need no creation: opening one that
    /// was never written succeeds, and its first update creates it. Through a
    /// [`ObjectAccess::ReadOnly`] handle, updates and punches fail with `-DER_NO_PERM`
    /// (src/object/cli_obj.c, `obj_req_valid`).
    pub fn open_object(&self, oid: ObjectId, access: ObjectAccess) -> Result<Object> {
        run_blocking(self.open_object_op(oid, access))
    }

    /// [`Container::open_object`] through an event queue.
    pub fn open_object_async(
        &self,
        eq: &EventQueue,
        oid: ObjectId,
        access: ObjectAccess,
    ) -> OpFuture<Object> {
        eq.submit(self.open_object_op(oid, access))
    }

    fn open_object_op(&self, oid: ObjectId, access: ObjectAccess) -> OpenObject {
        OpenObject {
            cont: self.clone(),
            oid,
            access,
            handle: daos_sys::DAOS_HDL_INVAL,
        }
    }

    /// Reserves `count` consecutive object ids from the container's allocator
    /// (`daos_cont_alloc_oids`) and returns the first: the `lo` halves of `count` new OIDs,
    /// never handed out again in this container. Needs a read-write container handle.
    pub fn alloc_oids(&self, count: u64) -> Result<u64> {
        run_blocking(alloc_op(self, count)?)
    }

    /// [`Container::alloc_oids`] through an event queue.
    pub fn alloc_oids_async(&self, eq: &EventQueue, count: u64) -> OpFuture<u64> {
        submit_or_fail(eq, alloc_op(self, count))
    }

    /// Encodes `otype` and `class` (or, for [`ObjectClass::DEFAULT`], the class DAOS picks
    /// from the container's redundancy factor and `hints`, `DAOS_OCH_*`) into the high bits
    /// of `base` (`daos_obj_generate_oid2`). `base.lo` and the low 32 bits of `base.hi` are
    /// kept: take them from [`Container::alloc_oids`]. A local call (no I/O), so it has no
    /// asynchronous form.
    pub fn generate_oid(
        &self,
        base: ObjectId,
        otype: ObjectType,
        class: ObjectClass,
        hints: u16,
    ) -> Result<ObjectId> {
        let mut raw = base.to_raw();
        // SAFETY: the container is open; `raw` is a valid in/out pointer for the call.
        let rc = unsafe {
            daos_sys::daos_obj_generate_oid2(
                self.raw_handle(),
                &mut raw,
                otype.to_raw(),
                class.0,
                hints,
                0,
            )
        };
        check_rc("daos_obj_generate_oid2", rc).map_err(|e| e.with_context(self.describe()))?;
        Ok(ObjectId::from_raw(raw))
    }

    /// A new, never used OID of type `otype` and class `class`: [`Container::alloc_oids`]
    /// for one id, then [`Container::generate_oid`] with no hints.
    pub fn new_object_id(&self, otype: ObjectType, class: ObjectClass) -> Result<ObjectId> {
        let lo = self.alloc_oids(1)?;
        self.generate_oid(ObjectId::new(0, lo), otype, class, 0)
    }

    /// [`Container::new_object_id`] through an event queue (the allocation is asynchronous).
    pub fn new_object_id_async(
        &self,
        eq: &EventQueue,
        otype: ObjectType,
        class: ObjectClass,
    ) -> impl Future<Output = Result<ObjectId>> + Send + 'static + use<> {
        let allocated = self.alloc_oids_async(eq, 1);
        let cont = self.clone();
        async move {
            let lo = allocated.await?;
            cont.generate_oid(ObjectId::new(0, lo), otype, class, 0)
        }
    }

    /// The highest object id the container's allocator has handed out
    /// (`DAOS_PROP_CO_ALLOCED_OID`). It can be given to a new container at creation
    /// ([`Properties`](crate::Properties) with [`PropType::ALLOCED_OID`](crate::PropType)),
    /// e.g. to a copy that keeps the source's OIDs; libdaos refuses to change it on an
    /// existing container (`-DER_NO_PERM`).
    pub fn allocated_oid(&self) -> Result<u64> {
        let props = self.properties_of(&[crate::prop::PropType::ALLOCED_OID])?;
        props
            .get_u64(crate::prop::PropType::ALLOCED_OID)
            .ok_or_else(|| {
                Error::raised(
                    "Container::allocated_oid",
                    Der::Nonexist,
                    format!("{} did not report alloc_oid", self.describe()),
                )
            })
    }
}

impl Object {
    /// The object's id.
    pub fn oid(&self) -> ObjectId {
        self.inner.oid
    }

    /// How the object was opened.
    pub fn access(&self) -> ObjectAccess {
        self.inner.access
    }

    /// The container the object belongs to.
    pub fn container(&self) -> &Container {
        &self.inner.cont
    }

    /// The raw object handle, valid while this value (or a clone) lives.
    pub fn raw_handle(&self) -> daos_sys::daos_handle_t {
        self.inner.handle
    }

    pub(crate) fn shared(&self) -> Arc<ObjectInner> {
        Arc::clone(&self.inner)
    }

    /// Closes the handle now and reports the result (`daos_obj_close`), if this is the last
    /// clone and no operation is in flight on it. Otherwise `-DER_BUSY`, and only this clone
    /// goes away.
    pub fn close(self) -> Result<()> {
        run_blocking(self.close_op()?)
    }

    /// [`Object::close`] through an event queue.
    pub fn close_async(self, eq: &EventQueue) -> OpFuture<()> {
        submit_or_fail(eq, self.close_op())
    }

    fn close_op(self) -> Result<CloseObject> {
        match Arc::try_unwrap(self.inner) {
            Ok(inner) => Ok(CloseObject { inner: Some(inner) }),
            Err(_) => Err(Error::raised(
                "Object::close",
                Der::Busy,
                "other clones of this object (or operations using it) are still alive",
            )),
        }
    }
}

impl ObjectInner {
    pub(crate) fn handle(&self) -> daos_sys::daos_handle_t {
        self.handle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_text_round_trips() {
        let oid = ObjectId::new(0x0500_0000_0000_0001, 42);
        assert_eq!(oid.to_string(), format!("{}.42", 0x0500_0000_0000_0001u64));
        assert_eq!(oid.to_string().parse::<ObjectId>().unwrap(), oid);
        assert_eq!("0.0".parse::<ObjectId>().unwrap(), ObjectId::default());
        for bad in [
            "",
            "1",
            "1.",
            ".1",
            "1.2.3",
            "a.1",
            "1.-2",
            "+1.2",
            "18446744073709551616.0",
        ] {
            let e = bad.parse::<ObjectId>().unwrap_err();
            assert!(e.is_invalid() && !e.is_from_daos(), "{bad:?}: {e}");
        }
    }

    #[test]
    fn oid_type_and_class_bits() {
        // Type 13 (ARRAY_BYTE), redundancy order 1 (RP_1 = no protection), 2 groups: S2.
        let hi = (13u64 << 56) | (1u64 << 48) | (2u64 << 32) | 7;
        let oid = ObjectId::new(hi, 9);
        assert_eq!(oid.otype(), Some(ObjectType::ArrayByte));
        assert_eq!(oid.class(), ObjectClass((1 << 24) | 2));
        assert_eq!(ObjectId::new(15u64 << 56, 0).otype(), None);
        assert_eq!(ObjectId::new(0, 1).otype(), Some(ObjectType::MultiHashed));
    }

    #[test]
    fn object_types_match_the_c_values() {
        for (i, t) in ObjectType::ALL.iter().enumerate() {
            assert_eq!(t.to_raw() as usize, i);
            assert_eq!(ObjectType::from_raw(i as u32), Some(*t));
        }
        assert_eq!(
            ObjectType::ArrayByte.to_raw(),
            daos_sys::daos_otype_t_DAOS_OT_ARRAY_BYTE
        );
        assert_eq!(
            ObjectType::OitV2.to_raw(),
            daos_sys::daos_otype_t_DAOS_OT_OIT_V2
        );
        assert_eq!(
            ObjectType::from_raw(daos_sys::daos_otype_t_DAOS_OT_MAX + 1),
            None
        );
        assert!(ObjectType::DkeyUint64.has_integer_dkeys());
        assert!(!ObjectType::DkeyLexical.has_integer_dkeys());
        assert!(ObjectType::MultiUint64.has_integer_akeys());
        assert!(ObjectType::Array.is_array() && !ObjectType::KvHashed.is_array());
    }

    #[test]
    fn extents_byte_len() {
        let e = Extents::new(4, vec![Recx::new(0, 3), Recx::new(10, 2)]);
        assert_eq!(e.byte_len().unwrap(), 20);
        assert_eq!(Extents::default().byte_len().unwrap(), 0);
        let huge = Extents::new(u64::MAX, vec![Recx::new(0, 2)]);
        assert_eq!(huge.byte_len().unwrap_err().der(), Some(Der::Overflow));
        let many = Extents::new(1, vec![Recx::new(0, u64::MAX), Recx::new(0, 1)]);
        assert_eq!(many.byte_len().unwrap_err().der(), Some(Der::Overflow));
    }

    #[test]
    fn cond_flags_combine() {
        let c = Cond::DKEY_INSERT | Cond::AKEY_FETCH;
        assert_eq!(c.bits(), 2 | 64);
        assert!(c.contains(Cond::DKEY_INSERT) && !c.contains(Cond::PUNCH));
        assert_eq!(Cond::default(), Cond::NONE);
    }

    #[test]
    fn anchors_start_open() {
        assert!(!Anchor::new().is_done());
    }
}
