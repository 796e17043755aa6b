/*
 * daos-csi vendor header: distributed transactions.
 *
 * Mirrors the transaction part of src/include/daos_api.h of daos-stack/daos
 * at tag v2.8.0 (identical in v2.6.5). DAOS_TX_NONE is the invalid handle
 * (cookie 0): an operation with it runs as its own transaction.
 */
#ifndef DAOS_CSI_VENDOR_DAOS_API_H
#define DAOS_CSI_VENDOR_DAOS_API_H

#include "daos_types.h"
#include "daos_event.h"

#if defined(__cplusplus)
extern "C" {
#endif

enum {
	DAOS_TF_RDONLY = (1 << 0),
	DAOS_TF_ZERO_COPY = (1 << 1),
};

int daos_tx_open(daos_handle_t coh, daos_handle_t *th, uint64_t flags, daos_event_t *ev);
int daos_tx_commit(daos_handle_t th, daos_event_t *ev);
/* A read-only transaction that reads the container as of a snapshot's epoch. */
int daos_tx_open_snap(daos_handle_t coh, daos_epoch_t epoch, daos_handle_t *th,
		      daos_event_t *ev);
int daos_tx_abort(daos_handle_t th, daos_event_t *ev);
int daos_tx_close(daos_handle_t th, daos_event_t *ev);
int daos_tx_restart(daos_handle_t th, daos_event_t *ev);
int daos_tx_hdl2epoch(daos_handle_t th, daos_epoch_t *epoch);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_CSI_VENDOR_DAOS_API_H */
