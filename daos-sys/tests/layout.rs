//! The generated Rust types have the sizes and offsets measured on the
//! upstream v2.6.5 / v2.8.0 headers (shared/reference/daos-facts.md). bindgen's
//! own layout assertions compare Rust with the headers it read; these compare
//! both with upstream, so a wrong vendor header fails here.

use std::mem::{align_of, offset_of, size_of};

use daos_sys::*;

#[test]
fn common_types() {
    assert_eq!(size_of::<daos_handle_t>(), 8);
    assert_eq!(size_of::<d_iov_t>(), 24);
    assert_eq!(size_of::<d_sg_list_t>(), 16);
    assert_eq!(size_of::<d_rank_list_t>(), 16);
    assert_eq!(size_of::<uuid_t>(), 16);
    assert_eq!(size_of::<daos_anchor_t>(), 120);
    assert_eq!(offset_of!(daos_anchor_t, da_buf), 16);
}

#[test]
fn event_is_176_bytes_aligned_to_8() {
    assert_eq!(size_of::<daos_event_t>(), 176);
    assert_eq!(align_of::<daos_event_t>(), 8);
    assert_eq!(offset_of!(daos_event_t, ev_private), 8);
    assert_eq!(offset_of!(daos_event_t, ev_debug), 168);
}

#[test]
fn properties_and_acls() {
    assert_eq!(size_of::<daos_prop_entry>(), 16);
    assert_eq!(size_of::<daos_prop_t>(), 16);
    assert_eq!(size_of::<daos_acl>(), 8);
    assert_eq!(size_of::<daos_ace>(), 32);
    assert_eq!(offset_of!(daos_ace, dae_allow_perms), 8);
}

#[test]
fn pool_info() {
    assert_eq!(size_of::<daos_pool_space>(), 88);
    assert_eq!(size_of::<daos_rebuild_status>(), 56);
    assert_eq!(offset_of!(daos_rebuild_status, rs_fail_rank), 20);
    assert_eq!(size_of::<daos_pool_info_t>(), 192);
    assert_eq!(offset_of!(daos_pool_info_t, pi_bits), 40);
    assert_eq!(offset_of!(daos_pool_info_t, pi_space), 48);
    assert_eq!(offset_of!(daos_pool_info_t, pi_rebuild_st), 136);
    assert_eq!(size_of::<daos_pool_cont_info>(), 144);
}

#[cfg(daos_api_2_8)]
#[test]
fn rebuild_status_has_2_8_flags() {
    assert_eq!(offset_of!(daos_rebuild_status, rs_flags), 18);
    assert_eq!(offset_of!(daos_rebuild_status, rs_reserved_), 19);
}

#[cfg(daos_api_2_6)]
#[test]
fn rebuild_status_has_2_6_padding() {
    assert_eq!(offset_of!(daos_rebuild_status, rs_padding16), 18);
}

#[test]
fn container_info() {
    assert_eq!(size_of::<daos_cont_info_t>(), 48);
    assert_eq!(offset_of!(daos_cont_info_t, ci_lsnapshot), 16);
    assert_eq!(offset_of!(daos_cont_info_t, ci_nhandles), 24);
    assert_eq!(offset_of!(daos_cont_info_t, ci_nsnapshots), 28);
    assert_eq!(offset_of!(daos_cont_info_t, ci_md_mtime), 40);
}

#[test]
fn dfs_attr() {
    assert_eq!(size_of::<dfs_attr_t>(), 176);
    assert_eq!(offset_of!(dfs_attr_t, da_oclass_id), 16);
    assert_eq!(offset_of!(dfs_attr_t, da_props), 24);
    assert_eq!(offset_of!(dfs_attr_t, da_mode), 32);
    assert_eq!(offset_of!(dfs_attr_t, da_hints), 44);
}

#[test]
fn duns_attr() {
    assert_eq!(size_of::<duns_attr_t>(), 480);
    assert_eq!(offset_of!(duns_attr_t, da_flags), 24);
    assert_eq!(offset_of!(duns_attr_t, da_pool), 28);
    assert_eq!(offset_of!(duns_attr_t, da_cont), 156);
    assert_eq!(offset_of!(duns_attr_t, da_sys), 288);
    assert_eq!(offset_of!(duns_attr_t, da_rel_path), 296);
    assert_eq!(offset_of!(duns_attr_t, da_no_prefix), 305);
}

#[test]
fn numbers_other_crates_match_on() {
    assert_eq!(daos_errno_DER_NONEXIST, 1005);
    assert_eq!(daos_errno_DER_AGENT_COMM, 2034);
    assert_eq!(daos_errno_DER_CONT_NONEXIST, 2050);
    assert_eq!(daos_cont_props_DAOS_PROP_CO_LABEL, 0x1001);
    assert_eq!(daos_cont_props_DAOS_PROP_CO_ACL, 0x100a);
    assert_eq!(daos_pool_props_DAOS_PROP_PO_LABEL, 1);
    assert_eq!(daos_pool_info_bit_DPI_SPACE, 1);
    assert_eq!(daos_pool_info_bit_DPI_ALL, -1);
    assert_eq!(DAOS_PC_RW, 2);
    assert_eq!(DAOS_COO_RW, 2);
    assert_eq!(DAOS_EQ_WAIT, -1);
    assert_eq!(DAOS_PROP_LABEL_MAX_LEN, 127);
    assert_eq!(DAOS_PROP_CO_LAYOUT_POSIX, 1);
    assert_eq!(DUNS_XATTR_NAME, b"user.daos\0");
    assert_eq!(MAX_OBJ_CLASS_NAME_LEN, 24);
    assert_eq!(daos_obj_redun_OC_UNKNOWN, 0);
    assert_eq!(daos_acl_principal_type_NUM_DAOS_ACL_TYPES, 5);
    assert_eq!(daos_acl_perm_DAOS_ACL_PERM_SET_OWNER, 0x100);
    assert_eq!(DAOS_HTYPE_POOL, 3);
}

/// The names are upstream's, and so are the numbers that moved between releases.
#[cfg(daos_api_2_8)]
#[test]
fn numbers_new_in_2_8() {
    assert_eq!(daos_errno_DER_CONT_DESTROYING, 2051);
    assert_eq!(daos_errno_DER_IGNORE, 2052);
    assert_eq!(daos_errno_DER_LAST_VALID, 2053);
    assert_eq!(DAOS_PROP_PO_REDUN_FAC_DEFAULT, 3);
}

#[cfg(daos_api_2_6)]
#[test]
fn numbers_of_2_6() {
    assert_eq!(DAOS_PROP_PO_REDUN_FAC_DEFAULT, 0);
    assert_eq!(daos_target_type_t_DAOS_TP_VM, 4);
}
