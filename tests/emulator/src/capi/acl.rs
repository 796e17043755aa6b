//! ACL helpers exported by libdaos_common (`src/common/acl_api.c`, `acl_util.c`,
//! `acl_principal.c`). ACLs and ACEs are single malloc'ed blobs in the packed layout.

use std::ffi::{c_char, c_int};

use super::{cstr, daos_guard, guard, memdup, strdup};
use crate::acl::{ACE_HEADER, Ace, Acl};
use crate::der::{Der, DerResult};
use crate::ffi::{daos_ace, daos_acl, daos_acl_principal_type, gid_t, uid_t};
use crate::fsutil;

/// Reads a packed ACE (header first, then its declared principal length).
///
/// # Safety
/// `p` is NULL or points to a complete packed ACE.
unsafe fn ace_bytes<'a>(p: *const daos_ace) -> Option<&'a [u8]> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the 32-byte header is readable per the contract.
    let plen = unsafe { (*p).dae_principal_len } as usize;
    // SAFETY: header plus principal bytes are readable per the contract.
    Some(unsafe { std::slice::from_raw_parts(p as *const u8, ACE_HEADER + plen) })
}

/// # Safety
/// `p` is NULL or points to a complete packed ACE.
unsafe fn read_ace(p: *const daos_ace) -> DerResult<Ace> {
    // SAFETY: per the function contract.
    let bytes = unsafe { ace_bytes(p) }.ok_or(Der::INVAL)?;
    Ace::parse(bytes).map(|(a, _)| a)
}

/// # Safety
/// `p` is NULL or points to a packed ACL with `dal_len` bytes of entries.
unsafe fn acl_raw<'a>(p: *const daos_acl) -> Option<&'a [u8]> {
    if p.is_null() {
        return None;
    }
    // SAFETY: header then dal_len bytes, per the contract.
    unsafe {
        let len = (*p).dal_len as usize;
        Some(std::slice::from_raw_parts(p as *const u8, 8 + len))
    }
}

/// Parses an ACL without the ordering/duplicate checks (the add/remove helpers do not
/// validate either).
fn parse_loose(b: &[u8]) -> DerResult<Acl> {
    let (_, len) = Acl::header(b).ok_or(Der::INVAL)?;
    let mut rest = b.get(8..8 + len as usize).ok_or(Der::INVAL)?;
    let mut aces = Vec::new();
    while !rest.is_empty() {
        let (a, n) = Ace::parse(rest)?;
        aces.push(a);
        rest = &rest[n..];
    }
    Ok(Acl { aces })
}

fn packed_ace(a: &Ace) -> *mut daos_ace {
    let mut b = Vec::new();
    a.write_to(&mut b);
    memdup(&b) as *mut daos_ace
}

fn packed_acl(a: &Acl) -> *mut daos_acl {
    memdup(&a.to_bytes()) as *mut daos_acl
}

/// `daos_acl_create`: the entries sorted by principal type.
///
/// # Safety
/// `aces` holds `num_aces` pointers to packed ACEs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_create(aces: *mut *mut daos_ace, num_aces: u16) -> *mut daos_acl {
    guard(std::ptr::null_mut(), || {
        let mut list = Vec::new();
        for i in 0..num_aces as usize {
            // SAFETY: aces has num_aces entries, each a packed ACE (contract).
            match unsafe { read_ace(*aces.add(i)) } {
                Ok(a) => list.push(a),
                Err(_) => return std::ptr::null_mut(),
            }
        }
        packed_acl(&Acl::new(list))
    })
}

/// `daos_acl_dup`.
///
/// # Safety
/// `acl` is NULL or a packed ACL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_dup(acl: *mut daos_acl) -> *mut daos_acl {
    // SAFETY: per the function contract.
    guard(std::ptr::null_mut(), || match unsafe { acl_raw(acl) } {
        Some(b) => memdup(b) as *mut daos_acl,
        None => std::ptr::null_mut(),
    })
}

/// `daos_acl_free`.
///
/// # Safety
/// `acl` is NULL or a malloc'ed ACL not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_free(acl: *mut daos_acl) {
    // SAFETY: per the function contract.
    guard((), || unsafe { libc::free(acl.cast()) })
}

/// `daos_ace_free`.
///
/// # Safety
/// `ace` is NULL or a malloc'ed ACE not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_ace_free(ace: *mut daos_ace) {
    // SAFETY: per the function contract.
    guard((), || unsafe { libc::free(ace.cast()) })
}

/// `daos_acl_get_size`.
///
/// # Safety
/// `acl` is NULL or a packed ACL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_get_size(acl: *mut daos_acl) -> isize {
    guard(Der::INVAL.0 as isize, || {
        if acl.is_null() {
            return Der::INVAL.0 as isize;
        }
        // SAFETY: a valid ACL header.
        8 + unsafe { (*acl).dal_len } as isize
    })
}

/// `daos_ace_get_size`.
///
/// # Safety
/// `ace` is NULL or a packed ACE.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_ace_get_size(ace: *mut daos_ace) -> isize {
    guard(Der::INVAL.0 as isize, || {
        if ace.is_null() {
            return Der::INVAL.0 as isize;
        }
        // SAFETY: a valid ACE header.
        (ACE_HEADER + unsafe { (*ace).dae_principal_len } as usize) as isize
    })
}

/// `daos_acl_get_next_ace`: the first entry for NULL `current_ace`, NULL past the end.
///
/// # Safety
/// `acl` is NULL or a packed ACL; `current_ace` is NULL or an entry inside it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_get_next_ace(
    acl: *mut daos_acl,
    current_ace: *mut daos_ace,
) -> *mut daos_ace {
    guard(std::ptr::null_mut(), || {
        if acl.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: a valid ACL per the contract; addresses are only compared and offset
        // within its dal_len bytes.
        unsafe {
            let start = (acl as *mut u8).add(8);
            let end = start.add((*acl).dal_len as usize);
            if current_ace.is_null() {
                return if (*acl).dal_len > 0 {
                    start as *mut daos_ace
                } else {
                    std::ptr::null_mut()
                };
            }
            let cur = current_ace as *mut u8;
            if cur < start || cur >= end {
                return std::ptr::null_mut();
            }
            let next = cur.add(ACE_HEADER + (*current_ace).dae_principal_len as usize);
            if next >= end {
                std::ptr::null_mut()
            } else {
                next as *mut daos_ace
            }
        }
    })
}

fn needs_name(t: u32) -> bool {
    t == 1 || t == 3
}

/// `daos_acl_get_ace_for_principal`: a pointer into the ACL, or `-DER_NONEXIST`.
///
/// # Safety
/// `acl` is a packed ACL; `principal_name` NULL or a string; `ace` a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_get_ace_for_principal(
    acl: *mut daos_acl,
    type_: daos_acl_principal_type,
    principal_name: *const c_char,
    ace: *mut *mut daos_ace,
) -> c_int {
    daos_guard(|| {
        if acl.is_null()
            || ace.is_null()
            || type_ > 4
            || (needs_name(type_) && principal_name.is_null())
        {
            return Der::INVAL.0;
        }
        // SAFETY: per the function contract.
        let name = unsafe { cstr(principal_name) };
        let mut cur = std::ptr::null_mut();
        loop {
            // SAFETY: iterating the caller's valid ACL.
            cur = unsafe { daos_acl_get_next_ace(acl, cur) };
            if cur.is_null() {
                return Der::NONEXIST.0;
            }
            // SAFETY: cur points to an entry inside the ACL.
            let Ok(a) = (unsafe { read_ace(cur) }) else {
                return Der::NONEXIST.0;
            };
            if u32::from(a.principal_type) == type_
                && (!needs_name(type_) || a.name.as_deref() == name)
            {
                // SAFETY: ace is a valid out-pointer.
                unsafe { *ace = cur };
                return 0;
            }
        }
    })
}

/// `daos_acl_add_ace`: replaces the entry of the same principal or inserts it in order.
///
/// # Safety
/// `acl` points to a malloc'ed packed ACL pointer (replaced); `new_ace` is a packed ACE.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_add_ace(
    acl: *mut *mut daos_acl,
    new_ace: *mut daos_ace,
) -> c_int {
    daos_guard(|| {
        if acl.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: per the function contract.
        let (cur, ace) = unsafe { (acl_raw(*acl), read_ace(new_ace)) };
        let (Some(cur), Ok(ace)) = (cur, ace) else {
            return Der::INVAL.0;
        };
        let Ok(mut parsed) = parse_loose(cur) else {
            return Der::INVAL.0;
        };
        parsed.add(ace);
        let out = packed_acl(&parsed);
        if out.is_null() {
            return Der::NOMEM.0;
        }
        // SAFETY: replacing the caller's malloc'ed ACL with the new one.
        unsafe {
            libc::free((*acl).cast());
            *acl = out;
        }
        0
    })
}

/// `daos_acl_remove_ace`.
///
/// # Safety
/// As [`daos_acl_add_ace`]; `principal_name` NULL or a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_remove_ace(
    acl: *mut *mut daos_acl,
    type_: daos_acl_principal_type,
    principal_name: *const c_char,
) -> c_int {
    daos_guard(|| {
        if acl.is_null() || type_ > 4 {
            return Der::INVAL.0;
        }
        // SAFETY: per the function contract.
        let (cur, name) = unsafe { (acl_raw(*acl), cstr(principal_name)) };
        let Some(cur) = cur else { return Der::INVAL.0 };
        let Ok(mut parsed) = parse_loose(cur) else {
            return Der::INVAL.0;
        };
        if let Err(e) = parsed.remove(type_ as u8, name) {
            return e.0;
        }
        let out = packed_acl(&parsed);
        if out.is_null() {
            return Der::NOMEM.0;
        }
        // SAFETY: replacing the caller's malloc'ed ACL.
        unsafe {
            libc::free((*acl).cast());
            *acl = out;
        }
        0
    })
}

/// `daos_acl_validate`: the structure only. libdaos since 2.4 exports no pool/container
/// flavour that also checks the permission mask.
///
/// # Safety
/// `acl` is NULL or a packed ACL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_validate(acl: *mut daos_acl) -> c_int {
    daos_guard(|| {
        if acl.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: the header is readable (caller contract); the length is checked before the
        // rest is read.
        let len = unsafe { (*acl).dal_len } as usize;
        if len > crate::acl::MAX_ACE_LEN {
            return Der::INVAL.0;
        }
        // SAFETY: as above.
        let Some(b) = (unsafe { acl_raw(acl) }) else {
            return Der::INVAL.0;
        };
        Acl::from_bytes(b).err().map(|e| e.0).unwrap_or(0)
    })
}

/// `daos_ace_create`.
///
/// # Safety
/// `principal_name` is NULL or a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_ace_create(
    type_: daos_acl_principal_type,
    principal_name: *const c_char,
) -> *mut daos_ace {
    guard(std::ptr::null_mut(), || {
        // SAFETY: per the function contract.
        let name = unsafe { cstr(principal_name) };
        match Ace::new(type_.min(255) as u8, name) {
            Some(a) if type_ <= 4 => packed_ace(&a),
            _ => std::ptr::null_mut(),
        }
    })
}

/// `daos_ace_is_valid`.
///
/// # Safety
/// `ace` is NULL or a packed ACE.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_ace_is_valid(ace: *mut daos_ace) -> bool {
    guard(false, || {
        // SAFETY: per the function contract.
        let parsed = unsafe { read_ace(ace) };
        parsed.map(|a| a.is_valid()).unwrap_or(false)
    })
}

/// `daos_acl_uid_to_principal`: `"name@"`, malloc'ed.
///
/// # Safety
/// `name` is a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_uid_to_principal(uid: uid_t, name: *mut *mut c_char) -> c_int {
    daos_guard(|| {
        if name.is_null() {
            return Der::INVAL.0;
        }
        let Some(n) = fsutil::user_name(uid) else {
            return Der::NONEXIST.0;
        };
        // SAFETY: valid out-pointer.
        unsafe { *name = strdup(&format!("{n}@")) };
        0
    })
}

/// `daos_acl_gid_to_principal`.
///
/// # Safety
/// `name` is a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_gid_to_principal(gid: gid_t, name: *mut *mut c_char) -> c_int {
    daos_guard(|| {
        if name.is_null() {
            return Der::INVAL.0;
        }
        let Some(n) = fsutil::group_name(gid) else {
            return Der::NONEXIST.0;
        };
        // SAFETY: valid out-pointer.
        unsafe { *name = strdup(&format!("{n}@")) };
        0
    })
}

fn principal_name(p: Option<&str>) -> DerResult<&str> {
    let p = p.ok_or(Der::INVAL)?;
    if !crate::acl::principal_is_valid(p) {
        return Err(Der::INVAL);
    }
    p.split('@').next().ok_or(Der::INVAL)
}

/// `daos_acl_principal_to_uid`.
///
/// # Safety
/// `principal` is NULL or a string; `uid` a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_principal_to_uid(
    principal: *const c_char,
    uid: *mut uid_t,
) -> c_int {
    daos_guard(|| {
        if uid.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: per the function contract.
        let name = match principal_name(unsafe { cstr(principal) }) {
            Ok(n) => n,
            Err(e) => return e.0,
        };
        match fsutil::uid_of(name) {
            // SAFETY: valid out-pointer.
            Some(u) => unsafe {
                *uid = u;
                0
            },
            None => Der::NONEXIST.0,
        }
    })
}

/// `daos_acl_principal_to_gid`.
///
/// # Safety
/// `principal` is NULL or a string; `gid` a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_principal_to_gid(
    principal: *const c_char,
    gid: *mut gid_t,
) -> c_int {
    daos_guard(|| {
        if gid.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: per the function contract.
        let name = match principal_name(unsafe { cstr(principal) }) {
            Ok(n) => n,
            Err(e) => return e.0,
        };
        match fsutil::gid_of(name) {
            // SAFETY: valid out-pointer.
            Some(g) => unsafe {
                *gid = g;
                0
            },
            None => Der::NONEXIST.0,
        }
    })
}

/// `daos_acl_principal_from_str`: `u:name@`, `g:name@`, `OWNER@`, `GROUP@`, `EVERYONE@`.
///
/// # Safety
/// `principal_str` is NULL or a string; `type_` and `name` are valid out-pointers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_principal_from_str(
    principal_str: *const c_char,
    type_: *mut daos_acl_principal_type,
    name: *mut *mut c_char,
) -> c_int {
    daos_guard(|| {
        if type_.is_null() || name.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: per the function contract.
        let Some(s) = (unsafe { cstr(principal_str) }) else {
            return Der::INVAL.0;
        };
        let (t, n) = if let Some(rest) = s.strip_prefix("u:") {
            (1, Some(rest))
        } else if let Some(rest) = s.strip_prefix("g:") {
            (3, Some(rest))
        } else {
            match s {
                "OWNER@" => (0, None),
                "GROUP@" => (2, None),
                "EVERYONE@" => (4, None),
                _ => return Der::INVAL.0,
            }
        };
        if let Some(n) = n
            && !crate::acl::principal_is_valid(n)
        {
            return Der::INVAL.0;
        }
        // SAFETY: valid out-pointers.
        unsafe {
            *type_ = t;
            *name = n.map(strdup).unwrap_or(std::ptr::null_mut());
        }
        0
    })
}

/// `daos_ace_from_str`.
///
/// # Safety
/// `str_` is NULL or a string; `ace` a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_ace_from_str(str_: *const c_char, ace: *mut *mut daos_ace) -> c_int {
    daos_guard(|| {
        if ace.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: per the function contract.
        let Some(s) = (unsafe { cstr(str_) }) else {
            return Der::INVAL.0;
        };
        match Ace::from_ace_str(s) {
            // SAFETY: valid out-pointer.
            Ok(a) => unsafe {
                *ace = packed_ace(&a);
                0
            },
            Err(e) => e.0,
        }
    })
}

/// `daos_ace_to_str`: `-DER_TRUNC` when `buf` is too small (what fits is written).
///
/// # Safety
/// `ace` is a packed ACE; `buf` is writable for `buf_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_ace_to_str(
    ace: *mut daos_ace,
    buf: *mut c_char,
    buf_len: usize,
) -> c_int {
    daos_guard(|| {
        if ace.is_null() || buf.is_null() || buf_len == 0 {
            return Der::INVAL.0;
        }
        // SAFETY: per the function contract.
        let s = match unsafe { read_ace(ace) }.and_then(|a| a.to_string_checked()) {
            Ok(s) => s,
            Err(_) => return Der::INVAL.0,
        };
        let n = s.len().min(buf_len - 1);
        // SAFETY: buf has buf_len bytes; n + 1 <= buf_len.
        unsafe {
            std::ptr::write_bytes(buf, 0, buf_len);
            std::ptr::copy_nonoverlapping(s.as_ptr(), buf as *mut u8, n);
        }
        if n < s.len() { Der::TRUNC.0 } else { 0 }
    })
}

/// `daos_acl_from_strs`.
///
/// # Safety
/// `ace_strs` holds `ace_nr` string pointers; `acl` is a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_from_strs(
    ace_strs: *mut *const c_char,
    ace_nr: usize,
    acl: *mut *mut daos_acl,
) -> c_int {
    daos_guard(|| {
        if ace_strs.is_null() || ace_nr == 0 || acl.is_null() {
            return Der::INVAL.0;
        }
        let mut strs = Vec::with_capacity(ace_nr);
        for i in 0..ace_nr {
            // SAFETY: ace_strs has ace_nr entries per the contract.
            match unsafe { cstr(*ace_strs.add(i)) } {
                Some(s) => strs.push(s),
                None => return Der::INVAL.0,
            }
        }
        match Acl::from_strs(&strs) {
            // SAFETY: valid out-pointer.
            Ok(a) => unsafe {
                *acl = packed_acl(&a);
                0
            },
            Err(e) => e.0,
        }
    })
}

/// `daos_acl_to_strs`: a malloc'ed array of malloc'ed strings (NULL for an empty ACL).
///
/// # Safety
/// `acl` is NULL or a packed ACL; the other two are valid out-pointers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_acl_to_strs(
    acl: *mut daos_acl,
    ace_strs: *mut *mut *mut c_char,
    ace_nr: *mut usize,
) -> c_int {
    daos_guard(|| {
        if ace_strs.is_null() || ace_nr.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: per the function contract.
        let Some(b) = (unsafe { acl_raw(acl) }) else {
            return Der::INVAL.0;
        };
        let strs = match Acl::from_bytes(b).and_then(|a| a.to_strs()) {
            Ok(s) => s,
            Err(_) => return Der::INVAL.0,
        };
        let arr = if strs.is_empty() {
            std::ptr::null_mut()
        } else {
            // SAFETY: calloc of the pointer array; checked.
            let arr = unsafe { libc::calloc(strs.len(), std::mem::size_of::<*mut c_char>()) }
                as *mut *mut c_char;
            if arr.is_null() {
                return Der::NOMEM.0;
            }
            for (i, s) in strs.iter().enumerate() {
                // SAFETY: arr has strs.len() slots.
                unsafe { *arr.add(i) = strdup(s) };
            }
            arr
        };
        // SAFETY: valid out-pointers.
        unsafe {
            *ace_strs = arr;
            *ace_nr = strs.len();
        }
        0
    })
}
