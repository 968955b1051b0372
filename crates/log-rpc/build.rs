//! Compiles `proto/outpost/log/v1/log.proto` with protox (a pure-Rust protoc, so no system
//! `protoc` is needed), generates the prost messages and tonic client/server with
//! tonic-prost-build, and writes the encoded file descriptor set used by server reflection.

use prost::Message;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest.join("../../proto");
    let file = "outpost/log/v1/log.proto";
    println!("cargo:rerun-if-changed={}", proto_root.join(file).display());

    let fds = protox::compile([file], [&proto_root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("outpost_log_v1_descriptor.bin"),
        fds.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .btree_map(".")
        .compile_fds(fds)?;
    Ok(())
}
