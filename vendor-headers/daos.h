/*
 * daos-csi vendor header: the DAOS client API entry point.
 *
 * Mirrors src/include/daos.h of daos-stack/daos at tag v2.8.0: it includes
 * the other public headers (only the subset daos-csi mirrors) and declares
 * library init/fini.
 */
#ifndef DAOS_CSI_VENDOR_DAOS_H
#define DAOS_CSI_VENDOR_DAOS_H

/* The first daos_version.h on the include path wins (vendor-headers/v2.6
 * selects the 2.6 ABI); without -I, the one beside this header. */
#if defined(__has_include) && __has_include(<daos_version.h>)
#include <daos_version.h>
#else
#include "daos_version.h"
#endif
#include "daos_errno.h"
#include "daos_types.h"
#include "daos_event.h"
#include "daos_obj_class.h"
#include "daos_prop.h"
#include "daos_security.h"
#include "daos_cont.h"
#include "daos_pool.h"
#include "daos_obj.h"
#include "daos_api.h"

#if defined(__cplusplus)
extern "C" {
#endif

/* Reference-counted: the first call contacts the agent, later ones count. */
int daos_init(void);
int daos_fini(void);
/* For a child after fork() without exec(). */
int daos_reinit(void);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_CSI_VENDOR_DAOS_H */
