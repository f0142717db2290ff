//! Compiles `proto/` with the pure-Rust `protox` compiler (no system `protoc`
//! needed), generates the tonic client and server, and writes the encoded
//! descriptor set that gRPC server reflection serves.

use prost::Message;
use std::{env, path::PathBuf};

const PROTO: &str = "proto/callassist/v1/call_assist.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile([PROTO], ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("callassist_descriptor.bin"),
        fds.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
