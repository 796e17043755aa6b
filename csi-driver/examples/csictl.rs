//! A small CSI client for poking a running daos-csi by hand.
//!
//! ```text
//! cargo run -p daos-csi --features emulator --example csictl -- /tmp/csi.sock info
//! csictl SOCK create NAME [BYTES] key=value...     csictl SOCK delete VOLUME_ID
//! csictl SOCK list [MAX] [TOKEN]                   csictl SOCK capacity key=value...
//! csictl SOCK validate VOLUME_ID
//! csictl SOCK stage VOLUME_ID STAGING [key=value...]
//! csictl SOCK unstage VOLUME_ID STAGING
//! csictl SOCK publish VOLUME_ID STAGING TARGET [ro]
//! csictl SOCK inline VOLUME_ID TARGET key=value...   (ephemeral inline volume)
//! csictl SOCK unpublish VOLUME_ID TARGET          csictl SOCK stats VOLUME_ID PATH
//! csictl SOCK probe | info | node-info
//! ```

use std::collections::HashMap;

use csi_proto::csi::v1::controller_client::ControllerClient;
use csi_proto::csi::v1::identity_client::IdentityClient;
use csi_proto::csi::v1::node_client::NodeClient;
use csi_proto::csi::v1::*;
use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint};

type Error = Box<dyn std::error::Error>;

async fn connect(socket: String) -> Result<Channel, Error> {
    // The URI is required by the API but unused: the connector dials the socket.
    Ok(Endpoint::try_from("http://[::]:50051")?
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(
                    tokio::net::UnixStream::connect(socket).await?,
                ))
            }
        }))
        .await?)
}

fn pairs(args: &[String]) -> HashMap<String, String> {
    args.iter()
        .filter_map(|a| a.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn mount_cap(read_only: bool) -> VolumeCapability {
    use volume_capability::access_mode::Mode;
    VolumeCapability {
        access_type: Some(volume_capability::AccessType::Mount(Default::default())),
        access_mode: Some(volume_capability::AccessMode {
            mode: if read_only {
                Mode::MultiNodeReaderOnly
            } else {
                Mode::MultiNodeMultiWriter
            } as i32,
        }),
    }
}

fn arg(args: &[String], i: usize, what: &str) -> Result<String, Error> {
    args.get(i)
        .cloned()
        .ok_or_else(|| format!("missing {what}").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let channel = connect(arg(&args, 0, "socket path")?).await?;
    let cmd = arg(&args, 1, "command")?;
    let rest = &args[2.min(args.len())..];
    let mut ctl = ControllerClient::new(channel.clone());
    let mut node = NodeClient::new(channel.clone());
    let mut id = IdentityClient::new(channel);
    match cmd.as_str() {
        "info" => println!(
            "{:#?}",
            id.get_plugin_info(GetPluginInfoRequest {})
                .await?
                .into_inner()
        ),
        "probe" => println!("{:#?}", id.probe(ProbeRequest {}).await?.into_inner()),
        "node-info" => println!(
            "{:#?}",
            node.node_get_info(NodeGetInfoRequest {})
                .await?
                .into_inner()
        ),
        "create" => {
            let bytes: i64 = rest.get(1).and_then(|b| b.parse().ok()).unwrap_or(0);
            let r = ctl
                .create_volume(CreateVolumeRequest {
                    name: arg(rest, 0, "name")?,
                    capacity_range: Some(CapacityRange {
                        required_bytes: bytes,
                        limit_bytes: 0,
                    }),
                    volume_capabilities: vec![mount_cap(false)],
                    parameters: pairs(rest),
                    ..Default::default()
                })
                .await?;
            println!("{:#?}", r.into_inner());
        }
        "delete" => {
            ctl.delete_volume(DeleteVolumeRequest {
                volume_id: arg(rest, 0, "volume id")?,
                ..Default::default()
            })
            .await?;
            println!("deleted");
        }
        "list" => {
            let r = ctl
                .list_volumes(ListVolumesRequest {
                    max_entries: rest.first().and_then(|m| m.parse().ok()).unwrap_or(0),
                    starting_token: rest.get(1).cloned().unwrap_or_default(),
                })
                .await?;
            println!("{:#?}", r.into_inner());
        }
        "capacity" => {
            let r = ctl
                .get_capacity(GetCapacityRequest {
                    parameters: pairs(rest),
                    ..Default::default()
                })
                .await?;
            println!("{:#?}", r.into_inner());
        }
        "validate" => {
            let r = ctl
                .validate_volume_capabilities(ValidateVolumeCapabilitiesRequest {
                    volume_id: arg(rest, 0, "volume id")?,
                    volume_capabilities: vec![mount_cap(false)],
                    ..Default::default()
                })
                .await?;
            println!("{:#?}", r.into_inner());
        }
        "stage" => {
            node.node_stage_volume(NodeStageVolumeRequest {
                volume_id: arg(rest, 0, "volume id")?,
                staging_target_path: arg(rest, 1, "staging path")?,
                volume_capability: Some(mount_cap(false)),
                volume_context: pairs(rest),
                ..Default::default()
            })
            .await?;
            println!("staged");
        }
        "unstage" => {
            node.node_unstage_volume(NodeUnstageVolumeRequest {
                volume_id: arg(rest, 0, "volume id")?,
                staging_target_path: arg(rest, 1, "staging path")?,
            })
            .await?;
            println!("unstaged");
        }
        "publish" => {
            node.node_publish_volume(NodePublishVolumeRequest {
                volume_id: arg(rest, 0, "volume id")?,
                staging_target_path: arg(rest, 1, "staging path")?,
                target_path: arg(rest, 2, "target path")?,
                readonly: rest.get(3).is_some_and(|r| r == "ro"),
                volume_capability: Some(mount_cap(false)),
                ..Default::default()
            })
            .await?;
            println!("published");
        }
        "inline" => {
            let mut ctx = pairs(rest);
            ctx.insert("csi.storage.k8s.io/ephemeral".into(), "true".into());
            node.node_publish_volume(NodePublishVolumeRequest {
                volume_id: arg(rest, 0, "volume id")?,
                target_path: arg(rest, 1, "target path")?,
                volume_capability: Some(mount_cap(false)),
                volume_context: ctx,
                ..Default::default()
            })
            .await?;
            println!("published inline volume");
        }
        "unpublish" => {
            node.node_unpublish_volume(NodeUnpublishVolumeRequest {
                volume_id: arg(rest, 0, "volume id")?,
                target_path: arg(rest, 1, "target path")?,
            })
            .await?;
            println!("unpublished");
        }
        "stats" => {
            let r = node
                .node_get_volume_stats(NodeGetVolumeStatsRequest {
                    volume_id: arg(rest, 0, "volume id")?,
                    volume_path: arg(rest, 1, "volume path")?,
                    ..Default::default()
                })
                .await?;
            println!("{:#?}", r.into_inner());
        }
        other => return Err(format!("unknown command {other:?}").into()),
    }
    Ok(())
}
