//! libdfs calls (`src/client/dfs/{mnt,cont,obj,dir,io,lookup}.c`): 0 or a positive errno.
//! A `dfs_t *` is a boxed mount, a `dfs_obj_t *` a boxed object.

use std::ffi::{c_char, c_int};
use std::sync::Arc;

use uuid::Uuid;

use super::prop::read_cont_props;
use super::{cstr, dfs_fault_now, dfs_guard, put, run_dfs};
use crate::client::{self, COO_RO, COO_RW, ContHandle, PC_RO, PC_RW, PoolHandle};
use crate::der::Der;
use crate::dfs::{DEFAULT_CHUNK_SIZE, Dfs, DfsObj, ObjKind, fill_stat};
use crate::events::SendPtr;
use crate::ffi::{
    d_sg_list_t, d_string_t, daos_anchor_t, daos_epoch_t, daos_event_t, daos_handle_t,
    daos_obj_id_t, daos_oclass_id_t, daos_off_t, daos_size_t, dfs_attr_t, dfs_obj_t, dfs_t, dirent,
    gid_t, mode_t, stat, uid_t, uuid_t,
};
use crate::props::{PropValue, co};
use crate::state::DfsAttrs;

static DFS_INIT: parking_lot::Mutex<u32> = parking_lot::Mutex::new(0);

struct Mount {
    dfs: Dfs,
    /// Handles `dfs_connect` opened and `dfs_disconnect` closes.
    own_pool: Option<u64>,
    own_cont: Option<u64>,
}

fn der_errno(d: Der) -> c_int {
    d.to_errno()
}

/// # Safety
/// `p` is NULL or a `dfs_t *` from this library that is still mounted.
unsafe fn mount<'a>(p: *mut dfs_t) -> Result<&'a Mount, c_int> {
    if p.is_null() {
        return Err(libc::EINVAL);
    }
    // SAFETY: per the function contract.
    let m = unsafe { &*(p as *const Mount) };
    // A forcibly destroyed container or an evicted handle fails like libdaos's handle check.
    client::cont_handle(m.dfs.cont.cookie).map_err(der_errno)?;
    Ok(m)
}

/// # Safety
/// `p` is NULL or a `dfs_obj_t *` from this library.
unsafe fn obj<'a>(p: *mut dfs_obj_t) -> Option<&'a DfsObj> {
    // SAFETY: per the function contract.
    (!p.is_null()).then(|| unsafe { &*(p as *const DfsObj) })
}

fn boxed_obj(o: DfsObj) -> *mut dfs_obj_t {
    Box::into_raw(Box::new(o)) as *mut dfs_obj_t
}

fn boxed_mount(m: Mount) -> *mut dfs_t {
    Box::into_raw(Box::new(m)) as *mut dfs_t
}

fn ids(m: &Mount) -> Vec<String> {
    m.dfs.cont.pool.ids()
}

/// `dfs_init`: reference-counted, calls `daos_init`.
#[unsafe(no_mangle)]
pub extern "C" fn dfs_init() -> c_int {
    dfs_guard(|| {
        let mut n = DFS_INIT.lock();
        if let Err(e) = client::init() {
            return der_errno(e);
        }
        *n += 1;
        0
    })
}

/// `dfs_fini`.
#[unsafe(no_mangle)]
pub extern "C" fn dfs_fini() -> c_int {
    dfs_guard(|| {
        let mut n = DFS_INIT.lock();
        if *n == 0 {
            return der_errno(Der::UNINIT);
        }
        *n -= 1;
        client::fini().err().map(der_errno).unwrap_or(0)
    })
}

fn dfs_initialized() -> bool {
    *DFS_INIT.lock() > 0
}

/// The DFS attributes a create call asks for.
///
/// # Safety
/// `attr` is NULL or a valid `dfs_attr_t`.
unsafe fn create_attrs(
    attr: *const dfs_attr_t,
) -> Result<(DfsAttrs, Vec<(u32, PropValue)>), c_int> {
    let (uid, gid) = crate::fsutil::euid_egid();
    let mut a = DfsAttrs {
        chunk_size: DEFAULT_CHUNK_SIZE,
        root_uid: uid,
        root_gid: gid,
        ..Default::default()
    };
    let mut props = Vec::new();
    if !attr.is_null() {
        // SAFETY: a valid dfs_attr_t per the contract.
        let at = unsafe { &*attr };
        if at.da_chunk_size != 0 {
            a.chunk_size = at.da_chunk_size;
        }
        a.oclass = at.da_oclass_id;
        a.dir_oclass = at.da_dir_oclass_id;
        a.file_oclass = at.da_file_oclass_id;
        if at.da_mode != 0 && at.da_mode != crate::dfs::BALANCED {
            return Err(libc::EINVAL);
        }
        a.mode = at.da_mode;
        let hints: Vec<u8> = at
            .da_hints
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        a.hints = String::from_utf8_lossy(&hints).into_owned();
        // SAFETY: da_props is NULL or a valid property.
        props = unsafe { read_cont_props(at.da_props) }.map_err(der_errno)?;
    }
    props.retain(|(t, _)| *t != co::LAYOUT_TYPE && *t != co::ROOTS);
    props.push((co::LAYOUT_TYPE, PropValue::Val(crate::props::LAYOUT_POSIX)));
    // Superblock and root directory object ids as dfs_cont_create makes them (cont.c:274-291:
    // lo RESERVED_LO 0, hi SB_HI 0 / ROOT_HI 1 under the directory class bits).
    let dir_class = if a.dir_oclass != 0 {
        a.dir_oclass
    } else {
        a.oclass
    };
    let hi = crate::objects::class_hi(crate::objects::OT_MULTI_HASHED, dir_class, 1);
    props.push((co::ROOTS, PropValue::Roots([0, hi, 0, hi | 1, 0, 0, 0, 0])));
    Ok((a, props))
}

/// libdfs refuses, before it creates anything, file or directory object
/// classes that tolerate fewer failures than the container's redundancy
/// factor (its own property, else the pool's default), and unknown class
/// ids (`dfs_cont_create`, src/client/dfs/cont.c): EINVAL.
fn check_oclass_redundancy(
    pool: &PoolHandle,
    props: &[(u32, PropValue)],
    attrs: &DfsAttrs,
) -> Result<(), c_int> {
    let rf = match props.iter().find(|(t, _)| *t == co::REDUN_FAC) {
        Some((_, PropValue::Val(v))) => *v,
        _ => pool.dir.meta().map_err(der_errno)?.redun_fac,
    };
    if rf > 4 {
        return Err(libc::EINVAL);
    }
    let or_default = |class: u32| if class != 0 { class } else { attrs.oclass };
    for class in [or_default(attrs.file_oclass), or_default(attrs.dir_oclass)] {
        if class == 0 {
            continue;
        }
        match super::gurt::oclass_allowed_failures(class) {
            Err(()) => return Err(libc::EINVAL),
            Ok(Some(tolerated)) if u64::from(tolerated) < rf => return Err(libc::EINVAL),
            Ok(_) => {}
        }
    }
    Ok(())
}

/// Creates a POSIX container and optionally opens/mounts it, as `dfs_cont_create` does;
/// on a failure after the container exists it is destroyed again.
fn cont_create(
    pool: &Arc<PoolHandle>,
    uuid: Uuid,
    mut props: Vec<(u32, PropValue)>,
    attrs: DfsAttrs,
    label: Option<String>,
    want_coh: bool,
    want_dfs: bool,
) -> Result<(Option<Arc<ContHandle>>, Option<Dfs>), c_int> {
    if let Some(l) = label {
        if props.iter().any(|(t, _)| *t == co::LABEL) || !crate::label::is_valid(&l) {
            return Err(libc::EINVAL);
        }
        props.push((co::LABEL, PropValue::Str(l)));
    }
    check_oclass_redundancy(pool, &props, &attrs)?;
    client::cont_create(pool, uuid, &props, Some(attrs)).map_err(der_errno)?;
    if !want_coh && !want_dfs {
        return Ok((None, None));
    }
    let undo = |e: c_int| {
        let _ = client::cont_destroy(pool, &uuid.to_string(), true);
        e
    };
    let coh = client::cont_open(pool, &uuid.to_string(), COO_RW).map_err(|e| undo(der_errno(e)))?;
    let dfs = if want_dfs {
        match Dfs::mount(coh.clone(), libc::O_RDWR, None) {
            Ok(d) => Some(d),
            Err(e) => {
                let _ = client::cont_close(coh.cookie);
                return Err(undo(e));
            }
        }
    } else {
        None
    };
    Ok((Some(coh), dfs))
}

/// # Safety
/// Out-pointers are NULL or valid.
unsafe fn create_common(
    op: &str,
    poh: daos_handle_t,
    label: Option<String>,
    attr: *mut dfs_attr_t,
    uuid: *mut uuid_t,
    coh: *mut daos_handle_t,
    dfs: *mut *mut dfs_t,
) -> c_int {
    if !dfs.is_null() && coh.is_null() {
        return libc::EINVAL;
    }
    let pool = match client::pool_handle(poh.cookie) {
        Ok(p) => p,
        Err(e) => return der_errno(e),
    };
    if let Some(code) = dfs_fault_now(op, &pool.ids()) {
        return code;
    }
    // SAFETY: per the function contract.
    let (attrs, props) = match unsafe { create_attrs(attr) } {
        Ok(x) => x,
        Err(e) => return e,
    };
    let new = Uuid::new_v4();
    match cont_create(
        &pool,
        new,
        props,
        attrs,
        label,
        !coh.is_null(),
        !dfs.is_null(),
    ) {
        Ok((h, d)) => {
            // SAFETY: out-pointers are NULL or valid per the contract.
            unsafe {
                put(SendPtr(uuid), *new.as_bytes());
                if let Some(h) = h {
                    put(SendPtr(coh), daos_handle_t { cookie: h.cookie });
                }
                if let Some(d) = d {
                    put(
                        SendPtr(dfs),
                        boxed_mount(Mount {
                            dfs: d,
                            own_pool: None,
                            own_cont: None,
                        }),
                    );
                }
            }
            0
        }
        Err(e) => e,
    }
}

/// `dfs_cont_create`: `uuid` is required.
///
/// # Safety
/// `attr` NULL or valid; out-pointers NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_cont_create(
    poh: daos_handle_t,
    uuid: *mut uuid_t,
    attr: *mut dfs_attr_t,
    coh: *mut daos_handle_t,
    dfs: *mut *mut dfs_t,
) -> c_int {
    dfs_guard(|| {
        if uuid.is_null() {
            return libc::EINVAL;
        }
        // SAFETY: same contract.
        unsafe { create_common("dfs_cont_create", poh, None, attr, uuid, coh, dfs) }
    })
}

/// `dfs_cont_create_with_label`.
///
/// # Safety
/// `label` a string; `attr` NULL or valid; out-pointers NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_cont_create_with_label(
    poh: daos_handle_t,
    label: *const c_char,
    attr: *mut dfs_attr_t,
    uuid: *mut uuid_t,
    coh: *mut daos_handle_t,
    dfs: *mut *mut dfs_t,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let Some(l) = (unsafe { cstr(label) }) else {
            return libc::EINVAL;
        };
        // SAFETY: same contract.
        unsafe {
            create_common(
                "dfs_cont_create_with_label",
                poh,
                Some(l.to_string()),
                attr,
                uuid,
                coh,
                dfs,
            )
        }
    })
}

/// `dfs_mount`: `EINVAL` unless the container has the POSIX layout.
///
/// # Safety
/// `dfs` is a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_mount(
    poh: daos_handle_t,
    coh: daos_handle_t,
    flags: c_int,
    dfs: *mut *mut dfs_t,
) -> c_int {
    dfs_guard(|| {
        if dfs.is_null() {
            return libc::EINVAL;
        }
        let h = match client::pool_handle(poh.cookie).and_then(|_| client::cont_handle(coh.cookie))
        {
            Ok(h) => h,
            Err(e) => return der_errno(e),
        };
        if let Some(code) = dfs_fault_now("dfs_mount", &h.pool.ids()) {
            return code;
        }
        match Dfs::mount(h, flags, None) {
            // SAFETY: valid out-pointer.
            Ok(d) => unsafe {
                *dfs = boxed_mount(Mount {
                    dfs: d,
                    own_pool: None,
                    own_cont: None,
                });
                0
            },
            Err(e) => e,
        }
    })
}

/// The epoch `dfs_mount_snap`/`dfs_connect_snap` mount (src/client/dfs/mnt.c, v2.8.0):
/// `DAOS_EPOCH_MAX` is refused, 0 means "by name".
fn snap_epoch(epoch: daos_epoch_t, name: Option<&str>) -> Result<u64, c_int> {
    match (epoch, name) {
        (u64::MAX, _) | (0, None) => Err(libc::EINVAL),
        // Snapshots have no names in DAOS 2.8: a name can never be found.
        (0, Some(_)) => Err(libc::ENOENT),
        (e, _) => Ok(e),
    }
}

/// `dfs_mount_snap` (2.8): a read-only view of a snapshot. libdfs ignores `flags` and mounts
/// `O_RDONLY` (src/client/dfs/mnt.c, v2.8.0).
///
/// # Safety
/// `name` NULL or a string; `dfs` a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_mount_snap(
    poh: daos_handle_t,
    coh: daos_handle_t,
    flags: c_int,
    epoch: daos_epoch_t,
    name: *const c_char,
    dfs: *mut *mut dfs_t,
) -> c_int {
    dfs_guard(|| {
        let _ = flags;
        if dfs.is_null() {
            return libc::EINVAL;
        }
        // SAFETY: per the function contract.
        let epoch = match snap_epoch(epoch, unsafe { cstr(name) }) {
            Ok(e) => e,
            Err(e) => return e,
        };
        let h = match client::pool_handle(poh.cookie).and_then(|_| client::cont_handle(coh.cookie))
        {
            Ok(h) => h,
            Err(e) => return der_errno(e),
        };
        match Dfs::mount(h, libc::O_RDONLY, Some(epoch)) {
            // SAFETY: valid out-pointer.
            Ok(d) => unsafe {
                *dfs = boxed_mount(Mount {
                    dfs: d,
                    own_pool: None,
                    own_cont: None,
                });
                0
            },
            Err(e) => e,
        }
    })
}

/// `dfs_umount`.
///
/// # Safety
/// `dfs` is a mount from `dfs_mount`/`dfs_mount_snap`/`dfs_cont_create`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_umount(dfs: *mut dfs_t) -> c_int {
    dfs_guard(|| {
        if dfs.is_null() {
            return libc::EINVAL;
        }
        // SAFETY: a Box<Mount> from this library, released exactly once.
        let m = unsafe { Box::from_raw(dfs as *mut Mount) };
        m.dfs.umount();
        0
    })
}

/// Connects pool and container and mounts (the body of `dfs_connect[_snap]`).
fn connect(
    pool: &str,
    sys: Option<&str>,
    cont: &str,
    flags: c_int,
    snapshot: Option<u64>,
    create: Option<(DfsAttrs, Vec<(u32, PropValue)>)>,
) -> Result<Mount, c_int> {
    if !dfs_initialized() {
        return Err(libc::EACCES);
    }
    let rw = flags & libc::O_ACCMODE == libc::O_RDWR;
    let p = client::pool_connect(pool, sys, if rw { PC_RW } else { PC_RO }).map_err(der_errno)?;
    let close_pool = |e: c_int| {
        let _ = client::pool_disconnect(p.cookie);
        e
    };
    let c = match client::cont_open(&p, cont, if rw { COO_RW } else { COO_RO }) {
        Ok(c) => c,
        Err(Der::NONEXIST) if create.is_some() => {
            let (attrs, props) = create.unwrap_or_default();
            let (uuid, label) = match crate::label::NameOrUuid::parse(cont) {
                Some(crate::label::NameOrUuid::Uuid(u)) => (u, None),
                _ => (Uuid::new_v4(), Some(cont.to_string())),
            };
            // libdfs creates it with dfs_cont_create_with_label: that call's faults (and
            // those of the functions it is built on) apply.
            if let Some(code) = dfs_fault_now("dfs_cont_create_with_label", &p.ids()) {
                return Err(close_pool(code));
            }
            match cont_create(&p, uuid, props, attrs, label, true, false) {
                Ok((Some(h), _)) => h,
                Ok(_) => return Err(close_pool(libc::EIO)),
                Err(e) if e == libc::EEXIST => {
                    client::cont_open(&p, cont, COO_RW).map_err(|e| close_pool(der_errno(e)))?
                }
                Err(e) => return Err(close_pool(e)),
            }
        }
        Err(e) => return Err(close_pool(der_errno(e))),
    };
    match Dfs::mount(c.clone(), flags, snapshot) {
        Ok(d) => Ok(Mount {
            dfs: d,
            own_pool: Some(p.cookie),
            own_cont: Some(c.cookie),
        }),
        Err(e) => {
            let _ = client::cont_close(c.cookie);
            Err(close_pool(e))
        }
    }
}

/// `dfs_connect`: needs `dfs_init` (else `EACCES`); `O_CREAT` creates a missing container.
///
/// # Safety
/// Strings are NULL or valid; `attr` NULL or valid; `dfs` a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_connect(
    pool: *const c_char,
    sys: *const c_char,
    cont: *const c_char,
    flags: c_int,
    attr: *mut dfs_attr_t,
    dfs: *mut *mut dfs_t,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let (Some(p), sys, Some(c)) = (unsafe { cstr(pool) }, unsafe { cstr(sys) }, unsafe {
            cstr(cont)
        }) else {
            return libc::EINVAL;
        };
        if dfs.is_null() {
            return libc::EINVAL;
        }
        if let Some(code) = dfs_fault_now("dfs_connect", &[p.to_string()]) {
            return code;
        }
        let create = if flags & libc::O_CREAT != 0 {
            // SAFETY: per the function contract.
            match unsafe { create_attrs(attr) } {
                Ok(x) => Some(x),
                Err(e) => return e,
            }
        } else {
            None
        };
        match connect(p, sys, c, flags & !libc::O_CREAT, None, create) {
            // SAFETY: valid out-pointer.
            Ok(m) => unsafe {
                *dfs = boxed_mount(m);
                0
            },
            Err(e) => e,
        }
    })
}

/// `dfs_connect_snap` (2.8): read-only.
///
/// # Safety
/// Strings are NULL or valid; `dfs` a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_connect_snap(
    pool: *const c_char,
    sys: *const c_char,
    cont: *const c_char,
    flags: c_int,
    epoch: daos_epoch_t,
    name: *const c_char,
    dfs: *mut *mut dfs_t,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let (Some(p), sys, Some(c)) = (unsafe { cstr(pool) }, unsafe { cstr(sys) }, unsafe {
            cstr(cont)
        }) else {
            return libc::EINVAL;
        };
        // libdfs connects O_RDONLY whatever `flags` say (src/client/dfs/mnt.c, v2.8.0).
        let _ = flags;
        if dfs.is_null() {
            return libc::EINVAL;
        }
        // SAFETY: per the function contract.
        let epoch = match snap_epoch(epoch, unsafe { cstr(name) }) {
            Ok(e) => e,
            Err(e) => return e,
        };
        match connect(p, sys, c, libc::O_RDONLY, Some(epoch), None) {
            // SAFETY: valid out-pointer.
            Ok(m) => unsafe {
                *dfs = boxed_mount(m);
                0
            },
            Err(e) => e,
        }
    })
}

/// `dfs_disconnect`: unmounts and closes what `dfs_connect` opened.
///
/// # Safety
/// `dfs` is from `dfs_connect[_snap]`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_disconnect(dfs: *mut dfs_t) -> c_int {
    dfs_guard(|| {
        if dfs.is_null() {
            return libc::EINVAL;
        }
        // SAFETY: a Box<Mount> from this library, released exactly once.
        let m = unsafe { Box::from_raw(dfs as *mut Mount) };
        m.dfs.umount();
        if let Some(c) = m.own_cont {
            let _ = client::cont_close(c);
        }
        if let Some(p) = m.own_pool {
            let _ = client::pool_disconnect(p);
        }
        0
    })
}

/// `dfs_destroy`: destroys a container by pool and container name.
///
/// # Safety
/// Strings are NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_destroy(
    pool: *const c_char,
    sys: *const c_char,
    cont: *const c_char,
    force: c_int,
    ev: *mut daos_event_t,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let (Some(p), sys, Some(c)) = (unsafe { cstr(pool) }, unsafe { cstr(sys) }, unsafe {
            cstr(cont)
        }) else {
            return libc::EINVAL;
        };
        if !dfs_initialized() {
            return libc::EACCES;
        }
        let (p, sys, c) = (p.to_string(), sys.map(str::to_string), c.to_string());
        let ids = vec![p.clone()];
        run_dfs("dfs_destroy", &ids, ev, move || {
            let ph = match client::pool_connect(&p, sys.as_deref(), PC_RW)
                .or_else(|_| client::pool_connect(&p, sys.as_deref(), PC_RO))
            {
                Ok(h) => h,
                Err(e) => return der_errno(e),
            };
            let r = client::cont_destroy(&ph, &c, force != 0);
            let _ = client::pool_disconnect(ph.cookie);
            r.err().map(der_errno).unwrap_or(0)
        })
    })
}

/// `dfs_query`.
///
/// # Safety
/// `dfs` a mount; `attr` a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_query(dfs: *mut dfs_t, attr: *mut dfs_attr_t) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let m = match unsafe { mount(dfs) } {
            Ok(m) => m,
            Err(e) => return e,
        };
        if attr.is_null() {
            return libc::EINVAL;
        }
        let a = &m.dfs.attrs;
        // SAFETY: valid out-pointer.
        let out = unsafe { &mut *attr };
        out.da_id = 0;
        out.da_chunk_size = a.chunk_size;
        out.da_oclass_id = if a.oclass != 0 {
            a.oclass
        } else {
            super::gurt::oclass_id("SX")
        };
        out.da_mode = a.mode;
        out.da_dir_oclass_id = if a.dir_oclass != 0 {
            a.dir_oclass
        } else {
            super::gurt::oclass_id("S1")
        };
        out.da_file_oclass_id = if a.file_oclass != 0 {
            a.file_oclass
        } else {
            super::gurt::oclass_id("SX")
        };
        out.da_hints = [0; 128];
        for (d, s) in out.da_hints.iter_mut().zip(a.hints.bytes().take(127)) {
            *d = s as c_char;
        }
        0
    })
}

/// `dfs_sync`: everything is already on disk.
///
/// # Safety
/// `dfs` a mount.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_sync(dfs: *mut dfs_t) -> c_int {
    // SAFETY: per the function contract.
    dfs_guard(|| unsafe { mount(dfs) }.err().unwrap_or(0))
}

/// `dfs_cont_set_owner`: container owner/group properties and the root directory's uid/gid.
///
/// # Safety
/// `user` and `group` NULL or strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_cont_set_owner(
    coh: daos_handle_t,
    user: d_string_t,
    uid: uid_t,
    group: d_string_t,
    gid: gid_t,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let (u, g) = unsafe { (cstr(user), cstr(group)) };
        if u.is_none() && g.is_none() {
            return libc::EINVAL;
        }
        let h = match client::cont_handle(coh.cookie) {
            Ok(h) => h,
            Err(e) => return der_errno(e),
        };
        if let Some(code) = dfs_fault_now("dfs_cont_set_owner", &h.pool.ids()) {
            return code;
        }
        let resolve = |name: Option<&str>,
                       id: u32,
                       look: fn(&str) -> Option<u32>|
         -> Result<Option<u32>, c_int> {
            match name {
                None => Ok(None),
                Some(_) if id != u32::MAX => Ok(Some(id)),
                Some(n) => look(n.trim_end_matches('@')).map(Some).ok_or(libc::ENOENT),
            }
        };
        let (new_uid, new_gid) = match (
            resolve(u, uid, crate::fsutil::uid_of),
            resolve(g, gid, crate::fsutil::gid_of),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return e,
        };
        let meta = match h.dir.meta() {
            Ok(m) => m,
            Err(e) => return der_errno(e),
        };
        if !meta.is_posix() {
            return libc::EINVAL;
        }
        if let Err(e) = client::cont_set_owner(&h, u, g, false) {
            return der_errno(e);
        }
        match std::os::unix::fs::chown(h.dir.fs_root(), new_uid, new_gid) {
            Ok(()) => 0,
            Err(e) => e.raw_os_error().unwrap_or(libc::EIO),
        }
    })
}

/// `dfs_cont_check`: the emulator's namespace cannot be inconsistent; checks it is POSIX.
///
/// # Safety
/// `cont` a string; `name` NULL or a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_cont_check(
    poh: daos_handle_t,
    cont: *const c_char,
    flags: u64,
    name: *const c_char,
) -> c_int {
    dfs_guard(|| {
        let _ = (flags, name);
        // SAFETY: per the function contract.
        let Some(c) = (unsafe { cstr(cont) }) else {
            return libc::EINVAL;
        };
        let r = client::pool_handle(poh.cookie).and_then(|p| {
            let id = crate::label::NameOrUuid::parse(c).ok_or(Der::INVAL)?;
            let u = p.dir.resolve_cont(&id)?;
            p.dir.cont(u).meta()
        });
        match r {
            Ok(m) if m.is_posix() => 0,
            Ok(_) => libc::EINVAL,
            Err(e) => der_errno(e),
        }
    })
}

/// Stores the lookup outputs.
///
/// # Safety
/// `out` valid; `mode` and `stbuf` NULL or valid.
unsafe fn deliver(
    m: &Mount,
    o: DfsObj,
    out: *mut *mut dfs_obj_t,
    mode: *mut mode_t,
    stbuf: *mut stat,
) -> c_int {
    if !stbuf.is_null() {
        match m.dfs.ostat(&o) {
            // SAFETY: bindgen's struct stat and libc's are the same glibc type.
            Ok(md) => fill_stat(&md, unsafe { &mut *(stbuf as *mut libc::stat) }),
            Err(e) => return e,
        }
    }
    // SAFETY: per the function contract.
    unsafe {
        put(SendPtr(mode), o.mode);
        *out = boxed_obj(o);
    }
    0
}

/// `dfs_lookup`: an absolute path inside the container.
///
/// # Safety
/// `dfs` a mount; `path` a string; `obj` valid; `mode`, `stbuf` NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_lookup(
    dfs: *mut dfs_t,
    path: *const c_char,
    flags: c_int,
    obj: *mut *mut dfs_obj_t,
    mode: *mut mode_t,
    stbuf: *mut stat,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let (m, p) = match (unsafe { mount(dfs) }, unsafe { cstr(path) }) {
            (Ok(m), Some(p)) if !obj.is_null() => (m, p),
            (Err(e), _) => return e,
            _ => return libc::EINVAL,
        };
        if let Some(code) = dfs_fault_now("dfs_lookup", &ids(m)) {
            return code;
        }
        match m.dfs.lookup(p, flags) {
            // SAFETY: per the function contract.
            Ok(o) => unsafe { deliver(m, o, obj, mode, stbuf) },
            Err(e) => e,
        }
    })
}

/// `dfs_lookup_rel`.
///
/// # Safety
/// `dfs` a mount; `parent` NULL or an object; `name` a string; `obj` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_lookup_rel(
    dfs: *mut dfs_t,
    parent: *mut dfs_obj_t,
    name: *const c_char,
    flags: c_int,
    obj: *mut *mut dfs_obj_t,
    mode: *mut mode_t,
    stbuf: *mut stat,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let (m, n) = match (unsafe { mount(dfs) }, unsafe { cstr(name) }) {
            (Ok(m), Some(n)) if !obj.is_null() => (m, n),
            (Err(e), _) => return e,
            _ => return libc::EINVAL,
        };
        if let Some(code) = dfs_fault_now("dfs_lookup_rel", &ids(m)) {
            return code;
        }
        // SAFETY: per the function contract.
        match m.dfs.lookup_rel(unsafe { self::obj(parent) }, n, flags) {
            // SAFETY: per the function contract.
            Ok(o) => unsafe { deliver(m, o, obj, mode, stbuf) },
            Err(e) => e,
        }
    })
}

/// `dfs_open`: files, directories (`S_IFDIR`) and symbolic links (`S_IFLNK`, target in `value`).
///
/// # Safety
/// `dfs` a mount; `parent` NULL or an object; strings valid; `obj` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_open(
    dfs: *mut dfs_t,
    parent: *mut dfs_obj_t,
    name: *const c_char,
    mode: mode_t,
    flags: c_int,
    cid: daos_oclass_id_t,
    chunk_size: daos_size_t,
    value: *const c_char,
    obj: *mut *mut dfs_obj_t,
) -> c_int {
    dfs_guard(|| {
        let _ = (cid, chunk_size);
        // SAFETY: per the function contract.
        let (m, n) = match (unsafe { mount(dfs) }, unsafe { cstr(name) }) {
            (Ok(m), Some(n)) if !obj.is_null() => (m, n),
            (Err(e), _) => return e,
            _ => return libc::EINVAL,
        };
        if let Some(code) = dfs_fault_now("dfs_open", &ids(m)) {
            return code;
        }
        // SAFETY: per the function contract.
        // SAFETY: per the function contract.
        let (parent, value) = unsafe { (self::obj(parent), cstr(value)) };
        match m.dfs.open(parent, n, mode, flags, value) {
            // SAFETY: valid out-pointer.
            Ok(o) => unsafe {
                *obj = boxed_obj(o);
                0
            },
            Err(e) => e,
        }
    })
}

/// `dfs_release`.
///
/// # Safety
/// `obj` an object from this library, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_release(obj: *mut dfs_obj_t) -> c_int {
    dfs_guard(|| {
        if obj.is_null() {
            return libc::EINVAL;
        }
        // SAFETY: a Box<DfsObj> from this library, released exactly once.
        drop(unsafe { Box::from_raw(obj as *mut DfsObj) });
        0
    })
}

/// # Safety
/// `sgl` is a valid scatter/gather list.
unsafe fn sgl_parts(sgl: *mut d_sg_list_t) -> Option<Vec<(usize, usize, usize)>> {
    if sgl.is_null() {
        return None;
    }
    // SAFETY: per the function contract.
    let s = unsafe { &*sgl };
    if s.sg_iovs.is_null() && s.sg_nr > 0 {
        return None;
    }
    // SAFETY: sg_iovs has sg_nr entries.
    let iovs = unsafe { std::slice::from_raw_parts(s.sg_iovs, s.sg_nr as usize) };
    Some(
        iovs.iter()
            .map(|v| (v.iov_buf as usize, v.iov_buf_len, v.iov_len))
            .collect(),
    )
}

/// Runs the I/O of `dfs_read`/`dfs_write`, blocking or through `ev`. libdfs marks their events
/// with `daos_event_errno_rc` (src/client/dfs/io.c), so `ev_error` carries an errno, not the
/// DER code of the array operation underneath (unlike `dfs_destroy`, whose event is
/// `daos_cont_destroy`'s).
fn run_dfs_io(
    op: &str,
    pools: &[String],
    ev: *mut daos_event_t,
    body: impl FnOnce() -> c_int + Send + 'static,
) -> c_int {
    let f = super::fault(op, pools);
    let body: crate::events::Op = match f.errno() {
        Some(code) => Box::new(move || code),
        None => Box::new(body),
    };
    crate::events::launch(ev, f.delay, body)
}

/// The regular file a read or write works on, checked as `dfs_read`/`dfs_write` do before
/// anything is launched: `EINVAL` for no object or one that is not a regular file.
///
/// # Safety
/// `obj` is NULL or an object of this library.
unsafe fn regular_file<'a>(obj: *mut dfs_obj_t) -> Result<&'a DfsObj, c_int> {
    // SAFETY: per the function contract.
    match unsafe { self::obj(obj) } {
        Some(o) if o.kind == ObjKind::File => Ok(o),
        _ => Err(libc::EINVAL),
    }
}

/// `dfs_read`: reads `iov_len` bytes into each buffer, in order, from `off`; `*read_size` is
/// what was read (short at the end of the file, 0 past it). Argument errors are returned
/// before anything is launched, as libdfs does.
///
/// # Safety
/// All pointers stay valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_read(
    dfs: *mut dfs_t,
    obj: *mut dfs_obj_t,
    sgl: *mut d_sg_list_t,
    off: daos_off_t,
    read_size: *mut daos_size_t,
    ev: *mut daos_event_t,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let m = match unsafe { mount(dfs) } {
            Ok(m) => m,
            Err(e) => return e,
        };
        // SAFETY: per the function contract.
        let o = match unsafe { regular_file(obj) } {
            Ok(o) => o,
            Err(e) => return e,
        };
        // SAFETY: per the function contract.
        let parts = match unsafe { sgl_parts(sgl) } {
            Some(p) if !read_size.is_null() => p,
            _ => return libc::EINVAL,
        };
        if !o.readable {
            return libc::EPERM;
        }
        let out = SendPtr(read_size);
        if parts.iter().all(|(_, _, len)| *len == 0) {
            // SAFETY: valid out-pointer.
            unsafe { put(out, 0) };
            return crate::events::launch(ev, None, Box::new(|| 0));
        }
        let (dfsp, objp) = (SendPtr(dfs), SendPtr(obj));
        run_dfs_io("dfs_read", &ids(m), ev, move || {
            // SAFETY: the mount, object and buffers stay valid until completion.
            unsafe {
                let m = &*(dfsp.get() as *const Mount);
                let o = &*(objp.get() as *const DfsObj);
                let mut bufs: Vec<&mut [u8]> = parts
                    .iter()
                    .map(|(p, cap, len)| {
                        std::slice::from_raw_parts_mut(*p as *mut u8, *len.min(cap))
                    })
                    .collect();
                match m.dfs.read(o, off, &mut bufs) {
                    Ok(n) => {
                        put(out, n);
                        0
                    }
                    Err(e) => e,
                }
            }
        })
    })
}

/// `dfs_write`: writes `iov_len` bytes of each buffer from `off`. A read-only mount or object
/// is `EPERM` and a non-file `EINVAL`, returned before anything is launched.
///
/// # Safety
/// All pointers stay valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_write(
    dfs: *mut dfs_t,
    obj: *mut dfs_obj_t,
    sgl: *mut d_sg_list_t,
    off: daos_off_t,
    ev: *mut daos_event_t,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let m = match unsafe { mount(dfs) } {
            Ok(m) => m,
            Err(e) => return e,
        };
        if !m.dfs.writable {
            return libc::EPERM;
        }
        // SAFETY: per the function contract.
        let o = match unsafe { regular_file(obj) } {
            Ok(o) => o,
            Err(e) => return e,
        };
        if !o.writable {
            return libc::EPERM;
        }
        // SAFETY: per the function contract (a NULL list writes nothing, as in libdfs).
        let parts = unsafe { sgl_parts(sgl) }.unwrap_or_default();
        if parts.iter().all(|(_, _, len)| *len == 0) {
            return crate::events::launch(ev, None, Box::new(|| 0));
        }
        let (dfsp, objp) = (SendPtr(dfs), SendPtr(obj));
        run_dfs_io("dfs_write", &ids(m), ev, move || {
            // SAFETY: the mount, object and buffers stay valid until completion.
            unsafe {
                let m = &*(dfsp.get() as *const Mount);
                let o = &*(objp.get() as *const DfsObj);
                let bufs: Vec<&[u8]> = parts
                    .iter()
                    .map(|(p, _, len)| std::slice::from_raw_parts(*p as *const u8, *len))
                    .collect();
                m.dfs.write(o, off, &bufs).err().unwrap_or(0)
            }
        })
    })
}

/// `dfs_get_size`.
///
/// # Safety
/// `dfs` a mount, `obj` an object, `size` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_get_size(
    dfs: *mut dfs_t,
    obj: *mut dfs_obj_t,
    size: *mut daos_size_t,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let (m, o) = match (unsafe { mount(dfs) }, unsafe { self::obj(obj) }) {
            (Ok(m), Some(o)) if !size.is_null() => (m, o),
            (Err(e), _) => return e,
            _ => return libc::EINVAL,
        };
        match m.dfs.get_size(o) {
            // SAFETY: valid out-pointer.
            Ok(s) => unsafe {
                *size = s;
                0
            },
            Err(e) => e,
        }
    })
}

/// `dfs_punch`.
///
/// # Safety
/// `dfs` a mount, `obj` an object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_punch(
    dfs: *mut dfs_t,
    obj: *mut dfs_obj_t,
    offset: daos_off_t,
    len: daos_size_t,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        match (unsafe { mount(dfs) }, unsafe { self::obj(obj) }) {
            (Ok(m), Some(o)) => m.dfs.punch(o, offset, len).err().unwrap_or(0),
            (Err(e), _) => e,
            _ => libc::EINVAL,
        }
    })
}

/// The body of `dfs_readdir` and `dfs_readdirplus` (`readdir_int`, src/client/dfs/readdir.c):
/// up to `*nr` entries from the anchor's position; `*nr` becomes the count and the anchor
/// turns EOF once the directory is exhausted. Only `d_name` of each dirent is written (libdfs
/// leaves `d_type`, `d_ino`, `d_off` and `d_reclen` as the caller had them); with `stbufs`,
/// each entry's stat goes to the same index.
///
/// # Safety
/// `dfs` a mount, `obj` an object; `anchor` and `nr` NULL or valid; `dirs` (and `stbufs` if
/// not NULL) hold `*nr` entries.
unsafe fn readdir_int(
    dfs: *mut dfs_t,
    obj: *mut dfs_obj_t,
    anchor: *mut daos_anchor_t,
    nr: *mut u32,
    dirs: *mut dirent,
    stbufs: *mut stat,
) -> c_int {
    // SAFETY: per the function contract.
    let (m, o) = match (unsafe { mount(dfs) }, unsafe { self::obj(obj) }) {
        (Err(e), _) => return e,
        (Ok(m), Some(o)) if o.kind == ObjKind::Dir => (m, o),
        _ => return libc::ENOTDIR,
    };
    if nr.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: valid count.
    let max = unsafe { *nr } as usize;
    if max == 0 {
        return 0;
    }
    if dirs.is_null() || anchor.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: valid anchor.
    let a = unsafe { &mut *anchor };
    if a.da_type == 3 {
        // SAFETY: valid count.
        unsafe { *nr = 0 };
        return 0;
    }
    let mut pos = [0u8; 8];
    pos.copy_from_slice(&a.da_buf[..8]);
    let start = u64::from_ne_bytes(pos) as usize;
    let (list, done) = match m.dfs.readdir(o, start, max) {
        Ok(x) => x,
        Err(e) => return e,
    };
    for (i, name) in list.iter().enumerate() {
        if !stbufs.is_null() {
            match m.dfs.entry_stat(o, name) {
                // SAFETY: stbufs holds max >= list.len() entries; bindgen's struct stat is
                // glibc's.
                Ok(md) => fill_stat(&md, unsafe { &mut *(stbufs.add(i) as *mut libc::stat) }),
                Err(e) => return e,
            }
        }
        // SAFETY: dirs holds max >= list.len() entries.
        let d = unsafe { &mut *dirs.add(i) };
        d.d_name = [0; 256];
        for (dst, s) in d.d_name.iter_mut().zip(name.bytes().take(255)) {
            *dst = s as c_char;
        }
    }
    a.da_buf[..8].copy_from_slice(&((start + list.len()) as u64).to_ne_bytes());
    a.da_type = if done { 3 } else { 1 };
    // SAFETY: valid count.
    unsafe { *nr = list.len() as u32 };
    0
}

/// `dfs_readdir`: entry names only (see `readdir_int`).
///
/// # Safety
/// `dfs` a mount, `obj` a directory object; `anchor`, `nr` valid; `dirs` holds `*nr` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_readdir(
    dfs: *mut dfs_t,
    obj: *mut dfs_obj_t,
    anchor: *mut daos_anchor_t,
    nr: *mut u32,
    dirs: *mut dirent,
) -> c_int {
    // SAFETY: same contract, no stat buffers.
    dfs_guard(|| unsafe { readdir_int(dfs, obj, anchor, nr, dirs, std::ptr::null_mut()) })
}

/// `dfs_readdirplus`: names and, at the same index of `stbufs`, each entry's stat (see
/// `readdir_int`).
///
/// # Safety
/// As [`dfs_readdir`]; `stbufs` holds `*nr` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_readdirplus(
    dfs: *mut dfs_t,
    obj: *mut dfs_obj_t,
    anchor: *mut daos_anchor_t,
    nr: *mut u32,
    dirs: *mut dirent,
    stbufs: *mut stat,
) -> c_int {
    // SAFETY: same contract (a NULL `stbufs` lists names only, as in libdfs).
    dfs_guard(|| unsafe { readdir_int(dfs, obj, anchor, nr, dirs, stbufs) })
}

/// `dfs_mkdir`: `EEXIST` when the name exists.
///
/// # Safety
/// `dfs` a mount; `parent` NULL or an object; `name` a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_mkdir(
    dfs: *mut dfs_t,
    parent: *mut dfs_obj_t,
    name: *const c_char,
    mode: mode_t,
    cid: daos_oclass_id_t,
) -> c_int {
    dfs_guard(|| {
        let _ = cid;
        // SAFETY: per the function contract.
        match (unsafe { mount(dfs) }, unsafe { cstr(name) }) {
            (Ok(m), Some(n)) => {
                if let Some(code) = dfs_fault_now("dfs_mkdir", &ids(m)) {
                    return code;
                }
                // SAFETY: parent is NULL or an object.
                m.dfs
                    .mkdir(unsafe { self::obj(parent) }, n, mode)
                    .err()
                    .unwrap_or(0)
            }
            (Err(e), _) => e,
            _ => libc::EINVAL,
        }
    })
}

/// `dfs_remove`: a non-empty directory needs `force`.
///
/// # Safety
/// `dfs` a mount; `parent` NULL or an object; `name` a string; `oid` NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_remove(
    dfs: *mut dfs_t,
    parent: *mut dfs_obj_t,
    name: *const c_char,
    force: bool,
    oid: *mut daos_obj_id_t,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        match (unsafe { mount(dfs) }, unsafe { cstr(name) }) {
            (Ok(m), Some(n)) => {
                if let Some(code) = dfs_fault_now("dfs_remove", &ids(m)) {
                    return code;
                }
                // SAFETY: parent is NULL or an object.
                let r = m
                    .dfs
                    .remove(unsafe { self::obj(parent) }, n, force)
                    .err()
                    .unwrap_or(0);
                if r == 0 {
                    // SAFETY: oid NULL or valid.
                    unsafe { put(SendPtr(oid), daos_obj_id_t { lo: 0, hi: 0 }) };
                }
                r
            }
            (Err(e), _) => e,
            _ => libc::EINVAL,
        }
    })
}

/// `dfs_get_mode`.
///
/// # Safety
/// `obj` an object; `mode` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_get_mode(obj: *mut dfs_obj_t, mode: *mut mode_t) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        match unsafe { self::obj(obj) } {
            Some(o) if !mode.is_null() => {
                // SAFETY: valid out-pointer.
                unsafe { *mode = o.mode };
                0
            }
            _ => libc::EINVAL,
        }
    })
}

/// `dfs_stat`: NULL parent and name is the root.
///
/// # Safety
/// `dfs` a mount; `parent` NULL or an object; `name` NULL or a string; `stbuf` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_stat(
    dfs: *mut dfs_t,
    parent: *mut dfs_obj_t,
    name: *const c_char,
    stbuf: *mut stat,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let m = match unsafe { mount(dfs) } {
            Ok(m) if !stbuf.is_null() => m,
            Err(e) => return e,
            _ => return libc::EINVAL,
        };
        if let Some(code) = dfs_fault_now("dfs_stat", &ids(m)) {
            return code;
        }
        // SAFETY: per the function contract.
        // SAFETY: per the function contract.
        let (parent, name) = unsafe { (self::obj(parent), cstr(name)) };
        match m.dfs.stat(parent, name) {
            Ok(md) => {
                // SAFETY: bindgen's struct stat is glibc's.
                fill_stat(&md, unsafe { &mut *(stbuf as *mut libc::stat) });
                0
            }
            Err(e) => e,
        }
    })
}

/// `dfs_ostat`.
///
/// # Safety
/// `dfs` a mount; `obj` an object; `stbuf` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_ostat(
    dfs: *mut dfs_t,
    obj: *mut dfs_obj_t,
    stbuf: *mut stat,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        match (unsafe { mount(dfs) }, unsafe { self::obj(obj) }) {
            (Ok(m), Some(o)) if !stbuf.is_null() => match m.dfs.ostat(o) {
                Ok(md) => {
                    // SAFETY: bindgen's struct stat is glibc's.
                    fill_stat(&md, unsafe { &mut *(stbuf as *mut libc::stat) });
                    0
                }
                Err(e) => e,
            },
            (Err(e), _) => e,
            _ => libc::EINVAL,
        }
    })
}

/// `dfs_access`.
///
/// # Safety
/// `dfs` a mount; `parent` NULL or an object; `name` NULL or a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_access(
    dfs: *mut dfs_t,
    parent: *mut dfs_obj_t,
    name: *const c_char,
    mask: c_int,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        match unsafe { mount(dfs) } {
            // SAFETY: per the function contract.
            Ok(m) => m
                .dfs
                .access(unsafe { self::obj(parent) }, unsafe { cstr(name) }, mask)
                .err()
                .unwrap_or(0),
            Err(e) => e,
        }
    })
}

/// `dfs_chmod`.
///
/// # Safety
/// `dfs` a mount; `parent` NULL or an object; `name` NULL or a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_chmod(
    dfs: *mut dfs_t,
    parent: *mut dfs_obj_t,
    name: *const c_char,
    mode: mode_t,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        match unsafe { mount(dfs) } {
            Ok(m) => {
                if let Some(code) = dfs_fault_now("dfs_chmod", &ids(m)) {
                    return code;
                }
                // SAFETY: per the function contract.
                m.dfs
                    .chmod(unsafe { self::obj(parent) }, unsafe { cstr(name) }, mode)
                    .err()
                    .unwrap_or(0)
            }
            Err(e) => e,
        }
    })
}

/// `dfs_chown`: `(uid_t)-1` / `(gid_t)-1` leave an id unchanged.
///
/// # Safety
/// `dfs` a mount; `parent` NULL or an object; `name` NULL or a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_chown(
    dfs: *mut dfs_t,
    parent: *mut dfs_obj_t,
    name: *const c_char,
    uid: uid_t,
    gid: gid_t,
    flags: c_int,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        match unsafe { mount(dfs) } {
            Ok(m) => {
                if let Some(code) = dfs_fault_now("dfs_chown", &ids(m)) {
                    return code;
                }
                // SAFETY: per the function contract.
                m.dfs
                    .chown(
                        unsafe { self::obj(parent) },
                        unsafe { cstr(name) },
                        uid,
                        gid,
                        flags,
                    )
                    .err()
                    .unwrap_or(0)
            }
            Err(e) => e,
        }
    })
}

/// `dfs_osetattr`: applies the `DFS_SET_ATTR_*` fields and returns the new attributes.
///
/// # Safety
/// `dfs` a mount; `obj` an object; `stbuf` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_osetattr(
    dfs: *mut dfs_t,
    obj: *mut dfs_obj_t,
    stbuf: *mut stat,
    flags: c_int,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        match (unsafe { mount(dfs) }, unsafe { self::obj(obj) }) {
            (Ok(m), Some(o)) if !stbuf.is_null() => {
                // SAFETY: bindgen's struct stat is glibc's.
                let st = unsafe { &mut *(stbuf as *mut libc::stat) };
                match m.dfs.setattr(o, st, flags) {
                    Ok(md) => {
                        fill_stat(&md, st);
                        0
                    }
                    Err(e) => e,
                }
            }
            (Err(e), _) => e,
            _ => libc::EINVAL,
        }
    })
}

/// `dfs_get_symlink_value` (src/client/dfs/obj.c, 2.6 and 2.8): `*size` is the target's length
/// plus its NUL; with `*size` 0 or a NULL `buf` only that is reported; a smaller buffer gets
/// the start of the target, NUL-terminated. `EINVAL` for an object that is not a symbolic link
/// or a NULL `size`.
///
/// # Safety
/// `obj` NULL or an object; `size` NULL or valid; `buf` NULL or valid for `*size` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dfs_get_symlink_value(
    obj: *mut dfs_obj_t,
    buf: *mut c_char,
    size: *mut daos_size_t,
) -> c_int {
    dfs_guard(|| {
        // SAFETY: per the function contract.
        let Some(o) = (unsafe { self::obj(obj) }) else {
            return libc::EINVAL;
        };
        let Some(value) = o
            .symlink_value
            .as_deref()
            .filter(|_| o.kind == ObjKind::Symlink)
        else {
            return libc::EINVAL;
        };
        if size.is_null() {
            return libc::EINVAL;
        }
        let needed = value.len() + 1;
        // SAFETY: valid per the function contract.
        let room = unsafe { *size } as usize;
        if room > 0 && !buf.is_null() {
            let copied = value.len().min(room - 1);
            // SAFETY: `buf` holds `room` bytes; `copied` + 1 <= room; the source is our own
            // vector, which cannot overlap the caller's buffer.
            unsafe {
                std::ptr::copy_nonoverlapping(value.as_ptr(), buf as *mut u8, copied);
                *buf.add(copied) = 0;
            }
        }
        // SAFETY: valid per the function contract.
        unsafe { *size = needed as daos_size_t };
        0
    })
}
