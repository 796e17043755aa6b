/*
 * daos-csi vendor header: the object API (objects, keys, values, the object
 * index table).
 *
 * Mirrors src/include/daos_obj.h of daos-stack/daos at tag v2.8.0 (identical
 * in v2.6.5 but for a comment): OID format bits, object types, conditional
 * and open flags, daos_recx_t, daos_iod_t, daos_iom_t, daos_key_desc_t, and
 * the calls that open, enumerate, fetch, update and punch objects. The static
 * inline helpers upstream defines over the OID bits are not mirrored: the
 * `daos` crate has their Rust forms. Also the OIT and OID-allocation calls of
 * src/include/daos_cont.h (daos_cont_alloc_oids, daos_cont_snap_oit_*).
 */
#ifndef DAOS_CSI_VENDOR_DAOS_OBJ_H
#define DAOS_CSI_VENDOR_DAOS_OBJ_H

#include <stdbool.h>
#include "daos_types.h"
#include "daos_event.h"
#include "daos_obj_class.h"

/* Upstream's spelling: the 2-suffixed export is the real symbol. */
#define daos_obj_generate_oid daos_obj_generate_oid2

#if defined(__cplusplus)
extern "C" {
#endif

/* oid.hi: | type (8) | redundancy order (8) | group count (16) | free (32) | */
#define OID_FMT_INTR_BITS	32
#define OID_FMT_TYPE_BITS	8
#define OID_FMT_CLASS_BITS	8
#define OID_FMT_META_BITS	16

#define OID_FMT_TYPE_SHIFT	(64 - OID_FMT_TYPE_BITS)
#define OID_FMT_CLASS_SHIFT	(OID_FMT_TYPE_SHIFT - OID_FMT_CLASS_BITS)
#define OID_FMT_META_SHIFT	(OID_FMT_CLASS_SHIFT - OID_FMT_META_BITS)

enum daos_otype_t {
	DAOS_OT_MULTI_HASHED = 0,
	DAOS_OT_OIT = 1,
	DAOS_OT_DKEY_UINT64 = 2,
	DAOS_OT_AKEY_UINT64 = 3,
	DAOS_OT_MULTI_UINT64 = 4,
	DAOS_OT_DKEY_LEXICAL = 5,
	DAOS_OT_AKEY_LEXICAL = 6,
	DAOS_OT_MULTI_LEXICAL = 7,
	DAOS_OT_KV_HASHED = 8,
	DAOS_OT_KV_UINT64 = 9,
	DAOS_OT_KV_LEXICAL = 10,
	DAOS_OT_ARRAY = 11,
	DAOS_OT_ARRAY_ATTR = 12,
	DAOS_OT_ARRAY_BYTE = 13,
	DAOS_OT_OIT_V2 = 14,
	DAOS_OT_MAX = 14,
};

/* Conditional operations (the low 8 bits of the flags of fetch/update/punch). */
enum {
	DAOS_COND_PUNCH = (1 << 0),
	DAOS_COND_DKEY_INSERT = (1 << 1),
	DAOS_COND_DKEY_UPDATE = (1 << 2),
	DAOS_COND_DKEY_FETCH = (1 << 3),
	DAOS_COND_AKEY_INSERT = (1 << 4),
	DAOS_COND_AKEY_UPDATE = (1 << 5),
	DAOS_COND_AKEY_FETCH = (1 << 6),
	DAOS_COND_PER_AKEY = (1 << 7),
	DAOS_COND_MASK = ((1 << 8) - 1),
};

/* daos_obj_open modes. */
enum {
	DAOS_OO_RO = (1 << 1),
	DAOS_OO_RW = (1 << 2),
	DAOS_OO_EXCL = (1 << 3),
	DAOS_OO_IO_RAND = (1 << 4),
	DAOS_OO_IO_SEQ = (1 << 5),
};

/* rx_nr records of an array value starting at record rx_idx. */
typedef struct {
	uint64_t rx_idx;
	uint64_t rx_nr;
} daos_recx_t;

typedef enum {
	DAOS_IOD_NONE = 0,
	DAOS_IOD_SINGLE = 1,
	DAOS_IOD_ARRAY = 2,
} daos_iod_type_t;

/* One akey's value in a fetch or update: a single value (iod_nr 1, no recxs)
 * or the extents of an array of iod_size-byte records. iod_size 0
 * (DAOS_REC_ANY) in a fetch asks DAOS for the size. */
typedef struct {
	daos_key_t      iod_name;
	daos_iod_type_t iod_type;
	daos_size_t     iod_size;
	uint64_t        iod_flags;
	uint32_t        iod_nr;
	daos_recx_t    *iod_recxs;
} daos_iod_t;

#define DAOS_IOMF_DETAIL (0x1U)

/* What a fetch found of an array value (optional). */
typedef struct {
	daos_iod_type_t iom_type;
	uint32_t        iom_nr;
	uint32_t        iom_nr_out;
	uint32_t        iom_flags;
	daos_size_t     iom_size;
	daos_recx_t     iom_recx_lo;
	daos_recx_t     iom_recx_hi;
	daos_recx_t    *iom_recxs;
} daos_iom_t;

enum {
	DAOS_REC_ANY = 0,
};

/* daos_obj_query_key flags. */
enum {
	DAOS_GET_MAX = (1 << 0),
	DAOS_GET_MIN = (1 << 1),
	DAOS_GET_DKEY = (1 << 2),
	DAOS_GET_AKEY = (1 << 3),
	DAOS_GET_RECX = (1 << 4),
};

/* One key of an enumeration: its length in the packed key buffer. */
typedef struct {
	daos_size_t kd_key_len;
	uint32_t    kd_val_type;
} daos_key_desc_t;

int daos_obj_generate_oid2(daos_handle_t coh, daos_obj_id_t *oid, enum daos_otype_t type,
			   daos_oclass_id_t cid, daos_oclass_hints_t hints, uint32_t args);

int daos_obj_open(daos_handle_t coh, daos_obj_id_t oid, unsigned int mode, daos_handle_t *oh,
		  daos_event_t *ev);
int daos_obj_close(daos_handle_t oh, daos_event_t *ev);

int daos_obj_punch(daos_handle_t oh, daos_handle_t th, uint64_t flags, daos_event_t *ev);
int daos_obj_punch_dkeys(daos_handle_t oh, daos_handle_t th, uint64_t flags, unsigned int nr,
			 daos_key_t *dkeys, daos_event_t *ev);
int daos_obj_punch_akeys(daos_handle_t oh, daos_handle_t th, uint64_t flags, daos_key_t *dkey,
			 unsigned int nr, daos_key_t *akeys, daos_event_t *ev);

int daos_obj_fetch(daos_handle_t oh, daos_handle_t th, uint64_t flags, daos_key_t *dkey,
		   unsigned int nr, daos_iod_t *iods, d_sg_list_t *sgls, daos_iom_t *ioms,
		   daos_event_t *ev);
int daos_obj_update(daos_handle_t oh, daos_handle_t th, uint64_t flags, daos_key_t *dkey,
		    unsigned int nr, daos_iod_t *iods, d_sg_list_t *sgls, daos_event_t *ev);

/* Keys are packed back to back into sgl, kds[i].kd_key_len bytes each;
 * -DER_KEY2BIG (kds[0].kd_key_len = the size needed) when the first does not
 * fit. */
int daos_obj_list_dkey(daos_handle_t oh, daos_handle_t th, uint32_t *nr, daos_key_desc_t *kds,
		       d_sg_list_t *sgl, daos_anchor_t *anchor, daos_event_t *ev);
int daos_obj_list_akey(daos_handle_t oh, daos_handle_t th, daos_key_t *dkey, uint32_t *nr,
		       daos_key_desc_t *kds, d_sg_list_t *sgl, daos_anchor_t *anchor,
		       daos_event_t *ev);
int daos_obj_list_recx(daos_handle_t oh, daos_handle_t th, daos_key_t *dkey, daos_key_t *akey,
		       daos_size_t *size, uint32_t *nr, daos_recx_t *recxs,
		       daos_epoch_range_t *eprs, daos_anchor_t *anchor, bool incr_order,
		       daos_event_t *ev);
int daos_obj_query_key(daos_handle_t oh, daos_handle_t th, uint64_t flags, daos_key_t *dkey,
		       daos_key_t *akey, daos_recx_t *recx, daos_event_t *ev);
/* The highest epoch at which the object was updated, as th sees it. */
int daos_obj_query_max_epoch(daos_handle_t oh, daos_handle_t th, daos_epoch_t *epoch,
			     daos_event_t *ev);

/* The object index table of a snapshot made with DAOS_SNAP_OPT_OIT. */
int daos_oit_open(daos_handle_t coh, daos_epoch_t epoch, daos_handle_t *oh, daos_event_t *ev);
int daos_oit_close(daos_handle_t oh, daos_event_t *ev);
int daos_oit_list(daos_handle_t oh, daos_obj_id_t *oids, uint32_t *oids_nr,
		  daos_anchor_t *anchor, daos_event_t *ev);

/* From daos_cont.h: reserve num_oids object ids (oid.lo values) from the
 * container's allocator; *oid is the first. */
int daos_cont_alloc_oids(daos_handle_t coh, daos_size_t num_oids, uint64_t *oid,
			 daos_event_t *ev);
int daos_cont_snap_oit_create(daos_handle_t coh, daos_epoch_t epoch, char *name,
			      daos_event_t *ev);
int daos_cont_snap_oit_destroy(daos_handle_t coh, daos_handle_t oh, daos_event_t *ev);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_CSI_VENDOR_DAOS_OBJ_H */
