//! Pool calls (`src/client/api/pool.c`, `src/pool/cli.c`) and the user-attribute helpers
//! shared with containers (`attr_check_input`, `src/container/cli.c`, `src/rsvc/srv_common.c`).

use std::ffi::{c_char, c_int, c_uint, c_void};

use uuid::Uuid;

use super::{cstr, daos_guard, put, run_daos};
use crate::client::{self, PoolHandle};
use crate::der::{Der, DerResult};
use crate::events::SendPtr;
use crate::ffi::{
    d_iov_t, d_rank_list_t, d_rank_t, daos_event_t, daos_handle_t, daos_pool_cont_info,
    daos_pool_info_t, daos_prop_t, daos_size_t, daos_target_info_t,
};
use crate::props::{PropValue, Props, po};

const DPI_SPACE: u64 = 1;
const DPI_REBUILD_STATUS: u64 = 2;
const DPI_ENGINES_ENABLED: u64 = 4;
const DPI_ENGINES_DISABLED: u64 = 8;
const DPI_ENGINES_DEAD: u64 = 16;

/// Fills `daos_pool_info_t` from a query: the identity part always, space only with
/// `DPI_SPACE`, rebuild status only with `DPI_REBUILD_STATUS`.
pub(crate) fn fill_pool_info(info: &mut daos_pool_info_t, q: &client::PoolInfo) {
    info.pi_uuid = *q.uuid.as_bytes();
    info.pi_ntargets = q.ntargets;
    info.pi_nnodes = q.nnodes;
    info.pi_ndisabled = 0;
    info.pi_map_ver = q.map_version;
    info.pi_leader = 0;
    if info.pi_bits & DPI_SPACE != 0 {
        let s = &mut info.pi_space;
        s.ps_space.s_total = q.total;
        s.ps_space.s_free = q.free;
        let n = u64::from(q.ntargets.max(1));
        let per_target = [q.free[0] / n, q.free[1] / n];
        s.ps_free_min = per_target;
        s.ps_free_max = per_target;
        s.ps_free_mean = per_target;
        s.ps_ntargets = q.ntargets;
    }
    if info.pi_bits & DPI_REBUILD_STATUS != 0 {
        let r = &mut info.pi_rebuild_st;
        r.rs_version = 0;
        r.rs_seconds = 0;
        r.rs_errno = 0;
        r.__bindgen_anon_1.rs_state = 2; // DRS_COMPLETED: nothing to rebuild
        r.rs_fail_rank = -1;
    }
}

fn pool_ids(h: &PoolHandle) -> Vec<String> {
    h.ids()
}

/// `daos_pool_connect2`.
///
/// # Safety
/// Strings are NULL or NUL-terminated; `poh` and `info` stay valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_pool_connect2(
    pool: *const c_char,
    sys: *const c_char,
    flags: c_uint,
    poh: *mut daos_handle_t,
    info: *mut daos_pool_info_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let (Some(name), sys) = (unsafe { cstr(pool) }, unsafe { cstr(sys) }) else {
            return Der::INVAL.0;
        };
        if poh.is_null() {
            return Der::INVAL.0;
        }
        let (name, sys) = (name.to_string(), sys.map(str::to_string));
        let (poh, info) = (SendPtr(poh), SendPtr(info));
        let ids = vec![name.clone()];
        run_daos("daos_pool_connect", &ids, ev, move || {
            match client::pool_connect(&name, sys.as_deref(), flags) {
                Ok(h) => {
                    if !info.get().is_null() {
                        match client::pool_query(&h) {
                            // SAFETY: info stays valid until completion (DAOS contract).
                            Ok(q) => fill_pool_info(unsafe { &mut *info.get() }, &q),
                            Err(e) => return e.0,
                        }
                    }
                    // SAFETY: poh stays valid until completion.
                    unsafe { put(poh, daos_handle_t { cookie: h.cookie }) };
                    0
                }
                Err(e) => e.0,
            }
        })
    })
}

/// `daos_pool_connect`: the weak alias of `daos_pool_connect2`.
///
/// # Safety
/// As [`daos_pool_connect2`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_pool_connect(
    pool: *const c_char,
    sys: *const c_char,
    flags: c_uint,
    poh: *mut daos_handle_t,
    info: *mut daos_pool_info_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: same contract.
    unsafe { daos_pool_connect2(pool, sys, flags, poh, info, ev) }
}

/// `daos_pool_disconnect`: `-DER_BUSY` while containers are open through the handle.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_pool_disconnect(poh: daos_handle_t, ev: *mut daos_event_t) -> c_int {
    daos_guard(|| {
        let ids = client::pool_handle(poh.cookie)
            .map(|h| pool_ids(&h))
            .unwrap_or_default();
        run_daos(
            "daos_pool_disconnect",
            &ids,
            ev,
            move || match client::pool_disconnect(poh.cookie) {
                Ok(()) => 0,
                Err(e) => e.0,
            },
        )
    })
}

const POOL_GLOB_MAGIC: &[u8; 8] = b"EMUPOOL1";
const CONT_GLOB_MAGIC: &[u8; 8] = b"EMUCONT1";
const GLOB_LEN: usize = 8 + 16 + 4;

/// Writes a handle blob into `glob`: the size only when it has no buffer.
pub(crate) fn write_glob(glob: *mut d_iov_t, magic: &[u8; 8], uuid: Uuid, flags: u32) -> c_int {
    if glob.is_null() {
        return Der::INVAL.0;
    }
    // SAFETY: glob is a valid iov (caller contract).
    let g = unsafe { &mut *glob };
    if g.iov_buf.is_null() {
        g.iov_buf_len = GLOB_LEN;
        g.iov_len = GLOB_LEN;
        return 0;
    }
    if g.iov_buf_len < GLOB_LEN {
        g.iov_buf_len = GLOB_LEN;
        return Der::TRUNC.0;
    }
    let mut b = magic.to_vec();
    b.extend_from_slice(uuid.as_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    // SAFETY: the buffer has at least GLOB_LEN bytes.
    unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), g.iov_buf as *mut u8, GLOB_LEN) };
    g.iov_len = GLOB_LEN;
    0
}

/// Reads a handle blob.
pub(crate) fn read_glob(glob: &d_iov_t, magic: &[u8; 8]) -> DerResult<(Uuid, u32)> {
    if glob.iov_buf.is_null() || glob.iov_len < GLOB_LEN {
        return Err(Der::INVAL);
    }
    // SAFETY: iov_len readable bytes at iov_buf.
    let b = unsafe { std::slice::from_raw_parts(glob.iov_buf as *const u8, GLOB_LEN) };
    if &b[..8] != magic {
        return Err(Der::INVAL);
    }
    let uuid = Uuid::from_slice(&b[8..24]).map_err(|_| Der::INVAL)?;
    Ok((uuid, u32::from_ne_bytes([b[24], b[25], b[26], b[27]])))
}

/// `daos_pool_local2global`.
///
/// # Safety
/// `glob` is a valid iov.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_pool_local2global(poh: daos_handle_t, glob: *mut d_iov_t) -> c_int {
    daos_guard(|| match client::pool_handle(poh.cookie) {
        Ok(h) => write_glob(glob, POOL_GLOB_MAGIC, h.dir.uuid, h.flags),
        Err(e) => e.0,
    })
}

/// `daos_pool_global2local`.
///
/// # Safety
/// `glob` describes a blob from `daos_pool_local2global`; `poh` is a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_pool_global2local(glob: d_iov_t, poh: *mut daos_handle_t) -> c_int {
    daos_guard(|| {
        if poh.is_null() {
            return Der::INVAL.0;
        }
        let r = read_glob(&glob, POOL_GLOB_MAGIC).and_then(|(u, f)| client::pool_from_global(u, f));
        match r {
            // SAFETY: valid out-pointer.
            Ok(h) => unsafe {
                (*poh).cookie = h.cookie;
                0
            },
            Err(e) => e.0,
        }
    })
}

/// Magic of container handle blobs (shared with cont.rs).
pub(crate) fn cont_glob_magic() -> &'static [u8; 8] {
    CONT_GLOB_MAGIC
}

fn pool_props(h: &PoolHandle) -> DerResult<Props> {
    let meta = h.dir.meta()?;
    let mut p = Props::new();
    p.insert(
        po::LABEL,
        PropValue::Str(
            meta.label
                .clone()
                .unwrap_or_else(|| crate::label::POOL_LABEL_DEFAULT.to_string()),
        ),
    );
    p.insert(po::ACL, PropValue::Acl(meta.acl.clone()));
    p.insert(po::SPACE_RB, PropValue::Val(5));
    p.insert(po::SELF_HEAL, PropValue::Val(3));
    p.insert(po::RECLAIM, PropValue::Val(1));
    p.insert(po::OWNER, PropValue::Str(meta.owner.clone()));
    p.insert(po::OWNER_GROUP, PropValue::Str(meta.owner_group.clone()));
    p.insert(po::SVC_LIST, PropValue::Ranks(vec![0]));
    p.insert(po::EC_CELL_SZ, PropValue::Val(128 * 1024));
    p.insert(po::DATA_THRESH, PropValue::Val(4096));
    p.insert(po::REDUN_FAC, PropValue::Val(meta.redun_fac));
    p.insert(po::EC_PDA, PropValue::Val(1));
    p.insert(po::RP_PDA, PropValue::Val(3));
    p.insert(po::GLOBAL_VERSION, PropValue::Val(3));
    Ok(p)
}

/// `daos_pool_query`.
///
/// # Safety
/// Out-parameters are NULL or valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_pool_query(
    poh: daos_handle_t,
    ranks: *mut *mut d_rank_list_t,
    info: *mut daos_pool_info_t,
    pool_prop: *mut daos_prop_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        let ids = client::pool_handle(poh.cookie)
            .map(|h| pool_ids(&h))
            .unwrap_or_default();
        let (ranks, info, pool_prop) = (SendPtr(ranks), SendPtr(info), SendPtr(pool_prop));
        run_daos("daos_pool_query", &ids, ev, move || {
            let r = (|| -> DerResult<()> {
                let h = client::pool_handle(poh.cookie)?;
                let q = client::pool_query(&h)?;
                let mut bits = 0;
                if !info.get().is_null() {
                    // SAFETY: info stays valid until completion.
                    let i = unsafe { &mut *info.get() };
                    bits = i.pi_bits;
                    fill_pool_info(i, &q);
                }
                if !ranks.get().is_null() {
                    let engines =
                        bits & (DPI_ENGINES_ENABLED | DPI_ENGINES_DISABLED | DPI_ENGINES_DEAD);
                    let list: &[u32] = if engines == 0 || bits & DPI_ENGINES_ENABLED != 0 {
                        &[0]
                    } else {
                        &[]
                    };
                    // SAFETY: ranks stays valid until completion.
                    unsafe { put(ranks, super::gurt::rank_list(list)) };
                }
                if !pool_prop.get().is_null() {
                    // SAFETY: pool_prop is a valid property until completion.
                    unsafe { super::prop::fill_query(pool_prop.get(), &pool_props(&h)?) }?;
                }
                Ok(())
            })();
            r.err().map(|e| e.0).unwrap_or(0)
        })
    })
}

/// `daos_pool_query_target`: one engine (rank 0) with `ntargets` targets, all up.
///
/// # Safety
/// `info` is valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_pool_query_target(
    poh: daos_handle_t,
    tgt: u32,
    rank: d_rank_t,
    info: *mut daos_target_info_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        if info.is_null() {
            return Der::INVAL.0;
        }
        let ids = client::pool_handle(poh.cookie)
            .map(|h| pool_ids(&h))
            .unwrap_or_default();
        let info = SendPtr(info);
        run_daos("daos_pool_query_target", &ids, ev, move || {
            let r = (|| -> DerResult<()> {
                let h = client::pool_handle(poh.cookie)?;
                let q = client::pool_query(&h)?;
                if rank != 0 || tgt >= q.ntargets {
                    return Err(Der::NONEXIST);
                }
                let n = u64::from(q.ntargets.max(1));
                // SAFETY: info stays valid until completion.
                let i = unsafe { &mut *info.get() };
                i.ta_state = 4; // DAOS_TS_UP_IN
                i.ta_space.s_total = [q.total[0] / n, q.total[1] / n];
                i.ta_space.s_free = [q.free[0] / n, q.free[1] / n];
                Ok(())
            })();
            r.err().map(|e| e.0).unwrap_or(0)
        })
    })
}

/// `daos_pool_list_cont`: `-DER_TRUNC` (with the needed count) when `cbuf` is too small.
///
/// # Safety
/// `ncont` and `cbuf` (of `*ncont` entries) stay valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_pool_list_cont(
    poh: daos_handle_t,
    ncont: *mut daos_size_t,
    cbuf: *mut daos_pool_cont_info,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        if ncont.is_null() {
            return Der::INVAL.0;
        }
        let ids = client::pool_handle(poh.cookie)
            .map(|h| pool_ids(&h))
            .unwrap_or_default();
        let (ncont, cbuf) = (SendPtr(ncont), SendPtr(cbuf));
        run_daos("daos_pool_list_cont", &ids, ev, move || {
            let conts =
                match client::pool_handle(poh.cookie).and_then(|h| client::pool_list_cont(&h)) {
                    Ok(c) => c,
                    Err(e) => return e.0,
                };
            // SAFETY: ncont stays valid until completion.
            let room = unsafe { *ncont.get() } as usize;
            // SAFETY: as above.
            unsafe { *ncont.get() = conts.len() as u64 };
            if cbuf.get().is_null() {
                return 0;
            }
            if room < conts.len() {
                return Der::TRUNC.0;
            }
            for (i, (u, l)) in conts.iter().enumerate() {
                // SAFETY: cbuf has room for `room` entries.
                let e = unsafe { &mut *cbuf.get().add(i) };
                e.pci_uuid = *u.as_bytes();
                e.pci_label = [0; 128];
                for (d, s) in e.pci_label.iter_mut().zip(l.bytes().take(127)) {
                    *d = s as c_char;
                }
            }
            0
        })
    })
}

/// Validated attribute names (`attr_check_input`): n > 0, each 1..=511 characters.
///
/// # Safety
/// `names` holds `n` string pointers.
pub(crate) unsafe fn attr_names(n: c_int, names: *const *const c_char) -> DerResult<Vec<String>> {
    if n <= 0 || names.is_null() {
        return Err(Der::INVAL);
    }
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        // SAFETY: names has n entries per the contract.
        let p = unsafe { *names.add(i) };
        // SAFETY: each entry is NULL or a NUL-terminated string.
        let s = unsafe { cstr(p) }.ok_or(Der::INVAL)?;
        if s.is_empty() || s.len() > 511 {
            return Err(Der::INVAL);
        }
        out.push(s.to_string());
    }
    Ok(out)
}

/// Attribute values for set: non-NULL with a non-zero size.
///
/// # Safety
/// `values` and `sizes` hold `n` entries.
pub(crate) unsafe fn attr_values(
    n: usize,
    values: *const *const c_void,
    sizes: *const usize,
) -> DerResult<Vec<Vec<u8>>> {
    if values.is_null() || sizes.is_null() {
        return Err(Der::INVAL);
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: n entries in each array per the contract.
        let (v, s) = unsafe { (*values.add(i), *sizes.add(i)) };
        if v.is_null() || s == 0 {
            return Err(Der::INVAL);
        }
        // SAFETY: s readable bytes at v.
        out.push(unsafe { std::slice::from_raw_parts(v as *const u8, s) }.to_vec());
    }
    Ok(out)
}

/// Copies fetched attribute values out: truncated to each buffer, `sizes[i]` set to the
/// real size (0 for a missing name); with no buffers only the sizes.
///
/// # Safety
/// `sizes` has `values.len()` entries; `buffers` is NULL or has as many (each NULL or holding
/// `sizes[i]` bytes).
pub(crate) unsafe fn attr_fill(
    values: &[Option<Vec<u8>>],
    buffers: SendPtr<*mut c_void>,
    sizes: SendPtr<usize>,
) {
    for (i, v) in values.iter().enumerate() {
        let real = v.as_ref().map(Vec::len).unwrap_or(0);
        // SAFETY: per the function contract.
        unsafe {
            let room = *sizes.0.add(i);
            let buf = if buffers.0.is_null() {
                std::ptr::null_mut()
            } else {
                *buffers.0.add(i)
            };
            if let Some(v) = v
                && !buf.is_null()
            {
                std::ptr::copy_nonoverlapping(v.as_ptr(), buf as *mut u8, room.min(real));
            }
            *sizes.0.add(i) = real;
        }
    }
}

/// Writes a NUL-separated name list: names that do not fit are left out; `*size` becomes the
/// NUL-inclusive total.
///
/// # Safety
/// `size` is valid; `buffer` is NULL or holds `*size` bytes.
pub(crate) unsafe fn attr_list(names: &[String], buffer: SendPtr<c_char>, size: SendPtr<usize>) {
    let total: usize = names.iter().map(|n| n.len() + 1).sum();
    // SAFETY: per the function contract.
    unsafe {
        let room = *size.0;
        if !buffer.0.is_null() {
            let mut off = 0;
            for n in names {
                if off + n.len() + 1 > room {
                    break;
                }
                std::ptr::copy_nonoverlapping(n.as_ptr(), (buffer.0 as *mut u8).add(off), n.len());
                *(buffer.0 as *mut u8).add(off + n.len()) = 0;
                off += n.len() + 1;
            }
        }
        *size.0 = total;
    }
}

/// `daos_pool_list_attr`.
///
/// # Safety
/// `size` and `buffer` stay valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_pool_list_attr(
    poh: daos_handle_t,
    buffer: *mut c_char,
    size: *mut usize,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        if size.is_null() {
            return Der::INVAL.0;
        }
        let ids = client::pool_handle(poh.cookie)
            .map(|h| pool_ids(&h))
            .unwrap_or_default();
        let (buffer, size) = (SendPtr(buffer), SendPtr(size));
        run_daos("daos_pool_list_attr", &ids, ev, move || {
            match client::pool_handle(poh.cookie).and_then(|h| client::pool_list_attrs(&h)) {
                // SAFETY: valid until completion.
                Ok(names) => unsafe {
                    attr_list(&names, buffer, size);
                    0
                },
                Err(e) => e.0,
            }
        })
    })
}

/// `daos_pool_get_attr`.
///
/// # Safety
/// Arrays hold `n` entries and stay valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_pool_get_attr(
    poh: daos_handle_t,
    n: c_int,
    names: *const *const c_char,
    buffers: *const *mut c_void,
    sizes: *mut usize,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let names = match unsafe { attr_names(n, names) } {
            Ok(v) => v,
            Err(e) => return e.0,
        };
        if sizes.is_null() {
            return Der::INVAL.0;
        }
        let ids = client::pool_handle(poh.cookie)
            .map(|h| pool_ids(&h))
            .unwrap_or_default();
        let (buffers, sizes) = (SendPtr(buffers as *mut *mut c_void), SendPtr(sizes));
        run_daos("daos_pool_get_attr", &ids, ev, move || {
            match client::pool_handle(poh.cookie).and_then(|h| client::pool_get_attrs(&h, &names)) {
                // SAFETY: valid until completion.
                Ok(v) => unsafe {
                    attr_fill(&v, buffers, sizes);
                    0
                },
                Err(e) => e.0,
            }
        })
    })
}

/// `daos_pool_set_attr`.
///
/// # Safety
/// Arrays hold `n` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_pool_set_attr(
    poh: daos_handle_t,
    n: c_int,
    names: *const *const c_char,
    values: *const *const c_void,
    sizes: *const usize,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let attrs = match unsafe { attr_names(n, names) }.and_then(|ns| {
            // SAFETY: per the function contract.
            unsafe { attr_values(ns.len(), values, sizes) }
                .map(|vs| ns.into_iter().zip(vs).collect::<Vec<_>>())
        }) {
            Ok(a) => a,
            Err(e) => return e.0,
        };
        let ids = client::pool_handle(poh.cookie)
            .map(|h| pool_ids(&h))
            .unwrap_or_default();
        run_daos(
            "daos_pool_set_attr",
            &ids,
            ev,
            move || match client::pool_handle(poh.cookie)
                .and_then(|h| client::pool_set_attrs(&h, &attrs))
            {
                Ok(()) => 0,
                Err(e) => e.0,
            },
        )
    })
}

/// `daos_pool_del_attr`: names that do not exist are skipped, not an error.
///
/// # Safety
/// `names` holds `n` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_pool_del_attr(
    poh: daos_handle_t,
    n: c_int,
    names: *const *const c_char,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let names = match unsafe { attr_names(n, names) } {
            Ok(v) => v,
            Err(e) => return e.0,
        };
        let ids = client::pool_handle(poh.cookie)
            .map(|h| pool_ids(&h))
            .unwrap_or_default();
        run_daos(
            "daos_pool_del_attr",
            &ids,
            ev,
            move || match client::pool_handle(poh.cookie)
                .and_then(|h| client::pool_del_attrs(&h, &names))
            {
                Ok(()) => 0,
                Err(e) => e.0,
            },
        )
    })
}
