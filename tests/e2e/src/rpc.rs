//! CSI gRPC over a unix socket, request builders in kubelet's and the provisioner's shape,
//! and assertions on the answers.

pub use csi_proto::csi::v1 as csi;
pub use csi_proto::csi::v1::{
    controller_client::ControllerClient, identity_client::IdentityClient, node_client::NodeClient,
};
pub use tonic::{Code, Status};

use csi::volume_capability::{AccessMode, AccessType, BlockVolume, MountVolume, access_mode::Mode};
use csi::{
    CapacityRange, CreateVolumeRequest, DeleteVolumeRequest, NodeGetVolumeStatsRequest,
    NodePublishVolumeRequest, NodeStageVolumeRequest, NodeUnpublishVolumeRequest,
    NodeUnstageVolumeRequest, Volume, VolumeCapability,
};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

pub const GIB: i64 = 1 << 30;

/// The annotation kubelet puts in the volume context of a CSI ephemeral inline volume.
pub const EPHEMERAL_KEY: &str = "csi.storage.k8s.io/ephemeral";

/// A gRPC channel to a CSI endpoint on a unix socket (`unix:///path` or a plain path).
pub async fn connect_unix(socket: &Path) -> Result<Channel, tonic::transport::Error> {
    let socket: PathBuf = socket.to_path_buf();
    // The URI is required by the HTTP/2 layer but never resolved: the connector ignores it.
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(socket).await?)) }
        }))
        .await
}

pub fn access_mode(mode: Mode) -> Option<AccessMode> {
    Some(AccessMode { mode: mode as i32 })
}

/// A mounted-file-system capability with `mode` (what a PVC asks for).
pub fn mount_capability(mode: Mode) -> VolumeCapability {
    VolumeCapability {
        access_mode: access_mode(mode),
        access_type: Some(AccessType::Mount(MountVolume::default())),
    }
}

/// ReadWriteMany, the usual DAOS PVC.
pub fn rwx() -> VolumeCapability {
    mount_capability(Mode::MultiNodeMultiWriter)
}

pub fn block_capability(mode: Mode) -> VolumeCapability {
    VolumeCapability {
        access_mode: access_mode(mode),
        access_type: Some(AccessType::Block(BlockVolume::default())),
    }
}

pub fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// CreateVolume as external-provisioner sends it for a 1 GiB RWX PVC named `name`.
pub fn create_request(name: &str, parameters: HashMap<String, String>) -> CreateVolumeRequest {
    CreateVolumeRequest {
        name: name.to_string(),
        capacity_range: Some(CapacityRange {
            required_bytes: GIB,
            limit_bytes: 0,
        }),
        volume_capabilities: vec![rwx()],
        parameters,
        ..Default::default()
    }
}

pub fn delete_request(volume_id: &str) -> DeleteVolumeRequest {
    DeleteVolumeRequest {
        volume_id: volume_id.to_string(),
        ..Default::default()
    }
}

/// NodePublishVolume as kubelet sends it for a CSI inline volume: no staging path.
pub fn inline_publish_request(
    volume_id: &str,
    target: &Path,
    context: HashMap<String, String>,
) -> NodePublishVolumeRequest {
    NodePublishVolumeRequest {
        volume_id: volume_id.to_string(),
        target_path: target.display().to_string(),
        volume_capability: Some(mount_capability(Mode::SingleNodeWriter)),
        readonly: false,
        volume_context: context,
        ..Default::default()
    }
}

pub fn stage_request(volume: &Volume, staging: &Path) -> NodeStageVolumeRequest {
    NodeStageVolumeRequest {
        volume_id: volume.volume_id.clone(),
        staging_target_path: staging.display().to_string(),
        volume_capability: Some(rwx()),
        volume_context: volume.volume_context.clone(),
        ..Default::default()
    }
}

pub fn publish_request(
    volume: &Volume,
    staging: &Path,
    target: &Path,
    readonly: bool,
) -> NodePublishVolumeRequest {
    NodePublishVolumeRequest {
        volume_id: volume.volume_id.clone(),
        staging_target_path: staging.display().to_string(),
        target_path: target.display().to_string(),
        volume_capability: Some(rwx()),
        readonly,
        volume_context: volume.volume_context.clone(),
        ..Default::default()
    }
}

pub fn unpublish_request(volume_id: &str, target: &Path) -> NodeUnpublishVolumeRequest {
    NodeUnpublishVolumeRequest {
        volume_id: volume_id.to_string(),
        target_path: target.display().to_string(),
    }
}

pub fn unstage_request(volume_id: &str, staging: &Path) -> NodeUnstageVolumeRequest {
    NodeUnstageVolumeRequest {
        volume_id: volume_id.to_string(),
        staging_target_path: staging.display().to_string(),
    }
}

pub fn stats_request(
    volume_id: &str,
    path: &Path,
    staging: Option<&Path>,
) -> NodeGetVolumeStatsRequest {
    NodeGetVolumeStatsRequest {
        volume_id: volume_id.to_string(),
        volume_path: path.display().to_string(),
        staging_target_path: staging.map(|p| p.display().to_string()).unwrap_or_default(),
    }
}

/// A volume known only by its id (a static PV's volume handle).
pub fn static_volume(handle: &str) -> Volume {
    Volume {
        volume_id: handle.to_string(),
        ..Default::default()
    }
}

/// Lower-case with `_`, `-`, `.` and spaces removed: `volume_capabilities`, `VolumeCapabilities`
/// and `volume capabilities` all read alike.
fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' ' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Asserts that `result` failed with `code` and that the message mentions each of `words`
/// (compared ignoring case and `_`/`-`/space). Returns the message.
#[track_caller]
pub fn assert_status<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    words: &[&str],
    what: &str,
) -> String {
    match result {
        Ok(value) => panic!("{what}: expected {code:?}, got OK: {value:?}"),
        Err(status) => {
            assert_eq!(
                status.code(),
                code,
                "{what}: expected {code:?}, got {:?}: {}",
                status.code(),
                status.message()
            );
            let message = squash(status.message());
            for word in words {
                assert!(
                    message.contains(&squash(word)),
                    "{what}: the {code:?} message should name `{word}`; it says: {}",
                    status.message()
                );
            }
            status.message().to_string()
        }
    }
}

/// Unwraps a CSI answer, with the call named in the failure.
#[track_caller]
pub fn ok<T>(result: Result<tonic::Response<T>, Status>, what: &str) -> T {
    match result {
        Ok(response) => response.into_inner(),
        Err(status) => panic!("{what} failed: {:?}: {}", status.code(), status.message()),
    }
}

/// True for a canonical textual UUID.
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The parts of a dynamic volume id, `<system>/<pool-uuid>/<container-uuid>`.
#[derive(Clone, Debug)]
pub struct VolumeIdParts {
    pub system: String,
    pub pool: String,
    pub container: String,
}

#[track_caller]
pub fn parse_volume_id(volume_id: &str) -> VolumeIdParts {
    let parts: Vec<&str> = volume_id.split('/').collect();
    assert!(
        parts.len() == 3 && !parts[0].is_empty() && is_uuid(parts[1]) && is_uuid(parts[2]),
        "volume id {volume_id:?} is not <system>/<pool-uuid>/<container-uuid>"
    );
    VolumeIdParts {
        system: parts[0].to_string(),
        pool: parts[1].to_string(),
        container: parts[2].to_string(),
    }
}

/// `.must("what")`: the value of a successful call, or a panic naming the call and the status.
pub trait MustSucceed<T> {
    fn must(self, what: &str) -> T;
}

impl<T> MustSucceed<T> for Result<T, Status> {
    #[track_caller]
    fn must(self, what: &str) -> T {
        match self {
            Ok(value) => value,
            Err(status) => panic!("{what} failed: {:?}: {}", status.code(), status.message()),
        }
    }
}
