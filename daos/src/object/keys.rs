//! Enumeration of an object's dkeys, akeys and array extents (`daos_obj_list_dkey`,
//! `daos_obj_list_akey`, `daos_obj_list_recx`).

use std::sync::Arc;

use super::{Anchor, Extents, KeyIov, Object, ObjectInner, OneSgl, Recx, check_key};
use crate::eq::{EventQueue, OpFuture, Operation, Submitter, run_blocking};
use crate::error::{Der, Error, Result, check_rc};
use crate::pool::LIST_RETRIES;
use crate::tx::{HeldTx, Tx};

/// Keys asked for per batch by the methods that list everything.
pub const DEFAULT_KEY_BATCH: u32 = 256;

/// Extents asked for per batch by [`Object::list_recxs`].
pub const DEFAULT_RECX_BATCH: u32 = 256;

/// Key buffer bytes per key asked for: most keys are short; a longer one makes libdaos say
/// how much it needs (`-DER_KEY2BIG`) and the buffer grows.
const KEY_BYTES_GUESS: usize = 32;

/// One `daos_obj_list_dkey` / `daos_obj_list_akey` call.
struct ListKeys {
    obj: Arc<ObjectInner>,
    tx: HeldTx,
    /// The dkey whose akeys are listed; `None` lists dkeys.
    dkey: Option<KeyIov>,
    nr: u32,
    kds: Vec<daos_sys::daos_key_desc_t>,
    buf: Vec<u8>,
    sgl: OneSgl,
    anchor: Anchor,
}

/// What one listing call gave.
enum Listed {
    /// A batch of keys (maybe empty), and where the listing now stands.
    Keys(Vec<Vec<u8>>, Anchor),
    /// The first key needs this many bytes of buffer (`-DER_KEY2BIG`); the anchor as libdaos
    /// left it, to ask again with.
    TooBig(usize, Anchor),
}

impl ListKeys {
    fn new(
        obj: &Object,
        tx: HeldTx,
        dkey: Option<&[u8]>,
        anchor: Anchor,
        max: u32,
        buf_len: usize,
    ) -> ListKeys {
        ListKeys {
            obj: obj.shared(),
            tx,
            dkey: dkey.map(|d| KeyIov::new(d.to_vec())),
            nr: max,
            kds: vec![daos_sys::daos_key_desc_t::default(); max as usize],
            buf: vec![0; buf_len],
            sgl: OneSgl::new(),
            anchor,
        }
    }

    fn c_name(&self) -> &'static str {
        match self.dkey {
            Some(_) => "daos_obj_list_akey",
            None => "daos_obj_list_dkey",
        }
    }

    fn context(&self) -> String {
        match &self.dkey {
            Some(dkey) => format!("dkey {:?} of {}", escape(dkey.bytes()), self.obj.describe()),
            None => self.obj.describe(),
        }
    }
}

impl Operation for ListKeys {
    type Output = Listed;

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        self.nr = self.kds.len() as u32;
        let sgl = self.sgl.point_at(self.buf.as_mut_ptr(), self.buf.len());
        let (oh, th) = (self.obj.handle(), self.tx.raw());
        match &mut self.dkey {
            // SAFETY: the object and transaction are open (held); count, descriptors, buffer,
            // list, dkey and anchor belong to this operation, which stays in place.
            Some(dkey) => unsafe {
                daos_sys::daos_obj_list_akey(
                    oh,
                    th,
                    dkey.iov(),
                    &mut self.nr,
                    self.kds.as_mut_ptr(),
                    sgl,
                    &mut self.anchor.0,
                    ev,
                )
            },
            // SAFETY: as above.
            None => unsafe {
                daos_sys::daos_obj_list_dkey(
                    oh,
                    th,
                    &mut self.nr,
                    self.kds.as_mut_ptr(),
                    sgl,
                    &mut self.anchor.0,
                    ev,
                )
            },
        }
    }

    fn finish(self, rc: i32) -> Result<Listed> {
        if rc == Der::Key2big.rc() {
            let needed = self.kds.first().map_or(0, |kd| kd.kd_key_len as usize);
            return Ok(Listed::TooBig(needed, self.anchor));
        }
        check_rc(self.c_name(), rc).map_err(|e| e.with_context(self.context()))?;
        let count = (self.nr as usize).min(self.kds.len());
        let mut keys = Vec::with_capacity(count);
        let mut at = 0usize;
        for kd in &self.kds[..count] {
            let len = usize::try_from(kd.kd_key_len).unwrap_or(usize::MAX);
            let key = at
                .checked_add(len)
                .and_then(|end| self.buf.get(at..end))
                .ok_or_else(|| {
                    Error::raised(
                        self.c_name(),
                        Der::Trunc,
                        format!("{}: key lengths overrun the key buffer", self.context()),
                    )
                })?;
            keys.push(key.to_vec());
            at += len;
        }
        Ok(Listed::Keys(keys, self.anchor))
    }
}

/// The buffer to ask again with after `-DER_KEY2BIG` said `needed` bytes (libdaos advises
/// two or three times that, so more than the one long key fit).
fn grown(current: usize, needed: usize, method: &'static str) -> Result<usize> {
    if needed == 0 {
        return Err(Error::raised(
            method,
            Der::Key2big,
            "libdaos reported -DER_KEY2BIG without the size it needs",
        ));
    }
    Ok(needed.saturating_mul(2).max(current.saturating_mul(2)))
}

fn check_max(method: &'static str, max: u32) -> Result<()> {
    if max == 0 {
        return Err(Error::invalid(method, "a batch of 0 entries"));
    }
    Ok(())
}

/// Lists one batch of keys, blocking; grows the buffer on `-DER_KEY2BIG`.
fn key_batch(
    method: &'static str,
    obj: &Object,
    tx: &HeldTx,
    dkey: Option<&[u8]>,
    anchor: &mut Anchor,
    max: u32,
) -> Result<Vec<Vec<u8>>> {
    check_max(method, max)?;
    let mut buf_len = max as usize * KEY_BYTES_GUESS;
    for _ in 0..LIST_RETRIES {
        let op = ListKeys::new(obj, tx.clone(), dkey, *anchor, max, buf_len);
        match run_blocking(op)? {
            Listed::Keys(keys, next) => {
                *anchor = next;
                return Ok(keys);
            }
            Listed::TooBig(needed, next) => {
                *anchor = next;
                buf_len = grown(buf_len, needed, method)?;
            }
        }
    }
    Err(key_retry_error(method))
}

fn key_retry_error(method: &'static str) -> Error {
    Error::raised(
        method,
        Der::Key2big,
        "keys kept growing past the buffer libdaos asked for",
    )
}

/// One batch of keys through an event queue; grows the buffer on `-DER_KEY2BIG`.
async fn key_batch_async(
    method: &'static str,
    submitter: Submitter,
    obj: Object,
    tx: HeldTx,
    dkey: Option<Vec<u8>>,
    mut anchor: Anchor,
    max: u32,
) -> Result<(Vec<Vec<u8>>, Anchor)> {
    check_max(method, max)?;
    let mut buf_len = max as usize * KEY_BYTES_GUESS;
    for _ in 0..LIST_RETRIES {
        let op = ListKeys::new(&obj, tx.clone(), dkey.as_deref(), anchor, max, buf_len);
        match submitter.submit(op).await? {
            Listed::Keys(keys, next) => return Ok((keys, next)),
            Listed::TooBig(needed, next) => {
                anchor = next;
                buf_len = grown(buf_len, needed, method)?;
            }
        }
    }
    Err(key_retry_error(method))
}

/// Every key, blocking.
fn all_keys(
    method: &'static str,
    obj: &Object,
    tx: &HeldTx,
    dkey: Option<&[u8]>,
) -> Result<Vec<Vec<u8>>> {
    let mut anchor = Anchor::new();
    let mut keys = Vec::new();
    while !anchor.is_done() {
        keys.extend(key_batch(
            method,
            obj,
            tx,
            dkey,
            &mut anchor,
            DEFAULT_KEY_BATCH,
        )?);
    }
    Ok(keys)
}

/// Every key through an event queue.
async fn all_keys_async(
    method: &'static str,
    submitter: Submitter,
    obj: Object,
    tx: HeldTx,
    dkey: Option<Vec<u8>>,
) -> Result<Vec<Vec<u8>>> {
    let mut anchor = Anchor::new();
    let mut keys = Vec::new();
    while !anchor.is_done() {
        let (batch, next) = key_batch_async(
            method,
            submitter.clone(),
            obj.clone(),
            tx.clone(),
            dkey.clone(),
            anchor,
            DEFAULT_KEY_BATCH,
        )
        .await?;
        keys.extend(batch);
        anchor = next;
    }
    Ok(keys)
}

/// One `daos_obj_list_recx` call.
pub(super) struct ListRecx {
    obj: Arc<ObjectInner>,
    tx: HeldTx,
    dkey: KeyIov,
    akey: KeyIov,
    size: daos_sys::daos_size_t,
    nr: u32,
    recxs: Vec<daos_sys::daos_recx_t>,
    eprs: Vec<daos_sys::daos_epoch_range_t>,
    anchor: Anchor,
}

impl ListRecx {
    fn new(
        obj: &Object,
        tx: HeldTx,
        dkey: &[u8],
        akey: &[u8],
        anchor: Anchor,
        max: u32,
    ) -> ListRecx {
        ListRecx {
            obj: obj.shared(),
            tx,
            dkey: KeyIov::new(dkey.to_vec()),
            akey: KeyIov::new(akey.to_vec()),
            size: 0,
            nr: max,
            recxs: vec![daos_sys::daos_recx_t::default(); max as usize],
            eprs: vec![daos_sys::daos_epoch_range_t::default(); max as usize],
            anchor,
        }
    }
}

impl Operation for ListRecx {
    type Output = (Extents, Anchor);

    unsafe fn launch(&mut self, ev: *mut daos_sys::daos_event_t) -> i32 {
        self.nr = self.recxs.len() as u32;
        // SAFETY: the object and transaction are open (held); keys, size, count, extent and
        // epoch arrays (`nr` entries each) and anchor belong to this operation.
        unsafe {
            daos_sys::daos_obj_list_recx(
                self.obj.handle(),
                self.tx.raw(),
                self.dkey.iov(),
                self.akey.iov(),
                &mut self.size,
                &mut self.nr,
                self.recxs.as_mut_ptr(),
                self.eprs.as_mut_ptr(),
                &mut self.anchor.0,
                true,
                ev,
            )
        }
    }

    fn finish(self, rc: i32) -> Result<(Extents, Anchor)> {
        check_rc("daos_obj_list_recx", rc).map_err(|e| {
            e.with_context(format!(
                "dkey {:?} akey {:?} of {}",
                escape(self.dkey.bytes()),
                escape(self.akey.bytes()),
                self.obj.describe()
            ))
        })?;
        let count = (self.nr as usize).min(self.recxs.len());
        let recxs: Vec<Recx> = self.recxs[..count].iter().map(Recx::from_raw).collect();
        let record_size = if recxs.is_empty() { 0 } else { self.size };
        Ok((Extents::new(record_size, recxs), self.anchor))
    }
}

/// Lists the first extent only: enough to know whether an array value exists.
pub(super) fn list_one_recx(obj: &Object, tx: HeldTx, dkey: &[u8], akey: &[u8]) -> ListRecx {
    ListRecx::new(obj, tx, dkey, akey, Anchor::new(), 1)
}

fn check_keys(method: &'static str, dkey: &[u8], akey: &[u8]) -> Result<()> {
    check_key(method, "dkey", dkey)?;
    check_key(method, "akey", akey)
}

/// Appends a batch to what was listed so far; the record size is that of any batch that has
/// extents.
fn merge(all: &mut Extents, batch: Extents) {
    if batch.record_size != 0 {
        all.record_size = batch.record_size;
    }
    all.recxs.extend(batch.recxs);
}

/// Bytes of a key shown in an error message; the rest is only counted.
const SHOWN_KEY_BYTES: usize = 64;

/// A key for error messages: text as is, other bytes escaped, a long key cut short.
pub(crate) fn escape(key: &[u8]) -> String {
    let shown = &key[..key.len().min(SHOWN_KEY_BYTES)];
    let mut text = shown.escape_ascii().to_string();
    if key.len() > shown.len() {
        text.push_str(&format!("... ({} bytes)", key.len()));
    }
    text
}

impl Object {
    /// Lists up to `max` dkeys from where `anchor` stands (`daos_obj_list_dkey`) and advances
    /// it. The batch may be empty before the end; the listing is over when
    /// [`Anchor::is_done`]. Keys longer than the buffer are handled (see the
    /// [module documentation](super)).
    pub fn list_dkeys_batch(
        &self,
        tx: Tx<'_>,
        anchor: &mut Anchor,
        max: u32,
    ) -> Result<Vec<Vec<u8>>> {
        key_batch(
            "Object::list_dkeys_batch",
            self,
            &tx.hold(),
            None,
            anchor,
            max,
        )
    }

    /// Every dkey of the object, in the order DAOS lists them.
    pub fn list_dkeys(&self, tx: Tx<'_>) -> Result<Vec<Vec<u8>>> {
        all_keys("Object::list_dkeys", self, &tx.hold(), None)
    }

    /// [`Object::list_dkeys_batch`] through an event queue: takes the anchor and gives back
    /// the batch with the advanced anchor.
    pub fn list_dkeys_batch_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        anchor: Anchor,
        max: u32,
    ) -> impl Future<Output = Result<(Vec<Vec<u8>>, Anchor)>> + Send + 'static + use<> {
        key_batch_async(
            "Object::list_dkeys_batch_async",
            eq.submitter(),
            self.clone(),
            tx.hold(),
            None,
            anchor,
            max,
        )
    }

    /// [`Object::list_dkeys`] through an event queue.
    pub fn list_dkeys_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
    ) -> impl Future<Output = Result<Vec<Vec<u8>>>> + Send + 'static + use<> {
        all_keys_async(
            "Object::list_dkeys_async",
            eq.submitter(),
            self.clone(),
            tx.hold(),
            None,
        )
    }

    /// Lists up to `max` akeys of `dkey` from where `anchor` stands (`daos_obj_list_akey`);
    /// see [`Object::list_dkeys_batch`]. A dkey that does not exist has no akeys.
    pub fn list_akeys_batch(
        &self,
        tx: Tx<'_>,
        dkey: &[u8],
        anchor: &mut Anchor,
        max: u32,
    ) -> Result<Vec<Vec<u8>>> {
        const METHOD: &str = "Object::list_akeys_batch";
        check_key(METHOD, "dkey", dkey)?;
        key_batch(METHOD, self, &tx.hold(), Some(dkey), anchor, max)
    }

    /// Every akey of `dkey`.
    pub fn list_akeys(&self, tx: Tx<'_>, dkey: &[u8]) -> Result<Vec<Vec<u8>>> {
        const METHOD: &str = "Object::list_akeys";
        check_key(METHOD, "dkey", dkey)?;
        all_keys(METHOD, self, &tx.hold(), Some(dkey))
    }

    /// [`Object::list_akeys_batch`] through an event queue.
    pub fn list_akeys_batch_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        dkey: &[u8],
        anchor: Anchor,
        max: u32,
    ) -> impl Future<Output = Result<(Vec<Vec<u8>>, Anchor)>> + Send + 'static + use<> {
        const METHOD: &str = "Object::list_akeys_batch_async";
        let checked = check_key(METHOD, "dkey", dkey);
        let job = key_batch_async(
            METHOD,
            eq.submitter(),
            self.clone(),
            tx.hold(),
            Some(dkey.to_vec()),
            anchor,
            max,
        );
        async move {
            checked?;
            job.await
        }
    }

    /// [`Object::list_akeys`] through an event queue.
    pub fn list_akeys_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        dkey: &[u8],
    ) -> impl Future<Output = Result<Vec<Vec<u8>>>> + Send + 'static + use<> {
        const METHOD: &str = "Object::list_akeys_async";
        let checked = check_key(METHOD, "dkey", dkey);
        let job = all_keys_async(
            METHOD,
            eq.submitter(),
            self.clone(),
            tx.hold(),
            Some(dkey.to_vec()),
        );
        async move {
            checked?;
            job.await
        }
    }

    /// Lists up to `max` extents of the array value under `dkey`/`akey` that hold data, in
    /// increasing index order, from where `anchor` stands (`daos_obj_list_recx`), with the
    /// record size. A missing key or a single value has no extents.
    pub fn list_recxs_batch(
        &self,
        tx: Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
        anchor: &mut Anchor,
        max: u32,
    ) -> Result<Extents> {
        const METHOD: &str = "Object::list_recxs_batch";
        check_keys(METHOD, dkey, akey)?;
        check_max(METHOD, max)?;
        let (extents, next) =
            run_blocking(ListRecx::new(self, tx.hold(), dkey, akey, *anchor, max))?;
        *anchor = next;
        Ok(extents)
    }

    /// Every extent of the array value under `dkey`/`akey`, with the record size.
    pub fn list_recxs(&self, tx: Tx<'_>, dkey: &[u8], akey: &[u8]) -> Result<Extents> {
        const METHOD: &str = "Object::list_recxs";
        check_keys(METHOD, dkey, akey)?;
        let held = tx.hold();
        let mut anchor = Anchor::new();
        let mut all = Extents::default();
        while !anchor.is_done() {
            let op = ListRecx::new(self, held.clone(), dkey, akey, anchor, DEFAULT_RECX_BATCH);
            let (batch, next) = run_blocking(op)?;
            merge(&mut all, batch);
            anchor = next;
        }
        Ok(all)
    }

    /// [`Object::list_recxs_batch`] through an event queue: takes the anchor and gives it
    /// back advanced.
    pub fn list_recxs_batch_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
        anchor: Anchor,
        max: u32,
    ) -> OpFuture<(Extents, Anchor)> {
        const METHOD: &str = "Object::list_recxs_batch_async";
        if let Err(e) = check_keys(METHOD, dkey, akey).and_then(|()| check_max(METHOD, max)) {
            return OpFuture::ready(Err(e));
        }
        eq.submit(ListRecx::new(self, tx.hold(), dkey, akey, anchor, max))
    }

    /// [`Object::list_recxs`] through an event queue.
    pub fn list_recxs_async(
        &self,
        eq: &EventQueue,
        tx: Tx<'_>,
        dkey: &[u8],
        akey: &[u8],
    ) -> impl Future<Output = Result<Extents>> + Send + 'static + use<> {
        let checked = check_keys("Object::list_recxs_async", dkey, akey);
        let (submitter, obj, held) = (eq.submitter(), self.clone(), tx.hold());
        let (dkey, akey) = (dkey.to_vec(), akey.to_vec());
        async move {
            checked?;
            let mut anchor = Anchor::new();
            let mut all = Extents::default();
            while !anchor.is_done() {
                let op =
                    ListRecx::new(&obj, held.clone(), &dkey, &akey, anchor, DEFAULT_RECX_BATCH);
                let (batch, next) = submitter.submit(op).await?;
                merge(&mut all, batch);
                anchor = next;
            }
            Ok(all)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key2big_growth() {
        assert_eq!(grown(4096, 10_000, "t").unwrap(), 20_000);
        assert_eq!(grown(4096, 100, "t").unwrap(), 8192);
        assert_eq!(grown(4096, 0, "t").unwrap_err().der(), Some(Der::Key2big));
    }

    #[test]
    fn keys_escape_for_messages() {
        assert_eq!(escape(b"a\x00b"), "a\\x00b");
        assert_eq!(escape(b"plain"), "plain");
        let long = escape(&[b'k'; 5000]);
        assert_eq!(long, format!("{}... (5000 bytes)", "k".repeat(64)));
    }
}
