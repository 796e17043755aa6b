//! Event queue and event calls (`src/client/api/event.c`).

use std::ffi::{c_int, c_uint, c_void};

use super::daos_guard;
use crate::der::Der;
use crate::events;
use crate::ffi::{daos_eq_query_t, daos_event_comp_cb_t, daos_event_t, daos_handle_t};

fn rc(r: crate::der::DerResult<()>) -> c_int {
    r.err().map(|e| e.0).unwrap_or(0)
}

/// `daos_eq_create`.
///
/// # Safety
/// `eqh` is a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_eq_create(eqh: *mut daos_handle_t) -> c_int {
    daos_guard(|| {
        if eqh.is_null() {
            return Der::INVAL.0;
        }
        match events::eq_create() {
            // SAFETY: valid out-pointer.
            Ok(c) => unsafe {
                (*eqh).cookie = c;
                0
            },
            Err(e) => e.0,
        }
    })
}

/// `daos_eq_destroy`.
#[unsafe(no_mangle)]
pub extern "C" fn daos_eq_destroy(eqh: daos_handle_t, flags: c_int) -> c_int {
    daos_guard(|| rc(events::eq_destroy(eqh.cookie, flags & 1 != 0)))
}

/// `daos_eq_poll`: the number of completed events stored in `events`.
///
/// # Safety
/// `events` has room for `nevents` pointers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_eq_poll(
    eqh: daos_handle_t,
    wait_running: c_int,
    timeout: i64,
    nevents: c_uint,
    events: *mut *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        if nevents == 0 || events.is_null() {
            return Der::INVAL.0;
        }
        match events::eq_poll(eqh.cookie, wait_running != 0, timeout, nevents as usize) {
            Ok(evs) => {
                for (i, e) in evs.iter().enumerate() {
                    // SAFETY: events has nevents slots and evs.len() <= nevents.
                    unsafe { *events.add(i) = *e };
                }
                evs.len() as c_int
            }
            Err(e) => e.0,
        }
    })
}

/// `daos_eq_query`.
///
/// # Safety
/// `events` is NULL or has room for `nevents` pointers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_eq_query(
    eqh: daos_handle_t,
    query: daos_eq_query_t,
    nevents: c_uint,
    events: *mut *mut daos_event_t,
) -> c_int {
    daos_guard(|| {
        let max = if events.is_null() {
            0
        } else {
            nevents as usize
        };
        match events::eq_query(eqh.cookie, query, max) {
            Ok((count, evs)) => {
                for (i, e) in evs.iter().enumerate() {
                    // SAFETY: events has nevents slots and evs.len() <= nevents.
                    unsafe { *events.add(i) = *e };
                }
                count as c_int
            }
            Err(e) => e.0,
        }
    })
}

/// `daos_event_init`.
///
/// # Safety
/// `ev` is a caller-owned event; `parent` NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_event_init(
    ev: *mut daos_event_t,
    eqh: daos_handle_t,
    parent: *mut daos_event_t,
) -> c_int {
    daos_guard(|| rc(events::event_init(ev, eqh.cookie, parent)))
}

/// `daos_event_fini`.
///
/// # Safety
/// `ev` is an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_event_fini(ev: *mut daos_event_t) -> c_int {
    daos_guard(|| rc(events::event_fini(ev)))
}

/// `daos_event_next`.
///
/// # Safety
/// `parent` is an initialised event; `child` NULL or one of its children.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_event_next(
    parent: *mut daos_event_t,
    child: *mut daos_event_t,
) -> *mut daos_event_t {
    super::guard(std::ptr::null_mut(), || events::event_next(parent, child))
}

/// `daos_event_test`.
///
/// # Safety
/// `ev` is an initialised event; `flag` a valid out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_event_test(
    ev: *mut daos_event_t,
    timeout: i64,
    flag: *mut bool,
) -> c_int {
    daos_guard(|| {
        if flag.is_null() {
            return Der::INVAL.0;
        }
        match events::event_test(ev, timeout) {
            // SAFETY: valid out-pointer.
            Ok(done) => unsafe {
                *flag = done;
                0
            },
            Err(e) => e.0,
        }
    })
}

/// `daos_event_parent_barrier`.
///
/// # Safety
/// `ev` is an initialised parent event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_event_parent_barrier(ev: *mut daos_event_t) -> c_int {
    daos_guard(|| rc(events::parent_barrier(ev)))
}

/// `daos_event_abort`: accepted and ignored, as in libdaos (operations cannot be aborted).
///
/// # Safety
/// `ev` is an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_event_abort(ev: *mut daos_event_t) -> c_int {
    daos_guard(|| rc(events::event_status(ev).map(|_| ())))
}

/// `daos_event_register_comp_cb`.
///
/// # Safety
/// `ev` is an initialised event; `cb` may be called with `arg` on a polling thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_event_register_comp_cb(
    ev: *mut daos_event_t,
    cb: daos_event_comp_cb_t,
    arg: *mut c_void,
) -> c_int {
    daos_guard(|| match cb {
        Some(f) => rc(events::register_comp_cb(ev, f, arg)),
        None => Der::INVAL.0,
    })
}
