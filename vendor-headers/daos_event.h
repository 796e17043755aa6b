/*
 * daos-csi vendor header: event queues and events.
 *
 * Mirrors src/include/daos_event.h of daos-stack/daos at tag v2.8.0 (same in
 * v2.6.5). daos_event_t and daos_eq_query_t themselves live in daos_types.h,
 * as upstream.
 */
#ifndef DAOS_CSI_VENDOR_DAOS_EVENT_H
#define DAOS_CSI_VENDOR_DAOS_EVENT_H

#include "daos_types.h"

#if defined(__cplusplus)
extern "C" {
#endif

/* Timeouts for daos_eq_poll / daos_event_test, in microseconds. */
#define DAOS_EQ_NOWAIT 0
#define DAOS_EQ_WAIT   -1

/* daos_eq_destroy flag: destroy even with events in flight. */
#define DAOS_EQ_DESTROY_FORCE 1

int daos_eq_create(daos_handle_t *eqh);
int daos_eq_destroy(daos_handle_t eqh, int flags);
int daos_eq_poll(daos_handle_t eqh, int wait_running, int64_t timeout,
		 unsigned int nevents, daos_event_t **events);
int daos_eq_query(daos_handle_t eqh, daos_eq_query_t query, unsigned int nevents,
		  daos_event_t **events);

int daos_event_init(daos_event_t *ev, daos_handle_t eqh, daos_event_t *parent);
int daos_event_fini(daos_event_t *ev);
daos_event_t *daos_event_next(daos_event_t *parent, daos_event_t *child);
int daos_event_test(struct daos_event *ev, int64_t timeout, bool *flag);
int daos_event_parent_barrier(struct daos_event *ev);
int daos_event_abort(daos_event_t *ev);

/* Runs on the thread that progresses the event; a non-zero return replaces
 * a zero operation result. */
typedef int (*daos_event_comp_cb_t)(void *arg, daos_event_t *ev, int rc);

int daos_event_register_comp_cb(struct daos_event *ev, daos_event_comp_cb_t cb, void *arg);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_CSI_VENDOR_DAOS_EVENT_H */
