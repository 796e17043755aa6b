/*
 * daos-csi vendor header: gurt functions that daos.h does not reach.
 *
 * Mirrors declarations from src/include/gurt/common.h of daos-stack/daos at
 * tag v2.8.0 (exported by libgurt). Upstream's gurt/common.h is not included by
 * daos.h and drags in much more, so these are declared by hand. This header is
 * also used on top of an installed DAOS (daos-sys build.rs), so it only
 * declares functions and includes nothing of DAOS: include it after daos.h
 * (installed or vendor), which provides d_rank_list_t.
 */
#ifndef DAOS_CSI_VENDOR_GURT_EXTRAS_H
#define DAOS_CSI_VENDOR_GURT_EXTRAS_H

#include <stdint.h>

#if defined(__cplusplus)
extern "C" {
#endif

/* Frees a list returned by DAOS (e.g. daos_pool_query's ranks). */
void d_rank_list_free(d_rank_list_t *rank_list);
d_rank_list_t *d_rank_list_alloc(uint32_t size);

/* Hybrid logical clock: snapshot epochs are HLC values. */
uint64_t d_hlc_get(void);
uint64_t d_hlc2unixnsec(uint64_t hlc);
uint64_t d_unixnsec2hlc(uint64_t unixnsec);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_CSI_VENDOR_GURT_EXTRAS_H */
