/*
 * daos-csi vendor header: containers.
 *
 * Mirrors src/include/daos_cont.h of daos-stack/daos at tag v2.8.0 (same
 * subset in v2.6.5): open flags, container info, snapshot options and the
 * container calls the driver uses.
 *
 * Layout: daos_cont_info_t 48 bytes (ci_lsnapshot @16, ci_nhandles @24,
 * ci_nsnapshots @28, ci_md_otime @32, ci_md_mtime @40).
 */
#ifndef DAOS_CSI_VENDOR_DAOS_CONT_H
#define DAOS_CSI_VENDOR_DAOS_CONT_H

/* libdaos exports the ...2 symbols; the plain names are macros (and weak
 * aliases in the library). */
#define daos_cont_open    daos_cont_open2
#define daos_cont_destroy daos_cont_destroy2
#define daos_cont_create  daos_cont_create2

#include "daos_types.h"
#include "daos_prop.h"
#include "daos_security.h"

#if defined(__cplusplus)
extern "C" {
#endif

/* Open flags: exactly one of RO/RW/EX, optionally combined with the rest. */
#define DAOS_COO_RO		(1U << 0)
#define DAOS_COO_RW		(1U << 1)
#define DAOS_COO_EX		(1U << 2)
#define DAOS_COO_FORCE		(1U << 3)
#define DAOS_COO_RO_MDSTATS	(1U << 4)
#define DAOS_COO_EVICT		(1U << 5)
#define DAOS_COO_EVICT_ALL	(1U << 6)
#define DAOS_COO_NEW_LAYOUT	(1U << 7)

#define DAOS_COO_NBITS	8
#define DAOS_COO_MASK	((1U << DAOS_COO_NBITS) - 1)

/* Longest object-class hint string ("file:single,dir:max"), with the NUL. */
#define DAOS_CONT_HINT_MAX_LEN	128

/* Longest snapshot name (named snapshots are refused with -DER_NOSYS). */
#define DAOS_SNAPSHOT_MAX_LEN	128

/* Container information. Metadata times are HLC values. */
typedef struct {
	uuid_t       ci_uuid;
	daos_epoch_t ci_lsnapshot;	/* latest snapshot, if ci_nsnapshots > 0 */
	uint32_t     ci_nhandles;
	uint32_t     ci_nsnapshots;
	uint64_t     ci_md_otime;
	uint64_t     ci_md_mtime;
} daos_cont_info_t;

/* daos_cont_create_snap_opt options: CR is required. */
enum daos_snapshot_opts {
	DAOS_SNAP_OPT_CR = (1 << 0),	/* create a snapshot */
	DAOS_SNAP_OPT_OIT = (1 << 1),	/* and build its object-id table */
};

int daos_cont_local2global(daos_handle_t coh, d_iov_t *glob);
int daos_cont_global2local(daos_handle_t poh, d_iov_t glob, daos_handle_t *coh);

int daos_cont_create(daos_handle_t poh, uuid_t *uuid, daos_prop_t *cont_prop, daos_event_t *ev);
/* Note the order: label before prop and uuid, unlike daos_cont_create. */
int daos_cont_create_with_label(daos_handle_t poh, const char *label, daos_prop_t *cont_prop,
				uuid_t *uuid, daos_event_t *ev);
int daos_cont_open(daos_handle_t poh, const char *cont, unsigned int flags, daos_handle_t *coh,
		   daos_cont_info_t *info, daos_event_t *ev);
int daos_cont_close(daos_handle_t coh, daos_event_t *ev);
int daos_cont_destroy(daos_handle_t poh, const char *cont, int force, daos_event_t *ev);
int daos_cont_query(daos_handle_t coh, daos_cont_info_t *info, daos_prop_t *cont_prop,
		    daos_event_t *ev);
int daos_cont_set_prop(daos_handle_t coh, daos_prop_t *prop, daos_event_t *ev);

int daos_cont_get_acl(daos_handle_t coh, daos_prop_t **acl_prop, daos_event_t *ev);
int daos_cont_overwrite_acl(daos_handle_t coh, struct daos_acl *acl, daos_event_t *ev);
int daos_cont_update_acl(daos_handle_t coh, struct daos_acl *acl, daos_event_t *ev);
int daos_cont_delete_acl(daos_handle_t coh, enum daos_acl_principal_type type, d_string_t name,
			 daos_event_t *ev);
int daos_cont_set_owner(daos_handle_t coh, d_string_t user, d_string_t group, daos_event_t *ev);
int daos_cont_set_owner_no_check(daos_handle_t coh, d_string_t user, d_string_t group,
				 daos_event_t *ev);

int daos_cont_list_attr(daos_handle_t coh, char *buffer, size_t *size, daos_event_t *ev);
int daos_cont_get_attr(daos_handle_t coh, int n, char const *const names[],
		       void *const buffers[], size_t sizes[], daos_event_t *ev);
int daos_cont_set_attr(daos_handle_t coh, int n, char const *const names[],
		       void const *const values[], size_t const sizes[], daos_event_t *ev);
int daos_cont_del_attr(daos_handle_t coh, int n, char const *const names[], daos_event_t *ev);

int daos_cont_create_snap(daos_handle_t coh, daos_epoch_t *epoch, char *name, daos_event_t *ev);
int daos_cont_create_snap_opt(daos_handle_t coh, daos_epoch_t *epoch, char *name,
			      enum daos_snapshot_opts opts, daos_event_t *ev);
int daos_cont_list_snap(daos_handle_t coh, int *nr, daos_epoch_t *epochs, char **names,
			daos_anchor_t *anchor, daos_event_t *ev);
int daos_cont_destroy_snap(daos_handle_t coh, daos_epoch_range_t epr, daos_event_t *ev);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_CSI_VENDOR_DAOS_CONT_H */
