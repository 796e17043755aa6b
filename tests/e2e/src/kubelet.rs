//! The paths kubelet hands a CSI driver, rooted in a per-test directory instead of
//! /var/lib/kubelet.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub const DRIVER_NAME: &str = "csi.daos.io";

/// A kubelet root directory (`--kubelet-root` of the driver).
#[derive(Clone, Debug)]
pub struct Kubelet {
    pub root: PathBuf,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Kubelet {
    pub fn new(root: &Path) -> Kubelet {
        std::fs::create_dir_all(root).expect("kubelet root");
        Kubelet {
            root: root.to_path_buf(),
        }
    }

    /// `<root>/plugins/kubernetes.io/csi/<driver>/<sha256(volume handle)>/globalmount`, as
    /// kubelet names it.
    pub fn staging_path(&self, volume_id: &str) -> PathBuf {
        self.root
            .join("plugins/kubernetes.io/csi")
            .join(DRIVER_NAME)
            .join(sha256_hex(volume_id.as_bytes()))
            .join("globalmount")
    }

    /// The staging path, created the way kubelet creates it before NodeStageVolume.
    pub fn prepare_staging_path(&self, volume_id: &str) -> PathBuf {
        let path = self.staging_path(volume_id);
        if let Err(e) = std::fs::create_dir_all(&path) {
            // A dead mount (dfuse gone) answers ENOTCONN to the stat that would find the
            // directory there: it exists, and NodeStageVolume is what replaces the mount.
            assert!(
                !crate::mounts::mounts_at(&path).is_empty(),
                "staging directory {}: {e}",
                path.display()
            );
        }
        path
    }

    /// `<root>/pods/<pod uid>/volumes/kubernetes.io~csi/<pv>/mount`.
    pub fn target_path(&self, pod_uid: &str, pv: &str) -> PathBuf {
        self.root
            .join("pods")
            .join(pod_uid)
            .join("volumes/kubernetes.io~csi")
            .join(pv)
            .join("mount")
    }

    /// The target path with its parent created (kubelet's part); the driver creates the
    /// target itself.
    pub fn prepare_target_path(&self, pod_uid: &str, pv: &str) -> PathBuf {
        let path = self.target_path(pod_uid, pv);
        std::fs::create_dir_all(path.parent().expect("target has a parent"))
            .expect("target parent directory");
        path
    }
}
