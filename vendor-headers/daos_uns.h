/*
 * daos-csi vendor header: the DAOS Unified Namespace (libduns).
 *
 * Mirrors src/include/daos_uns.h of daos-stack/daos at tag v2.8.0 (same in
 * v2.6.5). Every duns_* call returns 0 or a positive errno.
 *
 * Layout: struct duns_attr_t 480 bytes (da_oclass_id @4, da_chunk_size @8,
 * da_props @16, da_flags @24, da_pool @28, da_cont @156, da_sys @288,
 * da_rel_path @296, da_on_lustre @304, da_no_prefix @305).
 */
#ifndef DAOS_CSI_VENDOR_DAOS_UNS_H
#define DAOS_CSI_VENDOR_DAOS_UNS_H

#include "daos.h"

#if defined(__cplusplus)
extern "C" {
#endif

/* da_flags bits for duns_resolve_path. */
enum {
	DUNS_NO_PREFIX = (1 << 0),		/* path has no daos:// prefix */
	DUNS_NO_REVERSE_LOOKUP = (1 << 1),	/* look at the last entry only */
	DUNS_NO_CHECK_PATH = (1 << 2),		/* treat as /pool/cont/rest */
};

struct duns_attr_t {
	daos_cont_layout_t da_type;	/* DAOS_PROP_CO_LAYOUT_* */
	daos_oclass_id_t   da_oclass_id;
	daos_size_t        da_chunk_size;
	daos_prop_t       *da_props;
	uint32_t           da_flags;	/* DUNS_* */
	char               da_pool[DAOS_PROP_LABEL_MAX_LEN + 1];	/* out: pool uuid/label */
	char               da_cont[DAOS_PROP_LABEL_MAX_LEN + 1];	/* out: cont uuid/label */
	char              *da_sys;	/* out: system name (freed by duns_destroy_attr) */
	char              *da_rel_path;	/* out: rest of the path (freed by duns_destroy_attr) */
	bool               da_on_lustre;
	bool               da_no_prefix;	/* deprecated: use DUNS_NO_PREFIX */
	uuid_t             da_puuid;	/* deprecated */
	uuid_t             da_cuuid;	/* deprecated */
	daos_oclass_id_t   da_dir_oclass_id;
	daos_oclass_id_t   da_file_oclass_id;
	char               da_hints[DAOS_CONT_HINT_MAX_LEN];
};

/* Extended attribute that marks a UNS entry, its size limit and format
 * ("DAOS.<layout>://<pool uuid>/<cont uuid>"). */
#define DUNS_XATTR_NAME		"user.daos"
#define DUNS_MAX_XATTR_LEN	170
#define DUNS_XATTR_FMT		"DAOS.%s://%36s/%36s"

int duns_create_path(daos_handle_t poh, const char *path, struct duns_attr_t *attrp);
int duns_resolve_path(const char *path, struct duns_attr_t *attr);
int duns_destroy_path(daos_handle_t poh, const char *path);
int duns_link_cont(daos_handle_t poh, const char *cont, const char *path);
int duns_parse_attr(char *str, daos_size_t len, struct duns_attr_t *attr);
int duns_set_sys_name(struct duns_attr_t *attrp, const char *sys);
void duns_destroy_attr(struct duns_attr_t *attrp);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_CSI_VENDOR_DAOS_UNS_H */
