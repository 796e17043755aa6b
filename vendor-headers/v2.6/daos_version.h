/*
 * daos-csi vendor header: DAOS 2.6 version numbers.
 *
 * Mirrors the generated daos_version.h of daos-stack/daos tag v2.6.5: every
 * 2.6.x release reports API version 2.7.0 (libdaos.so.2.7.0), while the
 * package version is 2.6.5. Put this directory before vendor-headers/ on the
 * include path (`-I vendor-headers/v2.6 -I vendor-headers`) so that the other
 * vendor headers see API minor 7 and leave out the 2.8-only declarations.
 */
#ifndef DAOS_CSI_VENDOR_DAOS_VERSION_H
#define DAOS_CSI_VENDOR_DAOS_VERSION_H

#define DAOS_API_VERSION_MAJOR 2
#define DAOS_API_VERSION_MINOR 7
#define DAOS_API_VERSION_FIX   0

#define DAOS_VERSION_MAJOR 2
#define DAOS_VERSION_MINOR 6
#define DAOS_VERSION_FIX   5

#endif /* DAOS_CSI_VENDOR_DAOS_VERSION_H */
