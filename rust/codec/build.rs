//! Generates the prost types of `tidings.v1` from `protos/tidings/v1/event.proto`
//! without a system `protoc`: `protox` parses the proto into a descriptor set and
//! `prost-build` turns that into Rust.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let protos = manifest.join("../../protos");
    let event = protos.join("tidings/v1/event.proto");
    println!("cargo:rerun-if-changed={}", event.display());
    println!("cargo:rerun-if-changed=build.rs");
    let fds = protox::compile([&event], [&protos])?;
    prost_build::Config::new().compile_fds(fds)?;
    Ok(())
}
