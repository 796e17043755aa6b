/*
 * daos-csi vendor header: the DAOS File System (libdfs).
 *
 * Mirrors the subset we use of src/include/daos_fs.h of daos-stack/daos at tag
 * v2.8.0. Every dfs_* call returns 0 or a positive errno. dfs_connect_snap and
 * dfs_mount_snap exist only from 2.8 on and are left out with the 2.6
 * daos_version.h.
 *
 * Layout: dfs_attr_t 176 bytes (da_chunk_size @8, da_oclass_id @16,
 * da_props @24, da_mode @32, da_dir_oclass_id @36, da_file_oclass_id @40,
 * da_hints @44).
 */
#ifndef DAOS_CSI_VENDOR_DAOS_FS_H
#define DAOS_CSI_VENDOR_DAOS_FS_H

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "daos.h"

#if defined(__cplusplus)
extern "C" {
#endif

#define DFS_MAX_NAME		NAME_MAX
#define DFS_MAX_PATH		PATH_MAX
#define DFS_MAX_FSIZE		(~0ULL)
#define DFS_MAX_XATTR_NAME	255
#define DFS_MAX_XATTR_LEN	65536
#define DFS_DEFAULT_CHUNK_SIZE	1048576

/* Consistency modes for da_mode and the dfs_mount flags. */
#define DFS_RELAXED	0
#define DFS_BALANCED	4

/* dfs_osetattr flags: which fields of struct stat to apply. */
#define DFS_SET_ATTR_MODE	(1 << 0)
#define DFS_SET_ATTR_ATIME	(1 << 1)
#define DFS_SET_ATTR_MTIME	(1 << 2)
#define DFS_SET_ATTR_SIZE	(1 << 3)
#define DFS_SET_ATTR_UID	(1 << 4)
#define DFS_SET_ATTR_GID	(1 << 5)

/* dfs_cont_check flags (an unnamed enum upstream, not macros). */
enum {
	DFS_CHECK_PRINT = (1 << 0),
	DFS_CHECK_REMOVE = (1 << 1),
	DFS_CHECK_RELINK = (1 << 2),
	DFS_CHECK_VERIFY = (1 << 3),
	DFS_CHECK_EVICT_ALL = (1 << 4),
};

/* f_type that dfuse reports. */
#define DAOS_SUPER_MAGIC	0xDA05AD10

typedef struct dfs_obj dfs_obj_t;
typedef struct dfs dfs_t;

/* Attributes of a POSIX container (in at create, out of dfs_query). */
typedef struct {
	uint64_t         da_id;
	daos_size_t      da_chunk_size;		/* 0 = default */
	daos_oclass_id_t da_oclass_id;		/* 0 = default */
	daos_prop_t     *da_props;		/* extra container properties */
	uint32_t         da_mode;		/* DFS_RELAXED or DFS_BALANCED */
	daos_oclass_id_t da_dir_oclass_id;
	daos_oclass_id_t da_file_oclass_id;
	char             da_hints[DAOS_CONT_HINT_MAX_LEN];
} dfs_attr_t;

int dfs_init(void);
int dfs_fini(void);

int dfs_connect(const char *pool, const char *sys, const char *cont, int flags,
		dfs_attr_t *attr, dfs_t **dfs);
int dfs_disconnect(dfs_t *dfs);
int dfs_destroy(const char *pool, const char *sys, const char *cont, int force,
		daos_event_t *ev);

int dfs_cont_create(daos_handle_t poh, uuid_t *uuid, dfs_attr_t *attr, daos_handle_t *coh,
		    dfs_t **dfs);
int dfs_cont_create_with_label(daos_handle_t poh, const char *label, dfs_attr_t *attr,
			       uuid_t *uuid, daos_handle_t *coh, dfs_t **dfs);
int dfs_cont_set_owner(daos_handle_t coh, d_string_t user, uid_t uid, d_string_t group,
		       gid_t gid);
int dfs_cont_check(daos_handle_t poh, const char *cont, uint64_t flags, const char *name);

int dfs_mount(daos_handle_t poh, daos_handle_t coh, int flags, dfs_t **dfs);
int dfs_umount(dfs_t *dfs);
int dfs_query(dfs_t *dfs, dfs_attr_t *attr);
int dfs_sync(dfs_t *dfs);

#if DAOS_API_VERSION_MINOR >= 8
/* Read-only views of a snapshot (by epoch, or by name). */
int dfs_connect_snap(const char *pool, const char *sys, const char *cont, int flags,
		     daos_epoch_t epoch, const char *name, dfs_t **dfs);
int dfs_mount_snap(daos_handle_t poh, daos_handle_t coh, int flags, daos_epoch_t epoch,
		   const char *name, dfs_t **dfs);
#endif

/* Objects. parent == NULL means the root directory. */
int dfs_lookup(dfs_t *dfs, const char *path, int flags, dfs_obj_t **obj, mode_t *mode,
	       struct stat *stbuf);
int dfs_lookup_rel(dfs_t *dfs, dfs_obj_t *parent, const char *name, int flags,
		   dfs_obj_t **obj, mode_t *mode, struct stat *stbuf);
int dfs_open(dfs_t *dfs, dfs_obj_t *parent, const char *name, mode_t mode, int flags,
	     daos_oclass_id_t cid, daos_size_t chunk_size, const char *value, dfs_obj_t **obj);
int dfs_release(dfs_obj_t *obj);
int dfs_read(dfs_t *dfs, dfs_obj_t *obj, d_sg_list_t *sgl, daos_off_t off,
	     daos_size_t *read_size, daos_event_t *ev);
int dfs_write(dfs_t *dfs, dfs_obj_t *obj, d_sg_list_t *sgl, daos_off_t off, daos_event_t *ev);
int dfs_get_size(dfs_t *dfs, dfs_obj_t *obj, daos_size_t *size);
int dfs_punch(dfs_t *dfs, dfs_obj_t *obj, daos_off_t offset, daos_size_t len);
int dfs_readdir(dfs_t *dfs, dfs_obj_t *obj, daos_anchor_t *anchor, uint32_t *nr,
		struct dirent *dirs);
/* As dfs_readdir (only d_name is filled), plus the stat of each entry in stbufs
 * (src/include/daos_fs.h, v2.6.5 and v2.8.0). */
int dfs_readdirplus(dfs_t *dfs, dfs_obj_t *obj, daos_anchor_t *anchor, uint32_t *nr,
		    struct dirent *dirs, struct stat *stbufs);
int dfs_mkdir(dfs_t *dfs, dfs_obj_t *parent, const char *name, mode_t mode,
	      daos_oclass_id_t cid);
int dfs_remove(dfs_t *dfs, dfs_obj_t *parent, const char *name, bool force,
	       daos_obj_id_t *oid);
int dfs_get_mode(dfs_obj_t *obj, mode_t *mode);
/* The target of a symbolic link object (src/include/daos_fs.h, v2.6.5 and v2.8.0): *size is
 * the buffer's size in and the target's length plus its NUL out; a smaller buffer gets the
 * target cut short and NUL-terminated; EINVAL for an object that is not a symbolic link. */
int dfs_get_symlink_value(dfs_obj_t *obj, char *buf, daos_size_t *size);

/* Attributes. With parent == NULL and name == NULL they act on the root. */
int dfs_stat(dfs_t *dfs, dfs_obj_t *parent, const char *name, struct stat *stbuf);
int dfs_ostat(dfs_t *dfs, dfs_obj_t *obj, struct stat *stbuf);
int dfs_access(dfs_t *dfs, dfs_obj_t *parent, const char *name, int mask);
int dfs_chmod(dfs_t *dfs, dfs_obj_t *parent, const char *name, mode_t mode);
/* flags: 0 or O_NOFOLLOW. uid/gid are recorded, not enforced, by DFS. */
int dfs_chown(dfs_t *dfs, dfs_obj_t *parent, const char *name, uid_t uid, gid_t gid,
	      int flags);
int dfs_osetattr(dfs_t *dfs, dfs_obj_t *obj, struct stat *stbuf, int flags);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_CSI_VENDOR_DAOS_FS_H */
