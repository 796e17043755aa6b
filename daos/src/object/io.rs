//! Values of an object: fetch, update, punch and key queries (`daos_obj_fetch`,
//! `daos_obj_update`, `daos_obj_punch*`, `daos_obj_query_key`).

use std::ptr::null_mut;
use std::sync::Arc;

use super::keys::escape;
use super::{Extents, KeyIov, Object, ObjectInner, OneSgl, Recx, check_key, submit_or_fail};
use crate::eq::{EventQueue, OpFuture, Operation, SendPtr, Submitter, run_blocking};
use crate::error::{Der, Error, Result, check_rc};
use crate::pool::LIST_RETRIES;
use crate::snapshot::Epoch;
use crate::tx::{HeldTx, Tx};

/// What an akey holds, found the way `daos container clone` probes it (`cont_clone_list_akeys`
/// in src/utils/daos_hdlr.c): a single-value fetch of any size without a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// Nothing: the dkey or akey does not exist (or was punched).
    None,
    /// A single value of `size` bytes.
    Single {
        /// The value's size in bytes.
        size: u64,
    },
    /// An array value with `record_size`-byte records.
    Array {
        /// Bytes per record.
        record_size: u64,
    },
}

/// What [`Object::query_max`] finds: the highest integer dkey and, under it, the extent with
/// the highest index of an akey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaxRecord {
    /// The highest dkey, as the 8-byte integer it is in an object with integer dkeys.
    pub dkey: u64,
    /// The extent with the highest index under that dkey and the akey asked about; `None`
    /// when the akey holds no array records there.
    pub recx: Option<Recx>,
}

/// Data of an update, or the buffer of a fetch.
enum Payload {
    /// A fetch that only asks for the size (`sgls == NULL`).
    Probe,
    /// A buffer the operation owns and gives back.
    Owned(Vec<u8>),
    /// The caller's bytes, for a blocking update only: they outlive the call.
    Borrowed(SendPtr<*const u8>, usize),
}

impl Payload {
    fn len(&self) -> usize {
        match self {
            Payload::Probe => 0,
            Payload::Owned(buf) => buf.len(),
            Payload::Borrowed(_, len) => *len,
        }
    }
}

/// One `daos_obj_fetch` or `daos_obj_update` of one akey's value.
struct ValueIo {
    obj: Arc<ObjectInner>,
    tx: HeldTx,
    write: bool,
    dkey: KeyIov,
    akey: KeyIov,
    /// Record size asked for (`DAOS_REC_ANY` = 0 lets a fetch find it).
    size: u64,
    /// Extents of an array value; empty for a single value.
    recxs: Vec<daos_sys::daos_recx_t>,
    iod: SendPtr<daos_sys::daos_iod_t>,
    payload: Payload,
    sgl: OneSgl,
}

/// What a fetch found.
struct Fetched {
    /// The record size DAOS reported (`iod_size` after the call): 0 when nothing is there.
    size: u64,
    buf: Option<Vec<u8>>,
}

impl ValueIo {
    fn new(obj: &Object, tx: HeldTx, write: bool, dkey: &[u8], akey: &[u8]) -> ValueIo {
        ValueIo {
            obj: obj.shared(),
            tx,
            write,
            dkey: KeyIov::new(dkey.to_vec()),
            akey: KeyIov::new(akey.to_vec()),
            size: 0,
            recxs: Vec::new(),
            iod: SendPtr(daos_sys::daos_iod_t::default()),
            payload: Payload::Probe,
            sgl: OneSgl::new(),
        }
    }

    fn array(mut self, extents: &Extents) -> ValueIo {
        self.size = extents.record_size;
        self.recxs = extents.recxs.iter().map(|r| r.to_raw()).collect();
        self
    }

    fn single(mut self, size: u64) -> ValueIo {
        self.size = size;
        self
    }

    fn payload(mut self, payload: Payload) -> ValueIo {
        self.payload = payload;
        self
    }

    fn c_name(&self) -> &'static str {
        if self.write {
            "daos_obj_update"
        } else {
            "daos_obj_fetch"
        }
    }

    fn context(&self) -> String {
        format!(
            "dkey {:?} akey {:?} of {}",
            escape(self.dkey.bytes()),
            escape(self.akey.bytes()),
            self.obj.describe()
        )
    }

    /// Fills in the I/O descriptor; its pointers stay valid while `self` stays in place.
    fn prepare_iod(&mut self) -> *mut daos_sys::daos_iod_t {
        let iod = &mut self.iod.0;
        iod.iod_name = self.akey.as_iov();
        iod.iod_size = self.size;
        iod.iod_flags = 0;
        if self.recxs.is_empty() {
            iod.iod_type = daos_sys::daos_iod_type_t_DAOS_IOD_SINGLE;
            iod.iod_nr = 1;
            iod.iod_recxs = null_mut();
        } else {
            iod.iod_type = daos_sys::daos_iod_type_t_DAOS_IOD_ARRAY;
            iod.iod_nr = self.recxs.len() as u32;
            iod.iod_recxs = self.recxs.as_mut_ptr();
        }
        iod
    }

    fn prepare_sgl(&mut self) -> *mut daos_sys::d_sg_list_t {
        match &mut self.payload {
            Payload::Probe => null_mut(),
            Payload::Owned(buf) => self.sgl.point_at(buf.as_mut_ptr(), buf.len()),
            // libdaos only reads an update's buffer.
            Payload::Borrowed(ptr, len) => self.sgl.point_at(ptr.0 as *mut u8, *len),
        }
    }
}

impl Operation for ValueIo {
    type Output = Fetched;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        let iod = self.prepare_iod();
        let sgl = self.prepare_sgl();
        let (oh, th, flags, dkey) = (
            self.obj.handle(),
            self.tx.raw(),
            self.tx.flags(),
            self.dkey.iov(),
        );
        if self.write {
            // SAFETY: the object and transaction are open (held); dkey, descriptor, extents,
            // list and buffer belong to this operation (or, for a borrowed buffer, outlive
            // this blocking call), which stays in place until it completes.
            unsafe { daos_sys::daos_obj_update(oh, th, flags, dkey, 1, iod, sgl, ev) }
        } else {
            // SAFETY: as above; no I/O map is asked for.
            unsafe { daos_sys::daos_obj_fetch(oh, th, flags, dkey, 1, iod, sgl, null_mut(), ev) }
        }
    }

    fn finish(self, rc: i32) -> Result<Fetched> {
        check_rc(self.c_name(), rc).map_err(|e| e.with_context(self.context()))?;
        Ok(Fetched {
            size: self.iod.0.iod_size,
            buf: match self.payload {
                Payload::Owned(buf) => Some(buf),
                _ => None,
            },
        })
    }
}

/// The single value a fetch into a buffer found: `None` if nothing is there.
fn single_value(fetched: Fetched) -> Option<Vec<u8>> {
    let mut buf = fetched.buf?;
    if fetched.size == 0 {
        return None;
    }
    let len = usize::try_from(fetched.size).unwrap_or(usize::MAX);
    buf.truncate(len.min(buf.len()));
    Some(buf)
}

fn check_keys(method: &'static str, dkey: &[u8], akey: &[u8]) -> Result<()> {
    check_key(method, "dkey", dkey)?;
    check_key(method, "akey", akey)
}

/// Sizes `buf` to what `extents` cover, for a fetch.
fn sized_for(method: &'static str, extents: &Extents, mut buf: Vec<u8>) -> Result<Vec<u8>> {
    check_extents(method, extents)?;
    buf.resize(extents.byte_len()?, 0);
    Ok(buf)
}

fn check_extents(method: &'static str, extents: &Extents) -> Result<()> {
    if extents.recxs.is_empty() {
        return Err(Error::invalid(method, "no extents"));
    }
    if extents.record_size == 0 {
        return Err(Error::invalid(method, "a record size of 0"));
    }
    if extents.recxs.iter().any(|r| r.count == 0) {
        return Err(Error::invalid(method, "an extent of 0 records"));
    }
    Ok(())
}

/// Checks that `len` bytes are exactly what `extents` cover, for an update.
fn check_update_len(method: &'static str, extents: &Extents, len: usize) -> Result<()> {
    check_extents(method, extents)?;
    let needed = extents.byte_len()?;
    if needed != len {
        return Err(Error::invalid(
            method,
            format!("{len} bytes of data for extents of {needed} bytes"),
        ));
    }
    Ok(())
}

fn check_single(method: &'static str, value_len: usize) -> Result<()> {
    // An update with a record size of 0 is a punch in DAOS; say so instead of punching.
    if value_len == 0 {
        return Err(Error::invalid(
            method,
            "an empty single value (DAOS would punch the akey; use Object::punch_akeys)",
        ));
    }
    Ok(())
}

/// A single value fetched whole: size probe, then fetch into a buffer of that size, again if
/// the value grew in between (`-DER_REC2BIG`).
async fn fetch_single_steps(
    submitter: Option<Submitter>,
    obj: Object,
    tx: HeldTx,
    dkey: Vec<u8>,
    akey: Vec<u8>,
) -> Result<Option<Vec<u8>>> {
    let run = |op: ValueIo| {
        let submitter = submitter.clone();
        async move {
            match submitter {
                Some(s) => s.submit(op).await,
                None => run_blocking(op),
            }
        }
    };
    for _ in 0..LIST_RETRIES {
        let probe = run(ValueIo::new(&obj, tx.clone(), false, &dkey, &akey)).await?;
        if probe.size == 0 {
            return Ok(None);
        }
        let len = usize::try_from(probe.size).map_err(|_| {
            Error::raised(
                "Object::fetch_single",
                Der::Overflow,
                "the value does not fit in memory",
            )
        })?;
        let fetch = ValueIo::new(&obj, tx.clone(), false, &dkey, &akey)
            .single(probe.size)
            .payload(Payload::Owned(vec![0; len]));
        match run(fetch).await {
            Ok(fetched) => return Ok(single_value(fetched)),
            Err(e) if e.der() == Some(Der::Rec2big) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::raised(
        "Object::fetch_single",
        Der::Rec2big,
        "the value kept growing while it was fetched",
    ))
}

/// The value kind, by the probe `daos container clone` uses, then one extent listed to tell
/// an array from nothing.
async fn value_kind_steps(
    submitter: Option<Submitter>,
    obj: Object,
    tx: HeldTx,
    dkey: Vec<u8>,
    akey: Vec<u8>,
) -> Result<ValueKind> {
    let probe = ValueIo::new(&obj, tx.clone(), false, &dkey, &akey);
    let probed = match &submitter {
        Some(s) => s.submit(probe).await?,
        None => run_blocking(probe)?,
    };
    if probed.size != 0 {
        return Ok(ValueKind::Single { size: probed.size });
    }
    let list = super::keys::list_one_recx(&obj, tx, &dkey, &akey);
    let (extents, _) = match &submitter {
        Some(s) => s.submit(list).await?,
        None => run_blocking(list)?,
    };
    Ok(match extents.recxs.is_empty() {
        true => ValueKind::None,
        false => ValueKind::Array {
            record_size: extents.record_size,
        },
    })
}

/// Drives a future whose steps all run blocking (no submitter), so it is never pending, to
/// its end: the blocking and async forms share one sequence of steps.
fn run_now<T>(fut: impl Future<Output = T>) -> T {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// What a punch removes.
enum PunchTarget {
    Object,
    Dkey(KeyIov),
    Akeys {
        dkey: KeyIov,
        akeys: Vec<Vec<u8>>,
        iovs: SendPtr<Vec<daos_sys::d_iov_t>>,
    },
}

struct Punch {
    obj: Arc<ObjectInner>,
    tx: HeldTx,
    target: PunchTarget,
}

impl Punch {
    fn akeys(obj: &Object, tx: HeldTx, dkey: &[u8], akeys: &[&[u8]]) -> Punch {
        Punch {
            obj: obj.shared(),
            tx,
            target: PunchTarget::Akeys {
                dkey: KeyIov::new(dkey.to_vec()),
                akeys: akeys.iter().map(|a| a.to_vec()).collect(),
                iovs: SendPtr(Vec::new()),
            },
        }
    }

    fn c_name(&self) -> &'static str {
        match self.target {
            PunchTarget::Object => "daos_obj_punch",
            PunchTarget::Dkey(_) => "daos_obj_punch_dkeys",
            PunchTarget::Akeys { .. } => "daos_obj_punch_akeys",
        }
    }

    fn context(&self) -> String {
        match &self.target {
            PunchTarget::Object => self.obj.describe(),
            PunchTarget::Dkey(dkey) | PunchTarget::Akeys { dkey, .. } => {
                format!("dkey {:?} of {}", escape(dkey.bytes()), self.obj.describe())
            }
        }
    }
}

impl Operation for Punch {
    type Output = ();

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        let (oh, th, flags) = (self.obj.handle(), self.tx.raw(), self.tx.flags());
        match &mut self.target {
            // SAFETY: the object and transaction are open (held by this operation).
            PunchTarget::Object => unsafe { daos_sys::daos_obj_punch(oh, th, flags, ev) },
            // SAFETY: as above; the dkey belongs to this operation, which stays in place.
            PunchTarget::Dkey(dkey) => unsafe {
                daos_sys::daos_obj_punch_dkeys(oh, th, flags, 1, dkey.iov(), ev)
            },
            PunchTarget::Akeys { dkey, akeys, iovs } => {
                iovs.0 = akeys
                    .iter_mut()
                    .map(|a| {
                        let mut iov = daos_sys::d_iov_t::default();
                        daos_sys::d_iov_set(&mut iov, a.as_mut_ptr().cast(), a.len());
                        iov
                    })
                    .collect();
                // SAFETY: as above; the akeys and their iov array belong to this operation.
                unsafe {
                    daos_sys::daos_obj_punch_akeys(
                        oh,
                        th,
                        flags,
                        dkey.iov(),
                        iovs.0.len() as u32,
                        iovs.0.as_mut_ptr(),
                        ev,
                    )
                }
            }
        }
    }

    fn finish(self, rc: i32) -> Result<()> {
        check_rc(self.c_name(), rc).map_err(|e| e.with_context(self.context()))
    }
}

/// One `daos_obj_query_key` call with `DAOS_GET_MAX`.
struct QueryMax {
    obj: Arc<ObjectInner>,
    tx: HeldTx,
    flags: u64,
    /// The dkey asked about, or room for the one DAOS finds.
    dkey: KeyIov,
    akey: Option<KeyIov>,
    recx: daos_sys::daos_recx_t,
}

impl Operation for QueryMax {
    type Output = (Vec<u8>, Option<Recx>);

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        let akey = self.akey.as_mut().map_or(null_mut(), KeyIov::iov);
        let recx: *mut daos_sys::daos_recx_t = if self.flags & daos_sys::DAOS_GET_RECX as u64 != 0 {
            &mut self.recx
        } else {
            null_mut()
        };
        // SAFETY: the object and transaction are open (held); keys and extent belong to this
        // operation, which stays in place until it completes.
        unsafe {
            daos_sys::daos_obj_query_key(
                self.obj.handle(),
                self.tx.raw(),
                self.flags,
                self.dkey.iov(),
                akey,
                recx,
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<(Vec<u8>, Option<Recx>)> {
        check_rc("daos_obj_query_key", rc).map_err(|e| e.with_context(self.obj.describe()))?;
        let dkey = self.dkey.reported().to_vec();
        let recx = (self.recx.rx_nr != 0).then(|| Recx::from_raw(&self.recx));
        Ok((dkey, recx))
    }
}

/// One `daos_obj_query_max_epoch` call.
struct QueryMaxEpoch {
    obj: Arc<ObjectInner>,
    tx: HeldTx,
    epoch: daos_sys::daos_epoch_t,
}

impl Operation for QueryMaxEpoch {
    type Output = Epoch;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        // SAFETY: the object and transaction are open (held); `epoch` belongs to this
        // operation, which stays in place until it completes.
        unsafe {
            daos_sys::daos_obj_query_max_epoch(
                self.obj.handle(),
                self.tx.raw(),
                &mut self.epoch,
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<Epoch> {
        check_rc("daos_obj_query_max_epoch", rc)
            .map_err(|e| e.with_context(self.obj.describe()))?;
        Ok(Epoch(self.epoch))
    }
}

/// A not-found answer to a max query means there is nothing to find.
fn found<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.der() == Some(Der::Nonexist) => Ok(None),
        Err(e) => Err(e),
    }
}

fn integer_key(method: &'static str, key: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = key.try_into().map_err(|_| {
        Error::raised(
            method,
            Der::Inval,
            format!(
                "DAOS returned a {}-byte dkey where an 8-byte integer was asked for",
                key.len()
            ),
        )
    })?;
    Ok(u64::from_ne_bytes(bytes))
}

impl Object {
    fn query_max_op(
        &self,
        tx: &Tx<'_>,
        flags: u32,
        dkey: Vec<u8>,
        akey: Option<&[u8]>,
    ) -> QueryMax {
        QueryMax {
            obj: self.shared(),
            tx: tx.hold(),
            flags: (daos_sys::DAOS_GET_MAX | flags) as u64,
            dkey: KeyIov::new(dkey),
            akey: akey.map(|a| KeyIov::new(a.to_vec())),
            recx: daos_sys::daos_recx_t::default(),
        }
    }

    /// What kind of value `akey` under `dkey` holds, by the probe `daos container clone`
    /// uses: a single-value fetch of any size without a buffer gives a single value's size
    /// (or 0); then one extent is listed to tell an array from nothing.
    pub fn value_kind(&self, tx: Tx<'_>, dkey: &[u8], akey: &[u8]) -> Result<ValueKind> {
        check_keys("Object::value_kind", dkey, akey)?;
        run_now(value_kind_steps(
            None,
            self.clone(),
            tx.hold(),
            dkey.to_vec(),
            akey.to_vec(),
        ))
    }

    /// [`Object::value_kind`] through an event queue.
    pub fn value_kind_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
    ) -> impl Future<Output = Result<ValueKind>> + Send + 'static + use<> {
        let checked = check_keys("Object::value_kind_async", dkey, akey);
        let job = value_kind_steps(
            Some(eq.submitter()),
            self.clone(),
            tx.hold(),
            dkey.to_vec(),
            akey.to_vec(),
        );
        async move {
            checked?;
            job.await
        }
    }

    /// The single value of `akey` under `dkey`, `None` if there is none (`daos_obj_fetch`:
    /// a size probe, then a fetch into a buffer of that size). With [`Cond::DKEY_FETCH`](super::Cond::DKEY_FETCH) or
    /// [`Cond::AKEY_FETCH`](super::Cond::AKEY_FETCH) a missing key is `-DER_NONEXIST` instead.
    pub fn fetch_single(&self, tx: Tx<'_>, dkey: &[u8], akey: &[u8]) -> Result<Option<Vec<u8>>> {
        check_keys("Object::fetch_single", dkey, akey)?;
        run_now(fetch_single_steps(
            None,
            self.clone(),
            tx.hold(),
            dkey.to_vec(),
            akey.to_vec(),
        ))
    }

    /// [`Object::fetch_single`] through an event queue.
    pub fn fetch_single_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
    ) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send + 'static + use<> {
        let checked = check_keys("Object::fetch_single_async", dkey, akey);
        let job = fetch_single_steps(
            Some(eq.submitter()),
            self.clone(),
            tx.hold(),
            dkey.to_vec(),
            akey.to_vec(),
        );
        async move {
            checked?;
            job.await
        }
    }

    fn fetch_into_op(
        &self,
        method: &'static str,
        tx: &Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
        buf: Vec<u8>,
    ) -> Result<ValueIo> {
        check_keys(method, dkey, akey)?;
        if buf.is_empty() {
            return Err(Error::invalid(
                method,
                "an empty buffer (use Object::value_kind for the size)",
            ));
        }
        Ok(ValueIo::new(self, tx.hold(), false, dkey, akey)
            .single(buf.len() as u64)
            .payload(Payload::Owned(buf)))
    }

    /// Fetches the single value of `akey` under `dkey` into `buf`, whose length must be the
    /// value's size (from [`Object::value_kind`]), in one call, as `daos container clone`
    /// does. Gives the buffer back cut to the value, or `None` if there is no value. A value
    /// larger than the buffer fails with `-DER_REC2BIG`.
    pub fn fetch_single_into(
        &self,
        tx: Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
        buf: Vec<u8>,
    ) -> Result<Option<Vec<u8>>> {
        let op = self.fetch_into_op("Object::fetch_single_into", &tx, dkey, akey, buf)?;
        run_blocking(op).map(single_value)
    }

    /// [`Object::fetch_single_into`] through an event queue: one operation, the buffer owned
    /// by it until it completes.
    pub fn fetch_single_into_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
        buf: Vec<u8>,
    ) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send + 'static + use<> {
        let op = self.fetch_into_op("Object::fetch_single_into_async", &tx, dkey, akey, buf);
        let submitted = submit_or_fail(eq, op);
        async move { submitted.await.map(single_value) }
    }

    fn fetch_array_op(
        &self,
        method: &'static str,
        tx: &Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
        extents: &Extents,
        buf: Vec<u8>,
    ) -> Result<ValueIo> {
        check_keys(method, dkey, akey)?;
        let buf = sized_for(method, extents, buf)?;
        Ok(ValueIo::new(self, tx.hold(), false, dkey, akey)
            .array(extents)
            .payload(Payload::Owned(buf)))
    }

    /// Reads the records `extents` covers from the array value of `akey` under `dkey`
    /// (`daos_obj_fetch` with `DAOS_IOD_ARRAY`), packed extent after extent. Records that
    /// hold no data (holes, a missing key) read as zeros.
    pub fn fetch_array(
        &self,
        tx: Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
        extents: &Extents,
    ) -> Result<Vec<u8>> {
        self.fetch_array_into(tx, dkey, akey, extents, Vec::new())
    }

    /// [`Object::fetch_array`] into `buf`, resized to what the extents cover (a longer buffer
    /// is cut, so one can be reused). Holes keep the bytes `buf` had there.
    pub fn fetch_array_into(
        &self,
        tx: Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
        extents: &Extents,
        buf: Vec<u8>,
    ) -> Result<Vec<u8>> {
        let op = self.fetch_array_op("Object::fetch_array", &tx, dkey, akey, extents, buf)?;
        let fetched = run_blocking(op)?;
        Ok(fetched.buf.unwrap_or_default())
    }

    /// [`Object::fetch_array_into`] through an event queue: the operation owns `buf` (and
    /// copies of the keys and extents) until it completes, and gives it back filled.
    pub fn fetch_array_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
        extents: &Extents,
        buf: Vec<u8>,
    ) -> impl Future<Output = Result<Vec<u8>>> + Send + 'static + use<> {
        let op = self.fetch_array_op("Object::fetch_array_async", &tx, dkey, akey, extents, buf);
        let submitted = submit_or_fail(eq, op);
        async move { Ok(submitted.await?.buf.unwrap_or_default()) }
    }

    fn update_single_op(
        &self,
        method: &'static str,
        tx: &Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
        payload: Payload,
    ) -> Result<ValueIo> {
        check_keys(method, dkey, akey)?;
        let len = payload.len();
        check_single(method, len)?;
        Ok(ValueIo::new(self, tx.hold(), true, dkey, akey)
            .single(len as u64)
            .payload(payload))
    }

    /// Stores `value` as the single value of `akey` under `dkey` (`daos_obj_update` with
    /// `DAOS_IOD_SINGLE`), replacing what was there. An empty value is refused
    /// (`-DER_INVAL`): DAOS would take it as a punch. Through a read-only object or
    /// transaction: `-DER_NO_PERM`.
    pub fn update_single(&self, tx: Tx<'_>, dkey: &[u8], akey: &[u8], value: &[u8]) -> Result<()> {
        let payload = Payload::Borrowed(SendPtr(value.as_ptr()), value.len());
        let op = self.update_single_op("Object::update_single", &tx, dkey, akey, payload)?;
        run_blocking(op).map(drop)
    }

    /// [`Object::update_single`] through an event queue: the operation owns `value` until it
    /// completes and gives it back, for reuse.
    pub fn update_single_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
        value: Vec<u8>,
    ) -> impl Future<Output = Result<Vec<u8>>> + Send + 'static + use<> {
        let op = self.update_single_op(
            "Object::update_single_async",
            &tx,
            dkey,
            akey,
            Payload::Owned(value),
        );
        let submitted = submit_or_fail(eq, op);
        async move { Ok(submitted.await?.buf.unwrap_or_default()) }
    }

    fn update_array_op(
        &self,
        method: &'static str,
        tx: &Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
        extents: &Extents,
        payload: Payload,
    ) -> Result<ValueIo> {
        check_keys(method, dkey, akey)?;
        check_update_len(method, extents, payload.len())?;
        Ok(ValueIo::new(self, tx.hold(), true, dkey, akey)
            .array(extents)
            .payload(payload))
    }

    /// Writes `data` into the records `extents` covers of the array value of `akey` under
    /// `dkey` (`daos_obj_update` with `DAOS_IOD_ARRAY`), packed extent after extent: `data`
    /// must be exactly [`Extents::byte_len`] bytes (`-DER_INVAL` otherwise).
    pub fn update_array(
        &self,
        tx: Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
        extents: &Extents,
        data: &[u8],
    ) -> Result<()> {
        let payload = Payload::Borrowed(SendPtr(data.as_ptr()), data.len());
        let op = self.update_array_op("Object::update_array", &tx, dkey, akey, extents, payload)?;
        run_blocking(op).map(drop)
    }

    /// [`Object::update_array`] through an event queue: the operation owns `data` until it
    /// completes and gives it back, for reuse.
    pub fn update_array_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
        extents: &Extents,
        data: Vec<u8>,
    ) -> impl Future<Output = Result<Vec<u8>>> + Send + 'static + use<> {
        let op = self.update_array_op(
            "Object::update_array_async",
            &tx,
            dkey,
            akey,
            extents,
            Payload::Owned(data),
        );
        let submitted = submit_or_fail(eq, op);
        async move { Ok(submitted.await?.buf.unwrap_or_default()) }
    }

    fn punch_op(&self, tx: &Tx<'_>) -> Punch {
        Punch {
            obj: self.shared(),
            tx: tx.hold(),
            target: PunchTarget::Object,
        }
    }

    /// Removes everything the object holds (`daos_obj_punch`).
    pub fn punch(&self, tx: Tx<'_>) -> Result<()> {
        run_blocking(self.punch_op(&tx))
    }

    /// [`Object::punch`] through an event queue.
    pub fn punch_async(&self, eq: &EventQueue, tx: Tx<'_>) -> OpFuture<()> {
        eq.submit(self.punch_op(&tx))
    }

    fn punch_dkey_ops(
        &self,
        method: &'static str,
        tx: &Tx<'_>,
        dkeys: &[&[u8]],
    ) -> Result<Vec<Punch>> {
        if dkeys.is_empty() {
            return Err(Error::invalid(method, "no dkeys"));
        }
        // libdaos punches one dkey per call (daos_obj_punch_dkeys refuses nr != 1 with
        // -DER_INVAL, src/client/api/object.c), so each dkey gets its own operation.
        dkeys
            .iter()
            .map(|dkey| {
                check_key(method, "dkey", dkey)?;
                Ok(Punch {
                    obj: self.shared(),
                    tx: tx.hold(),
                    target: PunchTarget::Dkey(KeyIov::new(dkey.to_vec())),
                })
            })
            .collect()
    }

    /// Removes the dkeys and everything under them (`daos_obj_punch_dkeys`, one call per
    /// dkey, stopping at the first failure). With [`Cond::PUNCH`](super::Cond::PUNCH) a missing dkey
    /// is `-DER_NONEXIST`.
    pub fn punch_dkeys(&self, tx: Tx<'_>, dkeys: &[&[u8]]) -> Result<()> {
        for op in self.punch_dkey_ops("Object::punch_dkeys", &tx, dkeys)? {
            run_blocking(op)?;
        }
        Ok(())
    }

    /// [`Object::punch_dkeys`] through an event queue: all dkeys are punched concurrently;
    /// the first failure (in `dkeys` order) is returned once all have completed.
    pub fn punch_dkeys_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        dkeys: &[&[u8]],
    ) -> impl Future<Output = Result<()>> + Send + 'static + use<> {
        let submitted: Result<Vec<OpFuture<()>>> = self
            .punch_dkey_ops("Object::punch_dkeys_async", &tx, dkeys)
            .map(|ops| ops.into_iter().map(|op| eq.submit(op)).collect());
        async move {
            let mut first_error = None;
            for pending in submitted? {
                if let Err(e) = pending.await {
                    first_error.get_or_insert(e);
                }
            }
            first_error.map_or(Ok(()), Err)
        }
    }

    fn punch_akeys_op(
        &self,
        method: &'static str,
        tx: &Tx<'_>,
        dkey: &[u8],
        akeys: &[&[u8]],
    ) -> Result<Punch> {
        check_key(method, "dkey", dkey)?;
        if akeys.is_empty() {
            return Err(Error::invalid(method, "no akeys"));
        }
        for akey in akeys {
            check_key(method, "akey", akey)?;
        }
        Ok(Punch::akeys(self, tx.hold(), dkey, akeys))
    }

    /// Removes the akeys of `dkey` and their values (`daos_obj_punch_akeys`, one call).
    pub fn punch_akeys(&self, tx: Tx<'_>, dkey: &[u8], akeys: &[&[u8]]) -> Result<()> {
        run_blocking(self.punch_akeys_op("Object::punch_akeys", &tx, dkey, akeys)?)
    }

    /// [`Object::punch_akeys`] through an event queue.
    pub fn punch_akeys_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        dkey: &[u8],
        akeys: &[&[u8]],
    ) -> OpFuture<()> {
        let op = self.punch_akeys_op("Object::punch_akeys_async", &tx, dkey, akeys);
        submit_or_fail(eq, op)
    }

    /// The highest dkey of an object with integer dkeys and the highest extent of `akey`
    /// under it (`daos_obj_query_key` with `DAOS_GET_MAX | DAOS_GET_DKEY | DAOS_GET_RECX`,
    /// how DAOS arrays find their size). `None` for an object without dkeys. libdaos refuses
    /// objects whose dkeys are not integers ([`ObjectType::has_integer_dkeys`](super::ObjectType::has_integer_dkeys))
    /// with `-DER_INVAL`.
    pub fn query_max(&self, tx: Tx<'_>, akey: &[u8]) -> Result<Option<MaxRecord>> {
        let op = self.query_max_record_op("Object::query_max", &tx, akey)?;
        found(run_blocking(op)).and_then(|r| r.map(max_record).transpose())
    }

    fn query_max_record_op(
        &self,
        method: &'static str,
        tx: &Tx<'_>,
        akey: &[u8],
    ) -> Result<QueryMax> {
        check_key(method, "akey", akey)?;
        let flags = daos_sys::DAOS_GET_DKEY | daos_sys::DAOS_GET_RECX;
        Ok(self.query_max_op(tx, flags, vec![0; 8], Some(akey)))
    }

    /// [`Object::query_max`] through an event queue.
    pub fn query_max_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        akey: &[u8],
    ) -> impl Future<Output = Result<Option<MaxRecord>>> + Send + 'static + use<> {
        let op = self.query_max_record_op("Object::query_max_async", &tx, akey);
        let submitted = submit_or_fail(eq, op);
        async move { found(submitted.await).and_then(|r| r.map(max_record).transpose()) }
    }

    fn max_epoch_op(&self, tx: &Tx<'_>) -> QueryMaxEpoch {
        QueryMaxEpoch {
            obj: self.shared(),
            tx: tx.hold(),
            epoch: 0,
        }
    }

    /// The highest epoch at which the object was updated, as `tx` sees it
    /// (`daos_obj_query_max_epoch`); libdfs takes a file's or directory's modification time
    /// from it. An object never written gives epoch 0.
    pub fn max_epoch(&self, tx: Tx<'_>) -> Result<Epoch> {
        run_blocking(self.max_epoch_op(&tx))
    }

    /// [`Object::max_epoch`] through an event queue.
    pub fn max_epoch_async(&self, eq: &EventQueue, tx: Tx<'_>) -> OpFuture<Epoch> {
        eq.submit(self.max_epoch_op(&tx))
    }

    /// The highest dkey of an object with integer dkeys (`daos_obj_query_key` with
    /// `DAOS_GET_MAX | DAOS_GET_DKEY`); `None` for an object without dkeys.
    pub fn max_dkey(&self, tx: Tx<'_>) -> Result<Option<u64>> {
        let op = self.query_max_op(&tx, daos_sys::DAOS_GET_DKEY, vec![0; 8], None);
        found(run_blocking(op)).and_then(|r| {
            r.map(|(dkey, _)| integer_key("Object::max_dkey", &dkey))
                .transpose()
        })
    }

    /// [`Object::max_dkey`] through an event queue.
    pub fn max_dkey_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
    ) -> impl Future<Output = Result<Option<u64>>> + Send + 'static + use<> {
        let submitted =
            eq.submit(self.query_max_op(&tx, daos_sys::DAOS_GET_DKEY, vec![0; 8], None));
        async move {
            found(submitted.await).and_then(|r| {
                r.map(|(dkey, _)| integer_key("Object::max_dkey_async", &dkey))
                    .transpose()
            })
        }
    }

    fn max_recx_op(
        &self,
        method: &'static str,
        tx: &Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
    ) -> Result<QueryMax> {
        check_keys(method, dkey, akey)?;
        Ok(self.query_max_op(tx, daos_sys::DAOS_GET_RECX, dkey.to_vec(), Some(akey)))
    }

    /// The extent with the highest index of the array value of `akey` under `dkey`
    /// (`daos_obj_query_key` with `DAOS_GET_MAX | DAOS_GET_RECX`); `None` when it holds no
    /// array records.
    pub fn max_recx(&self, tx: Tx<'_>, dkey: &[u8], akey: &[u8]) -> Result<Option<Recx>> {
        let op = self.max_recx_op("Object::max_recx", &tx, dkey, akey)?;
        Ok(found(run_blocking(op))?.and_then(|(_, recx)| recx))
    }

    /// [`Object::max_recx`] through an event queue.
    pub fn max_recx_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
    ) -> impl Future<Output = Result<Option<Recx>>> + Send + 'static + use<> {
        let op = self.max_recx_op("Object::max_recx_async", &tx, dkey, akey);
        let submitted = submit_or_fail(eq, op);
        async move { Ok(found(submitted.await)?.and_then(|(_, recx)| recx)) }
    }
}

fn max_record((dkey, recx): (Vec<u8>, Option<Recx>)) -> Result<MaxRecord> {
    Ok(MaxRecord {
        dkey: integer_key("Object::query_max", &dkey)?,
        recx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(size: u64, buf: Option<Vec<u8>>) -> Fetched {
        Fetched { size, buf }
    }

    #[test]
    fn a_single_value_is_cut_to_the_reported_size() {
        assert_eq!(
            single_value(fetched(3, Some(b"abcdef".to_vec()))),
            Some(b"abc".to_vec())
        );
        assert_eq!(single_value(fetched(0, Some(b"abc".to_vec()))), None);
        assert_eq!(
            single_value(fetched(9, Some(b"abc".to_vec()))),
            Some(b"abc".to_vec())
        );
        assert_eq!(single_value(fetched(3, None)), None);
    }

    #[test]
    fn array_buffers_are_sized_to_the_extents() {
        let e = Extents::new(2, vec![Recx::new(0, 2), Recx::new(8, 1)]);
        assert_eq!(sized_for("t", &e, Vec::new()).unwrap(), vec![0; 6]);
        assert_eq!(sized_for("t", &e, vec![9; 100]).unwrap(), vec![9; 6]);
        assert!(check_update_len("t", &e, 6).is_ok());
        for len in [5, 7, 0] {
            let err = check_update_len("t", &e, len).unwrap_err();
            assert!(err.is_invalid() && !err.is_from_daos(), "{len}: {err}");
        }
        for bad in [
            Extents::new(2, vec![]),
            Extents::new(0, vec![Recx::new(0, 1)]),
            Extents::new(1, vec![Recx::new(0, 1), Recx::new(5, 0)]),
        ] {
            assert!(
                sized_for("t", &bad, Vec::new()).unwrap_err().is_invalid(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn empty_single_values_are_refused() {
        assert!(check_single("t", 0).unwrap_err().is_invalid());
        assert!(check_single("t", 1).is_ok());
    }

    #[test]
    fn max_queries_read_nonexist_as_nothing() {
        assert_eq!(found(Ok(1)).unwrap(), Some(1));
        assert_eq!(
            found::<u8>(Err(Error::from_der("x", Der::Nonexist))).unwrap(),
            None
        );
        assert!(found::<u8>(Err(Error::from_der("x", Der::Inval))).is_err());
        assert_eq!(integer_key("t", &7u64.to_ne_bytes()).unwrap(), 7);
        assert!(integer_key("t", b"abc").is_err());
    }
}
