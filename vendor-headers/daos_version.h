/*
 * daos-csi vendor header: DAOS library and API version numbers.
 *
 * Mirrors the generated header daos_version.h that DAOS installs from
 * src/include/daos_version.h.in (daos-stack/daos, tag v2.8.0). Written by the
 * daos-csi project; only the numbers are taken from upstream.
 *
 * The API version (major.minor.fix) is what the rest of the vendor headers key
 * their 2.8-only declarations on. The v2.6/ directory holds the 2.6 flavour of
 * this file; put it first on the include path to get the 2.6 ABI.
 */
#ifndef DAOS_CSI_VENDOR_DAOS_VERSION_H
#define DAOS_CSI_VENDOR_DAOS_VERSION_H

#define DAOS_API_VERSION_MAJOR 2
#define DAOS_API_VERSION_MINOR 8
#define DAOS_API_VERSION_FIX   0

#define DAOS_VERSION_MAJOR 2
#define DAOS_VERSION_MINOR 8
#define DAOS_VERSION_FIX   0

#endif /* DAOS_CSI_VENDOR_DAOS_VERSION_H */
