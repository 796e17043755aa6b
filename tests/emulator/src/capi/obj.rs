//! Object, object index table (OIT), OID allocation and transaction calls
//! (`src/client/api/object.c`, `tx.c`, `container.c`; semantics in `crate::objects`).
//!
//! Arguments are read when the call is made; results are written when the operation
//! completes (the buffers stay valid until then, as DAOS requires).

use std::ffi::{c_char, c_int, c_uint};

use super::{daos_guard, put, put_result, run_daos};
use crate::client;
use crate::der::{Der, DerResult};
use crate::events::SendPtr;
use crate::ffi::{
    d_iov_t, d_sg_list_t, daos_anchor_t, daos_epoch_range_t, daos_epoch_t, daos_event_t,
    daos_handle_t, daos_iod_t, daos_iom_t, daos_key_desc_t, daos_key_t, daos_obj_id_t,
    daos_oclass_hints_t, daos_oclass_id_t, daos_otype_t, daos_recx_t, daos_size_t,
};
use crate::objects::{self, FetchIod, Oid, UpdateIod, UpdateValue, Write};

/// `DAOS_IOD_SINGLE`.
const IOD_SINGLE: u32 = 1;
/// `DAOS_IOD_ARRAY`.
const IOD_ARRAY: u32 = 2;
/// `DAOS_ANCHOR_TYPE_HKEY`: an enumeration under way (position in `da_buf`).
const ANCHOR_HKEY: u16 = 1;
/// `DAOS_ANCHOR_TYPE_EOF`.
const ANCHOR_EOF: u16 = 3;

fn rc(r: DerResult<()>) -> c_int {
    r.err().map(|e| e.0).unwrap_or(0)
}

fn cont_pools(coh: u64) -> Vec<String> {
    client::cont_handle(coh)
        .map(|h| h.pool.ids())
        .unwrap_or_default()
}

fn tx_pools(th: u64) -> Vec<String> {
    objects::tx_handle(th)
        .map(|t| t.cont.pool.ids())
        .unwrap_or_default()
}

/// The bytes of a key; `None` for a NULL key.
///
/// # Safety
/// `k` is NULL or a valid iov whose buffer holds `iov_len` bytes.
unsafe fn key(k: *const daos_key_t) -> Option<Vec<u8>> {
    if k.is_null() {
        return None;
    }
    // SAFETY: per the function contract.
    let k = unsafe { &*k };
    if k.iov_buf.is_null() || k.iov_len == 0 {
        return Some(Vec::new());
    }
    // SAFETY: iov_buf holds iov_len bytes (DAOS contract).
    Some(unsafe { std::slice::from_raw_parts(k.iov_buf as *const u8, k.iov_len) }.to_vec())
}

/// `nr` keys from an array.
///
/// # Safety
/// `keys` is NULL or holds `nr` valid keys.
unsafe fn keys(keys: *const daos_key_t, nr: c_uint) -> Option<Vec<Vec<u8>>> {
    if keys.is_null() && nr > 0 {
        return None;
    }
    // SAFETY: per the function contract.
    (0..nr as usize)
        .map(|i| unsafe { key(keys.add(i)) })
        .collect()
}

/// The iovs of an sgl as a slice.
///
/// # Safety
/// `sgl` is valid and its `sg_iovs` holds `sg_nr` iovs.
unsafe fn iovs<'a>(sgl: *const d_sg_list_t) -> &'a mut [d_iov_t] {
    // SAFETY: per the function contract.
    let s = unsafe { &*sgl };
    if s.sg_iovs.is_null() || s.sg_nr == 0 {
        return &mut [];
    }
    // SAFETY: sg_iovs holds sg_nr iovs.
    unsafe { std::slice::from_raw_parts_mut(s.sg_iovs, s.sg_nr as usize) }
}

/// The bytes an update's sgl carries (`iov_len` of each iov, in order).
///
/// # Safety
/// As [`iovs`], each buffer holding `iov_len` bytes.
unsafe fn gather(sgl: *const d_sg_list_t) -> Vec<u8> {
    let mut out = Vec::new();
    // SAFETY: per the function contract.
    for iov in unsafe { iovs(sgl) }.iter() {
        if !iov.iov_buf.is_null() && iov.iov_len > 0 {
            // SAFETY: the buffer holds iov_len bytes.
            out.extend_from_slice(unsafe {
                std::slice::from_raw_parts(iov.iov_buf as *const u8, iov.iov_len)
            });
        }
    }
    out
}

/// Room in an sgl's buffers (`iov_buf_len` of each).
///
/// # Safety
/// As [`iovs`].
unsafe fn capacity(sgl: *const d_sg_list_t) -> usize {
    // SAFETY: per the function contract.
    unsafe { iovs(sgl) }.iter().map(|i| i.iov_buf_len).sum()
}

/// Spreads `data` over an sgl's buffers; sets `iov_len` of each and `sg_nr_out`.
///
/// # Safety
/// As [`iovs`], each buffer holding `iov_buf_len` bytes; `data` fits ([`capacity`]).
unsafe fn scatter(sgl: *mut d_sg_list_t, data: &[u8]) {
    let mut pos = 0usize;
    let mut used = 0u32;
    // SAFETY: per the function contract.
    for iov in unsafe { iovs(sgl) }.iter_mut() {
        let n = (data.len() - pos).min(iov.iov_buf_len);
        if n > 0 && !iov.iov_buf.is_null() {
            // SAFETY: the buffer has iov_buf_len >= n bytes and does not overlap data.
            unsafe {
                std::ptr::copy_nonoverlapping(data[pos..].as_ptr(), iov.iov_buf as *mut u8, n)
            };
            used += 1;
        }
        iov.iov_len = n;
        pos += n;
    }
    // SAFETY: sgl is valid.
    unsafe { (*sgl).sg_nr_out = used };
}

/// The position an enumeration anchor holds (`None` at EOF).
///
/// # Safety
/// `a` is a valid anchor.
unsafe fn anchor_pos(a: *const daos_anchor_t) -> Option<usize> {
    // SAFETY: per the function contract.
    let a = unsafe { &*a };
    match a.da_type {
        ANCHOR_EOF => None,
        ANCHOR_HKEY => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&a.da_buf[..8]);
            Some(u64::from_le_bytes(b) as usize)
        }
        _ => Some(0),
    }
}

/// Moves an anchor to `pos` of `total` (EOF at the end).
///
/// # Safety
/// `a` is a valid anchor.
unsafe fn anchor_set(a: *mut daos_anchor_t, pos: usize, total: usize) {
    // SAFETY: per the function contract.
    let a = unsafe { &mut *a };
    if pos >= total {
        a.da_type = ANCHOR_EOF;
    } else {
        a.da_type = ANCHOR_HKEY;
        a.da_buf[..8].copy_from_slice(&(pos as u64).to_le_bytes());
    }
}

fn oid_of(o: daos_obj_id_t) -> Oid {
    Oid { lo: o.lo, hi: o.hi }
}

/// `daos_obj_generate_oid2`: the type and class bits in the high 32 bits of `oid.hi`
/// (`daos_obj_set_oid`); an unknown class or type `-DER_INVAL`.
///
/// # Safety
/// `oid` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_generate_oid2(
    coh: daos_handle_t,
    oid: *mut daos_obj_id_t,
    type_: daos_otype_t,
    cid: daos_oclass_id_t,
    hints: daos_oclass_hints_t,
    args: u32,
) -> c_int {
    daos_guard(|| {
        let _ = (hints, args);
        if oid.is_null() || type_ > objects::OT_MAX {
            return Der::INVAL.0;
        }
        let cont = match client::cont_handle(coh.cookie) {
            Ok(c) => c,
            Err(e) => return e.0,
        };
        if cid != 0 && super::gurt::oclass_allowed_failures(cid).is_err() {
            return Der::INVAL.0;
        }
        let ntargets = cont.pool.dir.meta().map(|m| m.ntargets).unwrap_or(1);
        // SAFETY: oid is valid per the contract.
        let o = unsafe { &mut *oid };
        o.hi = (o.hi & 0xffff_ffff) | objects::class_hi(type_, cid, ntargets);
        0
    })
}

/// The shape of the calls that open a handle on a container (object, OIT, transaction):
/// `out` checked, `open` run as an operation on the container's pools, the new handle
/// stored through `out` when it succeeds.
///
/// # Safety
/// `out` is NULL or valid until completion; `ev` is NULL or an initialised event.
unsafe fn open_on_container(
    op: &'static str,
    coh: daos_handle_t,
    out: *mut daos_handle_t,
    ev: *mut daos_event_t,
    open: impl FnOnce() -> DerResult<u64> + Send + 'static,
) -> c_int {
    daos_guard(|| {
        if out.is_null() {
            return Der::INVAL.0;
        }
        let out = SendPtr(out);
        run_daos(op, &cont_pools(coh.cookie), ev, move || {
            // SAFETY: the out-pointer stays valid until completion.
            unsafe { put_result(out, open().map(|cookie| daos_handle_t { cookie })) }
        })
    })
}

/// `daos_obj_open`.
///
/// # Safety
/// `oh` is valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_open(
    coh: daos_handle_t,
    oid: daos_obj_id_t,
    mode: c_uint,
    oh: *mut daos_handle_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: per this function's contract.
    unsafe {
        open_on_container("daos_obj_open", coh, oh, ev, move || {
            objects::obj_open(coh.cookie, oid_of(oid), mode)
        })
    }
}

/// `daos_obj_close`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_close(oh: daos_handle_t, ev: *mut daos_event_t) -> c_int {
    daos_guard(|| {
        let pools = objects::pools_of_handle(oh.cookie);
        run_daos("daos_obj_close", &pools, ev, move || {
            rc(objects::obj_close(oh.cookie))
        })
    })
}

fn write_op(
    op: &str,
    oh: daos_handle_t,
    th: daos_handle_t,
    w: Write,
    ev: *mut daos_event_t,
) -> c_int {
    let pools = objects::pools_of_handle(oh.cookie);
    run_daos(op, &pools, ev, move || {
        rc(objects::write(oh.cookie, th.cookie, w))
    })
}

/// `daos_obj_punch`: removes the whole object.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_punch(
    oh: daos_handle_t,
    th: daos_handle_t,
    flags: u64,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        let _ = flags;
        let oid = match objects::obj_handle(oh.cookie) {
            Ok(h) => h.oid,
            Err(e) => return e.0,
        };
        write_op("daos_obj_punch", oh, th, Write::PunchObj { oid }, ev)
    })
}

/// `daos_obj_punch_dkeys`.
///
/// # Safety
/// `dkeys` holds `nr` keys.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_punch_dkeys(
    oh: daos_handle_t,
    th: daos_handle_t,
    flags: u64,
    nr: c_uint,
    dkeys: *mut daos_key_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let Some(dkeys) = (unsafe { keys(dkeys, nr) }) else {
            return Der::INVAL.0;
        };
        if nr == 0 {
            return Der::INVAL.0;
        }
        let oid = match objects::obj_handle(oh.cookie) {
            Ok(h) => h.oid,
            Err(e) => return e.0,
        };
        let w = Write::PunchDkeys { oid, flags, dkeys };
        write_op("daos_obj_punch_dkeys", oh, th, w, ev)
    })
}

/// `daos_obj_punch_akeys`.
///
/// # Safety
/// `dkey` is a key; `akeys` holds `nr` keys.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_punch_akeys(
    oh: daos_handle_t,
    th: daos_handle_t,
    flags: u64,
    dkey: *mut daos_key_t,
    nr: c_uint,
    akeys: *mut daos_key_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let (Some(dkey), Some(akeys)) = (unsafe { key(dkey) }, unsafe { keys(akeys, nr) }) else {
            return Der::INVAL.0;
        };
        if nr == 0 {
            return Der::INVAL.0;
        }
        let oid = match objects::obj_handle(oh.cookie) {
            Ok(h) => h.oid,
            Err(e) => return e.0,
        };
        let w = Write::PunchAkeys {
            oid,
            flags,
            dkey,
            akeys,
        };
        write_op("daos_obj_punch_akeys", oh, th, w, ev)
    })
}

/// The recxs of an iod.
///
/// # Safety
/// `iod.iod_recxs` is NULL or holds `iod_nr` recxs.
unsafe fn recxs_of(iod: &daos_iod_t) -> Option<Vec<(u64, u64)>> {
    if iod.iod_nr == 0 {
        return Some(Vec::new());
    }
    if iod.iod_recxs.is_null() {
        return None;
    }
    // SAFETY: per the function contract.
    let r = unsafe { std::slice::from_raw_parts(iod.iod_recxs, iod.iod_nr as usize) };
    Some(r.iter().map(|x| (x.rx_idx, x.rx_nr)).collect())
}

/// `daos_obj_fetch`: a missing dkey or akey is size 0 unless `DAOS_COND_*_FETCH` asks for
/// `-DER_NONEXIST`; with a NULL `sgls` only the sizes are returned (a probe); a buffer too
/// small for a value is `-DER_REC2BIG` with `iod_size` set.
///
/// # Safety
/// `dkey` is a key; `iods` (and `sgls`, `ioms` when not NULL) hold `nr` elements, valid
/// until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_fetch(
    oh: daos_handle_t,
    th: daos_handle_t,
    flags: u64,
    dkey: *mut daos_key_t,
    nr: c_uint,
    iods: *mut daos_iod_t,
    sgls: *mut d_sg_list_t,
    ioms: *mut daos_iom_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let Some(dkey) = (unsafe { key(dkey) }) else {
            return Der::INVAL.0;
        };
        if iods.is_null() || nr == 0 || dkey.is_empty() || !fetch_flags_valid(flags) {
            return Der::INVAL.0;
        }
        let mut asked = Vec::with_capacity(nr as usize);
        for i in 0..nr as usize {
            // SAFETY: iods holds nr elements.
            let iod = unsafe { &*iods.add(i) };
            // A single value has no recxs.
            let recxs = if iod.iod_type == IOD_ARRAY {
                // SAFETY: an array iod's recxs hold iod_nr elements (DAOS contract).
                unsafe { recxs_of(iod) }
            } else {
                Some(Vec::new())
            };
            // SAFETY: the iod's name is a key (DAOS contract).
            let (Some(name), Some(recxs)) = (unsafe { key(&iod.iod_name) }, recxs) else {
                return Der::INVAL.0;
            };
            if name.is_empty() || (iod.iod_type != IOD_SINGLE && iod.iod_type != IOD_ARRAY) {
                return Der::INVAL.0;
            }
            // A fetch of array data needs valid extents; a size query (no sgl) does not.
            if iod.iod_type == IOD_ARRAY && !sgls.is_null() && !recxs_valid(&recxs) {
                return Der::INVAL.0;
            }
            asked.push(FetchIod {
                name,
                array: iod.iod_type == IOD_ARRAY,
                flags: iod.iod_flags,
                recxs,
            });
        }
        let want_data = !sgls.is_null();
        let (iods_p, sgls_p, ioms_p) = (SendPtr(iods), SendPtr(sgls), SendPtr(ioms));
        let pools = objects::pools_of_handle(oh.cookie);
        run_daos("daos_obj_fetch", &pools, ev, move || {
            let found = match objects::fetch(oh.cookie, th.cookie, flags, &dkey, &asked, want_data)
            {
                Ok(f) => f,
                Err(e) => return e.0,
            };
            let mut result = 0;
            for (i, f) in found.iter().enumerate() {
                // SAFETY: iods holds nr elements, valid until completion.
                let iod = unsafe { &mut *iods_p.get().add(i) };
                iod.iod_size = f.size;
                if want_data {
                    // SAFETY: sgls holds nr valid sgls until completion.
                    let sgl = unsafe { sgls_p.get().add(i) };
                    // SAFETY: as above.
                    if unsafe { capacity(sgl) } < f.data.len() {
                        result = Der::REC2BIG.0;
                        continue;
                    }
                    // SAFETY: as above; the data fits.
                    unsafe { scatter(sgl, &f.data) };
                    if f.size == 0 {
                        // SAFETY: as above.
                        unsafe { (*sgl).sg_nr_out = 0 };
                    }
                }
                if !ioms_p.get().is_null() {
                    // SAFETY: ioms holds nr elements until completion.
                    fill_iom(unsafe { &mut *ioms_p.get().add(i) }, f);
                }
            }
            result
        })
    })
}

/// What an iom reports of one array fetch.
fn fill_iom(iom: &mut daos_iom_t, f: &objects::Fetched) {
    iom.iom_size = f.size;
    iom.iom_nr_out = f.found.len() as u32;
    let recx = |(i, n): (u64, u64)| daos_recx_t {
        rx_idx: i,
        rx_nr: n,
    };
    iom.iom_recx_lo = f.found.first().copied().map(recx).unwrap_or_default();
    iom.iom_recx_hi = f.found.last().copied().map(recx).unwrap_or_default();
    if !iom.iom_recxs.is_null() {
        for (i, r) in f.found.iter().take(iom.iom_nr as usize).enumerate() {
            // SAFETY: iom_recxs holds iom_nr elements (DAOS contract).
            unsafe { *iom.iom_recxs.add(i) = recx(*r) };
        }
    }
}

/// `daos_obj_update`: single values (size 0 punches) and array extents (record size 0
/// punches them), with the `DAOS_COND_*` insert/update conditions.
///
/// # Safety
/// `dkey` is a key; `iods` and `sgls` hold `nr` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_update(
    oh: daos_handle_t,
    th: daos_handle_t,
    flags: u64,
    dkey: *mut daos_key_t,
    nr: c_uint,
    iods: *mut daos_iod_t,
    sgls: *mut d_sg_list_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let Some(dkey) = (unsafe { key(dkey) }) else {
            return Der::INVAL.0;
        };
        if dkey.is_empty() || nr == 0 || iods.is_null() || !update_flags_valid(flags) {
            return Der::INVAL.0;
        }
        let mut writes = Vec::with_capacity(nr as usize);
        for i in 0..nr as usize {
            // SAFETY: iods holds nr elements; sgls is NULL or holds nr.
            match unsafe {
                update_iod(
                    &*iods.add(i),
                    if sgls.is_null() { sgls } else { sgls.add(i) },
                )
            } {
                Ok(w) => writes.push(w),
                Err(e) => return e.0,
            }
        }
        let oid = match objects::obj_handle(oh.cookie) {
            Ok(h) => h.oid,
            Err(e) => return e.0,
        };
        let w = Write::Update {
            oid,
            flags,
            dkey,
            iods: writes,
        };
        write_op("daos_obj_update", oh, th, w, ev)
    })
}

/// One iod of an update with its data.
///
/// # Safety
/// `iod` is valid; `sgl` is NULL or valid.
unsafe fn update_iod(iod: &daos_iod_t, sgl: *const d_sg_list_t) -> DerResult<UpdateIod> {
    // SAFETY: per the function contract.
    let name = unsafe { key(&iod.iod_name) }.ok_or(Der::INVAL)?;
    if name.is_empty() {
        return Err(Der::INVAL);
    }
    let data = if sgl.is_null() {
        Vec::new()
    } else {
        // SAFETY: a non-NULL sgl is valid per the function contract.
        unsafe { gather(sgl) }
    };
    // obj_iod_sgl_valid (cli_obj.c:2227): without an sgl only a punch (size 0) goes.
    if sgl.is_null() && iod.iod_size != 0 {
        return Err(Der::INVAL);
    }
    let what = match iod.iod_type {
        IOD_SINGLE => {
            if iod.iod_nr != 1 {
                return Err(Der::INVAL);
            }
            let size = iod.iod_size as usize;
            if data.len() < size {
                return Err(Der::REC2BIG);
            }
            UpdateValue::Single(data[..size].to_vec())
        }
        IOD_ARRAY => {
            // SAFETY: the recxs hold iod_nr elements.
            let recxs = unsafe { recxs_of(iod) }.ok_or(Der::INVAL)?;
            if !sgl.is_null() && !recxs_valid(&recxs) {
                return Err(Der::INVAL);
            }
            let records: u64 = recxs.iter().map(|r| r.1).sum();
            let need = records.checked_mul(iod.iod_size).ok_or(Der::INVAL)?;
            if (data.len() as u64) < need {
                return Err(Der::REC2BIG);
            }
            UpdateValue::Array {
                rsize: iod.iod_size,
                recxs,
                data: data[..need as usize].to_vec(),
            }
        }
        _ => return Err(Der::INVAL),
    };
    Ok(UpdateIod {
        name,
        flags: iod.iod_flags,
        what,
    })
}

/// `obj_recx_valid` (cli_obj.c:2153): at least one extent, none empty, none overlapping.
fn recxs_valid(recxs: &[(u64, u64)]) -> bool {
    let mut sorted = recxs.to_vec();
    sorted.sort_unstable();
    !sorted.is_empty()
        && sorted
            .iter()
            .all(|r| r.1 != 0 && r.0.checked_add(r.1).is_some())
        && sorted
            .windows(2)
            .all(|w| w[0].0.saturating_add(w[0].1) <= w[1].0)
}

/// The conditional flags a fetch may not carry (cli_obj.c:2510-2522).
fn fetch_flags_valid(flags: u64) -> bool {
    let modifying = objects::COND_PUNCH
        | objects::COND_DKEY_INSERT
        | objects::COND_DKEY_UPDATE
        | objects::COND_AKEY_INSERT
        | objects::COND_AKEY_UPDATE;
    flags & modifying == 0
        && !(flags & objects::COND_PER_AKEY != 0 && flags & objects::COND_AKEY_FETCH != 0)
}

/// The conditional flags an update may not carry (cli_obj.c:2552-2566).
fn update_flags_valid(flags: u64) -> bool {
    let reading = objects::COND_PUNCH | objects::COND_DKEY_FETCH | objects::COND_AKEY_FETCH;
    flags & reading == 0
        && !(flags & objects::COND_PER_AKEY != 0
            && flags & (objects::COND_AKEY_UPDATE | objects::COND_AKEY_INSERT) != 0)
}

/// Packs as many of `keys[start..]` as fit (at most `max`) into `sgl`; `-DER_KEY2BIG` with
/// `kds[0].kd_key_len` = the size needed when the first does not fit.
///
/// # Safety
/// `kds` holds `max` descriptors; `sgl`, `nr` and `anchor` are valid.
unsafe fn pack_keys(
    all: &[Vec<u8>],
    start: usize,
    max: usize,
    nr: *mut u32,
    kds: *mut daos_key_desc_t,
    sgl: *mut d_sg_list_t,
    anchor: *mut daos_anchor_t,
) -> c_int {
    // SAFETY: per the function contract.
    let room = unsafe { capacity(sgl) };
    let mut used = 0usize;
    let mut packed = Vec::new();
    let mut count = 0usize;
    for k in all.iter().skip(start).take(max) {
        if used + k.len() > room {
            if count == 0 {
                // SAFETY: kds holds at least one descriptor (max > 0).
                unsafe { (*kds).kd_key_len = k.len() as u64 };
                // SAFETY: nr is valid.
                unsafe { *nr = 0 };
                return Der::KEY2BIG.0;
            }
            break;
        }
        // SAFETY: kds holds max > count descriptors.
        unsafe { (*kds.add(count)).kd_key_len = k.len() as u64 };
        packed.extend_from_slice(k);
        used += k.len();
        count += 1;
    }
    // SAFETY: the packed keys fit (checked against capacity).
    unsafe {
        scatter(sgl, &packed);
        *nr = count as u32;
        anchor_set(anchor, start + count, all.len());
    }
    0
}

/// Shared checks of the key listing calls: the count, descriptors, sgl and anchor.
///
/// # Safety
/// Pointers NULL or valid.
unsafe fn list_args(
    nr: *mut u32,
    kds: *mut daos_key_desc_t,
    sgl: *mut d_sg_list_t,
    anchor: *mut daos_anchor_t,
) -> DerResult<(usize, Option<usize>)> {
    if nr.is_null() || kds.is_null() || sgl.is_null() || anchor.is_null() {
        return Err(Der::INVAL);
    }
    // SAFETY: nr is valid.
    let max = unsafe { *nr } as usize;
    if max == 0 {
        return Err(Der::INVAL);
    }
    // SAFETY: anchor is valid.
    Ok((max, unsafe { anchor_pos(anchor) }))
}

/// `daos_obj_list_dkey`: keys packed back to back, `kds[i].kd_key_len` each, `*nr` in/out,
/// EOF anchor at the end (`kd_val_type` is not filled).
///
/// # Safety
/// Pointers valid until completion; `kds` holds `*nr` descriptors.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_list_dkey(
    oh: daos_handle_t,
    th: daos_handle_t,
    nr: *mut u32,
    kds: *mut daos_key_desc_t,
    sgl: *mut d_sg_list_t,
    anchor: *mut daos_anchor_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let (max, start) = match unsafe { list_args(nr, kds, sgl, anchor) } {
            Ok(x) => x,
            Err(e) => return e.0,
        };
        let p = (SendPtr(nr), SendPtr(kds), SendPtr(sgl), SendPtr(anchor));
        let pools = objects::pools_of_handle(oh.cookie);
        run_daos("daos_obj_list_dkey", &pools, ev, move || {
            let all = match objects::list_dkeys(oh.cookie, th.cookie) {
                Ok(a) => a,
                Err(e) => return e.0,
            };
            let start = start.unwrap_or(all.len());
            // SAFETY: the pointers stay valid until completion.
            unsafe { pack_keys(&all, start, max, p.0.get(), p.1.get(), p.2.get(), p.3.get()) }
        })
    })
}

/// `daos_obj_list_akey`: as [`daos_obj_list_dkey`], for the akeys of `dkey`.
///
/// # Safety
/// Pointers valid until completion; `kds` holds `*nr` descriptors.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_list_akey(
    oh: daos_handle_t,
    th: daos_handle_t,
    dkey: *mut daos_key_t,
    nr: *mut u32,
    kds: *mut daos_key_desc_t,
    sgl: *mut d_sg_list_t,
    anchor: *mut daos_anchor_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let Some(dkey) = (unsafe { key(dkey) }) else {
            return Der::INVAL.0;
        };
        // SAFETY: per the function contract.
        let (max, start) = match unsafe { list_args(nr, kds, sgl, anchor) } {
            Ok(x) => x,
            Err(e) => return e.0,
        };
        let p = (SendPtr(nr), SendPtr(kds), SendPtr(sgl), SendPtr(anchor));
        let pools = objects::pools_of_handle(oh.cookie);
        run_daos("daos_obj_list_akey", &pools, ev, move || {
            let all = match objects::list_akeys(oh.cookie, th.cookie, &dkey) {
                Ok(a) => a,
                Err(e) => return e.0,
            };
            let start = start.unwrap_or(all.len());
            // SAFETY: the pointers stay valid until completion.
            unsafe { pack_keys(&all, start, max, p.0.get(), p.1.get(), p.2.get(), p.3.get()) }
        })
    })
}

/// `daos_obj_list_recx`: `*size` = the record size, merged extents in increasing
/// (`incr_order`) or decreasing order, `eprs` (when given) `[0, DAOS_EPOCH_MAX]`.
///
/// # Safety
/// Pointers valid until completion; `recxs` (and `eprs`) hold `*nr` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_list_recx(
    oh: daos_handle_t,
    th: daos_handle_t,
    dkey: *mut daos_key_t,
    akey: *mut daos_key_t,
    size: *mut daos_size_t,
    nr: *mut u32,
    recxs: *mut daos_recx_t,
    eprs: *mut daos_epoch_range_t,
    anchor: *mut daos_anchor_t,
    incr_order: bool,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let (Some(dkey), Some(akey)) = (unsafe { key(dkey) }, unsafe { key(akey) }) else {
            return Der::INVAL.0;
        };
        if nr.is_null() || recxs.is_null() || anchor.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: nr and anchor are valid.
        let (max, start) = unsafe { (*nr as usize, anchor_pos(anchor)) };
        if max == 0 {
            return Der::INVAL.0;
        }
        let p = (
            SendPtr(size),
            SendPtr(nr),
            SendPtr(recxs),
            SendPtr(eprs),
            SendPtr(anchor),
        );
        let pools = objects::pools_of_handle(oh.cookie);
        run_daos("daos_obj_list_recx", &pools, ev, move || {
            let (rsize, mut all) = match objects::list_recxs(oh.cookie, th.cookie, &dkey, &akey) {
                Ok(x) => x,
                Err(e) => return e.0,
            };
            if !incr_order {
                all.reverse();
            }
            let start = start.unwrap_or(all.len());
            let take: Vec<(u64, u64)> = all.iter().skip(start).take(max).copied().collect();
            for (i, (idx, n)) in take.iter().enumerate() {
                // SAFETY: recxs (and eprs when not NULL) hold max elements.
                unsafe {
                    *p.2.get().add(i) = daos_recx_t {
                        rx_idx: *idx,
                        rx_nr: *n,
                    };
                    if !p.3.get().is_null() {
                        *p.3.get().add(i) = daos_epoch_range_t {
                            epr_lo: 0,
                            epr_hi: u64::MAX,
                        };
                    }
                }
            }
            // SAFETY: the out-pointers stay valid until completion.
            unsafe {
                put(p.0, rsize);
                *p.1.get() = take.len() as u32;
                anchor_set(p.4.get(), start + take.len(), all.len());
            }
            0
        })
    })
}

/// Writes `bytes` into a caller's key iov (`-DER_KEY2BIG` if it has no room).
///
/// # Safety
/// `k` is valid with `iov_buf_len` bytes of buffer.
unsafe fn put_key(k: *mut daos_key_t, bytes: &[u8]) -> DerResult<()> {
    // SAFETY: per the function contract.
    let k = unsafe { &mut *k };
    if k.iov_buf_len < bytes.len() || (k.iov_buf.is_null() && !bytes.is_empty()) {
        return Err(Der::KEY2BIG);
    }
    if !bytes.is_empty() {
        // SAFETY: the buffer has room for the bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), k.iov_buf as *mut u8, bytes.len()) };
    }
    k.iov_len = bytes.len();
    Ok(())
}

/// `daos_obj_query_max_epoch`: the highest epoch of the object's updates.
///
/// # Safety
/// `epoch` is NULL or valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_query_max_epoch(
    oh: daos_handle_t,
    th: daos_handle_t,
    epoch: *mut daos_epoch_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        if epoch.is_null() {
            return Der::INVAL.0;
        }
        let out = SendPtr(epoch);
        let pools = objects::pools_of_handle(oh.cookie);
        run_daos("daos_obj_query_max_epoch", &pools, ev, move || {
            // SAFETY: the out-pointer stays valid until completion.
            unsafe { put_result(out, objects::query_max_epoch(oh.cookie, th.cookie)) }
        })
    })
}

/// `daos_obj_query_key`: the greatest or smallest dkey / akey / extent
/// (`DAOS_GET_MAX | DAOS_GET_DKEY | DAOS_GET_RECX` is how `daos_array_get_size` finds the
/// end of an array); `-DER_NONEXIST` for an empty object.
///
/// # Safety
/// Keys are NULL or valid (with room for the result), `recx` NULL or valid, until
/// completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_query_key(
    oh: daos_handle_t,
    th: daos_handle_t,
    flags: u64,
    dkey: *mut daos_key_t,
    akey: *mut daos_key_t,
    recx: *mut daos_recx_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // check_query_flags (cli_obj.c:2352): the pointers, and room for an integer key.
        // SAFETY: per the function contract, keys are NULL or valid.
        let room = |k: *mut daos_key_t| unsafe { !(*k).iov_buf.is_null() && (*k).iov_buf_len >= 8 };
        if flags != 0
            && (dkey.is_null()
                || (akey.is_null() && flags & (objects::GET_AKEY | objects::GET_RECX) != 0)
                || (recx.is_null() && flags & objects::GET_RECX != 0)
                || (flags & objects::GET_DKEY != 0 && !room(dkey))
                || (flags & objects::GET_AKEY != 0 && !room(akey)))
        {
            return Der::INVAL.0;
        }
        // SAFETY: per the function contract.
        let (dk, ak) = unsafe { (key(dkey), key(akey)) };
        let p = (SendPtr(dkey), SendPtr(akey), SendPtr(recx));
        let pools = objects::pools_of_handle(oh.cookie);
        run_daos("daos_obj_query_key", &pools, ev, move || {
            let q = match objects::query_key(
                oh.cookie,
                th.cookie,
                flags,
                dk.unwrap_or_default(),
                ak.unwrap_or_default(),
            ) {
                Ok(q) => q,
                Err(e) => return e.0,
            };
            // SAFETY: the out-pointers stay valid until completion.
            let r = unsafe {
                (|| -> DerResult<()> {
                    if flags & objects::GET_DKEY != 0 {
                        put_key(p.0.get(), &q.dkey)?;
                    }
                    if flags & objects::GET_AKEY != 0 {
                        put_key(p.1.get(), &q.akey)?;
                    }
                    if let Some((i, n)) = q.recx {
                        put(
                            p.2,
                            daos_recx_t {
                                rx_idx: i,
                                rx_nr: n,
                            },
                        );
                    }
                    Ok(())
                })()
            };
            rc(r)
        })
    })
}

/// `daos_oit_open`: the object index table of a snapshot made with `DAOS_SNAP_OPT_OIT`.
///
/// # Safety
/// `oh` valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_oit_open(
    coh: daos_handle_t,
    epoch: daos_epoch_t,
    oh: *mut daos_handle_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: per this function's contract.
    unsafe {
        open_on_container("daos_oit_open", coh, oh, ev, move || {
            objects::oit_open(coh.cookie, epoch)
        })
    }
}

/// `daos_oit_close`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_oit_close(oh: daos_handle_t, ev: *mut daos_event_t) -> c_int {
    daos_guard(|| {
        let pools = objects::pools_of_handle(oh.cookie);
        run_daos("daos_oit_close", &pools, ev, move || {
            rc(objects::oit_close(oh.cookie))
        })
    })
}

/// `daos_oit_list`: up to `*oids_nr` ids from the anchor on; EOF anchor at the end.
///
/// # Safety
/// Pointers valid until completion; `oids` holds `*oids_nr` ids.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_oit_list(
    oh: daos_handle_t,
    oids: *mut daos_obj_id_t,
    oids_nr: *mut u32,
    anchor: *mut daos_anchor_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        if oids.is_null() || oids_nr.is_null() || anchor.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: per the function contract.
        let (max, start) = unsafe { (*oids_nr as usize, anchor_pos(anchor)) };
        if max == 0 {
            return Der::INVAL.0;
        }
        let p = (SendPtr(oids), SendPtr(oids_nr), SendPtr(anchor));
        let pools = objects::pools_of_handle(oh.cookie);
        run_daos("daos_oit_list", &pools, ev, move || {
            let h = match objects::oit_handle(oh.cookie) {
                Ok(h) => h,
                Err(e) => return e.0,
            };
            let start = start.unwrap_or(h.oids.len());
            let take: Vec<Oid> = h.oids.iter().skip(start).take(max).copied().collect();
            // SAFETY: oids holds max ids; the other pointers are valid until completion.
            unsafe {
                for (i, o) in take.iter().enumerate() {
                    *p.0.get().add(i) = daos_obj_id_t { lo: o.lo, hi: o.hi };
                }
                *p.1.get() = take.len() as u32;
                anchor_set(p.2.get(), start + take.len(), h.oids.len());
            }
            0
        })
    })
}

/// `daos_cont_alloc_oids`: `num_oids` ids; `*oid` is the first.
///
/// # Safety
/// `oid` valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_alloc_oids(
    coh: daos_handle_t,
    num_oids: daos_size_t,
    oid: *mut u64,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        if oid.is_null() {
            return Der::INVAL.0;
        }
        let out = SendPtr(oid);
        run_daos(
            "daos_cont_alloc_oids",
            &cont_pools(coh.cookie),
            ev,
            move || {
                // SAFETY: the out-pointer stays valid until completion.
                unsafe {
                    put_result(
                        out,
                        client::cont_handle(coh.cookie)
                            .and_then(|c| objects::alloc_oids(&c, num_oids)),
                    )
                }
            },
        )
    })
}

/// `daos_cont_snap_oit_create`: gives snapshot `epoch` an OIT (`-DER_NONEXIST` when it is
/// no snapshot); `name` is not used.
///
/// # Safety
/// `name` is NULL or a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_snap_oit_create(
    coh: daos_handle_t,
    epoch: daos_epoch_t,
    name: *mut c_char,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        let _ = name;
        run_daos(
            "daos_cont_snap_oit_create",
            &cont_pools(coh.cookie),
            ev,
            move || rc(objects::snap_oit_create(coh.cookie, epoch)),
        )
    })
}

/// `daos_cont_snap_oit_destroy`: the snapshot of OIT `oh` loses its OIT.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_snap_oit_destroy(
    coh: daos_handle_t,
    oh: daos_handle_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        run_daos(
            "daos_cont_snap_oit_destroy",
            &cont_pools(coh.cookie),
            ev,
            move || rc(objects::snap_oit_destroy(coh.cookie, oh.cookie)),
        )
    })
}

/// `daos_tx_open`.
///
/// # Safety
/// `th` valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_tx_open(
    coh: daos_handle_t,
    th: *mut daos_handle_t,
    flags: u64,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: per this function's contract.
    unsafe {
        open_on_container("daos_tx_open", coh, th, ev, move || {
            objects::tx_open(coh.cookie, flags)
        })
    }
}

/// `daos_tx_commit`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_tx_commit(th: daos_handle_t, ev: *mut daos_event_t) -> c_int {
    daos_guard(|| {
        run_daos("daos_tx_commit", &tx_pools(th.cookie), ev, move || {
            rc(objects::tx_commit(th.cookie))
        })
    })
}

/// `daos_tx_open_snap`: a read-only transaction that reads snapshot `epoch`.
///
/// # Safety
/// `th` valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_tx_open_snap(
    coh: daos_handle_t,
    epoch: daos_epoch_t,
    th: *mut daos_handle_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: per this function's contract.
    unsafe {
        open_on_container("daos_tx_open_snap", coh, th, ev, move || {
            objects::tx_open_snap(coh.cookie, epoch)
        })
    }
}

/// `daos_tx_abort`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_tx_abort(th: daos_handle_t, ev: *mut daos_event_t) -> c_int {
    daos_guard(|| {
        run_daos("daos_tx_abort", &tx_pools(th.cookie), ev, move || {
            rc(objects::tx_abort(th.cookie))
        })
    })
}

/// `daos_tx_close`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_tx_close(th: daos_handle_t, ev: *mut daos_event_t) -> c_int {
    daos_guard(|| {
        run_daos("daos_tx_close", &tx_pools(th.cookie), ev, move || {
            rc(objects::tx_close(th.cookie))
        })
    })
}

/// `daos_tx_restart`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_tx_restart(th: daos_handle_t, ev: *mut daos_event_t) -> c_int {
    daos_guard(|| {
        run_daos("daos_tx_restart", &tx_pools(th.cookie), ev, move || {
            rc(objects::tx_restart(th.cookie))
        })
    })
}

/// `daos_tx_hdl2epoch`: `-DER_INVAL` for `DAOS_TX_NONE`, `-DER_UNINIT` before the epoch is
/// chosen (obj_tx.c:901).
///
/// # Safety
/// `epoch` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_tx_hdl2epoch(th: daos_handle_t, epoch: *mut daos_epoch_t) -> c_int {
    daos_guard(|| {
        if epoch.is_null() {
            return Der::INVAL.0;
        }
        match objects::tx_epoch(th.cookie) {
            Ok(e) => {
                // SAFETY: epoch is valid per the contract.
                unsafe { *epoch = e };
                0
            }
            Err(e) => e.0,
        }
    })
}
