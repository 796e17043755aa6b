//! Compiles csi.proto with a pure-Rust protobuf compiler (protox), so that no
//! system `protoc` is needed, then generates prost messages and tonic
//! client/server code from the resulting descriptor set.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=csi.proto");
    // protox ships google/protobuf/{descriptor,timestamp,wrappers}.proto, so
    // the spec's custom options (`csi_secret`, `alpha_*`) resolve without any
    // include path of ours. prost has no use for extensions and skips them.
    let fds = protox::compile(["csi.proto"], ["."])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
