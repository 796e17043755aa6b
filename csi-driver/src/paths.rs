//! Containment of request paths inside the kubelet root.
//!
//! A CSI caller names staging and target paths; the driver mounts and
//! unmounts there as root. Every such path must be absolute, free of `..`,
//! and — after resolving symlinks in its parent — inside `--kubelet-root`.
//! The last component itself is never resolved (it may be a dead FUSE mount
//! that would hang or fail a stat) but must not be a symlink.

use std::io;
use std::path::{Component, Path, PathBuf};

use tonic::Status;

/// Checks the syntax of `raw` (the request field `field`) without touching
/// the file system.
pub fn check_syntax(field: &str, raw: &str) -> Result<PathBuf, Status> {
    if raw.is_empty() {
        return Err(Status::invalid_argument(format!("{field} is required")));
    }
    if raw.contains('\0') {
        return Err(Status::invalid_argument(format!(
            "{field} contains a NUL byte"
        )));
    }
    let path = Path::new(raw);
    if !path.is_absolute() {
        return Err(Status::invalid_argument(format!(
            "{field} {raw:?} must be an absolute path"
        )));
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(Status::invalid_argument(format!(
            "{field} {raw:?} must not contain '..'"
        )));
    }
    if path.parent().is_none() {
        return Err(Status::invalid_argument(format!(
            "{field} {raw:?} cannot be the root directory"
        )));
    }
    Ok(path.components().collect())
}

/// Resolves `raw` (request field `field`) to a path inside `root`; a
/// missing parent directory is INVALID_ARGUMENT.
///
/// Blocking (it reads the file system); callers run it off the runtime.
pub fn contain(root: &Path, field: &str, raw: &str) -> Result<PathBuf, Status> {
    contain_if_parent_exists(root, field, raw)?.ok_or_else(|| {
        Status::invalid_argument(format!(
            "{field} {raw:?}: its parent directory does not exist"
        ))
    })
}

/// Like [`contain`], but `Ok(None)` when the parent directory does not
/// exist (nothing can be mounted there: fine for unpublish, unstage, stats).
pub fn contain_if_parent_exists(
    root: &Path,
    field: &str,
    raw: &str,
) -> Result<Option<PathBuf>, Status> {
    let path = check_syntax(field, raw)?;
    let root = root.canonicalize().map_err(|e| {
        Status::failed_precondition(format!(
            "kubelet root {} is not usable: {e}",
            root.display()
        ))
    })?;
    let resolved = match crate::sysmount::resolve_parent(&path) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Status::invalid_argument(format!("{field} {raw:?}: {e}"))),
    };
    if !resolved.starts_with(&root) || resolved == root {
        return Err(Status::invalid_argument(format!(
            "{field} {raw:?} resolves to {} which is outside the kubelet root {}",
            resolved.display(),
            root.display()
        )));
    }
    if is_symlink_cached(&resolved) {
        return Err(Status::invalid_argument(format!(
            "{field} {raw:?} is a symbolic link"
        )));
    }
    Ok(Some(resolved))
}

/// Whether `path` itself is a symbolic link, asked without reaching a file
/// system daemon (see [`crate::sysmount::cached_file_type`]); a symlink is
/// never a mount point anyway. An error (nothing there) is "no".
fn is_symlink_cached(path: &Path) -> bool {
    crate::sysmount::cached_file_type(path).is_ok_and(|t| t == libc::S_IFLNK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use tonic::Code;

    #[test]
    fn syntax_rules() {
        assert_eq!(
            check_syntax("target_path", "").unwrap_err().code(),
            Code::InvalidArgument
        );
        assert!(check_syntax("target_path", "rel/path").is_err());
        assert!(check_syntax("target_path", "/a/../b").is_err());
        assert!(check_syntax("target_path", "/").is_err());
        assert!(check_syntax("target_path", "/a\0b").is_err());
        assert_eq!(
            check_syntax("target_path", "/a/./b/").unwrap(),
            PathBuf::from("/a/b")
        );
        let msg = check_syntax("staging_target_path", "")
            .unwrap_err()
            .message()
            .to_string();
        assert!(msg.contains("staging_target_path"), "{msg}");
    }

    #[test]
    fn containment_and_symlink_escapes() {
        let outside = tempfile::tempdir().unwrap();
        let root_dir = tempfile::tempdir().unwrap();
        let root = root_dir.path();
        std::fs::create_dir_all(root.join("pods/p1/vol")).unwrap();

        let inside = format!("{}/pods/p1/vol/mount", root.display());
        let got = contain(root, "target_path", &inside).unwrap();
        assert!(got.starts_with(root.canonicalize().unwrap()));

        // The parent is a symlink that leaves the root.
        symlink(outside.path(), root.join("pods/escape")).unwrap();
        let escaped = format!("{}/pods/escape/mount", root.display());
        let err = contain(root, "target_path", &escaped).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(
            err.message().contains("outside the kubelet root"),
            "{}",
            err.message()
        );

        // The last component is a symlink.
        symlink(outside.path(), root.join("pods/p1/vol/link")).unwrap();
        let link = format!("{}/pods/p1/vol/link", root.display());
        assert!(contain(root, "target_path", &link).is_err());

        // Plainly outside.
        let plain = format!("{}/x", outside.path().display());
        assert!(contain(root, "target_path", &plain).is_err());

        // The root itself is not a valid target.
        let parent_of_root = root.parent().unwrap();
        let name = root.file_name().unwrap().to_str().unwrap();
        assert!(
            contain(
                parent_of_root,
                "target_path",
                &format!("{}/{name}/..", parent_of_root.display())
            )
            .is_err()
        );

        // Parent missing.
        let missing = format!("{}/pods/nope/mount", root.display());
        assert_eq!(
            contain_if_parent_exists(root, "target_path", &missing).unwrap(),
            None
        );
        assert_eq!(
            contain(root, "target_path", &missing).unwrap_err().code(),
            Code::InvalidArgument
        );
    }
}
