//! libduns calls (`src/client/dfs/duns.c`): containers linked into a file system by the
//! `user.daos` extended attribute `DAOS.<TYPE>://<pool uuid>/<cont uuid>`. 0 or an errno.

use std::ffi::{CString, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::{cstr, dfs_fault_now, dfs_guard, strdup};
use crate::client;
use crate::der::Der;
use crate::ffi::{daos_handle_t, daos_size_t, duns_attr_t};
use crate::label::NameOrUuid;

const XATTR_NAME: &std::ffi::CStr = c"user.daos";
const XATTR_MAX: usize = 170;
const NO_REVERSE_LOOKUP: u32 = 2;
const NO_CHECK_PATH: u32 = 4;

const LAYOUTS: [&str; 9] = [
    "UNKNOWN", "POSIX", "HDF5", "PYTHON", "SPARK", "DATABASE", "ROOT", "SEISMIC", "METEO",
];

fn errno() -> c_int {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn set_label_buf(buf: &mut [c_char; 128], s: &str) {
    *buf = [0; 128];
    for (d, c) in buf.iter_mut().zip(s.bytes().take(127)) {
        *d = c as c_char;
    }
}

/// Parses `DAOS.<TYPE>://<pool>/<cont>`: (layout, pool uuid, cont uuid).
fn parse_xattr(s: &str) -> Option<(u16, Uuid, Uuid)> {
    let rest = s.trim_end_matches('\0').strip_prefix("DAOS.")?;
    let (ty, ids) = rest.split_once("://")?;
    let layout = LAYOUTS.iter().position(|l| *l == ty)?;
    let (p, c) = ids.split_once('/')?;
    Some((
        layout as u16,
        Uuid::parse_str(p).ok()?,
        Uuid::parse_str(c).ok()?,
    ))
}

fn fill_from_xattr(attr: &mut duns_attr_t, layout: u16, pool: Uuid, cont: Uuid, rel: Option<&str>) {
    attr.da_type = layout;
    set_label_buf(&mut attr.da_pool, &pool.to_string());
    set_label_buf(&mut attr.da_cont, &cont.to_string());
    attr.da_puuid = *pool.as_bytes();
    attr.da_cuuid = *cont.as_bytes();
    attr.da_rel_path = rel.map(strdup).unwrap_or(std::ptr::null_mut());
}

/// The `user.daos` value of `path` (not following a final symlink), or the errno.
fn read_xattr(path: &Path) -> Result<String, c_int> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| libc::EINVAL)?;
    let mut buf = vec![0u8; XATTR_MAX + 1];
    // SAFETY: lgetxattr with NUL-terminated strings and a buffer of the given size.
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            XATTR_NAME.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(errno());
    }
    buf.truncate(n as usize);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn resolve(path: &str, flags: u32, attr: &mut duns_attr_t) -> c_int {
    if let Some(rest) = path
        .strip_prefix("daos://")
        .or_else(|| (flags & NO_CHECK_PATH != 0).then_some(path))
    {
        let mut parts = rest.trim_start_matches('/').splitn(3, '/');
        let (Some(pool), Some(cont)) = (parts.next(), parts.next()) else {
            return libc::EINVAL;
        };
        if pool.is_empty() || cont.is_empty() || pool.len() > 127 || cont.len() > 127 {
            return libc::EINVAL;
        }
        attr.da_type = 0;
        set_label_buf(&mut attr.da_pool, pool);
        set_label_buf(&mut attr.da_cont, cont);
        attr.da_rel_path = parts
            .next()
            .map(|r| strdup(&format!("/{r}")))
            .unwrap_or(std::ptr::null_mut());
        return 0;
    }
    let mut cur = PathBuf::from(path);
    let mut rel: Vec<String> = Vec::new();
    let mut first_err = None;
    loop {
        match read_xattr(&cur) {
            Ok(v) => {
                let Some((layout, p, c)) = parse_xattr(&v) else {
                    return libc::EINVAL;
                };
                let rel_path = (!rel.is_empty()).then(|| {
                    rel.reverse();
                    format!("/{}", rel.join("/"))
                });
                fill_from_xattr(attr, layout, p, c, rel_path.as_deref());
                return 0;
            }
            Err(e) => {
                let e = if e == libc::ERANGE { libc::EINVAL } else { e };
                let walkable = matches!(e, libc::ENODATA | libc::ENOTSUP | libc::ENOENT);
                let first = *first_err.get_or_insert(e);
                if flags & NO_REVERSE_LOOKUP != 0 || !walkable {
                    return if walkable { first } else { e };
                }
                let Some(name) = cur.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                    return first;
                };
                rel.push(name);
                if !cur.pop() || cur.as_os_str().is_empty() {
                    return first;
                }
            }
        }
    }
}

/// `duns_resolve_path`: the `daos://pool/cont[/path]` form parses without I/O; otherwise the
/// `user.daos` attribute of the path (or, without `DUNS_NO_REVERSE_LOOKUP`, of its nearest
/// ancestor that has one). `ENODATA` when there is none, `ENOTCONN` on a dead FUSE mount.
///
/// # Safety
/// `path` a string; `attr` a valid `duns_attr_t` (in: `da_flags`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn duns_resolve_path(path: *const c_char, attr: *mut duns_attr_t) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let (Some(p), false) = (unsafe { cstr(path) }, attr.is_null()) else {
            return libc::EINVAL;
        };
        // SAFETY: valid attr.
        let a = unsafe { &mut *attr };
        resolve(p, a.da_flags, a)
    })
}

/// `duns_parse_attr`: parses an xattr value.
///
/// # Safety
/// `str_` readable for `len` bytes; `attr` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn duns_parse_attr(
    str_: *mut c_char,
    len: daos_size_t,
    attr: *mut duns_attr_t,
) -> c_int {
    dfs_guard(|| {
        if str_.is_null() || attr.is_null() || len == 0 {
            return libc::EINVAL;
        }
        // SAFETY: bounded read of the caller's buffer.
        let n = unsafe { libc::strnlen(str_, len as usize) };
        // SAFETY: n readable bytes.
        let s =
            String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(str_ as *const u8, n) })
                .into_owned();
        match parse_xattr(&s) {
            Some((l, p, c)) => {
                // SAFETY: valid attr.
                fill_from_xattr(unsafe { &mut *attr }, l, p, c, None);
                0
            }
            None => libc::EINVAL,
        }
    })
}

/// `duns_set_sys_name`.
///
/// # Safety
/// `attrp` valid; `sys` NULL or a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn duns_set_sys_name(attrp: *mut duns_attr_t, sys: *const c_char) -> c_int {
    dfs_guard(|| {
        if attrp.is_null() {
            return libc::EINVAL;
        }
        // SAFETY: valid attr whose da_sys is NULL or malloc'ed by this library.
        unsafe {
            libc::free((*attrp).da_sys.cast());
            (*attrp).da_sys = cstr(sys).map(strdup).unwrap_or(std::ptr::null_mut());
        }
        0
    })
}

/// `duns_destroy_attr`: frees what resolve/set_sys_name allocated.
///
/// # Safety
/// `attrp` NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn duns_destroy_attr(attrp: *mut duns_attr_t) {
    super::guard((), || {
        if attrp.is_null() {
            return;
        }
        // SAFETY: the strings are NULL or malloc'ed by this library.
        unsafe {
            libc::free((*attrp).da_sys.cast());
            libc::free((*attrp).da_rel_path.cast());
            (*attrp).da_sys = std::ptr::null_mut();
            (*attrp).da_rel_path = std::ptr::null_mut();
        }
    })
}

/// Creates the directory (POSIX) or file (others) at `path` and tags it.
fn link(path: &Path, layout: u16, pool: Uuid, cont: Uuid) -> c_int {
    let is_dir = layout == 1;
    let created = if is_dir {
        std::fs::create_dir(path)
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map(|_| ())
    };
    if let Err(e) = created {
        return e.raw_os_error().unwrap_or(libc::EIO);
    }
    let value = format!("DAOS.{}://{pool}/{cont}", LAYOUTS[layout as usize]);
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return libc::EINVAL;
    };
    let v = CString::new(value).unwrap_or_default();
    let bytes = v.as_bytes_with_nul();
    // SAFETY: lsetxattr with NUL-terminated strings and a value of the given size.
    let rc = unsafe {
        libc::lsetxattr(
            c.as_ptr(),
            XATTR_NAME.as_ptr(),
            bytes.as_ptr().cast(),
            bytes.len(),
            0,
        )
    };
    if rc != 0 {
        let e = errno();
        let _ = if is_dir {
            std::fs::remove_dir(path)
        } else {
            std::fs::remove_file(path)
        };
        return e;
    }
    0
}

/// `duns_link_cont`: links an existing container at a new path.
///
/// # Safety
/// `cont` and `path` strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn duns_link_cont(
    poh: daos_handle_t,
    cont: *const c_char,
    path: *const c_char,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let (Some(c), Some(p)) = (unsafe { cstr(cont) }, unsafe { cstr(path) }) else {
            return libc::EINVAL;
        };
        let pool = match client::pool_handle(poh.cookie) {
            Ok(h) => h,
            Err(e) => return e.to_errno(),
        };
        if let Some(code) = dfs_fault_now("duns_link_cont", &pool.ids()) {
            return code;
        }
        let r = NameOrUuid::parse(c).ok_or(Der::INVAL).and_then(|id| {
            let u = pool.dir.resolve_cont(&id)?;
            Ok((u, pool.dir.cont(u).meta()?))
        });
        let (uuid, meta) = match r {
            Ok(x) => x,
            Err(e) => return e.to_errno(),
        };
        let layout = meta.val(crate::props::co::LAYOUT_TYPE) as u16;
        if layout == 0 || layout as usize >= LAYOUTS.len() {
            return libc::EINVAL;
        }
        link(Path::new(p), layout, pool.dir.uuid, uuid)
    })
}

/// `duns_create_path`: a new container (POSIX through DFS) linked at `path`; on output
/// `da_cont` holds its UUID.
///
/// # Safety
/// `path` a string; `attrp` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn duns_create_path(
    poh: daos_handle_t,
    path: *const c_char,
    attrp: *mut duns_attr_t,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let (Some(p), false) = (unsafe { cstr(path) }, attrp.is_null()) else {
            return libc::EINVAL;
        };
        // SAFETY: valid attr.
        let a = unsafe { &mut *attrp };
        let layout = a.da_type;
        if layout == 0 || layout as usize >= LAYOUTS.len() {
            return libc::EINVAL;
        }
        let pool = match client::pool_handle(poh.cookie) {
            Ok(h) => h,
            Err(e) => return e.to_errno(),
        };
        if std::fs::symlink_metadata(p).is_ok() {
            return libc::EEXIST;
        }
        let label_bytes: Vec<u8> = a
            .da_cont
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        let label = String::from_utf8_lossy(&label_bytes).into_owned();
        let mut uuid = [0u8; 16];
        let rc = if layout == 1 {
            let mut dattr = crate::ffi::dfs_attr_t {
                da_chunk_size: a.da_chunk_size,
                da_oclass_id: a.da_oclass_id,
                da_props: a.da_props,
                da_dir_oclass_id: a.da_dir_oclass_id,
                da_file_oclass_id: a.da_file_oclass_id,
                da_hints: a.da_hints,
                ..Default::default()
            };
            if crate::label::is_valid(&label) {
                let cl = CString::new(label).unwrap_or_default();
                // SAFETY: valid arguments built above; no handles requested.
                unsafe {
                    super::dfs::dfs_cont_create_with_label(
                        poh,
                        cl.as_ptr(),
                        &mut dattr,
                        &mut uuid,
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                    )
                }
            } else {
                // SAFETY: valid arguments built above; no handles requested.
                unsafe {
                    super::dfs::dfs_cont_create(
                        poh,
                        &mut uuid,
                        &mut dattr,
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                    )
                }
            }
        } else {
            let u = Uuid::new_v4();
            uuid = *u.as_bytes();
            let props = vec![(
                crate::props::co::LAYOUT_TYPE,
                crate::props::PropValue::Val(u64::from(layout)),
            )];
            client::cont_create(&pool, u, &props, None)
                .err()
                .map(|e| e.to_errno())
                .unwrap_or(0)
        };
        if rc != 0 {
            return rc;
        }
        let cont = Uuid::from_bytes(uuid);
        let r = link(Path::new(p), layout, pool.dir.uuid, cont);
        if r != 0 {
            let _ = client::cont_destroy(&pool, &cont.to_string(), true);
            return r;
        }
        set_label_buf(&mut a.da_cont, &cont.to_string());
        a.da_cuuid = uuid;
        0
    })
}

/// `duns_destroy_path`: destroys the linked container (forced) and removes the path.
///
/// # Safety
/// `path` a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn duns_destroy_path(poh: daos_handle_t, path: *const c_char) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let Some(p) = (unsafe { cstr(path) }) else {
            return libc::EINVAL;
        };
        let pool = match client::pool_handle(poh.cookie) {
            Ok(h) => h,
            Err(e) => return e.to_errno(),
        };
        let value = match read_xattr(Path::new(p)) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let Some((layout, puuid, cuuid)) = parse_xattr(&value) else {
            return libc::EINVAL;
        };
        if puuid != pool.dir.uuid {
            return libc::EINVAL;
        }
        if let Err(e) = client::cont_destroy(&pool, &cuuid.to_string(), true) {
            return e.to_errno();
        }
        let r = if layout == 1 {
            std::fs::remove_dir(p)
        } else {
            std::fs::remove_file(p)
        };
        r.err()
            .map(|e| e.raw_os_error().unwrap_or(libc::EIO))
            .unwrap_or(0)
    })
}

/// `duns_resolve_path` for Rust callers (the emulated dfuse): (pool, container) as stored in
/// the attribute, or the errno.
pub fn resolve_pool_cont(path: &str, flags: u32) -> Result<(String, String), c_int> {
    let mut a = duns_attr_t {
        da_flags: flags,
        ..Default::default()
    };
    let rc = resolve(path, flags, &mut a);
    let text = |b: &[c_char; 128]| {
        let v: Vec<u8> = b
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        String::from_utf8_lossy(&v).into_owned()
    };
    let out = (text(&a.da_pool), text(&a.da_cont));
    // SAFETY: frees what resolve() allocated in our own attr.
    unsafe { duns_destroy_attr(&mut a) };
    if rc == 0 { Ok(out) } else { Err(rc) }
}
