//! Container Storage Interface (CSI) spec v1.12.0: protobuf messages and
//! tonic gRPC client and server code, generated at build time from
//! `csi.proto` in this crate.
//!
//! Everything lives under [`csi::v1`], mirroring the protobuf package
//! `csi.v1`; e.g. `csi_proto::csi::v1::identity_server::IdentityServer`.

/// The protobuf package `csi`.
pub mod csi {
    /// The protobuf package `csi.v1` (CSI spec v1.12.0).
    #[allow(clippy::all, clippy::pedantic, missing_docs)]
    pub mod v1 {
        tonic::include_proto!("csi.v1");
    }
}

/// The CSI spec version this crate was generated from.
pub const CSI_SPEC_VERSION: &str = "1.12.0";

#[cfg(test)]
mod tests {
    use super::csi::v1::*;
    use prost::Message;

    /// Wire tags are what interoperability rests on: a wrong field number
    /// would compile fine and fail against kubelet.
    #[test]
    fn field_numbers_match_the_spec_on_the_wire() {
        let req = NodeStageVolumeRequest {
            staging_target_path: "/s".into(),
            ..Default::default()
        };
        // field 3, wire type 2 (length-delimited) => tag byte 0x1a
        assert_eq!(req.encode_to_vec(), vec![0x1a, 2, b'/', b's']);

        let req = NodePublishVolumeRequest {
            readonly: true,
            ..Default::default()
        };
        // field 6, wire type 0 (varint) => tag byte 0x30
        assert_eq!(req.encode_to_vec(), vec![0x30, 1]);

        let mode = volume_capability::access_mode::Mode::SingleNodeMultiWriter as i32;
        assert_eq!(mode, 7);
        let cap = node_service_capability::rpc::Type::VolumeMountGroup as i32;
        assert_eq!(cap, 6);
    }
}
