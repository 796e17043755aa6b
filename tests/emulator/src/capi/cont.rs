//! Container calls (`src/client/api/container.c`, `src/container/cli.c`).

use std::ffi::{c_char, c_int, c_uint, c_void};

use uuid::Uuid;

use super::pool::{
    attr_fill, attr_list, attr_names, attr_values, cont_glob_magic, read_glob, write_glob,
};
use super::prop::{alloc_props, fill_query, read_acl_bytes, read_cont_props};
use super::{cstr, daos_guard, put, run_daos};
use crate::acl::Acl;
use crate::client::{self, AclChange};
use crate::der::{Der, DerResult};
use crate::events::SendPtr;
use crate::ffi::{
    d_iov_t, d_string_t, daos_acl, daos_acl_principal_type, daos_anchor_t, daos_cont_info_t,
    daos_epoch_range_t, daos_epoch_t, daos_event_t, daos_handle_t, daos_prop_t, daos_snapshot_opts,
    uuid_t,
};
use crate::props::{PropValue, co};

fn pool_ids_of_pool(poh: u64) -> Vec<String> {
    client::pool_handle(poh)
        .map(|h| h.ids())
        .unwrap_or_default()
}

fn pool_ids_of_cont(coh: u64) -> Vec<String> {
    client::cont_handle(coh)
        .map(|h| h.pool.ids())
        .unwrap_or_default()
}

fn rc(r: DerResult<()>) -> c_int {
    r.err().map(|e| e.0).unwrap_or(0)
}

/// Shared body of the create calls.
///
/// # Safety
/// `cont_prop` is NULL or a valid property; `uuid` NULL or valid until completion.
unsafe fn create(
    op: &str,
    poh: daos_handle_t,
    label: Option<String>,
    cont_prop: *mut daos_prop_t,
    uuid: *mut uuid_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: per the function contract.
    let mut given = match unsafe { read_cont_props(cont_prop) } {
        Ok(p) => p,
        Err(e) => return e.0,
    };
    if let Some(l) = label {
        if given.iter().any(|(t, _)| *t == co::LABEL) || !crate::label::is_valid(&l) {
            return Der::INVAL.0;
        }
        given.push((co::LABEL, PropValue::Str(l)));
    }
    let new = Uuid::new_v4();
    let out = SendPtr(uuid);
    run_daos(op, &pool_ids_of_pool(poh.cookie), ev, move || {
        let r = client::pool_handle(poh.cookie)
            .and_then(|h| client::cont_create(&h, new, &given, None));
        match r {
            Ok(()) => {
                // SAFETY: uuid stays valid until completion.
                unsafe { put(out, *new.as_bytes()) };
                0
            }
            Err(e) => e.0,
        }
    })
}

/// `daos_cont_create2`: a container with a client-generated UUID.
///
/// # Safety
/// `cont_prop` is NULL or valid; `uuid` NULL or valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_create2(
    poh: daos_handle_t,
    uuid: *mut uuid_t,
    cont_prop: *mut daos_prop_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: same contract.
    daos_guard(|| unsafe { create("daos_cont_create", poh, None, cont_prop, uuid, ev) })
}

/// `daos_cont_create`: the weak alias of `daos_cont_create2`.
///
/// # Safety
/// As [`daos_cont_create2`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_create(
    poh: daos_handle_t,
    uuid: *mut uuid_t,
    cont_prop: *mut daos_prop_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: same contract.
    unsafe { daos_cont_create2(poh, uuid, cont_prop, ev) }
}

/// `daos_cont_create_with_label`: `cont_prop` must not carry a label.
///
/// # Safety
/// As [`daos_cont_create2`]; `label` is a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_create_with_label(
    poh: daos_handle_t,
    label: *const c_char,
    cont_prop: *mut daos_prop_t,
    uuid: *mut uuid_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let Some(l) = (unsafe { cstr(label) }) else {
            return Der::INVAL.0;
        };
        // SAFETY: per the function contract.
        unsafe {
            create(
                "daos_cont_create_with_label",
                poh,
                Some(l.to_string()),
                cont_prop,
                uuid,
                ev,
            )
        }
    })
}

pub(crate) fn fill_info(info: &mut daos_cont_info_t, i: &client::ContInfo) {
    info.ci_uuid = *i.uuid.as_bytes();
    info.ci_lsnapshot = i.latest_snapshot;
    info.ci_nhandles = i.nhandles;
    info.ci_nsnapshots = i.nsnapshots;
    info.ci_md_otime = i.otime;
    info.ci_md_mtime = i.mtime;
}

/// `daos_cont_open2`.
///
/// # Safety
/// `cont` is a string; `coh` and `info` stay valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_open2(
    poh: daos_handle_t,
    cont: *const c_char,
    flags: c_uint,
    coh: *mut daos_handle_t,
    info: *mut daos_cont_info_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let Some(name) = (unsafe { cstr(cont) }) else {
            return Der::INVAL.0;
        };
        if coh.is_null() || !client::cont_open_flags_valid(flags) {
            return Der::INVAL.0;
        }
        let name = name.to_string();
        let (coh, info) = (SendPtr(coh), SendPtr(info));
        run_daos(
            "daos_cont_open",
            &pool_ids_of_pool(poh.cookie),
            ev,
            move || {
                let r = client::pool_handle(poh.cookie)
                    .and_then(|p| client::cont_open(&p, &name, flags));
                match r {
                    Ok(h) => {
                        if !info.get().is_null() {
                            match client::cont_query(&h) {
                                // SAFETY: info stays valid until completion.
                                Ok((i, _)) => fill_info(unsafe { &mut *info.get() }, &i),
                                Err(e) => return e.0,
                            }
                        }
                        // SAFETY: coh stays valid until completion.
                        unsafe { put(coh, daos_handle_t { cookie: h.cookie }) };
                        0
                    }
                    Err(e) => e.0,
                }
            },
        )
    })
}

/// `daos_cont_open`: the weak alias of `daos_cont_open2`.
///
/// # Safety
/// As [`daos_cont_open2`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_open(
    poh: daos_handle_t,
    cont: *const c_char,
    flags: c_uint,
    coh: *mut daos_handle_t,
    info: *mut daos_cont_info_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: same contract.
    unsafe { daos_cont_open2(poh, cont, flags, coh, info, ev) }
}

/// `daos_cont_close`: `-DER_BUSY` while DFS is mounted on the handle.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_close(coh: daos_handle_t, ev: *mut daos_event_t) -> c_int {
    daos_guard(|| {
        run_daos(
            "daos_cont_close",
            &pool_ids_of_cont(coh.cookie),
            ev,
            move || rc(client::cont_close(coh.cookie)),
        )
    })
}

/// `daos_cont_destroy2`: `-DER_BUSY` while any process has it open, unless `force`.
///
/// # Safety
/// `cont` is a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_destroy2(
    poh: daos_handle_t,
    cont: *const c_char,
    force: c_int,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let Some(name) = (unsafe { cstr(cont) }) else {
            return Der::INVAL.0;
        };
        let name = name.to_string();
        run_daos(
            "daos_cont_destroy",
            &pool_ids_of_pool(poh.cookie),
            ev,
            move || {
                rc(client::pool_handle(poh.cookie)
                    .and_then(|p| client::cont_destroy(&p, &name, force != 0)))
            },
        )
    })
}

/// `daos_cont_destroy`: the weak alias of `daos_cont_destroy2`.
///
/// # Safety
/// As [`daos_cont_destroy2`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_destroy(
    poh: daos_handle_t,
    cont: *const c_char,
    force: c_int,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: same contract.
    unsafe { daos_cont_destroy2(poh, cont, force, ev) }
}

/// `daos_cont_query`: info and (all or listed) properties.
///
/// # Safety
/// Out-parameters are NULL or valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_query(
    coh: daos_handle_t,
    info: *mut daos_cont_info_t,
    cont_prop: *mut daos_prop_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        let (info, prop) = (SendPtr(info), SendPtr(cont_prop));
        run_daos(
            "daos_cont_query",
            &pool_ids_of_cont(coh.cookie),
            ev,
            move || {
                rc((|| {
                    let h = client::cont_handle(coh.cookie)?;
                    let (i, meta) = client::cont_query(&h)?;
                    if !info.get().is_null() {
                        // SAFETY: info stays valid until completion.
                        fill_info(unsafe { &mut *info.get() }, &i);
                    }
                    if !prop.get().is_null() {
                        // SAFETY: a valid property until completion.
                        unsafe { fill_query(prop.get(), &meta.props) }?;
                    }
                    Ok(())
                })())
            },
        )
    })
}

/// `daos_cont_set_prop`.
///
/// # Safety
/// `prop` is a valid property.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_set_prop(
    coh: daos_handle_t,
    prop: *mut daos_prop_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        if prop.is_null() {
            return Der::INVAL.0;
        }
        // SAFETY: per the function contract.
        let given = match unsafe { read_cont_props(prop) } {
            Ok(g) if !g.is_empty() => g,
            Ok(_) => return Der::INVAL.0,
            Err(e) => return e.0,
        };
        run_daos(
            "daos_cont_set_prop",
            &pool_ids_of_cont(coh.cookie),
            ev,
            move || {
                rc(client::cont_handle(coh.cookie).and_then(|h| client::cont_set_prop(&h, &given)))
            },
        )
    })
}

/// `daos_cont_get_acl`: a new property with ACL, OWNER and OWNER_GROUP.
///
/// # Safety
/// `acl_prop` is a valid out-pointer until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_get_acl(
    coh: daos_handle_t,
    acl_prop: *mut *mut daos_prop_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        if acl_prop.is_null() {
            return Der::INVAL.0;
        }
        let out = SendPtr(acl_prop);
        run_daos(
            "daos_cont_get_acl",
            &pool_ids_of_cont(coh.cookie),
            ev,
            move || {
                rc((|| {
                    let h = client::cont_handle(coh.cookie)?;
                    let (acl, owner, group) = client::cont_get_acl(&h)?;
                    let p = alloc_props(&[
                        (co::ACL, PropValue::Acl(acl.to_bytes())),
                        (co::OWNER, PropValue::Str(owner)),
                        (co::OWNER_GROUP, PropValue::Str(group)),
                    ])?;
                    // SAFETY: valid out-pointer until completion.
                    unsafe { put(out, p) };
                    Ok(())
                })())
            },
        )
    })
}

/// # Safety
/// `acl` is NULL or a packed ACL.
unsafe fn acl_arg(acl: *mut daos_acl) -> DerResult<Acl> {
    // SAFETY: per the function contract.
    let bytes = unsafe { read_acl_bytes(acl as *const c_void) }?;
    let a = Acl::from_bytes(&bytes)?;
    a.validate_perms(crate::acl::perm::CONT_ALL)?;
    Ok(a)
}

/// `daos_cont_overwrite_acl`.
///
/// # Safety
/// `acl` is a packed ACL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_overwrite_acl(
    coh: daos_handle_t,
    acl: *mut daos_acl,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let acl = match unsafe { acl_arg(acl) } {
            Ok(a) => a,
            Err(e) => return e.0,
        };
        run_daos(
            "daos_cont_overwrite_acl",
            &pool_ids_of_cont(coh.cookie),
            ev,
            move || {
                rc(client::cont_handle(coh.cookie)
                    .and_then(|h| client::cont_change_acl(&h, AclChange::Overwrite(acl))))
            },
        )
    })
}

/// `daos_cont_update_acl`.
///
/// # Safety
/// `acl` is a packed ACL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_update_acl(
    coh: daos_handle_t,
    acl: *mut daos_acl,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let acl = match unsafe { acl_arg(acl) } {
            Ok(a) if !a.aces.is_empty() => a,
            Ok(_) => return Der::INVAL.0,
            Err(e) => return e.0,
        };
        run_daos(
            "daos_cont_update_acl",
            &pool_ids_of_cont(coh.cookie),
            ev,
            move || {
                rc(client::cont_handle(coh.cookie)
                    .and_then(|h| client::cont_change_acl(&h, AclChange::Update(acl))))
            },
        )
    })
}

/// `daos_cont_delete_acl`: `-DER_NONEXIST` when the principal has no entry.
///
/// # Safety
/// `name` is NULL or a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_delete_acl(
    coh: daos_handle_t,
    type_: daos_acl_principal_type,
    name: d_string_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        // SAFETY: per the function contract.
        let name = unsafe { cstr(name) }.map(str::to_string);
        if type_ > 4 || ((type_ == 1 || type_ == 3) && name.is_none()) {
            return Der::INVAL.0;
        }
        if let Some(n) = &name
            && (type_ == 1 || type_ == 3)
            && !crate::acl::principal_is_valid(n)
        {
            return Der::INVAL.0;
        }
        run_daos(
            "daos_cont_delete_acl",
            &pool_ids_of_cont(coh.cookie),
            ev,
            move || {
                rc(client::cont_handle(coh.cookie).and_then(|h| {
                    client::cont_change_acl(&h, AclChange::Delete(type_ as u8, name))
                }))
            },
        )
    })
}

/// # Safety
/// `user` and `group` are NULL or strings.
unsafe fn set_owner(
    op: &str,
    coh: daos_handle_t,
    user: d_string_t,
    group: d_string_t,
    ev: *mut daos_event_t,
    check: bool,
) -> c_int {
    // SAFETY: per the function contract.
    let (u, g) = unsafe {
        (
            cstr(user).map(str::to_string),
            cstr(group).map(str::to_string),
        )
    };
    if u.is_none() && g.is_none() {
        return Der::INVAL.0;
    }
    run_daos(op, &pool_ids_of_cont(coh.cookie), ev, move || {
        rc(client::cont_handle(coh.cookie)
            .and_then(|h| client::cont_set_owner(&h, u.as_deref(), g.as_deref(), check)))
    })
}

/// `daos_cont_set_owner`: names must resolve locally.
///
/// # Safety
/// `user` and `group` are NULL or strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_set_owner(
    coh: daos_handle_t,
    user: d_string_t,
    group: d_string_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: same contract.
    daos_guard(|| unsafe { set_owner("daos_cont_set_owner", coh, user, group, ev, true) })
}

/// `daos_cont_set_owner_no_check`.
///
/// # Safety
/// `user` and `group` are NULL or strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_set_owner_no_check(
    coh: daos_handle_t,
    user: d_string_t,
    group: d_string_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: same contract.
    daos_guard(|| unsafe { set_owner("daos_cont_set_owner_no_check", coh, user, group, ev, false) })
}

/// `daos_cont_list_attr`.
///
/// # Safety
/// `size` and `buffer` stay valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_list_attr(
    coh: daos_handle_t,
    buffer: *mut c_char,
    size: *mut usize,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        if size.is_null() {
            return Der::INVAL.0;
        }
        let (buffer, size) = (SendPtr(buffer), SendPtr(size));
        run_daos(
            "daos_cont_list_attr",
            &pool_ids_of_cont(coh.cookie),
            ev,
            move || {
                match client::cont_handle(coh.cookie).and_then(|h| client::cont_list_attrs(&h)) {
                    // SAFETY: valid until completion.
                    Ok(names) => unsafe {
                        attr_list(&names, buffer, size);
                        0
                    },
                    Err(e) => e.0,
                }
            },
        )
    })
}

/// `daos_cont_get_attr`.
///
/// # Safety
/// Arrays hold `n` entries and stay valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_get_attr(
    coh: daos_handle_t,
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
        let (buffers, sizes) = (SendPtr(buffers as *mut *mut c_void), SendPtr(sizes));
        run_daos(
            "daos_cont_get_attr",
            &pool_ids_of_cont(coh.cookie),
            ev,
            move || {
                match client::cont_handle(coh.cookie)
                    .and_then(|h| client::cont_get_attrs(&h, &names))
                {
                    // SAFETY: valid until completion.
                    Ok(v) => unsafe {
                        attr_fill(&v, buffers, sizes);
                        0
                    },
                    Err(e) => e.0,
                }
            },
        )
    })
}

/// `daos_cont_set_attr`: zero-sized or NULL values are invalid.
///
/// # Safety
/// Arrays hold `n` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_set_attr(
    coh: daos_handle_t,
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
        run_daos(
            "daos_cont_set_attr",
            &pool_ids_of_cont(coh.cookie),
            ev,
            move || {
                rc(
                    client::cont_handle(coh.cookie)
                        .and_then(|h| client::cont_set_attrs(&h, &attrs)),
                )
            },
        )
    })
}

/// `daos_cont_del_attr`: names that do not exist are skipped, not an error.
///
/// # Safety
/// `names` holds `n` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_del_attr(
    coh: daos_handle_t,
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
        run_daos(
            "daos_cont_del_attr",
            &pool_ids_of_cont(coh.cookie),
            ev,
            move || {
                rc(
                    client::cont_handle(coh.cookie)
                        .and_then(|h| client::cont_del_attrs(&h, &names)),
                )
            },
        )
    })
}

fn snap(
    op: &str,
    coh: daos_handle_t,
    epoch: *mut daos_epoch_t,
    oit: bool,
    ev: *mut daos_event_t,
) -> c_int {
    let out = SendPtr(epoch);
    run_daos(op, &pool_ids_of_cont(coh.cookie), ev, move || {
        match client::cont_handle(coh.cookie).and_then(|h| client::cont_create_snap(&h, oit)) {
            Ok(e) => {
                // SAFETY: epoch stays valid until completion.
                unsafe { put(out, e) };
                0
            }
            Err(e) => e.0,
        }
    })
}

/// `daos_cont_create_snap`: named snapshots are not supported (`-DER_NOSYS`).
///
/// # Safety
/// `epoch` stays valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_create_snap(
    coh: daos_handle_t,
    epoch: *mut daos_epoch_t,
    name: *mut c_char,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        if !name.is_null() {
            return Der::NOSYS.0;
        }
        if epoch.is_null() {
            return Der::INVAL.0;
        }
        snap("daos_cont_create_snap", coh, epoch, false, ev)
    })
}

/// `daos_cont_create_snap_opt`: `DAOS_SNAP_OPT_CR` is required.
///
/// # Safety
/// `epoch` stays valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_create_snap_opt(
    coh: daos_handle_t,
    epoch: *mut daos_epoch_t,
    name: *mut c_char,
    opts: daos_snapshot_opts,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        if !name.is_null() || opts & 1 == 0 {
            return Der::NOSYS.0;
        }
        if epoch.is_null() {
            return Der::INVAL.0;
        }
        // DAOS_SNAP_OPT_OIT: the snapshot gets an object index table.
        snap("daos_cont_create_snap_opt", coh, epoch, opts & 2 != 0, ev)
    })
}

/// `daos_cont_list_snap`: `*nr` becomes the total; up to the given `*nr` epochs (ascending)
/// are written; the anchor is always set to EOF; names are never filled.
///
/// # Safety
/// Out-parameters stay valid until completion; `epochs` holds `*nr` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_list_snap(
    coh: daos_handle_t,
    nr: *mut c_int,
    epochs: *mut daos_epoch_t,
    names: *mut *mut c_char,
    anchor: *mut daos_anchor_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        if nr.is_null() {
            return Der::INVAL.0;
        }
        let _ = names;
        let (nr, epochs, anchor) = (SendPtr(nr), SendPtr(epochs), SendPtr(anchor));
        run_daos(
            "daos_cont_list_snap",
            &pool_ids_of_cont(coh.cookie),
            ev,
            move || {
                let list = match client::cont_handle(coh.cookie)
                    .and_then(|h| client::cont_list_snaps(&h))
                {
                    Ok(l) => l,
                    Err(e) => return e.0,
                };
                // SAFETY: out-parameters stay valid until completion; epochs holds *nr entries.
                unsafe {
                    let room = *nr.get();
                    if !epochs.get().is_null() && room > 0 {
                        for (i, e) in list.iter().take(room as usize).enumerate() {
                            *epochs.get().add(i) = *e;
                        }
                    }
                    *nr.get() = list.len() as c_int;
                    if !anchor.get().is_null() {
                        (*anchor.get()).da_type = 3; // DAOS_ANCHOR_TYPE_EOF
                    }
                }
                0
            },
        )
    })
}

/// `daos_cont_destroy_snap`: one epoch (`epr_lo == epr_hi != 0`).
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_destroy_snap(
    coh: daos_handle_t,
    epr: daos_epoch_range_t,
    ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        if epr.epr_lo != epr.epr_hi || epr.epr_lo == 0 {
            return Der::INVAL.0;
        }
        run_daos(
            "daos_cont_destroy_snap",
            &pool_ids_of_cont(coh.cookie),
            ev,
            move || {
                rc(client::cont_handle(coh.cookie)
                    .and_then(|h| client::cont_destroy_snap(&h, epr.epr_lo)))
            },
        )
    })
}

/// `daos_cont_local2global`.
///
/// # Safety
/// `glob` is a valid iov.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_local2global(coh: daos_handle_t, glob: *mut d_iov_t) -> c_int {
    daos_guard(|| match client::cont_handle(coh.cookie) {
        Ok(h) => write_glob(glob, cont_glob_magic(), h.dir.uuid, h.flags),
        Err(e) => e.0,
    })
}

/// `daos_cont_global2local`.
///
/// # Safety
/// `glob` describes a blob from `daos_cont_local2global`; `coh` is a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_global2local(
    poh: daos_handle_t,
    glob: d_iov_t,
    coh: *mut daos_handle_t,
) -> c_int {
    daos_guard(|| {
        if coh.is_null() {
            return Der::INVAL.0;
        }
        let r = client::pool_handle(poh.cookie).and_then(|p| {
            let (u, f) = read_glob(&glob, cont_glob_magic())?;
            client::cont_from_global(&p, u, f)
        });
        match r {
            // SAFETY: valid out-pointer.
            Ok(h) => unsafe {
                (*coh).cookie = h.cookie;
                0
            },
            Err(e) => e.0,
        }
    })
}
