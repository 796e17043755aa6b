//! A small CSI client over a unix socket: the calls kubelet and the external-provisioner make.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use csi_proto::csi::v1 as pb;
use hyper_util::rt::TokioIo;
use pb::controller_client::ControllerClient;
use pb::identity_client::IdentityClient;
use pb::node_client::NodeClient;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::Result;

pub struct Client {
    identity: IdentityClient<Channel>,
    controller: ControllerClient<Channel>,
    node: NodeClient<Channel>,
}

pub struct PluginInfo {
    pub name: String,
    pub vendor_version: String,
}

fn status(call: &str, e: tonic::Status) -> String {
    format!("{call} failed: {:?}: {}", e.code(), e.message())
}

fn mount_capability(mode: pb::volume_capability::access_mode::Mode) -> pb::VolumeCapability {
    pb::VolumeCapability {
        access_mode: Some(pb::volume_capability::AccessMode { mode: mode as i32 }),
        access_type: Some(pb::volume_capability::AccessType::Mount(
            pb::volume_capability::MountVolume::default(),
        )),
    }
}

fn rwx() -> pb::VolumeCapability {
    mount_capability(pb::volume_capability::access_mode::Mode::MultiNodeMultiWriter)
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

impl Client {
    /// Connects once the socket exists (the driver may still be starting).
    pub async fn connect(socket: &Path, timeout: Duration) -> Result<Client> {
        let deadline = Instant::now() + timeout;
        while !socket.exists() {
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not appear within {timeout:?}",
                    socket.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let path: PathBuf = socket.to_path_buf();
        let channel = Endpoint::try_from("http://[::]:50051")
            .map_err(|e| e.to_string())?
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let path = path.clone();
                async move {
                    let stream = tokio::net::UnixStream::connect(path).await?;
                    Ok::<_, std::io::Error>(TokioIo::new(stream))
                }
            }))
            .await
            .map_err(|e| format!("connect to {}: {e}", socket.display()))?;
        Ok(Client {
            identity: IdentityClient::new(channel.clone()),
            controller: ControllerClient::new(channel.clone()),
            node: NodeClient::new(channel),
        })
    }

    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.identity.probe(pb::ProbeRequest {}).await {
                Ok(r) if r.get_ref().ready != Some(false) => return Ok(()),
                Ok(_) => "not ready".to_string(),
                Err(e) => status("Probe", e),
            };
            if Instant::now() > deadline {
                return Err(format!(
                    "the driver was not ready within {timeout:?}: {last}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn plugin_info(&mut self) -> Result<PluginInfo> {
        let r = self
            .identity
            .get_plugin_info(pb::GetPluginInfoRequest {})
            .await
            .map_err(|e| status("GetPluginInfo", e))?
            .into_inner();
        Ok(PluginInfo {
            name: r.name,
            vendor_version: r.vendor_version,
        })
    }

    pub async fn create_volume(
        &mut self,
        name: &str,
        bytes: i64,
        params: &[(&str, &str)],
    ) -> Result<pb::Volume> {
        let request = pb::CreateVolumeRequest {
            name: name.to_string(),
            capacity_range: Some(pb::CapacityRange {
                required_bytes: bytes,
                limit_bytes: 0,
            }),
            volume_capabilities: vec![rwx()],
            parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        self.controller
            .create_volume(request)
            .await
            .map_err(|e| status("CreateVolume", e))?
            .into_inner()
            .volume
            .ok_or_else(|| "CreateVolume returned no volume".to_string())
    }

    pub async fn delete_volume(&mut self, volume_id: &str) -> Result<()> {
        let request = pb::DeleteVolumeRequest {
            volume_id: volume_id.to_string(),
            ..Default::default()
        };
        self.controller
            .delete_volume(request)
            .await
            .map_err(|e| status("DeleteVolume", e))?;
        Ok(())
    }

    pub async fn list_volume_ids(&mut self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut token = String::new();
        loop {
            let request = pb::ListVolumesRequest {
                max_entries: 100,
                starting_token: token.clone(),
            };
            let r = self
                .controller
                .list_volumes(request)
                .await
                .map_err(|e| status("ListVolumes", e))?
                .into_inner();
            ids.extend(
                r.entries
                    .into_iter()
                    .filter_map(|e| e.volume.map(|v| v.volume_id)),
            );
            if r.next_token.is_empty() {
                return Ok(ids);
            }
            token = r.next_token;
        }
    }

    pub async fn stage(&mut self, volume: &pb::Volume, staging: &Path) -> Result<()> {
        let request = pb::NodeStageVolumeRequest {
            volume_id: volume.volume_id.clone(),
            staging_target_path: path_str(staging),
            volume_capability: Some(rwx()),
            volume_context: volume.volume_context.clone(),
            ..Default::default()
        };
        self.node
            .node_stage_volume(request)
            .await
            .map_err(|e| status("NodeStageVolume", e))?;
        Ok(())
    }

    pub async fn unstage(&mut self, volume_id: &str, staging: &Path) -> Result<()> {
        let request = pb::NodeUnstageVolumeRequest {
            volume_id: volume_id.to_string(),
            staging_target_path: path_str(staging),
        };
        self.node
            .node_unstage_volume(request)
            .await
            .map_err(|e| status("NodeUnstageVolume", e))?;
        Ok(())
    }

    pub async fn publish(
        &mut self,
        volume: &pb::Volume,
        staging: &Path,
        target: &Path,
        readonly: bool,
    ) -> Result<()> {
        let request = pb::NodePublishVolumeRequest {
            volume_id: volume.volume_id.clone(),
            staging_target_path: path_str(staging),
            target_path: path_str(target),
            volume_capability: Some(rwx()),
            readonly,
            volume_context: volume.volume_context.clone(),
            ..Default::default()
        };
        self.node
            .node_publish_volume(request)
            .await
            .map_err(|e| status("NodePublishVolume", e))?;
        Ok(())
    }

    pub async fn publish_ephemeral(
        &mut self,
        volume_id: &str,
        target: &Path,
        context: &[(&str, &str)],
    ) -> Result<()> {
        let volume_context: HashMap<String, String> = context
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let request = pb::NodePublishVolumeRequest {
            volume_id: volume_id.to_string(),
            target_path: path_str(target),
            volume_capability: Some(mount_capability(
                pb::volume_capability::access_mode::Mode::SingleNodeWriter,
            )),
            volume_context,
            ..Default::default()
        };
        self.node
            .node_publish_volume(request)
            .await
            .map_err(|e| status("NodePublishVolume", e))?;
        Ok(())
    }

    pub async fn unpublish(&mut self, volume_id: &str, target: &Path) -> Result<()> {
        let request = pb::NodeUnpublishVolumeRequest {
            volume_id: volume_id.to_string(),
            target_path: path_str(target),
        };
        self.node
            .node_unpublish_volume(request)
            .await
            .map_err(|e| status("NodeUnpublishVolume", e))?;
        Ok(())
    }

    pub async fn volume_stats(&mut self, volume_id: &str, path: &Path) -> Result<String> {
        let request = pb::NodeGetVolumeStatsRequest {
            volume_id: volume_id.to_string(),
            volume_path: path_str(path),
            ..Default::default()
        };
        let r = self
            .node
            .node_get_volume_stats(request)
            .await
            .map_err(|e| status("NodeGetVolumeStats", e))?
            .into_inner();
        let usage: Vec<String> = r
            .usage
            .iter()
            .map(|u| {
                format!(
                    "{} total={} used={} available={}",
                    unit_name(u.unit),
                    u.total,
                    u.used,
                    u.available
                )
            })
            .collect();
        let condition = r
            .volume_condition
            .map(|c| {
                if c.abnormal {
                    format!("abnormal: {}", c.message)
                } else {
                    "healthy".to_string()
                }
            })
            .unwrap_or_else(|| "no condition".to_string());
        Ok(format!("{}; {condition}", usage.join("; ")))
    }
}

fn unit_name(unit: i32) -> &'static str {
    match pb::volume_usage::Unit::try_from(unit) {
        Ok(pb::volume_usage::Unit::Bytes) => "bytes",
        Ok(pb::volume_usage::Unit::Inodes) => "inodes",
        _ => "unknown",
    }
}
