/*
 * daos-csi vendor header: common DAOS types.
 *
 * Mirrors the subset we use of src/include/daos_types.h of daos-stack/daos at
 * tag v2.8.0, plus the few gurt types it pulls in from src/include/gurt/types.h
 * (d_iov_t, d_sg_list_t, d_rank_t, d_rank_list_t, d_string_t). Upstream keeps
 * daos_event_t and daos_eq_query_t in daos_types.h as well, so they are here;
 * daos_event.h declares the event and event-queue functions.
 *
 * Layouts (x86_64, identical in v2.6.5 and v2.8.0): d_iov_t 24 bytes,
 * d_sg_list_t 16, d_rank_list_t 16, daos_handle_t 8, daos_anchor_t 120,
 * daos_event_t 176 (align 8).
 */
#ifndef DAOS_CSI_VENDOR_DAOS_TYPES_H
#define DAOS_CSI_VENDOR_DAOS_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uuid/uuid.h>

/* The first daos_version.h on the include path wins (vendor-headers/v2.6
 * selects the 2.6 ABI); without -I, the one beside this header. */
#if defined(__has_include) && __has_include(<daos_version.h>)
#include <daos_version.h>
#else
#include "daos_version.h"
#endif
#include "daos_errno.h"

#if defined(__cplusplus)
extern "C" {
#endif

/* ---- from gurt/types.h ------------------------------------------------- */

/* One contiguous memory buffer: iov_buf_len is its capacity, iov_len the
 * number of valid bytes. */
typedef struct {
	void   *iov_buf;
	size_t  iov_buf_len;
	size_t  iov_len;
} d_iov_t;

/* Scatter/gather list: sg_nr buffers in sg_iovs; sg_nr_out is set by some
 * read paths to the number of buffers filled. */
typedef struct {
	uint32_t  sg_nr;
	uint32_t  sg_nr_out;
	d_iov_t  *sg_iovs;
} d_sg_list_t;

typedef uint32_t d_rank_t;

typedef struct {
	d_rank_t *rl_ranks;
	uint32_t  rl_nr;
} d_rank_list_t;

typedef char       *d_string_t;
typedef const char *d_const_string_t;

/* ---- daos_types.h ------------------------------------------------------ */

typedef uint64_t daos_size_t;
typedef uint64_t daos_off_t;

#define daos_iov_t     d_iov_t
#define daos_sg_list_t d_sg_list_t
#define daos_rank_list_free d_rank_list_free

typedef d_iov_t daos_key_t;

/* Opaque handle; cookie 0 is the invalid handle (DAOS_HDL_INVAL, a compound
 * literal upstream, so not declared here: see daos-sys/src/inline.rs). */
typedef struct {
	uint64_t cookie;
} daos_handle_t;

/* Low 4 bits of a cookie that libdaos hands out name the handle's kind
 * (an unnamed enum upstream too). */
enum {
	DAOS_HTYPE_EQ = 1,
	DAOS_HTYPE_POOL = 3,
	DAOS_HTYPE_CO = 5,
	DAOS_HTYPE_OBJ = 7,
	DAOS_HTYPE_ARRAY = 9,
	DAOS_HTYPE_TX = 11,
	DAOS_HTYPE_KV = 13,
};

/* Epochs are HLC timestamps (see d_hlc2unixnsec in gurt_extras.h). */
typedef uint64_t daos_epoch_t;

typedef struct {
	daos_epoch_t epr_lo;
	daos_epoch_t epr_hi;
} daos_epoch_range_t;

#define DAOS_EPOCH_MAX (~0ULL)

/* 128-bit object id; DAOS reserves the high 32 bits of hi. */
typedef struct {
	uint64_t lo;
	uint64_t hi;
} daos_obj_id_t;

typedef enum {
	DAOS_ANCHOR_TYPE_ZERO = 0,
	DAOS_ANCHOR_TYPE_HKEY = 1,
	DAOS_ANCHOR_TYPE_KEY = 2,
	DAOS_ANCHOR_TYPE_EOF = 3,
} daos_anchor_type_t;

#define DAOS_ANCHOR_BUF_MAX 104

/* Iteration cursor for listing calls; zero-initialised to start, done when
 * da_type == DAOS_ANCHOR_TYPE_EOF. */
typedef struct {
	uint16_t da_type;
	uint16_t da_shard;
	uint32_t da_flags;
	uint64_t da_sub_anchors;
	uint8_t  da_buf[DAOS_ANCHOR_BUF_MAX];
} daos_anchor_t;

/* Longest user attribute name (pool or container), excluding the NUL. */
#define DAOS_ATTR_NAME_MAX 511

/* Longest DAOS system name accepted by pool connect. */
#define DAOS_SYS_NAME_MAX 15

/* ---- events (kept in daos_types.h upstream) ---------------------------- */

typedef enum {
	DAOS_EQR_COMPLETED = 1,
	DAOS_EQR_WAITING = 2,
	DAOS_EQR_ALL = 3,
} daos_eq_query_t;

typedef enum {
	DAOS_EVS_READY,
	DAOS_EVS_RUNNING,
	DAOS_EVS_COMPLETED,
	DAOS_EVS_ABORTED,
} daos_ev_status_t;

/* Completion event: callers own the memory and must keep it at a fixed
 * address from launch until it is polled out; ev_private is libdaos state. */
typedef struct daos_event {
	int ev_error;
	struct {
		uint64_t space[20];
	} ev_private;
	uint64_t ev_debug;
} daos_event_t;

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_CSI_VENDOR_DAOS_TYPES_H */
