//! Identity service: what node-driver-registrar and livenessprobe see.

use daos_csi_e2e::csi::controller_service_capability::rpc::Type as ControllerRpc;
use daos_csi_e2e::csi::node_service_capability::rpc::Type as NodeRpc;
use daos_csi_e2e::csi::plugin_capability::service::Type as ServiceType;
use daos_csi_e2e::csi::{
    self, controller_service_capability, node_service_capability, plugin_capability,
};
use daos_csi_e2e::*;
use std::time::Duration;

fn plugin_services(response: &csi::GetPluginCapabilitiesResponse) -> Vec<ServiceType> {
    response
        .capabilities
        .iter()
        .filter_map(|c| match &c.r#type {
            Some(plugin_capability::Type::Service(service)) => {
                ServiceType::try_from(service.r#type).ok()
            }
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_reports_name_version_capabilities_and_readiness() {
    within(Duration::from_secs(60), "identity", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let mut identity = cluster.identity();

        let info = ok(
            identity.get_plugin_info(csi::GetPluginInfoRequest {}).await,
            "GetPluginInfo",
        );
        assert_eq!(info.name, "csi.daos.io");
        assert!(
            info.vendor_version.contains(env!("CARGO_PKG_VERSION")),
            "vendor_version {:?} should carry the release version {}",
            info.vendor_version,
            env!("CARGO_PKG_VERSION")
        );

        let caps = ok(
            identity
                .get_plugin_capabilities(csi::GetPluginCapabilitiesRequest {})
                .await,
            "GetPluginCapabilities",
        );
        assert!(
            plugin_services(&caps).contains(&ServiceType::ControllerService),
            "a process with the controller role must advertise CONTROLLER_SERVICE: {caps:?}"
        );

        // A real daos_init takes seconds (fabric set-up): like livenessprobe and the
        // registrar, ask again until the plugin says it is ready, within a bound.
        let mut probe = ok(identity.probe(csi::ProbeRequest {}).await, "Probe");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while probe.ready != Some(true) && std::time::Instant::now() < deadline {
            assert_eq!(
                probe.ready,
                Some(false),
                "Probe answers ready or not: {probe:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
            probe = ok(identity.probe(csi::ProbeRequest {}).await, "Probe");
        }
        assert_eq!(
            probe.ready,
            Some(true),
            "Probe with the agent up, within 30 s: {probe:?}"
        );

        let controller_caps: Vec<ControllerRpc> = ok(
            cluster
                .controller()
                .controller_get_capabilities(csi::ControllerGetCapabilitiesRequest {})
                .await,
            "ControllerGetCapabilities",
        )
        .capabilities
        .iter()
        .filter_map(|c| match &c.r#type {
            Some(controller_service_capability::Type::Rpc(rpc)) => {
                ControllerRpc::try_from(rpc.r#type).ok()
            }
            _ => None,
        })
        .collect();
        for needed in [
            ControllerRpc::CreateDeleteVolume,
            ControllerRpc::ListVolumes,
            ControllerRpc::GetCapacity,
            ControllerRpc::ExpandVolume,
        ] {
            assert!(
                controller_caps.contains(&needed),
                "controller should advertise {needed:?}: {controller_caps:?}"
            );
        }
        // Nothing in this driver attaches volumes to nodes: advertising it would make the
        // CO wait for ControllerPublishVolume.
        assert!(!controller_caps.contains(&ControllerRpc::PublishUnpublishVolume));

        let node_caps: Vec<NodeRpc> = ok(
            cluster
                .node()
                .node_get_capabilities(csi::NodeGetCapabilitiesRequest {})
                .await,
            "NodeGetCapabilities",
        )
        .capabilities
        .iter()
        .filter_map(|c| match &c.r#type {
            Some(node_service_capability::Type::Rpc(rpc)) => NodeRpc::try_from(rpc.r#type).ok(),
            _ => None,
        })
        .collect();
        for needed in [
            NodeRpc::StageUnstageVolume,
            NodeRpc::GetVolumeStats,
            NodeRpc::VolumeCondition,
        ] {
            assert!(
                node_caps.contains(&needed),
                "node should advertise {needed:?}: {node_caps:?}"
            );
        }

        let node_info = ok(
            cluster
                .node()
                .node_get_info(csi::NodeGetInfoRequest {})
                .await,
            "NodeGetInfo",
        );
        assert_eq!(node_info.node_id, "node-1");
        // The node reaches the DAOS system of --default-system (default `daos_server`).
        let segments = node_info
            .accessible_topology
            .as_ref()
            .map(|t| t.segments.clone())
            .unwrap_or_default();
        assert_eq!(
            segments,
            params(&[("topology.daos.io/system", "daos_server")]),
            "NodeGetInfo topology: {node_info:?}"
        );
    })
    .await;
}

/// A node DaemonSet process must not claim the controller service, and must not serve it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_only_process_does_not_advertise_the_controller() {
    within(Duration::from_secs(60), "node-only identity", async {
        let cluster = Cluster::start(ClusterConfig {
            layout: Layout::Roles("node,mounter"),
            ..Default::default()
        })
        .await;
        let caps = ok(
            cluster
                .identity()
                .get_plugin_capabilities(csi::GetPluginCapabilitiesRequest {})
                .await,
            "GetPluginCapabilities",
        );
        assert!(
            !plugin_services(&caps).contains(&ServiceType::ControllerService),
            "node-only process advertises CONTROLLER_SERVICE: {caps:?}"
        );
        let create = cluster.create_volume("pvc-node-only", &[]).await;
        assert_status(
            create,
            Code::Unimplemented,
            &[],
            "CreateVolume on a node-only process",
        );
        let info = ok(
            cluster
                .node()
                .node_get_info(csi::NodeGetInfoRequest {})
                .await,
            "NodeGetInfo",
        );
        assert_eq!(info.node_id, "node-1");
    })
    .await;
}
