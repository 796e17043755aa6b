//! libgurt and library-level calls: init/fini, error strings, HLC, rank lists, object class
//! names (`src/client/api/init.c`, `src/gurt/{errno,hlc,misc}.c`, `src/object/obj_class.c`).

use std::collections::HashMap;
use std::ffi::{CString, c_char, c_int};

use super::{cstr, daos_guard, guard};
use crate::der::{self, Der};
use crate::ffi::{d_rank_list_t, daos_oclass_id_t};

/// `daos_init`.
#[unsafe(no_mangle)]
pub extern "C" fn daos_init() -> c_int {
    daos_guard(|| match crate::client::init() {
        Ok(()) => 0,
        Err(e) => e.0,
    })
}

/// `daos_fini`.
#[unsafe(no_mangle)]
pub extern "C" fn daos_fini() -> c_int {
    daos_guard(|| match crate::client::fini() {
        Ok(()) => 0,
        Err(e) => e.0,
    })
}

/// `daos_reinit`: for a child after fork; the emulator's threads restart lazily.
#[unsafe(no_mangle)]
pub extern "C" fn daos_reinit() -> c_int {
    daos_guard(|| {
        if crate::client::is_initialized() {
            0
        } else {
            Der::UNINIT.0
        }
    })
}

/// `d_errstr`.
#[unsafe(no_mangle)]
pub extern "C" fn d_errstr(rc: c_int) -> *const c_char {
    guard(c"DER_UNKNOWN".as_ptr(), || der::errstr(rc).as_ptr())
}

static UNKNOWN_DESC: parking_lot::Mutex<Option<HashMap<i32, CString>>> =
    parking_lot::Mutex::new(None);

/// `d_errdesc`: for unknown codes "Unknown error code N" (kept alive for the process).
#[unsafe(no_mangle)]
pub extern "C" fn d_errdesc(rc: c_int) -> *const c_char {
    guard(c"Unknown error".as_ptr(), || {
        if let Some(d) = der::errdesc(rc) {
            return d.as_ptr();
        }
        let mut map = UNKNOWN_DESC.lock();
        let entry = map
            .get_or_insert_with(HashMap::new)
            .entry(rc)
            .or_insert_with(|| {
                CString::new(format!("Unknown error code {rc}")).unwrap_or_default()
            });
        entry.as_ptr()
    })
}

/// `d_hlc_get`.
#[unsafe(no_mangle)]
pub extern "C" fn d_hlc_get() -> u64 {
    guard(0, crate::hlc::now)
}

/// `d_hlc2unixnsec`.
#[unsafe(no_mangle)]
pub extern "C" fn d_hlc2unixnsec(hlc: u64) -> u64 {
    crate::hlc::to_unix_nanos(hlc)
}

/// `d_unixnsec2hlc`.
#[unsafe(no_mangle)]
pub extern "C" fn d_unixnsec2hlc(unixnsec: u64) -> u64 {
    crate::hlc::from_unix_nanos(unixnsec)
}

/// `d_rank_list_alloc`: ranks 0..size-1.
#[unsafe(no_mangle)]
pub extern "C" fn d_rank_list_alloc(size: u32) -> *mut d_rank_list_t {
    guard(std::ptr::null_mut(), || {
        rank_list(&(0..size).collect::<Vec<_>>())
    })
}

/// A malloc'ed rank list holding `ranks`.
pub(crate) fn rank_list(ranks: &[u32]) -> *mut d_rank_list_t {
    // SAFETY: calloc of one list header; checked for NULL.
    let list =
        unsafe { libc::calloc(1, std::mem::size_of::<d_rank_list_t>()) } as *mut d_rank_list_t;
    if list.is_null() {
        return list;
    }
    if !ranks.is_empty() {
        // SAFETY: calloc of the rank array; checked for NULL.
        let arr = unsafe { libc::calloc(ranks.len(), 4) } as *mut u32;
        if arr.is_null() {
            // SAFETY: freeing what we just allocated.
            unsafe { libc::free(list.cast()) };
            return std::ptr::null_mut();
        }
        // SAFETY: arr has ranks.len() u32 slots; list is a valid header.
        unsafe {
            std::ptr::copy_nonoverlapping(ranks.as_ptr(), arr, ranks.len());
            (*list).rl_ranks = arr;
            (*list).rl_nr = ranks.len() as u32;
        }
    }
    list
}

/// `d_rank_list_free`.
///
/// # Safety
/// `rank_list` is NULL or a list from this library, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn d_rank_list_free(rank_list: *mut d_rank_list_t) {
    guard((), || {
        if rank_list.is_null() {
            return;
        }
        // SAFETY: a list allocated by rank_list() (malloc family), freed once.
        unsafe {
            libc::free((*rank_list).rl_ranks.cast());
            libc::free(rank_list.cast());
        }
    })
}

const MAX_GROUPS: u32 = (1 << 16) - 1;
const GROUPS: [u32; 8] = [1, 2, 4, 6, 8, 12, 16, 32];

fn class_table() -> &'static Vec<(String, u32)> {
    static TABLE: std::sync::OnceLock<Vec<(String, u32)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let def = |redun: u32, grp: u32| (redun << 24) | grp;
        let gname = |g: u32| {
            if g == MAX_GROUPS {
                "X".to_string()
            } else {
                g.to_string()
            }
        };
        let mut t = Vec::new();
        for g in GROUPS.into_iter().chain([MAX_GROUPS]) {
            t.push((format!("S{}", gname(g)), def(1, g)));
        }
        for (r, code) in [(2, 8), (3, 9), (4, 10), (5, 11), (6, 12)] {
            for g in GROUPS.into_iter().chain([MAX_GROUPS]) {
                t.push((format!("RP_{r}G{}", gname(g)), def(code, g)));
            }
        }
        for (r, code) in [
            (12, 14),
            (16, 15),
            (24, 16),
            (32, 17),
            (48, 18),
            (64, 19),
            (128, 20),
        ] {
            t.push((format!("RP_{r}G1"), def(code, 1)));
        }
        for (k, p, code) in [
            (2, 1, 32),
            (2, 2, 33),
            (4, 1, 34),
            (4, 2, 35),
            (8, 1, 36),
            (8, 2, 37),
            (16, 1, 38),
            (16, 2, 39),
        ] {
            for g in GROUPS.into_iter().chain([MAX_GROUPS]) {
                t.push((format!("EC_{k}P{p}G{}", gname(g)), def(code, g)));
            }
        }
        for (n, id) in [
            ("TINY", 51),
            ("SMALL", 52),
            ("LARGE", 53),
            ("MAX", 54),
            ("RP_TINY", 60),
            ("RP_SMALL", 61),
            ("RP_LARGE", 62),
            ("RP_MAX", 63),
            ("EC_TINY", 100),
            ("EC_SMALL", 101),
            ("EC_LARGE", 102),
            ("EC_MAX", 103),
        ] {
            t.push((n.to_string(), id));
        }
        t
    })
}

/// `daos_oclass_name2id`: 0 (`OC_UNKNOWN`) for an unknown name.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_oclass_name2id(name: *const c_char) -> c_int {
    guard(0, || {
        // SAFETY: name is NULL or a NUL-terminated string (C contract).
        let Some(n) = (unsafe { cstr(name) }) else {
            return 0;
        };
        class_table()
            .iter()
            .find(|(cn, _)| cn.eq_ignore_ascii_case(n))
            .map(|(_, id)| *id as c_int)
            .unwrap_or(0)
    })
}

/// `daos_oclass_id2name`: -1 for an unknown id.
///
/// # Safety
/// `name` has room for `MAX_OBJ_CLASS_NAME_LEN` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_oclass_id2name(oc_id: daos_oclass_id_t, name: *mut c_char) -> c_int {
    guard(-1, || {
        let Some((n, _)) = class_table().iter().find(|(_, id)| *id == oc_id) else {
            return -1;
        };
        if name.is_null() {
            return -1;
        }
        // SAFETY: the caller provides MAX_OBJ_CLASS_NAME_LEN bytes; names are shorter.
        unsafe {
            std::ptr::copy_nonoverlapping(n.as_ptr(), name.cast::<u8>(), n.len());
            *name.add(n.len()) = 0;
        }
        0
    })
}

/// Failures object class `id` tolerates, as `daos_oclass_cid2allowedfailures`
/// (src/object/obj_class.c) computes them: replicas − 1, or the EC parity
/// count. `Err` for an id that names no class; `Ok(None)` for the classes
/// named by size (TINY, RP_SMALL, EC_LARGE, ...), whose layout the emulator
/// does not know.
pub(crate) fn oclass_allowed_failures(id: u32) -> Result<Option<u32>, ()> {
    if !class_table().iter().any(|(_, cid)| *cid == id) {
        return Err(());
    }
    let redun = id >> 24;
    Ok(match redun {
        // S*: no protection.
        1 => Some(0),
        // RP_2 .. RP_6.
        8..=12 => Some(redun - 7),
        // RP_12 .. RP_128, single group.
        14..=20 => [12, 16, 24, 32, 48, 64, 128]
            .get((redun - 14) as usize)
            .map(|replicas| replicas - 1),
        // EC_kP1 (even codes) and EC_kP2 (odd codes).
        32..=39 => Some(if redun.is_multiple_of(2) { 1 } else { 2 }),
        _ => None,
    })
}

/// Object class of a name (for DFS attributes), 0 when unknown.
pub(crate) fn oclass_id(name: &str) -> u32 {
    class_table()
        .iter()
        .find(|(cn, _)| cn.eq_ignore_ascii_case(name))
        .map(|(_, id)| *id)
        .unwrap_or(0)
}
