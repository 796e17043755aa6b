//! Property helpers exported by libdaos_common (`src/common/prop.c`) and the conversions
//! between `daos_prop_t` and the emulator's property model.
//!
//! Ownership follows libdaos: strings and pointer values in entries are malloc'ed copies that
//! `daos_prop_free` / `daos_prop_fini` release with free(3).

use std::ffi::{c_char, c_int, c_void};

use super::{cstr, daos_guard, guard, memdup, strdup};
use crate::acl::{Acl, MAX_ACE_LEN};
use crate::der::{Der, DerResult};
use crate::ffi::{daos_prop_entry, daos_prop_t, daos_size_t};
use crate::props::{self, Kind, PropValue, Props, co};

/// `DAOS_PROP_ENTRIES_MAX_NR`.
const ENTRIES_MAX: u32 = 128;

fn entries<'a>(prop: *const daos_prop_t) -> &'a mut [daos_prop_entry] {
    // SAFETY: callers pass a daos_prop_t whose dpp_entries holds dpp_nr entries (C contract);
    // an empty slice is used for NULL or zero entries.
    unsafe {
        if prop.is_null() || (*prop).dpp_nr == 0 || (*prop).dpp_entries.is_null() {
            return &mut [];
        }
        std::slice::from_raw_parts_mut((*prop).dpp_entries, (*prop).dpp_nr as usize)
    }
}

fn val(e: &daos_prop_entry) -> u64 {
    // SAFETY: reading the u64 view of the value union is always defined (plain bytes).
    unsafe { e.__bindgen_anon_1.dpe_val }
}

fn ptr(e: &daos_prop_entry) -> *mut c_void {
    // SAFETY: reading the pointer view of the value union (plain bytes).
    unsafe { e.__bindgen_anon_1.dpe_val_ptr }
}

/// Reads a packed ACL at `p`: its 8-byte header first, then exactly the declared length.
///
/// # Safety
/// `p` is NULL or points to a `struct daos_acl` with `dal_len` bytes of entries.
pub(crate) unsafe fn read_acl_bytes(p: *const c_void) -> DerResult<Vec<u8>> {
    if p.is_null() {
        return Err(Der::INVAL);
    }
    // SAFETY: the header is 8 readable bytes per the function contract.
    let header = unsafe { std::slice::from_raw_parts(p as *const u8, 8) };
    let (_, len) = Acl::header(header).ok_or(Der::INVAL)?;
    if len as usize > MAX_ACE_LEN {
        return Err(Der::INVAL);
    }
    // SAFETY: the ACL holds 8 + dal_len bytes per the function contract.
    Ok(unsafe { std::slice::from_raw_parts(p as *const u8, 8 + len as usize) }.to_vec())
}

/// The value of one entry in the emulator's model.
fn entry_value(e: &daos_prop_entry) -> DerResult<PropValue> {
    Ok(match props::kind(e.dpe_type) {
        Kind::Val => PropValue::Val(val(e)),
        Kind::Str => {
            // SAFETY: string-typed entries hold NULL or a NUL-terminated string.
            let s = unsafe { cstr(ptr(e) as *const c_char) }.ok_or(Der::INVAL)?;
            PropValue::Str(s.to_string())
        }
        // SAFETY: ACL-typed entries hold NULL or a packed ACL.
        Kind::Acl => PropValue::Acl(unsafe { read_acl_bytes(ptr(e)) }?),
        Kind::Roots => {
            let p = ptr(e) as *const u64;
            if p.is_null() {
                return Err(Der::INVAL);
            }
            let mut r = [0u64; 8];
            // SAFETY: a struct daos_prop_co_roots is 4 object ids, 8 u64 words.
            unsafe { std::ptr::copy_nonoverlapping(p, r.as_mut_ptr(), 8) };
            PropValue::Roots(r)
        }
        Kind::Ranks => {
            let l = ptr(e) as *const crate::ffi::d_rank_list_t;
            if l.is_null() {
                return Ok(PropValue::Ranks(Vec::new()));
            }
            // SAFETY: a d_rank_list_t with rl_nr ranks.
            let ranks = unsafe {
                if (*l).rl_ranks.is_null() {
                    Vec::new()
                } else {
                    std::slice::from_raw_parts((*l).rl_ranks, (*l).rl_nr as usize).to_vec()
                }
            };
            PropValue::Ranks(ranks)
        }
    })
}

/// The caller's container properties, checked like `daos_prop_valid(.., false, true)`
/// (structure, duplicate types) — value checks happen in the client layer.
///
/// # Safety
/// `prop` is NULL or a valid `daos_prop_t`.
pub(crate) unsafe fn read_cont_props(prop: *const daos_prop_t) -> DerResult<Vec<(u32, PropValue)>> {
    if prop.is_null() {
        return Ok(Vec::new());
    }
    // SAFETY: prop is a valid daos_prop_t per the contract.
    let (nr, ents) = unsafe { ((*prop).dpp_nr, (*prop).dpp_entries) };
    if nr > ENTRIES_MAX || (nr == 0) != ents.is_null() {
        return Err(Der::INVAL);
    }
    let mut out: Vec<(u32, PropValue)> = Vec::new();
    for e in entries(prop) {
        if e.dpe_type <= co::MIN || e.dpe_type >= co::MAX {
            return Err(Der::INVAL);
        }
        if e.dpe_flags & props::ENTRY_NOT_SET != 0 {
            continue;
        }
        if out.iter().any(|(t, _)| *t == e.dpe_type) {
            return Err(Der::INVAL);
        }
        out.push((e.dpe_type, entry_value(e)?));
    }
    Ok(out)
}

/// Frees the value an entry owns and clears it.
fn free_value(e: &mut daos_prop_entry) {
    let p = ptr(e);
    match props::kind(e.dpe_type) {
        Kind::Val => return,
        // SAFETY: a rank list allocated by this library (malloc family).
        Kind::Ranks => unsafe { super::gurt::d_rank_list_free(p.cast()) },
        // SAFETY: strings and pointers in entries are malloc'ed by this library or the caller.
        _ => unsafe { libc::free(p) },
    }
    e.__bindgen_anon_1.dpe_val_ptr = std::ptr::null_mut();
}

/// Stores a value into an entry, allocating what it points to.
pub(crate) fn set_value(e: &mut daos_prop_entry, t: u32, v: &PropValue) -> DerResult<()> {
    e.dpe_type = t;
    e.dpe_flags = 0;
    let nomem = |p: *mut c_void| if p.is_null() { Err(Der::NOMEM) } else { Ok(p) };
    match v {
        PropValue::Val(x) => e.__bindgen_anon_1.dpe_val = *x,
        PropValue::Str(s) => e.__bindgen_anon_1.dpe_str = nomem(strdup(s).cast())?.cast(),
        PropValue::Acl(b) => e.__bindgen_anon_1.dpe_val_ptr = nomem(memdup(b))?,
        PropValue::Roots(r) => {
            let bytes: Vec<u8> = r.iter().flat_map(|w| w.to_ne_bytes()).collect();
            e.__bindgen_anon_1.dpe_val_ptr = nomem(memdup(&bytes))?;
        }
        PropValue::Ranks(r) => {
            e.__bindgen_anon_1.dpe_val_ptr = nomem(super::gurt::rank_list(r).cast())?
        }
    }
    Ok(())
}

/// A new `daos_prop_t` holding `props` (freed with `daos_prop_free`).
pub(crate) fn alloc_props(values: &[(u32, PropValue)]) -> DerResult<*mut daos_prop_t> {
    let prop = daos_prop_alloc(values.len() as u32);
    if prop.is_null() {
        return Err(Der::NOMEM);
    }
    for (e, (t, v)) in entries(prop).iter_mut().zip(values) {
        if let Err(err) = set_value(e, *t, v) {
            // SAFETY: prop came from daos_prop_alloc above.
            unsafe { daos_prop_free(prop) };
            return Err(err);
        }
    }
    Ok(prop)
}

/// Fills a query's `daos_prop_t` like `daos_prop_copy`: every property when it has no
/// entries, else the listed types (unknown ones get `DAOS_PROP_ENTRY_NOT_SET`).
///
/// # Safety
/// `prop` is a valid `daos_prop_t`.
pub(crate) unsafe fn fill_query(prop: *mut daos_prop_t, all: &Props) -> DerResult<()> {
    // SAFETY: prop is valid per the contract.
    let nr = unsafe { (*prop).dpp_nr };
    if nr == 0 {
        // SAFETY: calloc of the entry array; checked.
        let ents = unsafe { libc::calloc(all.len(), std::mem::size_of::<daos_prop_entry>()) }
            as *mut daos_prop_entry;
        if ents.is_null() {
            return Err(Der::NOMEM);
        }
        // SAFETY: attaching the new array to the caller's (entry-less) prop.
        unsafe {
            (*prop).dpp_entries = ents;
            (*prop).dpp_nr = all.len() as u32;
        }
        for (e, (t, v)) in entries(prop).iter_mut().zip(all) {
            set_value(e, *t, v)?;
        }
        return Ok(());
    }
    let reply: Vec<(&u32, &PropValue)> = all.iter().collect();
    for (i, e) in entries(prop).iter_mut().enumerate() {
        let t = if e.dpe_type == 0 {
            match reply.get(i) {
                Some((t, _)) => **t,
                None => return Ok(()),
            }
        } else {
            e.dpe_type
        };
        match all.get(&t) {
            Some(v) => set_value(e, t, v)?,
            None => {
                e.dpe_type = t;
                e.dpe_flags |= props::ENTRY_NOT_SET;
            }
        }
    }
    Ok(())
}

/// `daos_prop_alloc`.
#[unsafe(no_mangle)]
pub extern "C" fn daos_prop_alloc(entries_nr: u32) -> *mut daos_prop_t {
    guard(std::ptr::null_mut(), || {
        if entries_nr > ENTRIES_MAX {
            return std::ptr::null_mut();
        }
        // SAFETY: calloc of the header; checked.
        let prop =
            unsafe { libc::calloc(1, std::mem::size_of::<daos_prop_t>()) } as *mut daos_prop_t;
        if prop.is_null() || entries_nr == 0 {
            return prop;
        }
        // SAFETY: calloc of the entries; checked; attached to the fresh header.
        unsafe {
            let ents = libc::calloc(entries_nr as usize, std::mem::size_of::<daos_prop_entry>())
                as *mut daos_prop_entry;
            if ents.is_null() {
                libc::free(prop.cast());
                return std::ptr::null_mut();
            }
            (*prop).dpp_entries = ents;
            (*prop).dpp_nr = entries_nr;
        }
        prop
    })
}

/// `daos_prop_fini`: frees the entries (and what they own), keeps the header.
///
/// # Safety
/// `prop` is a valid `daos_prop_t` whose allocations come from the malloc family.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_prop_fini(prop: *mut daos_prop_t) {
    guard((), || {
        if prop.is_null() {
            return;
        }
        for e in entries(prop) {
            free_value(e);
        }
        // SAFETY: dpp_entries was malloc'ed (by us or the caller, as libdaos expects).
        unsafe {
            libc::free((*prop).dpp_entries.cast());
            (*prop).dpp_entries = std::ptr::null_mut();
            (*prop).dpp_nr = 0;
        }
    })
}

/// `daos_prop_free`.
///
/// # Safety
/// `prop` is NULL or from `daos_prop_alloc` (or a query of this library).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_prop_free(prop: *mut daos_prop_t) {
    guard((), || {
        if prop.is_null() {
            return;
        }
        // SAFETY: per the function contract.
        unsafe {
            daos_prop_fini(prop);
            libc::free(prop.cast());
        }
    })
}

/// `daos_prop_entry_get`: the first entry of a type, or NULL.
///
/// # Safety
/// `prop` is NULL or a valid `daos_prop_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_prop_entry_get(
    prop: *mut daos_prop_t,
    type_: u32,
) -> *mut daos_prop_entry {
    guard(std::ptr::null_mut(), || {
        entries(prop)
            .iter_mut()
            .find(|e| e.dpe_type == type_)
            .map(|e| e as *mut _)
            .unwrap_or(std::ptr::null_mut())
    })
}

/// `daos_prop_has_str`.
///
/// # Safety
/// `entry` is a valid entry.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_prop_has_str(entry: *mut daos_prop_entry) -> bool {
    guard(false, || {
        // SAFETY: a valid entry per the contract (checked for NULL first).
        !entry.is_null() && props::kind(unsafe { (*entry).dpe_type }) == Kind::Str
    })
}

/// `daos_prop_has_ptr`.
///
/// # Safety
/// `entry` is a valid entry.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_prop_has_ptr(entry: *mut daos_prop_entry) -> bool {
    guard(false, || {
        if entry.is_null() {
            return false;
        }
        // SAFETY: a valid, non-NULL entry per the contract.
        let t = unsafe { (*entry).dpe_type };
        matches!(props::kind(t), Kind::Acl | Kind::Roots | Kind::Ranks)
    })
}

/// `daos_prop_entry_set_str`: stores a copy of at most `len` bytes of `str`.
///
/// # Safety
/// `entry` is a valid entry; `str` is NULL or readable for `len` bytes or up to its NUL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_prop_entry_set_str(
    entry: *mut daos_prop_entry,
    str_: *const c_char,
    len: daos_size_t,
) -> c_int {
    daos_guard(|| {
        if entry.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: a valid entry per the contract.
        let e = unsafe { &mut *entry };
        if props::kind(e.dpe_type) != Kind::Str {
            return Der::INVAL.0;
        }
        free_value(e);
        if str_.is_null() || len == 0 {
            return 0;
        }
        // SAFETY: strnlen within len bytes of a caller string, then a bounded copy.
        let n = unsafe { libc::strnlen(str_, len as usize) };
        // SAFETY: n readable bytes at str_.
        let bytes = unsafe { std::slice::from_raw_parts(str_ as *const u8, n) };
        let s = String::from_utf8_lossy(bytes);
        let p = strdup(&s);
        if p.is_null() {
            return Der::NOMEM.0;
        }
        e.__bindgen_anon_1.dpe_str = p;
        0
    })
}

/// `daos_prop_set_str`: `-DER_NONEXIST` when `prop` has no entry of `type`.
///
/// # Safety
/// As [`daos_prop_entry_set_str`], for an entry of `prop`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_prop_set_str(
    prop: *mut daos_prop_t,
    type_: u32,
    str_: *const c_char,
    len: daos_size_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let e = unsafe { daos_prop_entry_get(prop, type_) };
        if e.is_null() {
            return Der::NONEXIST.0;
        }
        // SAFETY: e is an entry of prop.
        unsafe { daos_prop_entry_set_str(e, str_, len) }
    })
}

/// `daos_prop_entry_set_ptr`: stores a copy of `size` bytes.
///
/// # Safety
/// `entry` is a valid entry; `ptr` is NULL or readable for `size` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_prop_entry_set_ptr(
    entry: *mut daos_prop_entry,
    ptr_: *const c_void,
    size: daos_size_t,
) -> c_int {
    daos_guard(|| {
        if entry.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: a valid entry per the contract.
        let e = unsafe { &mut *entry };
        if !matches!(
            props::kind(e.dpe_type),
            Kind::Acl | Kind::Roots | Kind::Ranks
        ) {
            return Der::INVAL.0;
        }
        free_value(e);
        if ptr_.is_null() || size == 0 {
            return 0;
        }
        // SAFETY: size readable bytes at ptr_ per the contract.
        let p = memdup(unsafe { std::slice::from_raw_parts(ptr_ as *const u8, size as usize) });
        if p.is_null() {
            return Der::NOMEM.0;
        }
        e.__bindgen_anon_1.dpe_val_ptr = p;
        0
    })
}

/// `daos_prop_set_ptr`.
///
/// # Safety
/// As [`daos_prop_entry_set_ptr`], for an entry of `prop`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_prop_set_ptr(
    prop: *mut daos_prop_t,
    type_: u32,
    ptr_: *const c_void,
    size: daos_size_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let e = unsafe { daos_prop_entry_get(prop, type_) };
        if e.is_null() {
            return Der::NONEXIST.0;
        }
        // SAFETY: e is an entry of prop.
        unsafe { daos_prop_entry_set_ptr(e, ptr_, size) }
    })
}

/// `daos_prop_entry_dup_ptr`: copies `len` bytes of the source's pointer value.
///
/// # Safety
/// Both entries are valid; the source points to at least `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_prop_entry_dup_ptr(
    entry_dst: *mut daos_prop_entry,
    entry_src: *mut daos_prop_entry,
    len: usize,
) -> c_int {
    daos_guard(|| {
        if entry_dst.is_null() || entry_src.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: valid entries; the source pointer holds len bytes.
        unsafe {
            let src = ptr(&*entry_src);
            if src.is_null() {
                return Der::INVAL.0;
            }
            let p = memdup(std::slice::from_raw_parts(src as *const u8, len));
            if p.is_null() {
                return Der::NOMEM.0;
            }
            (*entry_dst).__bindgen_anon_1.dpe_val_ptr = p;
        }
        0
    })
}

/// `daos_prop_entry_cmp_acl`: 0 when both ACLs are byte-identical, else `-DER_MISMATCH`.
///
/// # Safety
/// Both entries are valid ACL entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_prop_entry_cmp_acl(
    entry1: *mut daos_prop_entry,
    entry2: *mut daos_prop_entry,
) -> c_int {
    daos_guard(|| {
        if entry1.is_null() || entry2.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: valid entries per the contract.
        let (a, b) = unsafe { (ptr(&*entry1), ptr(&*entry2)) };
        if a.is_null() && b.is_null() {
            return 0;
        }
        // SAFETY: ACL entries hold NULL or packed ACLs.
        match unsafe { (read_acl_bytes(a), read_acl_bytes(b)) } {
            (Ok(x), Ok(y)) if x == y => 0,
            _ => Der::MISMATCH.0,
        }
    })
}

/// Copies a whole property (types, flags, owned values).
fn copy_props(src: *const daos_prop_t, only_set: bool) -> DerResult<Vec<(u32, u16, PropValue)>> {
    let mut out = Vec::new();
    for e in entries(src) {
        if only_set && e.dpe_flags & props::ENTRY_NOT_SET != 0 {
            continue;
        }
        let v = match props::kind(e.dpe_type) {
            Kind::Val => PropValue::Val(val(e)),
            _ if ptr(e).is_null() => {
                out.push((e.dpe_type, e.dpe_flags, PropValue::Val(0)));
                continue;
            }
            _ => entry_value(e)?,
        };
        out.push((e.dpe_type, e.dpe_flags, v));
    }
    Ok(out)
}

fn build(values: Vec<(u32, u16, PropValue)>) -> DerResult<*mut daos_prop_t> {
    let prop = daos_prop_alloc(values.len() as u32);
    if prop.is_null() && !values.is_empty() {
        return Err(Der::NOMEM);
    }
    for (e, (t, flags, v)) in entries(prop).iter_mut().zip(values) {
        let is_null_ptr = props::kind(t) != Kind::Val && v == PropValue::Val(0);
        if is_null_ptr {
            e.dpe_type = t;
        } else {
            set_value(e, t, &v)?;
        }
        e.dpe_flags = flags;
    }
    Ok(prop)
}

/// `daos_prop_merge2`: a new property with `old`'s entries updated/extended by `new`'s.
///
/// # Safety
/// Both properties are valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_prop_merge2(
    old_prop: *mut daos_prop_t,
    new_prop: *mut daos_prop_t,
    out_prop: *mut *mut daos_prop_t,
) -> c_int {
    daos_guard(|| {
        if old_prop.is_null() || new_prop.is_null() || out_prop.is_null() {
            return Der::INVAL.0;
        }
        let merged = (|| -> DerResult<*mut daos_prop_t> {
            let mut values = copy_props(old_prop, false)?;
            for (t, f, v) in copy_props(new_prop, false)? {
                match values.iter_mut().find(|(ot, _, _)| *ot == t) {
                    Some(slot) => *slot = (t, f, v),
                    None => values.push((t, f, v)),
                }
            }
            build(values)
        })();
        match merged {
            Ok(p) => {
                // SAFETY: out_prop is a valid out-pointer.
                unsafe { *out_prop = p };
                0
            }
            Err(e) => e.0,
        }
    })
}

/// `daos_prop_merge`.
///
/// # Safety
/// Both properties are valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_prop_merge(
    old_prop: *mut daos_prop_t,
    new_prop: *mut daos_prop_t,
) -> *mut daos_prop_t {
    guard(std::ptr::null_mut(), || {
        let mut out = std::ptr::null_mut();
        // SAFETY: forwarding the caller's valid properties.
        if unsafe { daos_prop_merge2(old_prop, new_prop, &mut out) } == 0 {
            out
        } else {
            std::ptr::null_mut()
        }
    })
}

fn parse_entry(name: &str, value: &str) -> DerResult<(u32, PropValue)> {
    let num = || -> DerResult<u64> {
        let v = value.trim();
        let r = if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
            u64::from_str_radix(h, 16)
        } else {
            v.parse()
        };
        r.map_err(|_| Der::INVAL)
    };
    let pick = |names: &[&str]| {
        names
            .iter()
            .position(|n| *n == value)
            .map(|i| i as u64)
            .ok_or(Der::INVAL)
    };
    Ok(match name {
        "label" => (co::LABEL, PropValue::Str(value.to_string())),
        "cksum" => (
            co::CSUM,
            PropValue::Val(pick(&[
                "off", "crc16", "crc32", "crc64", "sha1", "sha256", "sha512", "adler32",
            ])?),
        ),
        "cksum_size" => (co::CSUM_CHUNK_SIZE, PropValue::Val(num()?)),
        "srv_cksum" => (
            co::CSUM_SERVER_VERIFY,
            PropValue::Val(pick(&["off", "on"])?),
        ),
        "dedup" => (co::DEDUP, PropValue::Val(pick(&["off", "memcmp", "hash"])?)),
        "dedup_threshold" => (co::DEDUP_THRESHOLD, PropValue::Val(num()?)),
        "compression" => (
            co::COMPRESS,
            PropValue::Val(pick(&[
                "off", "lz4", "deflate", "deflate1", "deflate2", "deflate3", "deflate4",
            ])?),
        ),
        "encryption" => (
            co::ENCRYPT,
            PropValue::Val(pick(&[
                "off",
                "aes-xts128",
                "aes-xts256",
                "aes-cbc128",
                "aes-cbc192",
                "aes-cbc256",
                "aes-gcm128",
                "aes-gcm256",
            ])?),
        ),
        "rd_fac" | "rf" => (
            co::REDUN_FAC,
            PropValue::Val(pick(&["0", "1", "2", "3", "4"])?),
        ),
        "ec_cell_sz" => (co::EC_CELL_SZ, PropValue::Val(num()?)),
        "ec_pda" => (co::EC_PDA, PropValue::Val(num()?)),
        "rp_pda" => (co::RP_PDA, PropValue::Val(num()?)),
        "perf_domain" => (co::PERF_DOMAIN, PropValue::Val(num()?)),
        // Read-only ones (layout_type, owner, status, ...) and unknown names alike.
        _ => return Err(Der::INVAL),
    })
}

/// `daos_prop_from_str`: `"name:value;name:value"` as `daos cont create --properties`.
///
/// # Safety
/// `str_` is readable for `len` bytes (or up to its NUL); `prop` is a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_prop_from_str(
    str_: *const c_char,
    len: daos_size_t,
    prop: *mut *mut daos_prop_t,
) -> c_int {
    daos_guard(|| {
        if str_.is_null() || len == 0 || prop.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: bounded read of the caller's string.
        let n = unsafe { libc::strnlen(str_, len as usize) };
        // SAFETY: n readable bytes.
        let s =
            String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(str_ as *const u8, n) })
                .into_owned();
        let mut values = Vec::new();
        for part in s.split(';').filter(|p| !p.is_empty()) {
            let Some((name, value)) = part.split_once(':') else {
                return Der::INVAL.0;
            };
            if value.is_empty() {
                return Der::INVAL.0;
            }
            match parse_entry(name, value) {
                Ok(v) => values.push(v),
                Err(e) => return e.0,
            }
        }
        if values.is_empty() {
            return Der::INVAL.0;
        }
        match alloc_props(&values) {
            Ok(p) => {
                // SAFETY: prop is a valid out-pointer.
                unsafe { *prop = p };
                0
            }
            Err(e) => e.0,
        }
    })
}
