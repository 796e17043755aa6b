//! Object, object index table (OIT) and transaction calls (`src/client/api/object.c`,
//! `src/client/api/tx.c`, `src/client/api/container.c` of DAOS).

use std::ffi::{c_char, c_int, c_uint};

use super::daos_guard;
use crate::der::Der;
use crate::ffi::{
    d_sg_list_t, daos_anchor_t, daos_epoch_range_t, daos_epoch_t, daos_event_t, daos_handle_t,
    daos_iod_t, daos_iom_t, daos_key_desc_t, daos_key_t, daos_obj_id_t, daos_oclass_hints_t,
    daos_oclass_id_t, daos_otype_t, daos_recx_t, daos_size_t,
};

/// `daos_obj_generate_oid2`.
///
/// # Safety
/// `oid` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_generate_oid2(
    _coh: daos_handle_t,
    _oid: *mut daos_obj_id_t,
    _type: daos_otype_t,
    _cid: daos_oclass_id_t,
    _hints: daos_oclass_hints_t,
    _args: u32,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_obj_open`.
///
/// # Safety
/// `oh` is valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_open(
    _coh: daos_handle_t,
    _oid: daos_obj_id_t,
    _mode: c_uint,
    _oh: *mut daos_handle_t,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_obj_close`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_close(_oh: daos_handle_t, _ev: *mut daos_event_t) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_obj_punch`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_punch(
    _oh: daos_handle_t,
    _th: daos_handle_t,
    _flags: u64,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_obj_punch_dkeys`.
///
/// # Safety
/// `dkeys` holds `nr` keys.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_punch_dkeys(
    _oh: daos_handle_t,
    _th: daos_handle_t,
    _flags: u64,
    _nr: c_uint,
    _dkeys: *mut daos_key_t,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_obj_punch_akeys`.
///
/// # Safety
/// `akeys` holds `nr` keys.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_punch_akeys(
    _oh: daos_handle_t,
    _th: daos_handle_t,
    _flags: u64,
    _dkey: *mut daos_key_t,
    _nr: c_uint,
    _akeys: *mut daos_key_t,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_obj_fetch`.
///
/// # Safety
/// Arrays hold `nr` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_fetch(
    _oh: daos_handle_t,
    _th: daos_handle_t,
    _flags: u64,
    _dkey: *mut daos_key_t,
    _nr: c_uint,
    _iods: *mut daos_iod_t,
    _sgls: *mut d_sg_list_t,
    _ioms: *mut daos_iom_t,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_obj_update`.
///
/// # Safety
/// Arrays hold `nr` elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_update(
    _oh: daos_handle_t,
    _th: daos_handle_t,
    _flags: u64,
    _dkey: *mut daos_key_t,
    _nr: c_uint,
    _iods: *mut daos_iod_t,
    _sgls: *mut d_sg_list_t,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_obj_list_dkey`.
///
/// # Safety
/// Pointers valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_list_dkey(
    _oh: daos_handle_t,
    _th: daos_handle_t,
    _nr: *mut u32,
    _kds: *mut daos_key_desc_t,
    _sgl: *mut d_sg_list_t,
    _anchor: *mut daos_anchor_t,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_obj_list_akey`.
///
/// # Safety
/// Pointers valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_list_akey(
    _oh: daos_handle_t,
    _th: daos_handle_t,
    _dkey: *mut daos_key_t,
    _nr: *mut u32,
    _kds: *mut daos_key_desc_t,
    _sgl: *mut d_sg_list_t,
    _anchor: *mut daos_anchor_t,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_obj_list_recx`.
///
/// # Safety
/// Pointers valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_list_recx(
    _oh: daos_handle_t,
    _th: daos_handle_t,
    _dkey: *mut daos_key_t,
    _akey: *mut daos_key_t,
    _size: *mut daos_size_t,
    _nr: *mut u32,
    _recxs: *mut daos_recx_t,
    _eprs: *mut daos_epoch_range_t,
    _anchor: *mut daos_anchor_t,
    _incr_order: bool,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_obj_query_key`.
///
/// # Safety
/// Pointers valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_obj_query_key(
    _oh: daos_handle_t,
    _th: daos_handle_t,
    _flags: u64,
    _dkey: *mut daos_key_t,
    _akey: *mut daos_key_t,
    _recx: *mut daos_recx_t,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_oit_open`.
///
/// # Safety
/// `oh` valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_oit_open(
    _coh: daos_handle_t,
    _epoch: daos_epoch_t,
    _oh: *mut daos_handle_t,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_oit_close`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_oit_close(_oh: daos_handle_t, _ev: *mut daos_event_t) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_oit_list`.
///
/// # Safety
/// Pointers valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_oit_list(
    _oh: daos_handle_t,
    _oids: *mut daos_obj_id_t,
    _oids_nr: *mut u32,
    _anchor: *mut daos_anchor_t,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_cont_alloc_oids`.
///
/// # Safety
/// `oid` valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_alloc_oids(
    _coh: daos_handle_t,
    _num_oids: daos_size_t,
    _oid: *mut u64,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_cont_snap_oit_create`.
///
/// # Safety
/// `name` is NULL or a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_snap_oit_create(
    _coh: daos_handle_t,
    _epoch: daos_epoch_t,
    _name: *mut c_char,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_cont_snap_oit_destroy`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_cont_snap_oit_destroy(
    _coh: daos_handle_t,
    _oh: daos_handle_t,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_tx_open`.
///
/// # Safety
/// `th` valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_tx_open(
    _coh: daos_handle_t,
    _th: *mut daos_handle_t,
    _flags: u64,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_tx_commit`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_tx_commit(_th: daos_handle_t, _ev: *mut daos_event_t) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_tx_open_snap`.
///
/// # Safety
/// `th` valid until completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_tx_open_snap(
    _coh: daos_handle_t,
    _epoch: daos_epoch_t,
    _th: *mut daos_handle_t,
    _ev: *mut daos_event_t,
) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_tx_abort`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_tx_abort(_th: daos_handle_t, _ev: *mut daos_event_t) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_tx_close`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_tx_close(_th: daos_handle_t, _ev: *mut daos_event_t) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_tx_restart`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_tx_restart(_th: daos_handle_t, _ev: *mut daos_event_t) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}

/// `daos_tx_hdl2epoch`.
///
/// # Safety
/// `epoch` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daos_tx_hdl2epoch(_th: daos_handle_t, _epoch: *mut daos_epoch_t) -> c_int {
    daos_guard(|| Der::NOSYS.0)
}
