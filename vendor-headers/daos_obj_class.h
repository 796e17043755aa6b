/*
 * daos-csi vendor header: object class ids.
 *
 * Mirrors the small part we use of src/include/daos_obj_class.h of
 * daos-stack/daos at tag v2.8.0: the id types and the name<->id converters
 * (exported by libdaos) that turn "SX", "RP_3G1", ... into the numeric ids
 * dfs_attr_t and duns_attr_t carry. The class table itself is not mirrored.
 */
#ifndef DAOS_CSI_VENDOR_DAOS_OBJ_CLASS_H
#define DAOS_CSI_VENDOR_DAOS_OBJ_CLASS_H

#include "daos_types.h"

#if defined(__cplusplus)
extern "C" {
#endif

typedef uint32_t daos_oclass_id_t;
typedef uint16_t daos_oclass_hints_t;

/* Buffer size daos_oclass_id2name needs. */
#define MAX_OBJ_CLASS_NAME_LEN 24

/* Redundancy kinds; only the first is mirrored. Id 0: let DAOS choose. */
enum daos_obj_redun {
	OC_UNKNOWN = 0,
};

/* Returns the class id, or 0 (OC_UNKNOWN) for an unknown name. */
int daos_oclass_name2id(const char *name);

/* Writes the name into name (MAX_OBJ_CLASS_NAME_LEN bytes); -1 if unknown. */
int daos_oclass_id2name(daos_oclass_id_t oc_id, char *name);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_CSI_VENDOR_DAOS_OBJ_CLASS_H */
