/*
 * Compile-time check of vendor-headers/ against the DAOS ABI.
 *
 * Sizes and offsets were measured by compiling the upstream v2.6.5 and v2.8.0
 * headers of daos-stack/daos with gcc on x86_64 (see
 * shared/reference/daos-facts.md). Compiled with and without the v2.6
 * daos_version.h by daos-sys/tests/vendor_headers.rs.
 */
#include <stddef.h>
#include <wrapper.h>

#define SIZE(type, n) _Static_assert(sizeof(type) == (n), "sizeof " #type)
#define AT(type, field, n) _Static_assert(offsetof(type, field) == (n), #type "." #field)

SIZE(daos_handle_t, 8);
SIZE(d_iov_t, 24);
SIZE(d_sg_list_t, 16);
SIZE(d_rank_list_t, 16);
SIZE(daos_obj_id_t, 16);
SIZE(daos_epoch_range_t, 16);

SIZE(daos_anchor_t, 120);
AT(daos_anchor_t, da_sub_anchors, 8);
AT(daos_anchor_t, da_buf, 16);

SIZE(daos_event_t, 176);
_Static_assert(_Alignof(daos_event_t) == 8, "daos_event_t alignment");
AT(daos_event_t, ev_private, 8);
AT(daos_event_t, ev_debug, 168);

SIZE(struct daos_prop_entry, 16);
AT(struct daos_prop_entry, dpe_val, 8);
SIZE(daos_prop_t, 16);

SIZE(struct daos_acl, 8);
SIZE(struct daos_ace, 32);
AT(struct daos_ace, dae_allow_perms, 8);
AT(struct daos_ace, dae_principal, 32);

SIZE(struct daos_space, 32);
SIZE(struct daos_pool_space, 88);
AT(struct daos_pool_space, ps_ntargets, 80);
SIZE(struct daos_rebuild_status, 56);
AT(struct daos_rebuild_status, rs_state, 12);
AT(struct daos_rebuild_status, rs_max_supported_layout_ver, 16);
#if DAOS_API_VERSION_MINOR >= 8
AT(struct daos_rebuild_status, rs_flags, 18);
AT(struct daos_rebuild_status, rs_reserved_, 19);
#else
AT(struct daos_rebuild_status, rs_padding16, 18);
#endif
AT(struct daos_rebuild_status, rs_fail_rank, 20);
AT(struct daos_rebuild_status, rs_toberb_obj_nr, 24);
AT(struct daos_rebuild_status, rs_size, 48);

SIZE(daos_pool_info_t, 192);
AT(daos_pool_info_t, pi_ntargets, 16);
AT(daos_pool_info_t, pi_leader, 32);
AT(daos_pool_info_t, pi_bits, 40);
AT(daos_pool_info_t, pi_space, 48);
AT(daos_pool_info_t, pi_rebuild_st, 136);

SIZE(struct daos_pool_cont_info, 144);
AT(struct daos_pool_cont_info, pci_label, 16);

SIZE(daos_cont_info_t, 48);
AT(daos_cont_info_t, ci_lsnapshot, 16);
AT(daos_cont_info_t, ci_nhandles, 24);
AT(daos_cont_info_t, ci_nsnapshots, 28);
AT(daos_cont_info_t, ci_md_otime, 32);
AT(daos_cont_info_t, ci_md_mtime, 40);

SIZE(dfs_attr_t, 176);
AT(dfs_attr_t, da_chunk_size, 8);
AT(dfs_attr_t, da_oclass_id, 16);
AT(dfs_attr_t, da_props, 24);
AT(dfs_attr_t, da_mode, 32);
AT(dfs_attr_t, da_dir_oclass_id, 36);
AT(dfs_attr_t, da_file_oclass_id, 40);
AT(dfs_attr_t, da_hints, 44);

SIZE(struct duns_attr_t, 480);
AT(struct duns_attr_t, da_oclass_id, 4);
AT(struct duns_attr_t, da_chunk_size, 8);
AT(struct duns_attr_t, da_props, 16);
AT(struct duns_attr_t, da_flags, 24);
AT(struct duns_attr_t, da_pool, 28);
AT(struct duns_attr_t, da_cont, 156);
AT(struct duns_attr_t, da_sys, 288);
AT(struct duns_attr_t, da_rel_path, 296);
AT(struct duns_attr_t, da_on_lustre, 304);
AT(struct duns_attr_t, da_no_prefix, 305);

/* Numbers other crates match on. */
_Static_assert(DER_NONEXIST == 1005 && DER_AGENT_COMM == 2034 && DER_CONT_NONEXIST == 2050,
	       "DER numbers");
#if DAOS_API_VERSION_MINOR >= 8
_Static_assert(DER_CONT_DESTROYING == 2051 && DER_IGNORE == 2052 && DER_LAST_VALID == 2053,
	       "2.8 DER numbers");
#endif
_Static_assert(DER_UNKNOWN == 501000, "DER_UNKNOWN");
_Static_assert(DAOS_PROP_CO_LABEL == 0x1001 && DAOS_PROP_CO_PERF_DOMAIN == 0x101a &&
		       DAOS_PROP_CO_MAX == 0x101b,
	       "container property numbers");
_Static_assert(DAOS_PROP_PO_LABEL == 1 && DAOS_PROP_PO_REDUN_FAC == 11 && DAOS_PROP_PO_MAX == 28,
	       "pool property numbers");
_Static_assert(DAOS_ANCHOR_TYPE_EOF == 3, "anchor EOF");

/* Values that changed between releases or that we once had wrong
 * (src/include/daos_prop.h, daos_obj_class.h, daos_security.h). */
#if DAOS_API_VERSION_MINOR >= 8
_Static_assert(DAOS_PROP_PO_REDUN_FAC_DEFAULT == 3, "2.8 default pool RF");
#else
_Static_assert(DAOS_PROP_PO_REDUN_FAC_DEFAULT == 0, "2.6 default pool RF");
#endif
_Static_assert(MAX_OBJ_CLASS_NAME_LEN == 24, "object class name buffer");
_Static_assert(DAOS_ACL_PERM_POOL_ALL == 0x1F, "pool ACE permissions");
_Static_assert(DAOS_ACL_PERM_CONT_ALL == 0x1FB, "container ACE permissions");
_Static_assert(DAOS_ACL_PERM_ALL == 0x1FF, "all ACE permissions");
_Static_assert(NUM_DAOS_ACL_TYPES == 5, "principal types");
_Static_assert(OC_UNKNOWN == 0 && DAOS_HTYPE_CO == 5, "unnamed enums");

int main(void)
{
	return 0;
}
