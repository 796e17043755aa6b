//! CSI Identity service.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use csi_proto::csi::v1::identity_server::Identity;
use csi_proto::csi::v1::{
    GetPluginCapabilitiesRequest, GetPluginCapabilitiesResponse, GetPluginInfoRequest,
    GetPluginInfoResponse, PluginCapability, ProbeRequest, ProbeResponse, plugin_capability,
};
use tonic::{Request, Response, Status};

use crate::config::{Config, Role};
use crate::daos_client::DaosClient;

pub struct IdentityService {
    cfg: Arc<Config>,
    daos: Arc<DaosClient>,
}

/// How long a Probe waits for a first `daos_init` before answering "not ready".
const PROBE_INIT_WAIT: Duration = Duration::from_secs(3);

impl IdentityService {
    pub fn new(cfg: Arc<Config>, daos: Arc<DaosClient>) -> IdentityService {
        IdentityService { cfg, daos }
    }
}

#[tonic::async_trait]
impl Identity for IdentityService {
    async fn get_plugin_info(
        &self,
        _request: Request<GetPluginInfoRequest>,
    ) -> Result<Response<GetPluginInfoResponse>, Status> {
        let manifest = HashMap::from([
            (
                "csi-spec".to_string(),
                csi_proto::CSI_SPEC_VERSION.to_string(),
            ),
            (
                "daos-api".to_string(),
                daos::Daos::api_version().to_string(),
            ),
        ]);
        Ok(Response::new(GetPluginInfoResponse {
            name: self.cfg.driver_name.clone(),
            vendor_version: env!("CARGO_PKG_VERSION").to_string(),
            manifest,
        }))
    }

    async fn get_plugin_capabilities(
        &self,
        _request: Request<GetPluginCapabilitiesRequest>,
    ) -> Result<Response<GetPluginCapabilitiesResponse>, Status> {
        use plugin_capability::service::Type;
        let mut capabilities = Vec::new();
        if self.cfg.has(Role::Controller) {
            capabilities.push(PluginCapability {
                r#type: Some(plugin_capability::Type::Service(
                    plugin_capability::Service {
                        r#type: Type::ControllerService as i32,
                    },
                )),
            });
            // Online: the capacity is a record on the container, nothing
            // on the node changes, so a mounted volume expands as well.
            capabilities.push(PluginCapability {
                r#type: Some(plugin_capability::Type::VolumeExpansion(
                    plugin_capability::VolumeExpansion {
                        r#type: plugin_capability::volume_expansion::Type::Online as i32,
                    },
                )),
            });
        }
        Ok(Response::new(GetPluginCapabilitiesResponse {
            capabilities,
        }))
    }

    /// Ready once libdaos is initialised and the agent socket accepts a
    /// connection; "not ready" (not an error) while either is missing, so
    /// the CO waits rather than restarting a healthy plugin whose agent is
    /// still starting.
    async fn probe(
        &self,
        _request: Request<ProbeRequest>,
    ) -> Result<Response<ProbeResponse>, Status> {
        let agent = self.daos.agent_reachable().await;
        let initialised = self.daos.is_initialised()
            || match tokio::time::timeout(PROBE_INIT_WAIT, self.daos.daos()).await {
                Ok(Ok(_)) => true,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "probe: libdaos is not initialised yet");
                    false
                }
                Err(_) => false,
            };
        let ready = agent && initialised;
        if !ready {
            tracing::info!(
                agent_socket = %self.cfg.agent_socket.display(),
                agent_reachable = agent,
                libdaos_initialised = initialised,
                "probe: not ready"
            );
        }
        Ok(Response::new(ProbeResponse { ready: Some(ready) }))
    }
}
