/*
 * daos-csi vendor headers: everything bindgen (daos-sys, the emulator) needs.
 * Select the 2.6 ABI by putting vendor-headers/v2.6 first on the include path.
 */
#include "daos.h"
#include "daos_fs.h"
#include "daos_uns.h"
#include "gurt_extras.h"
