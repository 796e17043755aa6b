/*
 * daos-csi vendor header: access control lists.
 *
 * Mirrors src/include/daos_security.h of daos-stack/daos at tag v2.8.0 (same
 * in v2.6.5): the ACL/ACE structures, their constants and the ACL helpers
 * exported by libdaos_common.
 *
 * Layouts: struct daos_acl header 8 bytes, struct daos_ace header 32 bytes;
 * both end in a flexible array.
 */
#ifndef DAOS_CSI_VENDOR_DAOS_SECURITY_H
#define DAOS_CSI_VENDOR_DAOS_SECURITY_H

#include <sys/types.h>
#include "daos_types.h"

#if defined(__cplusplus)
extern "C" {
#endif

#define DAOS_ACL_VERSION 1

/* Longest principal name ("name@domain"), excluding / including the NUL. */
#define DAOS_ACL_MAX_PRINCIPAL_LEN	255
#define DAOS_ACL_MAX_PRINCIPAL_BUF_LEN	(DAOS_ACL_MAX_PRINCIPAL_LEN + 1)

/* Largest total size of the ACE list of one ACL (64 KiB). */
#define DAOS_ACL_MAX_ACE_LEN		65536

/* Special principal names in ACE strings. */
#define DAOS_ACL_PRINCIPAL_OWNER	"OWNER@"
#define DAOS_ACL_PRINCIPAL_OWNER_GRP	"GROUP@"
#define DAOS_ACL_PRINCIPAL_EVERYONE	"EVERYONE@"

enum daos_acl_principal_type {
	DAOS_ACL_OWNER = 0,
	DAOS_ACL_USER = 1,
	DAOS_ACL_OWNER_GROUP = 2,
	DAOS_ACL_GROUP = 3,
	DAOS_ACL_EVERYONE = 4,
	NUM_DAOS_ACL_TYPES = 5,	/* the count, not a type */
};

enum daos_acl_access_type {
	DAOS_ACL_ACCESS_ALLOW = 1 << 0,
	DAOS_ACL_ACCESS_AUDIT = 1 << 1,
	DAOS_ACL_ACCESS_ALARM = 1 << 2,
};

/* The masks below are macros over enum constants, as upstream; bindgen
 * cannot evaluate those, so daos-sys defines them in src/inline.rs. */
#define DAOS_ACL_ACCESS_ALL (DAOS_ACL_ACCESS_ALLOW | DAOS_ACL_ACCESS_AUDIT | DAOS_ACL_ACCESS_ALARM)

enum daos_acl_flags {
	DAOS_ACL_FLAG_GROUP = 1 << 0,
	DAOS_ACL_FLAG_POOL_INHERIT = 1 << 1,
	DAOS_ACL_FLAG_ACCESS_FAIL = 1 << 2,
	DAOS_ACL_FLAG_ACCESS_SUCCESS = 1 << 3,
};

#define DAOS_ACL_FLAG_ALL                                                                   \
	(DAOS_ACL_FLAG_GROUP | DAOS_ACL_FLAG_POOL_INHERIT | DAOS_ACL_FLAG_ACCESS_FAIL | \
	 DAOS_ACL_FLAG_ACCESS_SUCCESS)

/* Permission bits (dae_allow_perms and friends). String letters in order:
 * r w c d t T a A o. */
enum daos_acl_perm {
	DAOS_ACL_PERM_READ = (1U << 0),
	DAOS_ACL_PERM_WRITE = (1U << 1),
	DAOS_ACL_PERM_CREATE_CONT = (1U << 2),
	DAOS_ACL_PERM_DEL_CONT = (1U << 3),
	DAOS_ACL_PERM_GET_PROP = (1U << 4),
	DAOS_ACL_PERM_SET_PROP = (1U << 5),
	DAOS_ACL_PERM_GET_ACL = (1U << 6),
	DAOS_ACL_PERM_SET_ACL = (1U << 7),
	DAOS_ACL_PERM_SET_OWNER = (1U << 8),
};

/* What a pool ACE may grant (0x1F): the property/ACL/owner bits are
 * container-only. */
#define DAOS_ACL_PERM_POOL_ALL                                                  \
	(DAOS_ACL_PERM_READ | DAOS_ACL_PERM_GET_PROP | DAOS_ACL_PERM_WRITE |   \
	 DAOS_ACL_PERM_CREATE_CONT | DAOS_ACL_PERM_DEL_CONT)

#define DAOS_ACL_PERM_CONT_ALL                                                   \
	(DAOS_ACL_PERM_READ | DAOS_ACL_PERM_WRITE | DAOS_ACL_PERM_DEL_CONT |    \
	 DAOS_ACL_PERM_GET_PROP | DAOS_ACL_PERM_SET_PROP | DAOS_ACL_PERM_GET_ACL | \
	 DAOS_ACL_PERM_SET_ACL | DAOS_ACL_PERM_SET_OWNER)

#define DAOS_ACL_PERM_ALL (DAOS_ACL_PERM_POOL_ALL | DAOS_ACL_PERM_CONT_ALL)

/* One access control entry; dae_principal holds dae_principal_len bytes
 * (NUL-padded to a multiple of 8) for USER and GROUP entries. */
struct daos_ace {
	uint8_t  dae_access_types;	/* enum daos_acl_access_type bits */
	uint8_t  dae_principal_type;	/* enum daos_acl_principal_type */
	uint16_t dae_principal_len;
	uint16_t dae_access_flags;	/* enum daos_acl_flags bits */
	uint16_t dae_reserv;
	uint64_t dae_allow_perms;
	uint64_t dae_audit_perms;
	uint64_t dae_alarm_perms;
	char     dae_principal[];
};

/* An ACL: dal_len bytes of packed struct daos_ace follow the header. */
struct daos_acl {
	uint16_t dal_ver;
	uint16_t dal_reserv;
	uint32_t dal_len;
	uint8_t  dal_ace[];
};

struct daos_acl *daos_acl_create(struct daos_ace *aces[], uint16_t num_aces);
struct daos_acl *daos_acl_dup(struct daos_acl *acl);
void daos_acl_free(struct daos_acl *acl);
struct daos_ace *daos_acl_get_next_ace(struct daos_acl *acl, struct daos_ace *current_ace);
int daos_acl_get_ace_for_principal(struct daos_acl *acl, enum daos_acl_principal_type type,
				   const char *principal, struct daos_ace **ace);
int daos_acl_add_ace(struct daos_acl **acl, struct daos_ace *new_ace);
int daos_acl_remove_ace(struct daos_acl **acl, enum daos_acl_principal_type type,
			const char *principal_name);
/* Structure only; the pool/container permission masks are not checked here
 * (daos_acl_pool_validate / daos_acl_cont_validate left the public API
 * after 2.2). */
int daos_acl_validate(struct daos_acl *acl);
ssize_t daos_acl_get_size(struct daos_acl *acl);

struct daos_ace *daos_ace_create(enum daos_acl_principal_type type, const char *principal_name);
void daos_ace_free(struct daos_ace *ace);
ssize_t daos_ace_get_size(struct daos_ace *ace);
bool daos_ace_is_valid(struct daos_ace *ace);

int daos_acl_uid_to_principal(uid_t uid, char **name);
int daos_acl_gid_to_principal(gid_t gid, char **name);
int daos_acl_principal_to_uid(const char *principal, uid_t *uid);
int daos_acl_principal_to_gid(const char *principal, gid_t *gid);
int daos_acl_principal_from_str(const char *principal_str, enum daos_acl_principal_type *type,
				char **name);

/* String forms "access:flags:principal:perms", e.g. "A::OWNER@:rwdtTaAo". */
int daos_ace_from_str(const char *str, struct daos_ace **ace);
int daos_ace_to_str(struct daos_ace *ace, char *buf, size_t buf_len);
int daos_acl_from_strs(const char **ace_strs, size_t ace_nr, struct daos_acl **acl);
int daos_acl_to_strs(struct daos_acl *acl, char ***ace_strs, size_t *ace_nr);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_CSI_VENDOR_DAOS_SECURITY_H */
