/*
 * daos-csi vendor header: pools.
 *
 * Mirrors src/include/daos_pool.h of daos-stack/daos at tag v2.8.0: pool info
 * and space/rebuild structures, query bits, connect flags and the pool calls
 * the driver uses. Guarded parts give the v2.6.5 layout when built with the
 * 2.6 daos_version.h (vendor-headers/v2.6).
 *
 * Layouts (x86_64, v2.6.5 == v2.8.0): struct daos_space 32, struct
 * daos_pool_space 88, struct daos_rebuild_status 56, daos_pool_info_t 192
 * (pi_bits @40, pi_space @48, pi_rebuild_st @136), struct
 * daos_pool_cont_info 144.
 */
#ifndef DAOS_CSI_VENDOR_DAOS_POOL_H
#define DAOS_CSI_VENDOR_DAOS_POOL_H

/* libdaos exports daos_pool_connect2; the plain name is a macro (and a weak
 * alias in the library). */
#define daos_pool_connect daos_pool_connect2

#include "daos_types.h"
#include "daos_prop.h"

#if defined(__cplusplus)
extern "C" {
#endif

#if DAOS_API_VERSION_MINOR < 8
/* Gone in 2.8, with daos_target_info_t's ta_type. */
typedef enum {
	DAOS_TP_UNKNOWN,
	DAOS_TP_HDD,
	DAOS_TP_SSD,
	DAOS_TP_PM,
	DAOS_TP_VM,
} daos_target_type_t;
#endif

typedef enum {
	DAOS_TS_UNKNOWN,
	DAOS_TS_DOWN_OUT,
	DAOS_TS_DOWN,
	DAOS_TS_UP,
	DAOS_TS_UP_IN,
	DAOS_TS_NEW,
	DAOS_TS_DRAIN,
} daos_target_state_t;

typedef struct {
	int foo;
} daos_target_perf_t;

/* Index into the space arrays. */
enum daos_media_type_t {
	DAOS_MEDIA_SCM = 0,
	DAOS_MEDIA_NVME = 1,
	DAOS_MEDIA_MAX = 2,
};

struct daos_space {
	uint64_t s_total[DAOS_MEDIA_MAX];
	uint64_t s_free[DAOS_MEDIA_MAX];
};

typedef struct {
#if DAOS_API_VERSION_MINOR >= 8
	uint32_t            ta_padding;	/* 2.8 dropped the target type */
#else
	daos_target_type_t  ta_type;
#endif
	daos_target_state_t ta_state;
	daos_target_perf_t  ta_perf;
	struct daos_space   ta_space;
} daos_target_info_t;

/* Space of the pool's live targets: ps_space is the sum, the arrays the
 * per-target extremes. */
struct daos_pool_space {
	struct daos_space ps_space;
	uint64_t          ps_free_min[DAOS_MEDIA_MAX];
	uint64_t          ps_free_max[DAOS_MEDIA_MAX];
	uint64_t          ps_free_mean[DAOS_MEDIA_MAX];
	uint32_t          ps_ntargets;
	uint32_t          ps_padding;
};

enum daos_rebuild_state_t {
	DRS_IN_PROGRESS = 0,
	DRS_NOT_STARTED = 1,
	DRS_COMPLETED = 2,
};

struct daos_rebuild_status {
	uint32_t rs_version;
	uint32_t rs_seconds;
	int32_t  rs_errno;
	union {
		int32_t rs_state;	/* enum daos_rebuild_state_t */
		int32_t rs_done;
	};
	uint16_t rs_max_supported_layout_ver;
#if DAOS_API_VERSION_MINOR >= 8
	uint8_t  rs_flags;
	uint8_t  rs_reserved_;
#else
	int16_t  rs_padding16;
#endif
	int32_t  rs_fail_rank;
	uint64_t rs_toberb_obj_nr;
	uint64_t rs_obj_nr;
	uint64_t rs_rec_nr;
	uint64_t rs_size;
};

/* pi_bits: which optional parts daos_pool_query fills. */
enum daos_pool_info_bit {
	DPI_SPACE = 1ULL << 0,
	DPI_REBUILD_STATUS = 1ULL << 1,
	DPI_ENGINES_ENABLED = 1ULL << 2,
	DPI_ENGINES_DISABLED = 1ULL << 3,
	DPI_ENGINES_DEAD = 1ULL << 4,
	DPI_REBUILD_MAX_LAYOUT_VER = 1ULL << 5,
#if DAOS_API_VERSION_MINOR >= 8
	DPI_SELF_HEAL_POLICY = 1ULL << 6,
#endif
	DPI_ALL = -1,
};

typedef struct {
	uuid_t                     pi_uuid;
	uint32_t                   pi_ntargets;
	uint32_t                   pi_nnodes;
	uint32_t                   pi_ndisabled;
	uint32_t                   pi_map_ver;
	uint32_t                   pi_leader;
	uint64_t                   pi_bits;	/* in/out: enum daos_pool_info_bit */
	struct daos_pool_space     pi_space;
	struct daos_rebuild_status pi_rebuild_st;
} daos_pool_info_t;

/* One entry of daos_pool_list_cont; an unlabeled container shows
 * DAOS_PROP_CO_LABEL_DEFAULT. */
struct daos_pool_cont_info {
	uuid_t pci_uuid;
	char   pci_label[DAOS_PROP_LABEL_MAX_LEN + 1];
};

/* Pool connect flags: exactly one. */
#define DAOS_PC_RO (1U << 0)
#define DAOS_PC_RW (1U << 1)
#define DAOS_PC_EX (1U << 2)

#define DAOS_PC_NBITS 3
#define DAOS_PC_MASK  ((1U << DAOS_PC_NBITS) - 1)

int daos_pool_connect(const char *pool, const char *sys, unsigned int flags,
		      daos_handle_t *poh, daos_pool_info_t *info, daos_event_t *ev);
int daos_pool_disconnect(daos_handle_t poh, daos_event_t *ev);
int daos_pool_local2global(daos_handle_t poh, d_iov_t *glob);
int daos_pool_global2local(d_iov_t glob, daos_handle_t *poh);
int daos_pool_query(daos_handle_t poh, d_rank_list_t **ranks, daos_pool_info_t *info,
		    daos_prop_t *pool_prop, daos_event_t *ev);
int daos_pool_query_target(daos_handle_t poh, uint32_t tgt, d_rank_t rank,
			   daos_target_info_t *info, daos_event_t *ev);
int daos_pool_list_attr(daos_handle_t poh, char *buffer, size_t *size, daos_event_t *ev);
int daos_pool_get_attr(daos_handle_t poh, int n, char const *const names[],
		       void *const buffers[], size_t sizes[], daos_event_t *ev);
int daos_pool_set_attr(daos_handle_t poh, int n, char const *const names[],
		       void const *const values[], size_t const sizes[], daos_event_t *ev);
int daos_pool_del_attr(daos_handle_t poh, int n, char const *const names[], daos_event_t *ev);
int daos_pool_list_cont(daos_handle_t poh, daos_size_t *ncont,
			struct daos_pool_cont_info *cbuf, daos_event_t *ev);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_CSI_VENDOR_DAOS_POOL_H */
